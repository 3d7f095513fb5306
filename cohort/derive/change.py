"""Change and percent change from baseline at visits (the papers' definitions).

**Change** = value at the visit - baseline (in the parameter's canonical unit, e.g. HbA1c
percentage points); **percent change** = 100 * change / baseline (undefined, NaN, when the
baseline is 0; the ``pct_reason`` column then says so). Baseline is
:func:`cohort.derive.baseline.baseline_values`, visit values
:mod:`cohort.derive.visit_values`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW, _baseline_window
from cohort.derive.param_rows import (
    Rule,
    int_column,
    param_rows,
    pick,
    reasons,
    text_array,
    values,
)
from cohort.derive.universe import check_subject_columns, subject_universe
from cohort.derive.visit_values import LAST_VISIT_LABEL, _check_followup, _check_rule
from cohort.derive.visit_windows import Visit, _check_visits
from cohort.errors import AnalysisError

__all__ = [
    "change_from_baseline",
    "usable_changes",
]


def change_from_baseline(measurements: pd.DataFrame, param: str,
                         visits: Iterable[Visit] | Visit = (), *,
                         baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                         last: bool = False, min_followup_day: int = 1,
                         max_followup_day: int | None = None, rule: Rule = "nearest",
                         subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """Change and percent change from baseline of ``param`` at each visit.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (canonical units).
    param : str
        Parameter code, e.g. ``"HBA1C"``.
    visits : Visit or iterable of Visit
        Nominal visits with windows (see :func:`make_visits`); may be empty when ``last``.
    baseline_window : (int, int), keyword-only
        Inclusive baseline window (see :func:`baseline_values`), default ``(-90, 0)``.
    last : bool, keyword-only
        Also add the last available follow-up as visit ``"last"`` (see
        :func:`last_followup`).
    min_followup_day, max_followup_day : int, keyword-only
        Day range of the last follow-up.
    rule : {"nearest", "last", "first"}, keyword-only
        Which value counts inside a visit window (see :func:`values_at_visits`).
    subjects : DataFrame, iterable of str or None, keyword-only
        The subject universe (see :func:`subject_universe`).

    Returns
    -------
    DataFrame
        One row per subject and visit: ``subject_id``, ``param``, ``visit``, ``visit_day``,
        ``day``, ``value``, ``baseline_day``, ``baseline``, ``change`` (value - baseline, in
        the canonical unit: percentage points for HbA1c), ``pct_change`` (100 * change /
        baseline, NaN when the baseline is 0), ``pct_reason`` (why ``pct_change`` is NaN on a
        usable row, else ``<NA>``), ``reason`` (why the row is unusable: missing baseline is
        reported before a missing visit value; ``<NA>`` when usable).
    """
    cols, _ = _change_columns(measurements, param, visits, baseline_window=baseline_window,
                              last=last, min_followup_day=min_followup_day,
                              max_followup_day=max_followup_day, rule=rule, subjects=subjects)
    cols["pct_reason"] = reasons(cols["pct_reason"], _ZERO_BASELINE)
    cols["reason"] = text_array(cols["reason"])
    return pd.DataFrame(cols)


def usable_changes(measurements: pd.DataFrame, subjects: pd.DataFrame, param: str,
                   visits: Iterable[Visit] | Visit = (), *,
                   subject_columns: Sequence[str] = (),
                   baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                   last: bool = False, min_followup_day: int = 1,
                   max_followup_day: int | None = None,
                   rule: Rule = "nearest") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The usable rows of :func:`change_from_baseline` with subject columns, and the others.

    The same frames as ``split_exclusions(with_subject_columns(change_from_baseline(...,
    subjects=subjects), subjects, subject_columns))``, built from the derived columns directly
    (a million subjects: no frame of every row is built, copied and split).

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (canonical units).
    subjects : DataFrame
        The subjects table: the universe, and the source of ``subject_columns``.
    param : str
        Parameter code.
    visits : Visit or iterable of Visit
        As :func:`change_from_baseline`.
    subject_columns : sequence of str, keyword-only
        Subjects columns to attach (e.g. ``["arm"]``), as
        :func:`cohort.derive.universe.with_subject_columns`.
    baseline_window, last, min_followup_day, max_followup_day, rule : keyword-only
        As :func:`change_from_baseline`.

    Returns
    -------
    (usable, exclusions) : (DataFrame, DataFrame)
        ``usable``: the columns of :func:`change_from_baseline` but ``reason``, then
        ``subject_columns``; ``exclusions``: ``subject_id``, ``visit``, ``reason`` (object).
    """
    cols, usable = _change_columns(measurements, param, visits, baseline_window=baseline_window,
                                   last=last, min_followup_day=min_followup_day,
                                   max_followup_day=max_followup_day, rule=rule,
                                   subjects=subjects)
    columns = check_subject_columns(cols, subjects, subject_columns)
    rows = np.flatnonzero(usable)
    gone = np.flatnonzero(~usable)
    excl = pd.DataFrame({"subject_id": cols["subject_id"][gone], "visit": cols["visit"][gone],
                         "reason": cols["reason"][gone]})
    kept = {name: (col if np.ndim(col) == 0 else col[rows]) for name, col in cols.items()
            if name != "reason"}
    # the texts are made for the rows that keep them only
    kept["pct_reason"] = reasons(kept["pct_reason"], _ZERO_BASELINE)
    # the universe is the subjects table in its order, once per visit
    n = len(subjects)
    for c in columns:
        kept[c] = subjects[c].array.take(rows % n if n else rows)
    return pd.DataFrame(kept, index=pd.RangeIndex(len(rows))), excl


_ZERO_BASELINE = "baseline is 0: percent change undefined"


def _change_columns(measurements: pd.DataFrame, param: str, visits: Iterable[Visit] | Visit,
                    *, baseline_window: tuple[int, int], last: bool, min_followup_day: int,
                    max_followup_day: int | None, rule: Rule,
                    subjects: pd.DataFrame | Iterable[str] | None
                    ) -> tuple[dict[str, Any], np.ndarray]:
    """The columns of :func:`change_from_baseline` (``pct_reason`` as a mask, ``reason`` as an
    object array of str and None), and which rows are usable."""
    visits = _check_visits(visits)
    if not visits and not last:
        raise AnalysisError("no visits given; give visits (make_visits([84])) and/or last=True "
                            "for the last available follow-up")
    ids = subject_universe(measurements, subjects)
    lo, hi = _baseline_window(baseline_window)
    rows = param_rows(measurements, param, ids)
    # one pass per window over the records taken once; the rows of each visit are the
    # universe in order, so baseline and visit values line up by position (no merge)
    spans: list[tuple[str, int | None, np.ndarray, str]] = []
    if visits:
        _check_rule(rule)
        spans += [(v.label, v.day, pick(rows, v.lower, v.upper, rule=rule, target=v.day),
                   f"no {param} in days [{v.lower}, {v.upper}] of visit {v.label!r}")
                  for v in visits]
    if last:
        _check_followup(min_followup_day, max_followup_day)
        span = (f"days >= {min_followup_day}" if max_followup_day is None
                else f"days [{min_followup_day}, {max_followup_day}]")
        spans.append((LAST_VISIT_LABEL, None,
                      pick(rows, min_followup_day, max_followup_day, rule="last"),
                      f"no follow-up {param} in {span}"))
    n, k = len(ids), len(spans)
    base_pick = pick(rows, lo, hi, rule="last")
    no_base = np.tile(base_pick < 0, k)
    base_day = int_column(rows, base_pick)
    baseline = np.tile(values(rows, base_pick), k)
    chosen = np.concatenate([c for _, _, c, _ in spans])
    value = values(rows, chosen)
    change = value - baseline
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pct = 100.0 * change / baseline
    zero_base = baseline == 0
    pct[zero_base] = np.nan
    why = np.full(n * k, None, dtype=object)
    for j, (_, _, c, missing) in enumerate(spans):
        why[j * n:(j + 1) * n][c < 0] = missing
    # a missing baseline is reported before a missing visit value
    why[no_base] = f"no baseline {param} in days [{lo}, {hi}]"
    nominal = np.repeat([0 if d is None else d for _, d, _, _ in spans], n).astype(np.int64)
    cols = {
        "subject_id": np.tile(ids.to_numpy(dtype=object), k),
        "param": param,
        "visit": np.repeat(np.array([label for label, _, _, _ in spans], dtype=object), n),
        "visit_day": pd.arrays.IntegerArray(
            nominal, np.repeat([d is None for _, d, _, _ in spans], n).astype(bool)),
        "day": int_column(rows, chosen),
        "value": value,
        "baseline_day": pd.arrays.IntegerArray(np.tile(base_day._data, k),
                                               np.tile(base_day._mask, k)),
        "baseline": baseline,
        "change": change,
        "pct_change": pct,
        # masks and plain objects here; the callers make pandas' string arrays of the rows
        # they keep (the reasons of a million usable rows are never read)
        "pct_reason": zero_base & ~np.isnan(value),
        "reason": why,
    }
    return cols, (chosen >= 0) & ~no_base

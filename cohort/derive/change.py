"""Change and percent change from baseline at visits (the papers' definitions).

**Change** = value at the visit - baseline (in the parameter's canonical unit, e.g. HbA1c
percentage points); **percent change** = 100 * change / baseline (undefined, NaN, when the
baseline is 0; the ``pct_reason`` column then says so). Baseline is
:func:`cohort.derive.baseline.baseline_values`, visit values
:mod:`cohort.derive.visit_values`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW, baseline_values
from cohort.derive.universe import _concat, subject_universe
from cohort.derive.visit_values import Rule, last_followup, values_at_visits
from cohort.derive.visit_windows import Visit, _check_visits
from cohort.errors import AnalysisError

__all__ = [
    "change_from_baseline",
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
    visits = _check_visits(visits)
    if not visits and not last:
        raise AnalysisError("no visits given; give visits (make_visits([84])) and/or last=True "
                            "for the last available follow-up")
    ids = subject_universe(measurements, subjects)
    base = baseline_values(measurements, param, window=baseline_window, subjects=ids)
    parts = []
    if visits:
        parts.append(values_at_visits(measurements, param, visits, rule=rule, subjects=ids))
    if last:
        parts.append(last_followup(measurements, param, min_day=min_followup_day,
                                   max_day=max_followup_day, subjects=ids))
    vals = _concat(parts)
    out = vals.merge(base.drop(columns="param").rename(columns={"reason": "_base_reason"}),
                     on="subject_id", how="left", validate="many_to_one")
    out["change"] = out["value"] - out["baseline"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = 100.0 * out["change"].to_numpy() / out["baseline"].to_numpy()
    zero_base = (out["baseline"] == 0).to_numpy()
    pct[zero_base] = np.nan
    out["pct_change"] = pct
    out["pct_reason"] = pd.array(
        np.where(zero_base & out["value"].notna().to_numpy(),
                 "baseline is 0: percent change undefined", None), dtype="string")
    out["reason"] = out["_base_reason"].fillna(out["reason"]).astype("string")
    cols = ["subject_id", "param", "visit", "visit_day", "day", "value", "baseline_day",
            "baseline", "change", "pct_change", "pct_reason", "reason"]
    return out[cols]

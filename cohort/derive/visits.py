"""Baseline, values at nominal visits and change from baseline (the papers' definitions).

Definitions (all times are integer study days; day 0 is the first infusion for treated
subjects and randomisation or enrolment for controls):

* **Baseline** of a parameter: the *last* value on or before day 0 inside a baseline window
  ``[lower, upper]`` (inclusive, default ``[-90, 0]``, ``upper <= 0`` always).
* **Visit**: a nominal day with an inclusive window ``[lower, upper]`` (:class:`Visit`). The
  value used at a visit is the one *nearest* the nominal day inside the window; of two equally
  near values the earlier is used (``rule="nearest"``). ``rule="last"`` / ``"first"`` take the
  last / first value inside the window instead.
* **Last available follow-up** (designs with variable follow-up, e.g. Matsuoka 2025): the last
  value on or after ``min_day`` (default day 1), optionally up to ``max_day``.
* **Change** = value - baseline (in the parameter's canonical unit, e.g. HbA1c percentage
  points); **percent change** = 100 * change / baseline (undefined, NaN, when the baseline is
  0; the ``pct_reason`` column then says so).

Every function returns one row per subject of the *subject universe* (and per visit), also for
subjects without a usable value: their value is missing and the ``reason`` column says why
(``reason`` is ``<NA>`` for usable rows). Nothing is dropped silently; use
:func:`split_exclusions` to separate usable rows from the ``(subject_id, reason)`` exclusions.
The universe is the ``subjects`` argument (a subjects table or a list of ids) or, by default,
every subject that has any measurement.

Values are taken as they are in the measurements table, i.e. in the canonical unit of their
parameter (HbA1c %, glucose mmol/L, C-peptide nmol/L, insulin IU/kg/day, weight kg).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from cohort.errors import AnalysisError

__all__ = [
    "DEFAULT_BASELINE_WINDOW",
    "Visit",
    "baseline_values",
    "change_from_baseline",
    "default_half_width",
    "last_followup",
    "make_visits",
    "resolve_visits",
    "split_exclusions",
    "subject_universe",
    "values_at_visits",
    "with_subject_columns",
]

DEFAULT_BASELINE_WINDOW: tuple[int, int] = (-90, 0)
"""Default baseline window in study days: the last value from day -90 to day 0."""

LAST_VISIT_LABEL = "last"
"""Visit label of the last available follow-up."""

_MEAS_COLUMNS = ("subject_id", "day", "param", "value")

Rule = Literal["nearest", "last", "first"]


@dataclass(frozen=True)
class Visit:
    """A nominal visit with an inclusive window of study days.

    Parameters
    ----------
    label : str
        Name of the visit as reported (e.g. ``"week 12"``, ``"day 84"``).
    day : int
        Nominal study day of the visit.
    lower, upper : int
        First and last study day (inclusive) whose values count for this visit;
        ``lower <= day <= upper``.
    """

    label: str
    day: int
    lower: int
    upper: int

    def __post_init__(self) -> None:
        for name in ("day", "lower", "upper"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise AnalysisError(f"visit {self.label!r}: {name} must be an integer study "
                                    f"day, got {value!r}")
        if not self.lower <= self.day <= self.upper:
            raise AnalysisError(
                f"visit {self.label!r}: the window [{self.lower}, {self.upper}] must contain "
                f"the nominal day {self.day}; give lower <= day <= upper")

    @property
    def window(self) -> tuple[int, int]:
        """``(lower, upper)``."""
        return (self.lower, self.upper)


def default_half_width(day: int) -> int:
    """Default half-width (days) of a visit window: 15% of the nominal day, at least 7 days.

    Parameters
    ----------
    day : int
        Nominal study day of the visit.
    """
    return max(7, round(0.15 * abs(day)))


def make_visits(days: Iterable[int], *, half_width: int | Sequence[int] | None = None,
                labels: Sequence[str] | None = None, min_day: int = 1) -> list[Visit]:
    """Build post-baseline visits with windows around nominal days.

    Parameters
    ----------
    days : iterable of int
        Nominal study days of the visits (e.g. ``[56, 84]`` for weeks 8 and 12).
    half_width : int, sequence of int or None, keyword-only
        Window half-width in days, one for all visits or one per visit. ``None`` (default)
        uses :func:`default_half_width` (15% of the day, at least 7 days) and, where two
        default windows would overlap, splits them at the midpoint between the nominal days.
        Explicit half-widths that make windows overlap are an error (a value must count for
        one visit only).
    labels : sequence of str or None, keyword-only
        Visit labels; default ``"day <d>"``.
    min_day : int, keyword-only
        No window starts before this day (default 1: follow-up values are after day 0, so a
        baseline value can never count as follow-up).

    Returns
    -------
    list of Visit
        Sorted by nominal day.

    Raises
    ------
    AnalysisError
        Duplicate or non-integer days, a day before ``min_day``, mismatched lengths,
        negative half-widths or overlapping explicit windows.
    """
    days = list(days)
    if not days:
        raise AnalysisError("no visit days given; give at least one nominal study day "
                            "(e.g. 84 for week 12)")
    for d in days:
        if isinstance(d, bool) or not isinstance(d, int | np.integer):
            raise AnalysisError(f"visit days must be integer study days, got {d!r}")
    days = [int(d) for d in days]
    if len(set(days)) != len(days):
        raise AnalysisError(f"visit days must be distinct, got {days}")
    if min(days) < min_day:
        raise AnalysisError(f"visit day {min(days)} is before day {min_day}; follow-up "
                            f"visits are after day 0 (baseline is derived separately)")
    if labels is not None and len(labels) != len(days):
        raise AnalysisError(f"{len(labels)} visit labels for {len(days)} visit days")
    label_of = dict(zip(days, labels, strict=True)) if labels is not None else {
        d: f"day {d}" for d in days}
    explicit = half_width is not None
    if half_width is None:
        widths = {d: default_half_width(d) for d in days}
    elif isinstance(half_width, int | np.integer):
        widths = dict.fromkeys(days, int(half_width))
    else:
        if len(half_width) != len(days):
            raise AnalysisError(f"{len(half_width)} half-widths for {len(days)} visit days")
        widths = {d: int(w) for d, w in zip(days, half_width, strict=True)}
    if any(w < 0 for w in widths.values()):
        raise AnalysisError(f"window half-widths must be >= 0 days, got {list(widths.values())}")
    order = sorted(days)
    lower = {d: max(min_day, d - widths[d]) for d in order}
    upper = {d: d + widths[d] for d in order}
    for a, b in itertools.pairwise(order):
        if upper[a] >= lower[b]:
            if explicit:
                raise AnalysisError(
                    f"visit windows overlap: day {a} [{lower[a]}, {upper[a]}] and day {b} "
                    f"[{lower[b]}, {upper[b]}]; use a smaller half-width (at most "
                    f"{(b - a - 1) // 2} days here) or the default windows")
            # split at the midpoint; the earlier visit keeps the midpoint day
            mid = (a + b) // 2
            upper[a] = min(upper[a], mid)
            lower[b] = max(lower[b], mid + 1)
    return [Visit(label_of[d], d, lower[d], upper[d]) for d in order]


def subject_universe(measurements: pd.DataFrame,
                     subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.Index:
    """The subjects every derivation reports on (one row each, usable or not).

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (``subject_id`` column).
    subjects : DataFrame, iterable of str or None
        A subjects table (its ``subject_id`` column) or ids; ``None`` means every subject with
        any measurement.

    Returns
    -------
    pandas.Index
        Subject ids as strings, in the order given (or sorted when derived).
    """
    if subjects is None:
        ids = pd.Index(sorted(pd.unique(measurements["subject_id"].astype(str))))
    elif isinstance(subjects, pd.DataFrame):
        if "subject_id" not in subjects.columns:
            raise AnalysisError("the subjects table has no subject_id column")
        ids = pd.Index(subjects["subject_id"].astype(str).tolist())
    else:
        ids = pd.Index([str(s) for s in subjects])
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique().tolist()[:5]
        raise AnalysisError(f"duplicate subject ids in the subject list: {dup}")
    return ids.rename("subject_id")


def _param_rows(measurements: pd.DataFrame, param: str) -> pd.DataFrame:
    missing = [c for c in _MEAS_COLUMNS if c not in measurements.columns]
    if missing:
        raise AnalysisError(f"the measurements table lacks column(s) {missing}; expected the "
                            f"contract's columns {list(_MEAS_COLUMNS)}")
    rows = measurements.loc[measurements["param"] == param]
    if "analysis_flag" in rows.columns:
        # records not analysed (ADaM ANL01FL not "Y": unscheduled, End of Treatment) are not
        # candidates for any visit or baseline
        rows = rows.loc[rows["analysis_flag"].fillna(True).astype(bool)]
    rows = rows[list(_MEAS_COLUMNS)]
    if rows.empty:
        present = sorted(pd.unique(measurements["param"].dropna().astype(str)))
        raise AnalysisError(f"the cohort has no {param} measurements (parameters present: "
                            f"{', '.join(present) or 'none'}); choose one of those")
    rows = rows.loc[rows["value"].notna() & rows["day"].notna()]
    out = pd.DataFrame({
        "subject_id": rows["subject_id"].astype(str).to_numpy(),
        "day": rows["day"].to_numpy(dtype=np.int64),
        "value": rows["value"].to_numpy(dtype=np.float64),
    })
    dup = out.duplicated(["subject_id", "day"])
    if dup.any():
        first = out.loc[dup].iloc[0]
        raise AnalysisError(f"{int(dup.sum())} duplicate {param} values on the same subject "
                            f"and day (first: {first['subject_id']} day {first['day']}); the "
                            "contract allows one value per subject, day and parameter")
    return out


def _check_window(window: tuple[int, int], what: str) -> tuple[int, int]:
    try:
        lo, hi = (int(window[0]), int(window[1]))
    except (TypeError, ValueError, IndexError):
        raise AnalysisError(f"{what} must be a pair of integer study days (lower, upper), got "
                            f"{window!r}") from None
    if lo > hi:
        raise AnalysisError(f"{what} [{lo}, {hi}] is empty: lower must be <= upper")
    return lo, hi


def baseline_values(measurements: pd.DataFrame, param: str, *,
                    window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                    subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """Baseline of ``param`` per subject: the last value on or before day 0 in ``window``.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements with ``subject_id``, ``day``, ``param``, ``value`` (values in
        the parameter's canonical unit, e.g. HbA1c in %).
    param : str
        Parameter code, e.g. ``"HBA1C"`` or ``"CPEP_FAST"``.
    window : (int, int), keyword-only
        Inclusive baseline window in study days, default ``(-90, 0)``; ``upper`` must be
        <= 0 (a baseline is never after day 0).
    subjects : DataFrame, iterable of str or None, keyword-only
        The subject universe (see :func:`subject_universe`).

    Returns
    -------
    DataFrame
        One row per subject: ``subject_id``, ``param``, ``baseline_day`` (Int64),
        ``baseline`` (float, canonical unit), ``reason`` (string; ``<NA>`` when a baseline
        was found, otherwise why not).

    Raises
    ------
    AnalysisError
        If the cohort has no ``param`` values at all, or the window is invalid.
    """
    lo, hi = _check_window(window, "the baseline window")
    if hi > 0:
        raise AnalysisError(f"the baseline window [{lo}, {hi}] ends after day 0; baseline is "
                            "the last value on or before day 0, so give an upper bound <= 0")
    ids = subject_universe(measurements, subjects)
    rows = _param_rows(measurements, param)
    rows = rows.loc[(rows["day"] >= lo) & (rows["day"] <= hi)]
    last = rows.sort_values(["subject_id", "day"]).groupby("subject_id", sort=False).tail(1)
    last = last.set_index("subject_id").reindex(ids)
    out = pd.DataFrame({
        "subject_id": ids.to_numpy(dtype=object),
        "param": param,
        "baseline_day": pd.array(last["day"].to_numpy(), dtype="Int64"),
        "baseline": last["value"].to_numpy(dtype=np.float64),
    })
    out["reason"] = pd.array(
        np.where(out["baseline"].isna(), f"no baseline {param} in days [{lo}, {hi}]", None),
        dtype="string")
    return out


def _pick(rows: pd.DataFrame, target: int, rule: Rule) -> pd.DataFrame:
    if rule == "nearest":
        rows = rows.assign(_dist=(rows["day"] - target).abs())
        rows = rows.sort_values(["subject_id", "_dist", "day"]).drop(columns="_dist")
        return rows.groupby("subject_id", sort=False).head(1)
    rows = rows.sort_values(["subject_id", "day"])
    grouped = rows.groupby("subject_id", sort=False)
    return grouped.tail(1) if rule == "last" else grouped.head(1)


def _check_visits(visits: Iterable[Visit] | Visit) -> list[Visit]:
    if isinstance(visits, Visit):
        visits = [visits]
    visits = list(visits)
    for v in visits:
        if not isinstance(v, Visit):
            raise AnalysisError(f"visits must be Visit objects (see make_visits), got {v!r}")
    labels = [v.label for v in visits]
    if len(set(labels)) != len(labels):
        raise AnalysisError(f"visit labels must be distinct, got {labels}")
    return visits


def values_at_visits(measurements: pd.DataFrame, param: str, visits: Iterable[Visit] | Visit,
                     *, rule: Rule = "nearest",
                     subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """Value of ``param`` per subject at each visit, taken inside the visit's window.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (canonical units).
    param : str
        Parameter code.
    visits : Visit or iterable of Visit
        The visits (see :func:`make_visits`).
    rule : {"nearest", "last", "first"}, keyword-only
        Which value in the window counts: nearest the nominal day (ties: the earlier; the
        default), or the last / first one in the window.
    subjects : DataFrame, iterable of str or None, keyword-only
        The subject universe (see :func:`subject_universe`).

    Returns
    -------
    DataFrame
        One row per subject and visit (visits in the order given): ``subject_id``, ``param``,
        ``visit`` (label), ``visit_day`` (nominal, Int64), ``day`` (actual, Int64), ``value``
        (float, canonical unit), ``reason`` (``<NA>`` when a value was found).
    """
    if rule not in ("nearest", "last", "first"):
        raise AnalysisError(f"rule must be 'nearest', 'last' or 'first', got {rule!r}")
    visits = _check_visits(visits)
    ids = subject_universe(measurements, subjects)
    rows = _param_rows(measurements, param)
    parts = []
    for v in visits:
        inside = rows.loc[(rows["day"] >= v.lower) & (rows["day"] <= v.upper)]
        picked = _pick(inside, v.day, rule).set_index("subject_id").reindex(ids)
        parts.append(_visit_frame(ids, param, v.label, v.day, picked,
                                  f"no {param} in days [{v.lower}, {v.upper}] of visit "
                                  f"{v.label!r}"))
    return _concat(parts)


def last_followup(measurements: pd.DataFrame, param: str, *, min_day: int = 1,
                  max_day: int | None = None,
                  subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """The last available follow-up value of ``param`` per subject.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (canonical units).
    param : str
        Parameter code.
    min_day : int, keyword-only
        Earliest study day that counts as follow-up (default 1, i.e. after day 0).
    max_day : int or None, keyword-only
        Latest study day considered (default: no limit).
    subjects : DataFrame, iterable of str or None, keyword-only
        The subject universe (see :func:`subject_universe`).

    Returns
    -------
    DataFrame
        Columns as :func:`values_at_visits`, with ``visit = "last"`` and ``visit_day`` NA.
    """
    if min_day < 1:
        raise AnalysisError(f"min_day must be >= 1 (follow-up is after day 0), got {min_day}")
    if max_day is not None and max_day < min_day:
        raise AnalysisError(f"max_day {max_day} is before min_day {min_day}")
    ids = subject_universe(measurements, subjects)
    rows = _param_rows(measurements, param)
    inside = rows["day"] >= min_day
    if max_day is not None:
        inside &= rows["day"] <= max_day
    picked = _pick(rows.loc[inside], 0, "last").set_index("subject_id").reindex(ids)
    span = f"days >= {min_day}" if max_day is None else f"days [{min_day}, {max_day}]"
    return _visit_frame(ids, param, LAST_VISIT_LABEL, None, picked,
                        f"no follow-up {param} in {span}")


def _visit_frame(ids: pd.Index, param: str, label: str, nominal_day: int | None,
                 picked: pd.DataFrame, missing_reason: str) -> pd.DataFrame:
    """The rows of one visit: the value picked per subject, or the reason it is missing."""
    value = picked["value"].to_numpy(dtype=np.float64)
    return pd.DataFrame({
        "subject_id": ids.to_numpy(dtype=object),
        "param": param,
        "visit": label,
        "visit_day": pd.array([pd.NA if nominal_day is None else nominal_day] * len(ids),
                              dtype="Int64"),
        "day": pd.array(picked["day"].to_numpy(), dtype="Int64"),
        "value": value,
        "reason": pd.array(np.where(np.isnan(value), missing_reason, None), dtype="string"),
    })


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


def split_exclusions(frame: pd.DataFrame, *,
                     reason_column: str = "reason") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Separate usable rows from excluded ones.

    Parameters
    ----------
    frame : DataFrame
        A derivation output with a ``reason`` column (NA for usable rows).
    reason_column : str, keyword-only
        Name of the reason column.

    Returns
    -------
    usable : DataFrame
        Rows whose reason is NA (the reason column removed).
    exclusions : DataFrame
        ``subject_id``, ``reason`` (plus ``visit`` when the frame has it) of the other rows.
    """
    bad = frame[reason_column].notna().to_numpy()
    keep = ["subject_id"] + (["visit"] if "visit" in frame.columns else []) + [reason_column]
    excl = frame.loc[bad, keep].rename(columns={reason_column: "reason"}).reset_index(drop=True)
    excl["reason"] = excl["reason"].astype(object)
    usable = frame.loc[~bad].drop(columns=reason_column).reset_index(drop=True)
    return usable, excl


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(
        drop=True)


def with_subject_columns(frame: pd.DataFrame, subjects: pd.DataFrame,
                         columns: Sequence[str]) -> pd.DataFrame:
    """Attach columns of the subjects table (e.g. ``arm``, ``control``) to a derived frame.

    Parameters
    ----------
    frame : DataFrame
        A derivation output with ``subject_id``.
    subjects : DataFrame
        The subjects table.
    columns : sequence of str
        Subjects columns to attach; an unknown column is an error.

    Returns
    -------
    DataFrame
        ``frame`` with the columns added (left join on ``subject_id``; row order kept).
    """
    columns = [c for c in columns if c != "subject_id"]
    unknown = [c for c in columns if c not in subjects.columns]
    if unknown:
        raise AnalysisError(f"the subjects table has no column(s) {unknown}; columns: "
                            f"{', '.join(map(str, subjects.columns))}")
    clash = [c for c in columns if c in frame.columns]
    if clash:
        raise AnalysisError(f"column(s) {clash} are already in the derived frame")
    right = subjects[["subject_id", *columns]].copy()
    right["subject_id"] = right["subject_id"].astype(str)
    left = frame.assign(subject_id=frame["subject_id"].astype(str))
    return left.merge(right, on="subject_id", how="left", validate="many_to_one")


def resolve_visits(*, visit_days: Iterable[int] | None = None,
                   visits: Iterable[Visit] | None = None,
                   half_width: int | Sequence[int] | None = None,
                   last: bool = False) -> list[Visit]:
    """The visits an analysis runs at: explicit :class:`Visit` objects or nominal days.

    Parameters
    ----------
    visit_days : iterable of int or None, keyword-only
        Nominal study days; windows from :func:`make_visits` with ``half_width``.
    visits : iterable of Visit or None, keyword-only
        Explicit visits (take precedence; then ``visit_days`` must be None).
    half_width : int, sequence of int or None, keyword-only
        Window half-width(s) in days for ``visit_days``.
    last : bool, keyword-only
        Whether the last available follow-up is also analysed (then no visits is fine).

    Returns
    -------
    list of Visit
    """
    if visits is not None and visit_days is not None:
        raise AnalysisError("give either visits or visit_days, not both")
    if visits is not None:
        out = _check_visits(visits)
    elif visit_days is not None:
        out = make_visits(visit_days, half_width=half_width)
    else:
        out = []
    if not out and not last:
        raise AnalysisError("no visit asked for: give visit days (e.g. 84 for week 12) and/or "
                            "ask for the last available follow-up")
    return out

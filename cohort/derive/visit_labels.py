"""Baseline and visits from the data's own labels and flags (CDISC ADaM conventions).

When a cohort's measurements carry visit labels (``visit``, ADaM ``AVISIT``) and a baseline
flag (``baseline_flag``, ADaM ``ABLFL``), they define the analysis, as they do in the trial's
own analyses:

* **Baseline** of a parameter: the value of the subject's record flagged as baseline (one per
  subject; ADaM's ``BASE``). No baseline window is applied.
* **Value at a visit**: the subject's analysis record (``analysis_flag`` not false, ADaM
  ``ANL01FL = "Y"``) with that visit label. Unscheduled and End-of-Treatment records are not
  analysis records and are never picked; two analysis records of one subject at one visit are
  an error (the flags should select one).
* **Change** = value - baseline (ADaM ``CHG``), in the parameter's canonical unit.

Nearest-day visit windows (:mod:`cohort.derive.visit_windows`) are used only for cohorts without
labels and a baseline flag, or when visit days are asked for explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from cohort.derive.universe import subject_universe
from cohort.errors import AnalysisError

__all__ = ["change_at_labels", "flagged_baseline", "has_visit_labels", "label_days",
           "nearest_label", "resolve_visit_labels", "values_at_labels", "visit_labels"]


def _analysis_rows(measurements: pd.DataFrame, param: str) -> pd.DataFrame:
    rows = measurements.loc[measurements["param"] == param]
    if "analysis_flag" in rows.columns:
        rows = rows.loc[rows["analysis_flag"].fillna(True).astype(bool)]
    return rows.loc[rows["value"].notna()]


def has_visit_labels(measurements: pd.DataFrame, param: str) -> bool:
    """Whether the records of ``param`` carry visit labels and a baseline flag."""
    if not {"visit", "baseline_flag"} <= set(measurements.columns):
        return False
    # two columns of the parameter's rows, not a copy of every column (10M-row cohorts)
    mine = (measurements["param"] == param).to_numpy(dtype=bool, na_value=False)
    return bool(measurements["visit"][mine].notna().any()
                and measurements["baseline_flag"][mine].fillna(False).any())


def visit_labels(measurements: pd.DataFrame, param: str) -> list[str]:
    """The post-baseline visit labels of ``param``'s analysis records, in visit order.

    Ordered by ``visit_number`` (ADaM ``AVISITN``) when given, else by the median study day;
    the baseline record's visit and every visit numbered at or before it are left out.
    """
    rows = _analysis_rows(measurements, param)
    rows = rows.loc[rows["visit"].notna()]
    number = (rows["visit_number"].astype("Float64") if "visit_number" in rows.columns
              else pd.Series(pd.NA, index=rows.index, dtype="Float64"))
    order = pd.DataFrame({"visit": rows["visit"].astype(str), "number": number,
                          "day": rows["day"].astype("Float64")}).groupby("visit").agg(
        number=("number", "min"), day=("day", "median"))
    base = rows.loc[rows["baseline_flag"].fillna(False).astype(bool)] \
        if "baseline_flag" in rows.columns else rows.iloc[:0]
    base_labels = set(base["visit"].astype(str))
    base_number = order.loc[order.index.isin(base_labels), "number"].max()
    base_day = order.loc[order.index.isin(base_labels), "day"].max()
    keep = ~order.index.isin(base_labels)
    if pd.notna(base_number):
        keep &= order["number"].isna() | (order["number"] > base_number)
    elif pd.notna(base_day):
        keep &= order["day"] > base_day
    return order.loc[keep].sort_values(["number", "day"], na_position="last").index.tolist()


def _labels_of(measurements: pd.DataFrame, params: Sequence[str]) -> list[str]:
    """The post-baseline labels of ``params`` together, in the first parameter's visit order
    (labels only a later parameter has follow, in that parameter's order)."""
    out: dict[str, None] = {}
    for p in params:
        out.update(dict.fromkeys(visit_labels(measurements, p)))
    return list(out)


def resolve_visit_labels(measurements: pd.DataFrame, param: str | Sequence[str], *,
                         visit_labels_: Sequence[str] | None = None,
                         by_day: bool = False) -> list[str] | None:
    """The visit labels an analysis runs at, or None for nearest-day windows.

    Parameters
    ----------
    measurements : DataFrame
        Contract measurements.
    param : str or sequence of str
        Parameter code(s) the analysis reads at the visits (e.g. every parameter of the
        responder criteria); labels are the default only when each of them has visit labels
        and a baseline flag.
    visit_labels_ : sequence of str or None, keyword-only
        Labels asked for (``--visit "Week 24"``); each must be a post-baseline visit of the
        analysis records of at least one of the parameters.
    by_day : bool, keyword-only
        Visit days (or the last follow-up) were asked for: windows are used, labels are not.

    Returns
    -------
    list of str or None
        The labels asked for; else, when the data have labels and a baseline flag and no
        days were asked for, every post-baseline visit; else None.
    """
    params = [param] if isinstance(param, str) else list(dict.fromkeys(param))
    if visit_labels_:
        if by_day:
            raise AnalysisError("give visits by label (--visit) or by day (--visit-days, "
                                "--last), not both")
        unlabelled = [p for p in params if not has_visit_labels(measurements, p)]
        if unlabelled or not params:
            raise AnalysisError(f"visits by label need visit labels and a baseline flag on the "
                                f"{', '.join(unlabelled or ['measurement'])} records (ADaM "
                                "AVISIT and ABLFL); this cohort has none: select visits by "
                                "day (--visit-days)")
        known = _labels_of(measurements, params)
        unknown = [v for v in visit_labels_ if v not in known]
        if unknown:
            raise AnalysisError(f"visit(s) {', '.join(map(repr, unknown))} are not post-"
                                f"baseline visits of the {', '.join(params)} analysis records; "
                                f"visits: {', '.join(map(repr, known)) or 'none'}")
        return list(dict.fromkeys(visit_labels_))
    if by_day or not params or not all(has_visit_labels(measurements, p) for p in params):
        return None
    return _labels_of(measurements, params) or None


def label_days(measurements: pd.DataFrame, label: str, *,
               params: Sequence[str] | None = None) -> pd.Series:
    """Study day of each subject's visit ``label``: the earliest day of the subject's
    analysis records with that label (of ``params``, default every parameter).

    Returns
    -------
    Series
        Study day (float; index ``subject_id`` as text), one entry per subject with such a
        record.
    """
    rows = measurements if params is None else measurements.loc[
        measurements["param"].isin(list(params))]
    if "analysis_flag" in rows.columns:
        rows = rows.loc[rows["analysis_flag"].fillna(True).astype(bool)]
    rows = rows.loc[rows["visit"].astype("string") == label] if "visit" in rows.columns \
        else rows.iloc[:0]
    days = rows["day"].astype("Float64").groupby(rows["subject_id"].astype(str)).min()
    return days.astype(float).rename("day")


def nearest_label(measurements: pd.DataFrame, params: Sequence[str], *, day: int,
                  window: tuple[int, int]) -> str:
    """The labelled post-baseline visit of ``params`` nearest study day ``day``.

    A single-visit analysis (remission at day 365) on a cohort with visit labels assesses the
    labelled visit whose median study day (over the analysis records of ``params``) is nearest
    ``day`` and inside ``window`` (study days, inclusive).

    Raises
    ------
    AnalysisError
        No labelled visit has its median day in the window (the message lists the visits and
        their days, and how to choose one).
    """
    labels = _labels_of(measurements, params)
    rows = measurements.loc[measurements["param"].isin(list(params))]
    if "analysis_flag" in rows.columns:
        rows = rows.loc[rows["analysis_flag"].fillna(True).astype(bool)]
    median = rows["day"].astype("Float64").groupby(rows["visit"].astype("string")).median()
    days = {lab: float(median.get(lab, np.nan)) for lab in labels}
    inside = {lab: d for lab, d in days.items() if window[0] <= d <= window[1]}
    if not inside:
        listed = ", ".join(f"{lab!r} (day {d:g})" for lab, d in days.items()) or "none"
        raise AnalysisError(f"no labelled visit of {', '.join(params)} falls in days "
                            f"{window[0]} to {window[1]} around day {day}; visits (median "
                            f"study day): {listed}; choose one with --visit LABEL, or give "
                            "--visit-days to use nearest-day windows")
    return min(inside, key=lambda lab: (abs(inside[lab] - day), inside[lab]))


def _flagged(rows: pd.DataFrame, param: str, ids: pd.Index) -> pd.DataFrame:
    """The baseline record per subject (indexed by ``ids``); one flagged record at most."""
    rows = rows.assign(subject_id=rows["subject_id"].astype(str))
    flagged = rows.loc[rows["baseline_flag"].fillna(False).astype(bool) & rows["value"].notna()]
    dup = flagged["subject_id"].duplicated(keep=False)
    if dup.any():
        sid = flagged.loc[dup, "subject_id"].iloc[0]
        raise AnalysisError(f"subject {sid} has {int((flagged['subject_id'] == sid).sum())} "
                            f"{param} records flagged as baseline; the baseline flag (ABLFL) "
                            "must select one")
    return flagged.set_index("subject_id").reindex(ids)


def flagged_baseline(measurements: pd.DataFrame, param: str, *,
                     subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """Baseline of ``param`` per subject from the record flagged as baseline (ADaM ABLFL).

    Returns
    -------
    DataFrame
        The columns of :func:`cohort.derive.baseline.baseline_values`: ``subject_id``,
        ``param``, ``baseline_day``, ``baseline`` (canonical unit), ``reason``.
    """
    ids = subject_universe(measurements, subjects)
    base = _flagged(measurements.loc[measurements["param"] == param], param, ids)
    value = base["value"].to_numpy(dtype=np.float64)
    return pd.DataFrame({
        "subject_id": ids.to_numpy(dtype=object), "param": param,
        "baseline_day": pd.array(base["day"].to_numpy(), dtype="Int64"),
        "baseline": value,
        "reason": pd.array(np.where(np.isnan(value), f"no {param} record flagged as baseline",
                                    None), dtype="string")})


def _at_label(analysis: pd.DataFrame, param: str, label: str, ids: pd.Index) -> pd.DataFrame:
    """Each subject's analysis record at visit ``label`` (indexed by ``ids``); one at most."""
    at = analysis.loc[analysis["visit"].astype(str) == label]
    dup = at["subject_id"].duplicated(keep=False)
    if dup.any():
        sid = at.loc[dup, "subject_id"].iloc[0]
        raise AnalysisError(f"subject {sid} has {int((at['subject_id'] == sid).sum())} "
                            f"{param} analysis records at visit {label!r}; the analysis "
                            "flag (ANL01FL) must select one")
    return at.set_index("subject_id").reindex(ids)


def _param_rows(measurements: pd.DataFrame, param: str) -> pd.DataFrame:
    rows = measurements.loc[measurements["param"] == param]
    if rows.empty:
        present = sorted(pd.unique(measurements["param"].dropna().astype(str)))
        raise AnalysisError(f"the cohort has no {param} measurements (parameters present: "
                            f"{', '.join(present) or 'none'}); choose one of those")
    return rows.assign(subject_id=rows["subject_id"].astype(str))


def values_at_labels(measurements: pd.DataFrame, param: str, labels: Sequence[str], *,
                     subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """Value of ``param`` per subject at each labelled visit (no baseline needed).

    The value is the subject's analysis record with that visit label (``analysis_flag`` not
    false, ADaM ``ANL01FL``); unscheduled and End-of-Treatment records are never picked.

    Returns
    -------
    DataFrame
        The columns of :func:`cohort.derive.visit_values.values_at_visits`: one row per
        subject and visit, ``visit`` the label, ``visit_day`` empty (labelled visits have no
        nominal day), ``day`` the record's study day, ``value`` in the canonical unit,
        ``reason`` (``<NA>`` when a value was found).
    """
    ids = subject_universe(measurements, subjects)
    analysis = _analysis_rows(_param_rows(measurements, param), param)
    parts = []
    for label in labels:
        picked = _at_label(analysis, param, label, ids)
        value = picked["value"].to_numpy(dtype=np.float64)
        parts.append(pd.DataFrame({
            "subject_id": ids.to_numpy(dtype=object), "param": param, "visit": label,
            "visit_day": pd.array([pd.NA] * len(ids), dtype="Int64"),
            "day": pd.array(picked["day"].to_numpy(), dtype="Int64"),
            "value": value,
            "reason": pd.array(np.where(np.isnan(value), f"no {param} analysis record at "
                                        f"visit {label!r}", None), dtype="string")}))
    if not parts:
        raise AnalysisError("no visit labels given")
    return pd.concat(parts, ignore_index=True)


def change_at_labels(measurements: pd.DataFrame, param: str, labels: Sequence[str], *,
                     subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """Change from the flagged baseline at each labelled visit.

    Returns
    -------
    DataFrame
        The columns of :func:`cohort.derive.change.change_from_baseline`: one row per subject
        and visit, ``visit`` the label, ``visit_day`` empty (labelled visits have no nominal
        day), ``day`` the record's study day, values in the canonical unit; ``reason`` says
        why a row is unusable.
    """
    ids = subject_universe(measurements, subjects)
    rows = _param_rows(measurements, param)
    base = _flagged(rows, param, ids)
    analysis = _analysis_rows(rows, param)
    parts = []
    for label in labels:
        picked = _at_label(analysis, param, label, ids)
        value = picked["value"].to_numpy(dtype=np.float64)
        baseline = base["value"].to_numpy(dtype=np.float64)
        change = value - baseline
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pct = 100.0 * change / baseline
        zero = baseline == 0
        pct[zero] = np.nan
        reason = np.where(np.isnan(baseline), f"no {param} record flagged as baseline",
                          np.where(np.isnan(value), f"no {param} analysis record at visit "
                                   f"{label!r}", None))
        parts.append(pd.DataFrame({
            "subject_id": ids.to_numpy(dtype=object), "param": param, "visit": label,
            "visit_day": pd.array([pd.NA] * len(ids), dtype="Int64"),
            "day": pd.array(picked["day"].to_numpy(), dtype="Int64"),
            "value": value,
            "baseline_day": pd.array(base["day"].to_numpy(), dtype="Int64"),
            "baseline": baseline, "change": change, "pct_change": pct,
            "pct_reason": pd.array(np.where(zero & ~np.isnan(value),
                                            "baseline is 0: percent change undefined", None),
                                   dtype="string"),
            "reason": pd.array(reason, dtype="string"),
        }))
    if not parts:
        raise AnalysisError("no visit labels given")
    return pd.concat(parts, ignore_index=True)

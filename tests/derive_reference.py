"""Reference implementation of the day-window derivations, in plain pandas.

This is the code `cohort.derive` ran before it moved to sorted numpy columns (issue 16): one
``sort_values`` / ``groupby`` / ``merge`` per step, easy to read and slow on large cohorts.
``tests/test_derive_columnar.py`` compares the library against it on random cohorts, so it is
kept here, verbatim but for the docstrings, as the definition the fast code must agree with.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from cohort.derive.visit_windows import Visit, _check_visits
from cohort.errors import AnalysisError

MEAS_COLUMNS = ("subject_id", "day", "param", "value")


def subject_universe(measurements, subjects=None) -> pd.Index:
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


def param_rows(measurements: pd.DataFrame, param: str) -> pd.DataFrame:
    missing = [c for c in MEAS_COLUMNS if c not in measurements.columns]
    if missing:
        raise AnalysisError(f"the measurements table lacks column(s) {missing}; expected the "
                            f"contract's columns {list(MEAS_COLUMNS)}")
    rows = measurements.loc[measurements["param"] == param]
    if "analysis_flag" in rows.columns:
        rows = rows.loc[rows["analysis_flag"].fillna(True).astype(bool)]
    rows = rows[list(MEAS_COLUMNS)]
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


def _check_window(window, what):
    try:
        lo, hi = (int(window[0]), int(window[1]))
    except (TypeError, ValueError, IndexError):
        raise AnalysisError(f"{what} must be a pair of integer study days (lower, upper), got "
                            f"{window!r}") from None
    if lo > hi:
        raise AnalysisError(f"{what} [{lo}, {hi}] is empty: lower must be <= upper")
    return lo, hi


def baseline_values(measurements, param, *, window=(-90, 0), subjects=None) -> pd.DataFrame:
    lo, hi = _check_window(window, "the baseline window")
    if hi > 0:
        raise AnalysisError(f"the baseline window [{lo}, {hi}] ends after day 0; baseline is "
                            "the last value on or before day 0, so give an upper bound <= 0")
    ids = subject_universe(measurements, subjects)
    rows = param_rows(measurements, param)
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


def _pick(rows, target, rule):
    if rule == "nearest":
        rows = rows.assign(_dist=(rows["day"] - target).abs())
        rows = rows.sort_values(["subject_id", "_dist", "day"]).drop(columns="_dist")
        return rows.groupby("subject_id", sort=False).head(1)
    rows = rows.sort_values(["subject_id", "day"])
    grouped = rows.groupby("subject_id", sort=False)
    return grouped.tail(1) if rule == "last" else grouped.head(1)


def _concat(parts):
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(
        drop=True)


def _visit_frame(ids, param, label, nominal_day, picked, missing_reason):
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


def values_at_visits(measurements, param, visits, *, rule="nearest", subjects=None):
    if rule not in ("nearest", "last", "first"):
        raise AnalysisError(f"rule must be 'nearest', 'last' or 'first', got {rule!r}")
    visits = _check_visits(visits)
    ids = subject_universe(measurements, subjects)
    rows = param_rows(measurements, param)
    parts = []
    for v in visits:
        inside = rows.loc[(rows["day"] >= v.lower) & (rows["day"] <= v.upper)]
        picked = _pick(inside, v.day, rule).set_index("subject_id").reindex(ids)
        parts.append(_visit_frame(ids, param, v.label, v.day, picked,
                                  f"no {param} in days [{v.lower}, {v.upper}] of visit "
                                  f"{v.label!r}"))
    return _concat(parts)


def last_followup(measurements, param, *, min_day=1, max_day=None, subjects=None):
    if min_day < 1:
        raise AnalysisError(f"min_day must be >= 1 (follow-up is after day 0), got {min_day}")
    if max_day is not None and max_day < min_day:
        raise AnalysisError(f"max_day {max_day} is before min_day {min_day}")
    ids = subject_universe(measurements, subjects)
    rows = param_rows(measurements, param)
    inside = rows["day"] >= min_day
    if max_day is not None:
        inside &= rows["day"] <= max_day
    picked = _pick(rows.loc[inside], 0, "last").set_index("subject_id").reindex(ids)
    span = f"days >= {min_day}" if max_day is None else f"days [{min_day}, {max_day}]"
    return _visit_frame(ids, param, "last", None, picked,
                        f"no follow-up {param} in {span}")


def change_from_baseline(measurements, param, visits: Iterable[Visit] | Visit = (), *,
                         baseline_window=(-90, 0), last=False, min_followup_day=1,
                         max_followup_day=None, rule="nearest", subjects=None):
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


def with_subject_columns(frame: pd.DataFrame, subjects: pd.DataFrame,
                         columns: Sequence[str]) -> pd.DataFrame:
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


def split_exclusions(frame: pd.DataFrame, *, reason_column: str = "reason"):
    bad = frame[reason_column].notna().to_numpy()
    keep = ["subject_id"] + (["visit"] if "visit" in frame.columns else []) + [reason_column]
    excl = frame.loc[bad, keep].rename(columns={reason_column: "reason"}).reset_index(drop=True)
    excl["reason"] = excl["reason"].astype(object)
    usable = frame.loc[~bad].drop(columns=reason_column).reset_index(drop=True)
    return usable, excl


def prepare_changes(measurements, subjects, *, param, visit_list, last, baseline_window,
                    subject_columns):
    """cohort.analysis._common.prepare_changes (visits by day) as it was."""
    from cohort.analysis._common import drop_missing

    changes = change_from_baseline(measurements, param, visit_list, last=last,
                                   baseline_window=baseline_window, subjects=subjects)
    changes = with_subject_columns(changes, subjects, list(dict.fromkeys(subject_columns)))
    usable, excl = split_exclusions(changes)
    usable, excl2 = drop_missing(usable, [c for c in subject_columns if c != "arm"])
    return usable, pd.concat([excl, excl2], ignore_index=True)

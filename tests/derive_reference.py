"""Reference implementation of the day-window derivations, in plain pandas.

This is the code `cohort.derive` ran before it moved to sorted numpy columns (issue 16): one
``sort_values`` / ``groupby`` / ``merge`` per step, easy to read and slow on large cohorts.
``tests/test_derive_columnar.py`` compares the library against it on random cohorts, so it is
kept here, verbatim but for the docstrings, as the definition the fast code must agree with.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from cohort.analysis.responder_criteria import Criterion, MedicationCriterion, parse_criterion
from cohort.derive.thresholds import meets_threshold
from cohort.derive.visit_labels import change_at_labels, label_days, values_at_labels
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


def medication_reduction(medications: pd.DataFrame, subjects: pd.DataFrame, *,
                         drug_class: str, day: int, baseline_day: int = 0,
                         min_day: int | None = None) -> pd.DataFrame:
    meds = medications.assign(subject_id=medications["subject_id"].astype(str))
    meds = meds[meds["drug_class"] == drug_class]
    rows = []
    for sid, last in zip(subjects["subject_id"].astype(str), subjects["last_contact_day"],
                         strict=True):
        own = meds[meds["subject_id"] == sid]
        reason = None
        units = sorted({str(u) for u in own["unit"].dropna()})
        end = own["end_day"].astype("Float64").fillna(np.inf).to_numpy(dtype=float)
        start = own["start_day"].to_numpy(dtype=float)
        dose = own["daily_dose"].to_numpy(dtype=float)

        def on(d: int, start=start, end=end) -> np.ndarray:
            return (start <= d) & (d <= end)

        assess = day
        if pd.notna(last) and int(last) < day and min_day is not None and int(last) >= min_day:
            assess = int(last)
        base_rows, fu_rows = on(baseline_day), on(assess)
        d0 = float(dose[base_rows].sum()) if base_rows.any() else 0.0
        d1 = float(dose[fu_rows].sum()) if fu_rows.any() else 0.0
        # no positive dose on the baseline day: nothing to reduce, and that is known, not
        # missing, so the class does not apply to the subject (checked before anything else)
        applicable = False
        if own.empty or not base_rows.any():
            reason = f"not on {drug_class} on day {baseline_day}"
        elif not np.isnan(dose[base_rows]).any() and d0 <= 0:
            reason = f"{drug_class} daily dose 0 on day {baseline_day}"
        elif np.isnan(dose[base_rows | fu_rows]).any():
            applicable = True
            reason = f"{drug_class} daily dose missing"
        else:
            applicable = True
            if len(units) > 1:
                reason = f"{drug_class} doses in different units ({', '.join(units)})"
            elif pd.notna(last) and int(last) < assess:
                reason = f"last contact on day {int(last)}, before day {min_day or day}"
        rows.append({"subject_id": sid, "day": assess, "dose_baseline": d0, "dose_followup": d1,
                     "unit": units[0] if len(units) == 1 else None,
                     "reduction_pct": 100 * (d0 - d1) / d0 if reason is None else math.nan,
                     "applicable": applicable, "reason": reason})
    out = pd.DataFrame(rows, columns=["subject_id", "day", "dose_baseline", "dose_followup",
                                      "unit", "reduction_pct", "applicable", "reason"])
    out["applicable"] = out["applicable"].astype(bool)
    out["reason"] = out["reason"].astype("string")
    return out


def _ref_medication_reduction(*args, **kwargs):
    return medication_reduction(*args, **kwargs)


# responder_flags as it was (cohort.analysis.responder_status), on the reference derivations
# above and the reference medication_reduction


def _reduction_at(medications: pd.DataFrame, subjects: pd.DataFrame,
                  measurements: pd.DataFrame, drug_class: str,
                  visit: Visit | str) -> pd.DataFrame:
    """:func:`medication_reduction` at a window's nominal day, or at each subject's own day
    of a labelled visit (subjects grouped by that day)."""
    if not isinstance(visit, str):
        return _ref_medication_reduction(medications, subjects, drug_class=drug_class,
                                    day=visit.day, min_day=visit.lower)
    own = label_days(measurements, visit)
    if own.empty:
        raise AnalysisError(f"no analysis record has the visit label {visit!r}: the day of "
                            "a medication criterion cannot be set")
    nominal = round(float(own.median()))
    sid = subjects["subject_id"].astype(str)
    day = sid.map(own).fillna(nominal).astype(int).to_numpy()
    parts = [_ref_medication_reduction(medications, subjects.loc[day == d], drug_class=drug_class,
                                  day=int(d)) for d in np.unique(day)]
    return pd.concat(parts, ignore_index=True)


def responder_flags(measurements: pd.DataFrame, subjects: pd.DataFrame,
                    medications: pd.DataFrame | None = None, *, visit: Visit | str,
                    criteria: Sequence[Criterion | MedicationCriterion | str],
                    combine: Literal["all", "any"] = "all",
                    missing: Literal["exclude", "nonresponder"] = "exclude",
                    baseline_window: tuple[int, int] = (-90, 0)) -> pd.DataFrame:
    if combine not in ("all", "any"):
        raise AnalysisError(f"combine must be 'all' or 'any', got {combine!r}")
    if missing not in ("exclude", "nonresponder"):
        raise AnalysisError(f"missing must be 'exclude' or 'nonresponder', got {missing!r}")
    parsed = [parse_criterion(c) if isinstance(c, str) else c for c in criteria]
    if not parsed:
        raise AnalysisError("no responder criterion given; e.g. 'HBA1C < 7'")
    ids = subjects["subject_id"].astype(str).reset_index(drop=True)
    n = len(ids)
    out = pd.DataFrame({"subject_id": ids})
    met, failed = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    unknown, applies = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    unknown_why: list[list[str]] = [[] for _ in range(n)]
    inapplicable_why: list[list[str]] = [[] for _ in range(n)]
    for crit in parsed:
        if isinstance(crit, MedicationCriterion):
            if medications is None or len(medications) == 0:
                raise AnalysisError(f"the criterion '{crit.label}' needs the medications "
                                    "table, and the cohort has none")
            red = _reduction_at(medications, subjects, measurements, crit.drug_class, visit)
            red = red.set_index("subject_id").reindex(ids)
            flag = meets_threshold(red["reduction_pct"].to_numpy(dtype=float), ">=",
                                   crit.reduction_pct)
            why = red["reason"].astype(object).to_numpy()
            applicable = red["applicable"].astype("boolean").fillna(True).to_numpy(dtype=bool)
            decided = pd.isna(why) & applicable
        else:
            if isinstance(visit, str):
                # by label: the analysis record of the visit, the flagged baseline
                ch = (values_at_labels(measurements, crit.param, [visit], subjects=ids)
                      if crit.measure == "value" else
                      change_at_labels(measurements, crit.param, [visit], subjects=ids))
            elif crit.measure == "value":
                # a value criterion needs no baseline
                ch = values_at_visits(measurements, crit.param, [visit], subjects=ids)
            else:
                ch = change_from_baseline(measurements, crit.param, [visit],
                                          baseline_window=baseline_window, subjects=ids)
            ch = ch.set_index("subject_id").reindex(ids)
            vals = ch[crit.measure].to_numpy(dtype=float)
            why = ch["reason"].astype(object).to_numpy()
            if crit.measure == "pct_change":
                # usable row but baseline 0: percent change undefined
                pct_why = ch["pct_reason"].astype(object).to_numpy()
                why = np.where(pd.isna(why) & np.isnan(vals), pct_why, why)
            decided = ~np.isnan(vals)
            applicable = np.ones(n, dtype=bool)
            # one tolerance rule with the remission code: 8.2 -> 7.7 meets "change <= -0.5"
            flag = meets_threshold(np.where(decided, vals, 0.0), crit.op, crit.threshold)
        out[crit.label] = pd.array(np.where(decided, flag, None), dtype="boolean")
        met |= decided & flag
        failed |= decided & ~flag
        unknown |= applicable & ~decided
        applies |= applicable
        for i in np.flatnonzero(~decided):
            w = why[i] if pd.notna(why[i]) else "no value"
            (unknown_why if applicable[i] else inapplicable_why)[i].append(f"{crit.label}: {w}")
    # Kleene logic over the applicable criteria; nothing applicable is undecided
    if combine == "any":
        resp = np.where(met, True, np.where(unknown | ~applies, None, False))
    else:
        resp = np.where(failed, False, np.where(unknown | ~applies, None, True))
    undecided = pd.isna(resp)
    reasons = pd.Series([None] * n, dtype=object)
    for i in np.flatnonzero(undecided):
        reasons[i] = ("; ".join(unknown_why[i]) if applies[i] else
                      f"no applicable criterion ({'; '.join(inapplicable_why[i])})")
    if missing == "exclude":
        out["responder"] = pd.array(resp, dtype="boolean")
    else:
        out["responder"] = pd.array(np.where(undecided, False, resp), dtype="boolean")
        reasons = reasons.where(~undecided, reasons + " (counted as non-responder)")
    out["reason"] = pd.array(reasons.to_numpy(), dtype="string")
    return out


def nearest_hba1c(measurements: pd.DataFrame, runs: pd.DataFrame,
                  window: int) -> tuple[np.ndarray, np.ndarray]:
    """cohort.derive.insulin._nearest_hba1c as it was (a merge of runs and HbA1c records)."""
    from cohort.derive.insulin import _int_days

    value = np.full(len(runs), np.nan)
    day = np.full(len(runs), np.nan)
    hb = measurements.loc[measurements["param"].astype(str) == "HBA1C",
                          ["subject_id", "day", "value"]]
    if hb.empty or runs.empty:
        return value, day
    hb = pd.DataFrame({"subject_id": hb["subject_id"].astype(str).to_numpy(),
                       "hday": _int_days(hb["day"], "measurements.day"),
                       "hvalue": hb["value"].to_numpy(dtype=float)})
    cand = runs[["subject_id", "first_day"]].reset_index(names="run").merge(
        hb, on="subject_id", how="inner")
    cand["dist"] = (cand["hday"] - cand["first_day"]).abs()
    cand = cand[cand["dist"] <= window].sort_values(["run", "dist", "hday"], kind="stable")
    best = cand.drop_duplicates("run", keep="first")
    value[best["run"].to_numpy()] = best["hvalue"].to_numpy()
    day[best["run"].to_numpy()] = best["hday"].to_numpy()
    return value, day


def prepare_changes_by_label(measurements, subjects, *, param, visit_labels, subject_columns):
    """cohort.analysis._common.prepare_changes (visits by label) as it was."""
    from cohort.analysis._common import drop_missing

    changes = change_at_labels(measurements, param, visit_labels, subjects=subjects)
    changes = with_subject_columns(changes, subjects, list(dict.fromkeys(subject_columns)))
    usable, excl = split_exclusions(changes)
    usable, excl2 = drop_missing(usable, [c for c in subject_columns if c != "arm"])
    return usable, pd.concat([excl, excl2], ignore_index=True)


def marker_status(rule, frame: pd.DataFrame, marker: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    base = frame["baseline"].to_numpy(dtype=float)
    value = frame["value"].to_numpy(dtype=float)
    reason = frame["reason"].astype(object).to_numpy()
    rise = np.full(len(frame), np.nan)
    status = np.empty(len(frame), dtype=object)
    limit = rule.detection_limit
    t = rule.threshold_pct
    for i in range(len(frame)):
        if isinstance(reason[i], str):
            status[i] = f"not judged: {reason[i]}"
            continue
        b, v = base[i], value[i]
        if b <= limit:
            if rule.below_limit == "exclude":
                status[i] = (f"not judged: baseline {marker} {b:g} nmol/L is at or below the "
                             f"detection limit {limit:g} nmol/L (percent change undefined)")
                continue
            rise[i] = float(v > limit)
            status[i] = ("rise from an undetectable baseline" if v > limit else
                         "no rise (undetectable at baseline and visit)")
            continue
        pct = 100.0 * (v - b) / b  # b > limit >= 0, so finite for any recorded value
        ok = bool(meets_threshold(pct, ">=" if rule.inclusive else ">", t))
        rise[i] = float(ok)
        status[i] = f"{'rise' if ok else 'no rise'} ({pct:+.1f}%)"
    return rise, status

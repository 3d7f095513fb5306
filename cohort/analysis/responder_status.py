"""Per-subject responder status at one visit: each criterion met, not met, undecided or not
applicable, combined by three-valued (Kleene) logic (:func:`responder_flags`), and the
medication dose reduction since day 0 that medication criteria are judged on
(:func:`medication_reduction`).

A medication criterion does not apply to a subject who takes no dose of its drug class on
day 0 (there is nothing to reduce; stopping the drug is a 100% reduction, Nguyen 2021). The
criteria themselves are :mod:`cohort.analysis.responder_criteria`; rates per arm and arm
comparisons are :mod:`cohort.analysis.responders`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from cohort.analysis.responder_criteria import Criterion, MedicationCriterion, parse_criterion
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.change import change_from_baseline
from cohort.derive.thresholds import meets_threshold
from cohort.derive.visit_labels import change_at_labels, label_days, values_at_labels
from cohort.derive.visit_values import values_at_visits
from cohort.derive.visit_windows import Visit
from cohort.errors import AnalysisError

__all__ = ["medication_reduction", "responder_flags"]


def medication_reduction(medications: pd.DataFrame, subjects: pd.DataFrame, *,
                         drug_class: str, day: int, baseline_day: int = 0,
                         min_day: int | None = None) -> pd.DataFrame:
    """Daily dose of a drug class on ``baseline_day`` and on ``day``, and the reduction.

    Parameters
    ----------
    medications : DataFrame
        Medications table (``daily_dose`` in the row's ``unit``).
    subjects : DataFrame
        Subjects table (``last_contact_day``).
    drug_class : str
        E.g. ``"insulin"``.
    day : int
        Study day of the follow-up dose.
    baseline_day : int
        Study day of the reference dose (default 0).
    min_day : int or None
        A subject whose last contact is before ``day`` but on or after ``min_day`` (e.g. the
        start of the visit window) is assessed on the day of last contact; default: no such
        allowance.

    Returns
    -------
    DataFrame
        ``subject_id``, ``day`` (day assessed), ``dose_baseline``, ``dose_followup`` (daily
        doses, summed over periods of the class covering the day; 0 when off the drug),
        ``unit``, ``reduction_pct`` (100 * (baseline - follow-up) / baseline),
        ``applicable`` (False when the subject takes no dose of the class on
        ``baseline_day``: no period of the class covers that day, which includes never taking
        it, or the period's daily dose is 0; the reduction criterion then does not apply),
        ``reason`` (NA when decided; says why not decided or not applicable).
    """
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


def _reduction_at(medications: pd.DataFrame, subjects: pd.DataFrame,
                  measurements: pd.DataFrame, drug_class: str,
                  visit: Visit | str) -> pd.DataFrame:
    """:func:`medication_reduction` at a window's nominal day, or at each subject's own day
    of a labelled visit (subjects grouped by that day)."""
    if not isinstance(visit, str):
        return medication_reduction(medications, subjects, drug_class=drug_class,
                                    day=visit.day, min_day=visit.lower)
    own = label_days(measurements, visit)
    if own.empty:
        raise AnalysisError(f"no analysis record has the visit label {visit!r}: the day of "
                            "a medication criterion cannot be set")
    nominal = round(float(own.median()))
    sid = subjects["subject_id"].astype(str)
    day = sid.map(own).fillna(nominal).astype(int).to_numpy()
    parts = [medication_reduction(medications, subjects.loc[day == d], drug_class=drug_class,
                                  day=int(d)) for d in np.unique(day)]
    return pd.concat(parts, ignore_index=True)


def responder_flags(measurements: pd.DataFrame, subjects: pd.DataFrame,
                    medications: pd.DataFrame | None = None, *, visit: Visit | str,
                    criteria: Sequence[Criterion | MedicationCriterion | str],
                    combine: Literal["all", "any"] = "all",
                    missing: Literal["exclude", "nonresponder"] = "exclude",
                    baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW) -> pd.DataFrame:
    """Responder status per subject at one visit.

    For each subject every criterion is *met*, *not met*, *undecided* (the value it needs is
    missing: no value in the visit window, no baseline, a percent change from a baseline of 0,
    a daily dose missing or in mixed units, no contact until the visit) or *not applicable*
    (a medication criterion for a drug class the subject takes no dose of on day 0: never
    took it, stopped before day 0, started after it, or a recorded daily dose of 0). Not
    applicable criteria are dropped, and the rest combine by Kleene's three-valued logic,
    undecided playing R's ``NA``: the result is what R's ``any(x)`` / ``all(x)`` give on the
    logical vector ``x`` of the applicable criteria (``TRUE``, ``FALSE`` or ``NA``).

    * ``combine="any"``: a **responder** if at least one applicable criterion is met, even
      when others are undecided; a **non-responder** if every applicable criterion is
      decided and none is met; otherwise undecided (none met, at least one undecided).
    * ``combine="all"``: a **responder** if every applicable criterion is decided and met; a
      **non-responder** if at least one applicable criterion is not met, even when others
      are undecided; otherwise undecided (none failed, at least one undecided).
    * A subject with **no applicable criterion** (e.g. only medication criteria, and on none
      of the drug classes on day 0) is undecided under either rule, with the reason
      ``"no applicable criterion (...)"`` listing why each does not apply. (R's
      ``any(logical(0))`` is FALSE and ``all(logical(0))`` TRUE; a subject with nothing to
      reduce has shown neither, so neither is claimed.)

    E.g. with ``"med:insulin >= 50"`` and ``"med:metformin >= 50"`` and ``combine="any"``, a
    subject on metformin only is a responder when the metformin dose was at least halved and
    a non-responder otherwise; the insulin criterion is ignored for them.

    Parameters
    ----------
    measurements, subjects : DataFrame
        Contract tables.
    medications : DataFrame or None
        Needed for medication criteria.
    visit : Visit or str, keyword-only
        The visit: a :class:`Visit` (nominal day and window: the value nearest the nominal
        day inside the window, the baseline the last value in ``baseline_window``), or a
        visit label (``"Week 24"``, ADaM ``AVISIT``): the subject's analysis record with that
        label (``ANL01FL``), the baseline from the baseline flag (``ABLFL``); a medication
        criterion is then judged on the subject's own day of that visit (the earliest day of
        their analysis records with the label; the visit's median day for a subject without
        one, as a window judges on the nominal day).
    criteria : sequence of Criterion, MedicationCriterion or str, keyword-only
        At least one; text is parsed by :func:`parse_criterion`.
    combine : {"all", "any"}, keyword-only
        AND or OR of the applicable criteria, as above.
    missing : {"exclude", "nonresponder"}, keyword-only
        What to do with a subject whose status is undecided (including a subject with no
        applicable criterion): leave them out (``responder`` NA) or count them as
        non-responders (``responder`` False, `` (counted as non-responder)`` added to the
        reason).
    baseline_window : (int, int), keyword-only
        Baseline window for change criteria (study days).

    Returns
    -------
    DataFrame
        ``subject_id``, one boolean column per criterion (named by its label; NA when that
        criterion is undecided or not applicable for the subject), ``responder`` (boolean; NA
        when excluded), ``reason`` (why undecided: the reasons of the undecided criteria,
        joined by ``"; "``, each prefixed by its label; NA when decided).
    """
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

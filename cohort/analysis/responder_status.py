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

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from cohort.analysis.responder_criteria import Criterion, MedicationCriterion, parse_criterion
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.change import change_from_baseline
from cohort.derive.thresholds import meets_threshold
from cohort.derive.universe import as_text, positions
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
    days = np.full(len(subjects), int(day), dtype=np.int64)
    return _reductions(medications, subjects, drug_class=drug_class, days=days,
                       baseline_day=baseline_day, min_day=min_day)


_REDUCTION_COLUMNS = ["subject_id", "day", "dose_baseline", "dose_followup", "unit",
                      "reduction_pct", "applicable", "reason"]


def _reductions(medications: pd.DataFrame, subjects: pd.DataFrame, *, drug_class: str,
                days: np.ndarray, baseline_day: int, min_day: int | None) -> pd.DataFrame:
    """:func:`medication_reduction` with a follow-up day per subject (``days``), for every
    subject at once: each period of the class is paired with its subject's rows and the
    doses covering each day are summed per subject (in table order)."""
    n = len(subjects)
    if n == 0:
        out = pd.DataFrame([], columns=_REDUCTION_COLUMNS)
        out["applicable"] = out["applicable"].astype(bool)
        out["reason"] = out["reason"].astype("string")
        return out
    sid = as_text(subjects["subject_id"]).to_numpy()
    s_code, uniques = pd.factorize(sid)
    meds = medications.loc[(medications["drug_class"] == drug_class).to_numpy(
        dtype=bool, na_value=False)]
    m_code = positions(pd.Index(as_text(meds["subject_id"]).to_numpy()), pd.Index(uniques))
    # (period, subject row) pairs: a subject listed twice gets its periods twice
    by_code = np.argsort(s_code, kind="stable")
    count = np.bincount(s_code, minlength=len(uniques))
    first = np.cumsum(count) - count
    mine = np.flatnonzero(m_code >= 0)
    reps = count[m_code[mine]]
    pm = np.repeat(mine, reps)
    offset = np.arange(len(pm)) - np.repeat(np.cumsum(reps) - reps, reps)
    ps = by_code[np.repeat(first[m_code[mine]], reps) + offset]

    last = subjects["last_contact_day"].to_numpy(dtype=float, na_value=np.nan)
    has_last = ~np.isnan(last)
    last_day = np.where(has_last, np.trunc(np.where(has_last, last, 0)), 0).astype(np.int64)
    assess = days.astype(np.int64).copy()
    if min_day is not None:
        early = has_last & (last_day < assess) & (last_day >= min_day)
        assess[early] = last_day[early]
    start = meds["start_day"].to_numpy(dtype=float, na_value=np.nan)[pm]
    end = meds["end_day"].astype("Float64").fillna(np.inf).to_numpy(dtype=float)[pm]
    dose = meds["daily_dose"].to_numpy(dtype=float, na_value=np.nan)[pm]
    on_base = (start <= baseline_day) & (baseline_day <= end)
    on_fu = (start <= assess[ps]) & (assess[ps] <= end)
    missing_dose = np.isnan(dose)

    def per_subject(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(ps[mask], weights=None if weights is None else weights[mask],
                           minlength=n)

    n_own = np.bincount(ps, minlength=n)
    any_base = per_subject(on_base) > 0
    d0 = per_subject(on_base, dose)
    d1 = per_subject(on_fu, dose)
    nan_base = per_subject(on_base & missing_dose) > 0
    nan_any = per_subject((on_base | on_fu) & missing_dose) > 0
    # units of all the subject's periods of the class (recorded ones)
    unit = meds["unit"]
    has_unit = unit.notna().to_numpy()[pm]
    u_code, u_names = pd.factorize(as_text(unit.loc[unit.notna()]).to_numpy()
                                   if unit.notna().any() else np.array([], dtype=object))
    u_row = np.full(len(meds), -1, dtype=np.int64)
    u_row[unit.notna().to_numpy()] = u_code
    pair_unit = np.unique(ps[has_unit] * max(len(u_names), 1) + u_row[pm][has_unit])
    unit_subject = pair_unit // max(len(u_names), 1)
    n_units = np.bincount(unit_subject, minlength=n)
    one_unit = np.full(n, None, dtype=object)
    single = n_units[unit_subject] == 1
    one_unit[unit_subject[single]] = np.asarray(u_names, dtype=object)[
        pair_unit[single] % max(len(u_names), 1)]

    # no positive dose on the baseline day: nothing to reduce, and that is known, not
    # missing, so the class does not apply to the subject (checked before anything else)
    not_on = (n_own == 0) | ~any_base
    zero = ~not_on & ~nan_base & (d0 <= 0)
    applicable = ~not_on & ~zero
    dose_missing = applicable & nan_any
    mixed = applicable & ~nan_any & (n_units > 1)
    stopped = applicable & ~nan_any & ~mixed & has_last & (last_day < assess)
    reason = np.full(n, None, dtype=object)
    reason[not_on] = f"not on {drug_class} on day {baseline_day}"
    reason[zero] = f"{drug_class} daily dose 0 on day {baseline_day}"
    reason[dose_missing] = f"{drug_class} daily dose missing"
    for i in np.flatnonzero(mixed):  # rare: list the units
        names = sorted(np.asarray(u_names, dtype=object)[
            pair_unit[unit_subject == i] % len(u_names)])
        reason[i] = f"{drug_class} doses in different units ({', '.join(names)})"
    for i in np.flatnonzero(stopped):
        reason[i] = f"last contact on day {last_day[i]}, before day {min_day or days[i]}"
    d0 = np.where(any_base, d0, 0.0)
    d1 = np.where(per_subject(on_fu) > 0, d1, 0.0)
    decided = pd.isna(reason)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reduction = np.where(decided, 100 * (d0 - d1) / d0, np.nan)
    return pd.DataFrame({
        "subject_id": sid, "day": assess, "dose_baseline": d0, "dose_followup": d1,
        "unit": one_unit, "reduction_pct": reduction, "applicable": applicable,
        "reason": pd.array(reason, dtype="string")})


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
    return _reductions(medications, subjects, drug_class=drug_class, days=day, baseline_day=0,
                       min_day=None)


def _aligned(frame: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """``frame`` (one row per subject) in the order of ``ids``: as it is when it already is
    (every derivation returns its universe in order), else reindexed."""
    if len(frame) == len(ids) and (frame["subject_id"].to_numpy(dtype=object)
                                   == ids.to_numpy(dtype=object)).all():
        return frame.reset_index(drop=True)
    return frame.set_index("subject_id").reindex(ids).reset_index()


def _labelled(label: str, why: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``"<label>: <why>"`` on ``rows`` (each distinct reason formatted once)."""
    out = np.full(len(why), None, dtype=object)
    if rows.any():
        code, uniques = pd.factorize(why[rows])
        out[rows] = np.array([f"{label}: {w}" for w in uniques], dtype=object)[code]
    return out


def _append(acc: np.ndarray, text: np.ndarray, rows: np.ndarray) -> None:
    """Add ``text`` to the ``"; "``-joined reasons in ``acc`` on ``rows`` (in place)."""
    first = rows & pd.isna(acc)
    more = rows & ~first
    acc[first] = text[first]
    acc[more] = acc[more] + "; " + text[more]


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
    # per subject, the reasons of its undecided (and of its inapplicable) criteria so far
    unknown_why = np.full(n, None, dtype=object)
    inapplicable_why = np.full(n, None, dtype=object)
    for crit in parsed:
        if isinstance(crit, MedicationCriterion):
            if medications is None or len(medications) == 0:
                raise AnalysisError(f"the criterion '{crit.label}' needs the medications "
                                    "table, and the cohort has none")
            red = _aligned(_reduction_at(medications, subjects, measurements,
                                         crit.drug_class, visit), ids)
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
            ch = _aligned(ch, ids)
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
        text = _labelled(crit.label, np.where(pd.isna(why), "no value", why), ~decided)
        _append(unknown_why, text, ~decided & applicable)
        _append(inapplicable_why, text, ~decided & ~applicable)
    # Kleene logic over the applicable criteria; nothing applicable is undecided
    if combine == "any":
        resp = np.where(met, True, np.where(unknown | ~applies, None, False))
    else:
        resp = np.where(failed, False, np.where(unknown | ~applies, None, True))
    undecided = pd.isna(resp)
    reasons = pd.Series([None] * n, dtype=object)
    none_applies = undecided & ~applies
    reasons[undecided & applies] = unknown_why[undecided & applies]
    reasons[none_applies] = "no applicable criterion (" + inapplicable_why[none_applies] + ")"
    if missing == "exclude":
        out["responder"] = pd.array(resp, dtype="boolean")
    else:
        out["responder"] = pd.array(np.where(undecided, False, resp), dtype="boolean")
        reasons = reasons.where(~undecided, reasons + " (counted as non-responder)")
    out["reason"] = pd.array(reasons.to_numpy(), dtype="string")
    return out

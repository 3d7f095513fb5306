"""Responder endpoints: rates per arm with exact and score intervals, and arm comparisons.

A responder definition is one or more criteria, combined with AND (``combine="all"``, the
default) or OR (``"any"``):

* a **measurement criterion** (:class:`Criterion`) on a parameter's value, change or percent
  change at the visit, e.g. HbA1c < 7% (Skyler 2015: ``Criterion("HBA1C", "value", "<", 7)``)
  or insulin dose reduced by at least 50% (``Criterion("INSULIN_DOSE", "pct_change", "<=",
  -50)``, IU/kg/day);
* a **medication criterion** (:class:`MedicationCriterion`) from the medications table: the
  daily dose of a drug class at the visit's nominal day (or at the last contact, when that
  falls inside the visit window) is at least ``reduction_pct`` % below the dose on day 0
  (stopping the drug is a 100% reduction; Nguyen 2021).

A medication criterion does not apply to a subject who takes no dose of its drug class on
day 0 (there is nothing to reduce). The applicable criteria combine by three-valued (Kleene)
logic, as R's ``any()``/``all()`` with ``NA`` for an undecided criterion: with ``"any"`` one
met criterion makes a responder, with ``"all"`` one unmet criterion makes a non-responder,
whatever the others (see :func:`responder_flags`). A subject whose status cannot be decided
(no value in the visit window, no baseline, a daily dose missing, no contact until the
visit, or no applicable criterion at all) is excluded with the reason, unless
``missing="nonresponder"`` counts them as non-responders (also listed in ``exclusions``
with that remark). Rates per arm come with Clopper-Pearson and Wilson intervals; each arm is
compared with the reference arm by :func:`cohort.analysis.proportions.compare_proportions`
(risk difference with Wald and Newcombe intervals, odds ratio, risk ratio, Fisher's exact
test, chi-square with and without continuity correction).

Criteria can be written as text (for the CLI and spec files), parsed without evaluating
anything: ``"HBA1C < 7"``, ``"INSULIN_DOSE pct_change <= -50"``, ``"med:insulin >= 50"``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from cohort.analysis._common import arm_levels, censored_notes
from cohort.analysis.multiplicity import (
    adjust_comparisons,
    adjust_families,
    check_adjust,
    log_odds_ratio_family,
)
from cohort.analysis.proportions import compare_proportions, proportion
from cohort.analysis.result import AnalysisResult
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.change import change_from_baseline
from cohort.derive.thresholds import OPERATORS as _OPS
from cohort.derive.thresholds import meets_threshold
from cohort.derive.visit_values import values_at_visits
from cohort.derive.visit_windows import Visit, make_visits
from cohort.errors import AnalysisError

__all__ = [
    "Criterion",
    "MedicationCriterion",
    "ResponderResult",
    "medication_reduction",
    "parse_criterion",
    "responder_analysis",
    "responder_flags",
]

Measure = Literal["value", "change", "pct_change"]


@dataclass(frozen=True)
class Criterion:
    """A threshold on a measurement at the visit.

    Parameters
    ----------
    param : str
        Parameter code (``"HBA1C"``, ``"INSULIN_DOSE"``, ...), canonical unit.
    measure : {"value", "change", "pct_change"}
        The value at the visit, its change from baseline, or the percent change.
    op : {"<", "<=", ">", ">="}
    threshold : float
        In the parameter's canonical unit (``value``/``change``) or in % (``pct_change``).
    """

    param: str
    measure: Measure = "value"
    op: str = "<"
    threshold: float = 7.0

    def __post_init__(self) -> None:
        if self.measure not in ("value", "change", "pct_change"):
            raise AnalysisError(f"criterion measure must be value, change or pct_change, got "
                                f"{self.measure!r}")
        if self.op not in _OPS:
            raise AnalysisError(f"criterion operator must be one of {list(_OPS)}, got "
                                f"{self.op!r}")
        if not math.isfinite(float(self.threshold)):
            raise AnalysisError(f"criterion threshold must be a finite number, got "
                                f"{self.threshold!r}")

    @property
    def label(self) -> str:
        """E.g. ``"HBA1C < 7"`` or ``"INSULIN_DOSE pct_change <= -50"``."""
        what = self.param if self.measure == "value" else f"{self.param} {self.measure}"
        return f"{what} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class MedicationCriterion:
    """A daily dose of a drug class reduced by at least ``reduction_pct`` % since day 0.

    Parameters
    ----------
    drug_class : str
        Medications ``drug_class`` (``"insulin"``, ``"metformin"``, ...).
    reduction_pct : float
        Minimum reduction in % of the day-0 daily dose (50: halved or less; 100: stopped).
    """

    drug_class: str = "insulin"
    reduction_pct: float = 50.0

    def __post_init__(self) -> None:
        if not 0 < float(self.reduction_pct) <= 100:
            raise AnalysisError(f"reduction_pct must be in (0, 100], got {self.reduction_pct!r}")

    @property
    def label(self) -> str:
        """E.g. ``"insulin dose reduced >= 50%"``."""
        return f"{self.drug_class} dose reduced >= {self.reduction_pct:g}%"


_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_MEAS_RE = re.compile(rf"^\s*(?P<param>[A-Za-z][A-Za-z0-9_]*)\s*(?:[\s:]\s*(?P<measure>value|"
                      rf"change|pct_change))?\s*(?P<op><=|>=|<|>)\s*(?P<num>{_NUM})\s*%?\s*$")
_MED_RE = re.compile(rf"^\s*med(?:ication)?\s*:\s*(?P<cls>[a-z0-9_]+)\s*>=\s*(?P<num>{_NUM})"
                     r"\s*%?\s*$")


def parse_criterion(text: str) -> Criterion | MedicationCriterion:
    """Parse a responder criterion written as text (nothing is evaluated).

    Parameters
    ----------
    text : str
        ``"PARAM OP NUMBER"`` (value at the visit, e.g. ``"HBA1C < 7"``),
        ``"PARAM MEASURE OP NUMBER"`` with MEASURE ``change`` or ``pct_change`` (e.g.
        ``"INSULIN_DOSE pct_change <= -50"``), or ``"med:CLASS >= PERCENT"`` for a
        medication dose reduction (e.g. ``"med:insulin >= 50"``).

    Returns
    -------
    Criterion or MedicationCriterion

    Raises
    ------
    AnalysisError
        If the text does not follow one of these forms.
    """
    if not isinstance(text, str):
        raise AnalysisError(f"a criterion must be text, got {text!r}")
    m = _MED_RE.match(text)
    if m:
        return MedicationCriterion(m["cls"], float(m["num"]))
    m = _MEAS_RE.match(text)
    if m:
        return Criterion(m["param"].upper(), m["measure"] or "value", m["op"], float(m["num"]))
    raise AnalysisError(
        f"cannot read the criterion {text!r}; write e.g. 'HBA1C < 7', "
        "'INSULIN_DOSE pct_change <= -50' or 'med:insulin >= 50'")


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


def responder_flags(measurements: pd.DataFrame, subjects: pd.DataFrame,
                    medications: pd.DataFrame | None = None, *, visit: Visit,
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
    visit : Visit, keyword-only
        The visit (nominal day and window).
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
            red = medication_reduction(medications, subjects, drug_class=crit.drug_class,
                                       day=visit.day, min_day=visit.lower)
            red = red.set_index("subject_id").reindex(ids)
            flag = meets_threshold(red["reduction_pct"].to_numpy(dtype=float), ">=",
                                   crit.reduction_pct)
            why = red["reason"].astype(object).to_numpy()
            applicable = red["applicable"].astype("boolean").fillna(True).to_numpy(dtype=bool)
            decided = pd.isna(why) & applicable
        else:
            if crit.measure == "value":
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


SUMMARY_COLUMNS = ["visit", "visit_day", "kind", "arm", "reference", "method", "x", "n",
                   "estimate", "ci_lower", "ci_upper", "wilson_lower", "wilson_upper",
                   "statistic", "df", "p", "p_adjusted", "ci_lower_adjusted",
                   "ci_upper_adjusted", "adjust", "n_excluded"]


def _dunnett_odds_ratios(summary: pd.DataFrame, visit: str, conf_level: float) -> None:
    """Dunnett-adjust one visit's odds ratios in place (log odds ratios, joint normal; see
    :func:`cohort.analysis.multiplicity.log_odds_ratio_family`)."""
    from scipy import stats

    rates = summary[(summary["visit"] == visit) & (summary["kind"] == "rate")]
    ors = summary[(summary["visit"] == visit) & (summary["kind"] == "odds_ratio")]
    if not len(ors):
        return
    counts = {r.arm: (int(r.x), int(r.n)) for r in rates.itertuples()}
    arms = ors["arm"].tolist()
    x0, n0 = counts[ors["reference"].iloc[0]]
    est, cov = log_odds_ratio_family(x0, n0, [counts[a][0] for a in arms],
                                     [counts[a][1] for a in arms], where=f"{visit}: ")
    fam = adjust_comparisons(est, cov, df=None, method="dunnett", conf_level=conf_level)
    z = est / np.sqrt(np.diag(cov))
    idx = ors.index
    summary.loc[idx, "statistic"] = z
    summary.loc[idx, "p"] = 2 * stats.norm.sf(np.abs(z))
    summary.loc[idx, "p_adjusted"] = fam.p_adjusted
    summary.loc[idx, "ci_lower_adjusted"] = np.exp(fam.ci_lower)
    summary.loc[idx, "ci_upper_adjusted"] = np.exp(fam.ci_upper)
    summary.loc[idx, "adjust"] = "dunnett"


@dataclass
class ResponderResult(AnalysisResult):
    """Responder rates per arm and arm comparisons, per visit.

    ``summary`` columns: ``visit``, ``visit_day``, ``kind`` (``"rate"`` for an arm's rate;
    for a comparison of ``arm`` with ``reference``: ``"risk_difference"``, ``"odds_ratio"``,
    ``"risk_ratio"``, ``"fisher_exact"``, ``"chi_square"``), ``arm``, ``reference``,
    ``method``, ``x`` (responders), ``n`` (subjects decided), ``estimate`` (proportion, or the
    comparison's estimate), ``ci_lower``, ``ci_upper`` (Clopper-Pearson for rates; the
    method's interval for comparisons), ``wilson_lower``, ``wilson_upper`` (rates only),
    ``statistic``, ``df``, ``p``, ``p_adjusted`` (family-wise over the arms compared with
    the reference, per visit and test; tests with a p-value only: Fisher, chi-square),
    ``adjust`` (the adjustment applied), ``n_excluded`` (subjects of the arm left out).

    ``flags``: per subject and visit, each criterion and the responder status.
    """

    flags: pd.DataFrame | None = None


def responder_analysis(measurements: pd.DataFrame, subjects: pd.DataFrame,
                       medications: pd.DataFrame | None = None, *,
                       criteria: Sequence[Criterion | MedicationCriterion | str] = (
                           "HBA1C < 7",),
                       visit_days: Sequence[int] | None = None,
                       visits: Sequence[Visit] | None = None, half_width: int | None = None,
                       combine: Literal["all", "any"] = "all",
                       missing: Literal["exclude", "nonresponder"] = "exclude",
                       baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                       reference: str | None = None, adjust: str | None = None,
                       conf_level: float = 0.95) -> ResponderResult:
    """Responder rates per arm with CIs, and each arm vs the reference arm.

    Parameters
    ----------
    measurements, subjects : DataFrame
        Contract tables.
    medications : DataFrame or None
        Medications table (for medication criteria).
    criteria : sequence, keyword-only
        Responder criteria (default HbA1c < 7%); see :func:`parse_criterion`.
    visit_days, visits, half_width : keyword-only
        The visits (see :func:`cohort.derive.visit_windows.make_visits`).
    combine, missing : keyword-only
        See :func:`responder_flags`.
    baseline_window : (int, int), keyword-only
    reference : str or None, keyword-only
        Reference arm (default: the control arm, else the first arm by name; with one arm,
        rates only).
    adjust : {"none", "dunnett", "holm", "hochberg", "bonferroni", "sidak"} or None, keyword-only
        Multiplicity adjustment of the arms compared with the reference, per visit. The
        p-value methods adjust each test's family (Fisher, chi-square;
        :func:`cohort.analysis.multiplicity.adjust_families`). ``"dunnett"`` adjusts the odds
        ratios: their Wald z tests from the logistic model of responder ~ arm (the log odds
        ratio of arm vs reference, covariance from the shared reference arm), with
        simultaneous intervals, as R's ``emmeans(glm(...), trt.vs.ctrl, adjust = "mvt")``;
        an arm with 0% or 100% responders has no finite log odds and is refused.
    conf_level : float, keyword-only

    Returns
    -------
    ResponderResult
    """
    adjust = check_adjust(adjust)
    if visits is None:
        if visit_days is None:
            raise AnalysisError("no visit asked for: give the visit day of the responder "
                                "endpoint (e.g. 84 for week 12)")
        visits = make_visits(visit_days, half_width=half_width)
    arms = sorted(pd.unique(subjects["arm"].astype(str)).tolist())
    used = [getattr(parse_criterion(c) if isinstance(c, str) else c, "param", None)
            for c in criteria]
    notes: list[str] = censored_notes(measurements, [p for p in used if p])
    if len(arms) >= 2:
        levels, n = arm_levels(subjects, reference, None)
        notes += n
    else:
        if reference is not None:
            raise AnalysisError(f"reference arm {reference!r} given but the cohort has one arm "
                                f"({arms[0]}); no comparison is possible")
        levels = arms
        notes.append(f"one arm ({arms[0]}): rates only, no comparison")
    arm_of = dict(zip(subjects["subject_id"].astype(str), subjects["arm"].astype(str),
                      strict=True))
    rows: list[dict[str, Any]] = []
    all_flags, excl_parts = [], []
    for v in visits:
        flags = responder_flags(measurements, subjects, medications, visit=v,
                                criteria=criteria, combine=combine, missing=missing,
                                baseline_window=baseline_window)
        flags.insert(1, "arm", flags["subject_id"].map(arm_of))
        flags.insert(1, "visit", v.label)
        all_flags.append(flags)
        excl_parts.append(flags.loc[flags["reason"].notna(), ["subject_id", "visit",
                                                               "reason"]])
        common = {"visit": v.label, "visit_day": v.day}
        counts = {}
        for a in levels:
            f = flags[flags["arm"] == a]
            decided = f["responder"].notna()
            x, n = int(f.loc[decided, "responder"].sum()), int(decided.sum())
            n_ex = int(f["reason"].notna().sum()) if missing == "exclude" else 0
            counts[a] = (x, n)
            if n == 0:
                rows.append({**common, "kind": "rate", "arm": a, "x": 0, "n": 0,
                             "method": "no subject could be classified", "n_excluded": n_ex})
                continue
            pr = proportion(x, n, conf_level=conf_level)
            rows.append({**common, "kind": "rate", "arm": a, "x": x, "n": n,
                         "estimate": pr["estimate"], "ci_lower": pr["cp_lower"],
                         "ci_upper": pr["cp_upper"], "wilson_lower": pr["wilson_lower"],
                         "wilson_upper": pr["wilson_upper"], "method": "Clopper-Pearson",
                         "n_excluded": n_ex})
        if len(levels) >= 2:
            ref = levels[0]
            for a in levels[1:]:
                (x1, n1), (x2, n2) = counts[a], counts[ref]
                if n1 == 0 or n2 == 0:
                    notes.append(f"{v.label}: {a} vs {ref} not compared (an arm has nobody "
                                 "classified)")
                    continue
                comp = compare_proportions(x1, n1, x2, n2, conf_level=conf_level)
                for r in comp.to_dict("records"):
                    kind = r.pop("measure")
                    rows.append({**common, "kind": kind, "arm": a, "reference": ref,
                                 "x": x1, "n": n1 + n2, **r})
    flags_all = pd.concat(all_flags, ignore_index=True)
    if flags_all["responder"].notna().sum() == 0:
        raise AnalysisError("no subject could be classified as responder or not; first "
                            "reasons: " + "; ".join(
                                flags_all["reason"].dropna().astype(str).unique()[:3]))
    labels = [c.label if not isinstance(c, str) else parse_criterion(c).label
              for c in criteria]
    summary = pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)
    comparison = summary["kind"] != "rate"
    # one family per visit and test: the method without its per-arm remark ("(an expected
    # count is 0.48 < 5)")
    summary["_test"] = summary["method"].astype(str).str.replace(r"\s*\(.*\)$", "",
                                                                 regex=True)
    if adjust == "dunnett":
        summary = summary.drop(columns="_test")
        summary["adjust"] = None
        for v in visits:
            _dunnett_odds_ratios(summary, v.label, conf_level)
        notes.append("Dunnett: the odds ratios vs the reference (Wald z of the logistic model "
                      "responder ~ arm, as emmeans on glm with adjust = 'mvt'); the exact and "
                      "chi-square tests are not adjusted")
    else:
        summary = adjust_families(summary, adjust, by=["visit", "kind", "_test"],
                                  member=comparison).drop(columns="_test")
        summary.loc[~comparison, "adjust"] = None
    if adjust != "none" and len(levels) > 2:
        notes.append(f"p-values of the {len(levels) - 1} arms vs {levels[0]!r} "
                     f"{adjust}-adjusted per visit and test (p_adjusted)")
    return ResponderResult(
        summary=summary.reindex(columns=SUMMARY_COLUMNS),
        exclusions=pd.concat(excl_parts, ignore_index=True).assign(
            reason=lambda f: f["reason"].astype(object)),
        params={"criteria": labels, "combine": combine, "missing": missing,
                "visits": [v.__dict__ for v in visits],
                "baseline_window": list(baseline_window), "reference": levels[0],
                "adjust": adjust, "conf_level": conf_level},
        notes=notes, flags=flags_all)

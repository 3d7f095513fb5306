"""Responder endpoints: rates per arm with exact and score intervals, and arm comparisons
(:func:`responder_analysis` and its :class:`ResponderResult`).

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
compared with the reference arm by
:func:`cohort.analysis.proportion_comparisons.compare_proportions` (risk difference with
Wald and Newcombe intervals, odds ratio, risk ratio, Fisher's exact test, chi-square with and
without continuity correction).

Criteria can be written as text (for the CLI and spec files), parsed without evaluating
anything: ``"HBA1C < 7"``, ``"INSULIN_DOSE pct_change <= -50"``, ``"med:insulin >= 50"``.

The criteria and their parsing are :mod:`cohort.analysis.responder_criteria`; each
subject's status at a visit is :mod:`cohort.analysis.responder_status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from cohort.analysis._common import arm_levels, censored_notes, write_dunnett_odds_ratios
from cohort.analysis.multiplicity import (
    adjust_families,
    check_adjust,
    log_odds_ratio_family,
)
from cohort.analysis.proportion_comparisons import compare_proportions
from cohort.analysis.proportions import proportion
from cohort.analysis.responder_criteria import Criterion, MedicationCriterion, parse_criterion
from cohort.analysis.responder_status import responder_flags
from cohort.analysis.result import AnalysisResult
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.visit_labels import has_visit_labels, resolve_visit_labels
from cohort.derive.visit_windows import Visit, make_visits
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ResponderResult", "responder_analysis"]


SUMMARY_COLUMNS = ["visit", "visit_day", "kind", "arm", "reference", "method", "x", "n",
                   "estimate", "ci_lower", "ci_upper", "wilson_lower", "wilson_upper",
                   "statistic", "df", "p", "p_adjusted", "ci_lower_adjusted",
                   "ci_upper_adjusted", "adjust", "n_excluded"]


def _dunnett_odds_ratios(summary: pd.DataFrame, visit: str, conf_level: float) -> None:
    """Dunnett-adjust one visit's odds ratios in place (log odds ratios, joint normal; see
    :func:`cohort.analysis.multiplicity.log_odds_ratio_family`)."""
    rates = summary[(summary["visit"] == visit) & (summary["kind"] == "rate")]
    ors = summary[(summary["visit"] == visit) & (summary["kind"] == "odds_ratio")]
    if not len(ors):
        return
    counts = {r.arm: (int(r.x), int(r.n)) for r in rates.itertuples()}
    arms = ors["arm"].tolist()
    x0, n0 = counts[ors["reference"].iloc[0]]
    est, cov = log_odds_ratio_family(x0, n0, [counts[a][0] for a in arms],
                                     [counts[a][1] for a in arms], where=f"{visit}: ")
    write_dunnett_odds_ratios(summary, ors.index, est, cov, conf_level)


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

    def plot(self, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Responder rate of each arm at each visit, in % with its Clopper-Pearson CI
        (:func:`cohort.report.figures.rates.rate_forest`)."""
        from cohort.report.figures.rates import rate_forest

        rows = self.summary.loc[self.summary["kind"] == "rate"]
        label = ["visit", "arm"] if rows["visit"].nunique() > 1 else "arm"
        return rate_forest(rows, label=label, what="Responders",
                           interval="95% CI, Clopper-Pearson", ax=ax, **kwargs)


def responder_analysis(measurements: pd.DataFrame, subjects: pd.DataFrame,
                       medications: pd.DataFrame | None = None, *,
                       criteria: Sequence[Criterion | MedicationCriterion | str] = (
                           "HBA1C < 7",),
                       visit_days: Sequence[int] | None = None,
                       visits: Sequence[Visit] | None = None, half_width: int | None = None,
                       visit_labels: Sequence[str] | None = None,
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
        Visits by day: nominal study days with windows of ``half_width`` days (see
        :func:`cohort.derive.visit_windows.make_visits`), or the visits themselves.
    visit_labels : sequence of str or None, keyword-only
        Visits by label (``["Week 24"]``, ADaM ``AVISIT``): the analysis records of each
        visit (``ANL01FL``) and the baseline from the baseline flag (``ABLFL``); see
        :mod:`cohort.derive.visit_labels`. When no visit is given and every parameter of the
        criteria carries visit labels and a baseline flag, every post-baseline visit is
        analysed this way; nearest-day windows are used only when the data have no labels
        (then ``visit_days`` is needed) or when days are given.
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

    Examples
    --------
    Skyler 2015: HbA1c < 7% at week 12 (day 84) by arm, each dose against placebo by Fisher's
    exact test:

    >>> from cohort import datasets
    >>> from cohort.analysis.responders import responder_analysis
    >>> sk = datasets.load("skyler2015")
    >>> res = responder_analysis(sk.measurements, sk.subjects, criteria=["HBA1C < 7"],
    ...                          visit_days=[84])
    >>> res.summary.query("kind == 'rate'")[["arm", "x", "n"]]
                   arm  x   n
    0          placebo  0  16
    1  MPC 0.3x10^6/kg  1  15
    2  MPC 1.0x10^6/kg  3  15
    3  MPC 2.0x10^6/kg  5  15
    >>> res.summary.query("kind == 'fisher_exact'")[["arm", "p"]].round(4)
                    arm       p
    8   MPC 0.3x10^6/kg  0.4839
    15  MPC 1.0x10^6/kg  0.1012
    22  MPC 2.0x10^6/kg  0.0177
    """
    adjust = check_adjust(adjust)
    used = [getattr(parse_criterion(c) if isinstance(c, str) else c, "param", None)
            for c in criteria]
    params = [p for p in used if p]
    # medication criteria alone: the visits are those of the labelled measurements
    label_params = params or [p for p in pd.unique(measurements["param"].dropna().astype(str))
                              if has_visit_labels(measurements, p)]
    labels = resolve_visit_labels(measurements, label_params, visit_labels_=visit_labels,
                                  by_day=visit_days is not None or visits is not None)
    if labels:
        points: list[Visit | str] = list(labels)
    else:
        if visits is None:
            if visit_days is None:
                raise AnalysisError("no visit asked for: give the visit day of the responder "
                                    "endpoint (e.g. 84 for week 12), or a visit label when "
                                    "the data carry visit labels and a baseline flag")
            visits = make_visits(visit_days, half_width=half_width)
        points = list(visits)
    arms = sorted(pd.unique(subjects["arm"].astype(str)).tolist())
    notes: list[str] = censored_notes(measurements, params)
    if labels:
        notes.append(f"visits by label ({', '.join(map(repr, labels))}): the analysis "
                     "records of each visit (ANL01FL), baseline from the baseline flag (ABLFL)")
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
    for v in points:
        label = v if isinstance(v, str) else v.label
        flags = responder_flags(measurements, subjects, medications, visit=v,
                                criteria=criteria, combine=combine, missing=missing,
                                baseline_window=baseline_window)
        flags.insert(1, "arm", flags["subject_id"].map(arm_of))
        flags.insert(1, "visit", label)
        all_flags.append(flags)
        excl_parts.append(flags.loc[flags["reason"].notna(), ["subject_id", "visit",
                                                               "reason"]])
        common = {"visit": label, "visit_day": None if isinstance(v, str) else v.day}
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
                    notes.append(f"{label}: {a} vs {ref} not compared (an arm has nobody "
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
    criterion_labels = [c.label if not isinstance(c, str) else parse_criterion(c).label
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
        for v in points:
            _dunnett_odds_ratios(summary, v if isinstance(v, str) else v.label, conf_level)
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
        params={"criteria": criterion_labels, "combine": combine, "missing": missing,
                "visits": [v if isinstance(v, str) else v.__dict__ for v in points],
                "visit_labels": labels,
                "baseline_window": list(baseline_window), "reference": levels[0],
                "adjust": adjust, "conf_level": conf_level},
        notes=notes, flags=flags_all)

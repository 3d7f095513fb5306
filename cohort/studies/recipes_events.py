"""Recipes of event targets: C-peptide remission and its predictors, insulin-free episodes
and time to resumption, medication dose reductions and adverse events.

Remission is derived by :func:`cohort.derive.remission_dataset.remission_dataset` (Lu 2021's rule,
judged in the spec's window around the assessment visit), compared with
:mod:`cohort.analysis.proportions` and modelled with
:func:`cohort.analysis.logistic.logistic_regression`. Insulin-free episodes come from
:func:`cohort.derive.insulin.insulin_episodes` (default :class:`IndependenceRule`: at least two
consecutive records with dose 0), times to resumption from
:func:`cohort.analysis.time_to_event.tte_from_episodes` and the Kaplan-Meier median from
:func:`cohort.analysis.survival.kaplan_meier`. Durations are in months of 30.4375 days.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cohort.spec.model import Target
from cohort.studies.base import NotComputable, Reproduced, num
from cohort.studies.context import ALL, ALL_LABEL, MONTH_DAYS, StudyContext

__all__ = [
    "PREDICTOR_COLUMNS",
    "adverse_event_count",
    "censored",
    "insulin_free",
    "km_median",
    "logistic_direction",
    "med_reduction_rate",
    "remission",
    "remission_fisher",
]

PREDICTOR_COLUMNS = {
    "CPEP_FAST": "baseline_cpep_fast_nmol_l",
    "CPEP_PP": "baseline_cpep_pp_nmol_l",
    "HBA1C": "baseline_hba1c_pct",
    "INSULIN_DOSE": "baseline_insulin_iu_kg_day",
    "dose_cells_per_kg": "dose_1e6_cells_per_kg",
    "dose_cells_total": "dose_1e9_cells_total",
    "sex": "sex_male",
}
"""Spec variable -> column of :func:`cohort.derive.remission_dataset.remission_dataset` (other
variables, e.g. ``age_years``, keep their name)."""


# ---------------------------------------------------------------------------- remission


def _remission_data(ctx: StudyContext, target: Target) -> tuple[pd.DataFrame, str]:
    from cohort.derive.remission import MARKERS, RemissionRule
    from cohort.derive.remission_dataset import remission_dataset

    p = target.params
    spec_rule = ctx.spec.outcomes.remission
    label = str(p.get("visit") or (spec_rule.visit if spec_rule else ""))
    v = ctx.visit(label)
    if v is None:
        raise NotComputable("remission is judged at a scheduled visit, not the last follow-up")
    threshold = float(p.get("threshold_pct", spec_rule.rise_pct if spec_rule else 10.0))
    markers = tuple(spec_rule.params) if spec_rule else MARKERS
    unknown = [m for m in markers if m not in MARKERS]
    if unknown:
        raise NotComputable(f"remission markers {unknown} are not C-peptide markers "
                            f"({', '.join(MARKERS)})")
    missing = [m for m in markers if not (ctx.measurements["param"].astype(str) == m).any()]
    if missing:
        raise NotComputable(f"the cohort has no {' or '.join(missing)} measurements; the "
                            f"published remission rule judges {' and/or '.join(markers)}")
    rule = RemissionRule(threshold_pct=threshold, markers=markers,
                         visit_day=v.day, visit_window=(v.lower, v.upper), label=v.label)
    data = ctx.memo(("remission", rule), lambda: remission_dataset(
        ctx.measurements, ctx.subjects, ctx.cohort.infusions, rule=rule))
    return data, rule.describe()


def _arm_counts(ctx: StudyContext, data: pd.DataFrame, arm: str) -> tuple[int, int]:
    rows = data if arm == ALL_LABEL else data[data["arm"].astype(str) == arm]
    known = rows["remission"].notna()
    n_unknown = int((~known).sum())
    if n_unknown:
        reasons = rows.loc[~known, "reason"].astype(str).unique()[:2]
        ctx.notes.append(f"{arm}: remission undetermined for {n_unknown} subject(s) "
                         f"({'; '.join(reasons)})")
    judged = rows.loc[known, "remission"].astype(bool)
    if judged.empty:
        raise NotComputable(f"no subject of {arm} has a determined remission")
    return int(judged.sum()), len(judged)


def remission(ctx: StudyContext, target: Target) -> Reproduced:
    """Subjects in C-peptide remission in an arm (count, or proportion with its CI)."""
    from cohort.analysis.proportions import proportion

    arm = ctx.arm_label(target.params["arm"])
    data, rule = _remission_data(ctx, target)
    x, n = _arm_counts(ctx, data, arm)
    method = f"{arm}: {x}/{n} in remission ({rule})"
    if target.analysis == "remission_count":
        return Reproduced(value=float(x), n=n, method=method)
    pr = proportion(x, n)
    return Reproduced(value=float(pr["estimate"]), ci_lower=float(pr["cp_lower"]),
                      ci_upper=float(pr["cp_upper"]), n=n,
                      method=method + "; Clopper-Pearson 95% CI")


def remission_fisher(ctx: StudyContext, target: Target) -> Reproduced:
    """Fisher's exact test of remission, arm vs reference."""
    from cohort.analysis.proportion_comparisons import compare_proportions

    p = target.params
    arm, ref = ctx.arm_label(p["arm"]), ctx.arm_label(p["reference"])
    data, rule = _remission_data(ctx, target)
    (x1, n1), (x2, n2) = _arm_counts(ctx, data, arm), _arm_counts(ctx, data, ref)
    table = compare_proportions(x1, n1, x2, n2)
    row = table[table["measure"] == "fisher_exact"].iloc[0]
    return Reproduced(value=num(row["estimate"]), ci_lower=num(row["ci_lower"]),
                      ci_upper=num(row["ci_upper"]), p=num(row["p"]), n=n1 + n2,
                      method=f"remission {arm} {x1}/{n1} vs {ref} {x2}/{n2} ({rule}); "
                             "Fisher's exact test, two-sided (estimate: conditional MLE odds "
                             "ratio)")


def logistic_direction(ctx: StudyContext, target: Target) -> Reproduced:
    """Log odds ratio of a predictor in a multivariable logistic model of remission."""
    from cohort.analysis.logistic import logistic_regression

    p = target.params
    predictor = str(p["predictor"])
    covariates = [str(c) for c in (p.get("covariates") or [predictor])]
    if predictor not in covariates:
        covariates.append(predictor)
    data, rule = _remission_data(ctx, target)
    columns = [PREDICTOR_COLUMNS.get(c, c) for c in covariates]
    missing = [c for c, col in zip(covariates, columns, strict=True) if col not in data.columns
               or data[col].isna().all()]
    if missing:
        raise NotComputable(f"the cohort does not record predictor(s) {missing} for the "
                            "remission model")
    frame = data[data["remission"].notna()]
    where = "all subjects"
    if p.get("arm") is not None and p["arm"] != ALL:
        arm = ctx.arm_label(p["arm"])
        frame = frame[frame["arm"].astype(str) == arm]
        where = f"arm {arm}"
    if frame.empty:
        raise NotComputable(f"no subject of {where} has a determined remission")
    frame = frame.assign(remission=frame["remission"].astype(bool))
    res = logistic_regression(frame, "remission", columns, method="ml", ci_method="profile")
    ctx.notes.extend(res.notes)
    column = PREDICTOR_COLUMNS.get(predictor, predictor)
    row = res.summary[res.summary["term"] == column].iloc[0]
    return Reproduced(
        value=num(row["estimate"]), ci_lower=num(row["ci_lower"]), ci_upper=num(row["ci_upper"]),
        p=num(row["p"]), n=int(row["n"]),
        method=f"maximum-likelihood logistic regression of remission ({rule}) on "
               f"{', '.join(columns)} within {where} ({int(row['n_events'])} events); log odds "
               f"ratio per unit of {column} (odds ratio {num(row['odds_ratio']):.3g}), "
               "profile-likelihood CI, likelihood-ratio p")


# ---------------------------------------------------------------------------- insulin


def _episodes(ctx: StudyContext, arm_key: Any, *, among: Any = None
              ) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """(InsulinEpisodes, episodes of the arm, subjects rows of the arm), within the subgroup
    ``among`` (a spec condition) when given."""
    from cohort.derive.insulin import insulin_episodes

    ctx.require_param("INSULIN_DOSE")
    ins = ctx.memo(("insulin",), lambda: insulin_episodes(
        ctx.measurements, ctx.subjects, ctx.cohort.adverse_events))
    ep, subj = ins.episodes, ins.subjects
    if arm_key is not None or among is not None:
        ids = set(ctx.select(arm=arm_key, among=among)["subject_id"])
        ep = ep[ep["subject_id"].astype(str).isin(ids)]
        subj = subj[subj["subject_id"].astype(str).isin(ids)]
    return ins, ep, subj


def _which(p: dict[str, Any], ep: pd.DataFrame) -> pd.DataFrame:
    episode = p.get("episode")
    return ep if episode is None else ep[ep["episode"] == int(episode)]


def insulin_free(ctx: StudyContext, target: Target) -> Reproduced:
    """Insulin-independence counts and durations: subjects insulin-free, resuming, insulin-free
    again, and the shortest / longest insulin-free duration (months)."""
    p = target.params
    ins, ep, subj = _episodes(ctx, p.get("arm"), among=p.get("among"))
    rule = ins.rule.describe()
    a = target.analysis
    if a in ("insulin_free_duration_min", "insulin_free_duration_max"):
        if ep.empty:
            raise NotComputable("no insulin-free episode in scope")
        months = ep["duration_days"].to_numpy(dtype=float) / MONTH_DAYS
        pick = months.min() if a.endswith("min") else months.max()
        return Reproduced(value=float(pick), n=len(ep),
                          method=f"{'shortest' if a.endswith('min') else 'longest'} of "
                                 f"{len(ep)} insulin-free episodes, resumed or censored "
                                 f"(insulin-free: {rule})")
    if a == "insulin_free_count":
        count, what = int(subj["independent"].sum()), "insulin-free at least once"
    elif a == "resumption_count":
        count = int(ep.loc[ep["status"] == "resumed", "subject_id"].nunique())
        what = "back on insulin after an insulin-free episode"
    else:  # reentry_count
        count, what = int((subj["n_episodes"] >= 2).sum()), "insulin-free again after resuming"
    return Reproduced(value=float(count), n=len(subj),
                      method=f"subjects {what}, of {len(subj)} (insulin-free: {rule})")


def censored(ctx: StudyContext, target: Target) -> Reproduced:
    """Insulin-free episodes censored at last contact: count, mean or longest durations."""
    p = target.params
    ins, ep, _ = _episodes(ctx, p.get("arm"), among=p.get("among"))
    ep = _which(p, ep)
    cens = ep.loc[~ep["event"].astype(bool), "duration_days"].to_numpy(dtype=float) / MONTH_DAYS
    which = "" if p.get("episode") is None else f" (episode {int(p['episode'])})"
    method = (f"{len(cens)} of {len(ep)} insulin-free episodes{which} censored at last "
              f"contact (insulin-free: {ins.rule.describe()})")
    a = target.analysis
    if a == "censored_count":
        return Reproduced(value=float(len(cens)), n=len(ep), method=method)
    if len(cens) == 0:
        raise NotComputable("no censored insulin-free episode in scope")
    if a == "censored_duration_mean":
        return Reproduced(value=float(cens.mean()), n=len(cens),
                          method=method + "; mean duration in months")
    largest = int(p.get("largest", len(cens)))
    values = sorted(cens.tolist(), reverse=True)[:largest]
    return Reproduced(values=values, n=len(cens),
                      method=method + f"; the {len(values)} longest, in months")


def km_median(ctx: StudyContext, target: Target) -> Reproduced:
    """Kaplan-Meier median insulin-free duration (months) with its 95% CI."""
    from cohort.analysis.survival import kaplan_meier
    from cohort.analysis.time_to_event import tte_from_episodes

    p = target.params
    ins, ep, _ = _episodes(ctx, p.get("arm"), among=p.get("among"))
    episode = p.get("episode")
    if episode is not None and int(episode) != 1:
        ep = ep[ep["episode"] == int(episode)].assign(episode=1)
    tte = tte_from_episodes(ep, which="first" if episode is not None else "all")
    s = kaplan_meier(tte, landmarks_months=None).summary.iloc[0]
    est = num(s["estimate_months"])
    lo, hi = num(s["ci_lower_months"]), num(s["ci_upper_months"])
    notes = []
    if math.isnan(est):
        # not reached: the survival curve never falls to 0.5 (beyond every follow-up)
        est, hi = math.inf, math.inf
        notes.append("median not reached")
    elif math.isnan(hi):
        hi = math.inf  # the upper band never crosses 0.5: not reached
    return Reproduced(value=est, ci_lower=lo, ci_upper=hi, n=int(s["n"]), notes=notes,
                      method=f"Kaplan-Meier median time from insulin stop to resumption, "
                             f"{int(s['n_events'])} resumptions and {int(s['n_censored'])} "
                             f"censored of {int(s['n'])} episodes; 95% CI (log), months "
                             f"(insulin-free: {ins.rule.describe()})")


# ---------------------------------------------------------------------------- medications


def med_reduction_rate(ctx: StudyContext, target: Target) -> Reproduced:
    """Proportion of subjects who lowered the daily dose of any glucose-lowering drug
    between day 0 and the last scheduled visit."""
    from cohort.analysis.proportions import proportion
    from cohort.analysis.responder_status import medication_reduction

    meds = ctx.table("medications", needed_for="a medication-reduction endpoint")
    visits = ctx.visits()
    if not visits:
        raise NotComputable("the spec has no scheduled visit to assess dose reductions at")
    last = visits[-1]
    rows = ctx.select(arm=target.params.get("arm"))
    classes = sorted(pd.unique(meds["drug_class"].dropna().astype(str)).tolist())
    reduced = np.zeros(len(rows), dtype=bool)
    decided = np.zeros(len(rows), dtype=bool)
    for drug in classes:
        red = medication_reduction(meds, rows, drug_class=drug, day=last.day,
                                   min_day=last.lower)
        pct = red["reduction_pct"].to_numpy(dtype=float)
        ok = red["reason"].isna().to_numpy()
        decided |= ok
        reduced |= ok & (pct > 0)
    n = int(decided.sum())
    if n == 0:
        raise NotComputable(f"no subject is on a glucose-lowering drug on day 0 with a dose "
                            f"known on day {last.day}")
    if n < len(rows):
        ctx.notes.append(f"{len(rows) - n} subject(s) on no drug at day 0 (or lost before "
                         f"{last.label}) left out")
    x = int(reduced.sum())
    pr = proportion(x, n)
    return Reproduced(value=float(pr["estimate"]), ci_lower=float(pr["cp_lower"]),
                      ci_upper=float(pr["cp_upper"]), n=n,
                      method=f"{x}/{n} with a lower daily dose of at least one drug class "
                             f"({', '.join(classes)}) at {last.label} (day {last.day}) than on "
                             "day 0; Clopper-Pearson 95% CI")


def adverse_event_count(ctx: StudyContext, target: Target) -> Reproduced:
    """Adverse events, optionally by arm, term, seriousness, relatedness and severity: the
    number of events (``adverse_event_count``), of subjects with at least one
    (``adverse_event_subjects``), or their proportion of the arm's subjects with its
    Clopper-Pearson CI (``adverse_event_proportion``)."""
    p = target.params
    ae = ctx.table("adverse_events", needed_for="an adverse-event count")
    rows = ae
    what = []
    if p.get("arm") is not None:
        ids = set(ctx.select(arm=p["arm"])["subject_id"])
        rows = rows[rows["subject_id"].astype(str).isin(ids)]
        what.append(f"arm {ctx.arm_label(p['arm'])}")
    if p.get("term") is not None:
        term = str(p["term"]).strip().casefold()
        rows = rows[rows["term"].astype(str).str.strip().str.casefold() == term]
        what.append(f"term {p['term']!r}")
    if p.get("serious") is not None:
        rows = rows[rows["serious"].astype("boolean").fillna(False) == bool(p["serious"])]
        what.append("serious" if p["serious"] else "not serious")
    if p.get("related") is not None:
        rows = rows[rows["related"].astype("boolean").fillna(False) == bool(p["related"])]
        what.append("related" if p["related"] else "not related")
    if p.get("severity") is not None:
        rows = rows[rows["severity"].astype(str) == str(p["severity"])]
        what.append(f"severity {p['severity']}")
    n_subjects = int(rows["subject_id"].nunique())
    if target.analysis == "adverse_event_count":
        return Reproduced(value=float(len(rows)), n=n_subjects,
                          method=f"adverse events ({', '.join(what) or 'all'}) in "
                                 f"{n_subjects} subject(s)")
    from cohort.analysis.proportions import proportion

    # the denominator: every subject of the arm (or cohort), with an event or not
    n = len(ctx.select(arm=p.get("arm", ALL)))
    what_text = ", ".join(what) or "any"
    if target.analysis == "adverse_event_subjects":
        return Reproduced(value=float(n_subjects), n=n,
                          method=f"subjects with at least one adverse event ({what_text}): "
                                 f"{n_subjects} of {n}")
    pr = proportion(n_subjects, n)
    return Reproduced(value=float(pr["estimate"]), ci_lower=float(pr["cp_lower"]),
                      ci_upper=float(pr["cp_upper"]), n=n,
                      method=f"proportion of subjects with at least one adverse event "
                             f"({what_text}): {n_subjects}/{n}; Clopper-Pearson 95% CI")

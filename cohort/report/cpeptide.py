"""Report section on C-peptide remission (Lu 2021) and its prediction: rates by arm and
subgroup, between-arm tests, and cross-validated ROC and calibration curves."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohort.report.context import NotComputableError, ReportContext, new_axes, new_axes_row
from cohort.report.schedule import infer_visits

__all__ = ["ASSESSMENT_DAY", "BOOTSTRAP", "REPEATS", "choose_predictors", "remission_section"]

ASSESSMENT_DAY = 365
"""Study day remission is judged at when the data reach it (1 year, Lu 2021)."""

REPEATS = 10
"""Repeats of the cross-validation (each refits every model on every fold)."""
BOOTSTRAP = 200
"""Bootstrap samples of the optimism correction (batched: cheap)."""

_MARKERS = ("CPEP_FAST", "CPEP_PP")
_COMPARISONS = [("risk_difference", "Newcombe hybrid score"), ("odds_ratio", "Woolf log"),
                ("fisher_exact", None)]
_PERF_COLUMNS = ["model", "metric", "apparent", "optimism", "corrected", "cv_mean", "cv_lower",
                 "cv_upper", "n", "n_events"]


def _assessment_day(measurements: pd.DataFrame, marker: str) -> tuple[int, str | None]:
    visits = infer_visits(measurements, marker)
    if not visits:
        raise NotComputableError(f"no {marker} visit after day 0 has values of at least 3 "
                                 "subjects")
    if any(v.lower <= ASSESSMENT_DAY <= v.upper for v in visits):
        return ASSESSMENT_DAY, None
    last = visits[-1]
    return last.day, (f"the data have no C-peptide visit around day {ASSESSMENT_DAY} (1 year, "
                      f"as Lu 2021); remission is judged at the last C-peptide visit, "
                      f"{last.label} (day {last.day})")


def choose_predictors(data: pd.DataFrame) -> list[str]:
    """Predictors of remission for the report's model, as Lu 2021 found them: baseline fasting
    C-peptide (postprandial when fasting is absent) and the cell dose (10^6 cells/kg), each
    kept only when it varies between subjects."""
    out = []
    for col in ("baseline_cpep_fast_nmol_l", "baseline_cpep_pp_nmol_l"):
        if col in data and data[col].notna().sum() >= 0.5 * len(data) \
                and data[col].nunique() > 1:
            out.append(col)
            break
    for col in ("dose_1e6_cells_per_kg", "dose_1e9_cells_total"):
        if col in data and data[col].notna().sum() >= 0.5 * len(data) \
                and data[col].nunique() > 1:
            out.append(col)
            break
    return out


def _percent(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for col in columns:
        out[col] = (100.0 * out[col].astype(float)).round(1)
    return out


def remission_section(ctx: ReportContext) -> None:
    """C-peptide remission rates, tests and, with enough events, prediction performance."""
    from cohort.analysis.remission import remission_analysis
    from cohort.derive.remission import RemissionRule
    from cohort.report.figures.regression import forest_plot

    c = ctx.cohort
    present = set(c.measurements["param"].astype(str))
    markers = tuple(p for p in _MARKERS if p in present)
    if not markers:
        raise NotComputableError("the cohort has no C-peptide measurements (CPEP_FAST, "
                                 "CPEP_PP)")
    day, why = _assessment_day(c.measurements, markers[0])
    rule = RemissionRule(markers=markers, visit_day=day)
    if why:
        ctx.html.note(why)
    onset = "age_at_diagnosis_years" in c.subjects and \
        c.subjects["age_at_diagnosis_years"].notna().any()
    res = remission_analysis(c.measurements, c.subjects, c.infusions, rule=rule,
                             subgroup="onset" if onset else None)
    ctx.html.paragraph(f"Remission: {res.rule}. Rates with Clopper-Pearson 95% CIs; each "
                       "treated arm against the control subjects.")
    rates = _percent(res.summary, ["estimate", "ci_lower", "ci_upper"]).rename(
        columns={"estimate": "percent"})
    ctx.html.table(rates[["subgroup_by", "subgroup", "arm", "x", "n", "percent", "ci_lower",
                          "ci_upper", "n_excluded"]], max_rows=None,
                   caption="Remission by arm (x of n judged, %, 95% CI); subgroup 'onset': "
                   "diagnosis before 18 years (juvenile) or at 18 or later (adult)")
    if not onset:
        ctx.not_computable("rates by onset subgroup", "no age at diagnosis in the subjects table")
    comp = res.comparisons
    if comp.empty:
        ctx.not_computable("between-arm tests", "they need a control arm and a treated arm")
    else:
        keep = np.zeros(len(comp), dtype=bool)
        for measure, method in _COMPARISONS:
            keep |= (comp["measure"] == measure).to_numpy() & (
                (comp["method"] == method).to_numpy() if method else True)
        ctx.html.table(comp.loc[keep, ["subgroup_by", "subgroup", "arm", "reference", "measure",
                                       "method", "estimate", "ci_lower", "ci_upper", "p"]],
                       max_rows=None, caption="Treated vs control: risk difference (Newcombe), "
                       "odds ratio (Woolf) and Fisher's exact test")
    if len(res.exclusions):
        ctx.html.table(res.exclusions[["subject_id", "reason"]], max_rows=100,
                       caption=f"Subjects whose remission could not be judged "
                       f"({len(res.exclusions)})")
    overall = res.summary.loc[res.summary["subgroup_by"] == "all"]
    if len(overall):
        shown = _percent(overall, ["estimate", "ci_lower", "ci_upper"])
        ax = forest_plot(shown, label="arm", reference=0.0,
                         ax=new_axes(6.5, 0.5 * len(shown) + 1.5))
        ax.set_xlabel("remission, % (95% CI)")
        ax.set_xlim(-2, 102)
        ctx.figure(ax, "Remission rate by arm with Clopper-Pearson 95% CIs")
    _prediction(ctx, res.data)


def _prediction(ctx: ReportContext, data: pd.DataFrame) -> None:
    from cohort.analysis.prediction import evaluate_prediction
    from cohort.derive.remission import PREDICTOR_UNITS
    from cohort.report.figures.prediction import plot_calibration, plot_roc

    ctx.html.heading("Prediction of remission", level=3)
    det = data.loc[data["remission"].notna()].copy()
    det["remission"] = det["remission"].astype(bool)
    predictors = choose_predictors(det)
    if not predictors:
        ctx.not_computable("prediction", "no candidate predictor (baseline C-peptide, cell "
                           "dose) varies between subjects")
        return
    events = int(det["remission"].sum())
    rarest = min(events, len(det) - events)
    folds = min(5, rarest // 2)
    if folds < 2:
        ctx.not_computable("prediction", f"{events} remissions among {len(det)} judged subjects: "
                           "cross-validated curves need at least 4 remissions and 4 "
                           "non-remissions")
        return
    res = evaluate_prediction(det, "remission", predictors, models=("logistic", "firth"),
                              n_splits=folds, n_repeats=REPEATS, n_bootstrap=BOOTSTRAP,
                              random_state=ctx.seed)
    named = ", ".join(f"{p} ({PREDICTOR_UNITS.get(p, '')})" for p in predictors)
    ctx.html.paragraph(
        f"Predictors: {named}. Unpenalised and Firth logistic models; {folds}-fold "
        f"cross-validation repeated {REPEATS} times and {BOOTSTRAP} bootstrap samples (seed "
        f"{ctx.seed}). Read the cross-validated and optimism-corrected values: the apparent "
        "ones are optimistic at this size.")
    ctx.html.table(res.summary.reindex(columns=_PERF_COLUMNS), max_rows=None,
                   caption="Performance: AUC, Brier score, calibration intercept and slope "
                   "(cv_lower/cv_upper: 2.5-97.5 percentiles over repeats)")
    for note in res.notes:
        ctx.html.paragraph(note, css="muted")
    roc_ax, cal_ax = new_axes_row(2, width=10, height=4.8)
    plot_roc(res, ax=roc_ax)
    plot_calibration(res, ax=cal_ax)
    ctx.figure(roc_ax, "Left: ROC curves of the cross-validated predictions (mean AUC over "
                       "repeats). Right: calibration of the same predictions (bins of predicted "
                       "risk, observed proportion with Wilson 95% intervals)")

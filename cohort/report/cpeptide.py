"""Report section on C-peptide remission (Lu 2021) and its prediction: rates by arm and
subgroup, between-arm tests, and cross-validated ROC and calibration curves.

The prediction part judges first whether the data can judge a model at all: with fewer than
:data:`MIN_EPV` events per predictor no model is fitted, and when the DeLong 95% CI of a
model's cross-validated AUC includes 0.5 the estimates are shown under "details" only, with the
verdict, rather than as a result.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING

import pandas as pd

from cohort.report.comparisons import RULES, remission_comparisons
from cohort.report.context import NotComputableError, ReportContext, new_axes, new_axes_row
from cohort.report.schedule import infer_visits

if TYPE_CHECKING:
    from cohort.analysis.prediction import PredictionResult

__all__ = ["ASSESSMENT_DAY", "BOOTSTRAP", "MIN_EPV", "REPEATS", "auc_intervals",
           "choose_predictors", "judge_epv", "remission_section"]

ASSESSMENT_DAY = 365
"""Study day remission is judged at when the data reach it (1 year, Lu 2021)."""

REPEATS = 10
"""Repeats of the cross-validation (each refits every model on every fold)."""
BOOTSTRAP = 200
"""Bootstrap samples of the optimism correction (batched: cheap)."""
MIN_EPV = 10
"""Fewest events (of the rarer outcome) per predictor for the report to judge a model
(Peduzzi et al. 1996, J Clin Epidemiol 49:1373-9)."""

_MARKERS = ("CPEP_FAST", "CPEP_PP")
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
        shown, details = remission_comparisons(comp, res.summary)
        ctx.html.table(shown, max_rows=None,
                       caption="Treated vs control: risk difference (Newcombe hybrid score), "
                       f"odds ratio (Woolf); {RULES['two_by_two']}")
        with ctx.html.details("Details: other tests of each 2x2 table"):
            ctx.html.table(details, max_rows=None,
                           caption="Tests not chosen as primary (the method as the analysis "
                           "states it, with its validity notes)")
    if len(res.exclusions):
        ctx.html.table(res.exclusions[["subject_id", "reason"]], max_rows=100,
                       caption=f"Subjects whose remission could not be judged "
                       f"({len(res.exclusions)})")
    overall = res.summary.loc[res.summary["subgroup_by"] == "all"]
    if len(overall):
        # the figure `cohort analyze remission --plot` draws
        ax = res.plot(ax=new_axes(6.5, 0.5 * len(overall) + 1.5))
        ctx.figure(ax, "Remission rate by arm with Clopper-Pearson 95% CIs")
    _prediction(ctx, res.data)


def judge_epv(n_events: int, n: int, n_predictors: int) -> str | None:
    """Why ``n_events`` events among ``n`` subjects are too few to judge a model with
    ``n_predictors`` predictors (fewer than :data:`MIN_EPV` of the rarer outcome per
    predictor), or None when they are enough.

    Examples
    --------
    >>> judge_epv(11, 53, 2)[:55]
    '11 remissions for 2 predictors: 5.5 events per variable'
    >>> judge_epv(25, 60, 2) is None
    True
    """
    rarest = min(n_events, n - n_events)
    if rarest >= MIN_EPV * n_predictors:
        return None
    what = "remissions" if n_events <= n - n_events else "non-remissions"
    return (f"{rarest} {what} for {n_predictors} predictor{'s' if n_predictors > 1 else ''}: "
            f"{rarest / n_predictors:.1f} events per variable, fewer than the {MIN_EPV} a "
            "model needs for its performance to be estimated (Peduzzi et al. 1996); with "
            "fewer, the AUC and calibration mostly show which subjects fell in which fold")


def auc_intervals(res: PredictionResult) -> pd.DataFrame:
    """DeLong 95% CI of each model's cross-validated AUC (the probabilities averaged over the
    repeats): ``model``, ``auc``, ``se``, ``ci_lower``, ``ci_upper``, ``covers_0.5``."""
    from cohort.analysis.auc_ci import auc_delong

    pred = res.predictions
    rows = []
    for model in res.params.get("models", []):
        if model not in pred:
            continue
        r = auc_delong(pred["outcome"].to_numpy(), pred[model].to_numpy())
        rows.append({"model": model, "auc": r.auc, "se": r.se, "ci_lower": r.ci_lower,
                     "ci_upper": r.ci_upper, "covers_0.5": r.covers(0.5)})
    return pd.DataFrame(rows, columns=["model", "auc", "se", "ci_lower", "ci_upper",
                                       "covers_0.5"])


def _prediction(ctx: ReportContext, data: pd.DataFrame) -> None:
    from cohort.derive.remission_dataset import PREDICTOR_UNITS

    ctx.html.heading("Prediction of remission", level=3)
    det = data.loc[data["remission"].notna()].copy()
    det["remission"] = det["remission"].astype(bool)
    predictors = choose_predictors(det)
    if not predictors:
        ctx.not_computable("prediction", "no candidate predictor (baseline C-peptide, cell "
                           "dose) varies between subjects")
        return
    named = ", ".join(f"{p} ({PREDICTOR_UNITS.get(p, '')})" for p in predictors)
    events = int(det["remission"].sum())
    too_few = judge_epv(events, len(det), len(predictors))
    if too_few is not None:
        # judged before any fit: a model on these data would be a result in appearance only
        ctx.html.paragraph(f"Candidate predictors: {named}.")
        ctx.not_computable("prediction", f"too few data to judge a model: {too_few}. "
                           "`cohort analyze predict` evaluates one anyway")
        return
    rarest = min(events, len(det) - events)
    folds = min(5, rarest // 2)
    _evaluate(ctx, det, predictors, named, folds)


def _evaluate(ctx: ReportContext, det: pd.DataFrame, predictors: list[str], named: str,
              folds: int) -> None:
    from cohort.analysis.format import format_estimate_ci
    from cohort.analysis.prediction import evaluate_prediction
    from cohort.report.figures.prediction import plot_calibration, plot_roc

    res = evaluate_prediction(det, "remission", predictors, models=("logistic", "firth"),
                              n_splits=folds, n_repeats=REPEATS, n_bootstrap=BOOTSTRAP,
                              random_state=ctx.seed)
    aucs = auc_intervals(res)
    method = (f"Predictors: {named}. Unpenalised and Firth logistic models; {folds}-fold "
              f"cross-validation repeated {REPEATS} times and {BOOTSTRAP} bootstrap samples "
              f"(seed {ctx.seed}). AUC 95% CI: DeLong, on the cross-validated probabilities.")
    chance = aucs.loc[aucs["covers_0.5"]]
    if len(chance):
        named_aucs = "; ".join(f"{r.model} {format_estimate_ci(r.auc, r.ci_lower, r.ci_upper, 2)}"
                               for r in chance.itertuples(index=False))
        ctx.html.paragraph(method)
        ctx.not_computable("prediction", "too few data to judge a model: the 95% CI of the "
                           f"cross-validated AUC includes 0.5 (no better than chance): "
                           f"{named_aucs}")
        block: AbstractContextManager[object] = ctx.html.details(
            "Details: the estimates, which are not a result at this size")
    else:
        ctx.html.paragraph(method + " Read the cross-validated and optimism-corrected values: "
                           "the apparent ones are optimistic.")
        block = nullcontext()
    with block:
        ctx.html.table(aucs, max_rows=None, caption="Cross-validated AUC with DeLong 95% CI "
                       "(covers_0.5: the interval includes chance)")
        ctx.html.table(res.summary.reindex(columns=_PERF_COLUMNS), max_rows=None,
                       caption="Performance: AUC, Brier score, calibration intercept and slope "
                       "(cv_lower/cv_upper: 2.5-97.5 percentiles over repeats)")
        for note in res.notes:
            ctx.html.paragraph(note, css="muted")
        roc_ax, cal_ax = new_axes_row(2, width=10, height=4.8)
        plot_roc(res, ax=roc_ax)
        plot_calibration(res, ax=cal_ax)
        ctx.figure(roc_ax, "Left: ROC curves of the cross-validated predictions (mean AUC over "
                           "repeats). Right: calibration of the same predictions (bins of "
                           "predicted risk, observed proportion with Wilson 95% intervals)")

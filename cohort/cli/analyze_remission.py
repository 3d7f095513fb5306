"""``cohort analyze remission PATH`` and ``cohort analyze predict PATH`` (Lu 2021).

``remission``: C-peptide remission by a configurable rule, n/N per arm and subgroup with exact
intervals and between-arm tests, and optionally a multivariable logistic model (ML or Firth).
``predict``: prediction models for remission with cross-validated and bootstrap-corrected
performance, and optionally the external validation of a stored model.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cohort.cli.analyze import analyze_app
from cohort.cli.app import OutputFormat, guarded, load_for_cli
from cohort.cli.safe_output import OVERWRITE


class Combine(StrEnum):
    """How the markers' rises combine."""

    any = "any"
    all = "all"


class BelowLimit(StrEnum):
    """Handling of an undetectable baseline C-peptide."""

    exclude = "exclude"
    rise = "rise"


class Partial(StrEnum):
    """Subjects with a marker that cannot be judged."""

    decide = "decide"
    available = "available"


class Method(StrEnum):
    """Logistic estimators (auto: Firth below 10 events per variable, else ML)."""

    auto = "auto"
    ml = "ml"
    firth = "firth"


class Population(StrEnum):
    """Who enters the model."""

    all = "all"
    treated = "treated"


class CIMethod(StrEnum):
    """Intervals reported as ci_lower/ci_upper."""

    profile = "profile"
    wald = "wald"


# the remission-rule options, shared by both commands
THRESHOLD = typer.Option(10.0, "--threshold", min=0.0,
                         help="Minimum rise from baseline, in percent (Lu 2021: 10).")
EXCLUSIVE = typer.Option(False, "--exclusive",
                         help="The rise must exceed the threshold (default: a rise of exactly "
                         "the threshold counts).")
MARKERS = typer.Option("CPEP_FAST,CPEP_PP", "--markers",
                       help="C-peptide markers, comma-separated: CPEP_FAST, CPEP_PP.")
COMBINE = typer.Option(Combine.any, "--combine",
                       help="any: a rise in fasting and/or postprandial C-peptide (published); "
                       "all: in every marker.")
VISIT_DAY = typer.Option(365, "--visit-day", min=1,
                         help="Study day of the assessment (365 = 1 year).")
WINDOW = typer.Option(None, "--window",
                      help="Assessment window LOWER,UPPER in study days (default: visit day "
                      "+/- 15%).")
BASELINE_WINDOW = typer.Option("-90,0", "--baseline-window",
                               help="Baseline window LOWER,UPPER in study days (the last value "
                               "in it is the baseline), e.g. --baseline-window=-90,0.")
DETECTION_LIMIT = typer.Option(0.0, "--detection-limit", min=0.0,
                               help="C-peptide detection limit in nmol/L; a baseline at or "
                               "below it is undetectable.")
BELOW_LIMIT = typer.Option(BelowLimit.exclude, "--below-limit",
                           help="Undetectable baseline: exclude the marker (reported), or "
                           "count a rise above the limit as a rise.")
PARTIAL = typer.Option(Partial.decide, "--partial",
                       help="A marker that cannot be judged: classify only when the other "
                       "markers decide (decide), or judge on the available markers.")
PREDICTORS = typer.Option(None, "--predictor", "-p",
                          help="Predictor column (repeat the option), e.g. -p "
                          "baseline_cpep_fast_nmol_l -p dose_1e6_cells_per_kg. Columns: "
                          "baseline_cpep_fast_nmol_l, baseline_cpep_pp_nmol_l, "
                          "baseline_hba1c_pct, baseline_insulin_iu_kg_day, "
                          "dose_1e6_cells_per_kg, dose_1e9_cells_total, n_infusions, treated, "
                          "age_years, age_at_diagnosis_years, adult_onset, "
                          "diabetes_duration_years, bmi_kg_m2, sex_male.")
POPULATION = typer.Option(["all"], "--population",
                          help="all subjects, or treated: the treated arm(s) only (the way to "
                          "estimate a dose effect: dose is 0 for every control); and/or a "
                          "subjects flag selecting the analysed subjects in every table (ITT "
                          "for ADaM ITTFL = Y, SAFFL, ...); repeatable.")
MAPPING = typer.Option(None, "--mapping", "-m", help="Mapping file (YAML) or preset name.")
FORMAT = typer.Option(OutputFormat.text, "--format", "-f",
                      help="text: tables on the terminal; json: one JSON document on stdout.")


def _population(values: list[str]) -> tuple[str, list[str]]:
    """(who enters the model: all or treated, subjects flags selecting the population)."""
    model = [v for v in values if v.strip().lower() in (Population.all, Population.treated)]
    flags = [v for v in values if v.strip().lower() not in (Population.all,
                                                            Population.treated)]
    return ("treated" if any(v.strip().lower() == "treated" for v in model) else "all"), flags


def _usage(option: str, message: str) -> Exception:
    # a CohortError, so that @guarded prints one line and exits 2
    from cohort.errors import AnalysisError

    return AnalysisError(f"{option}: {message}")


def _pair(text: str | None, option: str) -> tuple[int, int] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        lo, hi = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (None, None)
    except ValueError:
        lo = hi = None
    if lo is None or hi is None:
        raise _usage(option, f"expected two integer study days LOWER,UPPER, got {text!r}")
    return lo, hi


def _rule(threshold: float, exclusive: bool, markers: str, combine: Combine, visit_day: int,
          window: str | None, baseline_window: str, detection_limit: float,
          below_limit: BelowLimit, partial: Partial) -> Any:
    from cohort.derive.remission import RemissionRule

    names = tuple(m.strip().upper() for m in markers.split(",") if m.strip())
    return RemissionRule(threshold_pct=threshold, inclusive=not exclusive, markers=names,
                         combine=combine.value, visit_day=visit_day,
                         visit_window=_pair(window, "--window"),
                         baseline_window=_pair(baseline_window, "--baseline-window"),
                         detection_limit=detection_limit, below_limit=below_limit.value,
                         partial=partial.value)


@contextmanager
def _warnings_to_stderr() -> Iterator[None]:
    """Show the analysis' warnings as one line each on stderr (stdout stays clean)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen = set()
            for w in caught:
                text = str(w.message)
                if text not in seen:
                    seen.add(text)
                    typer.echo(f"cohort: warning: {text}", err=True)


def _emit(doc: dict[str, Any]) -> None:
    typer.echo(json.dumps(doc, allow_nan=False))


@analyze_app.command("remission")
@guarded
def remission(
    path: Path = typer.Argument(..., help="Cohort folder (or .xlsx workbook)."),
    threshold: float = THRESHOLD,
    exclusive: bool = EXCLUSIVE,
    markers: str = MARKERS,
    combine: Combine = COMBINE,
    visit_day: int = VISIT_DAY,
    window: str | None = WINDOW,
    baseline_window: str = BASELINE_WINDOW,
    detection_limit: float = DETECTION_LIMIT,
    below_limit: BelowLimit = BELOW_LIMIT,
    partial: Partial = PARTIAL,
    subgroup: str = typer.Option("onset", "--subgroup",
                                 help="Subgroup of the rates: onset (juvenile vs adult, "
                                 "diagnosis at >= 18 y), bmi, duration, a subjects column, or "
                                 "none."),
    predictors: list[str] | None = PREDICTORS,
    method: Method = typer.Option(Method.auto, "--method",
                                  help="auto: Firth below 10 events per variable, else ML "
                                  "(the output says which and why); ml: maximum likelihood "
                                  "(as R glm); firth: penalised likelihood (as R logistf), "
                                  "for few events or separation."),
    population: list[str] = POPULATION,
    ci: CIMethod = typer.Option(CIMethod.profile, "--ci",
                                help="Interval in ci_lower/ci_upper (both are reported)."),
    adjust: str = typer.Option("none", "--adjust", help="Multiplicity adjustment of the "
                               "treated arms against control: none, holm, hochberg, "
                               "bonferroni, sidak (each test's p-values), dunnett (the odds "
                               "ratios, logistic Wald z)."),
    save_model: Path | None = typer.Option(None, "--save-model",
                                           help="Write the fitted model as JSON or YAML "
                                           "(for `cohort analyze predict --external`)."),
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FORMAT,
    overwrite: bool = OVERWRITE,
) -> None:
    """C-peptide remission (Lu 2021): rates by arm and subgroup, tests, logistic model.

    Remission (default): a rise of at least 10% from baseline in fasting and/or postprandial
    C-peptide at day 365. Rates: n/N with Clopper-Pearson and Wilson 95% CIs; each treated arm
    vs control: risk difference, OR, RR, Fisher exact and chi-square tests. With --predictor:
    a multivariable logistic model with odds ratios, profile and Wald CIs and likelihood-ratio
    tests (warns when events per variable < 10, on separation, and when a dose is modelled
    with controls, whose dose is 0).
    """
    from cohort.analysis.multiplicity import check_adjust

    adjust = check_adjust(adjust)
    rule = _rule(threshold, exclusive, markers, combine, visit_day, window, baseline_window,
                 detection_limit, below_limit, partial)
    from cohort import __version__
    from cohort.analysis.remission import remission_analysis

    model_population, flags = _population(population)
    data = load_for_cli(path, mapping, flags)
    with _warnings_to_stderr():
        result = remission_analysis(
            data.measurements, data.subjects, data.infusions, rule=rule,
            subgroup=None if subgroup.lower() == "none" else subgroup,
            predictors=list(predictors or []), method=method.value,
            population=model_population, ci_method=ci.value, adjust=adjust)
    if save_model is not None:
        if result.model is None:
            raise _usage("--save-model", "needs --predictor (there is no model to save)")
        from cohort.analysis.external import save_model as write_model
        from cohort.derive.remission import PREDICTOR_UNITS
        from cohort.io.outputs import check_output_file, input_files

        check_output_file(save_model, kind="model", inputs=input_files(path, mapping),
                          overwrite=overwrite)

        spec = result.model.to_model_spec(
            name=f"remission model ({path.name})", outcome_definition=result.rule,
            units=PREDICTOR_UNITS, citation=f"fitted by cohort {__version__} on {path}")
        write_model(spec, save_model)
        typer.echo(f"wrote {save_model}", err=True)
    if fmt is OutputFormat.json:
        _emit({"cohort_version": __version__, "path": str(path), **result.to_dict()})
    else:
        _print_remission(result)


@analyze_app.command("predict")
@guarded
def predict(
    path: Path = typer.Argument(..., help="Cohort folder (or .xlsx workbook)."),
    predictors: list[str] | None = PREDICTORS,
    models: list[str] | None = typer.Option(None, "--model",
                                            help="Model (repeat the option): logistic "
                                            "(unpenalised), ridge (L2), firth, forest (a "
                                            "random forest: refitted for every sample, "
                                            "minutes). Default: logistic, ridge, firth."),
    trees: int = typer.Option(100, "--trees", min=1, help="Trees of the forest."),
    folds: int = typer.Option(5, "--folds", min=0,
                              help="Folds of the repeated stratified cross-validation (0 "
                              "skips it); each fold needs 2 events and 2 non-events."),
    repeats: int = typer.Option(20, "--repeats", min=1, help="Cross-validation repeats."),
    bootstrap: int = typer.Option(200, "--bootstrap", min=0,
                                  help="Bootstrap samples for the optimism correction (0 "
                                  "skips it)."),
    seed: int = typer.Option(0, "--seed", min=0, help="The one seed of all randomness."),
    permutations: int = typer.Option(5, "--permutations", min=1,
                                     help="Permutations per repeat for permutation "
                                     "importance."),
    population: list[str] = POPULATION,
    external: Path | None = typer.Option(None, "--external",
                                         help="Also validate this stored model (JSON or YAML: "
                                         "intercept, coefficients, units) on the cohort."),
    figures: Path | None = typer.Option(None, "--figures",
                                        help="Write roc.png, calibration.png and decision.png "
                                        "to this folder."),
    threshold: float = THRESHOLD,
    exclusive: bool = EXCLUSIVE,
    markers: str = MARKERS,
    combine: Combine = COMBINE,
    visit_day: int = VISIT_DAY,
    window: str | None = WINDOW,
    baseline_window: str = BASELINE_WINDOW,
    detection_limit: float = DETECTION_LIMIT,
    below_limit: BelowLimit = BELOW_LIMIT,
    partial: Partial = PARTIAL,
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FORMAT,
    overwrite: bool = OVERWRITE,
) -> None:
    """Predict remission: cross-validated and bootstrap optimism-corrected performance.

    Pipelines impute (median) and standardise inside every refit. Reported per model: AUC,
    Brier score, calibration intercept and slope, apparent, optimism-corrected (Harrell
    bootstrap) and cross-validated (mean and 2.5-97.5 percentiles over repeats); permutation
    importance on held-out subjects. With --external, a stored model is applied to the cohort
    (AUC, calibration, recalibration in the large).
    """
    rule = _rule(threshold, exclusive, markers, combine, visit_day, window, baseline_window,
                 detection_limit, below_limit, partial)
    if not predictors and external is None:
        raise _usage("--predictor", "give at least one --predictor (or --external MODEL)")
    from cohort import __version__
    from cohort.derive.remission import remission_dataset

    model_population, flags = _population(population)
    data = load_for_cli(path, mapping, flags)
    table = remission_dataset(data.measurements, data.subjects, data.infusions, rule=rule)
    undetermined = table["remission"].isna()
    doc: dict[str, Any] = {"cohort_version": __version__, "path": str(path),
                           "rule": rule.describe(),
                           "n_undetermined": int(undetermined.sum())}
    result = ext = None
    with _warnings_to_stderr():
        if predictors:
            from cohort.analysis.prediction import evaluate_prediction

            frame = table.loc[~undetermined].assign(
                remission=lambda f: f["remission"].astype(bool))
            chosen = list(models) if models else ["logistic", "ridge", "firth"]
            if "forest" in chosen:
                typer.echo(f"cohort: the forest is refitted {bootstrap + folds * repeats + 1} "
                           "times; this takes a while", err=True)
            result = evaluate_prediction(
                frame, "remission", list(predictors), models=chosen, n_splits=folds,
                n_repeats=repeats, n_bootstrap=bootstrap, random_state=seed,
                n_permutations=permutations, population=model_population,
                n_estimators=trees)
            excluded = table.loc[undetermined, ["subject_id", "reason"]]
            if len(excluded):
                import pandas as pd

                result.exclusions = pd.concat([excluded.astype(object), result.exclusions],
                                              ignore_index=True)
                for r in ("n_excluded",):
                    result.summary[r] = len(result.exclusions)
            doc.update(result.to_dict())
        if external is not None:
            from cohort.analysis.external import external_validation

            ext = external_validation(external, table, outcome="remission",
                                      population=model_population)
            doc["external"] = ext.to_dict()
    if figures is not None:
        _write_figures(figures, result, ext, inputs=[path, mapping, external],
                       overwrite=overwrite)
    if fmt is OutputFormat.json:
        _emit(doc)
    else:
        _print_predict(result, ext, doc)


def _write_figures(folder: Path, result: Any, ext: Any, *, inputs: list[Any],
                   overwrite: bool) -> None:
    import io

    from cohort.io.outputs import input_files
    from cohort.io.write import write_output_file
    from cohort.report.figures.prediction import (
        plot_calibration,
        plot_decision_curve,
        plot_roc,
    )

    jobs = []
    if result is not None and not result.roc.empty:
        jobs += [("roc.png", plot_roc, result), ("calibration.png", plot_calibration, result),
                 ("decision.png", plot_decision_curve, result)]
    if ext is not None:
        jobs += [("external_roc.png", plot_roc, ext),
                 ("external_calibration.png", plot_calibration, ext)]
    for name, func, source in jobs:
        ax = func(source)
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="png", dpi=150)
        write_output_file(folder / name, buf.getvalue(), kind="figure",
                          inputs=input_files(*inputs), overwrite=overwrite)
        typer.echo(f"wrote {folder / name}", err=True)


def _num(v: Any, digits: int = 3) -> str:
    import math

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _print_remission(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cohort.cli.safe_output import SafeConsole as Console

    console = Console(highlight=False, soft_wrap=False)
    console.print(f"remission: {escape(result.rule)}")
    t = Table(title="Remission by arm (95% CI: Clopper-Pearson; Wilson)")
    for col in ("subgroup", "arm", "n/N", "%", "exact CI", "Wilson CI", "undetermined"):
        t.add_column(col)
    for r in result.summary.itertuples():
        t.add_row(escape(r.subgroup), escape(r.arm), f"{r.x}/{r.n}", f"{100 * r.estimate:.1f}",
                  f"{100 * r.ci_lower:.1f}-{100 * r.ci_upper:.1f}",
                  f"{100 * r.wilson_lower:.1f}-{100 * r.wilson_upper:.1f}", str(r.n_excluded))
    console.print(t)
    comp = result.comparisons
    if len(comp):
        ct = Table(title="Treated vs control")
        adjusted = result.params.get("adjust", "none") != "none"
        cols = ["subgroup", "arm", "measure", "method", "estimate", "95% CI", "p"]
        for col in cols + ([f"p ({result.params['adjust']})"] if adjusted else []):
            ct.add_column(col, overflow="fold")
        for r in comp.itertuples():
            ci = "" if r.ci_lower != r.ci_lower else f"{_num(r.ci_lower)} - {_num(r.ci_upper)}"
            ct.add_row(escape(r.subgroup), escape(r.arm), r.measure, escape(str(r.method)),
                       _num(r.estimate), ci, _num(r.p, 4),
                       *([_num(r.p_adjusted, 4)] if adjusted else []))
        console.print(ct)
    if result.model is not None:
        m = result.model
        label = {"ml": "maximum likelihood", "firth": "Firth"}[m.model["method"]]
        prof = "penalised profile" if m.model["method"] == "firth" else "profile"
        mt = Table(title=f"Logistic regression ({label}, population "
                   f"{m.model['population']}): n {m.model['n']}, events "
                   f"{m.model['n_events']}, EPV {m.model['events_per_variable']:.1f}")
        for col in ("term", "OR", f"{prof} 95% CI", "Wald 95% CI", "LR p"):
            mt.add_column(col)
        for r in m.summary.itertuples():
            mt.add_row(escape(r.term), _sig(r.odds_ratio), f"{_sig(_exp(r.ci_lower_profile))}"
                       f" - {_sig(_exp(r.ci_upper_profile))}",
                       f"{_sig(_exp(r.ci_lower_wald))} - {_sig(_exp(r.ci_upper_wald))}",
                       _num(r.p_lr, 4))
        console.print(mt)
        console.print("odds ratios per unit of each predictor (units in the column names: "
                      "nmol/L, 10^6 cells/kg, ...)")
    for note in result.notes[1:]:
        console.print(f"note: {escape(note)}")
    if len(result.exclusions):
        console.print(f"{len(result.exclusions)} subject(s) excluded; first: "
                      f"{escape(str(result.exclusions.iloc[0]['subject_id']))}: "
                      f"{escape(str(result.exclusions.iloc[0]['reason']))}")


def _sig(v: float) -> str:
    """Three significant digits: odds ratios per unit can be tiny or huge."""
    import math

    if v is None or math.isnan(v):
        return "-"
    return "inf" if math.isinf(v) else f"{v:.3g}"


def _exp(v: float) -> float:
    import math

    return math.exp(v) if v < 700 else math.inf


def _print_predict(result: Any, ext: Any, doc: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cohort.cli.safe_output import SafeConsole as Console

    console = Console(highlight=False, soft_wrap=False)
    console.print(f"remission: {escape(doc['rule'])}")
    if result is not None:
        t = Table(title="Performance (apparent; bootstrap optimism-corrected; cross-validated "
                  "mean [2.5-97.5 percentile over repeats])")
        for col in ("model", "metric", "apparent", "optimism", "corrected", "CV"):
            t.add_column(col)
        for r in result.summary.itertuples():
            t.add_row(r.model, r.metric, _num(r.apparent), _num(r.optimism),
                      _num(r.corrected), f"{_num(r.cv_mean)} [{_num(r.cv_lower)}-"
                      f"{_num(r.cv_upper)}]")
        console.print(t)
        if not result.importance.empty:
            it = Table(title="Permutation importance (drop in cross-validated AUC)")
            for col in ("model", "predictor", "importance", "SD"):
                it.add_column(col)
            for r in result.importance.itertuples():
                it.add_row(r.model, escape(r.predictor), _num(r.importance), _num(r.sd))
            console.print(it)
        for note in result.notes:
            console.print(f"note: {escape(note)}")
    if ext is not None:
        et = Table(title=f"External validation of {escape(ext.params['model'])}")
        for col in ("metric", "estimate", "95% CI"):
            et.add_column(col)
        for r in ext.summary.itertuples():
            ci = "" if r.ci_lower != r.ci_lower else f"{_num(r.ci_lower)} - {_num(r.ci_upper)}"
            et.add_row(r.metric, _num(r.estimate), ci)
        console.print(et)
        for r in ext.recalibrated.itertuples():
            console.print(f"{r.method}: intercept {_num(r.intercept)}, slope {_num(r.slope)}, "
                          f"mean predicted {_num(r.mean_predicted)}")
        for note in ext.notes:
            console.print(f"note: {escape(note)}")

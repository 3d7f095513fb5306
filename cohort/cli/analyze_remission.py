"""``cohort analyze remission PATH`` (Lu 2021).

C-peptide remission by a configurable rule, n/N per arm and subgroup with exact intervals and
between-arm tests, and optionally a multivariable logistic model (ML or Firth). The rule's
options are shared with ``predict`` (:mod:`cohort.cli.remission_options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cohort.cli.analyze import analyze_app
from cohort.cli.app import VISIT, OutputFormat, guarded, load_for_cli
from cohort.cli.remission_options import (
    BASELINE_WINDOW,
    BELOW_LIMIT,
    COMBINE,
    DETECTION_LIMIT,
    EXCLUSIVE,
    FORMAT,
    MAPPING,
    MARKERS,
    PARTIAL,
    POPULATION,
    PREDICTORS,
    THRESHOLD,
    VISIT_DAY,
    WINDOW,
    BelowLimit,
    CIMethod,
    Combine,
    Method,
    Partial,
    emit_json,
    num,
    remission_rule,
    split_population,
    usage_error,
    warnings_to_stderr,
)
from cohort.cli.safe_output import OVERWRITE


@analyze_app.command("remission")
@guarded
def remission(
    path: Path = typer.Argument(..., help="Cohort folder (or .xlsx workbook)."),
    threshold: float = THRESHOLD,
    exclusive: bool = EXCLUSIVE,
    markers: str = MARKERS,
    combine: Combine = COMBINE,
    visit: list[str] = VISIT,
    visit_day: int | None = VISIT_DAY,
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
    rule = remission_rule(threshold, exclusive, markers, combine, visit_day, window,
                          baseline_window, detection_limit, below_limit, partial, visit)
    from cohort import __version__
    from cohort.analysis.remission import remission_analysis

    model_population, flags = split_population(population)
    data = load_for_cli(path, mapping, flags)
    with warnings_to_stderr():
        result = remission_analysis(
            data.measurements, data.subjects, data.infusions, rule=rule,
            subgroup=None if subgroup.lower() == "none" else subgroup,
            predictors=list(predictors or []), method=method.value,
            population=model_population, ci_method=ci.value, adjust=adjust)
    if save_model is not None:
        if result.model is None:
            raise usage_error("--save-model", "needs --predictor (there is no model to save)")
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
        emit_json({"cohort_version": __version__, "path": str(path), **result.to_dict()})
    else:
        _print_remission(result)


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
            ci = "" if r.ci_lower != r.ci_lower else f"{num(r.ci_lower)} - {num(r.ci_upper)}"
            ct.add_row(escape(r.subgroup), escape(r.arm), r.measure, escape(str(r.method)),
                       num(r.estimate), ci, num(r.p, 4),
                       *([num(r.p_adjusted, 4)] if adjusted else []))
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
                       num(r.p_lr, 4))
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


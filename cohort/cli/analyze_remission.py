"""``cohort analyze remission PATH`` (Lu 2021).

C-peptide remission by a configurable rule, n/N per arm and subgroup with exact intervals and
between-arm tests, and optionally a multivariable logistic model (ML or Firth). The rule's
options are shared with ``predict`` (:mod:`cohort.cli.remission_options`).
"""

from __future__ import annotations

from pathlib import Path

import typer

from cohort.cli.analyze import analyze_app
from cohort.cli.app import VISIT, OutputFormat, guarded, load_for_cli
from cohort.cli.examples import epilog
from cohort.cli.remission_options import (
    BASELINE_WINDOW,
    BELOW_LIMIT,
    COMBINE,
    DETECTION_LIMIT,
    EXCLUSIVE,
    FORMAT,
    MAPPING,
    MARKERS,
    OLD_MARKERS,
    OLD_VISIT_DAY,
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
    remission_rule,
    rule_at_visit,
    rule_markers,
    split_population,
    usage_error,
    warnings_to_stderr,
)
from cohort.cli.safe_output import OVERWRITE
from cohort.cli.vocabulary import alias, hidden


@analyze_app.command("remission", epilog=epilog("analyze remission"))
@guarded
def remission(
    path: Path = typer.Argument(..., help="Cohort folder (or .xlsx workbook)."),
    threshold: float = THRESHOLD,
    exclusive: bool = EXCLUSIVE,
    marker: list[str] = MARKERS,
    markers: str | None = OLD_MARKERS,
    combine: Combine = COMBINE,
    visit: list[str] = VISIT,
    visit_day: int | None = VISIT_DAY,
    old_visit_day: int | None = OLD_VISIT_DAY,
    window: str | None = WINDOW,
    baseline_window: str = BASELINE_WINDOW,
    detection_limit: float = DETECTION_LIMIT,
    below_limit: BelowLimit = BELOW_LIMIT,
    partial: Partial = PARTIAL,
    by: str = typer.Option("onset", "--by",
                           help="Subgroup of the rates: onset (juvenile vs adult, diagnosis "
                           "at >= 18 y), bmi, duration, a subjects column, or none."),
    subgroup: str | None = hidden(None, "--subgroup", new="--by"),
    predictors: list[str] | None = PREDICTORS,
    method: Method = typer.Option(Method.auto, "--method", case_sensitive=False,
                                  help="auto: Firth below 10 events per variable, else ML "
                                  "(the output says which and why); ml: maximum likelihood "
                                  "(as R glm); firth: penalised likelihood (as R logistf), "
                                  "for few events or separation."),
    population: list[str] = POPULATION,
    ci: CIMethod = typer.Option(CIMethod.profile, "--ci", case_sensitive=False,
                                help="Interval in ci_lower/ci_upper (both are reported)."),
    adjust: str = typer.Option("none", "--adjust", help="Multiplicity adjustment of the "
                               "treated arms against control: none, holm, hochberg, "
                               "bonferroni, sidak (each test's p-values), dunnett (the odds "
                               "ratios, logistic Wald z)."),
    save_model: Path | None = typer.Option(None, "--save-model",
                                           help="Write the fitted model as JSON or YAML "
                                           "(for `cohort analyze predict --external`)."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the figure of the remission "
                                     "rates by arm (the report's) to this file (.png, .pdf "
                                     "or .svg)."),
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
    from cohort.cli.plot_output import check_plot_path, write_figure

    if plot is not None:
        check_plot_path(plot)
    adjust = check_adjust(adjust)
    subgroup = alias(by, subgroup, new="--by", old="--subgroup", default="onset")
    visit_day = alias(visit_day, old_visit_day, new="--visit-days", old="--visit-day")
    rule = remission_rule(threshold, exclusive, rule_markers(marker, markers), combine,
                          visit_day, window, baseline_window, detection_limit, below_limit,
                          partial, visit)
    from cohort import __version__
    from cohort.analysis.remission import remission_analysis

    model_population, flags = split_population(population)
    data = load_for_cli(path, mapping, flags)
    rule = rule_at_visit(rule, data)
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
        from cohort.derive.remission_dataset import PREDICTOR_UNITS
        from cohort.io.outputs import check_output_file, input_files

        check_output_file(save_model, kind="model", inputs=input_files(path, mapping),
                          overwrite=overwrite)

        spec = result.model.to_model_spec(
            name=f"remission model ({path.name})", outcome_definition=result.rule,
            units=PREDICTOR_UNITS, citation=f"fitted by cohort {__version__} on {path}")
        write_model(spec, save_model)
        typer.echo(f"wrote {save_model}", err=True)
    if plot is not None:  # before any output: a failure leaves no result document behind
        write_figure(result, plot, inputs=[path, mapping], overwrite=overwrite)
    if fmt is OutputFormat.json:
        emit_json({"cohort_version": __version__, "path": str(path), **result.to_dict()})
    else:
        result.print_summary(title=f"Remission: {path}")

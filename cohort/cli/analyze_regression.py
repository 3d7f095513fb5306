"""``cohort analyze paired|ancova|dose-response|responders|effect-modification|table1``.

The regression analyses of Skyler 2015, Matsuoka 2025 and Nguyen 2021 on any cohort folder.
Heavy libraries are imported inside the commands so that ``cohort --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cohort.cli.analyze import analyze_app
from cohort.cli.app import POPULATION, VISIT, OutputFormat, guarded, load_for_cli
from cohort.cli.examples import epilog
from cohort.cli.safe_output import OVERWRITE
from cohort.cli.vocabulary import (  # noqa: F401 -- parse_* re-exported for their old home
    alias,
    hidden,
    parse_int_list,
    parse_name_list,
    parse_window,
    resolve_code,
    resolve_param,
    resolve_visits,
)


def _bad(option: str, message: str) -> Exception:
    from cohort.errors import AnalysisError

    return AnalysisError(f"{option}: {message}")


class Combine(StrEnum):
    """How responder criteria combine."""

    all = "all"
    any = "any"


class Missing(StrEnum):
    """What to do with subjects whose responder status is unknown."""

    exclude = "exclude"
    nonresponder = "nonresponder"


class TrendScores(StrEnum):
    """Scores of the dose-trend contrast."""

    poly = "poly"
    dose = "dose"


class CiMethod(StrEnum):
    """How intervals and tests of the linear models are computed."""

    t = "t"
    normal = "normal"


ADJUST_HELP = ("Multiplicity adjustment of the comparisons with the reference: none, dunnett "
               "(from the model's correlation of the contrasts), holm, hochberg, bonferroni, "
               "sidak.")
CI = typer.Option(CiMethod.t, "--ci", case_sensitive=False,
                  help="t: t distribution on the residual df (R lm, emmeans); normal: "
                  "estimate +- 1.96 x SE and z tests.")


class PlotKind(StrEnum):
    """The model figure --plot draws."""

    lsmean = "lsmean"
    difference = "difference"


PLOT_KIND = typer.Option(PlotKind.lsmean, "--plot-kind", case_sensitive=False,
                         help="The figure --plot draws: lsmean (the model's LS mean change of "
                         "each arm over the visits, 95% CIs) or difference (each arm minus the "
                         "reference).")


class Hba1cUnit(StrEnum):
    """Unit(s) of HbA1c in Table 1."""

    percent = "%"
    mmol_mol = "mmol/mol"
    both = "both"


def adjust_option(default: str = "none") -> Any:
    """The ``--adjust`` option (checked by :func:`cohort.analysis.multiplicity.check_adjust`
    before any data are read, so a bad name fails fast with the list of choices)."""
    return typer.Option(default, "--adjust", help=ADJUST_HELP)


def adjusted_columns(adjust: str) -> list[str]:
    """The summary columns the text output adds for an adjusted family."""
    return ([] if adjust == "none" else
            ["p_adjusted", "ci_lower_adjusted", "ci_upper_adjusted", "adjust"])


PATH_ARG = typer.Argument(..., help="Cohort folder (or .xlsx workbook).")
MAPPING = typer.Option(None, "--mapping", "-m", help="Mapping file (YAML) or preset name.")
FMT = typer.Option(OutputFormat.text, "--format", "-f", case_sensitive=False,
                   help="text: tables on the terminal; json: one JSON document on stdout.")
PARAM = typer.Option("HBA1C", "--param", help="Parameter code, in any case (HBA1C, FPG, "
                     "CPEP_FAST, ...).")
VISIT_DAYS = typer.Option(None, "--visit-days",
                          help="Nominal study days of the visits, comma-separated (e.g. 56,84).")
WINDOW = typer.Option(None, "--window", min=0,
                      help="Visit-window half-width in days (default: 15% of the day, at "
                      "least 7, split at midpoints).")
LAST = typer.Option(False, "--last", help="Also analyse the last available follow-up.")
BASELINE_WINDOW = typer.Option("-90,0", "--baseline-window",
                               help="Baseline window LOWER,UPPER in study days; write it as "
                               "--baseline-window=-90,0.")
EXPORT = typer.Option(None, "--export", help="Also write the table as printed to this file: "
                     ".docx (Word), .xlsx (Excel), .tex (LaTeX), .html or .csv, by extension.")
PLOT = typer.Option(None, "--plot", help="Write the analysis figure to this file (.png, "
                    ".pdf or .svg).")


def _check_export(export: Path | None, plot: Path | None = None) -> None:
    """Refuse a bad --export or --plot path before any data are read."""
    if export is not None:
        from cohort.io.table_export import check_export_path

        check_export_path(export)
    if plot is not None and plot.suffix.lstrip(".").lower() not in ("png", "pdf", "svg"):
        raise _bad("--plot", f"the plot file must end in .png, .pdf or .svg, got {plot}")


def _emit(result: Any, fmt: OutputFormat, path: Path, columns: list[str],
          export: Path | None = None, *, mapping: str | None = None,
          overwrite: bool = False) -> None:
    from cohort import __version__
    from cohort.analysis.result import json_safe

    if export is not None:
        from cohort.analysis.display import CAPTIONS
        from cohort.io.outputs import input_files
        from cohort.io.table_export import export_table

        export_table(result.formatted(columns or None), export,
                     title=CAPTIONS.get(result.analysis, result.analysis), notes=result.notes,
                     inputs=input_files(path, mapping), overwrite=overwrite)
        print(f"table written to {export}", file=sys.stderr)

    if fmt is OutputFormat.json:
        doc = {"cohort_version": __version__, "path": str(path), **result.to_dict()}
        typer.echo(json.dumps(json_safe(doc), allow_nan=False))
        return
    # the result prints itself (cohort.analysis.display): p-values as <0.001, intervals as
    # (lo to hi), decimals from the parameter's unit; its notes under the table
    result.print_summary(columns or None, title=f"{result.analysis}: {path}")


@analyze_app.command("paired", epilog=epilog("analyze paired"))
@guarded
def paired_cmd(
    path: Path = PATH_ARG,
    param: str = PARAM,
    visit_days: str | None = VISIT_DAYS,
    visit: list[str] = VISIT,
    window: int | None = WINDOW,
    last: bool = LAST,
    baseline_window: str = BASELINE_WINDOW,
    by: str | None = typer.Option(None, "--by", help="Group: arm, stratum (baseline HbA1c "
                                  "6.2-8% / > 8%), bmi, duration, onset or a subjects column."),
    cut: float | None = typer.Option(None, "--cut", help="Cut point for a numeric --by column."),
    digits_rank: int | None = typer.Option(None, "--digits-rank", min=1,
                                           help="Round differences to this many significant "
                                           "digits before Wilcoxon ranking (R digits.rank)."),
    plot: Path | None = PLOT,
    overwrite: bool = OVERWRITE,
    population: list[str] = POPULATION,
    export: Path | None = EXPORT,
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FMT,
) -> None:
    """Paired before/after change with t and Wilcoxon signed-rank tests (Matsuoka 2025)."""
    _check_export(export, plot)
    days = parse_int_list(visit_days, "--visit-days")
    bw = parse_window(baseline_window, "--baseline-window")
    c = load_for_cli(path, mapping, population)
    param = resolve_param(param, c)
    from cohort.analysis.paired import paired_analysis

    res = paired_analysis(c.measurements, c.subjects, param=param, visit_days=days,
                          visit_labels=resolve_visits(visit, c),
                          half_width=window, last=last, baseline_window=bw, by=by, cut=cut,
                          digits_rank=digits_rank)
    # the figure first: a result with nothing to draw fails before any output
    if plot is not None:
        from cohort.cli.plot_output import write_figure

        write_figure(res, plot, inputs=[path, mapping], overwrite=overwrite)
    _emit(res, fmt, path, ["visit", "group", "n", "mean_before", "mean_after", "estimate",
                           "ci_lower", "ci_upper", "sd_change", "p", "effect_size",
                           "wilcoxon_p", "n_excluded"], export,
          mapping=mapping, overwrite=overwrite)


@analyze_app.command("ancova", epilog=epilog("analyze ancova"))
@guarded
def ancova_cmd(
    path: Path = PATH_ARG,
    param: str = PARAM,
    visit_days: str | None = VISIT_DAYS,
    visit: list[str] = VISIT,
    window: int | None = WINDOW,
    last: bool = LAST,
    baseline_window: str = BASELINE_WINDOW,
    covariate: list[str] = typer.Option([], "--covariate", help="Extra subjects column "
                                        "(repeatable; numeric: linear, text: factor)."),
    reference: str | None = typer.Option(None, "--reference", help="Reference arm (default: "
                                         "the control arm)."),
    arm_order: str | None = typer.Option(None, "--arm-order", help="Arms in dose order, "
                                         "comma-separated (default: by cells/kg)."),
    adjust: str = adjust_option(),
    ci: CiMethod = CI,
    trend: bool = typer.Option(True, "--trend/--no-trend", help="Linear dose-trend contrast."),
    trend_scores: TrendScores = typer.Option(TrendScores.poly, "--trend-scores",
                                             case_sensitive=False,
                                             help="poly (emmeans) or dose (centred cells/kg)."),
    mmrm: bool = typer.Option(False, "--mmrm", help="Also fit the MMRM over the visits "
                              "(change ~ arm * visit + baseline * visit, unstructured, REML, "
                              "Satterthwaite); `cohort analyze mmrm` has its options."),
    mixed: bool = typer.Option(False, "--mixed", hidden=True, help="Old name of --mmrm."),
    plot: Path | None = PLOT,
    plot_kind: PlotKind = PLOT_KIND,
    overwrite: bool = OVERWRITE,
    population: list[str] = POPULATION,
    export: Path | None = EXPORT,
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FMT,
) -> None:
    """ANCOVA of change per visit: LS means, arms vs reference, dose trend (Skyler 2015)."""
    _check_export(export, plot)
    from cohort.analysis.multiplicity import check_adjust

    adjust = check_adjust(adjust)
    days = parse_int_list(visit_days, "--visit-days")
    bw = parse_window(baseline_window, "--baseline-window")
    order = parse_name_list(arm_order, "--arm-order")
    c = load_for_cli(path, mapping, population)
    param = resolve_param(param, c)
    import warnings

    from cohort.analysis.ancova import ancova_analysis
    from cohort.errors import CohortWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CohortWarning)
        res = ancova_analysis(c.measurements, c.subjects, c.infusions, param=param,
                              visit_days=days, half_width=window, last=last,
                              visit_labels=resolve_visits(visit, c),
                              baseline_window=bw, covariates=covariate, reference=reference,
                              arm_order=order, adjust=adjust, trend=trend,
                              trend_scores=trend_scores.value, mixed=mmrm or mixed,
                              ci=ci.value)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    # the figure first: a result with nothing to draw fails before any output
    if plot is not None:
        from cohort.cli.plot_output import write_figure

        # the ANCOVA's LS means or differences (with --mmrm, `analyze mmrm --plot` has the MMRM's)
        write_figure(res, plot, inputs=[path, mapping], overwrite=overwrite,
                     kind=plot_kind.value)
    _emit(res, fmt, path, ["visit", "model", "kind", "arm", "reference", "estimate", "se",
                           "ci_lower", "ci_upper", "p", *adjusted_columns(adjust), "n",
                           "n_excluded"], export,
          mapping=mapping, overwrite=overwrite)


@analyze_app.command("dose-response", epilog=epilog("analyze dose-response"))
@guarded
def dose_response_cmd(
    path: Path = PATH_ARG,
    param: str = PARAM,
    visit_days: str | None = VISIT_DAYS,
    visit: list[str] = VISIT,
    window: int | None = WINDOW,
    last: bool = LAST,
    baseline_window: str = BASELINE_WINDOW,
    dose: list[str] = typer.Option(["total", "per_kg"], "--dose",
                                   help="Dose measure(s): total (cells) and/or per_kg."),
    dose_threshold: float = typer.Option(1e9, "--dose-threshold", help="Total-dose "
                                         "threshold in cells: change at or above it vs "
                                         "below it."),
    threshold: float | None = hidden(None, "--threshold", new="--dose-threshold"),
    plot: Path | None = PLOT,
    overwrite: bool = OVERWRITE,
    population: list[str] = POPULATION,
    export: Path | None = EXPORT,
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FMT,
) -> None:
    """Correlation, log10-dose regression and dose threshold vs change (Matsuoka 2025)."""
    _check_export(export, plot)
    threshold = alias(dose_threshold, threshold, new="--dose-threshold", old="--threshold",
                      default=1e9)
    days = parse_int_list(visit_days, "--visit-days")
    bw = parse_window(baseline_window, "--baseline-window")
    c = load_for_cli(path, mapping, population)
    param = resolve_param(param, c)
    from cohort.analysis.dose_response import dose_response_analysis

    res = dose_response_analysis(c.measurements, c.subjects, c.infusions, param=param,
                                 visit_days=days, half_width=window, last=last,
                                 visit_labels=resolve_visits(visit, c),
                                 baseline_window=bw, doses=dose, threshold=threshold)
    # the figure first: a result with nothing to draw fails before any output
    if plot is not None:
        from cohort.cli.plot_output import write_figure

        write_figure(res, plot, inputs=[path, mapping], overwrite=overwrite)
    _emit(res, fmt, path, ["visit", "dose", "analysis", "estimate", "ci_lower", "ci_upper",
                           "p", "n", "n_excluded", "method"], export,
          mapping=mapping, overwrite=overwrite)


@analyze_app.command("responders", epilog=epilog("analyze responders"))
@guarded
def responders_cmd(
    path: Path = PATH_ARG,
    visit_days: str | None = typer.Option(None, "--visit-days", help="Visit day(s) of the "
                                          "endpoint (e.g. 84), with nearest-day windows; "
                                          "needed when the data carry no visit labels."),
    visit: list[str] = VISIT,
    window: int | None = WINDOW,
    criterion: list[str] = typer.Option(["HBA1C < 7"], "--criterion",
                                        help="Repeatable: 'HBA1C < 7', 'INSULIN_DOSE "
                                        "pct_change <= -50', 'med:insulin >= 50'."),
    combine: Combine = typer.Option(Combine.all, "--combine", case_sensitive=False,
                                    help="all (AND) or any (OR)."),
    missing: Missing = typer.Option(Missing.exclude, "--missing", case_sensitive=False,
                                    help="exclude undecided subjects, or count them as "
                                    "non-responders."),
    baseline_window: str = BASELINE_WINDOW,
    reference: str | None = typer.Option(None, "--reference", help="Reference arm."),
    adjust: str = typer.Option("none", "--adjust", help="Multiplicity adjustment of the arms "
                               "against the reference: none, holm, hochberg, bonferroni, "
                               "sidak (each test's p-values), dunnett (the odds ratios, "
                               "logistic Wald z)."),
    population: list[str] = POPULATION,
    plot: Path | None = PLOT,
    overwrite: bool = OVERWRITE,
    export: Path | None = EXPORT,
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FMT,
) -> None:
    """Responder rates per arm (Clopper-Pearson, Wilson) and comparisons with the reference."""
    _check_export(export, plot)
    from cohort.analysis.multiplicity import check_adjust

    adjust = check_adjust(adjust)
    days = parse_int_list(visit_days, "--visit-days")
    bw = parse_window(baseline_window, "--baseline-window")
    c = load_for_cli(path, mapping, population)
    from cohort.analysis.responders import responder_analysis

    res = responder_analysis(c.measurements, c.subjects, c.medications, criteria=criterion,
                             visit_days=days, half_width=window,
                             visit_labels=resolve_visits(visit, c), combine=combine.value,
                             missing=missing.value, baseline_window=bw, reference=reference,
                             adjust=adjust)
    # the figure first: a result with nothing to draw fails before any output
    if plot is not None:
        from cohort.cli.plot_output import write_figure

        write_figure(res, plot, inputs=[path, mapping], overwrite=overwrite)
    _emit(res, fmt, path, ["visit", "kind", "arm", "reference", "method", "x", "n",
                           "estimate", "ci_lower", "ci_upper", "p",
                           *(["p_adjusted", "adjust"] if adjust != "none" else []),
                           *(["ci_lower_adjusted", "ci_upper_adjusted"]
                             if adjust == "dunnett" else []),
                           "n_excluded"], export,
          mapping=mapping, overwrite=overwrite)


@analyze_app.command("effect-modification", epilog=epilog("analyze effect-modification"))
@guarded
def effect_modification_cmd(
    path: Path = PATH_ARG,
    by: str = typer.Option("bmi", "--by", help="The effect modifier: bmi (< 23 kg/m2), "
                           "duration (< 10 y), onset (< 18 y), stratum, or a subjects column."),
    subgroup: str | None = hidden(None, "--subgroup", new="--by"),
    cut: float | None = typer.Option(None, "--cut", help="Cut point of a numeric --by column."),
    param: str = PARAM,
    visit_days: str | None = VISIT_DAYS,
    visit: list[str] = VISIT,
    window: int | None = WINDOW,
    last: bool = LAST,
    baseline_window: str = BASELINE_WINDOW,
    covariate: list[str] = typer.Option([], "--covariate", help="Extra numeric subjects "
                                        "column (repeatable)."),
    reference: str | None = typer.Option(None, "--reference", help="Reference arm."),
    ci: CiMethod = CI,
    plot: Path | None = PLOT,
    overwrite: bool = OVERWRITE,
    population: list[str] = POPULATION,
    export: Path | None = EXPORT,
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FMT,
) -> None:
    """Arm x subgroup interaction in the ANCOVA of change, within-subgroup effects (Nguyen)."""
    _check_export(export, plot)
    modifier = alias(by, subgroup, new="--by", old="--subgroup", default="bmi")
    days = parse_int_list(visit_days, "--visit-days")
    bw = parse_window(baseline_window, "--baseline-window")
    c = load_for_cli(path, mapping, population)
    param = resolve_param(param, c)
    from cohort.analysis.effect_modification import effect_modification_analysis

    res = effect_modification_analysis(c.measurements, c.subjects, subgroup=modifier, cut=cut,
                                       param=param, visit_days=days, half_width=window,
                                       visit_labels=resolve_visits(visit, c),
                                       last=last, baseline_window=bw, covariates=covariate,
                                       reference=reference, ci=ci.value)
    # the figure first: a result with nothing to draw fails before any output
    if plot is not None:
        from cohort.cli.plot_output import write_figure

        write_figure(res, plot, inputs=[path, mapping], overwrite=overwrite)
    _emit(res, fmt, path, ["visit", "kind", "subgroup", "arm", "reference", "estimate",
                           "ci_lower", "ci_upper", "statistic", "p", "n", "n_excluded"], export,
          mapping=mapping, overwrite=overwrite)


@analyze_app.command("table1", epilog=epilog("analyze table1"))
@guarded
def table1_cmd(
    path: Path = PATH_ARG,
    by: str = typer.Option("arm", "--by", help="Grouping column of the subjects table."),
    variable: list[str] = typer.Option([], "--variable", help="Subjects column (repeatable; "
                                       "default: demographics present)."),
    baseline_param: list[str] = typer.Option(["HBA1C"], "--baseline-param",
                                             help="Parameter code (any case) whose "
                                             "baseline is added (repeatable)."),
    baseline_window: str = BASELINE_WINDOW,
    reference: str | None = typer.Option(None, "--reference", help="Reference group for SMDs."),
    population: list[str] = POPULATION,
    hba1c_unit: Hba1cUnit = typer.Option(Hba1cUnit.percent, "--hba1c-unit", case_sensitive=False,
                                         help="Baseline HbA1c in %, mmol/mol (IFCC) or both."),
    overwrite: bool = OVERWRITE,
    export: Path | None = EXPORT,
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FMT,
) -> None:
    """Table 1: baseline characteristics by arm and overall, with SMDs."""
    _check_export(export)
    bw = parse_window(baseline_window, "--baseline-window")
    c = load_for_cli(path, mapping, population)
    baseline_param = [resolve_param(p, c) for p in baseline_param]
    from cohort.analysis.table1 import table1

    res = table1(c.subjects, c.measurements, by=by, variables=variable or None,
                 baseline_params=baseline_param, baseline_window=bw, reference=reference,
                 contract=c.contract, hba1c_unit=hba1c_unit.value)
    _emit(res, fmt, path, [], export,
          mapping=mapping, overwrite=overwrite)

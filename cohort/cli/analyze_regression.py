"""``cohort analyze paired|ancova|dose-response|responders|effect-modification|table1``.

The regression analyses of Skyler 2015, Matsuoka 2025 and Nguyen 2021 on any cohort folder.
Heavy libraries are imported inside the commands so that ``cohort --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cohort.cli.analyze import analyze_app
from cohort.cli.analyze_options import (
    BASELINE_WINDOW,
    CI,
    EXPORT,
    FMT,
    LAST,
    MAPPING,
    PARAM,
    PATH_ARG,
    PLOT,
    PLOT_KIND,
    VISIT_DAYS,
    WINDOW,
    CiMethod,
    Combine,
    Hba1cUnit,
    Missing,
    PlotKind,
    TrendScores,
    adjust_option,
    adjusted_columns,
    check_export,
    emit_result,
)
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
    check_export(export, plot)
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
    emit_result(res, fmt, path, ["visit", "group", "n", "mean_before", "mean_after", "estimate",
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
    check_export(export, plot)
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
    emit_result(res, fmt, path, ["visit", "model", "kind", "arm", "reference", "estimate", "se",
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
    check_export(export, plot)
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
    emit_result(res, fmt, path, ["visit", "dose", "analysis", "estimate", "ci_lower", "ci_upper",
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
    check_export(export, plot)
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
    emit_result(res, fmt, path, ["visit", "kind", "arm", "reference", "method", "x", "n",
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
    check_export(export, plot)
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
    emit_result(res, fmt, path, ["visit", "kind", "subgroup", "arm", "reference", "estimate",
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
    check_export(export)
    bw = parse_window(baseline_window, "--baseline-window")
    c = load_for_cli(path, mapping, population)
    baseline_param = [resolve_param(p, c) for p in baseline_param]
    from cohort.analysis.table1 import table1

    res = table1(c.subjects, c.measurements, by=by, variables=variable or None,
                 baseline_params=baseline_param, baseline_window=bw, reference=reference,
                 contract=c.contract, hba1c_unit=hba1c_unit.value)
    emit_result(res, fmt, path, [], export,
          mapping=mapping, overwrite=overwrite)

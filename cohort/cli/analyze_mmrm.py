"""``cohort analyze mmrm``: mixed model for repeated measures of change from baseline.

Heavy libraries are imported inside the command so that ``cohort --help`` stays fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from cohort.cli.analyze import analyze_app
from cohort.cli.analyze_options import (
    BASELINE_WINDOW,
    CI,
    EXPORT,
    FMT,
    MAPPING,
    PARAM,
    PATH_ARG,
    PLOT,
    PLOT_KIND,
    WINDOW,
    CiMethod,
    PlotKind,
    check_export,
    emit_result,
)
from cohort.cli.app import POPULATION, VISIT, OutputFormat, guarded
from cohort.cli.examples import epilog
from cohort.cli.safe_output import OVERWRITE
from cohort.cli.vocabulary import (
    alias,
    hidden,
    parse_int_list,
    parse_window,
    resolve_param,
    resolve_visits,
)


class Covariance(StrEnum):
    """Covariance structures over visits (SAS type= in brackets)."""

    us = "us"
    cs = "cs"
    csh = "csh"
    ar1 = "ar1"
    ar1h = "ar1h"
    toep = "toep"
    toeph = "toeph"


class DfMethod(StrEnum):
    """Denominator degrees of freedom."""

    satterthwaite = "satterthwaite"
    kr = "kr"
    kr_linear = "kr-linear"
    residual = "residual"
    between_within = "between-within"


class Vcov(StrEnum):
    """Covariance of the fixed effects."""

    model = "model"
    empirical = "empirical"


class Method(StrEnum):
    """Estimation method."""

    reml = "reml"
    ml = "ml"


COLUMNS = ["visit", "kind", "arm", "reference", "estimate", "se", "df", "statistic", "p",
           "ci_lower", "ci_upper", "p_adjusted", "n", "n_excluded"]


def run_mmrm(path: Path, *, param: str, visit_days: str | None, window: int | None,
             baseline_window: str, covariate: list[str], reference: str | None,
             cov: Covariance, df: DfMethod, method: Method, adjust: str | None,
             mapping: str | None, fmt: OutputFormat, vcov: str = "model",
             cov_by_arm: bool = False, population: list[str] | None = None,
             visit: list[str] | None = None, ci: str = "t", export: Path | None = None,
             overwrite: bool = False, plot: Path | None = None,
             plot_kind: str = "lsmean") -> None:
    """Load the cohort, fit the MMRM and print it (and ``--export`` its table); with
    ``plot``, write the LS means over the visits there."""
    from cohort.analysis.multiplicity import check_adjust
    from cohort.cli.plot_output import check_plot_path, write_figure
    from cohort.errors import AnalysisError

    check_export(export)
    if plot is not None:
        check_plot_path(plot)
    days = parse_int_list(visit_days, "--visit-days")
    bw = parse_window(baseline_window, "--baseline-window")
    try:
        adjust = check_adjust(adjust)
    except AnalysisError as exc:
        raise AnalysisError(f"--adjust: {exc}") from None
    from cohort.cli.app import load_for_cli

    c = load_for_cli(path, mapping, population)
    param = resolve_param(param, c)
    from cohort.analysis.mmrm.analysis import mmrm_analysis

    res = mmrm_analysis(c.measurements, c.subjects, param=param, visit_days=days,
                        visit_labels=resolve_visits(visit, c),
                        half_width=window, baseline_window=bw, covariates=covariate,
                        reference=reference, covariance=cov.value, method=method.value,
                        df=df.value, vcov=vcov, cov_by_arm=cov_by_arm, adjust=adjust,
                        ci=ci)
    cols = COLUMNS if adjust != "none" else [c for c in COLUMNS if c != "p_adjusted"]
    # the figure first: a result with nothing to draw fails before any output
    if plot is not None:
        write_figure(res, plot, inputs=[path, mapping], overwrite=overwrite, kind=plot_kind)
    emit_result(res, fmt, path, cols, export, mapping=mapping, overwrite=overwrite)
    if fmt is OutputFormat.text:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
            print(f"\nType 3 tests ({df.value} df):\n{res.type3.to_string(index=False)}")
        fs = res.fit_statistics
        print(f"-2 {'Res ' if method is Method.reml else ''}Log Like {fs['minus2ll']:.4f}, "
              f"AIC {fs['aic']:.4f}, BIC {fs['bic']:.4f}; {fs['n_records']} records of "
              f"{fs['n_subjects']} subjects", file=sys.stderr)


@analyze_app.command("mmrm", epilog=epilog("analyze mmrm"))
@guarded
def mmrm_cmd(
    path: Path = PATH_ARG,
    param: str = PARAM,
    visit_days: str | None = typer.Option(None, "--visit-days",
                                          help="Nominal study days of the visits (at least "
                                          "two), comma-separated (e.g. 7,56,84)."),
    visit: list[str] = VISIT,
    window: int | None = WINDOW,
    baseline_window: str = BASELINE_WINDOW,
    covariate: list[str] = typer.Option([], "--covariate", help="Extra subjects column "
                                        "(repeatable; numeric: linear, text: factor)."),
    reference: str | None = typer.Option(None, "--reference", help="Reference arm (default: "
                                         "the control arm)."),
    covariance: Covariance = typer.Option(Covariance.us, "--covariance", case_sensitive=False,
                                          help="Covariance over visits: us (unstructured), "
                                          "cs, csh, ar1, ar1h, toep, toeph (SAS UN, CS, CSH, "
                                          "AR(1), ARH(1), TOEP, TOEPH)."),
    cov: Covariance | None = hidden(None, "--cov", new="--covariance"),
    df: DfMethod = typer.Option(DfMethod.satterthwaite, "--df", case_sensitive=False,
                                help="Degrees of freedom: satterthwaite, kr (SAS ddfm=kr), "
                                "kr-linear (SAS ddfm=kr(linear)), residual, between-within."),
    method: Method = typer.Option(Method.reml, "--method", case_sensitive=False,
                                  help="reml or ml."),
    covariance_by_arm: bool = typer.Option(False, "--covariance-by-arm",
                                           help="A separate covariance per arm (SAS "
                                           "REPEATED / GROUP=arm)."),
    cov_by_arm: bool = hidden(False, "--cov-by-arm", new="--covariance-by-arm"),
    vcov: Vcov = typer.Option(Vcov.model, "--vcov", case_sensitive=False,
                              help="model (model-based SEs) or empirical (sandwich, SAS "
                              "EMPIRICAL; with --df between-within or residual)."),
    adjust: str | None = typer.Option(None, "--adjust", help="Multiplicity adjustment of the "
                                      "arms vs reference at each visit: none, dunnett, holm, "
                                      "hochberg, bonferroni, sidak."),
    ci: CiMethod = CI,
    plot: Path | None = PLOT,
    plot_kind: PlotKind = PLOT_KIND,
    population: list[str] = POPULATION,
    export: Path | None = EXPORT,
    overwrite: bool = OVERWRITE,
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FMT,
) -> None:
    """MMRM of change from baseline: LS means per visit, arms vs reference (SAS PROC MIXED).

    change ~ arm * visit + baseline * visit, with an unstructured covariance over visits,
    REML and Satterthwaite degrees of freedom by default.
    """
    cov = alias(covariance, cov, new="--covariance", old="--cov", default=Covariance.us)
    cov_by_arm = covariance_by_arm or cov_by_arm
    run_mmrm(path, param=param, visit_days=visit_days, window=window,
             baseline_window=baseline_window, covariate=covariate, reference=reference,
             cov=cov, df=df, method=method, adjust=adjust, mapping=mapping, fmt=fmt,
             export=export, overwrite=overwrite, vcov=vcov.value, cov_by_arm=cov_by_arm,
             population=population, visit=visit, ci=ci.value, plot=plot,
             plot_kind=plot_kind.value)

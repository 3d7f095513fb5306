"""The options and the output of ``cohort analyze`` commands: one spelling, one meaning each.

Shared by every analysis command (paired, ancova, mmrm, dose-response, responders,
effect-modification, table1): the option objects (``--param``, ``--visit-days``, ``--window``,
``--baseline-window``, ``--export``, ``--plot``, ...), their choice enums, the check of an
``--export``/``--plot`` path before any data are read, and :func:`emit_result`, which prints a
result (text or one JSON document) and exports its table.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cohort.cli.app import OutputFormat

__all__ = ["BASELINE_WINDOW", "CI", "EXPORT", "FMT", "LAST", "MAPPING", "PARAM", "PATH_ARG",
           "PLOT", "PLOT_KIND", "VISIT_DAYS", "WINDOW", "CiMethod", "Combine", "Hba1cUnit",
           "Missing", "PlotKind", "TrendScores", "adjust_option", "adjusted_columns",
           "check_export", "emit_result"]


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


def check_export(export: Path | None, plot: Path | None = None) -> None:
    """Refuse a bad --export or --plot path before any data are read."""
    if export is not None:
        from cohort.io.table_export import check_export_path

        check_export_path(export)
    if plot is not None and plot.suffix.lstrip(".").lower() not in ("png", "pdf", "svg"):
        raise _bad("--plot", f"the plot file must end in .png, .pdf or .svg, got {plot}")


def emit_result(result: Any, fmt: OutputFormat, path: Path, columns: list[str],
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

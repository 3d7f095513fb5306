"""``cohort validate`` and ``cohort dictionary``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from cohort.cli.app import OutputFormat, app, guarded
from cohort.cli.examples import epilog
from cohort.cli.safe_output import OVERWRITE


@app.command(epilog=epilog("validate"))
@guarded
def validate(
    path: Path = typer.Argument(..., help="Cohort folder, or an .xlsx workbook with a sheet "
                                "per table."),
    mapping: str | None = typer.Option(None, "--mapping", "-m",
                                       help="Mapping file (YAML) or preset name (adam)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", case_sensitive=False,
                                     help="text: a table on the terminal; json: one JSON "
                                     "document on stdout."),
    engine: str = typer.Option("auto", "--engine",
                               help="How the contract's checks run: auto (= native: polars "
                               "expressions), or pandera's pandas or polars backend (the "
                               "same findings, slower)."),
    population: list[str] = typer.Option([], "--population",
                                         help="Keep only the subjects a subjects flag selects "
                                         "(e.g. ITT for ADaM ITTFL = Y), in every table; "
                                         "repeatable."),
    max_findings: int | None = typer.Option(None, "--max-findings", min=0,
                                            help="Show at most this many findings (text "
                                            "default: 50; json default: all)."),
) -> None:
    """Check a cohort folder against the data contract.

    Exit code 0 when valid (warnings allowed), 1 when the data break the contract, 2 when the
    input cannot be read (missing folder, unreadable file, bad mapping).
    """
    engine = engine.strip().lower()
    if engine not in ("auto", "native", "pandas", "polars"):
        raise typer.BadParameter("must be auto, native, pandas or polars",
                                 param_hint="--engine")
    from cohort.validation import validate as run

    report = run(path, mapping=mapping, engine=engine,  # type: ignore[arg-type]
                 population=population)
    if fmt is OutputFormat.json:
        typer.echo(report.to_json(max_findings))
    else:
        _print_text(report, 50 if max_findings is None else max_findings)
    raise typer.Exit(report.exit_code)


NARROW = 120
"""Consoles narrower than this get findings as paragraphs rather than a table."""


def _cell(value: Any) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _print_text(report: Any, max_rows: int) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cohort.cli.safe_output import SafeConsole as Console

    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        # piped into a file or a CI log: nothing forces 80 columns, and a wide table reads
        # better than one folded into narrow cells
        console = Console(highlight=False, soft_wrap=False, width=200)
    status = ("[green]valid[/green]" if report.valid else
              "[red]cannot be read[/red]" if report.exit_code == 2 else "[red]invalid[/red]")
    console.print(f"[bold]{escape(report.path)}[/bold]: {status} - {report.n_errors} errors, "
                  f"{report.n_warnings} warnings"
                  + (f" (mapping {escape(report.mapping)})" if report.mapping else ""))
    if len(report.tables):
        read = ", ".join(f"{r.table} {r.rows} rows" for r in report.tables.itertuples())
        console.print(f"read: {escape(read)}")
    for r in report.conversions.itertuples():
        console.print(f"converted {r.n} {escape(r.param)} values from {escape(r.from_unit)} "
                      f"to {escape(r.to_unit)} ({escape(r.rule)})")
    for r in report.derivations.itertuples():
        console.print(f"derived {r.n} {escape(r.table)}.{escape(r.column)} values: "
                      f"{escape(r.rule)}")
    if report.findings.empty:
        return
    shown = report.findings.head(max_rows)
    if console.width >= NARROW:
        table = Table(show_lines=False, expand=False)
        for col in ("severity", "table", "file", "row", "column", "rule", "value", "message"):
            table.add_column(col, overflow="fold", no_wrap=col in ("severity", "row"),
                             justify="right" if col == "row" else "left",
                             max_width=90 if col == "message" else 28)
        for rec in shown.itertuples(index=False):
            style = "red" if rec.severity == "error" else "yellow"
            table.add_row(*(escape(_cell(v)) for v in rec), style=style)
        console.print(table)
    else:
        # a table folded into 80 columns is unreadable: one finding per paragraph instead
        for rec in shown.itertuples(index=False):
            style = "red" if rec.severity == "error" else "yellow"
            where = ", ".join(p for p in (
                _cell(rec.file), f"row {_cell(rec.row)}" if _cell(rec.row) else "",
                f"column {_cell(rec.column)}" if _cell(rec.column) else "") if p)
            value = f" value {_cell(rec.value)!r}" if _cell(rec.value) else ""
            console.print(f"[{style}]{rec.severity}[/{style}] {escape(_cell(rec.table))} "
                          f"{escape(where)} {escape(f'[{rec.rule}]')}{escape(value)}",
                          soft_wrap=True)
            console.print(f"    {escape(rec.message)}", soft_wrap=True)
    if len(report.findings) > max_rows:
        console.print(f"... {len(report.findings) - max_rows} more findings (--max-findings N, "
                      "or --format json for all). Counts by rule:")
        for r in report.summary.itertuples():
            console.print(f"  {r.severity:7} {escape(r.table or '-'):15} {escape(r.rule):28} "
                          f"{r.n}")


@app.command(epilog=epilog("dictionary"))
@guarded
def dictionary(
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Write the Markdown here instead of stdout."),
    overwrite: bool = OVERWRITE,
    mapping: str | None = typer.Option(
        None, "--mapping", "-m", help="Mapping file (or preset) whose declared extras "
        "(study-specific variables and parameters) the dictionary includes."),
) -> None:
    """Print the data dictionary (Markdown), generated from the contract in schemas/ (and
    the extras a mapping declares)."""
    from cohort.contract import data_dictionary
    from cohort.extras import extend_contract
    from cohort.io.mapping import read_mapping
    from cohort.io.write import write_output_file

    extras = read_mapping(mapping).extras if mapping is not None else None
    text = data_dictionary(extend_contract(None, extras))
    if out is None:
        typer.echo(text)
    else:
        write_output_file(out, text + "\n", kind="dictionary", overwrite=overwrite)
        typer.echo(f"wrote {out}", err=True)

"""``cohort synth`` and ``cohort studies``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from cohort.cli.app import EXIT_INVALID, OutputFormat, app, fail, guarded
from cohort.cli.examples import epilog
from cohort.cli.safe_output import OVERWRITE


@app.command(epilog=epilog("studies"))
@guarded
def studies(
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", case_sensitive=False,
                                     help="text: a table; json: one JSON document on stdout."),
) -> None:
    """List the registered published studies (synthetic/<study>/spec.yaml)."""
    from cohort.spec.registry import registered_studies

    entries = registered_studies()
    if fmt is OutputFormat.json:
        from cohort import __version__

        typer.echo(json.dumps({"cohort_version": __version__,
                               "studies": [e.to_dict() for e in entries]}, indent=2))
        return
    from rich.markup import escape
    from rich.table import Table

    from cohort.cli.safe_output import SafeConsole as Console

    table = Table(show_lines=False)
    for col in ("study", "type", "arms (n)", "targets", "title"):
        table.add_column(col, overflow="fold")
    for e in entries:
        arms = ", ".join(f"{k} {v}" for k, v in e.arms.items())
        table.add_row(e.id, e.diabetes_type, escape(arms), str(e.n_targets), escape(e.title))
    Console(highlight=False, soft_wrap=False).print(table)


@app.command(epilog=epilog("synth"))
@guarded
def synth(
    study: str = typer.Argument(..., help="A registered study (see `cohort studies`) or the "
                                "path of a study spec (.yaml)."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Cohort folder to write: new, empty, or an "
                                    "earlier output of `cohort synth` (then replaced)."),
    seed: int | None = typer.Option(None, "--seed", min=0,
                                    help="Random seed (default: the spec's study.seed)."),
    n: int | None = typer.Option(None, "--n", min=1,
                                 help="Total subjects, spread over the arms in the published "
                                 "proportions (default: the published sizes)."),
    check: bool = typer.Option(False, "--check",
                               help="Print the fidelity scorecard: published vs generated "
                               "for every baseline target; exit 1 if one fails."),
    exact: bool = typer.Option(True, "--exact/--no-exact",
                               help="Match published means and SDs exactly (default on)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", case_sensitive=False,
                                     help="text or json (one JSON document on stdout)."),
    overwrite: bool = OVERWRITE,
) -> None:
    """Generate a synthetic cohort from a published study's spec (or your own spec file).

    Exit code 0 on success, 1 when --check finds a baseline target outside its tolerance,
    2 when the spec or the options are invalid.
    """
    if out is None and not check:
        raise fail("give --out DIR (or --check to only score the cohort)")
    from cohort.io.outputs import check_output_folder, input_files
    from cohort.spec.registry import resolve_spec
    from cohort.synth.generate import synthesize

    inputs = input_files(study) if Path(study).is_file() else []
    if out is not None:  # refuse before the work, not after it
        check_output_folder(out, kind="cohort", inputs=inputs, overwrite=overwrite)
    spec, ref = resolve_spec(study)
    result = synthesize(spec, seed=seed, n=n, exact=exact)
    if out is not None:
        result.write(out, spec_ref=ref, overwrite=overwrite, inputs=inputs)
        typer.echo(f"wrote {out} ({result.n} subjects; "
                   + ", ".join(f"{k} {v} rows" for k, v in result.summary()["rows"].items())
                   + ")", err=True)
    card = None
    if check:
        from cohort.studies.scorecard import scorecard

        card = scorecard(spec, result.tables)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    failed = card is not None and not card.passed
    error = None
    if failed:
        n = card.counts()["fail"]
        error = (f"{n} baseline target{'s' if n != 1 else ''} of {ref} outside "
                 f"{'their' if n != 1 else 'its'} tolerance (the scorecard lists them)")
    if fmt is OutputFormat.json:
        from cohort import __version__
        from cohort.analysis.result import json_safe

        doc: dict[str, Any] = {"cohort_version": __version__, **result.summary(),
                               "spec": ref, "out": str(out) if out is not None else None,
                               "command": result.command(ref, str(out or "OUT"))}
        if card is not None:
            doc["scorecard"] = card.to_dict()
        if failed:  # a failure's document: its exit code and error, as every command's
            doc.update(exit_code=EXIT_INVALID, error=error)
        typer.echo(json.dumps(json_safe(doc), indent=2))
    else:
        _print_text(result, card, ref, out)
    if failed:
        typer.echo(f"cohort: error: {error}", err=True)
        raise typer.Exit(EXIT_INVALID)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.4g}"
    return str(value)


def _print_text(result: Any, card: Any, ref: str, out: Path | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cohort.cli.safe_output import SafeConsole as Console

    console = Console(highlight=False, soft_wrap=False)
    arms = ", ".join(f"{k} {v}" for k, v in result.n_per_arm.items())
    where = f" -> {escape(str(out))}" if out is not None else ""
    console.print(f"[bold]{escape(result.spec.study.id)}[/bold]: {result.n} subjects "
                  f"({escape(arms)}), seed {result.seed}{where}")
    if card is None:
        return
    from cohort.studies.scorecard import TOLERANCE_RULE

    table = Table(show_lines=False)
    for col in ("target", "published", "cmp", "generated", "tol", "status"):
        table.add_column(col, overflow="fold")
    checked = card.checked
    for r in checked.itertuples():
        style = "green" if r.status == "pass" else "red"
        table.add_row(escape(r.id), _fmt(r.published), r.comparison, _fmt(r.generated),
                      _fmt(r.tolerance), f"[{style}]{r.status}[/{style}]")
    console.print(table)
    c = card.counts()
    console.print(f"baseline targets: {c['pass']} pass, {c['fail']} fail; {c['not_checked']} "
                  "outcome targets not checked here (reproduced by the analyses)")
    console.print(f"tolerance: {escape(TOLERANCE_RULE)}")

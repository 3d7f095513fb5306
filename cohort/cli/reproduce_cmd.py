"""``cohort reproduce``: published numbers of a study next to the reproduced ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from cohort.cli.app import EXIT_INTERNAL, OutputFormat, app, guarded, load_for_cli
from cohort.cli.examples import epilog
from cohort.cli.safe_output import OVERWRITE


@app.command(epilog=epilog("reproduce"))
@guarded
def reproduce(
    study: str | None = typer.Argument(None, help="A registered study (see `cohort studies`) "
                                       "or the path of a study spec (.yaml)."),
    data: Path | None = typer.Option(None, "--data", "-d",
                                     help="Your cohort folder (or workbook): validated, then "
                                     "the study's analyses run on it. Default: the study's "
                                     "synthetic cohort."),
    mapping: str | None = typer.Option(None, "--mapping", "-m",
                                       help="Mapping file (or preset) for --data: your column "
                                       "names and codes (e.g. arm names) onto the contract."),
    seed: int | None = typer.Option(None, "--seed", min=0,
                                    help="Synthesise the study's cohort with this seed "
                                    "(default: the committed cohort of the spec's seed)."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Folder to write reproduce.json (and report.html) "
                                    "into; with --all, one subfolder per study. New, empty, "
                                    "or an earlier output of `cohort reproduce`."),
    all_studies: bool = typer.Option(False, "--all",
                                     help="Reproduce every registered study (progress on "
                                     "stderr)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", case_sensitive=False,
                                     help="text: a table; json: one JSON document on stdout."),
    overwrite: bool = OVERWRITE,
) -> None:
    """Reproduce a published study: every published target next to the number reproduced on
    the study's synthetic cohort, or on your cohort with --data.

    Each target says whether it agrees (and by which rule), and whether the spec parameters
    it rests on were published or assumed. Exit code 0 when the run completed (whatever the
    agreement), 1 when --data breaks the data contract, 2 for bad options or a bad spec,
    3 when a report could not be written (a bug).
    """
    from cohort.errors import CohortError
    from cohort.io.outputs import check_output_folder, input_files

    inputs = input_files(data, mapping, study if study and Path(study).is_file() else None)
    if out is not None:  # refuse before the work, not after it
        check_output_folder(out, kind="reproduce", inputs=inputs, overwrite=overwrite)
    if all_studies:
        if study is not None or data is not None or mapping is not None:
            raise CohortError("--all reproduces every registered study on its synthetic "
                              "cohort; give no STUDY, --data or --mapping with it")
        _all(out=out, seed=seed, fmt=fmt, overwrite=overwrite)
        return
    if study is None:
        raise CohortError("give a STUDY (see `cohort studies`) or a spec file, or --all")
    if data is not None and seed is not None:
        raise CohortError(f"give either --data (your cohort) or --seed (a synthetic cohort "
                          f"generated with it), not both; got --data {data} --seed {seed}")
    if mapping is not None and data is None:
        raise CohortError(f"--mapping {mapping} applies to your own cohort: give --data too")
    result = _run(study, data=data, mapping=mapping, seed=seed, out=out, fmt=fmt)
    written = {}
    if out is not None:
        command = getattr(result, "command", None)
        written = _write_folder(out, {"": result}, overwrite=overwrite, inputs=inputs,
                                command=command)[""]
    if fmt is OutputFormat.json:
        doc = result.to_dict()
        doc["written"] = {k: str(v) for k, v in written.items()}
        if "report_error" in written:  # a failure's document: exit code and error
            doc.update(exit_code=EXIT_INTERNAL,
                       error=f"report.html not written ({written['report_error']}); this is a "
                       "bug in cohort: the numbers are in reproduce.json")
        typer.echo(json.dumps(doc, indent=2, allow_nan=False))
    else:
        _print_text(result)
        for what, path in written.items():
            typer.echo(f"wrote {what}: {path}", err=True)
    if "report_error" in written:
        raise typer.Exit(EXIT_INTERNAL)


def _command(study: str, *, data: Any, mapping: Any, seed: Any, out: Any, fmt: Any) -> str:
    parts = ["cohort", "reproduce", study]
    for flag, value in (("--data", data), ("--mapping", mapping), ("--seed", seed),
                        ("--out", out)):
        if value is not None:
            parts += [flag, str(value)]
    if fmt is OutputFormat.json:
        parts += ["--format", "json"]
    return " ".join(parts)


def _run(study: str, *, data: Path | None, mapping: str | None, seed: int | None,
         out: Path | None, fmt: OutputFormat) -> Any:
    from cohort.spec.registry import resolve_spec
    from cohort.studies.reproduce import open_study_cohort, reproduce_cohort

    spec, ref = resolve_spec(study)
    command = _command(ref, data=data, mapping=mapping, seed=seed, out=out, fmt=fmt)
    options = {"data": None if data is None else str(data), "mapping": mapping, "seed": seed,
               "out": None if out is None else str(out), "format": fmt.value}
    if data is not None:
        from cohort.studies.reproduce import spec_mapping

        cohort = load_for_cli(data, mapping if mapping is not None else spec_mapping(spec))
        return reproduce_cohort(spec, cohort, data_description=f"cohort {data}",
                                command=command, options=options)
    cohort, what, used, kept = open_study_cohort(spec, ref, seed=seed)
    if "regenerated from the spec" in what:
        typer.echo(f"cohort: warning: {spec.study.id}: {what}", err=True)
    return reproduce_cohort(spec, cohort, data_description=what, command=command,
                            options=options, seed=used, files_kept=kept)


def _write_folder(out: Path, results: dict[str, Any], *, overwrite: bool,
                  inputs: list[Path], command: str | None) -> dict[str, dict[str, Any]]:
    """Write each result into ``out`` (or its subfolder named by the key), as one atomic
    folder with cohort's manifest; return what was written per key."""
    from cohort.io.write import write_output_folder

    written: dict[str, dict[str, Any]] = {}

    def fill(tmp: Path) -> None:
        for key, result in results.items():
            folder = tmp / key if key else tmp
            folder.mkdir(exist_ok=True)
            final = out / key if key else out
            written[key] = {name: (final / name if isinstance(path, Path) else path)
                            for name, path in _write(result, folder).items()}

    write_output_folder(out, fill, kind="reproduce", command=command, inputs=inputs,
                        overwrite=overwrite)
    return written


def _write(result: Any, out: Path) -> dict[str, Any]:
    """reproduce.json and, when the report builder exists, report.html, into folder ``out``."""
    written: dict[str, Any] = {}
    path = out / "reproduce.json"
    path.write_text(json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n",
                    encoding="utf-8")
    written["reproduce.json"] = path
    write_report = _report_writer()
    if write_report is None:
        return written
    spec = result.study
    html = out / "report.html"
    try:
        write_report(result.cohort, html, reproduction=result,
                     title=f"{spec.study.id}: {spec.study.title}")
    except OSError:
        raise  # a full or read-only disk: the whole folder is not written (exit 2)
    except Exception as exc:  # the numbers are written; say why the report is not
        typer.echo(f"cohort: error: {spec.study.id}: report.html not written "
                   f"({type(exc).__name__}: {exc})", err=True)
        written["report_error"] = f"{type(exc).__name__}: {exc}"
        return written
    written["report.html"] = html
    return written


def _report_writer() -> Any:
    try:
        from cohort.report import study as report_study
    except ImportError:
        return None
    return getattr(report_study, "write_report", None)


def _all(*, out: Path | None, seed: int | None, fmt: OutputFormat, overwrite: bool) -> None:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from cohort.cli.safe_output import SafeConsole as Console
    from cohort.spec.registry import registered_studies

    entries = registered_studies()
    results, written = [], {}
    err = Console(stderr=True, highlight=False)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
               "{task.total}"), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task("reproducing", total=len(entries))
        for e in entries:
            progress.update(task, description=f"reproducing {e.id}")
            result = _run(e.id, data=None, mapping=None, seed=seed,
                          out=None if out is None else out / e.id, fmt=fmt)
            results.append(result)
            progress.advance(task)
        if out is not None:
            progress.update(task, description=f"writing {out}")
            written = _write_folder(out, {r.study.study.id: r for r in results},
                                    overwrite=overwrite, inputs=[],
                                    command="cohort reproduce --all")
        progress.update(task, description="done")
    failed = [k for k, w in written.items() if "report_error" in w]
    if fmt is OutputFormat.json:
        from cohort import __version__

        doc = {"cohort_version": __version__, "studies": [r.to_dict() for r in results],
               "written": {k: {n: str(p) for n, p in w.items()} for k, w in written.items()}}
        if failed:  # a failure's document: exit code and error
            doc.update(exit_code=EXIT_INTERNAL,
                       error=f"report.html not written for {', '.join(failed)}; this is a bug "
                       "in cohort: the numbers are in each reproduce.json")
        typer.echo(json.dumps(doc, indent=2, allow_nan=False))
    else:
        _print_overview(results, written)
    if failed:
        raise typer.Exit(EXIT_INTERNAL)


# ---------------------------------------------------------------------------- text output

_STYLE = {"agrees": "green", "compatible": "cyan", "differs": "red",
          "not computable": "yellow"}


def _print_text(result: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cohort.cli.safe_output import SafeConsole as Console

    console = Console(highlight=False)
    s = result.study.study
    console.print(f"[bold]{escape(s.id)}[/bold]: {escape(s.title)}")
    console.print(escape(" ".join(s.citation.split())))
    console.print(f"data: {escape(result.data)}")
    for line in result.headline():
        style = "bold yellow" if "NOT COMPUTABLE" in line else "bold"
        console.print(f"[{style}]{escape(line)}[/{style}]")
    for text in s.conflicts:
        console.print(f"[yellow]conflict in the sources:[/yellow] {escape(' '.join(text.split()))}")
    table = Table(show_lines=False)
    table.add_column("target", overflow="fold", ratio=2)
    table.add_column("published", overflow="fold", ratio=2)
    table.add_column("reproduced (95% CI)", overflow="fold", ratio=3)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("agreement", overflow="fold", ratio=3)
    table.add_column("kind", no_wrap=True)
    table.add_column("inputs", no_wrap=True)
    summary = result.summary
    ordered = summary.sort_values("primary", ascending=False, kind="stable")
    for r in ordered.itertuples():
        style = _STYLE.get(r.agreement, "")
        n = "" if r.n is None or r.n != r.n else str(int(r.n))
        inputs = r.inputs if r.inputs == "published" else f"[yellow]{r.inputs}[/yellow]"
        rule = f"\n[dim]{escape(r.agreement_rule)}[/dim]" if r.agreement_rule else ""
        note = f"\n[dim]note: {escape(str(r.note))}[/dim]" if r.note else ""
        name = escape(r.target) + (" [bold](primary)[/bold]" if r.primary else "")
        kind = "calibrated" if r.kind == "calibrated" else "independent"
        table.add_row(name, escape(r.published) + note, escape(r.reproduced), n,
                      f"[{style}]{r.agreement}[/{style}]{rule}", kind, inputs)
    console.print(table)
    for r in ordered.itertuples():
        if r.status != "computed":
            console.print(f"[yellow]not computable[/yellow] {escape(r.target)}: "
                          f"{escape(str(r.reason))}")
    console.print("calibrated: the generator was given the published number and reads it "
                  "back (a check of the generator, not an independent reproduction); "
                  "compatible: the published value lies inside the reproduced 95% CI but does "
                  "not match at its printed precision (not agreement).")
    console.print(escape(result.assumed_line()))


def _print_overview(results: list[Any], written: dict[str, dict[str, Any]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    from cohort.cli.safe_output import SafeConsole as Console

    console = Console(highlight=False)
    # one short header per column and the verdicts other than agreement in one cell: the
    # table fits 80 columns without breaking a word or a number
    from rich import box

    table = Table(show_lines=False, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("study", no_wrap=True)
    table.add_column("primary", min_width=11)
    table.add_column("independent", justify="right", no_wrap=True)
    table.add_column("calibrated", justify="right", no_wrap=True)
    table.add_column("other verdicts", min_width=14)
    table.add_column("assumed", justify="right", no_wrap=True)
    for r in results:
        c = r.counts()
        kc = r.kind_counts()
        prim = r.primary()
        verdict = ", ".join(str(a) for a in prim["agreement"]) or "not declared"
        other = ", ".join(f"{c[k]} {k}" for k in ("compatible", "differs", "not computable")
                          if c[k]) or "none"
        table.add_row(escape(r.study.study.id), escape(verdict),
                      f"{kc['independent']['agrees']}/{kc['independent']['total']}",
                      f"{kc['calibrated']['agrees']}/{kc['calibrated']['total']}",
                      other, str(len(r.assumed_targets())))
    console.print(table)
    console.print("independent, calibrated: targets that agree / targets of that kind; "
                  "calibrated targets are inputs the generator was given and reads back, "
                  "independent targets are computed by the analyses; assumed: inputs the "
                  "spec assumes (not published).")
    reports = [w["report.html"] for w in written.values() if "report.html" in w]
    if reports:
        console.print("reports:")
        for p in reports:
            console.print(f"  {escape(str(p))}")
    elif written:
        console.print("results: " + ", ".join(escape(str(w["reproduce.json"]))
                                              for w in written.values()))

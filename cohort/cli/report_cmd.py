"""``cohort report PATH --out FILE.html``: the self-contained HTML report of a cohort."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from cohort.cli.app import OutputFormat, app, guarded, load_for_cli
from cohort.cli.examples import epilog
from cohort.cli.safe_output import OVERWRITE


def _study_spec(study: str) -> Any:
    """The spec of a registered study (or spec file), checked before any work is done."""
    from cohort.errors import CohortError

    try:
        import cohort.studies.reproduce  # noqa: F401
    except ImportError:
        raise CohortError(f"--study {study}: study reproduction (cohort.studies.reproduce) is "
                          "not available in this installation; run the report without "
                          "--study") from None
    from cohort.spec.registry import resolve_spec

    return resolve_spec(study)[0]


def _reproduce(spec: Any, study: str, cohort: Any, path: Path, mapping: str | None) -> Any:
    """Reproduce a study's published targets on the loaded ``cohort``."""
    from cohort.studies.reproduce import reproduce_cohort

    # the cohort is already validated: reproduce on it rather than reading PATH again
    return reproduce_cohort(spec, cohort, data_description=f"cohort {path}",
                            command=f"cohort report {path} --study {study}",
                            options={"data": str(path), "mapping": mapping})


@app.command(epilog=epilog("report"))
@guarded
def report(
    path: Path = typer.Argument(..., help="Cohort folder (or .xlsx workbook)."),
    out: Path = typer.Option(..., "--out", "-o", help="HTML file to write (atomically); an "
                             "existing file is replaced only if it is a cohort report, or "
                             "with --overwrite."),
    mapping: str | None = typer.Option(None, "--mapping", "-m",
                                       help="Mapping file (YAML) or preset name (adam)."),
    study: str | None = typer.Option(None, "--study",
                                     help="A registered study (see `cohort studies`): also "
                                     "reproduce its published targets on PATH and show them "
                                     "side by side."),
    title: str | None = typer.Option(None, "--title", help="Document title."),
    seed: int = typer.Option(0, "--seed", min=0,
                             help="Seed of the prediction's cross-validation and bootstrap."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", case_sensitive=False,
                                     help="text: a summary on stderr; json: one JSON document "
                                     "(sections and run manifest) on stdout."),
    overwrite: bool = OVERWRITE,
) -> None:
    """Write one self-contained HTML report of a cohort.

    Cohort overview and Table 1, validation summary (files with SHA-256, unit conversions,
    warnings), HbA1c change from baseline (mean +/- CI by visit and arm, spaghetti, waterfall),
    ANCOVA against the control arm with a forest plot, C-peptide remission with ROC and
    calibration, Kaplan-Meier of insulin-free time with numbers at risk and a swimmer plot,
    published vs reproduced (with --study) and the run manifest. A section the data do not
    allow says "not computable" and why. Figures are embedded; no scripts, no links out.
    """
    from cohort.errors import CohortError
    from cohort.io.outputs import check_output_file, input_files
    from cohort.io.write import write_output_file
    from cohort.report.study import build_report

    if out.is_dir():
        raise CohortError(f"--out {out} is a folder; give the HTML file to write, e.g. "
                          f"--out {out / 'report.html'}")
    inputs = input_files(path, mapping)
    check_output_file(out, kind="html", inputs=inputs, overwrite=overwrite)  # before the work
    spec = _study_spec(study) if study is not None else None
    cohort = load_for_cli(path, mapping)
    reproduction = None
    if study is not None:
        typer.echo(f"cohort: reproducing {study} on {path} ...", err=True)
        reproduction = _reproduce(spec, study, cohort, path, mapping)
    typer.echo(f"cohort: building the report of {path} ...", err=True)
    built = build_report(cohort, reproduction=reproduction, title=title, seed=seed,
                         command="cohort report", options={"out": str(out), "study": study})
    write_output_file(out, built.html.render(), kind="html", inputs=inputs, overwrite=overwrite)
    statuses = built.sections
    skipped = [s for s in statuses if s.status != "ok"]
    if fmt is OutputFormat.json:
        from cohort import __version__
        from cohort.analysis.result import json_safe

        typer.echo(json.dumps(json_safe({"cohort_version": __version__, "path": str(path),
                                         "out": str(out), **built.to_dict()}),
                              allow_nan=False))
    for s in skipped:
        typer.echo(f"cohort: {s.heading}: {s.status}: {s.reason}", err=True)
    typer.echo(f"cohort: wrote {out} ({len(statuses) - len(skipped)} of {len(statuses)} "
               "sections computed)", err=True)

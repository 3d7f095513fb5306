"""The typer application and the error boundary shared by every subcommand."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any, TypeVar

import typer

from cohort import __version__

app = typer.Typer(
    name="cohort",
    help="Patient-level analysis of cell-therapy trials in diabetes: validate cohort folders, "
    "synthesise cohorts modelled on published studies, run and reproduce their analyses.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INVALID = 1
EXIT_UNUSABLE = 2
EXIT_INTERNAL = 3


class OutputFormat(StrEnum):
    """Output formats of commands that report results."""

    text = "text"
    json = "json"


def fail(message: str, code: int = EXIT_UNUSABLE) -> typer.Exit:
    """Print ``message`` to stderr and return the Exit to raise."""
    typer.echo(f"cohort: error: {message}", err=True)
    return typer.Exit(code)


def guarded(func: F) -> F:
    """Turn user errors into a message and exit code 2, never a traceback.

    An unexpected exception is a bug in cohort: it is reported in one line with exit code 3
    (the traceback is shown with ``COHORT_DEBUG=1``).
    """

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from cohort.cli.safe_output import terminal_safe_streams

        # values from a user's files never reach the terminal raw (escape sequences)
        with terminal_safe_streams():
            return _run(func, args, kwargs)

    return wrapper  # type: ignore[return-value]


def _run(func: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """Run a command: user errors become a message and exit 2, bugs exit 3."""
    from cohort.errors import CohortError

    try:
        return func(*args, **kwargs)
    except (typer.Exit, typer.BadParameter):
        raise  # click prints usage errors itself, with exit code 2
    except CohortError as exc:
        raise fail(str(exc)) from None
    except BrokenPipeError:
        raise  # `cohort ... | head`: handled by main()
    except OSError as exc:  # the file system refused (full, read-only, not a folder...)
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}") from None
    except MemoryError:
        raise fail("out of memory: the input or the options ask for more than this "
                   "machine holds (a smaller --n or a smaller file?)") from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
    except Exception as exc:  # the last line of defence: no traceback for users
        if os.environ.get("COHORT_DEBUG"):
            raise
        raise fail(f"internal error ({type(exc).__name__}: {exc}); this is a bug in "
                   "cohort: rerun with COHORT_DEBUG=1 for the traceback and report it",
                   EXIT_INTERNAL) from None


def load_for_cli(path: Any, mapping: str | None = None,
                 population: list[str] | None = None) -> Any:
    """Load and validate a cohort for a command; exit 1 with the first findings if invalid.

    Every command that reads a cohort goes through here, so the data are validated once, at
    the boundary, the same way everywhere. ``population`` (``--population ITT``) keeps the
    subjects a flag selects, in every table; how many were left out goes to stderr.
    """
    from cohort.errors import InvalidCohortError
    from cohort.validation import load_cohort

    try:
        cohort = load_cohort(path, mapping=mapping, population=population or ())
    except InvalidCohortError as exc:
        report = exc.report
        code = report.exit_code if report is not None else EXIT_INVALID
        again = " ".join([f"cohort validate {path}", *([f"--mapping {mapping}"] if mapping else []),
                          *(f"--population {p}" for p in population or ())])
        typer.echo(f"cohort: error: {exc}\nrun `{again}` for every finding", err=True)
        raise typer.Exit(code or EXIT_INVALID) from None
    warnings = cohort.warnings
    if population and len(warnings):
        chosen = (warnings["rule"] == "population") & (warnings["table"] == "subjects")
        for message in warnings.loc[chosen, "message"]:
            typer.echo(f"cohort: {message}", err=True)
    return cohort


POPULATION_HELP = ("Analyse only the subjects a subjects flag selects (e.g. ITT for ADaM "
                   "ITTFL = Y; SAFFL, EFFFL, FASFL, PPROTFL), in every table; repeatable.")
VISIT_HELP = ("Visit by label (e.g. \"Week 24\"; repeatable): baseline from the baseline flag, "
              "values from the analysis records (ADaM AVISIT, ABLFL, ANL01FL). The default "
              "when the data carry labels and a baseline flag and no --visit-days are given.")
POPULATION = typer.Option([], "--population", help=POPULATION_HELP)
VISIT = typer.Option([], "--visit", help=VISIT_HELP)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cohort {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    """cohort: validate, synthesise, analyse and reproduce cell-therapy trial cohorts."""


def _register() -> None:
    # importing the command modules registers their commands on `app`; they import nothing
    # heavy at module level
    from cohort.cli import (  # noqa: F401
        analyze,
        analyze_mmrm,
        analyze_regression,
        analyze_remission,
        analyze_remission_predict,
        analyze_survival,
        report_cmd,
        reproduce_cmd,
        synth_cmd,
        validate_cmd,
    )


_register()


def main() -> None:
    """Run the command line (raises SystemExit with the exit code, as click does)."""
    try:
        app()
    except BrokenPipeError:  # `cohort validate ... | head`
        sys.stderr.close()
        sys.exit(0)


def entry() -> None:
    """Console-script entry point: :func:`main`, then exit without tearing Python down.

    Once the output is flushed nothing is left to do (result files are written atomically and
    closed by then), but an orderly shutdown would still free every object of a dozen large
    libraries, one by one: a third of a second after a validation of millions of rows.
    """
    code: int = 0
    try:
        main()
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            code = 1
        else:
            code = exc.code or 0
    for stream in (sys.stdout, sys.stderr):
        # the reader may be gone, or the stream closed above
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)

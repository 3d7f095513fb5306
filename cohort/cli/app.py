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
from cohort.cli.examples import epilog
from cohort.cli.failure import (
    EXIT_CODES,
    CommandError,
    emit_failure,
    invalid_cohort,
    suggest_with,
)
from cohort.cli.group import RootGroup

app = typer.Typer(
    name="cohort",
    cls=RootGroup,
    help="Patient-level analysis of cell-therapy trials in diabetes: validate cohort folders, "
    "synthesise cohorts modelled on published studies, run and reproduce their analyses.",
    epilog="Exit codes: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()) + ".\n\n"
    + epilog(""),
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


def fail(message: str, code: int = EXIT_UNUSABLE) -> CommandError:
    """The failure to raise: the error boundary prints ``cohort: error: message`` (and with
    ``--format json`` the JSON document) and exits with ``code``."""
    return CommandError(message, code)


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
    """Run a command: user errors become a message and exit 2, bugs exit 3; with ``--format
    json`` a failure is also one JSON document on stdout."""
    try:
        return func(*args, **kwargs)
    except (typer.Exit, typer.BadParameter):
        raise  # an exit code the command chose; usage errors are reported by the group
    except BrokenPipeError:
        raise  # `cohort ... | head`: handled by main()
    except Exception as exc:  # the boundary: no traceback for users
        failure = _as_failure(exc)
        failure.message = suggest_with(failure.message, kwargs)
    except KeyboardInterrupt:
        failure = CommandError("interrupted", 130)
    fmt = kwargs.get("fmt")
    emit_failure(failure, as_json=fmt is not None and str(fmt) == OutputFormat.json,
                 command=_command_path(), stdout_used=_stdout_used())
    raise typer.Exit(failure.code) from None


def _as_failure(exc: Exception) -> CommandError:
    from cohort.errors import CohortError, InvalidCohortError

    if isinstance(exc, CommandError):
        return exc
    if isinstance(exc, InvalidCohortError):  # a cohort read by the library, not load_for_cli
        report = exc.report
        return invalid_cohort(exc, getattr(report, "path", "the cohort"),
                              getattr(report, "mapping", None))
    if isinstance(exc, CohortError):
        return CommandError(str(exc), EXIT_UNUSABLE)
    if isinstance(exc, OSError):  # the file system refused (full, read-only, not a folder...)
        where = f"{exc.filename}: " if exc.filename else ""
        return CommandError(f"{where}{exc.strerror or exc}", EXIT_UNUSABLE)
    if isinstance(exc, MemoryError):
        return CommandError("out of memory: the input or the options ask for more than this "
                            "machine holds (a smaller --n or a smaller file?)", EXIT_UNUSABLE)
    if os.environ.get("COHORT_DEBUG"):
        raise exc
    return CommandError(f"internal error ({type(exc).__name__}: {exc}); this is a bug in "
                        "cohort: rerun with COHORT_DEBUG=1 for the traceback and report it",
                        EXIT_INTERNAL)


def _command_path() -> str | None:
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    return ctx.command_path if ctx is not None else None


def _stdout_used() -> bool:
    """Whether the command already wrote to stdout (its own JSON document, say)."""
    return bool(getattr(sys.stdout, "cohort_written", 0))


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
        raise invalid_cohort(exc, path, mapping, population or ()) from None
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

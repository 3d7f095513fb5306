"""The click groups of ``cohort`` and ``cohort analyze``: command order and usage errors.

Commands are listed in the order of a user's work (validate, analyze, report, synth,
reproduce, studies, dictionary; the analyses from the description of the cohort to time to
event), not in the order their modules happen to register them.

A command line that cannot be parsed (an unknown option, ``--window abc``, ``--format xml``)
gets the same one-line ``cohort: error: ...`` as every other failure, and with ``--format
json`` the same JSON document on stdout (:mod:`cohort.cli.failure`): not typer's box with
pydantic's wording ("Value error, ...").
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from typer.core import TyperGroup

from cohort.cli.failure import CommandError, emit_failure, wants_json

__all__ = ["AnalyzeGroup", "RootGroup", "usage_error"]

ROOT_ORDER = ("validate", "analyze", "report", "synth", "reproduce", "studies", "dictionary")
ANALYZE_ORDER = ("table1", "paired", "ancova", "mmrm", "effect-modification", "dose-response",
                 "responders", "remission", "predict", "survival")

# pydantic's wording (typer coerces with pydantic) -> what a user needs to know
_PLAIN = [
    (re.compile(r"^Value error, "), ""),
    (re.compile(r"Input should be a valid integer, unable to parse string as an integer"),
     "expected a whole number"),
    (re.compile(r"Input should be a valid integer.*"), "expected a whole number"),
    (re.compile(r"Input should be a valid number, unable to parse string as a number"),
     "expected a number"),
    (re.compile(r"Input should be a finite number"), "expected a finite number"),
    (re.compile(r"Input should be a valid number.*"), "expected a number"),
    (re.compile(r"Input should be a valid boolean.*"), "expected true or false"),
    (re.compile(r"Input should be greater than or equal to (\S+)"), r"must be at least \1"),
    (re.compile(r"Input should be greater than (\S+)"), r"must be greater than \1"),
    (re.compile(r"Input should be less than or equal to (\S+)"), r"must be at most \1"),
    (re.compile(r"Input should be less than (\S+)"), r"must be less than \1"),
]


def _plain(message: str) -> str:
    for pattern, repl in _PLAIN:
        message = pattern.sub(repl, message)
    return message


def _given(args: Sequence[str], opts: Sequence[str]) -> str | None:
    """The value the user gave an option on the command line (the last one), if found."""
    value = None
    for i, token in enumerate(args):
        if token == "--":
            break
        for opt in opts:
            if token == opt and i + 1 < len(args):
                value = args[i + 1]
            elif opt.startswith("--") and token.startswith(opt + "="):
                value = token[len(opt) + 1:]
    return value


def _suggestions(possibilities: Sequence[str], ctx: Any) -> list[str]:
    """Close matches to suggest: an old spelling (a hidden alias) is suggested by the name
    that replaced it, never by itself."""
    renamed: dict[str, str] = {}
    for param in getattr(getattr(ctx, "command", None), "params", []):
        if getattr(param, "hidden", False):
            new = str(getattr(param, "help", "") or "").removeprefix("Old name of ").rstrip(".")
            for opt in getattr(param, "opts", []):
                renamed[opt] = new if new.startswith("-") else ""
    names = [renamed.get(p, p) for p in possibilities]
    return sorted({n for n in names if n})


def usage_error(exc: Any, args: Sequence[str]) -> tuple[CommandError, str]:
    """A click usage error as a :class:`CommandError` (exit 2) and the command path it is about."""
    from typer._click.exceptions import BadParameter, MissingParameter, NoSuchOption

    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else "cohort"
    param = getattr(exc, "param", None)
    if isinstance(exc, MissingParameter):
        message = exc.format_message().rstrip(".")
        if param is not None and getattr(param, "param_type_name", "") == "option":
            message = f"missing option {' / '.join(param.opts)}"
        elif param is not None:
            message = f"missing argument {(param.name or '').upper()}"
    elif isinstance(exc, BadParameter) and (param is not None or exc.param_hint):
        hint = exc.param_hint
        opts = (list(getattr(param, "opts", None) or []) if param is not None else
                [hint] if isinstance(hint, str) else list(hint or []))
        name = " / ".join(opts) if opts else (param.name or "").upper()
        message = f"{name}: {_plain(exc.message)}".rstrip(".")
        value = _given(args, opts) if opts else None
        if value is not None and repr(value) not in message and "got" not in message:
            message += f", got {value!r}"
    elif isinstance(exc, NoSuchOption):
        message = f"no such option {exc.option_name}"
        shown = _suggestions(exc.possibilities or [], ctx)
        if shown:
            message += f" (did you mean {' or '.join(shown)}?)"
    else:
        message = _plain(exc.format_message())
        message = message[:1].lower() + message[1:]
    what = "commands" if "command" in message else "options and examples"
    hint = f"see `{command} --help` for the {what}"
    return CommandError(message.rstrip("."), 2, hint=hint), command


class CohortGroup(TyperGroup):
    """A typer group that lists its commands in :attr:`order` (others after them)."""

    order: ClassVar[tuple[str, ...]] = ()

    def list_commands(self, ctx: Any) -> list[str]:
        rank = {name: i for i, name in enumerate(self.order)}
        names = list(self.commands)
        return sorted(names, key=lambda n: (rank.get(n, len(rank)), names.index(n)))


class AnalyzeGroup(CohortGroup):
    """``cohort analyze``: from the description of a cohort to time to event."""

    order = ANALYZE_ORDER


class RootGroup(CohortGroup):
    """``cohort``: commands in workflow order; usage errors in cohort's one error style."""

    order = ROOT_ORDER

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
        from typer.exceptions import Abort

        argv = list(sys.argv[1:] if args is None else args)
        if prog_name is None:
            prog_name = "cohort"
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            if not standalone_mode:
                raise
            exc.show()
            sys.exit(exc.exit_code)
        except ClickException as exc:
            if not standalone_mode:
                raise
            failure, command = usage_error(exc, argv)
            emit_failure(failure, as_json=wants_json(argv), command=command)
            sys.exit(failure.code)
        except Abort:
            if not standalone_mode:
                raise
            emit_failure(CommandError("aborted", 1), as_json=wants_json(argv), command=None)
            sys.exit(1)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)

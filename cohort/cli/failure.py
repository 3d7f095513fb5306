"""How every command fails: one ``cohort: error: ...`` line style, one JSON document.

A command fails in one of three places, and all three end here:

- the command line cannot be parsed (an unknown option, ``--window abc``): the group's
  ``main`` (:mod:`cohort.cli.group`) turns click's usage error into a :class:`CommandError`;
- the cohort breaks the data contract: :func:`cohort.cli.app.load_for_cli` raises a
  :class:`CommandError` with the findings and the ``cohort validate`` command that lists them all;
- the input, the options or the analysis are unusable (a ``CohortError``), the file system
  refuses, or cohort has a bug: the error boundary (:func:`cohort.cli.app.guarded`).

In text mode the message goes to stderr. With ``--format json`` stdout also gets one JSON
document, ``{"cohort_version", "command", "exit_code", "error", "findings"}`` (``findings``
only where there are any), so a pipeline reading stdout always gets JSON.

Exit codes (the same for every command): 0 done; 1 the data break the contract (or
``synth --check`` finds a target outside its tolerance); 2 the command cannot run (bad
options, unreadable input, an analysis the data do not allow); 3 a bug in cohort; 130
interrupted.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EXIT_CODES", "CommandError", "emit_failure", "findings_lines", "invalid_cohort",
           "suggest_with", "validate_command", "wants_json"]

EXIT_CODES: dict[int, str] = {
    0: "done (for validate: the data meet the contract; warnings allowed)",
    1: "the data break the contract (or synth --check finds a target outside its tolerance)",
    2: "the command cannot run: bad options, an unreadable input, an analysis the data do "
       "not allow",
    3: "a bug in cohort (rerun with COHORT_DEBUG=1 for the traceback)",
    130: "interrupted",
}
"""The exit codes of every command, as documented in ``cohort --help`` and the README."""


@dataclass(eq=False)
class CommandError(Exception):
    """A command that stops: its message, exit code and (for invalid data) the findings.

    Attributes
    ----------
    message : str
        What is wrong, one line (or a few: the first findings).
    code : int
        The exit code (see :data:`EXIT_CODES`).
    findings : list of dict
        Validation findings (``severity``, ``table``, ``file``, ``row``, ``column``, ``rule``,
        ``value``, ``message``); empty when the failure is not about the data.
    hint : str or None
        What to do next (e.g. the ``cohort validate`` command that lists every finding).
    """

    message: str
    code: int = 2
    findings: list[dict[str, Any]] = field(default_factory=list)
    hint: str | None = None

    def __str__(self) -> str:
        return self.message

    def to_dict(self, command: str | None) -> dict[str, Any]:
        """The JSON document printed on stdout with ``--format json``."""
        from cohort import __version__

        doc: dict[str, Any] = {"cohort_version": __version__, "command": command,
                               "exit_code": self.code, "error": self.message}
        if self.hint:
            doc["hint"] = self.hint
        if self.findings:
            doc["findings"] = self.findings
        return doc


def wants_json(args: list[str]) -> bool:
    """True when the command line asks for ``--format json`` (``-f json``, ``--format=json``,
    ``-fjson``), before ``--``; used when the command line itself could not be parsed."""
    value = None
    it = iter(args)
    for token in it:
        if token == "--":
            break
        if token in ("--format", "-f"):
            value = next(it, None)
        elif token.startswith("--format="):
            value = token.partition("=")[2]
        elif token.startswith("-f") and not token.startswith("--") and len(token) > 2:
            value = token[2:]
    return value is not None and value.strip().lower() == "json"


def emit_failure(failure: CommandError, *, as_json: bool, command: str | None,
                 stdout_used: bool = False) -> None:
    """Print ``failure``: ``cohort: error: ...`` on stderr; with ``as_json``, also its JSON
    document on stdout (unless the command already printed its document there)."""
    lines = [f"cohort: error: {failure.message}"]
    if failure.hint:
        lines.append(failure.hint)
    print("\n".join(lines), file=sys.stderr)
    if as_json and not stdout_used:
        from cohort.analysis.result import json_safe

        print(json.dumps(json_safe(failure.to_dict(command)), allow_nan=False))


def _text(value: Any) -> str:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def findings_lines(findings: Any, limit: int = 5) -> list[str]:
    """The first ``limit`` errors of a findings table, one line each, where they are first:
    ``measurements.csv row 12, column value: ...``."""
    errors = findings[findings["severity"] == "error"].head(limit)
    lines = []
    for r in errors.itertuples():
        where = ", ".join(p for p in (
            _text(r.file) or _text(r.table),
            f"row {_text(r.row)}" if _text(r.row) else "",
            f"column {_text(r.column)}" if _text(r.column) else "") if p)
        lines.append(f"  {where}: {r.message}" if where else f"  {r.message}")
    return lines


def invalid_cohort(exc: Any, path: Any, mapping: str | None = None,
                   population: list[str] | tuple[str, ...] = ()) -> CommandError:
    """The failure of a cohort that breaks the contract (exit 1) or cannot be read (exit 2):
    its first errors where they are, all findings for JSON, and the ``cohort validate``
    command (with the user's ``--mapping`` and ``--population``) that lists them all."""
    report = getattr(exc, "report", None)
    if report is None or not hasattr(report, "findings"):
        return CommandError(str(exc), 1)
    code = report.exit_code or 1
    what = "cannot be read" if code == 2 else "breaks the data contract"
    n = report.n_errors
    message = "\n".join([f"{path} {what} ({n} error{'s' if n != 1 else ''}; the first below):",
                         *findings_lines(report.findings)])
    hint = f"run `{validate_command(path, mapping, population)}` for every finding"
    return CommandError(message, code, findings=report.to_dict()["findings"], hint=hint)


def validate_command(path: Any, mapping: str | None = None,
                     population: list[str] | tuple[str, ...] = ()) -> str:
    """The ``cohort validate`` command that checks what the user's command read: the same
    path, ``--mapping`` and ``--population`` (quoted for a POSIX shell where needed)."""
    import shlex

    parts = ["cohort", "validate", str(path)]
    if mapping is not None:
        parts += ["--mapping", str(mapping)]
    for flag in population:
        parts += ["--population", flag]
    return " ".join(shlex.quote(p) for p in parts)


_SUGGESTED = re.compile(r"`cohort (analyze [a-z0-9-]+|validate|report)`")


def suggest_with(message: str, options: dict[str, Any]) -> str:
    """``message`` with every bare suggested command (```cohort analyze ancova```) completed
    with the user's own cohort, ``--mapping``, ``--population`` and ``--param``, so that it
    runs on their data as written.

    ``options`` are the failed command's parameters (``path``, ``mapping``, ``population``,
    ``param``); without a ``path`` the message is returned unchanged.
    """
    import shlex

    path = options.get("path")
    if path is None:
        return message

    def complete(match: re.Match[str]) -> str:
        command = match.group(1)
        parts = ["cohort", *command.split(), str(path)]
        if options.get("mapping") is not None:
            parts += ["--mapping", str(options["mapping"])]
        for flag in options.get("population") or ():
            if flag.strip().lower() not in ("all", "treated"):  # remission's model choice
                parts += ["--population", flag]
        if command.startswith("analyze ") and isinstance(options.get("param"), str):
            parts += ["--param", options["param"]]
        return "`" + " ".join(shlex.quote(p) for p in parts) + "`"

    return _SUGGESTED.sub(complete, message)

"""Targets that are `cohort analyze` requests: the catalogue of commands and their options.

A target may name a ``cohort analyze`` command (``analysis: analyze survival``), give its
options by their command-line names (``params: {group: arm, time-unit: months}``) and pick one
number of the command's JSON result: a ``table`` (``summary`` by default; ``cox``,
``landmarks``, ``logrank`` ... as ``--format json`` prints them), a ``row`` (column values
that select one row) and an ``output`` (the column). The command itself computes the number,
so the spec's vocabulary and the analyses' cannot drift apart.

The catalogue of commands and options is the command line itself: ``analyze_commands.json``
(package data) is generated from the ``cohort analyze`` commands by
``python -m cohort.spec.schema`` and a test compares it with the live command line, so the
spec package reads it without importing the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["ANALYZE_PREFIX", "CATALOGUE_FILE", "COUNT_COLUMNS", "EXCLUDED_OPTIONS",
           "SPEC_VISIT", "AnalyzeOption", "analyze_command", "analyze_commands",
           "check_request_params", "command_catalogue"]

ANALYZE_PREFIX = "analyze "
"""``analysis: analyze <command>`` names a ``cohort analyze`` command."""

CATALOGUE_FILE = Path(__file__).with_name("analyze_commands.json")
"""The committed catalogue (package data), generated from the command line."""

EXCLUDED_OPTIONS = frozenset({"format", "plot", "plot-kind", "export", "overwrite", "mapping",
                              "figures", "save-model", "tte", "external", "help"})
"""Options a target cannot give: where output goes and how it is drawn, and files beside the
cohort (the cohort folder and its mapping are the study's own). Any ``plot-*`` option too."""

SPEC_VISIT = "visit"
"""A target's ``visit`` param is a visit label: a spec visit (its day, window and the spec's
final visit) or, where the cohort carries its own labels, passed on as ``--visit``."""

COUNT_COLUMNS = frozenset({"n", "x", "n_events", "n_censored", "n_risk", "n_event",
                           "n_censor", "n_excluded", "n_subjects", "n_episodes", "events",
                           "n_missing", "n_with_event"})
"""Columns of result tables that hold counts: compared exactly."""


@dataclass(frozen=True)
class AnalyzeOption:
    """One option of a ``cohort analyze`` command, as a target writes it.

    Attributes
    ----------
    name : str
        The long option name without the dashes (``visit-days``).
    flag : bool
        An on/off switch (a target writes ``true`` or ``false``).
    negation : str or None
        The name that switches it off (``no-trend``), if the command has one.
    multiple : bool
        Repeatable (a target may give a list).
    hidden : bool
        An old name kept as an alias.
    """

    name: str
    flag: bool = False
    negation: str | None = None
    multiple: bool = False
    hidden: bool = False


@lru_cache(maxsize=1)
def command_catalogue() -> dict[str, Any]:
    """The committed catalogue: ``{"commands": {name: {"options": {...}}}}``."""
    return json.loads(CATALOGUE_FILE.read_text(encoding="utf-8"))


def analyze_commands() -> dict[str, dict[str, AnalyzeOption]]:
    """Every ``cohort analyze`` command with the options a target may give."""
    out: dict[str, dict[str, AnalyzeOption]] = {}
    for name, cmd in command_catalogue()["commands"].items():
        out[name] = {o: AnalyzeOption(name=o, **spec) for o, spec in cmd["options"].items()}
    return out


def analyze_command(analysis: str) -> str | None:
    """The command an ``analysis: analyze <command>`` names, or None for another analysis."""
    if not analysis.startswith(ANALYZE_PREFIX):
        return None
    return analysis[len(ANALYZE_PREFIX):].strip()


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and value is not None


def check_request_params(command: str, params: dict[str, Any]) -> list[str]:
    """Problems with a request's command and params (empty when it is valid).

    A param is an option of the command by its command-line name, or ``visit`` (a visit
    label) for a command that takes visits. Values are text, numbers or true/false; a list
    only for a repeatable option or a comma-separated one (joined with commas).
    """
    commands = analyze_commands()
    if command not in commands:
        return [f"unknown analysis 'analyze {command}'; `cohort analyze` commands: "
                f"{', '.join(sorted(commands))}"]
    options = commands[command]
    problems = []
    takes_visits = any(o in options for o in ("visit", "visit-days", "visit-day"))
    clash = [k for k in ("visit-days", "visit-day", "last") if k in params]
    if SPEC_VISIT in params and clash:
        problems.append(f"params: visit (a spec visit label, which sets the visit days) and "
                        f"{', '.join(clash)} are two ways to give the visit; give one")
    for key, value in params.items():
        if key == SPEC_VISIT and takes_visits:
            if not isinstance(value, str):
                problems.append(f"params.visit: a visit label (text), got {value!r}")
            continue
        opt = options.get(key)
        if opt is None:
            hint = ""
            dashed = str(key).replace("_", "-")
            if dashed in options:
                hint = f" (the option is --{dashed}: write {dashed})"
            elif key in EXCLUDED_OPTIONS:
                hint = " (a target cannot set where output goes or read other files)"
            allowed = sorted(o for o, v in options.items() if not v.hidden)
            problems.append(f"params.{key}: `cohort analyze {command}` has no option --{key}"
                            f"{hint}; options: {', '.join(allowed)}")
            continue
        if opt.flag:
            if not isinstance(value, bool):
                problems.append(f"params.{key}: --{key} is an on/off switch: write true or "
                                f"false, got {value!r}")
            elif value is False and opt.negation is None:
                problems.append(f"params.{key}: --{key} is off by default; leave it out "
                                "instead of writing false")
            continue
        values = value if isinstance(value, list) else [value]
        if not values or not all(_scalar(v) for v in values):
            problems.append(f"params.{key}: a value of --{key} is text, a number or a list of "
                            f"them, got {value!r}")
    return problems

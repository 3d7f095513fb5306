"""Every ``--help`` ends with two or three examples, and every example runs (issue 15, item 5).

The examples are read from the help screens themselves, as an 80-column terminal shows them,
and run as written from a temporary folder that holds the bundled cohorts (``synthetic/``),
so what a user copies from the help is what was tested.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.cli.examples import EXAMPLES, WIDTH

ROOT = Path(__file__).resolve().parents[1]


def _screens() -> list[str]:
    """Every help screen by command path ("" is ``cohort --help``)."""
    root = typer.main.get_command(app)
    paths = [""]
    for name, cmd in root.commands.items():
        paths.append(name)
        for sub in getattr(cmd, "commands", {}):
            paths.append(f"{name} {sub}")
    return paths


SCREENS = _screens()


def help_text(path: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, [*path.split(), "--help"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.stdout


def examples_of(text: str) -> list[str]:
    """The commands under ``Examples:`` at the end of a help screen (continued lines joined)."""
    lines = [line.strip() for line in text.splitlines()]
    assert "Examples:" in lines, text
    block = lines[lines.index("Examples:") + 1:]
    commands: list[str] = []
    pending = ""
    for line in block:
        if not line:
            break
        pending = f"{pending} {line}".strip() if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        commands.append(pending)
        pending = ""
    assert not pending, f"unfinished continuation: {pending}"
    return commands


def test_every_command_has_a_help_screen_with_examples():
    assert set(SCREENS) == set(EXAMPLES), set(SCREENS) ^ set(EXAMPLES)
    assert len(SCREENS) == 18


@pytest.mark.parametrize("path", SCREENS)
def test_help_ends_with_two_or_three_examples(path):
    text = help_text(path)
    commands = examples_of(text)
    assert 2 <= len(commands) <= 3, commands
    # the examples close the screen
    tail = [line for line in text.splitlines() if line.strip()]
    assert tail[-1].strip() == EXAMPLES[path][-1].strip()
    for command in commands:
        assert command.startswith("cohort " + path), command
    # each line as written fits an 80-column terminal unbroken
    for line in EXAMPLES[path]:
        assert len(line) <= WIDTH, line
        assert f"  {line}" in text, (line, text)


def _all_examples() -> list[str]:
    seen: dict[str, None] = {}
    for path in SCREENS:
        for command in examples_of(help_text(path, columns=200)):
            seen.setdefault(command)
    return list(seen)


@pytest.fixture()
def workdir(tmp_path, monkeypatch) -> Path:
    """A temporary folder with the bundled cohorts, as the root of a checkout has them."""
    (tmp_path / "synthetic").symlink_to(ROOT / "synthetic", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("command", _all_examples())
def test_example_runs(command, workdir):
    args = shlex.split(command)
    assert args[0] == "cohort"
    result = CliRunner().invoke(app, args[1:], env={"COLUMNS": "120"})
    assert result.exit_code == 0, f"{command}\n{result.output[-3000:]}"
    assert "Traceback" not in result.output
    if "--format" in args and "json" in args:
        import json

        json.loads(result.stdout)
    # outputs land in the working folder, never among the bundled cohorts
    for token in args:
        if token.endswith((".html", ".docx", ".xlsx", ".png", ".md")) and "/" not in token:
            assert (workdir / token).is_file(), token
    assert os.path.realpath(workdir / "synthetic") == str(ROOT / "synthetic")

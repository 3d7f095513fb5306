"""Every example of the multiplicity section of docs/regression.md runs and prints what it
says."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohort.cli.app import app

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "regression.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## Several arms against one reference"):]
SECTION = SECTION[:SECTION.index("\n## ", 10)]
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", SECTION, flags=re.S)
COMMANDS = [line for lang, body in BLOCKS if lang == "console"
            for line in body.strip().splitlines()]


@pytest.mark.parametrize("command", COMMANDS)
def test_console_examples_run(command, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)
    assert args[0] == "cohort"
    res = CliRunner().invoke(app, args[1:])
    assert res.exit_code == 0, res.output


def test_python_example_prints_what_the_docs_say(monkeypatch):
    monkeypatch.chdir(ROOT)
    langs = [lang for lang, _ in BLOCKS]
    i = langs.index("python")
    assert langs[i + 1] == "text"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(BLOCKS[i][1], "docs/regression.md", "exec"), {"__name__": "docs"})
    assert out.getvalue().strip() == BLOCKS[i + 1][1].strip()

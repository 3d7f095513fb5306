"""Every example of the MMRM section of docs/regression.md runs, and prints what it says."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohort.cli.app import app

ROOT = Path(__file__).parent.parent
DOC = (ROOT / "docs" / "regression.md").read_text(encoding="utf-8")
SECTION = DOC[DOC.index("## MMRM"):]
SECTION = SECTION[:SECTION.index("\n## ", 10)]
BLOCKS = re.findall(r"```(\w+)\n(.*?)```", SECTION, flags=re.S)
COMMANDS = [line for lang, body in BLOCKS if lang == "console"
            for line in body.strip().splitlines()]


def test_section_has_examples():
    assert len(COMMANDS) >= 3 and any(lang == "python" for lang, _ in BLOCKS)


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
    code, expected = BLOCKS[i][1], BLOCKS[i + 1][1]
    assert langs[i + 1] == "text"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/regression.md", "exec"), {"__name__": "docs"})
    assert out.getvalue().strip() == expected.strip()
    assert os.getcwd() == str(ROOT)

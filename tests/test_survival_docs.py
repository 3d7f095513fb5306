"""Every example of docs/survival.md runs: the Python blocks, and each `cohort ...` line of the
console blocks (exit code 0, no traceback)."""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import matplotlib
import pytest
from typer.testing import CliRunner

from cohort.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "survival.md").read_text(encoding="utf-8")
PYTHON = re.findall(r"```python\n(.*?)```", DOC, flags=re.S)
COMMANDS = [line.strip() for block in re.findall(r"```console\n(.*?)```", DOC, flags=re.S)
            for line in block.splitlines() if line.strip().startswith("cohort ")]


@pytest.fixture
def in_copy(tmp_path, monkeypatch):
    # run where the docs' relative paths resolve, writing any output into tmp_path
    for name in ("tests", "synthetic"):
        (tmp_path / name).symlink_to(ROOT / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_docs_have_examples():
    assert len(PYTHON) >= 1 and len(COMMANDS) >= 5


@pytest.mark.parametrize("block", PYTHON, ids=[f"python{i}" for i in range(len(PYTHON))])
def test_python_examples_run(block, in_copy):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cohort.errors import CohortWarning

    # the examples fit small cohorts: our own small-sample warnings are expected, nothing else
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exec(compile(block, "docs/survival.md", "exec"), {"__name__": "docs_survival"})
    finally:
        plt.close("all")
    assert all(issubclass(w.category, CohortWarning) for w in caught), [
        str(w.message) for w in caught]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_examples_run(command, in_copy):
    args = shlex.split(command)[1:]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output

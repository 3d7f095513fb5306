"""Every `cohort` command of the ADaM sections of README.md and docs/validate.md runs (exit 0)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohort.cli.app import app

ROOT = Path(__file__).resolve().parents[1]


def _adam_commands(path: Path) -> list[str]:
    """`cohort ...` lines of the console blocks in the section whose heading mentions ADaM."""
    text = path.read_text(encoding="utf-8")
    section = re.search(r"^(#+) [^\n]*ADaM[^\n]*\n(.*?)(?=^#{1,3} |\Z)", text, re.M | re.S)
    assert section is not None, f"{path.name} has no ADaM section"
    blocks = re.findall(r"```console\n(.*?)```", section.group(2), re.S)
    return [line for block in blocks for line in block.splitlines()
            if line.startswith("cohort ")]


COMMANDS = [(doc, cmd) for doc in ("README.md", "docs/validate.md")
            for cmd in _adam_commands(ROOT / doc)]


def test_the_docs_show_the_adam_path():
    docs = {doc for doc, _ in COMMANDS}
    assert docs == {"README.md", "docs/validate.md"}
    assert any("analyze ancova" in cmd and "--population ITT" in cmd for _, cmd in COMMANDS)


@pytest.mark.parametrize(("doc", "command"), COMMANDS, ids=[f"{d}:{i}" for i, (d, _) in
                                                             enumerate(COMMANDS)])
def test_adam_doc_command_runs(doc, command, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, shlex.split(command)[1:])
    assert result.exit_code == 0, f"{doc}: {command}\n{result.output}"


def test_every_analyze_command_takes_a_population():
    import typer.main

    from cohort.cli.analyze import analyze_app

    group = typer.main.get_command(analyze_app)
    missing = [name for name, cmd in group.commands.items()
               if not any("--population" in p.opts for p in cmd.params)]
    assert len(group.commands) >= 10 and missing == []


def test_every_analyze_command_with_visits_takes_visit_labels():
    import typer.main

    from cohort.cli.analyze import analyze_app

    group = typer.main.get_command(analyze_app)
    # table1 (baselines from the baseline flag) and survival (time to event) have no visits
    with_visits = {name for name, cmd in group.commands.items()
                   if any("--visit" in p.opts for p in cmd.params)}
    assert with_visits >= {"paired", "ancova", "dose-response", "responders",
                           "effect-modification", "mmrm", "remission", "predict"}

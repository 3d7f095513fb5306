"""Every example of the local-export sections of README.md and docs/validate.md runs, and the
mappings shown there are the fixture's."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.io.mapping import read_mapping

ROOT = Path(__file__).parent.parent


def _section(path: str, title: str) -> str:
    text = (ROOT / path).read_text(encoding="utf-8")
    start = text.index(title)
    level = title.split(" ")[0]
    end = text.find(f"\n{level} ", start + len(title))
    nxt = [i for i in (end, text.find("\n## ", start + len(title))) if i > 0]
    return text[start:min(nxt)] if nxt else text[start:]


REDCAP = _section("docs/validate.md", "## Real exports: the REDCap path")
EXTRAS = _section("docs/validate.md", "## Declared extras and the open contract")
README = _section("README.md", "### A local export (REDCap, Excel, CSV)")


def _blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S)


def _commands(text: str) -> list[str]:
    return [line for lang, body in _blocks(text) if lang == "console"
            for line in body.strip().splitlines()]


# the README repeats some of the docs' commands: each runs once
COMMANDS = list(dict.fromkeys(_commands(REDCAP) + _commands(README)))


def test_sections_have_examples():
    assert len(_commands(REDCAP)) >= 6 and len(_commands(README)) >= 4


@pytest.mark.parametrize("command", COMMANDS)
def test_console_examples_run(command, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = shlex.split(command)
    assert args[0] == "cohort"
    result = CliRunner().invoke(app, [*args[1:], "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # every analysis of the export has results; validation has only the four warnings
    assert doc["summary"] if args[1] == "analyze" else doc["counts"] == {"errors": 0,
                                                                        "warnings": 4}


def test_the_mappings_shown_are_the_fixtures():
    yamls = [body for lang, body in _blocks(REDCAP) if lang == "yaml"]
    assert yamls[0] == (ROOT / "tests/data/redcap/mapping.yaml").read_text(encoding="utf-8")
    assert yamls[1] == (ROOT / "tests/data/redcap/csv/mapping.yaml").read_text(
        encoding="utf-8")


def test_python_example_prints_what_the_docs_say(monkeypatch):
    monkeypatch.chdir(ROOT)
    blocks = _blocks(REDCAP)
    langs = [lang for lang, _ in blocks]
    i = langs.index("python")
    assert langs[i + 1] == "text"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[i][1], "docs/validate.md", "exec"), {"__name__": "docs"})
    assert out.getvalue().strip() == blocks[i + 1][1].strip()


def test_the_extras_example_is_a_valid_mapping(tmp_path):
    [body] = [b for lang, b in _blocks(EXTRAS) if lang == "yaml"]
    path = tmp_path / "m.yaml"
    path.write_text(body, encoding="utf-8")
    extras = read_mapping(path).extras
    assert set(extras.subjects) == {"dka_at_diagnosis", "gad_antibodies", "screen_cpep"}
    assert extras.parameters["GLUC_SERUM"].unit == "mmol/L"


def test_the_readme_says_how_long_the_mapping_is():
    text = (ROOT / "tests/data/redcap/mapping.yaml").read_text(encoding="utf-8")
    n = len(text.splitlines())
    assert f"(`tests/data/redcap/mapping.yaml`, {n} lines;" in " ".join(README.split())
    # what a user writes, without comments and blank lines
    assert sum(1 for line in text.splitlines()
               if line.strip() and not line.lstrip().startswith("#")) == 45

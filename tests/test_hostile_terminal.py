"""Values from a user's files never drive the terminal; JSON output stays exact. Subject ids
that differ only by case or spaces are a warning naming both rows; a late first infusion is
reported on its infusion row."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from rich.table import Table
from typer.testing import CliRunner

import cohort
from cohort.cli.app import app
from cohort.cli.safe_output import SafeConsole, term_safe

EXAMPLE = Path(__file__).parent / "data" / "example"
HOSTILE = "S0\x1b]0;pwned\x07\x1b[2J1"


@pytest.fixture
def hostile(tmp_path) -> Path:
    dest = tmp_path / "c"
    shutil.copytree(EXAMPLE, dest)
    path = dest / "adverse_events.csv"
    text = path.read_text(encoding="utf-8").replace("S01,Fever", f"{HOSTILE},Fe\u202ever", 1)
    path.write_text(text, encoding="utf-8")
    return dest


@pytest.mark.parametrize("text, shown", [
    ("plain", "plain"),
    ("a\x1b[2Jb", "a\\x1b[2Jb"),
    ("\x1b]0;t\x07", "\\x1b]0;t\\x07"),
    ("tab\tand\nline", "tab\tand\nline"),
    ("cr\r", "cr\\x0d"),
    ("c1\x9b", "c1\\x9b"),
    ("bidi\u202e", "bidi\\u202e"),
    ("del\x7f", "del\\x7f"),
])
def test_term_safe(text, shown):
    assert term_safe(text) == shown


@pytest.mark.parametrize("columns", ["200", "80"])
def test_validate_text_escapes_control_characters(hostile, columns):
    res = CliRunner().invoke(app, ["validate", str(hostile)], env={"COLUMNS": columns})
    assert res.exit_code == 1
    assert "\x1b" not in res.output and "\x07" not in res.output and "\u202e" not in res.output
    assert "S0\\x1b]0;pwned" in res.output


def test_json_output_stays_exact(hostile):
    res = CliRunner().invoke(app, ["validate", str(hostile), "--format", "json"])
    doc = json.loads(res.stdout)
    values = {f["value"] for f in doc["findings"]}
    assert HOSTILE in values


def test_error_messages_escaped(hostile):
    res = CliRunner().invoke(app, ["analyze", "table1", str(hostile)])
    assert res.exit_code == 1
    assert "\x1b" not in res.output and "\x07" not in res.output
    assert "pwned" in res.output


def test_safe_console_keeps_its_own_styles():
    buf = io.StringIO()
    console = SafeConsole(file=buf, force_terminal=True, color_system="standard", width=60)
    table = Table()
    table.add_column("id")
    table.add_row(HOSTILE)
    console.print("[red]bad[/red]", table)
    out = buf.getvalue()
    assert "\x1b[31mbad" in out                     # rich's own colour codes survive
    assert "S0\\x1b]0;pwned" in out and "\x1b]0;" not in out  # the data's do not


def test_ids_differing_by_case_or_spaces_warn_naming_both_rows(tmp_path):
    dest = tmp_path / "c"
    shutil.copytree(EXAMPLE, dest)
    path = dest / "subjects.csv"
    lines = path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    s02 = lines[2].split(",")
    lines.append(",".join(["s01", *s02[1:]]))
    lines.append(",".join(['" S02 "', *s02[1:]]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = cohort.validate(dest)
    f = report.findings
    similar = f[f["rule"] == "similar_id"]
    assert similar[["severity", "file", "row", "column", "value"]].values.tolist() == [
        ["warning", "subjects.csv", 8, "subject_id", "s01"]]
    assert "subject id 's01' and 'S01' (subjects.csv row 2) differ only by case" in \
        similar["message"].iloc[0]
    # surrounding spaces are trimmed on reading: " S02 " is S02 itself, a duplicate key
    assert "duplicate_key" in set(f["rule"])


def test_late_first_infusion_reported_on_the_infusion_row(tmp_path):
    dest = tmp_path / "c"
    shutil.copytree(EXAMPLE, dest)
    path = dest / "infusions.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("S02,1,0,", "S02,1,14,"),
                    encoding="utf-8")
    f = cohort.validate(dest).findings
    assert f[["table", "file", "row", "column", "rule", "value"]].values.tolist() == [
        ["infusions", "infusions.csv", 4, "day", "first_infusion_day", "14"]]

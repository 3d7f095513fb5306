"""``cohort report PATH --out FILE.html``: the file, the JSON document, bad input."""

from __future__ import annotations

import json

from report_helpers import COHORTS, Page
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.report.study import sections

runner = CliRunner()


def test_report_writes_the_file_and_one_json_document(tmp_path) -> None:
    out = tmp_path / "sub" / "report.html"
    res = runner.invoke(app, ["report", str(COHORTS["example"]), "--out", str(out),
                              "--title", "Example & co", "--seed", "3", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert list(doc) == ["cohort_version", "path", "out", "title", "sections", "manifest"]
    assert doc["title"] == "Example & co" and doc["out"] == str(out)
    # no --study: no published-vs-reproduced section, every other one computed
    assert [s["heading"] for s in doc["sections"]] == list(sections(None))
    assert [s["status"] for s in doc["sections"]] == ["ok"] * 8
    assert doc["manifest"]["seed"] == 3
    assert doc["manifest"]["options"]["out"] == str(out)
    assert doc["manifest"]["command"] == "cohort report"
    assert len(doc["manifest"]["files"]) == 5
    page = Page(out.read_text(encoding="utf-8"))
    assert page.headings["h1"] == ["Example & co"]
    assert page.headings["h2"] == list(sections(None))
    assert "wrote" in res.stderr and "8 of 8 sections computed" in res.stderr
    assert not list(out.parent.glob(".*.tmp"))  # the atomic write left nothing behind


def test_out_must_be_a_file(tmp_path) -> None:
    res = runner.invoke(app, ["report", str(COHORTS["example"]), "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert f"--out {tmp_path} is a folder; give the HTML file to write" in res.stderr


def test_an_invalid_cohort_exits_1_and_writes_nothing(tmp_path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", "tests/data/broken/dose_missing", "--out", str(out)])
    assert res.exit_code == 1
    assert "breaks the data contract" in res.stderr
    assert not out.exists()


def test_an_unknown_study_is_a_one_line_error(tmp_path) -> None:
    out = tmp_path / "r.html"
    res = runner.invoke(app, ["report", str(COHORTS["example"]), "--out", str(out),
                              "--study", "nosuchstudy"])
    assert res.exit_code == 2
    assert res.stderr.splitlines()[-1].startswith("cohort: error: unknown study 'nosuchstudy'")
    assert not out.exists()

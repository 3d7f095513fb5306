"""``cohort reproduce``: text and JSON output, --data, --seed, --out, --all, bad input."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohort.cli import reproduce_cmd
from cohort.cli.app import app

DATA = Path(__file__).parent / "data"
NUMBERS = ["target", "reproduced_value", "ci_lower", "ci_upper", "p", "n", "agreement",
           "inputs", "status", "reproduced_values"]


def run(*args: str):
    return CliRunner().invoke(app, ["reproduce", *args], env={"COLUMNS": "200"})


def test_json_is_one_document():
    res = run("matsuoka2025", "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["study"]["id"] == "matsuoka2025"
    assert doc["counts"] == {"agrees": 13, "compatible": 0, "differs": 0, "not computable": 0}
    kinds = doc["counts_by_kind"]
    assert kinds["calibrated"]["total"] == 12 and kinds["calibrated"]["agrees"] == 12
    assert kinds["independent"]["total"] == 1 and kinds["independent"]["agrees"] == 1
    assert doc["study"]["primary"] == ["change_all"]
    assert doc["headline"][0].startswith("primary endpoint change_all (HbA1c change, all "
                                         "patients): agrees")
    assert [r["target"] for r in doc["primary"]] == ["change_all"]
    assert "SD of change back-solved" in doc["study"]["conflicts"][0]
    assert doc["manifest"]["command"] == "cohort reproduce matsuoka2025 --format json"
    assert "rest on assumed inputs only (hba1c_baseline)" in doc["assumed_inputs"]
    change = next(r for r in doc["summary"] if r["target"] == "change_severe")
    assert change["published"] == "-1.55, p = 0.0122"
    assert change["agreement"] == "agrees"


def test_text_shows_both_sides_and_the_assumed_targets():
    res = run("matsuoka2025")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "published" in out and "reproduced (95% CI)" in out
    assert "-1.55, p = 0.0122" in out  # published, as printed
    text = " ".join(out.split())
    assert text.index("primary endpoint change_all") < text.index("reproduced (95% CI)")
    assert "independent targets: 1 of 1 agree, 0 compatible" in text
    assert "calibrated targets (inputs read back): 12 of 12 agree" in text
    assert "conflict in the sources: The paper prints p < 0.0000002" in text
    assert "1 rest on assumed inputs only (hba1c_baseline)" in " ".join(out.split())


@pytest.mark.slow  # several cohorts synthesised, loaded and analysed
def test_seed_path_and_data_path_are_one_path(tmp_path):
    folder = tmp_path / "lu7"
    synth = CliRunner().invoke(app, ["synth", "lu2021", "--seed", "7", "--out", str(folder)])
    assert synth.exit_code == 0, synth.output
    by_data = run("lu2021", "--data", str(folder), "--format", "json")
    by_seed = run("lu2021", "--seed", "7", "--format", "json")
    assert by_data.exit_code == 0, by_data.output
    assert by_seed.exit_code == 0, by_seed.output
    a, b = json.loads(by_data.stdout), json.loads(by_seed.stdout)
    rows_a = [{k: r[k] for k in NUMBERS} for r in a["summary"]]
    rows_b = [{k: r[k] for k in NUMBERS} for r in b["summary"]]
    assert rows_a == rows_b
    # the same bytes were analysed
    hashes = {(f["name"], f["sha256"]) for f in a["manifest"]["files"]}
    assert hashes == {(f["name"], f["sha256"]) for f in b["manifest"]["files"]}
    assert b["manifest"]["seed"] == 7
    assert "generated with seed 7" in b["data"]
    # and another seed gives another cohort
    other = json.loads(run("lu2021", "--format", "json").stdout)
    assert {(f["name"], f["sha256"]) for f in other["manifest"]["files"]} != hashes


@pytest.mark.slow  # several cohorts synthesised, loaded and analysed
def test_out_writes_json_and_the_report(tmp_path):
    res = run("matsuoka2025", "--out", str(tmp_path / "m"))
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "m" / "reproduce.json").read_text())
    assert doc["study"]["id"] == "matsuoka2025"
    assert doc["manifest"]["options"]["out"] == str(tmp_path / "m")
    if reproduce_cmd._report_writer() is not None:
        html = (tmp_path / "m" / "report.html").read_text()
        assert "change_severe" in html
        assert "wrote report.html" in res.stderr


@pytest.mark.slow  # several cohorts synthesised, loaded and analysed
def test_all_writes_every_study(tmp_path, monkeypatch):
    calls = []

    def fake_report(cohort, out_html, *, reproduction=None, title=None):
        calls.append((reproduction.study.study.id, Path(out_html).name, title))
        Path(out_html).write_text("<html></html>")
        return Path(out_html)

    # the report builder is tested on its own; here: that --all calls it for every study
    monkeypatch.setattr(reproduce_cmd, "_report_writer", lambda: fake_report)
    res = CliRunner().invoke(app, ["reproduce", "--all", "--out", str(tmp_path / "out")],
                             env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    studies = ["couri2009", "daddio2014", "hu2016", "lu2021", "matsuoka2025", "nguyen2021",
               "skyler2015", "snarski2016", "voltarelli2007"]
    for s in studies:
        doc = json.loads((tmp_path / "out" / s / "reproduce.json").read_text())
        assert doc["study"]["id"] == s
        # a long path folds at the terminal width (80 here)
        assert str(tmp_path / "out" / s / "report.html") in "".join(res.stdout.split())
    assert [c[0] for c in calls] == studies
    assert all(c[1] == "report.html" and c[2].startswith(c[0] + ": ") for c in calls)
    assert "reports:" in res.stdout
    assert "9/9" in res.stderr  # the progress bar went to stderr
    # per study: the primary endpoint's verdict first, then independent and calibrated counts
    lines = res.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["study", "primary"])
    end = next(i for i in range(head + 2, len(lines)) if not lines[i].strip())
    assert max(len(line.rstrip()) for line in lines[head:end]) <= 80  # an 80-column terminal
    assert re.split(r"\s{2,}", lines[head].strip()) == [
        "study", "primary", "independent", "calibrated", "other verdicts", "assumed"]
    rows = {}
    for line in lines[head + 2:]:
        cells = re.split(r"\s{2,}", line.strip())
        if line[:1] == " " and line[1:2] != " " and cells[0] in studies:
            rows[cells[0]] = cells[1:4]
            last = cells[0]
        elif line.startswith(" " * 5) and cells[0] and last:
            rows[last][0] += " " + cells[0]  # the primary verdict wrapped onto this line
            last = None
    assert rows["hu2016"] == ["agrees", "2/2", "11/11"]
    assert rows["daddio2014"] == ["compatible, agrees", "0/3", "7/7"]
    assert rows["skyler2015"] == ["agrees", "4/4", "77/77"]
    assert rows["snarski2016"] == ["agrees", "0/0", "14/14"]


def test_a_failing_report_is_an_error_but_the_numbers_are_written(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(reproduce_cmd, "_report_writer", lambda: broken)
    res = run("matsuoka2025", "--out", str(tmp_path))
    assert res.exit_code == 3
    assert (tmp_path / "reproduce.json").is_file()
    assert "report.html not written (RuntimeError: boom)" in res.stderr


def test_invalid_data_exits_1():
    res = run("lu2021", "--data", str(DATA / "broken" / "duplicate_subject"))
    assert res.exit_code == 1
    assert "breaks the data contract" in res.stderr


@pytest.mark.parametrize("args, message", [
    (["nosuchstudy"], "unknown study 'nosuchstudy'"),
    (["lu2021", "--data", str(DATA / "example"), "--seed", "3"], "not both"),
    (["lu2021", "--mapping", "m.yaml"], "give --data too"),
    ([], "give a STUDY"),
    (["lu2021", "--all"], "give no STUDY"),
])
def test_bad_options_exit_2(args, message):
    res = run(*args)
    assert res.exit_code == 2
    assert message in res.stderr
    assert "Traceback" not in res.output


def test_user_data_reports_what_is_not_computable():
    res = run("skyler2015", "--data", str(DATA / "example"))
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert ("not computable ls_diff_w8_top: arm 'MPC 2.0x10^6/kg' (spec arm 'mpc_2.0') is not "
            "in the cohort") in text

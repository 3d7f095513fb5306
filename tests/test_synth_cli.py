"""``cohort studies`` and ``cohort synth``: registered studies and user specs, the scorecard,
JSON output, and bad input as one line with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cohort
from cohort.cli.app import app

FIXTURES = Path(__file__).parent / "fixtures" / "synth"
RUNNER = CliRunner()


def run(*args: object):
    return RUNNER.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_studies_lists_the_registry():
    res = run("studies", "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    ids = [s["id"] for s in doc["studies"]]
    assert ids == ["couri2009", "daddio2014", "hu2016", "lu2021", "matsuoka2025", "nguyen2021",
                   "skyler2015", "snarski2016", "voltarelli2007"]
    lu = doc["studies"][3]
    assert lu["arms"] == {"msc": 27, "control": 26} and lu["n"] == 53
    assert lu["cohort_present"] is True and lu["seed"] == 340
    text = run("studies")
    assert text.exit_code == 0 and "matsuoka2025" in text.stdout


def test_synth_registered_study_with_check(tmp_path):
    out = tmp_path / "sky"
    res = run("synth", "skyler2015", "--out", out, "--check")
    assert res.exit_code == 0, res.output
    assert "68 pass, 0 fail" in res.stdout
    assert "hba1c_mean_placebo" in res.stdout and "tolerance:" in res.stdout
    assert cohort.validate(out).exit_code == 0


def test_synth_json_is_one_document(tmp_path):
    res = run("synth", "lu2021", "--out", tmp_path / "lu", "--check", "--format", "json",
              "--seed", "340")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["study"] == "lu2021" and doc["seed"] == 340 and doc["n"] == 53
    assert doc["n_per_arm"] == {"msc": 27, "control": 26}
    assert doc["rows"]["subjects"] == 53
    assert doc["command"] == f"cohort synth lu2021 --out {tmp_path / 'lu'} --seed 340"
    card = doc["scorecard"]
    assert card["passed"] is True and card["counts"]["fail"] == 0
    assert {t["id"]: t["status"] for t in card["targets"]}["remission_msc"] == "not_checked"
    assert "half a unit" in card["tolerance_rule"]


def test_synth_a_users_own_spec(tmp_path):
    out = tmp_path / "demo"
    res = run("synth", FIXTURES / "new_study.yaml", "--out", out, "--seed", "3", "--n", "44")
    assert res.exit_code == 0, res.output
    subjects = cohort.load_cohort(out).subjects
    assert subjects.groupby("arm").size().to_dict() == {"msc": 24, "placebo": 20}
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert f"cohort synth {FIXTURES / 'new_study.yaml'} --out DIR --seed 3 --n 44" in readme


def test_check_without_out_writes_nothing(tmp_path):
    res = run("synth", "matsuoka2025", "--check", "--n", "610")
    assert res.exit_code == 0, res.output
    assert "scaled" not in res.stdout or "pass" in res.stdout
    assert list(tmp_path.iterdir()) == []


def test_failed_check_exits_1(tmp_path):
    spec = (FIXTURES / "new_study.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "wrong_target.yaml"
    bad.write_text(spec.replace("value: 7.8, source: made up", "value: 9.9, source: made up"),
                   encoding="utf-8")
    res = run("synth", bad, "--check")
    assert res.exit_code == 1, res.output
    assert "1 fail" in res.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["synth", "nosuchstudy", "--out", "x"], "unknown study 'nosuchstudy': registered studies"),
    (["synth", "skyler2015"], "give --out DIR"),
    (["synth", "skyler2015", "--out", "x", "--n", "2"], "--n 2 is too small"),
    (["synth", "missing/spec.yaml", "--out", "x"], "does not exist"),
])
def test_bad_options_exit_2_with_one_line(tmp_path, args, message):
    res = RUNNER.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output

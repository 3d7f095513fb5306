"""``cohort analyze remission`` and ``cohort analyze predict``: JSON and text output, model
files, figures and bad input (one line on stderr, exit 2, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_remission_rates import _lu_like
from typer.testing import CliRunner

import cohort
from cohort.cli.app import app

FIX = Path(__file__).parent / "fixtures" / "remission"


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory) -> Path:
    c = _lu_like()
    out = tmp_path_factory.mktemp("lu") / "cohort"
    keep = {"subjects", "measurements", "infusions"}
    tables = {k: v.drop(columns=[c for c in ("value_original", "unit_original")
                                 if c in v.columns])
              for k, v in c.tables.items() if k in keep}
    cohort.write_cohort(tables, out)
    return out


def run(*args: str):
    result = CliRunner().invoke(app, ["analyze", *args], env={"COLUMNS": "200"})
    assert "Traceback" not in result.output
    return result


def test_remission_json(cohort_dir):
    res = run("remission", str(cohort_dir), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    msc = next(r for r in doc["summary"] if r["subgroup_by"] == "all" and r["arm"] == "MSC")
    assert (msc["x"], msc["n"]) == (11, 27)
    assert doc["n_excluded"] == 1 and doc["exclusions"][0]["subject_id"] == "S54"
    assert doc["model"] is None
    assert doc["cohort_version"] == cohort.__version__


def test_remission_model_firth_treated_and_saved(cohort_dir, tmp_path):
    model_file = tmp_path / "model.yaml"
    res = run("remission", str(cohort_dir), "-p", "baseline_cpep_fast_nmol_l", "-p",
              "dose_1e6_cells_per_kg", "--method", "firth", "--population", "treated",
              "--save-model", str(model_file), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["model"]["model"]["n"] == 27 and doc["model"]["model"]["method"] == "firth"
    assert [r["term"] for r in doc["model"]["summary"]] == [
        "(Intercept)", "baseline_cpep_fast_nmol_l", "dose_1e6_cells_per_kg"]
    assert "events per variable" in res.stderr  # 11 events for 2 predictors
    text = model_file.read_text()
    assert "unit: 10^6 cells/kg" in text and "unit: nmol/L" in text
    # the saved model validates on the same cohort
    ext = run("predict", str(cohort_dir), "--external", str(model_file), "--format", "json")
    assert ext.exit_code == 0, ext.output
    edoc = json.loads(ext.stdout)
    metrics = {r["metric"]: r for r in edoc["external"]["summary"]}
    # applied to all 53 subjects (the model was developed on the 27 treated)
    assert metrics["auc"]["n"] == 53
    assert 0.0 <= metrics["auc"]["ci_lower"] <= metrics["auc"]["estimate"] <= 1.0


def test_remission_text_and_rule_options(cohort_dir):
    res = run("remission", str(cohort_dir), "--threshold", "25", "--markers", "CPEP_FAST",
              "--visit-day", "365", "--window", "330,400", "--baseline-window", "-30,0",
              "--subgroup", "none")
    assert res.exit_code == 0, res.output
    # fasting C-peptide rose 30% in the 11 MSC and 3 control remitters: still above 25%
    assert "11/27" in res.stdout and "rise >= 25% from baseline in fasting C-peptide" \
        in res.stdout.replace("\n", " ")


def test_predict_json_and_figures(cohort_dir, tmp_path):
    res = run("predict", str(cohort_dir), "-p", "baseline_cpep_fast_nmol_l", "-p",
              "dose_1e6_cells_per_kg", "--population", "treated", "--model", "logistic",
              "--model", "firth", "--folds", "5", "--repeats", "2", "--bootstrap", "20",
              "--seed", "3", "--figures", str(tmp_path / "fig"), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert {r["model"] for r in doc["summary"]} == {"logistic", "firth"}
    assert doc["summary"][0]["n"] == 27
    assert sorted(p.name for p in (tmp_path / "fig").iterdir()) == [
        "calibration.png", "decision.png", "roc.png"]


@pytest.mark.parametrize(("args", "message"), [
    (["remission", "{dir}", "-p", "nope"], "column(s) ['nope'] not found"),
    (["remission", "{dir}", "-p", "baseline_hba1c_pct"],
     "predictor 'baseline_hba1c_pct' is missing for all 53 subjects"),
    (["remission", "{dir}", "-p", "n_infusions", "--population", "treated"],
     "predictor 'n_infusions' is constant (1 for all 27 subjects analysed)"),
    (["predict", "{dir}", "-p", "baseline_hba1c_pct"],
     "predictor 'baseline_hba1c_pct' is missing for all 53 subjects"),
    (["remission", "{dir}", "--markers", "HBA1C"], "markers must be distinct values"),
    (["remission", "{dir}", "--window", "400,300"], "must contain the nominal day 365"),
    (["remission", "{dir}", "--threshold", "1000", "-p", "baseline_cpep_fast_nmol_l"],
     "no events"),
    (["predict", "{dir}", "-p", "baseline_cpep_fast_nmol_l", "--folds", "9"],
     "9-fold cross-validation needs at least 2 events"),
    (["predict", "{dir}", "-p", "baseline_cpep_fast_nmol_l", "--model", "svm"],
     "unknown model(s) ['svm']"),
    (["predict", "{dir}", "--external", "missing.yaml"], "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(cohort_dir, args, message):
    res = run(*[a.replace("{dir}", str(cohort_dir)) for a in args])
    assert res.exit_code == 2, res.output
    assert message in res.stderr.replace("\n", " ")
    assert res.stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (["predict", "{dir}"], "--predictor: give at least one --predictor"),
    (["remission", "{dir}", "--window", "wide"], "--window: expected a half-width in whole days"),
    (["remission", "{dir}", "--window", "300,400,500"],
     "--window: expected two integer study days"),
    (["remission", "{dir}", "--save-model", "m.yaml"], "--save-model: needs --predictor"),
])
def test_option_errors(cohort_dir, args, message):
    res = run(*[a.replace("{dir}", str(cohort_dir)) for a in args])
    assert res.exit_code == 2, res.output
    assert message in res.stderr

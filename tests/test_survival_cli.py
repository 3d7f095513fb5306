"""``cohort analyze survival``: JSON and text output, supplied ADTTE files, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import cohort
from cohort.analysis.survival import MONTH_DAYS
from cohort.cli.app import app

# per subject: (arm, insulin-free records, resumption day or None, last contact)
PLAN = {
    "A1": ("A", [90, 180], 270, 400),
    "A2": ("A", [90, 180, 270], 360, 400),
    "A3": ("A", [180, 270], None, 400),
    "A4": ("A", [90, 180, 270, 360], None, 365),
    "B1": ("B", [90, 180], 270, 400),
    "B2": ("B", [90, 180], 270, 400),
    "B3": ("B", [180, 270], 360, 400),
    "B4": ("B", [90, 180, 270], None, 300),
    "B5": ("B", [], None, 400),
}


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory) -> Path:
    rows = []
    for sid, (_, free, resume, _) in PLAN.items():
        rows.append((sid, 30, 0.4))
        rows += [(sid, d, 0.0) for d in free]
        if resume is not None:
            rows.append((sid, resume, 0.2))
        if not free:
            rows.append((sid, 200, 0.5))
    meas = pd.DataFrame(rows, columns=["subject_id", "day", "value"]).assign(
        param="INSULIN_DOSE", unit="IU/kg/day")
    subjects = pd.DataFrame({
        "subject_id": list(PLAN), "study_id": "T", "arm": [v[0] for v in PLAN.values()],
        "control": True, "diabetes_type": "T1D", "sex": "F",
        "age_years": [20.0 + i for i in range(len(PLAN))],
        "last_contact_day": [v[3] for v in PLAN.values()]})
    out = tmp_path_factory.mktemp("surv") / "cohort"
    cohort.write_cohort({"subjects": subjects, "measurements": meas}, out)
    return out


def run(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, ["analyze", "survival", *args],
                                env={"COLUMNS": "200", **(env or {})})
    assert "Traceback" not in result.output
    return result


def test_json_document(cohort_dir):
    result = run(str(cohort_dir), "--group", "arm", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert doc["counts"] == {"n_subjects": 9, "n_with_records": 9, "n_independent": 8,
                             "n_episodes": 8, "n_resumptions": 5, "n_censored": 3,
                             "n_censored_death": 0}
    summ = {r["group"]: r for r in doc["summary"]}
    # A: 180 (4 at risk, 1 event), 220 censored, 270 (2 at risk, 1 event): S = 0.375
    # B: 180 (4 at risk, 3 events): S = 0.25
    assert summ["A"]["estimate"] == 270 and summ["B"]["estimate"] == 180
    assert summ["A"]["estimate_months"] == pytest.approx(270 / MONTH_DAYS)
    curve_a = [r for r in doc["curve"] if r["group"] == "A"]
    assert [r["estimate"] for r in curve_a] == pytest.approx([0.75, 0.75, 0.375, 0.375])
    risk = {(r["group"], r["months"]): r["n_risk"] for r in doc["at_risk"]}
    assert risk[("A", 0.0)] == 4 and risk[("A", 6.0)] == 3 and risk[("B", 6.0)] == 1
    assert doc["logrank"][0]["comparison"] == "overall"
    assert [r["term"] for r in doc["cox"]] == ["armB"]
    assert doc["ph_test"][-1]["term"] == "GLOBAL"
    assert doc["source"]["kind"] == "insulin_episodes"
    assert doc["source"]["rule"]["min_records"] == 2
    assert len(doc["episodes"]) == 8
    # 5 events for one coefficient: warned on stderr, kept in the notes
    assert "cohort: warning: 5 events for 1 Cox coefficient" in result.stderr
    assert any("5 events for 1 Cox coefficient" in n for n in doc["notes"])


def test_text_output_and_plot(cohort_dir, tmp_path):
    png = tmp_path / "km.png"
    result = run(str(cohort_dir), "--group", "arm", "--landmarks", "3,6", "--plot", str(png),
                 "--interval")
    assert result.exit_code == 0, result.output
    assert "Kaplan-Meier" in result.stdout and "Number at risk" in result.stdout
    assert "log-rank overall" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in result.stderr


def test_first_infusion_origin_uses_delayed_entry(cohort_dir):
    result = run(str(cohort_dir), "--origin", "first-infusion", "--format", "json")
    doc = json.loads(result.stdout)
    assert doc["source"]["origin"] == "first-infusion"
    assert any(n.startswith("delayed entry") for n in doc["notes"])
    # R's summary(times=) convention: at risk at the first observed time >= t. At 6 months
    # (day 182.6) that is day 270, when all 8 episodes (entries 90 and 180) are open; at 12
    # months (day 365.25) it is day 400, when only A3, (180, 400], is
    risk = {r["months"]: r["n_risk"] for r in doc["at_risk"]}
    assert (risk[0.0], risk[6.0], risk[12.0], risk[24.0]) == (8, 8, 1, 0)


def write_adtte(path: Path, cnsr: list[str]) -> Path:
    pd.DataFrame({
        "USUBJID": ["A1", "A2", "B1", "B2", "B3"], "PARAMCD": "INSRES",
        "AVAL": ["100", "250", "400", "90", "120"], "CNSR": cnsr,
        "TRT01P": ["MSC", "MSC", "SOC", "SOC", "SOC"]}).to_csv(path, index=False)
    return path


def test_supplied_adtte_with_declared_codes(cohort_dir, tmp_path):
    f = write_adtte(tmp_path / "adtte.csv", ["0", "1", "0", "0", "1"])
    result = run(str(cohort_dir), "--tte", str(f), "--event-codes", "CNSR:0=event,1=censored",
                 "--group", "TRT01P", "--covariates", "age_years", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["counts"] == {"n_rows": 5, "n_events": 3, "n_censored": 2}
    summ = {r["group"]: r for r in doc["summary"]}
    assert summ["MSC"]["n_events"] == 1 and summ["SOC"]["n_events"] == 2
    assert [r["term"] for r in doc["cox"]] == ["TRT01PSOC", "age_years"]
    assert doc["source"] == {"kind": "tte_file", "file": str(f),
                             "event_codes": "CNSR:0=event,1=censored", "param": None}


@pytest.mark.parametrize("args, message", [
    (["--tte", "{adtte}"], "--event-codes.*required with --tte"),
    (["--event-codes", "CNSR:0=event"], "--event-codes.*only meaningful with --tte"),
    (["--tte", "{adtte}", "--event-codes", "CNSR:0=event"],
     "cohort: error: CNSR has codes the event mapping does not declare: '1' \\(2 rows\\)"),
    (["--tte", "{adtte}", "--event-codes", "CNSR:0=event,1=censored", "--param", "OS"],
     "PARAMCD 'OS' not in the dataset"),
    (["--group", "site"], "time-to-event table has no column 'site'|subjects has no column"),
    (["--landmarks", "6,x"], "expected numbers separated by commas"),
    (["--landmarks", "-6"], "times must be >= 0 months"),
    (["--tte", "{missing}", "--event-codes", "CNSR:0=event,1=censored"], "no such file"),
    (["--hba1c-below", "53"], "hba1c_below is an HbA1c in %"),
])
def test_bad_input_exits_2_with_a_message(cohort_dir, tmp_path, args, message):
    f = write_adtte(tmp_path / "adtte.csv", ["0", "1", "0", "0", "1"])
    args = [a.format(adtte=f, missing=tmp_path / "nope.csv") for a in args]
    result = run(str(cohort_dir), *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    import re

    assert re.search(message, result.stderr, flags=re.S), result.stderr


def test_no_one_insulin_free_is_a_message(tmp_path):
    subjects = pd.DataFrame({"subject_id": ["X"], "study_id": "T", "arm": "A", "control": True,
                             "diabetes_type": "T1D", "sex": "M", "age_years": [30.0],
                             "last_contact_day": [100]})
    meas = pd.DataFrame({"subject_id": ["X"], "day": [50], "param": "INSULIN_DOSE",
                         "value": [0.5], "unit": "IU/kg/day"})
    cohort.write_cohort({"subjects": subjects, "measurements": meas}, tmp_path / "c")
    result = run(str(tmp_path / "c"))
    assert result.exit_code == 2
    assert "no insulin-free episodes: no subject met the definition" in result.stderr


def test_example_cohort_runs(example_dir):
    result = run(str(example_dir), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"][0]["n"] == 1 and doc["summary"][0]["n_events"] == 0
    assert np.isnan(float("nan")) and doc["summary"][0]["estimate"] is None

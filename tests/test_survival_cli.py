"""``cohort analyze survival``: JSON and text output, supplied ADTTE files, bad input."""

from __future__ import annotations

import json
import re
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
    # the result prints itself (print_summary): each section under its heading
    assert "Log-rank tests (pairwise p Holm-adjusted)\ncomparison" in result.stdout
    assert re.search(r"^overall +\d+\.\d{3} +1 ", result.stdout, flags=re.M), result.stdout
    assert "Weibull fit to the interval view" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in result.stderr


def test_first_infusion_origin_uses_delayed_entry(cohort_dir):
    result = run(str(cohort_dir), "--origin", "first-infusion", "--landmarks", "6,12,24",
                 "--format", "json")
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
                             "event_codes": "CNSR:0=event,1=censored", "param": None,
                             "subject_col": "USUBJID", "time_col": "AVAL",
                             "episode_col": None, "time_unit_in": "days"}
    # cohort subjects without a row in the file are said, not silently absent
    assert any("4 of 9 cohort subjects have no row in adtte.csv" in n for n in doc["notes"])


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
    (["--group", "arm", "--reference", "C"], "reference level 'C' of 'arm' is not among its "
     "values: A, B"),
    (["--reference", "A"], "--reference names a level of --by"),
    (["--group", "arm", "--cluster", "study_id"], "cluster column 'study_id' has a single "
     "cluster \\('T'\\)"),
    (["--group", "arm", "--cluster", "arm", "--naive-se"], "contradict each other"),
    (["--time-unit", "fortnights"], "--time-unit: 'fortnights' is not one of"),
    (["--time-unit", "weeks", "--landmarks", "-1"], "times must be >= 0 weeks"),
    (["--tte", "{other}", "--event-codes", "CNSR:0=event,1=censored"],
     "2 of 3 subjects in USUBJID are not subjects of the cohort \\(Z1, Z2\\)"),
    (["--tte", "{adtte}", "--event-codes", "CNSR:0=event,1=censored", "--time-col", "DAYS"],
     "no column\\(s\\) DAYS"),
    (["--subject-col", "ID"], "only meaningful with --tte"),
])
def test_bad_input_exits_2_with_a_message(cohort_dir, tmp_path, args, message):
    f = write_adtte(tmp_path / "adtte.csv", ["0", "1", "0", "0", "1"])
    other = tmp_path / "other.csv"
    pd.DataFrame({"USUBJID": ["A1", "Z1", "Z2"], "AVAL": ["1", "2", "3"],
                  "CNSR": ["0", "1", "0"]}).to_csv(other, index=False)
    args = [a.format(adtte=f, missing=tmp_path / "nope.csv", other=other) for a in args]
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


def test_time_unit_for_input_and_output(cohort_dir, tmp_path):
    # the same file in days and in weeks gives the same analysis, shown in the unit asked for
    f = write_adtte(tmp_path / "adtte.csv", ["0", "1", "0", "0", "1"])
    days = json.loads(run(str(cohort_dir), "--tte", str(f), "--event-codes",
                          "CNSR:0=event,1=censored", "--group", "TRT01P", "--format",
                          "json").stdout)
    weeks_file = tmp_path / "weeks.csv"
    frame = pd.read_csv(f, dtype=str)
    frame["AVAL"] = (frame["AVAL"].astype(float) / 7).map(repr)
    frame.to_csv(weeks_file, index=False)
    result = run(str(cohort_dir), "--tte", str(weeks_file), "--event-codes",
                 "CNSR:0=event,1=censored", "--group", "TRT01P", "--time-unit", "weeks",
                 "--landmarks", "4,52", "--at-risk", "0,13,26", "--format", "json")
    assert result.exit_code == 0, result.output
    weeks = json.loads(result.stdout)
    for a, b in zip(days["summary"], weeks["summary"], strict=True):
        assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-12)
        assert b["estimate_weeks"] == pytest.approx(b["estimate"] / 7, rel=1e-12)
    assert [r["weeks"] for r in weeks["at_risk"] if r["group"] == "SOC"] == [0, 13, 26]
    # at-risk counts at exactly 13 weeks = day 91: B2 (day 90) is no longer at risk
    assert [r["n_risk"] for r in weeks["at_risk"] if r["group"] == "SOC"] == [3, 2, 1]
    assert [r["weeks"] for r in weeks["landmarks"] if r["group"] == "MSC"] == [4, 52]
    assert weeks["params"]["time_unit"] == "weeks"
    assert weeks["source"]["time_unit_in"] == "weeks"
    text = run(str(cohort_dir), "--tte", str(weeks_file), "--event-codes",
               "CNSR:0=event,1=censored", "--group", "TRT01P", "--time-unit", "weeks",
               "--at-risk", "0,13,26")
    assert text.exit_code == 0, text.output
    assert "median, weeks (95% CI)" in text.stdout and "Number at risk (weeks)" in text.stdout


def test_all_episodes_are_robust_by_default_and_naive_on_request(tmp_path):
    # two insulin-free episodes per subject (free, resumed, free again): rows of one subject
    rows, arms = [], {}
    for i in range(8):
        sid, shift = f"S{i}", 30 * (i % 4)
        arms[sid] = "AB"[i % 2]
        rows += [(sid, 30, 0.4), (sid, 90, 0.0), (sid, 180, 0.0), (sid, 270 + shift, 0.2),
                 (sid, 360 + shift, 0.0), (sid, 450 + shift, 0.0)]
        if i % 3:
            rows.append((sid, 600 + 20 * i, 0.3))
    meas = pd.DataFrame(rows, columns=["subject_id", "day", "value"]).assign(
        param="INSULIN_DOSE", unit="IU/kg/day")
    subjects = pd.DataFrame({"subject_id": list(arms), "study_id": "T",
                             "arm": list(arms.values()), "control": True,
                             "diabetes_type": "T1D", "sex": "F", "age_years": 30.0,
                             "last_contact_day": 800})
    cohort.write_cohort({"subjects": subjects, "measurements": meas}, tmp_path / "c")
    doc = json.loads(run(str(tmp_path / "c"), "--group", "arm", "--episodes", "all",
                         "--reference", "B", "--format", "json").stdout)
    cox = doc["cox"][0]
    assert cox["term"] == "armA" and cox["variance"] == "robust"
    assert cox["se"] == cox["se_robust"] != cox["se_naive"]
    assert [t["test"] for t in doc["cox_tests"]] == ["likelihood_ratio", "wald", "score",
                                                     "robust_score"]
    assert any("robust (sandwich) SEs clustered on subject_id: 8 subjects contribute 16 rows"
               in n for n in doc["notes"])
    assert 0 <= doc["concordance"]["c_index"] <= 1
    naive = json.loads(run(str(tmp_path / "c"), "--group", "arm", "--episodes", "all",
                           "--naive-se", "--format", "json").stdout)
    assert naive["cox"][0]["variance"] == "naive"
    assert naive["cox"][0]["se"] == pytest.approx(cox["se_naive"], rel=1e-12)
    assert any("naive SEs on request although 8 rows repeat a subject" in n
               for n in naive["notes"])
    text = run(str(tmp_path / "c"), "--group", "arm", "--episodes", "all", "--reference", "B")
    assert ("Cox proportional hazards (Efron ties; robust SEs clustered on subject_id (8 "
            "clusters); reference arm = B)") in text.stdout
    assert re.search(r"^robust score +\d", text.stdout, flags=re.M), text.stdout


def test_tte_file_with_two_rows_per_subject_is_robust_by_default(cohort_dir, tmp_path):
    # two eyes per patient (survival::diabetic's design) in a --tte file: --episode-col tells
    # the rows apart, the Cox SEs are clustered on the subject
    d = pd.read_csv(Path(__file__).parent / "fixtures" / "survival" / "diabetic.csv")
    d = d[d["id"].isin(d["id"].unique()[:9])].copy()
    d["USUBJID"] = d["id"].map(dict(zip(d["id"].unique(), PLAN, strict=True)))
    d["EYE"] = (d["eye"] == "right").astype(int) + 1
    d["AVAL"] = d["time"]
    d["STATUS"] = d["status"]
    f = tmp_path / "eyes.csv"
    d[["USUBJID", "EYE", "AVAL", "STATUS", "trt"]].to_csv(f, index=False)
    args = [str(cohort_dir), "--tte", str(f), "--event-codes", "STATUS:1=event,0=censored",
            "--time-unit", "months", "--covariates", "trt", "--format", "json"]
    res = run(*args, "--episode-col", "EYE")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["cox"][0]["variance"] == "robust"
    assert any("robust (sandwich) SEs clustered on subject_id: 9 subjects contribute 18 rows"
               in n for n in doc["notes"])
    dup = run(*args)
    assert dup.exit_code == 2 and "duplicate (subject_id, episode) rows" in dup.stderr


def test_plot_of_an_adtte_file_is_labelled_from_its_param(cohort_dir, tmp_path, monkeypatch):
    from cohort.analysis.kaplan_meier import KaplanMeierResult

    drawn = []
    original = KaplanMeierResult.plot

    def spy(self, **kwargs):
        drawn.append(original(self, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(KaplanMeierResult, "plot", spy)
    tte = write_adtte(tmp_path / "adtte.csv", ["0", "1", "0", "0", "1"])
    pd.read_csv(tte, dtype=str).assign(PARAM="Time to insulin resumption (days)").to_csv(
        tte, index=False)
    png = tmp_path / "km.png"
    result = run(str(cohort_dir), "--tte", str(tte), "--event-codes",
                 "CNSR:0=event,1=censored", "--time-unit", "days", "--plot", str(png))
    assert result.exit_code == 0, result.output
    (ax,) = drawn
    # PARAM "Time to insulin resumption (days)": the event in words, the unit from --time-unit
    assert ax.get_ylabel() == "Without insulin resumption (%)"
    assert ax.get_xlabel() == "Time (days)"

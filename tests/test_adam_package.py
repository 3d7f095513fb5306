"""The ADaM package of tests/data/adam through the `adam` preset: validation, population,
visits by label, and the Week 24 ANCOVA against R (tests/fixtures/adam/ancova_week24.R)."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

import cohort
from cohort.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
ADAM = ROOT / "tests" / "data" / "adam"
MAPPING = ADAM / "mapping.yaml"
R_RESULT = ROOT / "tests" / "fixtures" / "adam" / "ancova_week24_r.csv"
NON_ITT = ["CHT-204-106", "CHT-204-113", "CHT-204-122", "CHT-204-131"]


def _derived(report) -> dict[tuple[str, str, str], int]:
    d = report.derivations
    return {(r.table, r.column, r.rule): r.n for r in d.itertuples()}


@pytest.fixture(scope="module")
def itt():
    return cohort.load_cohort(ADAM, mapping=MAPPING, population=["ITT"])


def test_the_package_validates_with_the_preset_and_two_constants():
    # the whole user mapping: extends adam and adds constants, nothing else
    lines = [line for line in MAPPING.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == ["extends: adam", "tables:", "  subjects:",
                     "    constants: {diabetes_type: T2D, intervention: drug}"]
    report = cohort.validate(ADAM, mapping=MAPPING)
    assert report.exit_code == 0, report.findings.to_string()
    f = report.findings
    # repeated End-of-Treatment and unscheduled records are not duplicate keys
    assert "duplicate_key" not in set(f["rule"])
    assert _derived(report) == {
        ("subjects", "(day 0)", "TRTSDT (the first of TRTSDT with a date)"): 40,
        ("subjects", "last_contact_day", "the latest date (*DT, *DTM) of the subject in any "
         "dataset minus day 0 (adsl.xpt has no LSTALVDT, EOSDT)"): 40,
        ("measurements", "day", "ADT minus the subject's day 0"): 565,
        ("measurements", "unit", "GLUCF mmol/L: PARAM's trailing parentheses (no AVALU)"): 237,
        ("measurements", "baseline_flag", "ABLFL (Y: true, blank: false)"): 565,
        ("measurements", "analysis_flag", "ANL01FL (Y: true, blank: false)"): 565,
        ("adverse_events", "onset_day", "ASTDT minus the subject's day 0"): 48,
        ("adverse_events", "treatment_emergent", "TRTEMFL (Y: true, blank: false)"): 48,
        ("time_to_event", "time_days", "AVAL in DAYS"): 40,
        # ADEX onto medications by the preset (tests/test_adam_exposure.py)
        ("medications", "drug_class", "EXTRT COHORTIDE -> other (no INN stem of a "
         "glucose-lowering class)"): 20,
        ("medications", "drug_class", "EXTRT SITAGLIPTIN -> dpp4 (INN stem)"): 20,
        ("medications", "daily_dose", "EXDOSE x 1 (EXDOSFRQ QD)"): 40,
        ("medications", "start_day", "ASTDT minus the subject's day 0"): 40,
        ("medications", "end_day", "AENDT minus the subject's day 0"): 40}
    # the screen failure leaves with its screening lab
    sf = f[(f["rule"] == "population")]
    assert sf[["table", "value"]].values.tolist() == [["subjects", "1"], ["measurements", "1"]]
    assert "CHT-204-141" in sf["message"].iloc[0]
    assert report.tables.set_index("table")["rows"].to_dict() == {
        "subjects": 40, "measurements": 565, "adverse_events": 48, "time_to_event": 40,
        "medications": 40}


def test_adam_conventions_are_carried_into_the_cohort():
    c = cohort.load_cohort(ADAM, mapping=MAPPING)
    m = c.measurements
    raw, _ = pyreadstat.read_xport(str(ADAM / "adlbc.xpt"))
    # the screen failure's lab leaves with it
    raw = raw[raw["PARAMCD"].isin(["HBA1C", "GLUCF"]) & (raw["USUBJID"] != "CHT-204-141")]
    labs = m[m["param"].isin(["HBA1C", "FPG"])]
    assert len(labs) == len(raw)
    assert int(labs["analysis_flag"].sum()) == int((raw["ANL01FL"] == "Y").sum())
    assert int(labs["baseline_flag"].sum()) == int((raw["ABLFL"] == "Y").sum())
    eot = labs[labs["visit"] == "End of Treatment"]
    assert len(eot) and not eot["analysis_flag"].any()
    # a subject's first dose day is day 0: ADY 1 -> day 0, ADY 29 +- 3 -> 25..31
    base = labs[labs["visit"] == "Baseline"]
    assert set(base["day"]) == {0}
    assert labs.loc[labs["visit"] == "Week 4", "day"].between(25, 31).all()
    # HbA1c delivered in mmol/mol, reported in %; glucose unit from PARAM
    hba1c = labs[labs["param"] == "HBA1C"]
    assert set(hba1c["unit_original"]) == {"mmol/mol"} and set(hba1c["unit"]) == {"%"}
    assert hba1c["value"].to_numpy() == pytest.approx(
        hba1c["value_original"].to_numpy() / 10.929 + 2.15, rel=1e-12)
    assert set(labs.loc[labs["param"] == "FPG", "unit"]) == {"mmol/L"}
    ae, _ = pyreadstat.read_xport(str(ADAM / "adae.xpt"))
    assert int(c.adverse_events["treatment_emergent"].sum()) == int((ae["TRTEMFL"] == "Y").sum())
    assert (c.adverse_events["onset_day"] >= -10).all()
    # last contact: the latest dated record (here the time-to-event date or a lab date)
    s = c.subjects.set_index("subject_id")
    assert s.loc["CHT-204-101", "last_contact_day"] == m.loc[
        m["subject_id"] == "CHT-204-101", "day"].max()
    tte = c.time_to_event
    assert set(tte["censor"]) == {0, 1} and tte["time_days"].min() > 0


def test_population_removes_subjects_from_every_table(itt):
    assert len(itt.subjects) == 36
    for name in ("measurements", "adverse_events", "time_to_event", "medications"):
        assert not set(NON_ITT) & set(itt.tables[name]["subject_id"])
    w = itt.warnings
    counts = w[w["rule"] == "population"].groupby("table")["value"].apply(list).to_dict()
    assert counts == {"adverse_events": ["6"], "measurements": ["1", "81"],
                      "subjects": ["1", "4"], "time_to_event": ["4"], "medications": ["4"]}


def test_ancova_week24_itt_equals_r_lm_emmeans():
    result = CliRunner().invoke(app, [
        "analyze", "ancova", str(ADAM), "--mapping", str(MAPPING), "--population", "ITT",
        "--visit", "Week 24", "--reference", "Sitagliptin 100 mg", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    got = pd.DataFrame(doc["summary"])
    with open(R_RESULT, newline="") as fh:
        ref = list(csv.DictReader(fh))
    assert len(got) == len(ref) == 3
    diffs = []
    for r in ref:
        row = got[(got["kind"] == r["kind"]) & (got["arm"] == r["arm"])].iloc[0]
        assert row["visit"] == "Week 24" and int(row["n"]) == int(r["n"])
        for col in ("estimate", "se", "ci_lower", "ci_upper", "df"):
            diffs.append(abs(row[col] - float(r[col])))
            assert row[col] == pytest.approx(float(r[col]), rel=1e-6, abs=1e-9), (r, col)
        assert row["p"] == pytest.approx(float(r["p"]), rel=1e-5)
    assert max(diffs) < 1e-9  # R printed 15 significant digits
    assert doc["params"]["visit_labels"] == ["Week 24"]
    assert len(doc["exclusions"]) == 3  # the three who stopped after Week 12


def test_labels_and_the_baseline_flag_are_the_default(itt):
    from cohort.analysis.ancova import ancova_analysis

    res = ancova_analysis(itt.measurements, itt.subjects, reference="Sitagliptin 100 mg")
    assert list(dict.fromkeys(res.summary["visit"])) == ["Week 4", "Week 12", "Week 24"]
    assert any("visits by label" in n for n in res.notes)
    by_day = ancova_analysis(itt.measurements, itt.subjects, visit_days=[168],
                             reference="Sitagliptin 100 mg")
    assert by_day.params["visit_labels"] is None
    assert list(by_day.summary["visit"].unique()) == ["day 168"]


def test_unknown_visit_label_lists_the_visits(itt):
    result = CliRunner().invoke(app, [
        "analyze", "paired", str(ADAM), "--mapping", str(MAPPING), "--visit", "Week 52"])
    assert result.exit_code == 2
    assert "'Week 52' are not post-baseline visits" in result.output
    assert "'Week 4', 'Week 12', 'Week 24'" in result.output


def test_survival_reads_the_time_to_event_table_by_paramcd(itt):
    result = CliRunner().invoke(app, [
        "analyze", "survival", str(ADAM), "--mapping", str(MAPPING), "--population", "ITT",
        "--param", "TTRESC", "--group", "arm", "--landmarks", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    raw, _ = pyreadstat.read_xport(str(ADAM / "adtte.xpt"))
    raw = raw[~raw["USUBJID"].isin(NON_ITT)]
    # CNSR 0 is the event (read exactly: no 5e-79 from the transport file)
    assert doc["source"]["kind"] == "time_to_event"
    assert doc["counts"] == {"n_rows": 36, "n_events": int((raw["CNSR"] == 0).sum()),
                             "n_censored": int((raw["CNSR"] == 1).sum())}


def test_generator_reproduces_the_committed_package(tmp_path):
    work = tmp_path / "adam"
    work.mkdir()
    shutil.copy(ADAM / "make_adam.py", work / "make_adam.py")
    subprocess.run([sys.executable, str(work / "make_adam.py")], check=True, cwd=tmp_path)
    for name in ("adsl", "adlbc", "advs", "adae", "adtte", "adex"):
        a, _ = pyreadstat.read_xport(str(work / f"{name}.xpt"))
        b, _ = pyreadstat.read_xport(str(ADAM / f"{name}.xpt"))
        pd.testing.assert_frame_equal(a, b)


def test_validation_leaves_the_package_untouched():
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in ADAM.iterdir()}
    cohort.validate(ADAM, mapping=MAPPING, population=["ITT"])
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in ADAM.iterdir()}
    assert before == after


def test_table1_baseline_is_the_flagged_record(itt):
    from cohort.analysis.table1 import table1

    res = table1(itt.subjects, itt.measurements, by="arm", baseline_params=["HBA1C"])
    got = res.summary[res.summary["variable"] == "baseline HBA1C"].set_index("group")
    raw, _ = pyreadstat.read_xport(str(ADAM / "adlbc.xpt"))
    base = raw[(raw["PARAMCD"] == "HBA1C") & (raw["ABLFL"] == "Y") & (raw["ITTFL"] == "Y")]
    want = (base["AVAL"] / 10.929 + 2.15).groupby(base["TRT01P"]).agg(["mean", "std", "size"])
    for arm, row in want.iterrows():
        assert got.loc[arm, "mean"] == pytest.approx(row["mean"], rel=1e-12)
        assert got.loc[arm, "sd"] == pytest.approx(row["std"], rel=1e-12)
        assert got.loc[arm, "n"] == row["size"] == 18
    assert "baseline HBA1C: the record flagged as baseline (ABLFL)" in res.notes


def test_adex_onto_medications_with_one_declared_class():
    mapping = ROOT / "tests" / "fixtures" / "adam" / "adex_mapping.yaml"
    lines = [line for line in mapping.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == ["extends: ../../data/adam/mapping.yaml",
                     "adam: {drug_classes: {COHORTIDE: glp1}}"]
    c = cohort.load_cohort(ADAM, mapping=mapping)
    med = c.medications.set_index("subject_id")
    adsl, _ = pyreadstat.read_xport(str(ADAM / "adsl.xpt"))
    adsl = adsl[adsl["ARMCD"] != "SCRNFAIL"].set_index("USUBJID")
    assert med["drug_class"].value_counts().to_dict() == {"glp1": 20, "dpp4": 20}
    assert (med["start_day"] == 0).all()
    # the last dose day counted from the first: TRTEDT - TRTSDT
    want = {sid: (r["TRTEDT"] - r["TRTSDT"]).days for sid, r in adsl.iterrows()}
    assert med["end_day"].to_dict() == want


def test_mmrm_over_the_adam_visits(itt):
    from cohort.analysis.mmrm.analysis import mmrm_analysis

    by_label = mmrm_analysis(itt.measurements, itt.subjects, reference="Sitagliptin 100 mg")
    assert by_label.params["visit_labels"] == ["Week 4", "Week 12", "Week 24"]
    # on this package the day windows pick the same records (visits at day 28 +- 3, 84 +- 3,
    # 168 +- 3; the baseline record on day 0; no record of a window is not an analysis one)
    by_day = mmrm_analysis(itt.measurements, itt.subjects, visit_days=[28, 84, 168],
                           reference="Sitagliptin 100 mg")
    a, b = by_label.summary, by_day.summary
    assert a["visit"].tolist()[:2] == ["Week 4", "Week 4"]
    for col in ("estimate", "se", "df"):
        assert a[col].to_numpy() == pytest.approx(b[col].to_numpy(), rel=1e-9)


def test_visits_by_label_and_by_day_do_not_mix(itt):
    from cohort.analysis.ancova import ancova_analysis
    from cohort.errors import AnalysisError

    with pytest.raises(AnalysisError, match=r"give visits by label \(--visit\) or by day"):
        ancova_analysis(itt.measurements, itt.subjects, visit_labels=["Week 24"],
                        visit_days=[168])
    # a cohort without labels and baseline flags: visits by label are refused, by name
    no_flags = itt.measurements.drop(columns=["baseline_flag"])
    with pytest.raises(AnalysisError, match="need visit labels and a baseline flag"):
        ancova_analysis(no_flags, itt.subjects, visit_labels=["Week 24"])

"""The REDCap-style export of tests/data/redcap/: validated and analysed by mapping alone.

The expected values are derived here from the raw CSV export with the standard library
(datetime, csv) and numpy, independently of the loader: day 0, study days, ages, BMI,
conversions, the censored C-peptide and the ANCOVA of HbA1c change at one year.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cohort
from cohort.cli.app import app

REDCAP = Path(__file__).parent / "data" / "redcap"
MAPPING = REDCAP / "mapping.yaml"
CSV = REDCAP / "csv"
CSV_MAPPING = CSV / "mapping.yaml"


def _hashes() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(REDCAP.rglob("*")) if p.is_file()}


def _rows(name: str) -> list[dict[str, str]]:
    with open(CSV / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _day(text: str) -> date:
    return datetime.strptime(text, "%d/%m/%Y").date()


@pytest.fixture(scope="module")
def xlsx_cohort() -> cohort.Cohort:
    return cohort.load_cohort(REDCAP, mapping=MAPPING)


@pytest.fixture(scope="module")
def csv_cohort() -> cohort.Cohort:
    return cohort.load_cohort(CSV, mapping=CSV_MAPPING)


def test_the_generator_writes_the_committed_export(tmp_path):
    spec = importlib.util.spec_from_file_location("make_redcap", REDCAP / "make_redcap.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in ("patients.csv", "labs.csv"):
        assert (tmp_path / "csv" / name).read_bytes() == (CSV / name).read_bytes()
    import openpyxl

    def cells(path: Path) -> dict[str, list[tuple]]:
        wb = openpyxl.load_workbook(path, read_only=True)
        out = {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
        wb.close()
        return out

    assert cells(tmp_path / "redcap_export.xlsx") == cells(REDCAP / "redcap_export.xlsx")


@pytest.mark.parametrize(("folder", "mapping"), [(REDCAP, MAPPING), (CSV, CSV_MAPPING)])
def test_validates_with_exit_0_and_says_what_it_left_out(folder, mapping):
    before = _hashes()
    result = CliRunner().invoke(app, ["validate", str(folder), "--mapping", str(mapping),
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["counts"] == {"errors": 0, "warnings": 4}
    left = {(f["table"], f["column"]): int(f["value"]) for f in doc["findings"]}
    # 12 standard-care subjects have no infusion; one visit (4 kept tests) has no date; 144
    # creatinine rows; 2 blank results of kept tests (the third blank is a creatinine)
    assert left == {("infusions", "infusion_date"): 12, ("measurements", "lab_date"): 4,
                    ("measurements", "param"): 144, ("measurements", "value"): 2}
    derived = {(d["table"], d["column"]): d["n"] for d in doc["derivations"]}
    assert derived[("subjects", "age_years")] == 24
    assert derived[("subjects", "bmi_kg_m2")] == 23  # one height is blank
    assert derived[("measurements", "day")] == 570
    assert derived[("measurements", "value")] == 1  # the <10 C-peptide
    conversions = {(c["param"], c["from_unit"]) for c in doc["conversions"]}
    assert conversions == {("HBA1C", "mmol/mol"), ("CPEP_FAST", "pmol/L"),
                           ("CPEP_PP", "pmol/L"), ("INSULIN_DOSE", "U/day")}
    # the units came from the test names' trailing parentheses (units_from_names), listed
    units = {d["rule"]: d["n"] for d in doc["derivations"] if d["column"] == "unit"}
    # counted on the rows kept, as the conversions are (creatinine is left out by keep)
    assert units == {"C-peptide 2h pmol/L: trailing parentheses of test": 142,
                     "C-peptide fasting pmol/L: trailing parentheses of test": 143,
                     "HbA1c mmol/mol: trailing parentheses of test": 142,
                     "Insulin dose U/day: trailing parentheses of test": 143}
    converted = {c["param"]: c["n"] for c in doc["conversions"]}
    assert converted == {"CPEP_PP": 142, "CPEP_FAST": 143, "HBA1C": 142, "INSULIN_DOSE": 143}
    assert _hashes() == before


def test_workbook_and_csv_give_the_same_cohort(xlsx_cohort, csv_cohort):
    for table in ("subjects", "infusions", "measurements"):
        a = xlsx_cohort.tables[table].reset_index(drop=True)
        b = csv_cohort.tables[table].reset_index(drop=True)
        assert a.equals(b), table


def test_subjects_derived_from_dates_and_codes(csv_cohort):
    patients = {p["record_id"]: p for p in _rows("patients.csv")}
    s = csv_cohort.subjects.set_index("subject_id")
    assert len(s) == 24
    # trailing spaces in arm, sex and GAD codes do not matter
    assert s["arm"].value_counts().to_dict() == {"MSC": 12, "Standard care": 12}
    assert set(s["sex"]) == {"F", "M"} and set(s["gad_status"]) == {"positive", "negative"}
    assert s.loc["RC-004", "arm"] == "Standard care"  # written "Standard care "
    assert s.loc["RC-005", "sex"] == "M"  # written "Male "
    assert s.loc["RC-011", "sex"] == "F"  # written "Female "
    assert s.loc["RC-012", "gad_status"] == "positive"  # written "Positive "
    assert s["control"].tolist() == [i % 2 == 1 for i in range(24)]
    assert set(s.loc[s["control"], "intervention"]) == {"standard_care"}
    for rid, p in patients.items():
        origin = _day(p["infusion_date"] or p["randomisation_date"])
        years = (origin - _day(p["dob"])).days / 365.25
        assert s.loc[rid, "age_years"] == pytest.approx(round(years, 2), abs=1e-12)
        duration = (origin - _day(p["diagnosis_date"])).days / 365.25
        assert s.loc[rid, "diabetes_duration_years"] == pytest.approx(round(duration, 2))
        assert s.loc[rid, "dka_at_diagnosis"] == (p["dka"] == "yes")
        if p["height_cm"]:
            bmi = float(p["weight_kg"]) / (float(p["height_cm"]) / 100) ** 2
            assert s.loc[rid, "bmi_kg_m2"] == pytest.approx(round(bmi, 1))
        else:
            assert np.isnan(s.loc[rid, "bmi_kg_m2"])


def test_measurements_days_units_and_the_censored_value(csv_cohort):
    patients = {p["record_id"]: p for p in _rows("patients.csv")}
    m = csv_cohort.measurements
    labs = [r for r in _rows("labs.csv") if r["lab_date"] and r["result"]
            and not r["test"].startswith("Creatinine")]
    assert len(m) == len(labs)
    last: dict[str, int] = {}
    for r, (_, row) in zip(labs, m.iterrows(), strict=True):
        p = patients[r["record_id"]]
        day = (_day(r["lab_date"]) - _day(p["infusion_date"] or p["randomisation_date"])).days
        assert (row["subject_id"], row["day"]) == (r["record_id"], day)
        last[r["record_id"]] = max(last.get(r["record_id"], 0), day)
        if r["test"].startswith("HbA1c"):
            assert row["value"] == pytest.approx(float(r["result"]) / 10.929 + 2.15)
        if r["result"] == "<10":
            # C-peptide <10 pmol/L: half the limit, 5 pmol/L = 0.005 nmol/L, limit kept
            assert (row["param"], row["qualifier"]) == ("CPEP_FAST", "<")
            assert row["value"] == pytest.approx(0.005)
            assert row["value_original"] == 10 and row["unit_original"] == "pmol/L"
    assert m["qualifier"].notna().sum() == 1
    s = csv_cohort.subjects.set_index("subject_id")
    assert {k: int(s.loc[k, "last_contact_day"]) for k in last} == last
    infused = csv_cohort.infusions
    assert len(infused) == 12 and set(infused["day"]) == {0}
    # 1 (10^6 cells/kg, as exported) x 1e6 (scale)
    assert set(infused["dose_cells_per_kg"]) == {1.0e6}


def test_ancova_of_hba1c_change_at_one_year_matches_a_fit_from_the_raw_export(csv_cohort):
    """OLS of change ~ arm + baseline on HbA1c derived from labs.csv by hand."""
    patients = {p["record_id"]: p for p in _rows("patients.csv")}
    values: dict[str, dict[str, float]] = {}
    for r in _rows("labs.csv"):
        if r["test"].strip() == "HbA1c (mmol/mol)" and r["result"] and r["lab_date"]:
            p = patients[r["record_id"]]
            day = (_day(r["lab_date"]) - _day(p["infusion_date"]
                                                or p["randomisation_date"])).days
            key = "base" if day <= 0 else "y1" if 300 <= day <= 430 else None
            if key:
                values.setdefault(r["record_id"], {})[key] = float(r["result"]) / 10.929 + 2.15
    ids = sorted(k for k, v in values.items() if {"base", "y1"} <= set(v))
    treated = np.array([patients[k]["study_arm"].strip() == "MSC" for k in ids], dtype=float)
    base = np.array([values[k]["base"] for k in ids])
    change = np.array([values[k]["y1"] - values[k]["base"] for k in ids])
    x = np.column_stack([np.ones(len(ids)), treated, base])
    coef = np.linalg.lstsq(x, change, rcond=None)[0]
    from cohort.analysis.ancova import ancova_analysis

    fit = ancova_analysis(csv_cohort.measurements, csv_cohort.subjects, param="HBA1C",
                          visit_days=[365])
    diff = fit.summary[fit.summary["kind"] == "vs_reference"].iloc[0]
    assert diff["reference"] == "Standard care" and diff["n"] == len(ids) == 24
    assert diff["estimate"] == pytest.approx(coef[1], rel=1e-9)


def test_analyses_say_how_censored_values_entered(csv_cohort):
    from cohort.analysis.ancova import ancova_analysis
    from cohort.analysis.remission import remission_analysis

    note = ("CPEP_FAST: 1 censored value(s) below the measuring range (<10 pmol/L as read) "
            "enter at half the limit (tables.measurements.censored of the mapping)")
    rem = remission_analysis(csv_cohort.measurements, csv_cohort.subjects, csv_cohort.infusions)
    assert note in rem.notes
    hb = ancova_analysis(csv_cohort.measurements, csv_cohort.subjects, param="HBA1C",
                         visit_days=[365])
    assert not any("censored" in n for n in hb.notes)


def test_the_cohort_and_its_report_list_the_derivations(xlsx_cohort):
    from cohort.report.context import ReportContext
    from cohort.report.html import HtmlReport
    from cohort.report.overview import validation_section

    d = {(r.table, r.column): r for r in xlsx_cohort.derivations.itertuples()
         if r.column != "unit"}  # one row per column but the units (one per test name)
    assert d[("subjects", "age_years")].n == 24
    assert d[("infusions", "dose_cells_per_kg")].rule == \
        "dose_cells_per_kg as read x 1e+06 (scale)"
    ctx = ReportContext(cohort=xlsx_cohort, html=HtmlReport("t"))
    validation_section(ctx)
    html = ctx.html.render()
    assert "Derived by the mapping on load" in html and "dob to day 0, in years" in html

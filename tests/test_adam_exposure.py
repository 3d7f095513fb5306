"""ADEX onto medications by the `adam` preset (cohort.io.adam_exposure): drug class from
adam.drug_classes or the WHO INN stem, daily dose from EXDOSE and EXDOSFRQ, placebo and cell
products left out with a warning, a BDS ADEX not read. Expected values are worked out by hand
from the rows written here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

import cohort
from cohort.io.adam_exposure import PER_DAY, drug_class_of

ROOT = Path(__file__).resolve().parents[1]
ADAM = ROOT / "tests" / "data" / "adam"


@pytest.mark.parametrize(("name", "want"), [
    ("SITAGLIPTIN", ("dpp4", "INN stem")),
    ("Dapagliflozin 10 mg", ("sglt2", "INN stem")),
    ("SEMAGLUTIDE", ("glp1", "INN stem")),
    ("EXENATIDE ER", ("glp1", "INN stem")),
    ("INSULIN GLARGINE", ("insulin", "INN stem")),
    ("Insulin degludec", ("insulin", "INN stem")),
    ("PIOGLITAZONE", ("tzd", "INN stem")),
    ("GLIMEPIRIDE", ("sulfonylurea", "INN stem")),
    # a combination: the stem that comes first in the name
    ("METFORMIN/SITAGLIPTIN", ("metformin", "INN stem")),
    ("COHORTIDE", ("other", "no INN stem of a glucose-lowering class")),
])
def test_drug_class_from_the_inn_stem(name, want):
    assert drug_class_of(name) == want


def test_declared_class_wins_and_is_case_blind():
    assert drug_class_of(" cohortide ", {"COHORTIDE": "glp1"}) == ("glp1", "adam.drug_classes")
    assert drug_class_of("SITAGLIPTIN", {"SITAGLIPTIN": "other"}) == ("other",
                                                                     "adam.drug_classes")


def test_frequencies_are_per_day():
    assert PER_DAY["BID"] == 2 and PER_DAY["QW"] == pytest.approx(1 / 7)


def _package(tmp_path: Path, adex: pd.DataFrame) -> Path:
    folder = tmp_path / "adam"
    folder.mkdir()
    for name in ("adsl", "adlbc"):
        shutil.copy(ADAM / f"{name}.xpt", folder / f"{name}.xpt")
    adex.to_csv(folder / "adex.csv", index=False)
    shutil.copy(ADAM / "mapping.yaml", folder / "mapping.yaml")
    return folder


def _adex(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRQ",
                                       "ASTDT", "AENDT"])


def test_adex_periods_classes_doses_and_rows_left_out(tmp_path):
    # CHT-204-101 starts treatment on 2023-01-09, CHT-204-102 on 2023-01-12
    folder = _package(tmp_path, _adex([
        ("CHT-204-101", "METFORMIN", 500, "mg", "BID", "2023-01-09", "2023-03-09"),
        ("CHT-204-101", "SEMAGLUTIDE", 1, "mg", "QW", "2023-01-09", ""),
        ("CHT-204-102", "PLACEBO", 0, "mg", "QD", "2023-01-12", "2023-06-30"),
        ("CHT-204-102", "UC-MSC", 1, "10^6 cells/kg", "ONCE", "2023-01-12", "2023-01-12"),
        ("CHT-204-102", "INSULIN GLARGINE", 20, "U", "PRN", "2023-01-02", ""),
    ]))
    report = cohort.validate(folder, mapping=folder / "mapping.yaml")
    assert report.exit_code == 0, report.findings.to_string()
    w = report.findings
    left = w[(w["rule"] == "rows_left_out") & (w["table"] == "medications")]
    assert sorted(left["value"]) == ["1", "1"]
    assert left["message"].str.contains("placebo is not a glucose-lowering drug").any()
    assert left["message"].str.contains("a dose in cells is a cell product: map it onto "
                                        "infusions").any()
    freq = w[w["rule"] == "dose_frequency"]
    assert freq["value"].tolist() == ["1"] and "(PRN;" in freq["message"].iloc[0]
    d = report.derivations
    med = {r.rule: r.n for r in d[d["table"] == "medications"].itertuples()}
    assert med["EXTRT METFORMIN -> metformin (INN stem)"] == 1
    assert med["EXTRT INSULIN GLARGINE -> insulin (INN stem)"] == 1
    assert med["EXDOSE x 2 (EXDOSFRQ BID)"] == 1
    assert med["EXDOSE x 0.142857 (EXDOSFRQ QW)"] == 1
    c = cohort.load_cohort(folder, mapping=folder / "mapping.yaml")
    m = c.medications.set_index("drug_class")
    assert m.loc["metformin", "daily_dose"] == 1000.0
    assert m.loc["metformin", "unit"] == "mg/day"
    assert (m.loc["metformin", "start_day"], m.loc["metformin", "end_day"]) == (0, 59)
    assert m.loc["glp1", "daily_dose"] == pytest.approx(1 / 7, rel=1e-12)
    assert pd.isna(m.loc["glp1", "end_day"])  # ongoing
    assert pd.isna(m.loc["insulin", "daily_dose"])  # PRN: no daily rate
    assert m.loc["insulin", "start_day"] == -10
    assert set(m.index) == {"metformin", "glp1", "insulin"}


def test_a_bds_adex_is_not_read_and_says_so(tmp_path):
    folder = _package(tmp_path, pd.DataFrame({
        "USUBJID": ["CHT-204-101"], "PARAMCD": ["TOTDOSE"], "AVAL": [168.0]}))
    report = cohort.validate(folder, mapping=folder / "mapping.yaml")
    assert report.exit_code == 0, report.findings.to_string()
    w = report.findings
    msg = w[(w["table"] == "medications") & (w["rule"] == "rows_left_out")]["message"]
    assert msg.str.contains("has no EXTRT").all() and len(msg) == 1
    med = cohort.load_cohort(folder, mapping=folder / "mapping.yaml").medications
    assert med is None or med.empty


def test_a_package_without_adex_needs_none(tmp_path):
    folder = _package(tmp_path, _adex([]))
    (folder / "adex.csv").unlink()
    report = cohort.validate(folder, mapping=folder / "mapping.yaml")
    assert report.exit_code == 0, report.findings.to_string()
    assert "medications" not in set(report.derivations["table"])


def test_an_unknown_declared_class_is_a_mapping_error(tmp_path):
    folder = _package(tmp_path, _adex([]))
    bad = folder / "bad.yaml"
    bad.write_text("extends: mapping.yaml\nadam: {drug_classes: {COHORTIDE: incretin}}\n")
    report = cohort.validate(folder, mapping=bad)
    assert report.exit_code == 2
    assert "adam.drug_classes.COHORTIDE" in report.findings["message"].str.cat()


def test_a_cell_product_adex_maps_onto_infusions_by_mapping_alone(tmp_path):
    # two infusions per subject, on the first dosing day (day 0) and 28 days later; the dose
    # in 10^6 cells/kg. The preset leaves these rows out of medications (a warning); the
    # user's mapping reads the same dataset as infusions.
    adsl, _ = pyreadstat.read_xport(str(ADAM / "adsl.xpt"))
    adsl = adsl[adsl["ARMCD"] != "SCRNFAIL"]
    rows = []
    for sid, start in zip(adsl["USUBJID"], adsl["TRTSDT"], strict=True):
        # written second dose first: the numbering follows the day, not the file
        for k, (days, dose) in enumerate(((28, 2.0), (0, 1.0))):
            d = (start + pd.Timedelta(days=days)).isoformat()
            rows.append((sid, "UC-MSC", dose, "10^6 cells/kg", "ONCE", d, d, float(k + 1)))
    adex = pd.DataFrame(rows, columns=["USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXDOSFRQ",
                                       "ASTDT", "AENDT", "EXSEQ"])
    folder = _package(tmp_path, adex)
    # the mapping docs/validate.md shows, as it is written there
    docs = (ROOT / "docs" / "validate.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", docs, flags=re.S)
               if "COHORT_NUMBER" in b]
    mapping = folder / "cells.yaml"
    mapping.write_text(block, encoding="utf-8")
    report = cohort.validate(folder, mapping=mapping)
    assert report.exit_code == 0, report.findings.to_string()
    d = report.derivations
    rules = {(r.table, r.column, r.rule): r.n for r in d.itertuples()}
    assert rules[("infusions", "infusion_number",
                  "1, 2, ... per subject in start-day order")] == 80
    assert rules[("infusions", "day", "ASTDT minus the subject's day 0")] == 80
    w = report.findings
    assert w[(w["table"] == "medications") & (w["rule"] == "rows_left_out")]["value"].tolist() \
        == ["80"]
    inf = cohort.load_cohort(folder, mapping=mapping).infusions
    first = inf[inf["subject_id"] == "CHT-204-101"].sort_values("infusion_number")
    assert first[["infusion_number", "day", "dose_cells_per_kg"]].values.tolist() == [
        [1, 0, 1.0e6], [2, 28, 2.0e6]]

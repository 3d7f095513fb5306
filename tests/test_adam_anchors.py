"""The two public ADaM-shaped sets (tests/fixtures/adam_anchors, Apache-2.0) validate with the
`adam` preset extended by constants only, as CSV and as SAS transport v5."""

from __future__ import annotations

from pathlib import Path

import pytest

import cohort

ANCHORS = Path(__file__).resolve().parent / "fixtures" / "adam_anchors"
MAPPING = ANCHORS / "mapping.yaml"


def _notes(report) -> str:
    f = report.findings
    return "\n".join(f.loc[f["severity"] == "note", "message"])


@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_metabolic_synthetic(fmt):
    report = cohort.validate(ANCHORS / "metabolic_synthetic" / fmt, mapping=MAPPING)
    assert report.exit_code == 0, report.findings.to_string()
    notes = _notes(report)
    # no AVALU: HbA1c and weight take their units from PARAM
    assert "(no AVALU): HBA1CHGB 'mmol/mol', WEIGHT 'kg'" in notes
    assert "study day 0 of each subject from TRTSDT (5 subjects)" in notes
    assert "last contact of each subject from LSTALVDT (5 subjects)" in notes
    f = report.findings
    screen = f[(f["rule"] == "population") & (f["table"] == "subjects")]
    assert screen["value"].tolist() == ["1"] and "MSYN01-006" in screen["message"].iloc[0]
    c = cohort.load_cohort(ANCHORS / "metabolic_synthetic" / fmt, mapping=MAPPING)
    assert sorted(c.subjects["arm"].unique()) == ["Insulin", "Placebo"]
    hba1c = c.measurements[c.measurements["param"] == "HBA1C"]
    assert len(hba1c) == 31 and set(hba1c["unit_original"]) == {"mmol/mol"}


@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_random_cdisc_data_subset(fmt):
    folder = ANCHORS / "random_cdisc_data_subset" / fmt
    report = cohort.validate(folder, mapping=MAPPING)
    assert report.exit_code == 0, report.findings.to_string()
    notes = _notes(report)
    # datetimes only: TRTSDTM gives day 0, ADTM the record days
    assert "study day 0 of each subject from TRTSDTM (30 subjects)" in notes
    assert "from ADTM (840 rows)" in notes
    itt = cohort.load_cohort(folder, mapping=MAPPING, population=["ITTFL"])
    assert len(itt.subjects) == 30
    w = cohort.validate(folder, mapping=MAPPING, population=["SAF"])
    assert w.exit_code == 0

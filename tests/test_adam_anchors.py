"""The two public ADaM-shaped sets (tests/fixtures/adam_anchors, Apache-2.0) validate with the
`adam` preset extended by constants only, as CSV and as SAS transport v5."""

from __future__ import annotations

from pathlib import Path

import pytest

import cohort

ANCHORS = Path(__file__).resolve().parent / "fixtures" / "adam_anchors"
MAPPING = ANCHORS / "mapping.yaml"


def _derived(report) -> dict[tuple[str, str, str], int]:
    d = report.derivations
    return {(r.table, r.column, r.rule): r.n for r in d.itertuples()}


@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_metabolic_synthetic(fmt):
    report = cohort.validate(ANCHORS / "metabolic_synthetic" / fmt, mapping=MAPPING)
    assert report.exit_code == 0, report.findings.to_string()
    derived = _derived(report)
    # no AVALU: HbA1c and weight take their units from PARAM
    assert derived[("measurements", "unit",
                    "HBA1CHGB mmol/mol: PARAM's trailing parentheses (no AVALU)")] == 31
    assert derived[("measurements", "unit",
                    "WEIGHT kg: PARAM's trailing parentheses (no AVALU)")] == 41
    assert derived[("subjects", "(day 0)", "TRTSDT (the first of TRTSDT, RANDDT with a "
                    "date)")] == 5
    assert derived[("subjects", "last_contact_day", "LSTALVDT minus day 0")] == 5
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
    derived = _derived(report)
    # datetimes only: TRTSDTM gives day 0, ADTM the record days
    assert derived[("subjects", "(day 0)", "TRTSDTM (the first of TRTSDTM, RANDDT with a "
                    "date)")] == 30
    assert derived[("measurements", "day", "ADTM minus the subject's day 0")] == 210
    # LSTALVDT is empty for 4 subjects: their latest dated record
    assert derived[("subjects", "last_contact_day", "LSTALVDT minus day 0")] == 26
    assert derived[("subjects", "last_contact_day", "the latest date (*DT, *DTM) of the "
                    "subject in any dataset minus day 0")] == 4
    itt = cohort.load_cohort(folder, mapping=MAPPING, population=["ITTFL"])
    assert len(itt.subjects) == 30
    w = cohort.validate(folder, mapping=MAPPING, population=["SAF"])
    assert w.exit_code == 0

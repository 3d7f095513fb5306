"""Which ADSL variables give study day 0 and the last contact, each choice reported; dataset
names by ADaM convention in any case. Variants of tests/data/adam written here; expected days
are worked out by hand from the dates written."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

import cohort

ROOT = Path(__file__).resolve().parents[1]
ADAM = ROOT / "tests" / "data" / "adam"
MAPPING = ADAM / "mapping.yaml"
FIRST = "CHT-204-101"  # TRTSDT 2023-01-09


def _package(tmp_path: Path, adsl: pd.DataFrame) -> Path:
    folder = tmp_path / "adam"
    folder.mkdir(parents=True)
    for name in ("adlbc", "adae", "adtte"):
        shutil.copy(ADAM / f"{name}.xpt", folder / f"{name}.xpt")
    adsl.to_csv(folder / "adsl.csv", index=False)
    return folder


def _adsl() -> pd.DataFrame:
    adsl, _ = pyreadstat.read_xport(str(ADAM / "adsl.xpt"))
    return adsl


def _derived(report, column: str) -> dict[str, int]:
    d = report.derivations
    return dict(zip(d.loc[d["column"] == column, "rule"], d.loc[d["column"] == column, "n"],
                    strict=True))


def _first(folder: Path) -> dict:
    c = cohort.load_cohort(folder, mapping=MAPPING)
    s = c.subjects.set_index("subject_id").loc[FIRST]
    m = c.measurements
    base = m[(m["subject_id"] == FIRST) & (m["param"] == "HBA1C")
             & (m["visit"] == "Week 24")]["day"]
    return {"last": int(s["last_contact_day"]), "week24": int(base.iloc[0])}


def test_randdt_when_there_is_no_treatment_date(tmp_path):
    adsl = _adsl()
    # randomised 5 days before the first dose; no TRTSDT in the dataset
    adsl["RANDDT"] = [d - dt.timedelta(days=5) if isinstance(d, dt.date) else None
                      for d in adsl["TRTSDT"]]
    want = _first(_package(tmp_path / "a", _adsl()))
    folder = _package(tmp_path / "b", adsl.drop(columns=["TRTSDT"]))
    report = cohort.validate(folder, mapping=MAPPING)
    assert report.exit_code == 0, report.findings.to_string()
    assert _derived(report, "(day 0)") == {"RANDDT (the first of RANDDT with a date)": 40}
    got = _first(folder)
    # every day counts from 5 days earlier
    assert got == {"last": want["last"] + 5, "week24": want["week24"] + 5}


def test_rfstdtc_iso_text_and_eosdt(tmp_path):
    adsl = _adsl()
    adsl["RFSTDTC"] = [f"{d.isoformat()}T08:15" if isinstance(d, dt.date) else ""
                       for d in adsl["TRTSDT"]]
    adsl["EOSDT"] = [(d + dt.timedelta(days=200)).isoformat() if isinstance(d, dt.date)
                     else "" for d in adsl["TRTSDT"]]
    folder = _package(tmp_path, adsl.drop(columns=["TRTSDT"]))
    report = cohort.validate(folder, mapping=MAPPING)
    assert report.exit_code == 0, report.findings.to_string()
    assert _derived(report, "(day 0)") == {"RFSTDTC (the first of RFSTDTC with a date)": 40}
    assert _derived(report, "last_contact_day") == {"EOSDT minus day 0": 40}
    assert _first(folder)["last"] == 200


def test_lstalvdt_wins_over_eosdt_and_a_subject_without_one_falls_back(tmp_path):
    adsl = _adsl()
    adsl["LSTALVDT"] = [d + dt.timedelta(days=190) if isinstance(d, dt.date) else None
                        for d in adsl["TRTSDT"]]
    adsl.loc[adsl["USUBJID"] == FIRST, "LSTALVDT"] = None
    adsl["EOSDT"] = [d + dt.timedelta(days=210) if isinstance(d, dt.date) else None
                     for d in adsl["TRTSDT"]]
    folder = _package(tmp_path, adsl)
    report = cohort.validate(folder, mapping=MAPPING)
    assert report.exit_code == 0, report.findings.to_string()
    assert _derived(report, "last_contact_day") == {"LSTALVDT minus day 0": 39,
                                                    "EOSDT minus day 0": 1}
    c = cohort.load_cohort(folder, mapping=MAPPING).subjects.set_index("subject_id")
    assert c.loc[FIRST, "last_contact_day"] == 210
    assert c.loc["CHT-204-102", "last_contact_day"] == 190


def test_a_subject_without_any_day_zero_is_named(tmp_path):
    adsl = _adsl()
    adsl.loc[adsl["USUBJID"] == FIRST, "TRTSDT"] = None
    folder = _package(tmp_path, adsl)
    report = cohort.validate(folder, mapping=MAPPING)
    assert report.exit_code == 1
    f = report.findings
    row = f[(f["rule"] == "date") & (f["table"] == "subjects")].iloc[0]
    # row 2 of the CSV: the header is row 1
    assert (row["file"], row["row"], row["column"], row["value"]) == ("adsl.csv", 2, "TRTSDT",
                                                                       FIRST)
    assert "subject has no study day 0: none of TRTSDT is given" in row["message"]


@pytest.mark.parametrize("names", [
    {"adsl": "ADSL.XPT", "adlbc": "ADLBH.xpt", "adtte": "AdTte.xpt"},
    {"adsl": "adsl.xpt", "adlbc": "adlb.xpt", "adtte": "adtte.xpt"},
])
def test_dataset_names_by_convention_in_any_case(tmp_path, names):
    folder = tmp_path / "adam"
    folder.mkdir()
    for src, dst in names.items():
        shutil.copy(ADAM / f"{src}.xpt", folder / dst)
    report = cohort.validate(folder, mapping=MAPPING)
    assert report.exit_code == 0, report.findings.to_string()
    rows = report.tables.set_index("table")["rows"].to_dict()
    assert rows == {"subjects": 40, "measurements": 488, "time_to_event": 40}

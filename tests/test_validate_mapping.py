"""Mapping files: rename, recode, derive, constants, drop, unmapped, study days from dates,
CDISC days, presets, CSV options; and bad mappings, which stop with exit code 2 and name the key.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cohort
from cohort.cli.app import app
from cohort.contract import load_contract
from cohort.errors import InvalidCohortError, MappingError
from cohort.io.mapping import read_mapping

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "example"
ADAM = DATA / "adam_cells"


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "cohort"
    shutil.copytree(EXAMPLE, dest)
    return dest


def _edit(path: Path, old: str, new: str, count: int = -1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _mapping(folder: Path, text: str) -> Path:
    path = folder.parent / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _rules(report) -> list[tuple]:
    f = report.findings.astype(object).where(report.findings.notna(), None)
    return list(zip(f["rule"], f["table"], f["row"], f["column"], strict=True))


# ------------------------------------------------------------------------------- what maps


def test_rename_columns(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder / "subjects.csv", "subject_id,study_id", "PatientID,Study", 1)
    mapping = _mapping(folder, "tables:\n  subjects:\n    columns: {PatientID: subject_id, "
                               "Study: study_id}\n")
    assert not cohort.validate(folder).valid  # without the mapping
    report = cohort.validate(folder, mapping=mapping)
    assert report.findings.empty, report.findings.to_string()
    assert report.mapping == str(mapping)
    c = cohort.load_cohort(folder, mapping=mapping)
    assert c.subjects["subject_id"].tolist() == ["S01", "S02", "S03", "S04", "S05", "S06"]


def test_recode_values(tmp_path):
    folder = _copy(tmp_path)
    text = (folder / "subjects.csv").read_text(encoding="utf-8")
    text = text.replace(",T1D,F,", ",T1D,Female,").replace(",T1D,M,", ",T1D,Male,")
    (folder / "subjects.csv").write_text(text, encoding="utf-8")
    bad = cohort.validate(folder)
    assert set(bad.findings["rule"]) == {"allowed_values"}
    assert bad.findings["value"].iloc[0] == "Female"
    mapping = _mapping(folder, "tables:\n  subjects:\n    recode: {sex: {Male: M, Female: F}}\n")
    c = cohort.load_cohort(folder, mapping=mapping)
    assert c.subjects["sex"].tolist() == ["F", "M", "M", "F", "M", "F"]


def test_recode_of_yaml_booleans_and_numbers(tmp_path):
    folder = _copy(tmp_path)
    text = (folder / "subjects.csv").read_text(encoding="utf-8")
    (folder / "subjects.csv").write_text(text.replace(",false,", ",N,").replace(",true,", ",Y,"),
                                         encoding="utf-8")
    # quoted codes stay text; unquoted `true` becomes the boolean the contract wants
    mapping = _mapping(folder, 'tables:\n  subjects:\n    recode: {control: {"Y": true, '
                               '"N": false}}\n')
    c = cohort.load_cohort(folder, mapping=mapping)
    assert c.subjects["control"].tolist() == [False, False, False, True, True, True]


def test_derive_a_column_from_another(tmp_path):
    folder = _copy(tmp_path)
    for line in ("false", "true"):
        _edit(folder / "subjects.csv", f",{line},T1D", ",T1D")
    _edit(folder / "subjects.csv", ",control,", ",", 1)
    mapping = _mapping(folder, "tables:\n  subjects:\n    derive:\n      control: {from: arm, "
                               "map: {standard care: true, placebo: true}, default: false}\n")
    c = cohort.load_cohort(folder, mapping=mapping)
    assert c.subjects["control"].tolist() == [False, False, False, True, True, True]
    assert c.subjects["arm"].tolist()[3] == "standard care"  # the source column stays


def test_derive_without_default_reports_unmapped_values_once(tmp_path):
    folder = _copy(tmp_path)
    for line in ("false", "true"):
        _edit(folder / "subjects.csv", f",{line},T1D", ",T1D")
    _edit(folder / "subjects.csv", ",control,", ",", 1)
    mapping = _mapping(folder, "tables:\n  subjects:\n    derive:\n      control: {from: arm, "
                               "map: {MSC: false, standard care: true}}\n")
    report = cohort.validate(folder, mapping=mapping)
    # S06 (arm placebo, line 7) is not in the map: one finding, on the user's column
    assert _rules(report) == [("allowed_values", "subjects", 7, "arm")]
    assert "not in derive.control.map" in report.findings["message"].iloc[0]
    assert report.exit_code == 1


def test_constants(tmp_path):
    folder = _copy(tmp_path)
    text = (folder / "subjects.csv").read_text(encoding="utf-8")
    (folder / "subjects.csv").write_text(text.replace(",EXAMPLE,", ",").replace(
        "subject_id,study_id,", "subject_id,"), encoding="utf-8")
    mapping = _mapping(folder, "tables:\n  subjects:\n    constants: {study_id: NCT0001}\n")
    c = cohort.load_cohort(folder, mapping=mapping)
    assert set(c.subjects["study_id"]) == {"NCT0001"}


def test_a_constant_never_overwrites_a_column(tmp_path):
    folder = _copy(tmp_path)
    mapping = _mapping(folder, "tables:\n  subjects:\n    constants: {study_id: OTHER}\n")
    report = cohort.validate(folder, mapping=mapping)
    assert report.exit_code == 2
    assert _rules(report) == [("mapping", "subjects", None, "study_id")]
    assert "tables.subjects.constants" in report.findings["message"].iloc[0]
    assert "already has a column 'study_id'" in report.findings["message"].iloc[0]


def test_drop_and_unmapped(tmp_path):
    folder = _copy(tmp_path)
    text = (folder / "adverse_events.csv").read_text(encoding="utf-8").splitlines()
    text = [text[0] + ",notes,reviewer"] + [line + ",x,y" for line in text[1:]]
    (folder / "adverse_events.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    report = cohort.validate(folder)
    assert sorted(report.findings["column"]) == ["notes", "reviewer"]
    assert set(report.findings["rule"]) == {"unknown_column"}
    dropped = _mapping(folder, "tables:\n  adverse_events:\n    drop: [notes, reviewer]\n")
    assert cohort.validate(folder, mapping=dropped).findings.empty
    unmapped = _mapping(folder, "tables:\n  adverse_events:\n    unmapped: drop\n")
    c = cohort.load_cohort(folder, mapping=unmapped)
    assert "notes" not in c.adverse_events.columns


def test_file_names_other_than_the_table_and_ignore(tmp_path):
    folder = _copy(tmp_path)
    (folder / "subjects.csv").rename(folder / "patients.csv")
    (folder / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    mapping = _mapping(folder, "ignore: [notes]\ntables:\n  subjects:\n    file: patients\n")
    report = cohort.validate(folder, mapping=mapping)
    assert report.findings.empty, report.findings.to_string()
    assert report.tables.set_index("table").loc["subjects", "files"] == "patients.csv"


def _dated(folder: Path) -> None:
    """Replace study days by calendar dates (day 0 = 2021-01-01 for every subject)."""
    import datetime as dt

    def date(day: str) -> str:
        return (dt.date(2021, 1, 1) + dt.timedelta(days=int(day))).isoformat()

    lines = (folder / "measurements.csv").read_text(encoding="utf-8").splitlines()
    out = ["subject_id,VISIT_DATE,param,value,unit,visit"]
    for line in lines[1:]:
        f = line.split(",")
        f[1] = date(f[1])
        out.append(",".join(f))
    (folder / "measurements.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    lines = (folder / "subjects.csv").read_text(encoding="utf-8").splitlines()
    out = [lines[0].replace("last_contact_day", "LAST_VISIT") + ",FIRST_INFUSION,RANDOMISED"]
    for line in lines[1:]:
        f = line.split(",")
        treated = f[4] == "false"
        f[-1] = date(f[-1])
        out.append(",".join(f) + (",2021-01-01," if treated else ",,2021-01-01"))
    (folder / "subjects.csv").write_text("\n".join(out) + "\n", encoding="utf-8")


STUDY_DAYS = """study_days:
  origin: [FIRST_INFUSION, RANDOMISED]
  columns: {measurements.VISIT_DATE: day, subjects.LAST_VISIT: last_contact_day}
"""


def test_study_days_from_iso_dates(tmp_path):
    folder = _copy(tmp_path)
    _dated(folder)
    report = cohort.validate(folder)
    assert {"missing_column", "unknown_column"} <= set(report.findings["rule"])
    mapping = _mapping(folder, STUDY_DAYS)
    c = cohort.load_cohort(folder, mapping=mapping)
    original = cohort.load_cohort(EXAMPLE)
    assert c.measurements["day"].tolist() == original.measurements["day"].tolist()
    assert c.subjects["last_contact_day"].tolist() == [365, 372, 360, 368, 355, 366]
    assert "FIRST_INFUSION" not in c.subjects.columns
    assert c.source_of("measurements", 5) == ("measurements.csv", 7)


def test_study_days_bad_date_is_reported_once_where_it_is(tmp_path):
    folder = _copy(tmp_path)
    _dated(folder)
    _edit(folder / "measurements.csv", "S01,2021-04-01,HBA1C", "S01,01/04/2021,HBA1C")
    _edit(folder / "measurements.csv", "S02,2021-04-03,HBA1C", "S02,,HBA1C")
    _edit(folder / "subjects.csv", ",2021-01-01,\nS03", ",,\nS03")  # S02 has no day 0
    report = cohort.validate(folder, mapping=_mapping(folder, STUDY_DAYS))
    got = _rules(report)
    # the bad date, the empty date and the missing origin: each once, in the user's column;
    # the days they leave empty are not reported again as empty
    assert ("date", "subjects", 3, "FIRST_INFUSION") in got
    assert ("date", "measurements", 6, "VISIT_DATE") in got
    assert ("date", "measurements", 23, "VISIT_DATE") in got
    assert len(got) == 3, report.findings.to_string()
    messages = " ".join(report.findings["message"])
    assert "ambiguous" in messages and "needed to derive day" in messages


def test_sas_date9_dates_are_accepted(tmp_path):
    folder = _copy(tmp_path)
    _dated(folder)
    _edit(folder / "measurements.csv", "S01,2021-04-01,HBA1C", "S01,01APR2021,HBA1C")
    c = cohort.load_cohort(folder, mapping=_mapping(folder, STUDY_DAYS))
    assert c.measurements["day"].iloc[4] == 90


def test_csv_delimiter_encoding_and_decimal_comma(tmp_path):
    folder = _copy(tmp_path)
    for path in folder.glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        lines = [line.replace(",", ";") for line in text.splitlines()]
        # decimal commas in numbers, as European spreadsheets write them
        lines = [";".join(f.replace(".", ",") if f.replace(".", "").isdigit() else f
                          for f in line.split(";")) for line in lines]
        text = "\n".join(lines) + "\n"
        text = text.replace("Hypoglycaemia", "Hypoglykämie")
        path.write_bytes(text.encode("latin-1"))
    assert cohort.validate(folder).exit_code == 2
    mapping = _mapping(folder, 'csv: {delimiter: ";", encoding: latin-1, decimal: ","}\n')
    c = cohort.load_cohort(folder, mapping=mapping)
    assert c.adverse_events["term"].tolist()[2] == "Hypoglykämie"
    np.testing.assert_allclose(c.subjects["weight_kg"].tolist()[:2], [61.5, 78.0])
    np.testing.assert_allclose(
        c.measurements["value"].to_numpy(), cohort.load_cohort(EXAMPLE).measurements["value"],
        rtol=1e-12)


def test_unknown_encoding_name(tmp_path):
    folder = _copy(tmp_path)
    report = cohort.validate(folder, mapping=_mapping(folder, "csv: {encoding: latin-99}\n"))
    assert report.exit_code == 2
    assert set(report.findings["rule"]) == {"encoding"}
    assert "'latin-99' is not an encoding" in report.findings["message"].iloc[0]


# -------------------------------------------------------------------------- ADaM and presets

# days worked out by hand: ADY >= 1 -> ADY - 1, negative ADY kept
ADAM_DAYS = {"STUDY1-001": [-6, 90, -6, 90, -6], "STUDY1-002": [-3, 91, -3],
             "STUDY1-003": [0, 0], "STUDY1-004": [-1, 89]}


def test_adam_preset_with_a_user_mapping():
    c = cohort.load_cohort(ADAM, mapping=ADAM / "mapping.yaml")
    s = c.subjects.set_index("subject_id")
    assert s["control"].to_dict() == {"STUDY1-001": False, "STUDY1-002": False,
                                      "STUDY1-003": True, "STUDY1-004": True}
    assert set(s["diabetes_type"]) == {"T1D"}
    # LSTALVDT - TRTSDT (RANDDT for the standard-care control, who has no TRTSDT)
    assert s["last_contact_day"].to_dict() == {"STUDY1-001": 366, "STUDY1-002": 360,
                                               "STUDY1-003": 360, "STUDY1-004": 367}
    assert s.loc["STUDY1-002", "weight_kg"] == 80.5
    m = c.measurements
    days = {sid: g["day"].tolist() for sid, g in m.groupby("subject_id", sort=True)}
    assert days == ADAM_DAYS
    assert "SAFFL" not in c.subjects.columns and "PARAM" not in m.columns
    glucose = m[(m["subject_id"] == "STUDY1-001") & (m["param"] == "FPG")]["value"].item()
    assert glucose == pytest.approx(146 / 18.016, rel=1e-12)
    hba1c = m[(m["subject_id"] == "STUDY1-002")]["value"].iloc[0]
    assert hba1c == pytest.approx(64 / 10.929 + 2.15, rel=1e-12)
    assert m["visit"].iloc[0] == "BASELINE"


def test_adam_preset_alone_lacks_the_diabetes_type():
    report = cohort.validate(ADAM, mapping="adam")
    assert _rules(report) == [("missing_column", "subjects", 1, "diabetes_type"),
                              ("rows_left_out", "measurements", None, "param")]
    assert report.findings["file"].iloc[0] == "adsl.csv"


def test_adam_preset_keeps_the_contract_parameters_only():
    # adlb.csv ends with an ALT and an AST row, which no contract table holds
    report = cohort.validate(ADAM, mapping=ADAM / "mapping.yaml")
    assert report.exit_code == 0
    left = report.findings.iloc[0]
    assert (left["severity"], left["rule"], left["file"], left["value"]) == (
        "warning", "rows_left_out", "adlb.csv", "2")
    assert left["message"].endswith("(ALT, AST)")
    assert report.tables.set_index("table").loc["measurements", "rows"] == 12
    preset = read_mapping("adam").table("measurements")
    assert preset.keep == {"param": list(load_contract().parameters)}


def test_keep_names_a_column_that_exists(tmp_path):
    folder = _copy(tmp_path)
    mapping = _mapping(folder, "tables:\n  measurements:\n    keep: {PARAMCD: [HBA1C]}\n")
    report = cohort.validate(folder, mapping=mapping)
    assert report.exit_code == 2
    assert _rules(report) == [("mapping", "measurements", None, "PARAMCD")]


def test_keep_leaves_empty_codes_to_the_contract(tmp_path):
    folder = _copy(tmp_path)
    _edit(folder / "measurements.csv", "S01,90,HBA1C,7.1,", "S01,90,,7.1,")
    mapping = _mapping(folder, "tables:\n  measurements:\n    keep: {param: [HBA1C]}\n")
    report = cohort.validate(folder, mapping=mapping)
    rules = _rules(report)
    # the empty code is kept and reported; every other parameter is left out, with a count
    assert ("not_null", "measurements", 6, "param") in rules
    left = report.findings[report.findings["rule"] == "rows_left_out"]
    assert left["value"].tolist() == [str(102 - 24)]  # 24 HBA1C rows, one now empty


def test_adam_preset_tolerates_missing_optional_variables(tmp_path):
    folder = tmp_path / "adam"
    shutil.copytree(ADAM, folder)
    lines = (folder / "adsl.csv").read_text(encoding="utf-8").splitlines()
    keep = [i for i, c in enumerate(lines[0].split(",")) if c not in ("SITEID", "HEIGHTBL",
                                                                        "BMIBL")]
    (folder / "adsl.csv").write_text("\n".join(",".join(line.split(",")[i] for i in keep)
                                               for line in lines) + "\n", encoding="utf-8")
    c = cohort.load_cohort(folder, mapping=folder / "mapping.yaml")
    assert c.subjects["height_cm"].isna().all()


def test_cdisc_day_zero_is_reported(tmp_path):
    folder = tmp_path / "adam"
    shutil.copytree(ADAM, folder)
    _edit(folder / "adlb.csv", "7.5,%,1,DAY 1", "7.5,%,0,DAY 1")
    report = cohort.validate(folder, mapping=folder / "mapping.yaml")
    assert _rules(report) == [("rows_left_out", "measurements", None, "param"),
                              ("cdisc_day_zero", "measurements", 10, "ADY")]


def test_adam_preset_through_the_cli():
    result = CliRunner().invoke(app, ["validate", str(ADAM), "--mapping",
                                      str(ADAM / "mapping.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.stdout
    doc = json.loads(result.stdout)
    assert doc["mapping"] == str(ADAM / "mapping.yaml")
    assert {c["from_unit"] for c in doc["conversions"]} == {"mg/dL", "mmol/mol", "ng/mL"}


def test_extends_merges_the_preset():
    mapping = read_mapping(ADAM / "mapping.yaml")
    assert mapping.extends == "adam"
    subjects = mapping.table("subjects")
    assert subjects.constants == {"diabetes_type": "T1D"}
    assert subjects.columns["USUBJID"] == "subject_id"  # from the preset
    assert mapping.adam is not None
    assert mapping.adam.origin == ["TRTSDT", "TRTSDTM", "RANDDT", "RFSTDTC"]


# ----------------------------------------------------------------------------- bad mappings


BAD_MAPPINGS = {
    "invalid_yaml": ("tables: {subjects: [\n", "is not valid YAML"),
    "not_a_mapping": ("- a\n- b\n", "must hold a YAML mapping"),
    "unknown_key": ("tables:\n  subjects:\n    colums: {A: subject_id}\n",
                    "tables.subjects.colums"),
    "unknown_top_key": ("tabels: {}\n", "tabels"),
    "missing_column": ("tables:\n  subjects:\n    columns: {PatientID: subject_id}\n",
                       "'PatientID', which is not a column of the file"),
    "unknown_target": ("tables:\n  subjects:\n    columns: {arm: treatment_arm}\n",
                       "'treatment_arm', which is not a contract column of subjects"),
    "unknown_table": ("tables:\n  patients:\n    columns: {a: b}\n",
                      "tables.patients: not a contract table"),
    "unknown_preset": ("extends: sdtm\n", "extends: 'sdtm' is not a preset"),
    "drop_missing": ("tables:\n  subjects:\n    drop: [notes]\n", "tables.subjects.drop"),
    "recode_missing": ("tables:\n  subjects:\n    recode: {gender: {Male: M}}\n",
                       "tables.subjects.recode"),
    "rename_onto_existing": ("tables:\n  subjects:\n    columns: {site_id: study_id}\n",
                             "already has a column 'study_id'"),
    "two_onto_one": ("tables:\n  subjects:\n    columns: {site_id: arm, study_id: arm}\n",
                     "are all mapped to 'arm'"),
    "study_days_missing": ("study_days: {origin: DAY0, columns: {measurements.VDATE: day}}\n",
                           "names 'DAY0'"),
    "study_days_bad_key": ("study_days: {origin: arm, columns: {VDATE: day}}\n",
                           "must be <table>.<date column>"),
    "delimiter_too_long": ('csv: {delimiter: ";;"}\n', "csv.delimiter"),
    "cdisc_not_a_day": ("tables:\n  measurements:\n    cdisc_days: [value]\n",
                        "tables.measurements.cdisc_days"),
}


@pytest.mark.parametrize("name", sorted(BAD_MAPPINGS))
def test_bad_mapping_is_exit_2_and_names_the_key(tmp_path, name):
    text, expected = BAD_MAPPINGS[name]
    folder = _copy(tmp_path)
    mapping = _mapping(folder, text)
    result = CliRunner().invoke(app, ["validate", str(folder), "--mapping", str(mapping),
                                      "--format", "json"])
    assert result.exit_code == 2, result.stdout
    doc = json.loads(result.stdout)
    messages = [f["message"] for f in doc["findings"] if f["rule"] == "mapping"]
    assert any(expected in m for m in messages), messages
    assert "Traceback" not in result.output


def test_mapping_file_that_does_not_exist(tmp_path):
    report = cohort.validate(EXAMPLE, mapping=tmp_path / "nope.yaml")
    assert report.exit_code == 2
    assert "does not exist" in report.findings["message"].iloc[0]


def test_read_mapping_raises_mapping_error_naming_the_key(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("tables:\n  subjects:\n    unmapped: keep\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"tables\.subjects\.unmapped: Input should be "
                                           r"'error' or 'drop'"):
        read_mapping(path)


def test_load_cohort_with_a_bad_mapping_raises(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("extends: nothing\n", encoding="utf-8")
    with pytest.raises(InvalidCohortError, match=r"extends: 'nothing' is not a preset; "
                                                 r"presets: adam") as info:
        cohort.load_cohort(EXAMPLE, mapping=path)
    assert info.value.report.exit_code == 2

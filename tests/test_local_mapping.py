"""Mapping features for real exports, and bad input: dates in declared formats, typed keep and
recode, row rules, censored values, extends/remove, absent files, nothing silent."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import cohort
from cohort.cli.app import app
from cohort.errors import MappingError
from cohort.io.mapping import read_mapping

REDCAP = Path(__file__).parent / "data" / "redcap"


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """A writable copy of the REDCap CSV export, with the workbook's mapping beside it."""
    dest = tmp_path / "export"
    shutil.copytree(REDCAP / "csv", dest)
    shutil.copy(REDCAP / "mapping.yaml", tmp_path / "mapping.yaml")
    return dest


def _validate(folder: Path, mapping: Path) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["validate", str(folder), "--mapping", str(mapping),
                                      "--format", "json"])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def _errors(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["severity"] == "error"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_a_date_in_another_format_than_the_declared_one(export):
    labs = export / "labs.csv"
    rows = labs.read_text(encoding="utf-8").splitlines()
    line = next(i for i, t in enumerate(rows, 1) if t.startswith("RC-003,month_6_arm_1,"))
    parts = rows[line - 1].split(",")
    parts[2] = "10.22.2021 "  # month-first with dots, where dd/mm/yyyy is declared
    rows[line - 1] = ",".join(parts)
    labs.write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = _digest(export)
    code, doc = _validate(export, export / "mapping.yaml")
    assert code == 1
    [bad] = _errors(doc)
    assert (bad["file"], bad["row"], bad["column"], bad["rule"], bad["value"]) == (
        "labs.csv", line, "lab_date", "date", "'10.22.2021 '")  # its space shown
    assert "not in the declared format '%d/%m/%Y'" in bad["message"]
    assert _digest(export) == before


def test_an_undeclared_day_first_date_says_how_to_declare_it(export, tmp_path):
    (export / "user.yaml").write_text("extends: mapping.yaml\nremove: [date_format]\n",
                                      encoding="utf-8")
    code, doc = _validate(export, export / "user.yaml")
    assert code == 1
    first = _errors(doc)[0]
    assert first["rule"] == "date" and first["file"] == "patients.csv"
    assert "is a day-first date; declare it in the mapping: date_format: '%d/%m/%Y'" in \
        first["message"]


def test_declared_extra_outside_its_allowed_set(export):
    _edit(export / "patients.csv", ",no,Negative\n", ",no,Unknown\n")
    code, doc = _validate(export, export / "mapping.yaml")
    assert code == 1
    [bad] = _errors(doc)
    assert (bad["file"], bad["column"], bad["rule"], bad["value"]) == (
        "patients.csv", "gad_status", "allowed_values", "Unknown")
    assert isinstance(bad["row"], int) and "allowed: positive, negative" in bad["message"]


@pytest.mark.parametrize(("text", "expected"), [
    ("extends: nothing.yaml\n", "extends: 'nothing.yaml' is not a preset; presets: adam; nor "
                                "a mapping file"),
    ("extends: mapping.yaml\n", "is this file itself"),
    ("extends: other.yaml\n", "makes a cycle"),
    ("extends: ../mapping.yaml\nremove: {tables: {subjects: {columns: [nope]}}}\n",
     "remove: tables.subjects.columns has no nope to remove"),
    ("remove: [date_format]\n", "only a mapping that extends another"),
])
def test_bad_extends_exit_2(export, text, expected):
    (export / "other.yaml").write_text("extends: mapping.yaml\n", encoding="utf-8")
    (export / "mapping.yaml").write_text(text, encoding="utf-8")
    code, doc = _validate(export, export / "mapping.yaml")
    assert code == 2
    assert any(expected in f["message"] for f in doc["findings"]), doc["findings"]


def test_extends_a_file_and_removes_a_preset_key(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("extends: adam\nremove: {tables: {measurements: {columns: [AVISITN], "
                    "optional: [AVISITN]}}, ignore: [adcm]}\n", encoding="utf-8")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\ntables: {subjects: {constants: "
                     "{diabetes_type: T1D}}}\n", encoding="utf-8")
    m = read_mapping(child)
    assert "AVISITN" not in m.table("measurements").columns
    assert "AVISITN" not in m.table("measurements").optional
    assert "AVISIT" in m.table("measurements").columns
    assert m.ignore == ["ad*"]
    assert m.table("subjects").constants == {"diabetes_type": "T1D"}
    assert m.extends == "base.yaml"


def test_keep_compares_typed_trimmed_codes(example_copy):
    ae = pl.read_csv(example_copy / "adverse_events.csv", infer_schema=False)
    n = ae.height
    codes = ["0.0", "81.0", " 81 ", "0"] * n
    ae.with_columns(pl.Series("TRTAN", codes[:n])).write_csv(
        example_copy / "adverse_events.csv")
    mapping = example_copy / "m.yaml"
    mapping.write_text("tables:\n  adverse_events:\n    keep: {TRTAN: [0, 81]}\n"
                       "    unmapped: drop\n", encoding="utf-8")
    report = cohort.validate(example_copy, mapping=mapping)
    assert report.valid and report.findings.empty
    mapping.write_text("tables:\n  adverse_events:\n    keep: {TRTAN: ['0']}\n"
                       "    unmapped: drop\n", encoding="utf-8")
    report = cohort.validate(example_copy, mapping=mapping)
    [w] = report.findings.itertuples()
    expected = sum(c.strip() in ("81.0", "81") for c in codes[:n])
    assert (w.rule, int(w.value)) == ("rows_left_out", expected)
    assert "(81.0, ' 81 ')" in w.message  # the padded code is shown with its spaces


def test_a_required_table_emptied_by_keep_is_an_error_naming_the_rule(export):
    mapping = export / "user.yaml"
    mapping.write_text("extends: mapping.yaml\ntables: {measurements: {keep: {param: "
                       "[PPG]}}}\n", encoding="utf-8")
    code, doc = _validate(export, mapping)
    assert code == 1
    [bad] = _errors(doc)
    assert bad["rule"] == "empty_table" and "after tables.measurements.keep.param" in \
        bad["message"]


def test_a_mapped_file_that_is_absent_is_an_error(export):
    (export / "labs.csv").rename(export / "lab_results.csv")
    code, doc = _validate(export, export / "mapping.yaml")
    assert code == 1
    messages = [f["message"] for f in _errors(doc) if f["rule"] == "missing_table"]
    assert len(messages) == 1 and "tables.measurements.file names 'labs'" in messages[0]
    # an optional table whose file is declared absent-tolerant is skipped without a word
    (export / "lab_results.csv").rename(export / "labs.csv")
    (export / "patients.csv").read_text(encoding="utf-8")
    (export / "user.yaml").write_text(
        "extends: mapping.yaml\ntables: {adverse_events: {file: ae, missing_file: skip}}\n",
        encoding="utf-8")
    code, _ = _validate(export, export / "user.yaml")
    assert code == 0
    (export / "user.yaml").write_text(
        "extends: mapping.yaml\ntables: {adverse_events: {file: ae}}\n", encoding="utf-8")
    code, doc = _validate(export, export / "user.yaml")
    assert code == 1 and "names 'ae'" in _errors(doc)[0]["message"]


def test_censored_values_without_a_rule_or_a_limit(export):
    labs = export / "labs.csv"
    _edit(labs, "C-peptide 2h (pmol/L),", "C-peptide 2h (pmol/L),below LOD\nRC-001,"
          "baseline_arm_1,13/01/2022,Weight (kg),")
    # (the edit adds a weight row whose value is the old C-peptide result: keep leaves it out)
    code, doc = _validate(export, export / "mapping.yaml")
    assert code == 1
    [bad] = _errors(doc)
    assert bad["rule"] == "censored" and bad["value"] == "below LOD"
    assert "tables.measurements.censored.limits: {CPEP_PP: <limit>}" in bad["message"]
    (export / "user.yaml").write_text(
        "extends: mapping.yaml\ntables: {measurements: {censored: {below: limit, limits: "
        "{CPEP_PP: 20}}}}\n", encoding="utf-8")
    c = cohort.load_cohort(export, mapping=export / "user.yaml")
    m = c.measurements
    row = m[(m["subject_id"] == "RC-001") & (m["param"] == "CPEP_PP") & (m["day"] == -3)]
    assert row["value"].item() == pytest.approx(0.02) and row["qualifier"].item() == "<"
    cens = m[m["qualifier"].notna()].sort_values("value")
    # the <10 of the export uses the same rule: the limit, 0.01 nmol/L
    assert cens["value"].tolist() == pytest.approx([0.01, 0.02])
    (export / "user.yaml").write_text(
        "extends: mapping.yaml\nremove: {tables: {measurements: [censored]}}\n",
        encoding="utf-8")
    code, doc = _validate(export, export / "user.yaml")
    hints = [f["message"] for f in _errors(doc) if f["value"] in ("<10", "below LOD")]
    assert len(hints) == 2 and all("declare how to use it with tables.measurements.censored"
                                   in h for h in hints)


def test_censored_exclude_leaves_rows_out_with_a_warning(export):
    (export / "user.yaml").write_text(
        "extends: mapping.yaml\ntables: {measurements: {censored: {below: exclude}}}\n",
        encoding="utf-8")
    code, doc = _validate(export, export / "user.yaml")
    assert code == 0
    [w] = [f for f in doc["findings"] if f["column"] == "value" and "censored" in
           f["message"]]
    assert w["value"] == "1" and "(<10)" in w["message"]


def test_derive_names_a_padded_code_with_its_space(export):
    _edit(export / "patients.csv", "RC-001,A,MSC,", "RC-001,A,MSC arm ,")
    code, doc = _validate(export, export / "mapping.yaml")
    assert code == 1
    bad = [f for f in _errors(doc) if f["rule"] == "allowed_values"]
    assert bad[0]["value"] == "'MSC arm '"
    assert "arm 'MSC arm ' is not in derive.control.map (MSC, Standard care)" in \
        bad[0]["message"]


@pytest.mark.parametrize(("text", "match"), [
    ("date_format: dd/mm/yyyy\n", "neither a strftime pattern"),
    ("tables: {measurements: {censored: {below: quarter}}}\n", "censored.below"),
    ("tables: {subjects: {compute: [age_years]}}\n", "compute"),
    ("study_days: {origin: a, last_contact: earliest}\n", "last_contact"),
    ("tables: {infusions: {scale: {dose_cells_per_kg: ten}}}\n", "scale"),
    ("tables: {measurements: {units_from_names: param}}\n", "units_from_names"),
    ("tables: {measurements: {unpivot: {a: b}}}\n", "unpivot"),
    ("adam: {drug_classes: {COHORTIDE: incretin}}\n", "adam.drug_classes.COHORTIDE"),
])
def test_bad_new_keys_name_the_key(tmp_path, text, match):
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=match):
        read_mapping(path)


@pytest.mark.parametrize(("scale", "expected"), [
    ("{source: 2}", "'source' is not a number column of infusions"),
    ("{dose_cells_total: 2}", "names 'dose_cells_total', which is not a column"),
    ("{dose_cells_per_kg: -1}", "must be a positive number"),
])
def test_bad_scale_is_a_mapping_error(export, scale, expected):
    (export / "user.yaml").write_text(
        f"extends: mapping.yaml\ntables: {{infusions: {{scale: {scale}}}}}\n", encoding="utf-8")
    code, doc = _validate(export, export / "user.yaml")
    assert code == 2
    assert any(expected in f["message"] for f in doc["findings"]), doc["findings"]

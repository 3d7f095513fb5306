"""Bad ADaM input: a clear message naming file, row and column; exit 1 or 2; input untouched."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyreadstat
import pytest
from typer.testing import CliRunner

import cohort
from cohort.cli.app import app

ADAM = Path(__file__).resolve().parent / "data" / "adam"


@pytest.fixture
def package(tmp_path: Path) -> Path:
    dest = tmp_path / "adam"
    shutil.copytree(ADAM, dest)
    return dest


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def _rewrite(path: Path, edit, version: int = 5) -> None:
    frame, meta = pyreadstat.read_xport(str(path))
    frame = edit(frame)
    formats = {c: f for c, f in meta.original_variable_types.items()
               if f and f.startswith("DATE") and c in frame.columns}
    pyreadstat.write_xport(frame, str(path), table_name=meta.table_name,
                           file_format_version=version, variable_format=formats)


def _validate(folder: Path, *args: str):
    return CliRunner().invoke(app, ["validate", str(folder), "--mapping",
                                    str(folder / "mapping.yaml"), "--format", "json", *args])


def test_a_population_flag_that_does_not_exist(package):
    before = _hashes(package)
    result = _validate(package, "--population", "PPROT")
    assert result.exit_code == 2
    report = cohort.validate(package, mapping=package / "mapping.yaml", population=["PPROT"])
    err = report.findings[report.findings["severity"] == "error"].iloc[0]
    assert (err["rule"], err["file"], err["column"]) == ("mapping", "adsl.xpt", "PPROT")
    assert err["message"] == ("population 'PPROT': adsl.xpt has no column PPROT or PPROTFL; "
                              "flags in it: EFFFL, ITTFL, SAFFL")
    assert _hashes(package) == before
    # the same through an analysis command: exit 2, message on stderr
    result = CliRunner().invoke(app, ["analyze", "table1", str(package), "--mapping",
                                      str(package / "mapping.yaml"), "--population", "FAS"])
    assert result.exit_code == 2
    assert "has no column FAS or FASFL" in result.output


def test_a_population_that_empties_a_required_table(package):
    _rewrite(package / "adsl.xpt", lambda f: f.assign(EFFFL=""))
    report = cohort.validate(package, mapping=package / "mapping.yaml", population=["EFF"])
    assert report.exit_code == 1
    errors = report.findings[report.findings["severity"] == "error"]
    named = errors[errors["rule"] == "population"]
    assert named[["table", "file"]].values.tolist() == [["subjects", "adsl.xpt"],
                                                        ["measurements", "adlbc.xpt, advs.xpt"]]
    assert named["message"].iloc[0] == ("population EFFFL = Y leaves no rows in the required "
                                        "table subjects (adsl.xpt); check the selection")


def test_param_without_a_unit_and_no_avalu(package):
    def edit(f):
        glucose = f["PARAMCD"] == "GLUCF"
        f.loc[glucose, "PARAM"] = "Fasting Plasma Glucose"
        return f

    _rewrite(package / "adlbc.xpt", edit)
    before = _hashes(package)
    report = cohort.validate(package, mapping=package / "mapping.yaml")
    assert report.exit_code == 1
    errors = report.findings[report.findings["severity"] == "error"]
    assert set(errors["rule"]) == {"unit"}
    first = errors.iloc[0]
    # record 2 of adlbc.xpt is the first glucose record (record 1 is HbA1c)
    assert (first["file"], first["row"], first["column"], first["value"]) == (
        "adlbc.xpt", 2, "PARAM", "Fasting Plasma Glucose")
    assert first["message"] == ("no unit for GLUCF: AVALU is empty and PARAM has no unit in "
                                "trailing parentheses; add AVALU, or write PARAM as e.g. "
                                "'Glucose (mmol/L)'")
    raw, _ = pyreadstat.read_xport(str(package / "adlbc.xpt"))
    # every glucose record once, and none of the empty unit's consequences
    assert len(errors) == int((raw["PARAMCD"] == "GLUCF").sum()) == 237
    assert _hashes(package) == before


def test_adtte_subjects_not_in_adsl(package):
    def edit(f):
        f.loc[f.index[:2], "USUBJID"] = ["CHT-204-901", "CHT-204-902"]
        return f

    _rewrite(package / "adtte.xpt", edit, version=8)
    report = cohort.validate(package, mapping=package / "mapping.yaml")
    assert report.exit_code == 1
    errors = report.findings[report.findings["severity"] == "error"]
    assert errors[["table", "file", "row", "column", "rule", "value"]].values.tolist() == [
        ["time_to_event", "adtte.xpt", 1, "subject_id", "unknown_subject", "CHT-204-901"],
        ["time_to_event", "adtte.xpt", 2, "subject_id", "unknown_subject", "CHT-204-902"]]


def test_truncated_transport_file(package):
    data = (package / "adlbc.xpt").read_bytes()
    (package / "adlbc.xpt").write_bytes(data[: len(data) // 2 + 7])
    before = _hashes(package)
    result = _validate(package)
    assert result.exit_code == 2
    report = cohort.validate(package, mapping=package / "mapping.yaml")
    err = report.findings[report.findings["rule"] == "file_unreadable"].iloc[0]
    assert err["file"] == "adlbc.xpt"
    assert "adlbc.xpt is truncated: a SAS transport file is a whole number of 80-byte " \
        "records" in err["message"]
    assert _hashes(package) == before


def test_truncated_on_a_record_boundary(package):
    data = (package / "adae.xpt").read_bytes()
    (package / "adae.xpt").write_bytes(data[:80 * 12])
    report = cohort.validate(package, mapping=package / "mapping.yaml")
    assert report.exit_code == 2
    err = report.findings[report.findings["rule"] == "file_unreadable"].iloc[0]
    assert err["file"] == "adae.xpt"
    assert err["message"].startswith("adae.xpt cannot be read as a SAS transport file (XPORT "
                                     "v5 or v8): ")
    assert err["message"].endswith("the file may be truncated or damaged")


@pytest.mark.parametrize("content", [b"USUBJID,AVAL\nS1,3\n", b"", b"\x00" * 160])
def test_not_sas_transport(package, content):
    (package / "adsl.xpt").write_bytes(content)
    report = cohort.validate(package, mapping=package / "mapping.yaml")
    assert report.exit_code == 2
    err = report.findings[report.findings["rule"] == "file_unreadable"].iloc[0]
    assert err["file"] == "adsl.xpt"
    assert ("is not a SAS transport file" in err["message"]
            or "adsl.xpt is empty" in err["message"])


def test_a_damaged_sas7bdat(package):
    (package / "adcm.sas7bdat").write_bytes(b"not a SAS dataset at all" * 40)
    mapping = package / "mapping.yaml"
    mapping.write_text(mapping.read_text() + "  medications:\n    file: adcm\n")
    report = cohort.validate(package, mapping=mapping)
    assert report.exit_code == 2
    err = report.findings[report.findings["rule"] == "file_unreadable"].iloc[0]
    assert err["file"] == "adcm.sas7bdat"
    assert err["message"].startswith("adcm.sas7bdat cannot be read as a SAS dataset (.sas7bdat)")


def test_records_without_aval_are_left_out_and_counted(package):
    def edit(f):
        f.loc[f.index[:2], "AVAL"] = float("nan")  # an HbA1c and a glucose record
        f.loc[f.index[:2], "AVALC"] = "NOT DONE"
        return f

    _rewrite(package / "adlbc.xpt", edit)
    report = cohort.validate(package, mapping=package / "mapping.yaml")
    assert report.exit_code == 0
    f = report.findings
    left = f[(f["rule"] == "rows_left_out") & (f["column"] == "value")]
    assert left["value"].tolist() == ["2"]
    assert "2 rows of adlbc.xpt, advs.xpt" in left["message"].iloc[0]


def test_an_analysis_on_invalid_data_says_how_to_see_every_finding(package):
    _rewrite(package / "adtte.xpt", lambda f: f.assign(USUBJID="CHT-204-999"), version=8)
    mapping = package / "mapping.yaml"
    result = CliRunner().invoke(app, ["analyze", "table1", str(package), "--mapping",
                                      str(mapping), "--population", "ITT"])
    assert result.exit_code == 1
    assert (f"run `cohort validate {package} --mapping {mapping} --population ITT` for every "
            "finding") in result.output

"""Reading SAS transport (v5, v8) and CDISC Dataset-JSON (v1.0, v1.1) into typed frames."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import polars as pl
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cohort
from cohort.io.dataset_json import read_dataset_json
from cohort.io.sas import read_sas

ADAM = Path(__file__).resolve().parent / "data" / "adam"


def test_transport_v5_and_v8_are_read_exactly():
    adsl, problem = read_sas(ADAM / "adsl.xpt", "adsl.xpt")  # v5
    assert problem is None and adsl.height == 41
    assert adsl.schema["TRTSDT"] == pl.Date and adsl.schema["AGE"] == pl.Float64
    first = adsl.row(0, named=True)
    assert first["TRTSDT"] == dt.date(2023, 1, 9) and first["USUBJID"] == "CHT-204-101"
    # SAS has no missing text: blank values are missing; the screen failure has no dates
    last = adsl.row(40, named=True)
    assert last["TRT01P"] is None and last["TRTSDT"] is None
    adtte, problem = read_sas(ADAM / "adtte.xpt", "adtte.xpt")  # v8
    assert problem is None
    # exact zeros (pandas.read_sas can return 5e-79 here, pandas issue 50670)
    assert set(adtte.get_column("CNSR").to_list()) == {0.0, 1.0}
    assert adtte.schema["STARTDT"] == pl.Date


def _dataset_json_11(frame: pd.DataFrame, types: dict[str, str]) -> dict:
    return {"datasetJSONCreationDateTime": "2026-01-01T00:00:00", "datasetJSONVersion": "1.1.0",
            "itemGroupOID": "IG.ADSL", "records": len(frame), "name": "ADSL",
            "label": "Subject-Level Analysis Dataset",
            "columns": [{"itemOID": f"IT.ADSL.{c}", "name": c, "label": c, "dataType": t}
                        for c, t in types.items()],
            "rows": [[None if pd.isna(v) else v for v in r]
                     for r in frame[list(types)].itertuples(index=False)]}


def _dataset_json_10(frame: pd.DataFrame, types: dict[str, str]) -> dict:
    items = [{"OID": "ITEMGROUPDATASEQ", "name": "ITEMGROUPDATASEQ", "type": "integer"}] + [
        {"OID": f"IT.ADSL.{c}", "name": c, "label": c, "type": t} for c, t in types.items()]
    rows = [[i + 1, *[None if pd.isna(v) else v for v in r]]
            for i, r in enumerate(frame[list(types)].itertuples(index=False))]
    return {"creationDateTime": "2026-01-01T00:00:00", "datasetJSONVersion": "1.0.0",
            "clinicalData": {"studyOID": "CHT-204", "metaDataVersionOID": "MDV.1",
                             "itemGroupData": {"IG.ADSL": {"records": len(rows), "name": "ADSL",
                                                           "label": "ADSL", "items": items,
                                                           "itemData": rows}}}}


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_a_package_as_dataset_json_loads_as_the_transport_files(tmp_path, version):
    folder = tmp_path / "adam"
    shutil.copytree(ADAM, folder)
    adsl, _ = pyreadstat.read_xport(str(folder / "adsl.xpt"))
    adsl["TRTSDT"] = [d.isoformat() if isinstance(d, dt.date) else None for d in adsl["TRTSDT"]]
    adsl["TRTEDT"] = [d.isoformat() if isinstance(d, dt.date) else None for d in adsl["TRTEDT"]]
    types = {c: ("double" if adsl[c].dtype.kind == "f" else "string") for c in adsl.columns}
    types.update(TRTSDT="date", TRTEDT="date")
    doc = (_dataset_json_10 if version == "1.0" else _dataset_json_11)(adsl, types)
    (folder / "adsl.json").write_text(json.dumps(doc), encoding="utf-8")
    (folder / "adsl.xpt").unlink()
    mapping = ADAM / "mapping.yaml"
    got = cohort.load_cohort(folder, mapping=mapping).subjects
    want = cohort.load_cohort(ADAM, mapping=mapping).subjects
    pd.testing.assert_frame_equal(got, want)


def test_other_json_files_are_not_tables(tmp_path):
    folder = tmp_path / "adam"
    shutil.copytree(ADAM, folder)
    (folder / "run.json").write_text('{"seed": 1}', encoding="utf-8")
    assert cohort.validate(folder, mapping=folder / "mapping.yaml").exit_code == 0


def test_a_broken_dataset_json_is_named(tmp_path):
    path = tmp_path / "adsl.json"
    path.write_text('{"datasetJSONVersion": "1.1.0", "columns": [{"name": "A"}], '
                    '"rows": [[1, 2]]}', encoding="utf-8")
    frame, problem = read_dataset_json(path, "adsl.json")
    assert frame is None
    assert problem == ("adsl.json cannot be read as CDISC Dataset-JSON (v1.0 or v1.1): record "
                       "1 has 2 values for 1 variables")


_TEXT = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",)), max_size=8))
_NUMBER = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64))
_DATE = st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)))


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(st.lists(st.tuples(_TEXT, _NUMBER, _DATE), max_size=6))
def test_dataset_json_round_trip(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("dj") / "x.json"
    doc = {"datasetJSONVersion": "1.1.0", "name": "X", "records": len(rows),
           "columns": [{"name": "T", "dataType": "string"}, {"name": "N", "dataType": "double"},
                       {"name": "D", "dataType": "date"}],
           "rows": [[t, n, None if d is None else d.isoformat()] for t, n, d in rows]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    frame, problem = read_dataset_json(path, "x.json")
    assert problem is None and frame is not None
    assert frame.schema == {"T": pl.String, "N": pl.Float64, "D": pl.Date}
    # text is kept but for trailing blanks (SAS pads), blank text is missing
    assert frame.get_column("T").to_list() == [
        None if t is None or not t.rstrip() else t.rstrip() for t, _, _ in rows]
    assert frame.get_column("N").to_list() == [n for _, n, _ in rows]
    assert frame.get_column("D").to_list() == [d for _, _, d in rows]

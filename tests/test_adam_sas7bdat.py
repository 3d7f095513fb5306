""".sas7bdat files that read right: one written by SAS itself, one by ReadStat's writer.

* ``tests/fixtures/sas7bdat/iris.sas7bdat`` was written by SAS 9.4 M2 (its header says
  ``9.0401M2X64_8PRO``) and ships with R's haven package (MIT); its values must equal R's own
  ``datasets::iris`` (``iris_r.csv``, written by ``make_sas7bdat.R``), Species cut to the six
  characters of its SAS format ``$6.``.
* ``adsl.sas7bdat`` is the ADSL of ``tests/data/adam`` written by ``haven::write_sas`` with its
  DATE9. dates, a DATETIME20. treatment start and variable labels (``make_sas7bdat.R``); a
  package holding it instead of ``adsl.xpt`` must load exactly as the transport file does.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import polars as pl
import pyreadstat

import cohort
from cohort.io.sas import read_sas

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "tests" / "fixtures" / "sas7bdat"
ADAM = ROOT / "tests" / "data" / "adam"


def test_a_sas_written_file_reads_as_r_iris():
    frame, problem = read_sas(HERE / "iris.sas7bdat", "iris.sas7bdat")
    assert problem is None
    with open(HERE / "iris_r.csv", newline="") as fh:
        ref = list(csv.DictReader(fh))
    assert frame.height == len(ref) == 150
    assert frame.columns == ["Sepal_Length", "Sepal_Width", "Petal_Length", "Petal_Width",
                             "Species"]
    assert frame.schema["Sepal_Length"] == pl.Float64
    assert frame.schema["Species"] == pl.String
    for got, want in zip(frame.iter_rows(), ref, strict=True):
        # the doubles SAS stored for 5.1, 3.5, ... are the doubles R parses: exact equality
        assert list(got[:4]) == [float(want[k]) for k in ("Sepal.Length", "Sepal.Width",
                                                          "Petal.Length", "Petal.Width")]
        assert got[4] == want["Species"]
    assert frame.get_column("Species").value_counts().sort("Species").rows() == [
        ("setosa", 50), ("versic", 50), ("virgin", 50)]


def test_dates_datetimes_and_labels_of_a_sas7bdat():
    frame, problem = read_sas(HERE / "adsl.sas7bdat", "adsl.sas7bdat")
    assert problem is None
    xpt, _ = read_sas(ADAM / "adsl.xpt", "adsl.xpt")
    assert frame.schema["TRTSDT"] == pl.Date and frame.schema["TRTEDT"] == pl.Date
    assert isinstance(frame.schema["TRTSDTM"], pl.Datetime)
    assert frame.get_column("TRTSDT").to_list() == xpt.get_column("TRTSDT").to_list()
    assert frame.get_column("TRTEDT").to_list() == xpt.get_column("TRTEDT").to_list()
    first = frame.row(0, named=True)
    assert first["TRTSDT"] == dt.date(2023, 1, 9)
    assert first["TRTSDTM"] == dt.datetime(2023, 1, 9, 9, 30)
    # the screen failure: no dates, blank text is missing
    last = frame.row(40, named=True)
    assert last["TRTSDT"] is None and last["TRTSDTM"] is None and last["TRT01P"] is None
    # every other column as in the transport file
    pd.testing.assert_frame_equal(frame.drop("TRTSDTM").to_pandas(), xpt.to_pandas())
    # the variable labels are in the file, read exactly (cohort reads values, not labels)
    _, meta = pyreadstat.read_sas7bdat(str(HERE / "adsl.sas7bdat"), metadataonly=True)
    labels = meta.column_names_to_labels
    assert labels["TRTSDT"] == "Date of First Exposure to Treatment"
    assert labels["TRTSDTM"] == "Datetime of First Exposure to Treatment"
    assert labels["ITTFL"] == "Intent-To-Treat Population Flag"
    assert meta.original_variable_types["TRTSDTM"] == "DATETIME20."


def test_a_package_with_a_sas7bdat_adsl_loads_as_the_transport_one(tmp_path):
    folder = tmp_path / "adam"
    shutil.copytree(ADAM, folder)
    (folder / "adsl.xpt").unlink()
    shutil.copy(HERE / "adsl.sas7bdat", folder / "adsl.sas7bdat")
    mapping = ADAM / "mapping.yaml"
    got = cohort.load_cohort(folder, mapping=mapping, population=["ITT"])
    want = cohort.load_cohort(ADAM, mapping=mapping, population=["ITT"])
    for name in ("subjects", "measurements", "adverse_events", "time_to_event"):
        pd.testing.assert_frame_equal(got.tables[name], want.tables[name])
    # day 0 from the DATETIME20. variable alone (its date part): the same study days
    only_dtm = tmp_path / "dtm.yaml"
    only_dtm.write_text(f"extends: {mapping}\nadam: {{origin: [TRTSDTM]}}\n",
                        encoding="utf-8")
    by_dtm = cohort.validate(folder, mapping=only_dtm, population=["ITT"])
    assert by_dtm.exit_code == 0, by_dtm.findings.to_string()
    d = by_dtm.derivations
    assert d[d["column"] == "(day 0)"]["rule"].tolist() == [
        "TRTSDTM (the first of TRTSDTM with a date)"]
    pd.testing.assert_frame_equal(
        cohort.load_cohort(folder, mapping=only_dtm, population=["ITT"]).measurements,
        want.measurements)

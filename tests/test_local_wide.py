"""A wide lab sheet (one column per test, the unit in the column name), as REDCap's default
export and many spreadsheets lay labs out: ``unpivot`` makes one row per test and
``units_from_names`` takes the unit from the column name. The wide copy of the REDCap export
must load as the long one does."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

import cohort

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "tests" / "data" / "redcap" / "csv"
TESTS = ["HbA1c (mmol/mol)", "C-peptide fasting (pmol/L)", "C-peptide 2h (pmol/L)",
         "Insulin dose (U/day)", "Creatinine (umol/L)"]


@pytest.fixture()
def wide(tmp_path):
    folder = tmp_path / "redcap" / "csv"
    folder.mkdir(parents=True)
    shutil.copy(CSV / "patients.csv", folder / "patients.csv")
    shutil.copy(CSV.parent / "mapping.yaml", folder.parent / "mapping.yaml")
    shutil.copy(CSV / "mapping.yaml", folder / "long.yaml")
    labs = pl.read_csv(CSV / "labs.csv", infer_schema=False)
    # one row per record and event; each test a column named with its unit
    wide = (labs.with_columns(pl.col("test").str.strip_chars())
            .pivot(on="test", index=["record_id", "redcap_event_name", "lab_date"],
                   values="result", maintain_order=True))
    assert wide.columns[3:] == TESTS
    wide.write_csv(folder / "labs.csv")
    (folder / "wide.yaml").write_text(
        "extends: long.yaml\n"
        "remove: {tables: {measurements: {columns: [test, result]}}}\n"
        "tables:\n"
        "  measurements:\n"
        f"    unpivot: [{', '.join(repr(t) for t in TESTS)}]\n", encoding="utf-8")
    return folder


def test_a_wide_sheet_loads_as_the_long_one(wide):
    report = cohort.validate(wide, mapping=wide / "wide.yaml")
    assert report.exit_code == 0, report.findings.to_string()
    # the same four warnings as the long export: the rows left out are the same
    assert sorted(report.findings["value"].astype(int)) == [2, 4, 12, 144]
    got = cohort.load_cohort(wide, mapping=wide / "wide.yaml").measurements
    want = cohort.load_cohort(CSV, mapping=CSV / "mapping.yaml").measurements
    key = ["subject_id", "day", "param"]
    cols = [*key, "value", "unit", "visit", "qualifier", "value_original", "unit_original"]
    got = got[cols].sort_values(key).reset_index(drop=True)
    want = want[cols].sort_values(key).reset_index(drop=True)
    assert got.equals(want)
    d = report.derivations
    assert d[d["column"] == "unit"].set_index("rule")["n"].to_dict()[
        "HbA1c mmol/mol: trailing parentheses of param"] == 142


def test_a_finding_in_a_wide_sheet_points_at_its_source_row(wide):
    labs = pl.read_csv(wide / "labs.csv", infer_schema=False)
    # line 5 of the file (row index 3): an HbA1c typed as text
    labs = labs.with_columns(pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("sixty"))
                             .otherwise(pl.col("HbA1c (mmol/mol)")).alias("HbA1c (mmol/mol)"))
    labs.write_csv(wide / "labs.csv")
    before = (wide / "labs.csv").read_bytes()
    report = cohort.validate(wide, mapping=wide / "wide.yaml")
    assert report.exit_code == 1
    f = report.findings
    bad = f[f["severity"] == "error"].iloc[0]
    assert (bad["file"], bad["row"], bad["value"]) == ("labs.csv", 5, "sixty")
    assert (wide / "labs.csv").read_bytes() == before


@pytest.mark.parametrize(("text", "expected"), [
    ("    unpivot: [HbA1c]\n", "names 'HbA1c', not a column of the file"),
])
def test_bad_unpivot_is_a_mapping_error(wide, text, expected):
    (wide / "bad.yaml").write_text("extends: wide.yaml\ntables:\n  measurements:\n" + text,
                                   encoding="utf-8")
    report = cohort.validate(wide, mapping=wide / "bad.yaml")
    assert report.exit_code == 2
    assert expected in report.findings["message"].str.cat()


def test_only_measurements_are_unpivoted(wide):
    (wide / "bad.yaml").write_text(
        "extends: wide.yaml\ntables:\n  subjects:\n    unpivot: [weight_kg]\n",
        encoding="utf-8")
    report = cohort.validate(wide, mapping=wide / "bad.yaml")
    assert report.exit_code == 2
    assert "only measurements can be unpivoted, not subjects" in \
        report.findings["message"].str.cat()

"""``units_from_names``: the unit in a name's trailing parentheses (cohort.io.name_units), on
copies of tests/data/example whose files are rewritten the way local exports write units."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cohort
from cohort.io.name_units import unit_in_name


@pytest.mark.parametrize(("text", "want"), [
    ("HbA1c (mmol/mol)", ("HbA1c", "mmol/mol")),
    ("HbA1c (mmol/mol) ", ("HbA1c", "mmol/mol")),
    ("  C-peptide 2h(pmol/L)", ("C-peptide 2h", "pmol/L")),
    ("Glucose (fasting) (mmol/L)", ("Glucose (fasting)", "mmol/L")),
    ("HbA1c", ("HbA1c", None)),
    ("(mmol/mol)", ("(mmol/mol)", None)),  # a unit without a name is no split
    ("HbA1c (mmol/mol) x", ("HbA1c (mmol/mol) x", None)),
])
def test_unit_in_name(text, want):
    assert unit_in_name(text) == want


@settings(max_examples=200, derandomize=True, deadline=None)
@given(name=st.text(alphabet=st.characters(blacklist_characters="()",
                                           blacklist_categories=("Cs",)), max_size=20),
       unit=st.text(alphabet=st.characters(blacklist_characters="()",
                                           blacklist_categories=("Cs",)), max_size=10))
def test_a_name_and_unit_split_back(name, unit):
    got_name, got_unit = unit_in_name(f"{name} ({unit})")
    if name.strip() and unit.strip():
        assert (got_name, got_unit) == (name.strip(), unit.strip())
    else:  # no name or no unit: nothing is split off
        assert got_unit is None


def _long_with_names(folder, *, with_unit_column: bool) -> None:
    """measurements.csv with the unit written into the test name, as many lab exports do."""
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False)
    m = m.with_columns(pl.format("{} ({})", pl.col("param"), pl.col("unit")).alias("param"))
    if not with_unit_column:
        m = m.drop("unit")
    m.write_csv(folder / "measurements.csv")


def test_test_names_give_param_and_unit(example_copy):
    want = cohort.load_cohort(example_copy).measurements
    raw = pl.read_csv(example_copy / "measurements.csv", infer_schema=False)
    n_pct = raw.filter((pl.col("param") == "HBA1C") & (pl.col("unit") == "%")).height
    n_mmol = raw.filter((pl.col("param") == "HBA1C") & (pl.col("unit") == "mmol/mol")).height
    assert n_pct and n_mmol
    _long_with_names(example_copy, with_unit_column=False)
    mapping = example_copy / "m.yaml"
    mapping.write_text("tables:\n  measurements:\n    units_from_names: [param]\n",
                       encoding="utf-8")
    report = cohort.validate(example_copy, mapping=mapping)
    assert report.exit_code == 0, report.findings.to_string()
    d = report.derivations
    rules = dict(zip(d["rule"], d["n"], strict=True))
    assert rules["HBA1C %: trailing parentheses of param"] == n_pct
    assert rules["HBA1C mmol/mol: trailing parentheses of param"] == n_mmol
    got = cohort.load_cohort(example_copy, mapping=mapping).measurements
    assert got[["subject_id", "day", "param", "value", "unit"]].equals(
        want[["subject_id", "day", "param", "value", "unit"]])


def test_a_unit_column_that_contradicts_the_name_is_an_error(example_copy):
    _long_with_names(example_copy, with_unit_column=True)
    m = pl.read_csv(example_copy / "measurements.csv", infer_schema=False)
    # row 2 of the file: the name says %, the unit column mmol/mol
    m = m.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("mmol/mol"))
                       .otherwise(pl.col("unit")).alias("unit"))
    m.write_csv(example_copy / "measurements.csv")
    mapping = example_copy / "m.yaml"
    mapping.write_text("tables:\n  measurements:\n    units_from_names: [param]\n",
                       encoding="utf-8")
    before = (example_copy / "measurements.csv").read_bytes()
    report = cohort.validate(example_copy, mapping=mapping)
    assert report.exit_code == 1
    f = report.findings
    bad = f[f["rule"] == "unit"].iloc[0]
    assert (bad["file"], bad["row"], bad["column"]) == ("measurements.csv", 2, "unit")
    assert "the unit column says mmol/mol but the test name HBA1C (%) says %" in bad["message"]
    assert (example_copy / "measurements.csv").read_bytes() == before


def test_the_value_column_name_gives_the_unit(example_copy):
    m = pl.read_csv(example_copy / "measurements.csv", infer_schema=False)
    m = m.filter((pl.col("param") == "HBA1C") & (pl.col("unit") == "%")).drop("unit").rename(
        {"value": "Result (%)"})
    m.write_csv(example_copy / "measurements.csv")
    mapping = example_copy / "m.yaml"
    mapping.write_text("tables:\n  measurements:\n    columns: {\"Result (%)\": value}\n"
                       "    units_from_names: [value]\n", encoding="utf-8")
    report = cohort.validate(example_copy, mapping=mapping)
    assert report.exit_code == 0, report.findings.to_string()
    d = report.derivations
    assert d[d["column"] == "unit"]["rule"].tolist() == ["%: the name of column 'Result (%)'"]


def test_a_subjects_column_name_is_checked_against_the_contract_unit(example_copy):
    s = pl.read_csv(example_copy / "subjects.csv", infer_schema=False)
    s.rename({"weight_kg": "Weight (kg)"}).write_csv(example_copy / "subjects.csv")
    mapping = example_copy / "m.yaml"
    mapping.write_text("tables:\n  subjects:\n    columns: {\"Weight (kg)\": weight_kg}\n"
                       "    units_from_names: [weight_kg]\n", encoding="utf-8")
    report = cohort.validate(example_copy, mapping=mapping)
    assert report.exit_code == 0, report.findings.to_string()
    s.rename({"weight_kg": "Weight (lb)"}).write_csv(example_copy / "subjects.csv")
    mapping.write_text("tables:\n  subjects:\n    columns: {\"Weight (lb)\": weight_kg}\n"
                       "    units_from_names: [weight_kg]\n", encoding="utf-8")
    report = cohort.validate(example_copy, mapping=mapping)
    assert report.exit_code == 2
    msg = report.findings["message"].str.cat(sep="\n")
    assert ("tables.subjects.units_from_names: 'Weight (lb)' gives weight_kg in lb, but "
            "weight_kg is in kg: convert the column, or declare the factor under scale") in msg


def test_a_column_that_is_not_in_the_contract_is_a_mapping_error(example_copy):
    mapping = example_copy / "m.yaml"
    mapping.write_text("tables:\n  measurements:\n    units_from_names: [test_name]\n",
                       encoding="utf-8")
    report = cohort.validate(example_copy, mapping=mapping)
    assert report.exit_code == 2
    assert "'test_name' is not a contract column of measurements" in \
        report.findings["message"].str.cat()

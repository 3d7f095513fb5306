"""The native checks (polars expressions, ``engine="native"``, the default) report exactly what
pandera's schemas built from the same contract report: on hand-made tables, on random tables
(hypothesis), on every broken cohort in ``tests/data/broken`` and on random corrupted
cohorts."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandera.errors import SchemaErrors
from strategies import FORMATS, corrupted_cohorts, write_tables
from test_validate_broken import BROKEN, CASES, _expected

import cohort
from cohort.contract import load_contract, polars_schema
from cohort.validation.checks import contract_failures

CONTRACT = load_contract()


def _pandera(frame: pl.DataFrame, table: str) -> set[tuple]:
    try:
        polars_schema(table).validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return set()
    return _as_set(cases.select("check", "column", "failure_case", "index"))


def _as_set(cases: pl.DataFrame) -> set[tuple]:
    # cell failures are reported from the frame itself, so their rendering is left out, and
    # a repeated key by its row alone
    def key(r: dict) -> tuple:
        if r["check"] == "multiple_fields_uniqueness":
            return (r["check"], None, None, r["index"])
        return (r["check"], r["column"], r["failure_case"] if r["index"] is None else None,
                r["index"])
    return {key(r) for r in cases.iter_rows(named=True)}


def _native(frame: pl.DataFrame, table: str) -> set[tuple]:
    return _as_set(contract_failures(frame, CONTRACT[table]))


def test_every_kind_of_failure_as_pandera_reports_it():
    frame = pl.DataFrame({
        "subject_id": ["a", None, "c", "c"], "term": ["x", "y", None, "z"],
        "onset_day": [1, 2, None, 99_999], "severity": ["mild", "bad", None, "mild"],
        "serious": [True, None, False, True], "zzz": [1, 2, 3, 4]})
    native = _native(frame, "adverse_events")
    assert native == _pandera(frame, "adverse_events")
    assert native == {
        ("column_in_schema", "adverse_events", "zzz", None),
        ("column_in_dataframe", "adverse_events", "related", None),
        ("not_nullable", "subject_id", None, 1), ("not_nullable", "term", None, 2),
        ("not_nullable", "onset_day", None, 2), ("not_nullable", "severity", None, 2),
        ("not_nullable", "serious", None, 1),
        ("isin(['mild', 'moderate', 'severe'])", "severity", None, 1),
        ("in_range(-36500.0, 36500.0)", "onset_day", None, 3)}


def test_nan_is_missing_and_keys_repeat_as_in_pandera():
    frame = pl.DataFrame({"subject_id": ["a", "b", "c", "c", None, None],
                          "day": [1, 2, 3, 3, 5, 5], "param": ["HBA1C"] * 6,
                          "value": [math.nan, -1.0, None, 2.0, 1.0, 1.0], "unit": ["%"] * 6})
    native = _native(frame, "measurements")
    assert native == _pandera(frame, "measurements")
    assert ("not_nullable", "value", None, 0) in native  # NaN is a missing value
    key_rows = {r[3] for r in native if r[0] == "multiple_fields_uniqueness"}
    assert key_rows == {2, 3, 4, 5}  # empty key cells count as equal


def test_a_column_of_another_type_is_one_table_level_failure():
    frame = pl.DataFrame({"subject_id": ["a"], "term": ["x"], "onset_day": ["1"],
                          "severity": ["mild"], "serious": [True], "related": [1]})
    native = contract_failures(frame, CONTRACT["adverse_events"])
    assert sorted(native.filter(pl.col("check").str.starts_with("dtype")).rows()) == [
        ("dtype('Boolean')", "related", "Int64", None),
        ("dtype('Int64')", "onset_day", "String", None)]


def test_a_valid_table_has_no_failure():
    frame = pl.DataFrame({"subject_id": ["a", "b"], "term": ["x", "y"], "onset_day": [1, 2],
                          "severity": ["mild", "severe"], "serious": [True, False],
                          "related": [False, False]})
    assert contract_failures(frame, CONTRACT["adverse_events"]).height == 0


_SEVERITY = st.sampled_from(["mild", "moderate", "severe", "fatal", "", None])
_DAY = st.one_of(st.none(), st.integers(-40_000, 40_000), st.sampled_from([-36_500, 36_500]))
_FLAG = st.one_of(st.none(), st.booleans())


@st.composite
def _adverse_events(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(0, 12))
    ids = st.one_of(st.none(), st.sampled_from(["S1", "S2", "S3"]))
    return pl.DataFrame({
        "subject_id": draw(st.lists(ids, min_size=n, max_size=n)),
        "term": draw(st.lists(st.sampled_from(["rash", "fever", None]), min_size=n,
                              max_size=n)),
        "onset_day": draw(st.lists(_DAY, min_size=n, max_size=n)),
        "severity": draw(st.lists(_SEVERITY, min_size=n, max_size=n)),
        "serious": draw(st.lists(_FLAG, min_size=n, max_size=n)),
        "related": draw(st.lists(_FLAG, min_size=n, max_size=n)),
    }, schema={"subject_id": pl.String, "term": pl.String, "onset_day": pl.Int64,
               "severity": pl.String, "serious": pl.Boolean, "related": pl.Boolean})


_VALUE = st.one_of(st.none(), st.just(math.nan), st.floats(-10, 2000, allow_nan=False))


@st.composite
def _measurements(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(0, 12))
    return pl.DataFrame({
        "subject_id": draw(st.lists(st.sampled_from(["S1", "S2", None]), min_size=n,
                                    max_size=n)),
        "day": draw(st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=n,
                             max_size=n)),
        "param": draw(st.lists(st.sampled_from(["HBA1C", "FPG", "XYZ", None]), min_size=n,
                               max_size=n)),
        "value": draw(st.lists(_VALUE, min_size=n, max_size=n)),
        "unit": draw(st.lists(st.sampled_from(["%", "mmol/L", None]), min_size=n,
                              max_size=n)),
    }, schema={"subject_id": pl.String, "day": pl.Int64, "param": pl.String,
               "value": pl.Float64, "unit": pl.String})


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.one_of(_adverse_events().map(lambda f: ("adverse_events", f)),
                 _measurements().map(lambda f: ("measurements", f))))
def test_random_tables_fail_as_in_pandera(case):
    table, frame = case
    assert _native(frame, table) == _pandera(frame, table)


@pytest.mark.parametrize("case", CASES)
def test_broken_cohorts_give_the_same_findings_natively(case):
    mapping = _expected(case)["mapping"]
    mapping = BROKEN / case / mapping if mapping else None
    native = cohort.validate(BROKEN / case, mapping=mapping).to_dict()
    by_pandera = cohort.validate(BROKEN / case, mapping=mapping, engine="polars").to_dict()
    assert native["engine"] == "native"
    assert native["findings"] == by_pandera["findings"]
    assert native["exit_code"] == by_pandera["exit_code"] == _expected(case)["exit_code"]


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(corrupted_cohorts(), st.sampled_from(FORMATS))
def test_corrupted_cohorts_give_the_same_findings_natively(case, fmt):
    generated, bad = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tables(generated, Path(tmp) / "cohort", fmt, bad)
        native = cohort.validate(folder, engine="native").findings
        by_pandera = cohort.validate(folder, engine="pandas").findings
    assert not native.empty
    pd.testing.assert_frame_equal(native, by_pandera)

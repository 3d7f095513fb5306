"""CSV files written by polars hold the bytes pandas writes (``to_csv(index=False,
lineterminator="\\n", float_format="%.10g")``): floats, integers, booleans, text, categories
and empty cells, for hand-picked edge cases and for random tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.io.serialise import FLOAT_FORMAT, format_floats, write_csv, write_tables

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def _pandas_bytes(frame: pd.DataFrame, tmp_path) -> bytes:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "pandas.csv"
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
    return path.read_bytes()


def _ours(frame: pd.DataFrame, tmp_path) -> bytes:
    path = tmp_path / "ours.csv"
    write_csv(frame, path)
    return path.read_bytes()


EDGE_FLOATS = [
    0.0, -0.0, 1.0, -1.0, 60.0, 7.1, 0.1 + 0.2, 1e-4, 0.00012345, 9.99999999995e-5, 1e-5,
    123456789.0, 1234567890.0, 9899999999.4, 9.9e9, 9999999999.5, 1e10, 1e15, 1e16, 1e300,
    5e-324, 1.7976931348623157e308, float("inf"), float("-inf"), float("nan"),
    # ties of the 10-digit rounding and their neighbours
    1.00000000005, 1.00000000015, 2.00000000025, 0.12345678905, 99999.999995, 0.5, 2.5,
    12345.678905, math.nextafter(1.00000000005, 2.0), math.nextafter(1.00000000005, 0.0),
    13859000.0, 920200000.0, 3.3333333333333335, -2.6666666666666665, 4.35e-4,
    # short texts of 10 digits or fewer that are longer than 11 characters, and near 1e-4
    -0.000123456789, 0.1234567891, -123456.7891, 9999999999.0, 9.999999999e-5, 1.0001e-4,
]


def test_edge_floats_format_as_percent_g():
    got = format_floats(np.array(EDGE_FLOATS)).to_list()
    assert got == [None if math.isnan(v) else FLOAT_FORMAT % v for v in EDGE_FLOATS]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=200))
@SETTINGS
def test_any_float_formats_as_percent_g(values):
    got = format_floats(np.array(values, dtype=np.float64)).to_list()
    assert got == [None if math.isnan(v) else FLOAT_FORMAT % v for v in values]


@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=200),
       st.integers(0, 6))
@SETTINGS
def test_rounded_decimals_format_as_percent_g(mantissas, decimals):
    # measurements are mostly short decimals: 7.1, 60, 0.25
    values = np.array(mantissas, dtype=np.float64) / 10.0**decimals
    assert format_floats(values).to_list() == [FLOAT_FORMAT % v for v in values.tolist()]


def test_every_kind_of_column_matches_pandas(tmp_path):
    frame = pd.DataFrame({
        "text": ["", "a,b", 'say "hi"', None, "two\nlines", " padded ", "é", "#x", "x", "y"],
        "number": [-0.0, float("nan"), float("inf"), 1e-5, 0.0001, 60.0, 7.1, 1e10, 2.5, 3.0],
        "count": np.arange(10, dtype=np.int64) - 5,
        "small": np.arange(10, dtype=np.uint8),
        "flag": [True, False] * 5,
        "maybe_flag": pd.array([True, None, False, None, True] * 2, dtype="boolean"),
        "maybe_count": pd.array([1, None, 3, None, 5, 6, 7, 8, 9, None], dtype="Int64"),
        "code": pd.Categorical(["b", "a", None, "b", "", "a", "a", "b", "c", "c"],
                               categories=["a", "b", "c", ""]),
        "string": pd.array(["p", None, "q", "", "r", "s", "t", "u", "v", "w"], dtype="string"),
        "float32": np.linspace(0, 1, 10, dtype=np.float32),
        "nan_text": ["a", float("nan"), "b", pd.NA, "c", "d", "e", "f", "g", "h"],
    })
    assert _ours(frame, tmp_path) == _pandas_bytes(frame, tmp_path)


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"only": ["", None, "x"]}),  # pandas writes '""' for a lone empty cell
    pd.DataFrame({"a": ["x\ry", "z"], "b": [1, 2]}),  # pandas leaves a lone \r unquoted
    pd.DataFrame({"a\rb": [1, 2], "c": [3.5, 4.0]}),  # in a column name too
    pd.DataFrame({"a": pd.Categorical(["x\r", "y"]), "b": [1, 2]}),  # in a category label
    pd.DataFrame({"a": [1, "x"], "b": [1.5, 2.0]}),  # not all text
    pd.DataFrame({"a": pd.to_datetime(["2020-01-01", "2020-01-02"]), "b": [1, 2]}),
    pd.DataFrame({"a": pd.Categorical([1.5, 2.5]), "b": [1, 2]}),
    pd.DataFrame([[1, 2]], columns=["a", "a"]),
    pd.DataFrame([[1, 2]], columns=[0, 1]),
    pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)}),
], ids=["one-column", "carriage-return", "carriage-return-name", "carriage-return-label",
        "mixed-objects", "datetimes", "float-categories",
        "duplicate-names", "integer-names", "no-rows"])
def test_what_polars_cannot_write_alike_is_written_by_pandas(tmp_path, frame):
    assert _ours(frame, tmp_path) == _pandas_bytes(frame, tmp_path)


TEXT = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('ab ,"\n\t;é-')),
                                     max_size=6))


@st.composite
def frames(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 30))
    floats = st.floats(allow_nan=True, allow_infinity=False, width=64)
    columns = {
        "text": draw(st.lists(TEXT, min_size=n, max_size=n)),
        "value": draw(st.lists(floats, min_size=n, max_size=n)),
        "day": draw(st.lists(st.integers(-2**62, 2**62), min_size=n, max_size=n)),
        "flag": draw(st.lists(st.booleans(), min_size=n, max_size=n)),
    }
    frame = pd.DataFrame(columns).astype({"value": float, "day": np.int64, "flag": bool,
                                          "text": object})
    codes = draw(st.lists(st.sampled_from(["x", "y", None]), min_size=n, max_size=n))
    frame["code"] = pd.Categorical(codes, categories=["x", "y"])
    return frame


@given(frames())
@SETTINGS
def test_random_tables_match_pandas_byte_for_byte(tmp_path_factory, frame):
    tmp = tmp_path_factory.mktemp("csv")
    assert _ours(frame, tmp) == _pandas_bytes(frame, tmp)


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"subject_id": [f"S{i:06d}" for i in range(n)],
                         "value": np.round(rng.normal(7, 1, n), 1),
                         "day": rng.integers(-30, 400, n)})


def test_tables_written_two_at_a_time_are_those_written_one_by_one(tmp_path):
    tables = {tmp_path / "big.csv": _table(150_000, 1), tmp_path / "other.csv": _table(120_000, 2),
              tmp_path / "small.csv": _table(10, 3)}
    write_tables(tables)
    for path, frame in tables.items():
        assert path.read_bytes() == _pandas_bytes(frame, tmp_path / "expected")


def test_a_failed_table_fails_the_write(tmp_path):
    tables = {tmp_path / "big.csv": _table(150_000, 1),
              tmp_path / "missing" / "other.csv": _table(120_000, 2)}
    with pytest.raises(OSError):
        write_tables(tables)
    with pytest.raises(ValueError, match="unknown table format"):
        write_tables(tables, fmt="xls")

"""Property tests: random valid cohorts pass, single corruptions are found where they are,
and loading never touches the input files (strategies in ``tests/strategies.py``)."""

from __future__ import annotations

import csv
import hashlib
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import (
    FORMATS,
    cohorts,
    corrupted_cohorts,
    editor_row,
    write_tables,
)

import cohort
from cohort.io.csv_layout import scan_layout

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, database=None)


def _snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


@SETTINGS
@given(cohorts(), st.sampled_from(FORMATS), st.sampled_from(["pandas", "polars"]))
def test_random_valid_cohorts_pass(generated, fmt, engine):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tables(generated, Path(tmp) / "cohort", fmt)
        before = _snapshot(folder)
        report = cohort.validate(folder, engine=engine)
        assert report.findings.empty, report.findings.to_string()
        assert report.exit_code == 0
        loaded = cohort.load_cohort(folder, engine=engine)
        assert _snapshot(folder) == before  # nothing written, nothing touched
        last_row = editor_row(folder, fmt, "measurements", len(loaded.measurements) - 1)
    m = loaded.measurements
    written = generated.tables["measurements"]
    assert len(m) == len(written)
    params = cohort.load_contract().parameters
    # values are canonical and plausible; the value and unit as written are kept
    assert (m["unit"] == m["param"].map(lambda p: params[p].unit)).all()
    lo = m["param"].map(lambda p: params[p].plausible[0])
    hi = m["param"].map(lambda p: params[p].plausible[1])
    assert ((m["value"] >= lo) & (m["value"] <= hi)).all()
    np.testing.assert_array_equal(m["value_original"].to_numpy(),
                                  [r["value"] for r in written])
    assert m["unit_original"].tolist() == [r["unit"] for r in written]
    # every row knows the line it came from
    assert loaded.source_of("measurements", len(m) - 1)[1] == last_row


@SETTINGS
@given(corrupted_cohorts(), st.sampled_from(FORMATS), st.sampled_from(["pandas", "polars"]))
def test_a_single_corruption_is_found_in_its_cell(case, fmt, engine):
    generated, bad = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tables(generated, Path(tmp) / "cohort", fmt, bad)
        before = _snapshot(folder)
        report = cohort.validate(folder, engine=engine)
        row = editor_row(folder, fmt, bad.table, bad.index)
        assert _snapshot(folder) == before
    assert report.exit_code == 1
    file = {"csv": f"{bad.table}.csv", "parquet": f"{bad.table}.parquet",
            "xlsx": f"cohort.xlsx[{bad.table}]"}[fmt]
    f = report.findings
    here = f[(f["table"] == bad.table) & (f["file"] == file) & (f["row"] == row)
             & (f["column"] == bad.column)]
    assert len(here) == 1, (bad, f.to_string())
    assert here["rule"].iloc[0] in bad.rules, (bad, f.to_string())
    assert here["severity"].iloc[0] == "error"


# --------------------------------------------------------------------------------------------
# the CSV layout scan against Python's csv module

_fields = st.one_of(
    st.text(alphabet="ab ;", max_size=3),
    st.lists(st.sampled_from(["a", ",", '""', "\n", "\r\n", ";"]), max_size=4)
    .map(lambda parts: '"' + "".join(parts) + '"'),
)
_records = st.one_of(st.just(""), st.lists(_fields, min_size=1, max_size=4).map(",".join))


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.lists(_records, max_size=6), st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_csv_layout_agrees_with_python_csv(records, eol, final_eol):
    text = eol.join(records) + (eol if final_eol and records else "")
    expected, previous = [], 0
    reader = csv.reader(io.StringIO(text, newline=""))
    for rec in reader:
        expected.append((previous + 1, max(len(rec), 1), rec == []))
        previous = reader.line_num
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_bytes(text.encode())
        layout = scan_layout(path, ",")
    got = list(zip(layout.line.tolist(), layout.fields.tolist(), layout.blank.tolist(),
                   strict=True))
    assert got == expected


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(corrupted_cohorts(), st.sampled_from(FORMATS))
def test_both_engines_agree_on_corrupted_cohorts(case, fmt):
    generated, bad = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_tables(generated, Path(tmp) / "cohort", fmt, bad)
        by_pandas = cohort.validate(folder, engine="pandas").findings
        by_polars = cohort.validate(folder, engine="polars").findings
    pd.testing.assert_frame_equal(by_pandas, by_polars)

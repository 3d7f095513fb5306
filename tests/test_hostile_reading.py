"""Reading hostile files: blank lines, wide encodings, special files, nested Parquet cells."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cohort

EXAMPLE = Path(__file__).parent / "data" / "example"


@pytest.fixture
def example(tmp_path) -> Path:
    dest = tmp_path / "c"
    shutil.copytree(EXAMPLE, dest)
    return dest


def _rules(path: Path) -> list[tuple]:
    f = cohort.validate(path).findings
    return list(f[["rule", "file", "row", "column"]].itertuples(index=False, name=None))


def _bad_cell(folder: Path, line: int) -> None:
    """Put text into the ``day`` cell of ``line`` of measurements.csv."""
    path = folder / "measurements.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    cells = lines[line - 1].split(",")
    cells[1] = "abc"
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize("prefix", ["\n", "\r\n", "   \n", "\n\n"])
def test_blank_first_lines_are_reported(example, prefix):
    path = example / "measurements.csv"
    path.write_bytes(prefix.encode() + path.read_bytes())
    report = cohort.validate(example)
    assert report.exit_code == 1
    f = report.findings
    assert f[["rule", "file", "row"]].values.tolist() == [
        ["missing_header", "measurements.csv", 1]]
    n = prefix.count("\n")
    assert ("line 1 is blank" if n == 1 else f"lines 1-{n} are blank") in f["message"].iloc[0]


def test_blank_lines_between_and_after_records_keep_line_numbers(example):
    path = example / "measurements.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines.insert(5, "")          # a blank line 6: line 12 becomes 13
    path.write_text("\n".join(lines) + "\n\n\n", encoding="utf-8")
    _bad_cell(example, 13)
    assert _rules(example) == [("type", "measurements.csv", 13, "day")]


@pytest.mark.parametrize("encoding, named, codec", [
    ("utf-16", "UTF-16 (with a byte-order mark)", "utf-16"),
    ("utf-32", "UTF-32 (with a byte-order mark)", "utf-32"),
    ("utf-16-le", "UTF-16 little-endian (no byte-order mark)", "utf-16-le"),
    ("utf-16-be", "UTF-16 big-endian (no byte-order mark)", "utf-16-be"),
    ("utf-32-le", "UTF-32 little-endian (no byte-order mark)", "utf-32-le"),
    ("utf-32-be", "UTF-32 big-endian (no byte-order mark)", "utf-32-be"),
])
def test_wide_encodings_named(example, encoding, named, codec):
    path = example / "measurements.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))
    report = cohort.validate(example)
    assert report.exit_code == 2
    f = report.findings
    assert f["rule"].tolist() == ["encoding"]
    assert f["value"].iloc[0] == codec
    assert f"measurements.csv is {named} text" in f["message"].iloc[0]
    assert f"csv.encoding: {codec}" in f["message"].iloc[0]


def test_utf16_read_with_its_encoding(example, tmp_path):
    # every file in UTF-16, and a mapping that says so: read with the right line numbers
    for p in example.glob("*.csv"):
        p.write_bytes(p.read_text(encoding="utf-8").encode("utf-16"))
    mapping = tmp_path / "m.yaml"
    mapping.write_text("csv: {encoding: utf-16}\n", encoding="utf-8")
    assert cohort.validate(example, mapping=mapping).exit_code == 0
    path = example / "measurements.csv"
    text = path.read_text(encoding="utf-16").split("\n")
    cells = text[11].split(",")
    cells[1] = "abc"
    text[11] = ",".join(cells)
    path.write_bytes("\n".join(text).encode("utf-16"))
    f = cohort.validate(example, mapping=mapping).findings
    assert f[["rule", "row", "column"]].values.tolist() == [["type", 12, "day"]]


def _special(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    elif kind == "loop":
        os.symlink(path, path)
    elif kind == "dangling":
        os.symlink(path.parent / "nowhere.csv", path)
    else:
        os.symlink("/dev/zero", path)


@pytest.mark.parametrize("kind, what", [
    ("fifo", "is a FIFO (named pipe), not a regular file"),
    ("dir", "is a folder, not a regular file"),
    ("loop", "is a symbolic link loop"),
    ("dangling", "is a symbolic link to nothing"),
    ("zero", "is a character device, not a regular file"),
])
def test_table_that_is_not_a_regular_file_is_exit_2(example, kind, what):
    path = example / "measurements.csv"
    path.unlink()
    _special(kind, path)
    start = time.perf_counter()
    report = cohort.validate(example)
    assert time.perf_counter() - start < 30
    assert report.exit_code == 2
    f = report.findings
    assert f[["rule", "file"]].values.tolist() == [["file_unreadable", "measurements.csv"]]
    assert f["message"].iloc[0] == f"measurements.csv {what}"


@pytest.mark.parametrize("kind", ["fifo", "loop", "zero", "devnull"])
def test_cohort_path_that_is_not_a_folder_or_file(tmp_path, kind):
    path = tmp_path / "cohort"
    if kind == "devnull":
        path = Path("/dev/null")
    else:
        _special(kind, path)
    report = cohort.validate(path)
    assert report.exit_code == 2
    assert report.findings["rule"].tolist() == ["file_unreadable"]


def test_parquet_list_column_has_rows(example):
    m = pd.read_csv(example / "measurements.csv")
    m["value"] = [[v] if i in (2, 5) else v for i, v in enumerate(m["value"])]
    m["value"] = m["value"].map(lambda v: v if isinstance(v, list) else [v])
    (example / "measurements.csv").unlink()
    m.to_parquet(example / "measurements.parquet")
    f = cohort.validate(example).findings
    t = f[f["rule"] == "type"]
    assert len(t) == len(m)
    assert t["row"].tolist() == list(range(1, len(m) + 1))
    assert set(t["column"]) == {"value"} and set(t["file"]) == {"measurements.parquet"}
    assert t["value"].iloc[0] == str([m["value"].iloc[0][0]])


# ------------------------------------------------------------------------- fuzzing the reader

_HEADER = "subject_id,day,param,value,unit,visit"
_TOKENS = st.sampled_from(["S01", "S02", "-7", "90", "HBA1C", "CPEP_FAST", "7.8", "0.2",
                           "%", "nmol/L", "baseline", "", ",", ";", "\t", '"', '""', "\n",
                           "\r\n", "\r", " ", "\x00", "\x1b[2J", "é", "\ufeff", "NA", "1e309"])
_CELL_RULES = {"type", "not_null", "allowed_values", "range", "duplicate_key", "unknown_param",
               "unknown_unit", "unit_not_accepted", "unit_mismatch", "plausible_range",
               "unknown_subject", "after_last_contact", "similar_id"}


def _check_report(folder: Path, data: bytes) -> None:
    report = cohort.validate(folder)
    assert report.exit_code in (0, 1, 2)
    assert (folder / "measurements.csv").read_bytes() == data  # never modified
    for f in report.findings.itertuples():
        if f.rule not in ("missing_table", "treated_without_infusion"):
            assert f.file, f
        if f.rule in _CELL_RULES:
            assert f.row == f.row and f.row is not None and f.column, f  # not NaN/None


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(st.lists(_TOKENS, max_size=60), st.booleans())
def test_fuzz_csv_text(tmp_path_factory, tokens, with_header):
    folder = tmp_path_factory.mktemp("fuzz") / "c"
    shutil.copytree(EXAMPLE, folder)
    data = ((_HEADER + "\n") if with_header else "").encode() + "".join(tokens).encode()
    (folder / "measurements.csv").write_bytes(data)
    _check_report(folder, data)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=300))
def test_fuzz_csv_bytes(tmp_path_factory, tail):
    folder = tmp_path_factory.mktemp("fuzz") / "c"
    shutil.copytree(EXAMPLE, folder)
    data = (_HEADER + "\n").encode() + tail
    (folder / "measurements.csv").write_bytes(data)
    _check_report(folder, data)

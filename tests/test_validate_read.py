"""Reading files: CSV quirks (BOM, CRLF, blank lines, quoted line breaks, short lines), Excel
sheets that do not start at A1, Parquet records, duplicated and unreadable tables, and the
Python API (load_cohort, from_frames, source_of)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

import cohort
from cohort.errors import InvalidCohortError

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "example"


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "cohort"
    shutil.copytree(EXAMPLE, dest)
    (dest / "README.md").unlink()
    return dest


def _where(report) -> list[tuple]:
    f = report.findings.astype(object).where(report.findings.notna(), None)
    return list(zip(f["rule"], f["table"], f["file"], f["row"], f["column"], strict=True))


def _break_value(path: Path, old: str, new: str) -> None:
    text = path.read_bytes().decode("utf-8")
    assert text.count(old) == 1, old
    path.write_bytes(text.replace(old, new).encode("utf-8"))


# ------------------------------------------------------------------------------------- CSV


def test_bom_and_crlf_are_read_and_lines_stay_right(tmp_path):
    folder = _copy(tmp_path)
    for path in folder.glob("*.csv"):
        data = path.read_bytes().replace(b"\n", b"\r\n")
        path.write_bytes(b"\xef\xbb\xbf" + data)
    assert cohort.validate(folder).findings.empty
    _break_value(folder / "measurements.csv", "S01,90,HBA1C,7.1,", "S01,90,HBA1C,x,")
    assert _where(cohort.validate(folder)) == [
        ("type", "measurements", "measurements.csv", 6, "value")]


def test_blank_lines_are_skipped_without_shifting_lines(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "measurements.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    # a blank line after line 3, an all-empty line (as spreadsheets write) after line 5,
    # and blank lines at the end
    lines = [*lines[:3], "", *lines[3:5], ",,,,,", *lines[5:], "", ""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    c = cohort.load_cohort(folder)
    assert len(c.measurements) == 102
    assert c.source_of("measurements", 2) == ("measurements.csv", 5)
    assert c.source_of("measurements", 4) == ("measurements.csv", 8)
    _break_value(path, "S01,90,HBA1C,7.1,", "S01,90,HBA1C,x,")
    assert _where(cohort.validate(folder)) == [
        ("type", "measurements", "measurements.csv", 8, "value")]


def test_quoted_line_breaks_do_not_shift_later_lines(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "adverse_events.csv"
    _break_value(path, "S01,Fever,", 'S01,"Fever,\nnight sweats",')
    _break_value(path, "S05,Hypoglycaemia,120,moderate", "S05,Hypoglycaemia,120,bad")
    report = cohort.validate(folder)
    # the S05 event is on line 5 of the file (its record is the third)
    assert _where(report) == [
        ("allowed_values", "adverse_events", "adverse_events.csv", 5, "severity")]
    _break_value(path, "S05,Hypoglycaemia,120,bad", "S05,Hypoglycaemia,120,moderate")
    c = cohort.load_cohort(folder)
    assert c.adverse_events["term"].iloc[0] == "Fever,\nnight sweats"
    assert [c.source_of("adverse_events", i)[1] for i in range(3)] == [2, 4, 5]


def test_a_short_line_is_reported_not_padded(tmp_path):
    folder = _copy(tmp_path)
    # the last field missing: polars would pad it with an empty value without a word
    _break_value(folder / "infusions.csv", "S06,1,0,placebo,none,intravenous,0,0",
                 "S06,1,0,placebo,none,intravenous,0")
    report = cohort.validate(folder)
    assert report.exit_code == 2
    assert _where(report) == [("file_unreadable", "infusions", "infusions.csv", 7, None)]
    assert report.findings["message"].iloc[0] == (
        "line 7 of infusions.csv has 7 fields but the header has 8; check for a missing field "
        "(the table is not read until every line has as many fields as the header)")


def test_a_short_line_after_a_quoted_line_break(tmp_path):
    folder = _copy(tmp_path)
    _break_value(folder / "adverse_events.csv", "S01,Fever,", 'S01,"Fever\nand chills",')
    _break_value(folder / "adverse_events.csv", "S02,Headache,91,mild,false,false",
                 "S02,Headache,91,mild,false")
    assert _where(cohort.validate(folder)) == [
        ("file_unreadable", "adverse_events", "adverse_events.csv", 4, None)]


def test_a_long_line_in_a_quoted_file(tmp_path):
    folder = _copy(tmp_path)
    _break_value(folder / "adverse_events.csv", "S01,Fever,", 'S01,"Fever, high",')
    _break_value(folder / "adverse_events.csv", "S02,Headache,", "S02,Headache,x,")
    report = cohort.validate(folder)
    assert _where(report) == [("file_unreadable", "adverse_events", "adverse_events.csv", 3,
                               None)]
    assert "7 fields but the header has 6; check for an unquoted delimiter" in \
        report.findings["message"].iloc[0]


@pytest.mark.parametrize(("old", "new", "line", "column", "says"), [
    # a stray quote: an odd number of quotes in the file
    ("S02,Headache,", 'S02,Head"ache,', 4, "term", "inside a field"),
    # two of them (inch marks): the quotes pair up, wrongly
    ("S02,Headache,91,mild", 'S02,Headache 5",91,mild 2"', 4, "term", "inside a field"),
    ("S02,Headache,", 'S02,"Head"ache,', 4, "term", "after the closing quote"),
    ("S02,Headache,", 'S02,"Headache,', 4, "term", "never closes"),
])
def test_a_broken_quote_is_named_by_line_and_column(tmp_path, old, new, line, column, says):
    folder = _copy(tmp_path)
    # a quoted line break first (its quotes pair up, and shift the lines after it)
    _break_value(folder / "adverse_events.csv", "S01,Fever,", 'S01,"Fever\nand chills",')
    _break_value(folder / "adverse_events.csv", old, new)
    report = cohort.validate(folder)
    assert report.exit_code == 2
    assert _where(report) == [("file_unreadable", "adverse_events", "adverse_events.csv", line,
                               column)]
    assert report.findings["value"].iloc[0].startswith(new.split(",")[0])
    assert says in report.findings["message"].iloc[0]


@pytest.mark.parametrize(("data", "expected"), [
    (b'a,b\n1,5"x\n2,3\n', (2, 1, "inside")),
    (b'a,b\n1,5"\n2,5"\n', (2, 1, "inside")),  # an even number: they pair up wrongly
    (b'a,b\n1,"x"y\n', (2, 1, "after")),
    (b'a,b\n1,"x\ny"\n2,5"\n3,4\n', (4, 1, "inside")),
    (b'a,b\n1,"x""y",\n2,"open\n3,4\n', (3, 1, "unclosed")),
    # the line starts inside a quoted field: its field is not known
    (b'a,b,c\n1,"x\ny",5"\n', (3, None, "inside")),
    (b'a,b,c\n"1,2",x,"3\n', (2, 2, "unclosed")),
    (b'\xef\xbb\xbf"a",b\n1,2\n', None),
    (b'a,b\r\n"1","2"\r\n"3",4', None),
    (b'a,b\n1,""\n2,""""\n', None),
])
def test_quote_problems_by_hand(data, expected):
    from cohort.io.csv_read import _quote_problem

    found = _quote_problem(data, ",")
    if expected is None:
        assert found is None
        return
    line, start, field, kind = found
    assert (line, field, kind) == expected
    assert data[:start].count(b"\n") == line - 1 and data[start - 1:start] in (b"", b"\n")


def test_a_header_only_file_without_newline(tmp_path):
    folder = _copy(tmp_path)
    (folder / "adverse_events.csv").write_text(
        "subject_id,term,onset_day,severity,serious,related", encoding="utf-8")
    c = cohort.load_cohort(folder)
    assert c.adverse_events.empty


def test_unsupported_and_damaged_files(tmp_path):
    folder = _copy(tmp_path)
    (folder / "labs.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    (folder / "medications.parquet").write_bytes(b"PAR1 not really")
    (folder / "medications.csv").unlink()
    report = cohort.validate(folder)
    assert report.exit_code == 2
    messages = dict(zip(report.findings["file"], report.findings["message"], strict=True))
    assert "save the workbook as .xlsx" in messages["labs.xls"]
    assert "cannot be read as Parquet" in messages["medications.parquet"]


def test_the_same_table_twice_is_one_finding(tmp_path):
    folder = _copy(tmp_path)
    pl.read_csv(folder / "subjects.csv").write_parquet(folder / "subjects.parquet")
    report = cohort.validate(folder)
    # no "missing table" and no cross-table findings as a consequence
    assert _where(report) == [("duplicate_table", "subjects",
                               "subjects.csv, subjects.parquet", None, None)]


def test_an_unreadable_infusions_file_does_not_make_subjects_untreated(tmp_path):
    folder = _copy(tmp_path)
    path = folder / "infusions.csv"
    path.write_bytes(path.read_bytes().replace(b",", b";"))
    assert [r[0] for r in _where(cohort.validate(folder))] == ["delimiter"]


def test_without_an_infusions_table_treated_subjects_are_reported(tmp_path):
    folder = _copy(tmp_path)
    (folder / "infusions.csv").unlink()
    report = cohort.validate(folder)
    assert _where(report) == [("treated_without_infusion", "infusions", None, None, None)]
    assert "3 subjects receive cells" in report.findings["message"].iloc[0]


# ------------------------------------------------------------------------- Excel and Parquet


def _workbook(folder: Path, name: str = "cohort.xlsx", offset_rows: int = 0,
              title: str | None = None) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for path in sorted(folder.glob("*.csv")):
        ws = wb.create_sheet(path.stem)
        if title:
            ws.append([title])
        for _ in range(offset_rows):
            ws.append([])
        frame = pl.read_csv(path, infer_schema=False)
        ws.append(frame.columns)
        for row in frame.iter_rows():
            ws.append([_excel_value(v) for v in row])
        path.unlink()
    out = folder / name
    wb.save(out)
    return out


def _excel_value(text: str | None):
    if text is None:
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def test_a_workbook_with_a_sheet_per_table(tmp_path):
    folder = _copy(tmp_path)
    book = _workbook(folder)
    for path in (folder, book):  # the folder, or the workbook itself
        report = cohort.validate(path)
        assert report.findings.empty, report.findings.to_string()
    c = cohort.load_cohort(book)
    np.testing.assert_allclose(c.measurements["value"], cohort.load_cohort(EXAMPLE)
                               .measurements["value"], rtol=1e-12)
    assert c.source_of("measurements", 4) == ("cohort.xlsx[measurements]", 6)


def test_a_sheet_that_does_not_start_on_row_1(tmp_path):
    folder = _copy(tmp_path)
    _break_value(folder / "measurements.csv", "S01,90,HBA1C,7.1,", "S01,90,HBA1C,x,")
    book = _workbook(folder, title="Exported from the lab system", offset_rows=2)
    # header on sheet row 4, so data row 5 of the CSV (line 6) is sheet row 9
    assert _where(cohort.validate(book)) == [
        ("type", "measurements", "cohort.xlsx[measurements]", 9, "value")]


def test_excel_dates_in_day_columns(tmp_path):
    import datetime as dt

    import openpyxl

    folder = _copy(tmp_path)
    book = _workbook(folder)
    wb = openpyxl.load_workbook(book)
    wb["measurements"]["B6"] = dt.datetime(2021, 4, 1)
    wb.save(book)
    assert _where(cohort.validate(book)) == [
        ("date_in_day_column", "measurements", "cohort.xlsx[measurements]", 6, "day")]


def test_excel_column_without_header(tmp_path):
    import openpyxl

    folder = _copy(tmp_path)
    book = _workbook(folder)
    wb = openpyxl.load_workbook(book)
    wb["subjects"]["P3"] = "stray"
    wb.save(book)
    assert _where(cohort.validate(book)) == [
        ("missing_header", "subjects", "cohort.xlsx[subjects]", 1, "#16")]


def test_parquet_records_are_numbered_from_1(tmp_path):
    folder = _copy(tmp_path)
    frame = pl.read_csv(folder / "measurements.csv")
    frame = frame.with_columns(pl.when(pl.int_range(pl.len()) == 4).then(None)
                               .otherwise(pl.col("value")).alias("value"))
    frame.write_parquet(folder / "measurements.parquet")
    (folder / "measurements.csv").unlink()
    report = cohort.validate(folder)
    assert _where(report) == [("not_null", "measurements", "measurements.parquet", 5, "value")]


@pytest.mark.parametrize("engine", ["pandas", "polars"])
def test_parquet_nan_is_a_missing_value_in_both_engines(tmp_path, engine):
    folder = _copy(tmp_path)
    frame = pl.read_csv(folder / "subjects.csv")
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(float("nan")).otherwise(pl.col("weight_kg"))
        .alias("weight_kg"),
        pl.when(pl.int_range(pl.len()) == 2).then(float("nan")).otherwise(
            pl.col("age_years").cast(pl.Float64)).alias("age_years"))
    frame.write_parquet(folder / "subjects.parquet")
    (folder / "subjects.csv").unlink()
    c = cohort.load_cohort(folder, engine=engine)
    assert c.subjects["weight_kg"].isna().tolist() == [False, True, False, False, False, False]
    assert pd.isna(c.subjects["age_years"].iloc[2])


# ------------------------------------------------------------------------------ Python API


def test_load_cohort_raises_with_the_report(tmp_path):
    with pytest.raises(InvalidCohortError, match=r"breaks the data contract \(1 errors; .*\n"
                                                 r"  measurements measurements.csv row 6 value: "
                                                 r"HBA1C 53 % is implausible") as info:
        cohort.load_cohort(DATA / "broken" / "unit_mismatch_hba1c")
    assert info.value.report.exit_code == 1


def test_from_frames_validates_in_memory_tables():
    c = cohort.load_cohort(EXAMPLE)
    again = cohort.from_frames({"subjects": c.subjects, "measurements": c.measurements,
                                "infusions": c.infusions})
    pd.testing.assert_frame_equal(again.measurements, c.measurements)
    assert again.conversions.empty  # already canonical: nothing converted a second time
    bad = c.subjects.copy()
    bad.loc[2, "sex"] = "X"
    with pytest.raises(InvalidCohortError, match=r"subjects <subjects DataFrame> row 3 sex: "
                                                 r"sex X is not an allowed code"):
        cohort.from_frames({"subjects": bad, "measurements": c.measurements,
                            "infusions": c.infusions})
    with pytest.raises(InvalidCohortError, match="unknown table 'labs'"):
        cohort.from_frames({"labs": bad})


def test_loaded_tables_have_the_contract_dtypes():
    c = cohort.load_cohort(EXAMPLE)
    assert str(c.subjects["subject_id"].dtype) == "string"
    assert str(c.subjects["control"].dtype) == "boolean"
    assert str(c.measurements["day"].dtype) == "Int64"
    assert str(c.measurements["value"].dtype) == "float64"
    assert list(c.medications.columns) == [
        "subject_id", "drug_class", "start_day", "end_day", "daily_dose", "unit"]
    assert [s.name for s in c.files] == ["subjects.csv", "infusions.csv", "measurements.csv",
                                         "adverse_events.csv", "medications.csv"]
    assert all(len(s.sha256) == 64 for s in c.files)

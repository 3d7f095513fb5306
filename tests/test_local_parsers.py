"""Property and case tests of the parsers a mapping uses on real exports: dates in declared
formats, censored laboratory values, typed codes (hypothesis, derandomised)."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.io.censored import Censored, censored_parts, parse_censored
from cohort.io.codes import code_expr, codes, visible, visible_text
from cohort.io.dates import MISSING_TOKENS, check_format, date_expr

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)
DATES = st.dates(min_value=date(1850, 1, 1), max_value=date(2200, 12, 31))
PATTERNS = ["%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y%m%d", "%d-%m-%Y", "%d %b %Y",
            "%d/%m/%y"]


def _parse(cells: list, formats: list[str], dtype=pl.String) -> list:
    frame = pl.DataFrame({"d": cells}, schema={"d": dtype})
    return frame.select(date_expr(frame, "d", formats)).to_series().to_list()


@SETTINGS
@given(day=DATES, fmt=st.sampled_from(PATTERNS), pad=st.sampled_from(["", " ", "\u00a0"]))
def test_a_date_written_in_its_declared_format_reads_back(day, fmt, pad):
    if "%y" in fmt and not date(1969, 1, 1) <= day <= date(2068, 12, 31):
        return  # two-digit years stand for 1969-2068 (POSIX)
    assert _parse([f"{pad}{day.strftime(fmt)}{pad}"], [fmt]) == [day]


@SETTINGS
@given(day=DATES)
def test_iso_and_date9_need_no_declaration(day):
    assert _parse([day.isoformat(), day.strftime("%d%b%Y").upper(),
                   f"{day.isoformat()}T10:30:00"], []) == [day, day, day]


@SETTINGS
@given(day=st.dates(min_value=date(1900, 3, 1), max_value=date(2200, 12, 31)),
       fraction=st.floats(0, 0.999))
def test_excel_serial_days(day, fraction):
    serial = (day - date(1899, 12, 30)).days
    assert _parse([str(serial), f"{serial + fraction}"], ["excel"]) == [day, day]
    assert _parse([serial], ["excel"], pl.Int64) == [day]


@SETTINGS
@given(day=DATES, seconds=st.integers(0, 86399))
def test_sas_dates_and_datetimes(day, seconds):
    days = (day - date(1960, 1, 1)).days
    assert _parse([str(days)], ["sas_date"]) == [day]
    assert _parse([float(days * 86400 + seconds)], ["sas_datetime"], pl.Float64) == [day]


def test_known_excel_serials_and_time_suffixes():
    # 44562 is 2022-01-01 in Excel's 1900 date system; 61 is 1900-03-01
    assert _parse(["44562", "61", "60"], ["excel"]) == [date(2022, 1, 1), date(1900, 3, 1),
                                                          None]
    assert _parse(["13/04/2021 10:30", "13/04/2021 00:00:00"], ["%d/%m/%Y"]) == [
        date(2021, 4, 13)] * 2


@pytest.mark.parametrize("cell", ["13/04/21", "31/02/2021", "2021-02-30", "x", "", "NA"])
def test_what_is_not_a_date_in_the_declared_format_is_empty(cell):
    # "13/04/21" with %Y would be the year 21: never taken (reported as a two-digit year)
    assert _parse([cell], ["%d/%m/%Y"]) == [None]


@pytest.mark.parametrize(("fmt", "problem"), [
    ("dd/mm/yyyy", "neither a strftime pattern"), ("%d/%m", "full date"),
    ("%d/%q/%Y", "unknown directive"), ("%d/%m/%Y", None), ("excel", None)])
def test_check_format(fmt, problem):
    found = check_format(fmt)
    assert (found is None) if problem is None else (problem in found)


# ---------------------------------------------------------------------------------------------
# censored values

LIMITS = st.decimals(min_value="0.001", max_value="100000", places=3).map(
    lambda d: d.normalize())


@SETTINGS
@given(limit=LIMITS, op=st.sampled_from(["<", ">", "<=", ">=", "≤", "≥"]),
       space=st.sampled_from(["", " ", "  "]))
def test_censored_cells_give_qualifier_and_limit(limit, op, space):
    text = f"{op}{space}{limit:f}"
    parsed = parse_censored(text)
    assert parsed == Censored("<" if op in ("<", "<=", "≤") else ">", float(limit))
    # the polars form (used on files) agrees with the one-cell form
    frame = pl.DataFrame({"v": [text]})
    is_c, qualifier, limit_text = censored_parts(pl.col("v"), ".")
    row = frame.select(is_c.alias("c"), qualifier.alias("q"), limit_text.alias("l")).row(0)
    assert row[0] and row[1] == parsed.qualifier and float(row[2]) == float(limit)


@SETTINGS
@given(value=st.floats(-1e6, 1e6, allow_nan=False))
def test_plain_numbers_are_not_censored(value):
    assert parse_censored(repr(value)) is None
    frame = pl.DataFrame({"v": [repr(value)]})
    assert not frame.select(censored_parts(pl.col("v"), ".")[0]).item()


@pytest.mark.parametrize(("text", "expected"), [
    ("<10", Censored("<", 10.0)), ("< 0.03", Censored("<", 0.03)),
    (">33.3", Censored(">", 33.3)), ("<0,5", Censored("<", 0.5)),
    ("below LOD", Censored("<", None)), ("<LOQ", Censored("<", None)),
    ("BLQ", Censored("<", None)), ("not detected", Censored("<", None)),
    ("10", None), ("<", None), ("< x", None), ("high", None), ("<-5", None)])
def test_censored_cases(text, expected):
    assert parse_censored(text) == expected


# ---------------------------------------------------------------------------------------------
# typed, trimmed codes


@SETTINGS
@given(n=st.integers(-10**9, 10**9), pad=st.sampled_from(["", " ", "  ", "\t", "\u00a0"]))
def test_a_whole_number_is_one_code_however_written(n, pad):
    spellings = [n, float(n), str(n), f"{n}.0", f"{pad}{n}{pad}", f"{n}.00"]
    assert len(set(codes(spellings))) == 1
    frame = pl.DataFrame({"c": [str(s) for s in spellings]})
    assert set(frame.select(code_expr(pl.col("c"))).to_series()) == set(codes([n]))


@SETTINGS
@given(text=st.text(alphabet=st.characters(categories=["L", "N", "P", "Zs"]), max_size=12))
def test_codes_of_text_are_trimmed_and_agree_between_mapping_and_data(text):
    frame = pl.DataFrame({"c": [text]})
    assert frame.select(code_expr(pl.col("c"))).item() == codes([text])[0]
    trimmed = text.strip()
    if trimmed and trimmed not in MISSING_TOKENS:
        assert codes([text]) == codes([trimmed])
    else:
        assert codes([text]) == [None]


def test_codes_cases():
    assert codes([0, 0.0, "0", " 0 ", "0.0", 81, "81.0", "NA", "", None, True, "Female "]) == [
        "0", "0", "0", "0", "0", "81", "81", None, None, None, "true", "Female"]


@SETTINGS
@given(core=st.text(alphabet="abcXYZ", min_size=1, max_size=5),
       left=st.sampled_from(["", " ", "\u00a0"]), right=st.sampled_from(["", " ", "\t"]))
def test_visible_whitespace(core, left, right):
    text = f"{left}{core}{right}"
    shown = pl.DataFrame({"c": [text]}).select(visible(pl.col("c"))).item()
    assert shown == visible_text(text)
    assert shown == (f"'{text}'" if left or right else core)


def test_date_far_outside_the_study_is_not_taken():
    assert _parse(["0021-04-13", "1849-12-31"], []) == [None, None]
    assert _parse([date(1700, 1, 1)], [], pl.Date) == [None]
    assert _parse([date(2000, 1, 1) + timedelta(days=1)], [], pl.Date) == [date(2000, 1, 2)]

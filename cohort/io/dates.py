"""Calendar dates in a user's files: the declared formats, their parsing and what a bad one says.

A date column is read in the formats its mapping declares (``date_format`` for every date
column, ``tables.<t>.date_formats`` per column), always together with the two unambiguous
forms: ISO 8601 (``2021-03-04``, a time part ignored) and SAS DATE9 (``04MAR2021``).
Date-typed cells (Parquet, Excel date cells) need no format. Formats:

``"%d/%m/%Y"`` (any strftime pattern)
    Text dates in that pattern; a time after the date (``13/04/2021 10:30``) is ignored
    unless the pattern has one.
``excel``
    Excel serial day numbers (1900 date system: 44562 is 2022-01-01); a fraction is the time
    of day and is ignored.
``sas_date``
    SAS dates: days since 1960-01-01.
``sas_datetime``
    SAS datetimes: seconds since 1960-01-01 00:00 (the date part is kept).

Dates before 1850 or after 2200 are not taken: a two-digit year read by ``%Y`` (``21`` as the
year 21) is reported, never used. A day-first or month-first date (``13/04/2021``) read
without a declared format is reported with the declaration that reads it.
"""

from __future__ import annotations

import re
from datetime import date

import polars as pl

from cohort.findings import Findings, row_findings

__all__ = ["KEYWORDS", "MISSING_TOKENS", "check_format", "date_expr", "is_empty",
           "report_bad_dates"]

KEYWORDS = {"excel": "Excel serial day numbers", "sas_date": "SAS dates (days since 1960)",
            "sas_datetime": "SAS datetimes (seconds since 1960)"}
MISSING_TOKENS = ["", "NA", "N/A", "NaN", "nan"]
"""Cell texts that mean no value (after trimming), in every step: the parser of numbers, dates,
codes compared by keep/recode/derive, drop_empty. Defined here, the lowest module that needs
it; :mod:`cohort.io.parse` uses the same list."""

FIRST = date(1850, 1, 1)
LAST = date(2200, 12, 31)
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01, and Excel counts 1900-02-29
_SAS_EPOCH = date(1960, 1, 1)
_TIME_SUFFIX = r"[ T]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?$"
_DIRECTIVES = set("aAbBcdDeFhHIjmMpSTyYzZ%")


def check_format(fmt: str) -> str | None:
    """Why ``fmt`` is not a usable date format (None when it is)."""
    if fmt in KEYWORDS:
        return None
    if "%" not in fmt:
        return (f"{fmt!r} is neither a strftime pattern (such as '%d/%m/%Y') nor one of "
                f"{', '.join(KEYWORDS)}")
    for directive in re.findall(r"%(.)", fmt):
        if directive not in _DIRECTIVES:
            return f"{fmt!r} has an unknown directive %{directive}"
    if not ({"d", "e", "j"} & set(re.findall(r"%(.)", fmt))) or not (
            {"Y", "y"} & set(re.findall(r"%(.)", fmt))):
        return f"{fmt!r} does not give a full date (it needs a day and a year)"
    return None


def is_empty(expr: pl.Expr) -> pl.Expr:
    """True where a cell holds no value: null, blank or a missing-value token (``NA``)."""
    text = expr.cast(pl.String).str.strip_chars()
    return text.is_null() | text.is_in(MISSING_TOKENS)


def _in_range(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr.is_between(pl.lit(FIRST), pl.lit(LAST))).then(expr)


def _from_days(epoch: date, days: pl.Expr) -> pl.Expr:
    return pl.lit(epoch) + pl.duration(days=days.cast(pl.Int64))


def _numeric_format(fmt: str, number: pl.Expr) -> pl.Expr:
    whole = number.floor()
    if fmt == "excel":
        return pl.when(number >= 61).then(_from_days(_EXCEL_EPOCH, whole))
    if fmt == "sas_date":
        return pl.when(number == whole).then(_from_days(_SAS_EPOCH, whole))
    return _from_days(_SAS_EPOCH, (number / 86400).floor())


def date_expr(frame: pl.DataFrame, col: str, formats: list[str] | tuple[str, ...] = ()
              ) -> pl.Expr:
    """Column ``col`` of ``frame`` as dates (null where a cell is empty or not a date).

    Parameters
    ----------
    frame : polars.DataFrame
        The table as read (text cells, or typed cells from Parquet or Excel).
    col : str
        The date column.
    formats : sequence of str
        Declared formats (strftime patterns or :data:`KEYWORDS`), tried in order after
        ISO 8601 and SAS DATE9.
    """
    dtype = frame.schema[col]
    if dtype == pl.Date:
        return _in_range(pl.col(col))
    if isinstance(dtype, pl.Datetime):
        return _in_range(pl.col(col).dt.date())
    if dtype.is_numeric():
        number = pl.col(col).cast(pl.Float64)
        parts = [_numeric_format(f, number) for f in formats if f in KEYWORDS]
        return _in_range(pl.coalesce(parts)) if parts else pl.lit(None, dtype=pl.Date)
    text = pl.col(col).cast(pl.String).str.strip_chars()
    iso = text.str.contains(r"^\d{4}-\d{2}-\d{2}([ T].*)?$")
    parts = [pl.when(iso).then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)),
             text.str.to_date("%d%b%Y", strict=False)]
    number = text.cast(pl.Float64, strict=False)
    for fmt in formats:
        if fmt in KEYWORDS:
            parts.append(_numeric_format(fmt, number))
            continue
        cell = text
        if not re.search(r"%[HIMSTcp]", fmt):
            cell = text.str.replace(_TIME_SUFFIX, "")
        parts.append(cell.str.to_date(fmt, strict=False))
    return _in_range(pl.coalesce(parts))


_SLASHED = r"^(\d{1,2})([/.-])(\d{1,2})[/.-](\d{2,4})"


def _suggestions(cells: pl.Series) -> tuple[str, str, str]:
    """(order, day-first pattern, month-first pattern) for the d/m/y cells of a column.

    The whole column decides: one 13/04/2021 makes every such cell of it day-first.
    """
    parts = cells.cast(pl.String).str.strip_chars().str.extract_groups(_SLASHED)
    first = parts.struct.field("1").cast(pl.Int64, strict=False)
    second = parts.struct.field("3").cast(pl.Int64, strict=False)
    seps = parts.struct.field("2").drop_nulls()
    sep = seps.mode().sort()[0] if seps.len() else "/"
    years = parts.struct.field("4").drop_nulls().str.len_chars()
    y = "y" if years.len() and int(years.max()) == 2 else "Y"
    day_first, month_first = bool(first.gt(12).any()), bool(second.gt(12).any())
    order = ("day-first" if day_first and not month_first else
             "month-first" if month_first and not day_first else "ambiguous")
    return order, f"%d{sep}%m{sep}%{y}", f"%m{sep}%d{sep}%{y}"


def _text(*parts: str | pl.Expr) -> pl.Expr:
    # messages hold user text (column names, formats with braces): never a format string
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def _hint(frame: pl.DataFrame, col: str, formats: list[str] | tuple[str, ...],
          where: str) -> pl.Expr:
    """Per-cell explanation of a date that did not parse, with the declaration that reads it.

    ``where`` is the per-column declaration with ``FORMAT`` where the format goes.
    """
    text = pl.col(col).cast(pl.String).str.strip_chars()
    declared = ", ".join(repr(f) for f in formats)
    accepted = ("ISO 8601 (2021-03-04), SAS DATE9 (04MAR2021)"
                + (f" or the declared format {declared}" if formats else ""))

    def declare(fmt: str) -> str:
        return (f"declare it in the mapping: date_format: '{fmt}' (every date column) or "
                + where.replace("FORMAT", f"'{fmt}'"))

    order, dmy, mdy = _suggestions(frame.get_column(col))
    if order == "day-first":
        slashed = f"is a day-first date; {declare(dmy)}"
    elif order == "month-first":
        slashed = f"is a month-first date; {declare(mdy)}"
    else:
        slashed = (f"is ambiguous: day-first or month-first (no cell of {col} has a day above 12 "
                   f"to tell): {declare(dmy)}, or '{mdy}' for month-first")
    if formats:
        slashed = f"is not in the declared format {declared}"
    number = text.cast(pl.Float64, strict=False)
    serial = pl.lit(_EXCEL_EPOCH) + pl.duration(
        days=number.floor().cast(pl.Int64, strict=False))
    excel = _text(text, " looks like an Excel serial date (", serial.cast(pl.String), "); ",
                  declare("excel"))
    two_digit = _text(text, " has a two-digit year, which %Y reads as the year ",
                      text.str.extract(r"(\d+)\s*$", 1), ": declare %y for two-digit years")
    y4 = any("%Y" in f for f in formats)
    return (pl.when(pl.lit(y4) & text.str.contains(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}$"))
            .then(two_digit)
            .when(text.str.contains(_SLASHED))
            .then(_text(text, " ", slashed))
            .when(pl.lit("excel" not in formats) & number.is_between(20000, 80000))
            .then(excel)
            .otherwise(_text(text, f" is not a date in the accepted forms: {accepted}")))


def report_bad_dates(frame: pl.DataFrame, col: str, table: str, formats: list[str],
                     findings: Findings, *, where: str) -> pl.Series:
    """Report every non-empty cell of ``col`` that is not a date; return the bad-row mask.

    ``where`` names the per-column declaration for the message, with ``FORMAT`` where the
    format goes (``"tables.measurements.date_formats: {VISIT_DATE: FORMAT}"``).
    """
    parsed = date_expr(frame, col, formats)
    bad = frame.select((~is_empty(pl.col(col)) & parsed.is_null()).alias("__bad")) \
        .get_column("__bad")
    if bad.any():
        rows = frame.filter(bad)
        findings.add_frame(row_findings(
            rows, table=table, column=col, rule="date",
            value=pl.col(col).cast(pl.String),
            message=_hint(rows, col, formats, where)))
    return bad

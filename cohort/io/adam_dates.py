"""Dates and study days of ADaM datasets (used by :mod:`cohort.io.adam`).

ADaM date variables arrive SAS-typed (``.xpt``, ``.sas7bdat``), as ISO 8601 or DATE9 text
(CSV, Dataset-JSON) or as unformatted SAS numbers; study days are counted from each subject's
day 0, or taken from ADaM's own study days (no day 0) for records without a date.
"""

from __future__ import annotations

import re

import polars as pl

from cohort.findings import Findings, row_findings
from cohort.io.read import RawTable

__all__ = ["bad_dates", "date_of", "day_of", "day_zero", "latest_record",
           "subject_dates", "text"]

_SAS_EPOCH = pl.date(1960, 1, 1)
_EMPTY_TEXT = ("", "NA", "N/A", ".")
_DATE_NAME = re.compile(r"^[A-Z0-9_]*DTM?$")


def text(col: str) -> pl.Expr:
    """A column as trimmed text, with the usual spellings of "missing" as null."""
    value = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.when(value.is_in(list(_EMPTY_TEXT))).then(None).otherwise(value)


def date_of(frame: pl.DataFrame, col: str) -> pl.Expr:
    """A date variable as dates: SAS-typed, ISO 8601 text (time ignored), DATE9 text, or an
    unformatted SAS number (days since 1960-01-01; seconds for ``*DTM``)."""
    dtype = frame.schema[col]
    if dtype == pl.Date:
        return pl.col(col)
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.date()
    if dtype.is_numeric():
        days = pl.col(col).cast(pl.Float64)
        if col.upper().endswith("DTM"):
            days = days / 86400.0
        return _SAS_EPOCH + pl.duration(days=days.floor().cast(pl.Int64))
    value = text(col)
    return pl.coalesce(value.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
                       value.str.to_date("%d%b%Y", strict=False))


def bad_dates(frame: pl.DataFrame, col: str, table: str, findings: Findings) -> None:
    bad = frame.filter(text(col).is_not_null() & date_of(frame, col).is_null())
    findings.add_frame(row_findings(
        bad, table=table, column=col, rule="date", value=pl.col(col).cast(pl.String),
        message=f"{col} is not a date (ISO 8601 YYYY-MM-DD, SAS DATE9 such as 04MAR2021, or a "
                "SAS date value)"))


def subject_dates(adsl: pl.DataFrame, variables: list[str]) -> pl.DataFrame:
    """Per subject: the first of ``variables`` with a date (``__date``) and its name
    (``__from``)."""
    present = [v for v in variables if v in adsl.columns]
    if not present:
        return pl.DataFrame(schema={"__sid": pl.String, "__date": pl.Date, "__from": pl.String})
    dates = [date_of(adsl, v) for v in present]
    source = pl.when(dates[0].is_not_null()).then(pl.lit(present[0]))
    for v, d in zip(present[1:], dates[1:], strict=True):
        source = source.when(d.is_not_null()).then(pl.lit(v))
    return adsl.select(text("USUBJID").alias("__sid"), pl.coalesce(dates).alias("__date"),
                       source.otherwise(None).alias("__from")).unique("__sid", keep="first")


def latest_record(raw: dict[str, RawTable]) -> pl.DataFrame:
    """Per subject, the latest date of any ``*DT``/``*DTM`` variable in any dataset."""
    parts = []
    for table in raw.values():
        frame = table.frame
        if "USUBJID" not in frame.columns:
            continue
        cols = [c for c in frame.columns if _DATE_NAME.match(c) and c != "BRTHDT"]
        if not cols:
            continue
        parts.append(frame.select(text("USUBJID").alias("__sid"),
                                  pl.max_horizontal(date_of(frame, c) for c in cols)
                                  .alias("__date")))
    if not parts:
        return pl.DataFrame(schema={"__sid": pl.String, "__date": pl.Date})
    return pl.concat(parts).group_by("__sid").agg(pl.col("__date").max())


def day_of(frame: pl.DataFrame, origin: pl.DataFrame, dates: list[str],
            cdisc_day: str | None) -> pl.DataFrame:
    """Add ``__day``: the first of ``dates`` minus the subject's day 0, else the CDISC day
    ``cdisc_day`` (no day 0); ``__daysrc`` says which, ``__day_zero`` marks a CDISC day 0."""
    present = [d for d in dates if d in frame.columns]
    frame = frame.with_columns(text("USUBJID").alias("__sid")).join(
        origin.select("__sid", pl.col("__date").alias("__origin")), on="__sid", how="left",
        maintain_order="left")
    date = pl.coalesce([date_of(frame, d) for d in present]) if present else pl.lit(
        None, dtype=pl.Date)
    from_date = (date - pl.col("__origin")).dt.total_days()
    ady = pl.lit(None, dtype=pl.Int64)
    raw = pl.lit(None, dtype=pl.Float64)
    # ADaM study days have no day 0: ADY 1 is the reference day, contract day 0
    if cdisc_day is not None and cdisc_day in frame.columns:
        raw = pl.col(cdisc_day).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
        ady = (pl.when(raw >= 1).then(raw - 1).when(raw < 0).then(raw).otherwise(None)
               .round(0).cast(pl.Int64))
    source = (pl.when(from_date.is_not_null())
              .then(pl.lit(f"{' or '.join(present) or 'date'} minus the subject's day 0"))
              .when(ady.is_not_null())
              .then(pl.lit(f"{cdisc_day} (a CDISC study day: day 1 is day 0)"))
              .otherwise(None))
    frame = frame.with_columns(pl.coalesce(from_date, ady).alias("__day"),
                               source.alias("__daysrc"),
                               (from_date.is_null() & (raw == 0)).fill_null(False)
                               .alias("__day_zero"))
    return frame.drop("__sid", "__origin")


def day_zero(frame: pl.DataFrame, table: str, column: str, findings: Findings,
              contract_column: str = "day") -> None:
    """Report records dated only by a CDISC study day 0, which does not exist."""
    zero = frame.filter("__day_zero")
    findings.add_frame(row_findings(
        zero, table=table, column=column, rule="cdisc_day_zero", value=pl.lit("0"),
        message="CDISC study days have no day 0 (the reference day is day 1)"))
    findings.explain(zero, table=table, column=contract_column)

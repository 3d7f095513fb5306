"""Parse cells into the contract's types, reporting every cell that does not parse.

CSV cells arrive as text. A cell that should be a number but reads ``7,5`` or ``high`` is not
coerced to a missing value silently: it becomes a finding with its file, line, column and the
text, and only then a null. ``""``, ``NA``, ``N/A`` and ``NaN`` mean missing in numeric and
boolean columns; an empty cell means missing everywhere.
"""

from __future__ import annotations

import polars as pl

from cohort.contract import ColumnSpec, TableSpec
from cohort.findings import Findings, row_findings

__all__ = ["MISSING_TOKENS", "parse_table"]

MISSING_TOKENS = ["", "NA", "N/A", "NaN", "nan"]
TRUE_TOKENS = ["true", "1"]
FALSE_TOKENS = ["false", "0"]
_DATE_LIKE = r"^\s*(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}|\d{4}/\d{1,2}/\d{1,2})"

POLARS_TYPES = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64,
                "boolean": pl.Boolean}


def _already_typed(dtype: pl.DataType, col: ColumnSpec) -> bool:
    if col.type == "integer":
        return dtype.is_integer()
    if col.type == "number":
        return dtype.is_numeric() and dtype != pl.Boolean
    if col.type == "boolean":
        return dtype == pl.Boolean
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)


def _parse(col: ColumnSpec, decimal: str) -> tuple[pl.Expr, pl.Expr, str]:
    """(cleaned text, parsed value, what was expected) for one column."""
    text = pl.col(col.name).cast(pl.String).str.strip_chars()
    if col.type == "string":
        cleaned = pl.when(text == "").then(None).otherwise(text)
        return cleaned, cleaned, "text"
    cleaned = pl.when(text.is_in(MISSING_TOKENS)).then(None).otherwise(text)
    if col.type == "boolean":
        low = cleaned.str.to_lowercase()
        parsed = (pl.when(low.is_in(TRUE_TOKENS)).then(True)
                  .when(low.is_in(FALSE_TOKENS)).then(False).otherwise(None))
        return cleaned, parsed, "true or false"
    numeric = cleaned.str.replace(",", ".", literal=True) if decimal == "," else cleaned
    as_float = numeric.cast(pl.Float64, strict=False)
    as_float = pl.when(as_float.is_finite()).then(as_float).otherwise(None)
    if col.type == "number":
        return cleaned, as_float, "a number"
    exact = numeric.cast(pl.Int64, strict=False)
    # an integral float (Excel's "3.0") is the integer it shows; anything else is not
    whole = pl.when(as_float == as_float.round(0)).then(as_float.cast(pl.Int64, strict=False))
    return cleaned, pl.coalesce(exact, whole), "a whole number"


def parse_table(frame: pl.DataFrame, spec: TableSpec, *, decimal: str = ".",
                findings: Findings) -> pl.DataFrame:
    """Cast the contract columns of ``frame`` to their contract types.

    Unknown columns are left as they are (the schema reports them). Cells that do not parse
    are reported (``type``, or ``date_in_day_column`` for a date where a study day belongs) and
    become null.
    """
    updates = []
    for col in spec.columns:
        if col.name not in frame.columns:
            continue
        dtype = frame.schema[col.name]
        target = POLARS_TYPES[col.type]
        if _already_typed(dtype, col):
            if dtype != target:
                updates.append(pl.col(col.name).cast(target))
            continue
        if dtype.is_temporal() and col.unit == "study day":
            findings.add_frame(row_findings(
                frame.filter(pl.col(col.name).is_not_null()), table=spec.table,
                column=col.name, rule="date_in_day_column", value=pl.col(col.name),
                message=f"{col.name} holds dates; the contract expects integer study days (day "
                        "0 = first infusion or randomisation): derive them with study_days in a "
                        "mapping file"))
            updates.append(pl.lit(None, dtype=target).alias(col.name))
            continue
        cleaned, parsed, expected = _parse(col, decimal)
        checked = frame.select(cleaned.alias("__text"), parsed.alias("__value"),
                               "__file", "__line")
        if col.type != "string":
            bad = checked.filter(pl.col("__text").is_not_null() & pl.col("__value").is_null())
            if bad.height:
                date_like = pl.col("__text").str.contains(_DATE_LIKE)
                day_col = col.unit == "study day"
                if day_col:
                    findings.add_frame(row_findings(
                        bad.filter(date_like), table=spec.table, column=col.name,
                        rule="date_in_day_column", value=pl.col("__text"),
                        message=f"{col.name} holds a date; the contract expects integer study "
                                "days (day 0 = first infusion or randomisation): derive them "
                                "with study_days in a mapping file"))
                    bad = bad.filter(~date_like)
                hint = ("; the decimal separator is '.', or set csv.decimal: ',' in a mapping"
                        if col.type != "boolean" and decimal == "." else "")
                if col.type == "boolean":
                    hint = "; recode other codes with a mapping file"
                findings.add_frame(row_findings(
                    bad, table=spec.table, column=col.name, rule="type",
                    value=pl.col("__text"),
                    message=f"{col.name} must be {expected}{hint}"))
        updates.append(checked.get_column("__value").cast(target).alias(col.name))
    return frame.with_columns(updates) if updates else frame

"""Parse cells into the contract's types, reporting every cell that does not parse.

CSV cells arrive as text. A cell that should be a number but reads ``7,5`` or ``high`` is not
coerced to a missing value silently: it becomes a finding with its file, line, column and the
text, and only then a null. ``""``, ``NA``, ``N/A`` and ``NaN`` mean missing in numeric and
boolean columns; an empty cell means missing everywhere.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl

from cohort.contract import ColumnSpec, TableSpec
from cohort.findings import Findings, row_findings
from cohort.io.censored import CENSORED_PATTERN, NO_LIMIT_PATTERN
from cohort.io.dates import MISSING_TOKENS

__all__ = ["MISSING_TOKENS", "parse_table"]

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
    """(cleaned text, parsed value, what was expected) for one column: the careful parse."""
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


_DECIMAL_COMMA = r"^[+-]?\d+,\d+$"


def _type_message(col: ColumnSpec, expected: str, decimal: str) -> pl.Expr:
    """Per-cell message for a cell that does not parse, with a hint when one applies."""
    base = f"{col.name} must be {expected}"
    if col.type == "boolean":
        return pl.lit(f"{base} (or 1/0); recode other codes (yes/no, Y/N) with a mapping file")
    text = pl.col("__text")
    if col.name == "value" and col.type == "number":
        censored = (pl.lit(f"{base}; it is a censored value (a limit with < or >): declare how "
                           "to use it with tables.measurements.censored in a mapping file "
                           "(below: half_limit, limit or exclude)"))
        hinted = pl.when(text.str.contains(CENSORED_PATTERN)
                         | text.str.contains(NO_LIMIT_PATTERN)).then(censored)
    else:
        hinted = pl.when(pl.lit(False)).then(pl.lit(base))
    if decimal == "." and col.type in ("number", "integer"):
        return (hinted.when(text.str.contains(_DECIMAL_COMMA))
                .then(pl.lit(f"{base}; it has a decimal comma: set csv.decimal: ',' in a "
                             "mapping file"))
                .otherwise(pl.lit(base)))
    return hinted.otherwise(pl.lit(base))


_FAST_BOOLEAN = {"true": True, "false": False, "1": True, "0": False, "True": True,
                 "False": False, "TRUE": True, "FALSE": False}


def _fast(raw: pl.Series, col: ColumnSpec, decimal: str) -> tuple[pl.Series, pl.Series]:
    """(value, suspicious): a direct parse of clean cells, and the cells it cannot vouch for.

    Most cells of a real file are clean ("7.1", "S01", "true"); parsing them directly costs a
    cast. Only the suspicious ones (empty, padded with spaces, "NaN", "3.0" for a whole number,
    anything that does not parse) go through :func:`_parse`, which cleans, parses and explains.
    """
    raw = raw.cast(pl.String)
    if col.type == "string":
        # white space at either end as str.strip_chars sees it (Unicode: a no-break space from
        # Excel, a stray carriage return), not only spaces and tabs. Text columns hold codes
        # and identifiers, few distinct values: each is checked once, not once per row.
        distinct = raw.unique()
        odd = distinct.filter(distinct.str.contains(r"^\s|\s$") | (distinct == ""))
        if not odd.len():
            return raw, pl.Series(values=[], dtype=pl.Boolean)
        return raw, raw.is_in(odd.implode()).fill_null(False)
    if col.type == "boolean":
        value = raw.replace_strict(_FAST_BOOLEAN, default=None, return_dtype=pl.Boolean)
    elif decimal == ",":
        value = raw.str.replace(",", ".", literal=True).cast(POLARS_TYPES[col.type],
                                                             strict=False)
    else:
        value = raw.cast(POLARS_TYPES[col.type], strict=False)
    failed = raw.is_not_null() & value.is_null()
    if col.type == "number":
        failed = failed | ~value.is_finite().fill_null(True)
    # an empty or padded cell never parses directly (polars' parser takes no white space, and
    # the boolean codes are exact): it is among the failed cells
    return value, failed.fill_null(False)


def _careful(frame: pl.DataFrame, value: pl.Series, suspicious: pl.Series, col: ColumnSpec,
             table: str, decimal: str, findings: Findings) -> pl.Series:
    """Parse the suspicious cells of one text column; report those that do not parse."""
    target = POLARS_TYPES[col.type]
    raw = frame.get_column(col.name).cast(pl.String)
    rows = frame.select("__file", "__line").with_columns(raw, pl.int_range(pl.len(), dtype=pl.Int64)
                                                         .alias("__index")).filter(suspicious)
    cleaned, parsed, expected = _parse(col, decimal)
    checked = rows.select(cleaned.alias("__text"), parsed.alias("__value"), "__file", "__line",
                          "__index")
    if col.type != "string":
        bad = checked.filter(pl.col("__text").is_not_null() & pl.col("__value").is_null())
        if bad.height:
            date_like = pl.col("__text").str.contains(_DATE_LIKE)
            if col.unit == "study day":
                findings.add_frame(row_findings(
                    bad.filter(date_like), table=table, column=col.name,
                    rule="date_in_day_column", value=pl.col("__text"),
                    message=f"{col.name} holds a date; the contract expects integer study days "
                            "(day 0 = first infusion or randomisation): derive them with "
                            "study_days in a mapping file"))
                bad = bad.filter(~date_like)
            findings.add_frame(row_findings(
                bad, table=table, column=col.name, rule="type", value=pl.col("__text"),
                message=_type_message(col, expected, decimal)))
    return value.cast(target).scatter(checked.get_column("__index"),
                                      checked.get_column("__value").cast(target)).alias(col.name)


def _nested(dtype: pl.DataType) -> bool:
    return dtype.is_nested() or dtype in (pl.Binary, pl.Object, pl.Null)


def parse_table(frame: pl.DataFrame, spec: TableSpec, *, decimal: str = ".",
                findings: Findings) -> pl.DataFrame:
    """Cast the contract columns of ``frame`` to their contract types.

    Unknown columns are left as they are (the schema reports them). Cells that do not parse
    are reported (``type``, or ``date_in_day_column`` for a date where a study day belongs) and
    become null. Typed input (Parquet) is taken as it is, except that a floating-point NaN
    means a missing value, as ``NaN`` does in a CSV file.
    """
    updates = []
    text_columns = []
    for col in spec.columns:
        if col.name not in frame.columns:
            continue
        dtype = frame.schema[col.name]
        target = POLARS_TYPES[col.type]
        if dtype == pl.Null:  # a Parquet column with no values at all
            updates.append(pl.lit(None, dtype=target).alias(col.name))
            continue
        if _nested(dtype):
            _nested_findings(frame, col.name, col.type, dtype, spec.table, findings)
            updates.append(pl.lit(None, dtype=target).alias(col.name))
            continue
        if _already_typed(dtype, col) and col.type != "string":
            cast = pl.col(col.name)
            if dtype.is_float():
                cast = cast.fill_nan(None)
            updates.append(cast.cast(target))
            continue
        if dtype.is_temporal() and col.unit == "study day":
            findings.add_frame(row_findings(
                frame.filter(pl.col(col.name).is_not_null()), table=spec.table,
                column=col.name, rule="date_in_day_column",
                value=pl.col(col.name).cast(pl.String),
                message=f"{col.name} holds dates; the contract expects integer study days (day "
                        "0 = first infusion or randomisation): derive them with study_days in a "
                        "mapping file"))
            updates.append(pl.lit(None, dtype=target).alias(col.name))
            continue
        text_columns.append(col)
    # polars releases the GIL: the columns of a large table parse in parallel
    with ThreadPoolExecutor(max_workers=2) as pool:
        fast = list(pool.map(lambda col: _fast(frame.get_column(col.name), col, decimal),
                             text_columns))
    for col, (value, suspicious) in zip(text_columns, fast, strict=True):
        if suspicious.any():
            value = _careful(frame, value, suspicious, col, spec.table, decimal, findings)
        updates.append(value.cast(POLARS_TYPES[col.type]).alias(col.name))
    return frame.with_columns(updates) if updates else frame


def _nested_findings(frame: pl.DataFrame, column: str, expected: str, dtype: pl.DataType,
                     table: str, findings: Findings) -> None:
    """One ``type`` finding per non-empty cell of a list, struct or binary column (Parquet),
    on its row, with the cell as Python prints it."""
    series = frame.get_column(column)
    texts = pl.Series("__value", [None if v is None else str(v)[:200] for v in series.to_list()],
                      dtype=pl.String)
    rows = frame.select("__file", "__line").with_columns(texts).filter(
        pl.col("__value").is_not_null())
    findings.add_frame(row_findings(
        rows, table=table, column=column, rule="type", value=pl.col("__value"),
        message=f"{column} holds {dtype} values (lists, structures or bytes); the contract "
                f"expects {expected} values in plain cells"))

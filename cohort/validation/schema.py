"""Run a table's contract checks and turn their failures into findings.

The checks run natively as polars expressions (:mod:`cohort.validation.checks`, the default)
or through the pandera schemas built from the same contract, on pandera's pandas or polars
backend; all three report the same failures.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import pandas as pd
import polars as pl
import pyarrow as pa

from cohort.contract import Contract, TableSpec, pandas_schema, polars_schema
from cohort.findings import Findings, value_text
from cohort.validation.checks import FAILURE_SCHEMA, contract_failures, duplicated_rows

__all__ = ["Engine", "check_table", "to_pandas"]

Engine = Literal["native", "pandas", "polars"]
"""How the per-table checks run: ``native`` polars expressions, or a pandera backend."""

_ARROW_TO_PANDAS = {
    pa.string(): pd.StringDtype("pyarrow"),
    pa.large_string(): pd.StringDtype("pyarrow"),
    pa.string_view(): pd.StringDtype("pyarrow"),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Convert to pandas with the contract's dtypes (nullable ints, booleans, arrow strings)."""
    categorical = [c for c, t in frame.schema.items() if t == pl.Categorical]
    if categorical:
        frame = frame.with_columns(pl.col(categorical).cast(pl.String))
    return frame.to_arrow().to_pandas(types_mapper=_ARROW_TO_PANDAS.get)


def _rule(check: str) -> str:
    if check.startswith("isin("):
        return "allowed_values"
    if check.startswith("in_range("):
        return "range"
    if check.startswith("dtype("):
        return "type"
    return {
        "not_nullable": "not_null",
        "column_in_schema": "unknown_column",
        "column_in_dataframe": "missing_column",
        "multiple_fields_uniqueness": "duplicate_key",
        "field_uniqueness": "duplicate_key",
    }.get(check, check)


def _failures(frame: pl.DataFrame, spec: TableSpec, contract: Contract,
              engine: Engine) -> pl.DataFrame:
    """The checks' failure cases (pandera's shape): ``check``, ``column``, ``failure_case``,
    ``index``."""
    data = frame.drop("__file", "__line")
    # with a key column missing (reported as such), the rest of the key is not a key
    check_key = all(c in data.columns for c in spec.primary_key)
    where = spec.primary_key_where
    subset_key = check_key and where is not None and where in data.columns
    if subset_key:
        # the key holds among the rows not flagged false: checked here, not by pandera
        check_key = False
    if engine == "native":
        cases = contract_failures(data, spec, check_key=check_key)
    else:
        cases = _pandera_failures(data, spec, contract, engine, check_key)
    if subset_key:
        assert where is not None
        rows = data.with_row_index("__index").filter(pl.col(where).is_null() | pl.col(where))
        dup = duplicated_rows(rows.drop("__index"), list(spec.primary_key))
        cases = pl.concat([cases, dup.with_columns(
            rows.get_column("__index").cast(pl.Int64).gather(dup.get_column("index"))
            .alias("index"))])
    return cases


def _pandera_failures(data: pl.DataFrame, spec: TableSpec, contract: Contract,
                      engine: Engine, check_key: bool) -> pl.DataFrame:
    from pandera.errors import SchemaErrors

    with ThreadPoolExecutor(max_workers=1) as pool:
        duplicated = None
        try:
            if engine == "polars":
                schema = polars_schema(spec.table, contract=contract, check_key=check_key)
                # the key is checked alongside (the same rows as pandera's check, in a
                # fraction of its time on millions of rows)
                key, schema.unique = list(schema.unique or []), None
                if key:
                    duplicated = pool.submit(duplicated_rows, data, key)
                schema.validate(data, lazy=True)
            else:
                pandas_schema(spec.table, contract=contract, check_key=check_key).validate(
                    to_pandas(data), lazy=True)
        except SchemaErrors as exc:
            cases = exc.failure_cases
            if isinstance(cases, pd.DataFrame):
                cases = pl.from_pandas(cases.astype({"failure_case": str, "check": str}).assign(
                    index=pd.to_numeric(cases["index"], errors="coerce").astype("Int64")))
            cases = cases.select(
                pl.col("check").cast(pl.String),
                pl.col("column").cast(pl.String),
                pl.col("failure_case").cast(pl.String),
                pl.col("index").cast(pl.Int64),
            )
        else:
            cases = pl.DataFrame(schema=FAILURE_SCHEMA)
        return pl.concat([cases, duplicated.result()]) if duplicated else cases


_CELL_SCHEMA = {"index": pl.Int64, "column": pl.String, "rule": pl.String}


def _templates(spec: TableSpec) -> pl.DataFrame:
    """Message text before and after the value, per column and rule."""
    rows = []
    for col in spec.columns:
        codes = spec.allowed_codes(col)
        unit = f" {col.unit}" if col.unit else ""
        rows += [
            {"column": col.name, "rule": "not_null", "__before": f"{col.name} is empty",
             "__after": "; a value is required"},
            {"column": col.name, "rule": "allowed_values", "__before": f"{col.name} ",
             "__after": f" is not an allowed code (allowed: {', '.join(codes or [])}); recode "
                        "it with a mapping file"},
            {"column": col.name, "rule": "type", "__before": f"{col.name} ",
             "__after": f" is not of type {col.type}"},
        ]
        if col.range:
            lo, hi = col.range
            kind = "declared" if col.extra else "plausible"
            rows.append({"column": col.name, "rule": "range", "__before": f"{col.name} ",
                         "__after": f" is outside the {kind} range {lo:g} to {hi:g}{unit}"})
    return pl.DataFrame(rows, schema={"column": pl.String, "rule": pl.String,
                                      "__before": pl.String, "__after": pl.String})


def _cell_values(rows: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``__value``: each failing cell as read from ``frame`` (not pandera's rendering)."""
    parts = []
    for col in rows.get_column("column").unique(maintain_order=True).to_list():
        part = rows.filter(pl.col("column") == col)
        if col in frame.columns:
            cells = frame.get_column(col).gather(part.get_column("index"))
            text = (pl.select(value_text(pl.lit(cells))).to_series() if cells.dtype.is_float()
                    else cells.cast(pl.String))
            part = part.with_columns(text.alias("__value"))
        else:
            part = part.with_columns(pl.col("failure_case").alias("__value"))
        parts.append(part)
    return pl.concat(parts)


def check_table(frame: pl.DataFrame, spec: TableSpec, contract: Contract, engine: Engine,
                findings: Findings, *, files: str) -> pl.DataFrame:
    """Check one parsed table against its contract (``engine``: natively or with pandera);
    add findings.

    Returns
    -------
    polars.DataFrame
        The failing cells (``index``: row position in ``frame``, ``column``, ``rule``), so
        that later rules can leave them out instead of reporting their consequences.
    """
    cases = _failures(frame, spec, contract, engine)
    rules = {c: _rule(c) for c in cases.get_column("check").unique().to_list()}
    cases = cases.with_columns(pl.col("check").replace_strict(rules, return_dtype=pl.String)
                               .alias("rule"))
    if not cases.height:
        return pl.DataFrame(schema=_CELL_SCHEMA)
    table = spec.table
    # table-level: missing and unknown columns (pandera puts the column name in failure_case)
    for row in cases.filter(pl.col("index").is_null()).unique(
            ["rule", "column", "failure_case"], maintain_order=True).iter_rows(named=True):
        col = row["failure_case"]
        if row["rule"] == "missing_column":
            findings.add(rule="missing_column", table=table, file=files, row=1, column=col,
                         message=f"required column {col} is missing from {files}; add it or "
                                 "map a column onto it with a mapping file")
        elif row["rule"] == "unknown_column":
            findings.add(rule="unknown_column", table=table, file=files, row=1, column=col,
                         message=f"column {col} is not in the contract for {table}; rename it "
                                 f"with tables.{table}.columns or drop it (drop: or "
                                 "unmapped: drop) in a mapping file")
        else:
            findings.add(rule=row["rule"], table=table, file=files, column=row["column"],
                         value=col, message=f"{row['column']}: the check {row['check']} failed "
                                            f"for the column ({col})")
    rows = cases.filter(pl.col("index").is_not_null())
    if not rows.height:
        return pl.DataFrame(schema=_CELL_SCHEMA)
    # pandera's index is the row position: take the failing rows' provenance by position
    rows = rows.hstack(frame.select("__file", "__line")[rows.get_column("index")]
                       .get_columns())
    keyed = rows.filter(pl.col("rule") == "duplicate_key").unique(
        "index", keep="first", maintain_order=True)
    if keyed.height and spec.primary_key:
        pk = list(spec.primary_key)
        values = frame.select(pk)[keyed.get_column("index")].select(
            pl.concat_str([pl.col(c).cast(pl.String).fill_null("") for c in pk],
                          separator=", ").alias("__key"),
            pl.all_horizontal([pl.col(c).is_not_null() for c in pk]).alias("__complete"))
        # pandera counts empty key cells as equal; an empty cell is reported as such, and a
        # row with an incomplete key is not a duplicate of anything
        keyed = keyed.hstack(values.get_columns()).filter(pl.col("__complete"))
        findings.add_frame(keyed.select(
            pl.lit("error").alias("severity"), pl.lit(table).alias("table"),
            pl.col("__file").cast(pl.String).alias("file"), pl.col("__line").alias("row"),
            pl.lit(" + ".join(pk)).alias("column"), pl.lit("duplicate_key").alias("rule"),
            pl.col("__key").alias("value"),
            pl.format("more than one row for {} = ({}); keep one",
                      pl.lit(", ".join(pk)), pl.col("__key")).alias("message")))
    other = rows.filter(pl.col("rule") != "duplicate_key")
    if not other.height:
        return pl.DataFrame(schema=_CELL_SCHEMA)
    other = _cell_values(other, frame).join(_templates(spec), on=["column", "rule"], how="left",
                                            maintain_order="left")
    value = pl.when(pl.col("rule") == "not_null").then(None).otherwise(pl.col("__value"))
    findings.add_frame(other.select(
        pl.lit("error").alias("severity"), pl.lit(table).alias("table"),
        pl.col("__file").cast(pl.String).alias("file"), pl.col("__line").alias("row"),
        pl.col("column"), pl.col("rule"), value.alias("value"),
        pl.coalesce(pl.concat_str([pl.col("__before"), value.fill_null(""),
                                   pl.col("__after")]),
                    pl.format("{}: the check {} failed", pl.col("column"), pl.col("check")))
        .alias("message")))
    return other.select("index", "column", "rule").cast(_CELL_SCHEMA)  # type: ignore[arg-type]

"""The contract's per-table checks as polars expressions: pandera's failures without pandera.

The checks of a table are few and simple (columns present and known, types, empty cells,
allowed codes, plausible ranges, a unique key), and each is one polars expression over a
column. Run through pandera they cost most of a second of imports before a file is read and,
on 10 million rows, 1.5 CPU seconds of checks that build a frame of failure cases per
check. Here they are evaluated in one pass over the table (polars runs the columns in
parallel) and only the failing rows are gathered.

The result has the shape of pandera's ``SchemaErrors.failure_cases`` (``check``, ``column``,
``failure_case``, ``index``) with pandera's check names, so :mod:`cohort.validation.schema`
turns it into the same findings: ``engine="native"`` and the pandera backends
(``engine="pandas"`` / ``"polars"``, built by :func:`cohort.contract.pandas_schema` and
:func:`~cohort.contract.polars_schema` from the same contract) report the same cells, which
the tests check on the broken cohorts and on random corrupted ones. The semantics are
pandera's: a missing value (null, or NaN in a float column) fails ``not_nullable`` and passes
every other check; ranges are inclusive; integer codes are compared as numbers.
"""

from __future__ import annotations

import polars as pl

from cohort.contract import ColumnSpec, TableSpec

__all__ = ["FAILURE_SCHEMA", "contract_failures", "duplicated_rows"]

FAILURE_SCHEMA = {"check": pl.String, "column": pl.String, "failure_case": pl.String,
                  "index": pl.Int64}
"""Columns of a failure-case frame (pandera's, less its ``schema_context``)."""

_TYPES = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64,
          "boolean": pl.Boolean}


def _table_level(check: str, table: str, case: str) -> dict[str, object]:
    return {"check": check, "column": table, "failure_case": case, "index": None}


def _dtype_name(dtype: pl.DataType) -> str:
    # pandera renders polars dtypes by their class name: dtype('Int64'), 'String'
    return type(dtype).__name__


def _missing(col: ColumnSpec, dtype: pl.DataType) -> pl.Expr:
    expr = pl.col(col.name).is_null()
    return expr | pl.col(col.name).is_nan() if dtype.is_float() else expr


def _checks(spec: TableSpec, col: ColumnSpec) -> list[tuple[str, pl.Expr]]:
    """(pandera's check name, an expression true where a present value fails) per check."""
    out: list[tuple[str, pl.Expr]] = []
    value = pl.col(col.name)
    codes: list[object] | None = spec.allowed_codes(col)  # type: ignore[assignment]
    if codes is not None:
        if col.type == "integer":  # integer codes (declared extras) are compared as numbers
            codes = [int(c) for c in codes]  # type: ignore[call-overload]
        # a missing value is not a failure of the check (pandera's ignore_na)
        out.append((f"isin({codes!r})", (~value.is_in(codes)).fill_null(False)))
    if col.range is not None:
        lo, hi = col.range
        out.append((f"in_range({lo!r}, {hi!r})",
                    (~((value >= lo) & (value <= hi))).fill_null(False)))
    return out


def duplicated_rows(data: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """Failure cases of pandera's ``unique`` check: every row whose key occurs again.

    Empty key cells count as equal, as in pandera. Rows are found by a hash of the key, then
    confirmed by comparing the keys themselves (hashes can collide).
    """
    keys = data.select(key)
    hashes = keys.hash_rows()
    ordered = hashes.sort()
    repeated = ordered.filter(ordered == ordered.shift(1))
    candidates = hashes.is_in(repeated.implode()).arg_true()
    index = candidates.filter(keys[candidates].is_duplicated()).cast(pl.Int64)
    return pl.DataFrame({"index": index}).select(
        pl.lit("multiple_fields_uniqueness", dtype=pl.String).alias("check"),
        pl.lit(None, dtype=pl.String).alias("column"),
        pl.lit(None, dtype=pl.String).alias("failure_case"), pl.col("index"))


def _cell_failures(data: pl.DataFrame,
                   tests: list[tuple[str, str, pl.Expr]]) -> list[pl.DataFrame]:
    """The failing rows of every test, found in one pass over ``data``."""
    if not tests or not data.height:
        return []
    flags = data.select(expr.alias(f"\0{i}") for i, (_, _, expr) in enumerate(tests))
    if not flags.select(pl.any_horizontal(pl.all()).any()).item():
        return []
    out = []
    for i, (check, column, _) in enumerate(tests):
        index = flags.get_column(f"\0{i}").arg_true()
        if not index.len():
            continue
        out.append(pl.DataFrame({"index": index.cast(pl.Int64)}).with_columns(
            pl.lit(check, dtype=pl.String).alias("check"),
            pl.lit(column, dtype=pl.String).alias("column"),
            data.get_column(column).gather(index).cast(pl.String).alias("failure_case")
            if check != "not_nullable" else pl.lit(None, dtype=pl.String)
            .alias("failure_case")).select(list(FAILURE_SCHEMA)))
    return out


def contract_failures(data: pl.DataFrame, spec: TableSpec, *,
                      check_key: bool = True) -> pl.DataFrame:
    """Check ``data`` against its table's contract; the failures as pandera reports them.

    Parameters
    ----------
    data : polars.DataFrame
        A parsed table (contract column names and types), without provenance columns.
    spec : TableSpec
        The table's contract.
    check_key : bool, keyword-only
        Check that the primary key is unique (the caller passes False when a key column is
        missing or the key holds only among some rows).

    Returns
    -------
    polars.DataFrame
        One row per failure (:data:`FAILURE_SCHEMA`): table-level failures (an unknown or a
        missing column, a column of the wrong type) have a null ``index``; cell failures give
        the row position in ``index``. Empty when the table passes.
    """
    table_level: list[dict[str, object]] = []
    known = set(spec.column_names)
    table_level += [_table_level("column_in_schema", spec.table, c)
                    for c in data.columns if c not in known]
    table_level += [_table_level("column_in_dataframe", spec.table, c.name)
                    for c in spec.columns if c.required and not c.added_by_loader
                    and c.name not in data.columns]
    tests: list[tuple[str, str, pl.Expr]] = []
    for col in spec.columns:
        if col.name not in data.columns:
            continue
        dtype = data.schema[col.name]
        if not col.nullable:
            tests.append(("not_nullable", col.name, _missing(col, dtype)))
        if dtype != _TYPES[col.type]:
            table_level.append({"check": f"dtype('{_TYPES[col.type].__name__}')",
                                "column": col.name, "failure_case": _dtype_name(dtype),
                                "index": None})
            continue  # the checks of values of another type say nothing more
        tests += [(check, col.name, expr) for check, expr in _checks(spec, col)]
    parts = [pl.DataFrame(table_level, schema=FAILURE_SCHEMA)]
    parts += _cell_failures(data, tests)
    key = list(spec.primary_key)
    if check_key and key and all(c in data.columns for c in key):
        parts.append(duplicated_rows(data, key))
    return pl.concat(parts)

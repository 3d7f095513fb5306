"""Findings: one row per problem found in a cohort, collected as data.

Every stage (reading, mapping, parsing, unit harmonisation, pandera, cross-table rules) adds
findings instead of raising, so a user sees every problem in one run. Findings are polars frames
with the columns in :data:`FINDING_COLUMNS`; ``row`` is the line a user sees in their editor
(CSV line, Excel row; 1-based record number for Parquet), or null for file- and column-level
findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

__all__ = ["FINDING_COLUMNS", "FINDING_SCHEMA", "READ_RULES", "Findings", "row_findings",
           "value_text"]

Severity = Literal["error", "warning"]

FINDING_SCHEMA = {
    "severity": pl.String,
    "table": pl.String,
    "file": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "rule": pl.String,
    "value": pl.String,
    "message": pl.String,
}
FINDING_COLUMNS = list(FINDING_SCHEMA)

READ_RULES = frozenset({
    "folder_missing", "file_unreadable", "encoding", "delimiter", "mapping",
})
"""Rules meaning the input could not be read at all (exit code 2)."""


@dataclass
class Findings:
    """An append-only collection of findings."""

    _frames: list[pl.DataFrame] = field(default_factory=list)
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _explained: list[pl.DataFrame] = field(default_factory=list)

    def add(self, *, rule: str, message: str, table: str | None = None,
            file: str | None = None, row: int | None = None, column: str | None = None,
            value: Any = None, severity: Severity = "error") -> None:
        """Add one finding."""
        self._rows.append({
            "severity": severity, "table": table, "file": file, "row": row,
            "column": column, "rule": rule,
            "value": None if value is None else str(value), "message": message,
        })

    def _flush(self) -> None:
        # single findings are batched into a frame so that the order of adding is kept
        if self._rows:
            self._frames.append(pl.DataFrame(self._rows, schema=FINDING_SCHEMA))
            self._rows = []

    def add_frame(self, frame: pl.DataFrame) -> None:
        """Add many findings at once (a frame with the :data:`FINDING_COLUMNS`)."""
        if frame.height:
            self._flush()
            self._frames.append(frame.select(
                [pl.col(c).cast(t) for c, t in FINDING_SCHEMA.items()]))

    def extend(self, other: Findings) -> None:
        """Add the findings of ``other`` after these, in their order (for work done apart)."""
        self._flush()
        other._flush()
        self._frames.extend(other._frames)
        self._explained.extend(other._explained)

    def frame(self) -> pl.DataFrame:
        """All findings as one frame, in the order they were added."""
        self._flush()
        if not self._frames:
            return pl.DataFrame(schema=FINDING_SCHEMA)
        return pl.concat(self._frames, how="vertical")

    def explain(self, rows: pl.DataFrame, *, table: str, column: str) -> None:
        """Mark cells whose problems are consequences of a finding already made.

        ``rows`` has the loader's ``__file`` and ``__line``. A later finding on one of these
        cells (say ``not_null`` on a study day that could not be derived because its date was
        bad) is dropped from the report: the user is told the cause once, where it is.
        """
        if rows.height:
            self._explained.append(rows.select(
                pl.lit(table, dtype=pl.String).alias("table"),
                pl.col("__file").cast(pl.String).alias("file"),
                pl.col("__line").cast(pl.Int64).alias("row"),
                pl.lit(column, dtype=pl.String).alias("column")))

    def explained(self) -> pl.DataFrame:
        """The cells marked by :meth:`explain`: ``table``, ``file``, ``row``, ``column``."""
        if not self._explained:
            return pl.DataFrame(schema={"table": pl.String, "file": pl.String, "row": pl.Int64,
                                        "column": pl.String})
        return pl.concat(self._explained).unique()

    def __len__(self) -> int:
        return len(self._rows) + sum(f.height for f in self._frames)


def value_text(values: pl.Expr) -> pl.Expr:
    """Float values as the text a user typed: ``53`` rather than ``53.0``.

    Whole numbers below 1e15 print without a decimal part; other values print as polars
    prints floats (``7.1``, ``0.00001``).
    """
    whole = values.is_finite() & (values == values.round(0)) & (values.abs() < 1e15)
    return (pl.when(whole).then(values.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(values.cast(pl.String)))


def row_findings(rows: pl.DataFrame, *, table: str, column: str | pl.Expr | None, rule: str,
                 value: pl.Expr | None, message: pl.Expr | str,
                 severity: Severity = "error") -> pl.DataFrame:
    """Build findings from ``rows`` (a frame with the loader's ``__file`` and ``__line``).

    ``column``, ``value`` and ``message`` may be polars expressions evaluated per row, so that
    millions of failing rows cost one vectorised pass. Float values are shown as typed
    (:func:`value_text`), text with white space at either end quoted (``'Female '``).
    """
    msg = pl.lit(message) if isinstance(message, str) else message
    col = column if isinstance(column, pl.Expr) else pl.lit(column, dtype=pl.String)
    if value is not None and rows.height:
        dtype = rows.lazy().select(value).collect_schema().dtypes()[0]
        if dtype.is_float():
            value = value_text(value)
        elif dtype == pl.String:
            # white space at either end shown: 'Female ' (an invisible cause is no cause)
            value = pl.when(value != value.str.strip_chars()).then(
                pl.format("'{}'", value)).otherwise(value)
    return rows.select(
        pl.lit(severity).alias("severity"),
        pl.lit(table).alias("table"),
        pl.col("__file").cast(pl.String).alias("file"),
        pl.col("__line").cast(pl.Int64).alias("row"),
        col.cast(pl.String).alias("column"),
        pl.lit(rule).alias("rule"),
        (value.cast(pl.String) if value is not None else pl.lit(None, pl.String)).alias("value"),
        msg.cast(pl.String).alias("message"),
    )

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

__all__ = ["FINDING_COLUMNS", "FINDING_SCHEMA", "READ_RULES", "Findings"]

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

    def frame(self) -> pl.DataFrame:
        """All findings as one frame, in the order they were added."""
        self._flush()
        if not self._frames:
            return pl.DataFrame(schema=FINDING_SCHEMA)
        return pl.concat(self._frames, how="vertical")

    def __len__(self) -> int:
        return len(self._rows) + sum(f.height for f in self._frames)


def row_findings(rows: pl.DataFrame, *, table: str, column: str | None, rule: str,
                 value: pl.Expr | None, message: pl.Expr | str,
                 severity: Severity = "error") -> pl.DataFrame:
    """Build findings from ``rows`` (a frame with the loader's ``__file`` and ``__line``).

    ``value`` and ``message`` are polars expressions evaluated per row, so that millions of
    failing rows cost one vectorised pass.
    """
    msg = pl.lit(message) if isinstance(message, str) else message
    return rows.select(
        pl.lit(severity).alias("severity"),
        pl.lit(table).alias("table"),
        pl.col("__file").cast(pl.String).alias("file"),
        pl.col("__line").cast(pl.Int64).alias("row"),
        pl.lit(column, dtype=pl.String).alias("column"),
        pl.lit(rule).alias("rule"),
        (value.cast(pl.String) if value is not None else pl.lit(None, pl.String)).alias("value"),
        msg.cast(pl.String).alias("message"),
    )

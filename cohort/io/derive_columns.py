"""Contract columns a mapping computes from other columns, and the log of every derivation.

``tables.subjects.compute: [bmi_kg_m2]`` computes BMI from weight and height
(kg / (cm / 100)^2, rounded to 0.1 kg/m2). Each derivation a mapping applies (study days from
dates, ages, durations, last contact, BMI, censored values) is counted in a
:class:`DerivationLog`, which the validation report lists as ``derivations``, like the unit
conversions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from cohort.findings import Findings, value_text

__all__ = ["DERIVATION_SCHEMA", "DerivationLog", "compute_columns", "scale_columns"]

DERIVATION_SCHEMA = {"table": pl.String, "column": pl.String, "rule": pl.String,
                     "n": pl.Int64}


@dataclass
class DerivationLog:
    """What a mapping derived: one row per (table, column, rule) with the rows it gave."""

    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, table: str, column: str, rule: str, n: int) -> None:
        """Record that ``rule`` gave ``n`` values of ``table.column``."""
        self.rows.append({"table": table, "column": column, "rule": rule, "n": int(n)})

    def frame(self) -> pl.DataFrame:
        """The log as a frame: ``table``, ``column``, ``rule``, ``n``."""
        return pl.DataFrame(self.rows, schema=DERIVATION_SCHEMA)


def _number(col: str, decimal: str) -> pl.Expr:
    text = pl.col(col).cast(pl.String).str.strip_chars()
    if decimal == ",":
        text = text.str.replace(",", ".", literal=True)
    return text.cast(pl.Float64, strict=False)


def scale_columns(frame: pl.DataFrame, table: str, scale: dict[str, float], *, decimal: str,
                  log: DerivationLog) -> pl.DataFrame:
    """Multiply the columns listed under ``scale`` by their factor (cells that are not numbers
    are left as read, for the parser to report)."""
    for col, factor in scale.items():
        number = _number(col, decimal)
        frame = frame.with_columns(pl.when(number.is_not_null()).then(
            value_text(number * factor)).otherwise(pl.col(col).cast(pl.String)).alias(col))
        log.add(table, col, f"{col} as read x {factor:g} (scale)",
                int(frame.select(number.is_not_null().sum()).item()))
    return frame


def compute_columns(frame: pl.DataFrame, table: str, compute: list[str], *, decimal: str,
                    findings: Findings, log: DerivationLog) -> pl.DataFrame:
    """Add the columns listed under ``compute`` (their inputs were checked by the mapping
    check). A value whose inputs are empty or not numbers is left empty: the inputs are
    reported by the parser, the empty result is not reported again."""
    for col in compute:
        if col == "bmi_kg_m2":
            bmi = (_number("weight_kg", decimal)
                   / (_number("height_cm", decimal) / 100) ** 2).round(1)
            frame = frame.with_columns(pl.when(bmi.is_finite()).then(bmi).alias(col))
            findings.explain(frame.filter(pl.col(col).is_null()), table=table, column=col)
            log.add(table, col, "weight_kg / (height_cm / 100)^2, rounded to 0.1 kg/m2",
                    int(frame.get_column(col).is_not_null().sum()))
    return frame

"""Censored laboratory values: ``<10``, ``< 0.03``, ``>33.3``, ``below LOD``.

A laboratory reports a value outside its measuring range as a limit with a qualifier. Such a
cell is neither a number nor an error: it is parsed into the limit and the qualifier, kept, and
the value the analyses use follows the rule the mapping declares
(``tables.measurements.censored``):

``below: half_limit``
    half the limit (the usual LOD/2 substitution);
``below: limit`` / ``above: limit``
    the limit itself;
``below: exclude`` / ``above: exclude``
    the row is left out, counted in a ``rows_left_out`` warning.

The limit as read stays in ``value_original`` (before unit conversion) and the qualifier in
``qualifier`` (``<`` or ``>``); every rule applied is listed with the derivations of the
validation report, and analyses that use such values say so in their notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from cohort.findings import Findings, row_findings, value_text
from cohort.io.codes import visible
from cohort.io.derive_columns import DerivationLog
from cohort.io.mapping import CensoredSpec

__all__ = ["CENSORED_PATTERN", "NO_LIMIT_PATTERN", "Censored", "apply_censored",
           "censored_parts", "parse_censored"]


def value_text_py(value: float) -> str:
    """A limit as text (``10``, not ``10.0``)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))

CENSORED_PATTERN = r"^(<=?|>=?|≤|≥)\s*([+]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?)$"
"""A qualifier and a limit: ``<10``, ``< 0.03``, ``<=5``, ``>33.3``, ``≤ 0,5``."""

NO_LIMIT_PATTERN = (r"(?i)^((<\s*|below\s+|under\s+|less than\s+)(the\s+)?"
                    r"(lod|loq|lloq|detection limit|limit of detection|limit of quantification|"
                    r"detection|quantification)|bld|blq|not detected|undetectable)$")
"""Below-limit texts that give no number: ``below LOD``, ``<LOQ``, ``BLQ``, ``not detected``."""


@dataclass(frozen=True)
class Censored:
    """One parsed cell: qualifier (``<`` or ``>``) and limit (None when the text gives none)."""

    qualifier: str
    limit: float | None


def parse_censored(text: str) -> Censored | None:
    """Parse one cell; None when it is not a censored value (a number, or anything else).

    >>> parse_censored("< 0.03")
    Censored(qualifier='<', limit=0.03)
    >>> parse_censored("below LOD")
    Censored(qualifier='<', limit=None)
    """
    cell = text.strip()
    match = re.match(CENSORED_PATTERN, cell)
    if match:
        number = match.group(2)
        if "," in number:  # a decimal comma: a limit has no thousands separator
            number = number.replace(",", ".")
        try:
            limit = float(number)
        except ValueError:
            return None
        return Censored("<" if match.group(1) in ("<", "<=", "≤") else ">", limit)
    if re.match(NO_LIMIT_PATTERN, cell):
        return Censored("<", None)
    return None


def censored_parts(text: pl.Expr, decimal: str) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(is censored, qualifier, limit as text) of each cell, as polars expressions.

    The limit is text in the file's decimal convention, so that the parser of numbers reads
    (and reports) it as it reads any other value; a below-limit text without a number has a
    null limit.
    """
    cell = text.cast(pl.String).str.strip_chars()
    groups = cell.str.extract_groups(CENSORED_PATTERN)
    op = groups.struct.field("1")
    limit = groups.struct.field("2")
    if decimal != ",":
        # a decimal comma in a limit (< 0,5) is read as a decimal point only in a censored
        # cell, where a thousands separator cannot occur
        limit = pl.when(limit.str.contains(r"^\d+,\d+$")).then(
            limit.str.replace(",", ".", literal=True)).otherwise(limit)
    no_limit = cell.str.contains(NO_LIMIT_PATTERN)
    qualifier = (pl.when(op.is_in(["<", "<=", "≤"])).then(pl.lit("<"))
                 .when(op.is_not_null()).then(pl.lit(">"))
                 .when(no_limit).then(pl.lit("<")))
    return qualifier.is_not_null(), qualifier, limit


_RULE_TEXT = {"half_limit": "half the limit", "limit": "the limit", "exclude": "row left out"}


def apply_censored(frame: pl.DataFrame, spec: CensoredSpec, *, table: str, files: str,
                   decimal: str, findings: Findings, log: DerivationLog) -> pl.DataFrame:
    """Parse the censored cells of ``value`` and apply the declared rule (see the module).

    Adds ``qualifier`` (``<``, ``>`` or empty) and, for censored rows, ``value_original``
    (the limit as read); rows whose rule is ``exclude`` are left out with a ``rows_left_out``
    warning.
    """
    _, qualifier, limit_text = censored_parts(pl.col("value"), decimal)
    frame = frame.with_columns(qualifier.alias("qualifier"), limit_text.alias("__limit"))
    if not frame.select(pl.col("qualifier").is_not_null().any()).item():
        return frame.drop("__limit")
    if spec.limits and "param" in frame.columns:
        declared = pl.col("param").cast(pl.String).str.strip_chars().replace_strict(
            list(spec.limits), [value_text_py(v) for v in spec.limits.values()], default=None,
            return_dtype=pl.String)
        frame = frame.with_columns(pl.coalesce("__limit", pl.when(
            pl.col("qualifier").is_not_null()).then(declared)).alias("__limit"))
    number = pl.col("__limit").str.replace(",", ".", literal=True).cast(pl.Float64,
                                                                        strict=False)
    no_limit = frame.filter(pl.col("qualifier").is_not_null() & number.is_null())
    findings.add_frame(row_findings(
        no_limit, table=table, column="value", rule="censored", value=visible(pl.col("value")),
        message=pl.concat_str([visible(pl.col("value")), pl.lit(
            " is below a limit it does not give; declare the limit per parameter, in the unit "
            "of the row: tables.measurements.censored.limits: {"),
            pl.col("param").cast(pl.String) if "param" in frame.columns else pl.lit("PARAM"),
            pl.lit(": <limit>}")])))
    # the empty value this leaves is the same cell: only this first finding is reported
    rule = pl.when(pl.col("qualifier") == "<").then(pl.lit(spec.below)).otherwise(
        pl.lit(spec.above))
    frame = frame.with_columns(number.alias("__limit_value"), rule.alias("__rule"))
    censored = frame.filter(pl.col("qualifier").is_not_null() & pl.col("__limit_value")
                            .is_not_null())
    counts = censored.group_by(["qualifier", "__rule", *(["param"] if "param" in frame.columns
                                                          else [])]).len()
    for row in counts.sort(pl.all()).iter_rows(named=True):
        side = "below" if row["qualifier"] == "<" else "above"
        param = row.get("param")
        log.add(table, "value", f"{param + ' ' if param else ''}{row['qualifier']}limit "
                f"({side} the measuring range): {_RULE_TEXT[row['__rule']]}", row["len"])
    excluded = pl.col("qualifier").is_not_null() & (pl.col("__rule") == "exclude")
    left = frame.filter(excluded)
    if left.height:
        shown = ", ".join(left.get_column("value").cast(pl.String).unique(maintain_order=True)
                          .head(10).to_list())
        findings.add(rule="rows_left_out", severity="warning", table=table, file=files,
                     column="value", value=str(left.height),
                     message=f"{left.height} rows of {files} were left out because their value "
                             f"is censored ({shown}) and the mapping's censored rule for them "
                             "is exclude")
        frame = frame.filter(~excluded)
    half = pl.col("__rule") == "half_limit"
    used = pl.when(half).then(pl.col("__limit_value") / 2).otherwise(pl.col("__limit_value"))
    is_c = pl.col("qualifier").is_not_null()
    frame = frame.with_columns(
        pl.when(is_c).then(value_text(used)).otherwise(pl.col("value").cast(pl.String))
        .alias("value"),
        pl.when(is_c).then(value_text(pl.col("__limit_value"))).alias("value_original"),
        pl.lit(None, dtype=pl.String).alias("unit_original"))
    return frame.drop("__limit", "__limit_value", "__rule")

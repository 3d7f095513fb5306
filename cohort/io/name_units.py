"""Units written in names: ``HbA1c (mmol/mol)`` as a test name, ``Weight (kg)`` as a column.

Local exports often carry the unit only in a name. The mapping key
``tables.<table>.units_from_names`` lists the contract columns whose unit comes from a name's
trailing parentheses (the same rule the ``adam`` preset applies to ``PARAM``):

* ``param`` (measurements): a test-name value ``"HbA1c (mmol/mol)"`` becomes the parameter
  name ``"HbA1c"`` (so that ``recode`` and ``keep`` list plain names) and its unit
  ``"mmol/mol"`` fills the row's ``unit`` where that is empty; a unit column that says
  otherwise is a ``unit`` error on the row (which one is right cannot be guessed). Values
  without parentheses are left as they are.
* ``value`` (measurements): the unit in the name of the source column mapped onto ``value``
  (``"Result (mmol/mol)"``) fills every empty ``unit``.
* any other contract column with a unit (``weight_kg``, ``height_cm``, ...): the unit in the
  name of the source column mapped onto it must be the contract's unit; another unit is a
  ``mapping`` error (exit 2) saying to convert the column or declare ``scale``.

Each unit taken is listed with the validation output's derivations (parameter, unit and the
rows the mapping kept), as unit conversions are.
"""

from __future__ import annotations

import polars as pl

from cohort.contract import TableSpec
from cohort.findings import Findings, row_findings
from cohort.io.codes import visible
from cohort.io.derive_columns import DerivationLog
from cohort.io.mapping import Mapping, TableMapping
from cohort.io.mapping_check import mapping_problem
from cohort.io.read import RawTable
from cohort.units import canonical_spelling

__all__ = ["UNIT_IN_NAME", "apply_units_from_names", "log_units_from_names", "unit_in_name"]

_NAMED = "__unit_from_name"

UNIT_IN_NAME = r"(?s)^(.*?)\s*\(([^()]+)\)\s*$"
"""A name with a unit in trailing parentheses: group 1 the name, group 2 the unit."""


def unit_in_name(name: str) -> tuple[str, str | None]:
    """Split ``"HbA1c (mmol/mol)"`` into ``("HbA1c", "mmol/mol")``.

    Examples
    --------
    >>> unit_in_name("C-peptide 2h (pmol/L) ")
    ('C-peptide 2h', 'pmol/L')
    >>> unit_in_name("Weight")
    ('Weight', None)
    """
    import re

    m = re.match(UNIT_IN_NAME, name.strip())
    if m is None or not m.group(1).strip() or not m.group(2).strip():
        return name.strip(), None
    return m.group(1).strip(), m.group(2).strip()


def _same_unit(a: str, b: str) -> bool:
    return (canonical_spelling(a) or a.strip().lower()) == (canonical_spelling(b)
                                                             or b.strip().lower())


def apply_units_from_names(frame: pl.DataFrame, name: str, tm: TableMapping, spec: TableSpec,
                           renames: dict[str, str], mapping: Mapping, raw: RawTable,
                           findings: Findings, log: DerivationLog) -> pl.DataFrame | None:
    """Apply ``units_from_names`` to a renamed frame (see the module docstring).

    Returns None when the key itself is wrong (a ``mapping`` finding was added).
    """
    source_of = {dst: src for src, dst in renames.items()}
    ok = True
    for col in tm.units_from_names:
        if col not in spec.column_names:
            mapping_problem(findings, mapping, name, "units_from_names",
                            f"{col!r} is not a contract column of {name}", raw, col)
            ok = False
        elif col == "param" and name == "measurements":
            frame = _from_test_names(frame, source_of.get(col, col), log, findings)
        elif col not in frame.columns or col not in source_of:
            mapping_problem(findings, mapping, name, "units_from_names",
                            f"{col!r} must be a column mapped from a source column whose name "
                            "ends in a unit in parentheses (e.g. 'Weight (kg)': weight_kg)",
                            raw, col)
            ok = False
        else:
            src = source_of[col]
            _, unit = unit_in_name(src)
            if unit is None:
                mapping_problem(findings, mapping, name, "units_from_names",
                                f"{src!r} (mapped onto {col}) has no unit in trailing "
                                "parentheses", raw, src)
                ok = False
            elif col == "value" and name == "measurements":
                frame = _fill_unit(frame, pl.lit(unit))
                log.add(name, "unit", f"{unit}: the name of column {src!r}",
                        frame.height)
            else:
                want = spec.column(col).unit
                if want is None or not _same_unit(unit, want):
                    mapping_problem(findings, mapping, name, "units_from_names",
                                    f"{src!r} gives {col} in {unit}, but {col} is in "
                                    f"{want or 'no unit'}: convert the column, or declare "
                                    f"the factor under scale", raw, src)
                    ok = False
                else:
                    log.add(name, col, f"unit {unit} checked: the name of column {src!r}",
                            int(frame.get_column(col).is_not_null().sum()))
    return frame if ok else None


def _fill_unit(frame: pl.DataFrame, unit: pl.Expr) -> pl.DataFrame:
    if "unit" not in frame.columns:
        return frame.with_columns(unit.alias("unit"))
    given = pl.col("unit").cast(pl.String).str.strip_chars()
    return frame.with_columns(pl.when(given.is_null() | (given == "")).then(unit)
                              .otherwise(pl.col("unit")).alias("unit"))


def _from_test_names(frame: pl.DataFrame, source: str, log: DerivationLog,
                     findings: Findings) -> pl.DataFrame:
    if "param" not in frame.columns:
        return frame
    text = pl.col("param").cast(pl.String)
    split = text.str.strip_chars().str.extract_groups(UNIT_IN_NAME)
    frame = frame.with_columns(split.struct.field("1").alias("__pname"),
                               split.struct.field("2").str.strip_chars().alias("__punit"))
    frame = frame.with_columns(
        pl.when(pl.col("__pname").str.strip_chars().str.len_chars() > 0)
        .then(pl.col("__pname").str.strip_chars()).otherwise(None).alias("__pname"))
    frame = frame.with_columns(
        pl.when(pl.col("__pname").is_null() | (pl.col("__punit").str.len_chars() == 0))
        .then(None).otherwise(pl.col("__punit")).alias("__punit"))
    frame = frame.with_columns(pl.when(pl.col("__punit").is_null()).then(None)
                               .otherwise(pl.col("__pname")).alias("__pname"))
    if "unit" in frame.columns:
        given = pl.col("unit").cast(pl.String).str.strip_chars()
        clash = frame.filter(pl.col("__punit").is_not_null() & given.is_not_null()
                             & (given != ""))
        if clash.height:
            canon = {u: canonical_spelling(u) or u.lower() for u in
                     {*clash.get_column("__punit").to_list(),
                      *clash.select(given).to_series().to_list()}}
            clash = clash.filter(pl.col("__punit").replace_strict(canon, default=None)
                                 != given.replace_strict(canon, default=None))
            findings.add_frame(row_findings(
                clash, table="measurements", column="unit", rule="unit",
                value=visible(pl.col("unit").cast(pl.String)),
                message=pl.format("the unit column says {} but the test name {} says {}; "
                                  "correct one of them", visible(pl.col("unit")
                                                                 .cast(pl.String)),
                                  visible(text), pl.col("__punit"))))
    # counted by log_units_from_names once keep and drop_empty have left rows out
    frame = frame.with_columns(pl.when(pl.col("__punit").is_not_null()).then(pl.format(
        "{} {}: trailing parentheses of {}", pl.col("__pname"), pl.col("__punit"),
        pl.lit(source))).alias(_NAMED))
    frame = _fill_unit(frame, pl.col("__punit"))
    return frame.with_columns(pl.coalesce(pl.col("__pname"), text).alias("param")).drop(
        "__pname", "__punit")


def log_units_from_names(frame: pl.DataFrame, log: DerivationLog) -> pl.DataFrame:
    """Count the units taken from test names on the rows the mapping kept, and drop the
    marker column :func:`apply_units_from_names` added."""
    if _NAMED not in frame.columns:
        return frame
    for rule, n in (frame.filter(pl.col(_NAMED).is_not_null()).group_by(_NAMED).len()
                    .sort(_NAMED).iter_rows()):
        log.add("measurements", "unit", rule, n)
    return frame.drop(_NAMED)

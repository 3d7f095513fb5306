"""Apply a mapping file to raw tables: rename, recode, derive, add constants, derive study days.

Every column a mapping names must exist; a mapping that names a missing column is a
``mapping`` finding (the input cannot be interpreted: exit code 2), never a silent no-op.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cohort.contract import Contract
from cohort.findings import Findings, row_findings
from cohort.io.mapping import Mapping, _scalar_key
from cohort.io.read import RawTable

__all__ = ["apply_mapping", "cdisc_days"]

PRIVATE = ("__file", "__line")


def _text(value: Any) -> str | None:
    return None if value is None else _scalar_key(value)


def _data_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in PRIVATE]


def _mapping_problem(findings: Findings, mapping: Mapping, table: str, key: str,
                     message: str, raw: RawTable | None = None, column: str | None = None) -> None:
    where = mapping.source or "mapping"
    files = ", ".join(s.name for s in raw.sources) if raw and raw.sources else None
    findings.add(rule="mapping", table=table, file=files, column=column,
                 message=f"{where}: tables.{table}.{key}: {message}")


def _date_expr(frame: pl.DataFrame, col: str) -> pl.Expr:
    dtype = frame.schema[col]
    if dtype == pl.Date:
        return pl.col(col)
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.date()
    return pl.col(col).cast(pl.String).str.strip_chars().str.slice(0, 10).str.to_date(
        "%Y-%m-%d", strict=False)


def _bad_dates(frame: pl.DataFrame, col: str, table: str, findings: Findings) -> None:
    bad = frame.filter(pl.col(col).is_not_null() & _date_expr(frame, col).is_null())
    findings.add_frame(row_findings(
        bad, table=table, column=col, rule="date", value=pl.col(col),
        message=f"{col} is not a date in ISO 8601 form (YYYY-MM-DD)"))


def apply_mapping(raw: dict[str, RawTable], mapping: Mapping, contract: Contract,
                  findings: Findings) -> dict[str, pl.DataFrame]:
    """Return one frame per table, with contract column names and codes."""
    reserved: dict[str, set[str]] = {t: set() for t in contract.names}
    if mapping.study_days:
        reserved["subjects"].update(mapping.study_days.origins)
        for key in mapping.study_days.columns:
            table, _, col = key.partition(".")
            if table not in contract.names or not col:
                findings.add(rule="mapping", message=f"{mapping.source}: study_days.columns: "
                             f"{key!r} must be <table>.<date column> with a contract table")
                continue
            reserved[table].add(col)
    out: dict[str, pl.DataFrame] = {}
    for table in mapping.tables:
        if table not in contract.names:
            findings.add(rule="mapping", message=f"{mapping.source}: tables.{table}: not a "
                         f"contract table (tables: {', '.join(contract.names)})")
    for name, table in raw.items():
        spec = contract[name]
        tm = mapping.table(name)
        frame = table.frame
        if frame.width == 0:
            continue
        present = set(_data_columns(frame))
        contract_cols = set(spec.column_names)
        ok = True
        for src, dst in tm.columns.items():
            if src not in present:
                _mapping_problem(findings, mapping, name, "columns",
                                 f"names {src!r}, which is not a column of the file (columns: "
                                 f"{', '.join(sorted(present))})", table, src)
                ok = False
            if dst not in contract_cols:
                _mapping_problem(findings, mapping, name, "columns",
                                 f"maps {src!r} to {dst!r}, which is not a contract column of "
                                 f"{name} (columns: {', '.join(spec.column_names)})", table, dst)
                ok = False
        for col in tm.drop:
            if col not in present:
                _mapping_problem(findings, mapping, name, "drop",
                                 f"names {col!r}, which is not a column of the file", table, col)
                ok = False
        for col in reserved[name]:
            if col not in present:
                _mapping_problem(findings, mapping, name, "study_days",
                                 f"names {col!r}, which is not a column of the file (columns: "
                                 f"{', '.join(sorted(present))})", table, col)
                ok = False
        if not ok:
            continue
        frame = frame.drop(tm.drop).rename(tm.columns)
        after = set(_data_columns(frame))
        for dst, derive in tm.derive.items():
            if derive.from_ not in after:
                _mapping_problem(findings, mapping, name, f"derive.{dst}.from",
                                 f"names {derive.from_!r}, which is not a column", table,
                                 derive.from_)
                ok = False
                continue
            old = list(derive.map)
            new = [_text(v) for v in derive.map.values()]
            frame = frame.with_columns(pl.col(derive.from_).cast(pl.String).replace_strict(
                old, new, default=_text(derive.default), return_dtype=pl.String).alias(dst))
        for col, value in tm.constants.items():
            if col not in contract_cols:
                _mapping_problem(findings, mapping, name, "constants",
                                 f"{col!r} is not a contract column of {name}", table, col)
                ok = False
                continue
            frame = frame.with_columns(pl.lit(_text(value), dtype=pl.String).alias(col))
        for col, values in tm.recode.items():
            if col not in frame.columns:
                _mapping_problem(findings, mapping, name, "recode",
                                 f"names {col!r}, which is not a column after renaming", table,
                                 col)
                ok = False
                continue
            frame = frame.with_columns(pl.col(col).cast(pl.String).replace(
                list(values), [_text(v) for v in values.values()]))
        for col in tm.cdisc_days:
            if col not in contract_cols or spec.column(col).unit != "study day":
                _mapping_problem(findings, mapping, name, "cdisc_days",
                                 f"{col!r} is not a study-day column of {name}", table, col)
                ok = False
        if tm.unmapped == "drop":
            frame = frame.drop([c for c in _data_columns(frame)
                                if c not in contract_cols and c not in reserved[name]])
        if ok:
            out[name] = frame
    if mapping.study_days and "subjects" in out:
        out = _study_days(out, mapping, findings)
    return out


def _study_days(tables: dict[str, pl.DataFrame], mapping: Mapping,
                findings: Findings) -> dict[str, pl.DataFrame]:
    assert mapping.study_days is not None
    subjects = tables["subjects"]
    origins = mapping.study_days.origins
    for col in origins:
        _bad_dates(subjects, col, "subjects", findings)
    origin = subjects.select(
        pl.col("subject_id").cast(pl.String),
        pl.coalesce([_date_expr(subjects, c) for c in origins]).alias("__origin"),
        *PRIVATE)
    missing = origin.filter(pl.col("__origin").is_null())
    findings.add_frame(row_findings(
        missing, table="subjects", column=", ".join(origins), rule="date",
        value=pl.col("subject_id"),
        message=f"no day-0 date: every subject needs one of {', '.join(origins)} to derive "
                "study days"))
    origin = origin.select("subject_id", "__origin").unique("subject_id", keep="first")
    for key, day_col in mapping.study_days.columns.items():
        table, _, col = key.partition(".")
        if table not in tables:
            continue
        frame = tables[table]
        _bad_dates(frame, col, table, findings)
        frame = frame.with_columns(pl.col("subject_id").cast(pl.String)).join(
            origin, on="subject_id", how="left", maintain_order="left")
        frame = frame.with_columns(
            (_date_expr(frame, col) - pl.col("__origin")).dt.total_days().cast(pl.Int64)
            .alias(day_col)).drop(col, "__origin")
        tables[table] = frame
    tables["subjects"] = tables["subjects"].drop(
        [c for c in origins if c in tables["subjects"].columns])
    return tables


def cdisc_days(tables: dict[str, pl.DataFrame], mapping: Mapping,
               findings: Findings) -> dict[str, pl.DataFrame]:
    """Turn CDISC study days (day 1 = reference day, no day 0) into contract days (day 0).

    Applied after parsing, to the columns listed under ``tables.<t>.cdisc_days``.
    """
    for name, frame in tables.items():
        for col in mapping.table(name).cdisc_days:
            if col not in frame.columns or frame.schema[col] != pl.Int64:
                continue
            zero = frame.filter(pl.col(col) == 0)
            findings.add_frame(row_findings(
                zero, table=name, column=col, rule="cdisc_day_zero", value=pl.col(col),
                message="CDISC study days have no day 0 (the reference day is day 1)"))
            frame = frame.with_columns(
                pl.when(pl.col(col) >= 1).then(pl.col(col) - 1).otherwise(pl.col(col))
                .alias(col))
        tables[name] = frame
    return tables

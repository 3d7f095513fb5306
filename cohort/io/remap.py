"""Apply a mapping file to raw tables: rename, recode, derive, add constants, derive study days.

Every column a mapping names must exist; a mapping that names a missing column is a
``mapping`` finding (the input cannot be interpreted: exit code 2), never a silent no-op.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cohort.contract import Contract, TableSpec
from cohort.findings import Findings, row_findings
from cohort.io.mapping import DeriveSpec, Mapping, TableMapping, _scalar_key
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
    """The column as dates: date-typed, ISO 8601 text (``2021-03-04``, time ignored) or SAS
    DATE9 text (``04MAR2021``). Day-first or month-first forms are ambiguous: not accepted."""
    dtype = frame.schema[col]
    if dtype == pl.Date:
        return pl.col(col)
    if isinstance(dtype, pl.Datetime):
        return pl.col(col).dt.date()
    text = pl.col(col).cast(pl.String).str.strip_chars()
    return pl.coalesce(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False),
                       text.str.to_date("%d%b%Y", strict=False))


def _check_names(frame: pl.DataFrame, name: str, tm: TableMapping, spec: TableSpec,
                 reserved: set[str], mapping: Mapping, raw: RawTable,
                 findings: Findings) -> dict[str, str] | None:
    """Check every column a table mapping names; return the renames to apply (or None).

    Columns listed under ``optional`` may be absent: their renames are skipped.
    """
    present = set(_data_columns(frame))
    contract_cols = set(spec.column_names)
    ok = True

    def problem(key: str, message: str, column: str) -> None:
        nonlocal ok
        _mapping_problem(findings, mapping, name, key, message, raw, column)
        ok = False

    listing = ", ".join(sorted(present))
    renames = {}
    for src, dst in tm.columns.items():
        if dst not in contract_cols:
            problem("columns", f"maps {src!r} to {dst!r}, which is not a contract column of "
                    f"{name} (columns: {', '.join(spec.column_names)})", dst)
        elif src not in present:
            if src not in tm.optional:
                problem("columns", f"names {src!r}, which is not a column of the file "
                        f"(columns: {listing}); correct the name, or list it under optional",
                        src)
        elif src in tm.drop:
            problem("drop", f"{src!r} is both renamed (columns) and dropped (drop)", src)
        else:
            renames[src] = dst
    for col in tm.optional:
        if col not in tm.columns:
            problem("optional", f"{col!r} is not a source column named under columns", col)
    targets = list(renames.values())
    for dst in sorted({t for t in targets if targets.count(t) > 1}):
        sources = [s for s, t in renames.items() if t == dst]
        problem("columns", f"{', '.join(map(repr, sources))} are all mapped to {dst!r}; map "
                "one of them", dst)
    kept = (present - set(tm.drop) - set(renames)) | set(renames.values())
    for dst in renames.values():
        if dst in present - set(tm.drop) - set(renames):
            problem("columns", f"maps a column to {dst!r}, but the file already has a column "
                    f"{dst!r}; drop one of them (drop: [{dst}])", dst)
    for col in tm.drop:
        if col not in present:
            problem("drop", f"names {col!r}, which is not a column of the file (columns: "
                    f"{listing})", col)
    for col in sorted(reserved):
        if col not in present:
            problem("study_days", f"names {col!r}, which is not a column of the file "
                    f"(columns: {listing})", col)
    for dst, derive in tm.derive.items():
        if dst not in contract_cols:
            problem(f"derive.{dst}", f"{dst!r} is not a contract column of {name}", dst)
        elif dst in kept:
            problem(f"derive.{dst}", f"the table already has a column {dst!r}; drop it or "
                    "remove the derive entry", dst)
        if derive.from_ not in kept:
            problem(f"derive.{dst}.from", f"names {derive.from_!r}, which is not a column "
                    f"after renaming (columns: {', '.join(sorted(kept))})", derive.from_)
    for col in tm.constants:
        if col not in contract_cols:
            problem("constants", f"{col!r} is not a contract column of {name}", col)
        elif col in kept or col in tm.derive:
            problem("constants", f"the table already has a column {col!r}; drop it or remove "
                    "the constant", col)
    made = kept | set(tm.derive) | set(tm.constants)
    for col in tm.recode:
        if col not in made:
            problem("recode", f"names {col!r}, which is not a column after renaming (columns: "
                    f"{', '.join(sorted(made))})", col)
    for col in tm.keep:
        if col not in made:
            problem("keep", f"names {col!r}, which is not a column after renaming (columns: "
                    f"{', '.join(sorted(made))})", col)
    for col in tm.cdisc_days:
        if col not in contract_cols or spec.column(col).unit != "study day":
            problem("cdisc_days", f"{col!r} is not a study-day column of {name}", col)
    return renames if ok else None


def apply_mapping(raw: dict[str, RawTable], mapping: Mapping, contract: Contract,
                  findings: Findings) -> dict[str, pl.DataFrame]:
    """Return one frame per table, with contract column names and codes.

    A table whose mapping names columns that do not exist is left out (with ``mapping``
    findings, exit code 2); tables the folder does not have are skipped.
    """
    reserved: dict[str, set[str]] = {t: set() for t in contract.names}
    if mapping.study_days:
        reserved["subjects"].update(mapping.study_days.origins)
        for key in mapping.study_days.columns:
            table, _, col = key.partition(".")
            if table not in contract.names or not col:
                findings.add(rule="mapping", message=f"{mapping.source}: study_days.columns: "
                             f"{key!r} must be <table>.<date column> with a contract table "
                             f"({', '.join(contract.names)})")
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
        renames = _check_names(frame, name, tm, spec, reserved[name], mapping, table, findings)
        if renames is None:
            continue
        frame = frame.drop(tm.drop).rename(renames)
        for dst, derive in tm.derive.items():
            frame = _derive(frame, name, dst, derive, findings)
        for col, value in tm.constants.items():
            frame = frame.with_columns(pl.lit(_text(value), dtype=pl.String).alias(col))
        for col, values in tm.recode.items():
            frame = frame.with_columns(pl.col(col).cast(pl.String).replace(
                list(values), [_text(v) for v in values.values()]))
        for col, values in tm.keep.items():
            frame = _keep(frame, col, values, table, findings)
        if tm.unmapped == "drop":
            frame = frame.drop([c for c in _data_columns(frame)
                                if c not in spec.column_names and c not in reserved[name]])
        out[name] = frame
    if mapping.study_days:
        out = _study_days(out, mapping, contract, findings)
    return out


def _keep(frame: pl.DataFrame, col: str, values: list[str], table: RawTable,
          findings: Findings) -> pl.DataFrame:
    """Keep the rows whose ``col`` is one of ``values`` (or empty: the contract reports that);
    count the others in a warning, with the codes they had."""
    inside = pl.col(col).is_null() | pl.col(col).cast(pl.String).is_in(values)
    left = frame.filter(~inside)
    if not left.height:
        return frame
    codes = left.get_column(col).cast(pl.String).unique(maintain_order=True).to_list()
    files = ", ".join(s.name for s in table.sources) or table.name
    shown = ", ".join(codes[:10]) + (f" and {len(codes) - 10} more" if len(codes) > 10 else "")
    findings.add(rule="rows_left_out", severity="warning", table=table.name, file=files,
                 column=col, value=str(left.height),
                 message=f"{left.height} rows of {files} were left out because their {col} is "
                         f"not listed under keep.{col} in the mapping ({shown})")
    return frame.filter(inside)


def _derive(frame: pl.DataFrame, table: str, dst: str, derive: DeriveSpec,
            findings: Findings) -> pl.DataFrame:
    """Add column ``dst`` by recoding ``derive.from_``; report values the map does not cover.

    Without a ``default``, a value missing from the map is reported on the source column
    (``allowed_values``), and the empty cell it leaves is not reported again.
    """
    source = pl.col(derive.from_).cast(pl.String).str.strip_chars()
    old = list(derive.map)
    new = [_text(v) for v in derive.map.values()]
    frame = frame.with_columns(source.replace_strict(
        old, new, default=_text(derive.default), return_dtype=pl.String).alias(dst))
    if derive.default is None:
        unmapped = frame.filter(source.is_not_null() & ~source.is_in(old))
        findings.add_frame(row_findings(
            unmapped, table=table, column=derive.from_, rule="allowed_values",
            value=source,
            message=pl.format("{} {} is not in derive.{}.map ({}) and there is no default; "
                              "add it to the map or give a default", pl.lit(derive.from_),
                              source, pl.lit(dst), pl.lit(", ".join(old)))))
        findings.explain(unmapped, table=table, column=dst)
    return frame


def _study_days(tables: dict[str, pl.DataFrame], mapping: Mapping, contract: Contract,
                findings: Findings) -> dict[str, pl.DataFrame]:
    """Derive integer study days from dates: date minus the subject's day-0 date.

    A day that cannot be derived (no or bad date, no day-0 date for the subject, subject
    unknown or the subjects table unusable) is left empty; its cause is reported once, and
    the empty day is not reported again.
    """
    if mapping.study_days is None:
        return tables
    origins = mapping.study_days.origins
    origin = pl.DataFrame(schema={"subject_id": pl.String, "__origin": pl.Date})
    subjects = tables.get("subjects")
    if subjects is not None and "subject_id" in subjects.columns:
        for col in origins:
            _bad_dates(subjects, col, "subjects", findings)
        with_origin = subjects.select(
            pl.col("subject_id").cast(pl.String).str.strip_chars(),
            pl.coalesce([_date_expr(subjects, c) for c in origins]).alias("__origin"),
            "__file", "__line")
        findings.add_frame(row_findings(
            with_origin.filter(pl.col("__origin").is_null()), table="subjects",
            column=origins[0], rule="date", value=pl.col("subject_id"),
            message=f"subject has no day-0 date: one of {', '.join(origins)} is needed to "
                    "derive its study days"))
        origin = (with_origin.select("subject_id", "__origin").drop_nulls()
                  .unique("subject_id", keep="first", maintain_order=True))
    for key, day_col in mapping.study_days.columns.items():
        table, _, col = key.partition(".")
        frame = tables.get(table)
        if frame is None or "subject_id" not in frame.columns:
            continue  # table absent or unusable, or subject_id missing: reported elsewhere
        if day_col in frame.columns:
            findings.add(rule="mapping", table=table, column=day_col,
                         message=f"{mapping.source}: study_days.columns: {key} is mapped to "
                         f"{day_col}, but the table already has a column {day_col}; drop one")
            continue
        _bad_dates(frame, col, table, findings)
        date = _date_expr(frame, col)
        frame = frame.with_columns(date.alias("__date"),
                                   pl.col("subject_id").cast(pl.String).str.strip_chars()
                                   .alias("__sid"))
        frame = frame.join(origin.rename({"subject_id": "__sid"}), on="__sid", how="left",
                           maintain_order="left")
        nullable = _nullable(contract, table, day_col)
        if not nullable:
            findings.add_frame(row_findings(
                frame.filter(pl.col(col).is_null()), table=table, column=col, rule="date",
                value=None, message=f"{col} is empty; it is needed to derive {day_col}"))
        findings.explain(frame.filter(pl.col("__date").is_null() | pl.col("__origin").is_null()),
                         table=table, column=day_col)
        frame = frame.with_columns(
            (pl.col("__date") - pl.col("__origin")).dt.total_days().cast(pl.Int64)
            .alias(day_col)).drop(col, "__date", "__sid", "__origin")
        tables[table] = frame
    if subjects is not None and "subjects" in tables:
        tables["subjects"] = tables["subjects"].drop(
            [c for c in origins if c in tables["subjects"].columns])
    return tables


def _nullable(contract: Contract, table: str, column: str) -> bool:
    """Whether ``column`` of ``table`` may be empty (True for columns not in the contract)."""
    spec = contract[table]
    return spec.column(column).nullable if column in spec.column_names else True


def _bad_dates(frame: pl.DataFrame, col: str, table: str, findings: Findings) -> None:
    bad = frame.filter(pl.col(col).is_not_null() & _date_expr(frame, col).is_null())
    findings.add_frame(row_findings(
        bad, table=table, column=col, rule="date", value=pl.col(col).cast(pl.String),
        message=f"{col} is not a date in ISO 8601 form (YYYY-MM-DD) or SAS DATE9 form "
                "(04MAR2021); day-first and month-first dates are ambiguous"))


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

"""Apply a mapping file to raw tables: the user's files onto the contract, without editing them.

Per table, in this order: ``unpivot``, ``drop``, rename (``columns``), ``units_from_names``,
``derive``, ``constants``, ``recode``, ``keep``, ``drop_empty``, ``censored``, ``scale``,
``compute``, ``unmapped: drop``; then, across tables, ``study_days`` (days, ages, duration,
last contact from dates), and ``cdisc_days`` after parsing. Codes are compared typed and
trimmed (:mod:`cohort.io.codes`). Nothing is silent: every row a step leaves out is counted
in a ``rows_left_out`` warning, a required table that a step empties is an error naming the
step, and every derivation is logged (:class:`~cohort.io.derive_columns.DerivationLog`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cohort.contract import Contract
from cohort.findings import Findings, row_findings, value_text
from cohort.io.censored import apply_censored
from cohort.io.codes import codes, translate, visible, visible_text
from cohort.io.dates import is_empty
from cohort.io.derive_columns import DerivationLog, compute_columns, scale_columns
from cohort.io.mapping import DeriveSpec, Mapping, TableMapping
from cohort.io.mapping_check import check_names, data_columns
from cohort.io.name_units import apply_units_from_names, log_units_from_names
from cohort.io.read import RawTable
from cohort.io.study_days import reserved_columns, study_days

__all__ = ["apply_mapping", "cdisc_days"]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _files(table: RawTable) -> str:
    return ", ".join(s.name for s in table.sources) or table.name


def apply_mapping(raw: dict[str, RawTable], mapping: Mapping, contract: Contract,
                  findings: Findings, log: DerivationLog | None = None
                  ) -> dict[str, pl.DataFrame]:
    """Return one frame per table, with contract column names and codes.

    A table whose mapping names columns that do not exist is left out (with ``mapping``
    findings, exit code 2); tables the folder does not have are skipped. ``log`` receives
    every derivation.
    """
    log = log if log is not None else DerivationLog()
    reserved = reserved_columns(mapping, contract, findings)
    out: dict[str, pl.DataFrame] = {}
    emptied: dict[str, str] = {}
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
        if tm.unpivot:
            wide = _unpivot(frame, name, tm, mapping, table, findings)
            if wide is None:
                continue
            frame = wide
        renames = check_names(frame, name, tm, spec, reserved[name], mapping, table, findings)
        if renames is None:
            continue
        frame = frame.drop(tm.drop).rename(renames)
        if tm.units_from_names:
            named = apply_units_from_names(frame, name, tm, spec, renames, mapping, table,
                                           findings, log)
            if named is None:
                continue
            frame = named
        for dst, derive in tm.derive.items():
            frame = _derive(frame, dst, derive)
        for col, value in tm.constants.items():
            frame = frame.with_columns(pl.lit(_text(value), dtype=pl.String).alias(col))
        for col, values in tm.recode.items():
            frame = _recode(frame, col, values)
        steps: list[tuple[str, Any]] = [(f"keep.{col}", (col, values))
                                        for col, values in tm.keep.items()]
        if tm.drop_empty:
            steps.append(("drop_empty", tm.drop_empty))
        for step, args in steps:
            before = frame.height
            if step == "drop_empty":
                frame = _drop_empty(frame, args, tm, mapping, table, findings)
            else:
                frame = _keep(frame, *args, table, findings)
            if before and not frame.height:
                emptied[name] = step
        frame = log_units_from_names(frame, log)
        # a code the derive map lacks is reported on the rows that keep and drop_empty kept
        for dst, derive in tm.derive.items():
            frame = _derive_findings(frame, name, dst, derive, findings)
        if tm.censored is not None:
            before = frame.height
            frame = apply_censored(frame, tm.censored, table=name, files=_files(table),
                                   decimal=mapping.csv.decimal, findings=findings, log=log)
            if before and not frame.height:
                emptied[name] = "censored"
        if tm.scale:
            frame = scale_columns(frame, name, dict(tm.scale), decimal=mapping.csv.decimal,
                                  log=log)
        if tm.compute:
            frame = compute_columns(frame, name, list(tm.compute),
                                    decimal=mapping.csv.decimal, findings=findings, log=log)
        if tm.unmapped == "drop":
            frame = frame.drop([c for c in data_columns(frame)
                                if c not in spec.column_names and c not in reserved[name]])
        out[name] = frame
    for name, step in emptied.items():
        if contract[name].required:
            findings.add(rule="empty_table", table=name, file=_files(raw[name]),
                         message=f"{name} ({_files(raw[name])}) has no rows left after "
                                 f"tables.{name}.{step} in {mapping.source or 'the mapping'}; "
                                 "the table is required: check the codes or rule listed there")
    if mapping.study_days:
        out = study_days(out, mapping, contract, findings, log)
    return out


def _unpivot(frame: pl.DataFrame, name: str, tm: TableMapping, mapping: Mapping,
             table: RawTable, findings: Findings) -> pl.DataFrame | None:
    """A wide sheet's test columns as rows: each listed column gives one row per source row,
    its name in ``param`` and its cell in ``value`` (as text; the parser reads it). The rows
    keep their file and line, so findings point at the source row. None (with a ``mapping``
    finding) when the key names columns the file lacks or the file already has the columns
    it makes."""
    present = data_columns(frame)
    missing = [c for c in tm.unpivot if c not in present]
    clash = [c for c in ("param", "value") if c in present]
    if name != "measurements" or missing or clash:
        why = (f"only measurements can be unpivoted, not {name}" if name != "measurements"
               else f"names {', '.join(map(repr, missing))}, not a column of the file "
               f"(columns: {', '.join(sorted(present))})" if missing
               else f"the file already has {', '.join(map(repr, clash))}; map or drop it")
        findings.add(rule="mapping", table=name, file=_files(table),
                     message=f"{mapping.source or 'mapping'}: tables.{name}.unpivot: {why}")
        return None
    index = [c for c in frame.columns if c not in tm.unpivot]
    return (frame.with_columns(value_text(pl.col(c)) if frame.schema[c].is_float()
                               else pl.col(c).cast(pl.String) for c in tm.unpivot)
            .unpivot(on=list(tm.unpivot), index=index, variable_name="param",
                     value_name="value")
            .sort("__file", "__line", maintain_order=True))


def _recode(frame: pl.DataFrame, col: str, values: dict[str, Any]) -> pl.DataFrame:
    """Recode ``col``: cells whose typed, trimmed code is listed get the new value; the others
    are left as read."""
    # an empty code (NA, blank) listed in a mapping matches nothing: empty stays empty
    new = {k: v for k, v in zip(codes(values), [_text(v) for v in values.values()],
                                strict=True) if k is not None}
    cells = translate(frame.get_column(col), new)
    if not cells:
        return frame
    return frame.with_columns(pl.col(col).cast(pl.String).replace(
        list(cells), list(cells.values())).alias(col))


def _keep(frame: pl.DataFrame, col: str, values: list[Any], table: RawTable,
          findings: Findings) -> pl.DataFrame:
    """Keep the rows whose ``col`` is one of ``values`` (or empty: the contract reports that);
    count the others in a warning, with the codes they had."""
    listed = {c: c for c in codes(values)}
    kept = list(translate(frame.get_column(col), {**listed, None: None}))
    inside = pl.col(col).is_null() | pl.col(col).cast(pl.String).is_in(kept)
    left = frame.filter(~inside)
    if not left.height:
        return frame
    found = left.select(visible(pl.col(col))).to_series().unique(maintain_order=True)
    files = _files(table)
    shown = ", ".join(found.head(10).to_list()) + (
        f" and {found.len() - 10} more" if found.len() > 10 else "")
    findings.add(rule="rows_left_out", severity="warning", table=table.name, file=files,
                 column=col, value=str(left.height),
                 message=f"{left.height} rows of {files} were left out because their {col} is "
                         f"not listed under keep.{col} in the mapping ({shown})")
    return frame.filter(inside)


def _drop_empty(frame: pl.DataFrame, columns: list[str], tm: TableMapping, mapping: Mapping,
                table: RawTable, findings: Findings) -> pl.DataFrame:
    """Leave out the rows with an empty cell in any of ``columns``, counted per column.

    A study day derived from a date (``study_days.columns``) is empty when its date is: the
    date column is checked in its place.
    """
    dates = {}
    if mapping.study_days:
        for key, day in mapping.study_days.columns.items():
            t, _, col = key.partition(".")
            if t == table.name:
                dates[day] = col
    files = _files(table)
    for col in columns:
        cell = dates.get(col, col) if col not in frame.columns else col
        if cell not in frame.columns:
            continue
        empty = frame.select(is_empty(pl.col(cell))).to_series()
        n = int(empty.sum())
        if n:
            what = f"{cell} (the date of {col})" if cell != col else col
            findings.add(rule="rows_left_out", severity="warning", table=table.name,
                         file=files, column=cell, value=str(n),
                         message=f"{n} rows of {files} were left out because their {what} is "
                                 f"empty (drop_empty: [{col}] in the mapping)")
            frame = frame.filter(~empty)
    return frame


def _derive(frame: pl.DataFrame, dst: str, derive: DeriveSpec) -> pl.DataFrame:
    """Add column ``dst`` by recoding ``derive.from_`` (codes compared typed and trimmed).

    Without a ``default``, rows whose code the map lacks are marked for
    :func:`_derive_findings`.
    """
    new = {k: v for k, v in zip(codes(derive.map), [_text(v) for v in derive.map.values()],
                                strict=True) if k is not None}
    source = frame.get_column(derive.from_)
    cells = translate(source, new)
    empty = set(translate(source, {None: None}))
    frame = frame.with_columns(pl.col(derive.from_).cast(pl.String).replace_strict(
        list(cells), list(cells.values()), default=_text(derive.default),
        return_dtype=pl.String).alias(dst))
    if derive.default is None:
        text = pl.col(derive.from_).cast(pl.String)
        frame = frame.with_columns((text.is_not_null() & ~text.is_in(list(cells))
                                    & ~text.is_in(list(empty))).alias(f"__unmapped_{dst}"))
    return frame


def _derive_findings(frame: pl.DataFrame, table: str, dst: str, derive: DeriveSpec,
                     findings: Findings) -> pl.DataFrame:
    """Report values missing from ``derive.<dst>.map`` (no default) on the source column
    (``allowed_values``), once: the empty cell they leave is not reported again."""
    marker = f"__unmapped_{dst}"
    if marker not in frame.columns:
        return frame
    unmapped = frame.filter(pl.col(marker))
    listed = ", ".join(visible_text(k) for k in derive.map)
    findings.add_frame(row_findings(
        unmapped, table=table, column=derive.from_, rule="allowed_values",
        value=visible(pl.col(derive.from_)),
        message=pl.concat_str([pl.lit(f"{derive.from_} "), visible(pl.col(derive.from_)),
                               pl.lit(f" is not in derive.{dst}.map ({listed}) and there is "
                                      "no default; add it to the map or give a default")])))
    findings.explain(unmapped, table=table, column=dst)
    return frame.drop(marker)


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

"""Population selection: keep the subjects a flag selects, with all their records.

A population is a subjects flag such as CDISC ADaM's ``ITTFL``, ``SAFFL``, ``EFFFL``,
``FASFL`` or ``PPROTFL`` (``Y`` = in the population), or any subjects column holding
``Y``/``yes``/``true``/``1``. The selection applies to every table before anything else is
checked: the subjects outside it are removed with all their records, counted and reported per
table (never left behind as records of unknown subjects). A flag that does not exist is an
error naming the file and the flags it has; a required table the selection empties is an error
naming the selection.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from cohort.findings import Findings
from cohort.io.mapping import Mapping
from cohort.io.read import RawTable

__all__ = ["IN_POPULATION", "flag_column", "remove_subjects", "select_population",
           "subject_column"]

IN_POPULATION = ("Y", "YES", "TRUE", "T", "1", "1.0")
"""Flag values (trimmed, upper case) meaning "in the population"; anything else is out."""


def subject_column(raw: RawTable, mapping: Mapping) -> str | None:
    """The source column of a table that the mapping turns into ``subject_id``."""
    sources = [s for s, d in mapping.table(raw.name).columns.items() if d == "subject_id"]
    for col in [*sources, "subject_id"]:
        if col in raw.frame.columns:
            return col
    return None


def _ids(raw: RawTable, col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.strip_chars()


def flag_column(frame: pl.DataFrame, flag: str, mapping: Mapping) -> str | None:
    """The subjects column a population name refers to: ``ITT`` -> ``ITTFL``, any case; a
    contract or extra column name is looked up through the mapping's renames."""
    renamed = {d.upper(): s for s, d in mapping.table("subjects").columns.items()}
    by_upper = {c.upper(): c for c in frame.columns if not c.startswith("__")}
    wanted = flag.strip().upper()
    for name in (wanted, f"{wanted}FL"):
        if name in by_upper:
            return by_upper[name]
        if name in renamed and renamed[name] in frame.columns:
            return renamed[name]
    return None


def _files(raw: RawTable) -> str:
    return ", ".join(s.name for s in raw.sources) or raw.name


def remove_subjects(raw: dict[str, RawTable], mapping: Mapping, removed: Iterable[str], *,
                    why: str, findings: Findings, required: set[str]) -> dict[str, RawTable]:
    """Remove ``removed`` subjects from every table, with one warning per table that lost
    rows; a required table left empty is an error naming ``why``."""
    removed = sorted(set(removed))
    if not removed:
        return raw
    gone = pl.Series(removed, dtype=pl.String).implode()
    shown = ", ".join(removed[:8]) + (f" and {len(removed) - 8} more" if len(removed) > 8
                                      else "")
    out = {}
    for name, table in raw.items():
        col = subject_column(table, mapping) if table.frame.width else None
        if col is None:
            out[name] = table
            continue
        inside = ~_ids(table, col).is_in(gone).fill_null(False)
        kept = table.frame.filter(inside)
        lost = table.frame.height - kept.height
        out[name] = RawTable(table.name, kept, table.sources)
        if not lost:
            continue
        files = _files(table)
        if name == "subjects":
            who = "1 subject" if lost == 1 else f"{lost} subjects"
            message = (f"{why}: {who} of {files} left out ({shown}), with all their records "
                       "in every table")
        else:
            rows = "1 row" if lost == 1 else f"{lost} rows"
            message = f"{why}: {rows} of {files} left out (their subjects are)"
        findings.add(rule="population", severity="warning", table=name, file=files,
                     column=col, value=str(lost), message=message)
        if not kept.height and name in required:
            findings.add(rule="population", table=name, file=files, column=col,
                         message=f"{why} leaves no rows in the required table {name} "
                         f"({files}); check the selection")
    return out


def select_population(raw: dict[str, RawTable], mapping: Mapping, flags: Iterable[str],
                      findings: Findings, required: set[str]) -> dict[str, RawTable]:
    """Keep the subjects whose every flag in ``flags`` says "in" (``Y``), in every table.

    Parameters
    ----------
    raw : dict of str to RawTable
        The tables as read (source column names).
    mapping : Mapping
        Tells which column holds the subject id in each table.
    flags : iterable of str
        Population flags, e.g. ``["ITTFL"]`` or ``["ITT"]`` (``FL`` is added when needed).
    findings : Findings
        Removals are warnings; a missing flag is a ``mapping`` error (exit code 2); an
        emptied required table is an error.
    required : set of str
        The contract's required tables.
    """
    flags = list(dict.fromkeys(f for f in flags if f and f.strip()))
    subjects = raw.get("subjects")
    if not flags or subjects is None or not subjects.frame.width:
        return raw
    frame = subjects.frame
    sid = subject_column(subjects, mapping)
    files = _files(subjects)
    columns, ok = [], True
    for flag in flags:
        col = flag_column(frame, flag, mapping)
        if col is None:
            ok = False
            known = sorted(c for c in frame.columns
                           if c.upper().endswith("FL") and not c.startswith("__"))
            findings.add(rule="mapping", table="subjects", file=files, column=flag,
                         message=f"population {flag!r}: {files} has no column {flag.upper()}"
                         + ("" if flag.upper().endswith("FL") else f" or {flag.upper()}FL")
                         + f"; flags in it: {', '.join(known) or 'none'}")
        else:
            columns.append(col)
    if not ok or sid is None:
        return raw
    inside = pl.all_horizontal(
        pl.col(c).cast(pl.String).str.strip_chars().str.to_uppercase()
        .is_in(list(IN_POPULATION)).fill_null(False) for c in columns)
    removed = frame.filter(~inside).select(_ids(subjects, sid)).to_series().drop_nulls()
    why = "population " + " and ".join(f"{c} = Y" for c in columns)
    return remove_subjects(raw, mapping, removed.to_list(), why=why, findings=findings,
                           required=required)

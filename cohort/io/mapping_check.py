"""Check every column a table mapping names against the file it is applied to.

A mapping that names a column the file does not have is a ``mapping`` finding (the input
cannot be interpreted: exit code 2), never a silent no-op.
"""

from __future__ import annotations

import polars as pl

from cohort.contract import TableSpec
from cohort.findings import Findings
from cohort.io.mapping import Mapping, TableMapping
from cohort.io.read import RawTable

__all__ = ["PRIVATE", "check_names", "data_columns", "mapping_problem"]

PRIVATE = ("__file", "__line")

COMPUTED_FROM = {"bmi_kg_m2": ("weight_kg", "height_cm")}
"""What each ``compute`` entry needs (contract columns after renaming)."""


def data_columns(frame: pl.DataFrame) -> list[str]:
    """The columns of ``frame`` other than the loader's provenance columns."""
    return [c for c in frame.columns if c not in PRIVATE]


def mapping_problem(findings: Findings, mapping: Mapping, table: str, key: str,
                    message: str, raw: RawTable | None = None,
                    column: str | None = None) -> None:
    """Add a ``mapping`` finding for ``tables.<table>.<key>``."""
    where = mapping.source or "mapping"
    files = ", ".join(s.name for s in raw.sources) if raw and raw.sources else None
    findings.add(rule="mapping", table=table, file=files, column=column,
                 message=f"{where}: tables.{table}.{key}: {message}")


def check_names(frame: pl.DataFrame, name: str, tm: TableMapping, spec: TableSpec,
                reserved: dict[str, str], mapping: Mapping, raw: RawTable,
                findings: Findings) -> dict[str, str] | None:
    """Check every column a table mapping names; return the renames to apply (or None).

    ``reserved`` maps the date columns other parts of the mapping use (``study_days``) to the
    key that uses them. Columns listed under ``optional`` may be absent: their renames are
    skipped.
    """
    present = set(data_columns(frame))
    contract_cols = set(spec.column_names)
    ok = True

    def problem(key: str, message: str, column: str) -> None:
        nonlocal ok
        mapping_problem(findings, mapping, name, key, message, raw, column)
        ok = False

    listing = ", ".join(sorted(present))
    renames = {}
    for src, dst in tm.columns.items():
        if dst not in contract_cols:
            problem("columns", f"maps {src!r} to {dst!r}, which is not a contract column of "
                    f"{name} (columns: {', '.join(spec.column_names)}; declare "
                    "study-specific columns under extras)", dst)
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
    for col, key in sorted(reserved.items()):
        if col not in present:
            where = mapping.source or "mapping"
            findings.add(rule="mapping", table=name, column=col,
                         file=", ".join(s.name for s in raw.sources) or None,
                         message=f"{where}: {key}: names {col!r}, which is not a column of "
                                 f"the {name} file (columns: {listing})")
            ok = False
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
    days = {c for c in mapping.study_days.columns.values()} if mapping.study_days else set()
    for col in tm.drop_empty:
        if col not in made and col not in reserved and col not in days:
            problem("drop_empty", f"names {col!r}, which is not a column after renaming "
                    f"(columns: {', '.join(sorted(made))})", col)
    for col in tm.date_formats:
        if col not in present:
            problem("date_formats", f"names {col!r}, which is not a column of the file "
                    f"(columns: {listing})", col)
    for col in tm.compute:
        needs = COMPUTED_FROM[col]
        if col in made:
            problem("compute", f"the table already has a column {col!r}; drop it or remove "
                    f"{col} from compute", col)
        for need in needs:
            if need not in made:
                problem("compute", f"{col} is computed from {' and '.join(needs)}, but the "
                        f"table has no column {need!r} after renaming", need)
    for col, factor in tm.scale.items():
        if col not in contract_cols or spec.column(col).type != "number":
            problem("scale", f"{col!r} is not a number column of {name}", col)
        elif col not in made:
            problem("scale", f"names {col!r}, which is not a column after renaming (columns: "
                    f"{', '.join(sorted(made))})", col)
        elif not factor > 0 or factor == float("inf"):
            problem("scale", f"the factor of {col} must be a positive number, got {factor}",
                    col)
    if tm.censored is not None and "value" not in made:
        problem("censored", "censored values are read from the value column, which the "
                "table does not have after renaming", "value")
    for col in tm.cdisc_days:
        if col not in contract_cols or spec.column(col).unit != "study day":
            problem("cdisc_days", f"{col!r} is not a study-day column of {name}", col)
    return renames if ok else None

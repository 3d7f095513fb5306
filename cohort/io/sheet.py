"""Read one Excel worksheet into text cells, as a user sees them in the sheet.

Cell values become the text Excel shows (dates as ISO 8601); the table's header is found below
any empty rows or a title, and columns with values but no header, or a header given twice, are
reported as findings.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time
from typing import Any

import polars as pl

from cohort.findings import Findings

__all__ = ["sheet_frame"]


def _cell_text(value: Any) -> str | None:
    """Excel cell value as the text a user sees; dates as ISO 8601."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def sheet_frame(ws: Any, name: str, table: str,
                 findings: Findings) -> tuple[pl.DataFrame, int] | None:
    """Read a sheet as text cells; return it with the sheet row of its first data row."""
    # the dimension a file declares may be wrong (some writers put A1): read every row
    ws.reset_dimensions()
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    # rows start at sheet row 1; a table may start lower, below empty rows or a title (one
    # cell): its header is the first row with two or more cells
    filled = [sum(v is not None for v in r) for r in rows]
    top = next((i for i, n in enumerate(filled) if n >= 2),
               next((i for i, n in enumerate(filled) if n), None))
    if top is None:
        findings.add(rule="empty_file", table=table, file=name,
                     message=f"{name} is empty: expected a header row with the column names")
        return None
    header, body = rows[top], rows[top + 1:]
    header_row = top + 1
    width = max(len(r) for r in rows[top:])
    keep = [i for i in range(width) if (i < len(header) and header[i] is not None)
            or any(i < len(r) and r[i] is not None for r in body)]
    columns: dict[str, list[str | None]] = {}
    for i in keep:
        label = _cell_text(header[i]) if i < len(header) else None
        if label is None:
            findings.add(rule="missing_header", table=table, file=name, row=header_row,
                         column=f"#{i + 1}", message=f"column {i + 1} of {name} has values but "
                         "no header; add one or delete the column")
            continue
        if label in columns:
            findings.add(rule="duplicate_column", table=table, file=name, row=header_row,
                         column=label, message=f"column {label!r} appears more than once in "
                         f"the header of {name}")
            continue
        columns[label] = [_cell_text(r[i]) if i < len(r) else None for r in body]
    return pl.DataFrame(columns, schema={c: pl.String for c in columns}), header_row + 1

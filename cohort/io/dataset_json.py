"""Read CDISC Dataset-JSON (v1.0 and v1.1), the JSON exchange format of SDTM/ADaM datasets.

v1.1 holds one dataset per file: ``columns`` (``name``, ``dataType``, ...) and ``rows`` (one
list of values per record). v1.0 nests it: ``clinicalData`` (or ``referenceData``) ->
``itemGroupData`` -> one item group with ``items`` (``name``, ``type``) and ``itemData``,
whose first item is the record sequence ``ITEMGROUPDATASEQ`` (dropped here). Variables of
type ``date`` or ``datetime`` (ISO 8601 text) become dates and datetimes; numbers stay numbers,
text stays text. Rows are numbered 1, 2, ... as records (``__line``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["looks_like_dataset_json", "read_dataset_json"]

_NUMBER = {"integer": pl.Int64, "decimal": pl.Float64, "float": pl.Float64,
           "double": pl.Float64}


def looks_like_dataset_json(path: Path) -> bool:
    """Whether the start of a ``.json`` file names a Dataset-JSON key (cheap, no parsing)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return any(k in head for k in (b'"datasetJSONVersion"', b'"clinicalData"',
                                   b'"referenceData"', b'"itemGroupData"'))


def _columns_and_rows(doc: Any) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    if not isinstance(doc, dict):
        raise ValueError("the document is not a JSON object")
    if "columns" in doc and "rows" in doc:  # v1.1
        return list(doc["columns"]), list(doc["rows"])
    data = doc.get("clinicalData") or doc.get("referenceData")
    if not isinstance(data, dict) or not isinstance(data.get("itemGroupData"), dict):
        raise ValueError("it has neither columns/rows (v1.1) nor clinicalData.itemGroupData "
                         "(v1.0)")
    groups = data["itemGroupData"]
    if len(groups) != 1:
        raise ValueError(f"it holds {len(groups)} datasets (item groups); cohort reads one "
                         "dataset per file")
    group = next(iter(groups.values()))
    items = [{"name": i["name"], "dataType": i.get("type", "string")} for i in group["items"]]
    return items, list(group["itemData"])


def _series(name: str, kind: str, values: list[Any]) -> pl.Series:
    if kind in _NUMBER:
        return pl.Series(name, [None if v is None or v == "" else v for v in values],
                         dtype=pl.Float64 if _NUMBER[kind] == pl.Float64 else None,
                         strict=False).cast(_NUMBER[kind])
    if kind == "boolean":
        return pl.Series(name, values, dtype=pl.Boolean, strict=False)
    text = pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.String)
    text = text.str.strip_chars_end().replace("", None)
    if kind == "date":
        return text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    if kind == "datetime":
        return text.str.to_datetime(strict=False, time_unit="us")
    return text


def read_dataset_json(path: Path, name: str) -> tuple[pl.DataFrame | None, str | None]:
    """Read one Dataset-JSON file into a typed polars frame.

    Returns
    -------
    (frame, problem) : (polars.DataFrame or None, str or None)
        The frame, or None and a message saying why the file cannot be read.
    """
    try:
        doc = json.loads(path.read_bytes())
        columns, rows = _columns_and_rows(doc)
        names = [str(c["name"]) for c in columns]
        if len(set(names)) != len(names):
            raise ValueError("a variable name appears twice in its columns")
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(names):
                raise ValueError(f"record {i + 1} has {len(row) if isinstance(row, list) else 0}"
                                 f" values for {len(names)} variables")
        series = [_series(n, str(c.get("dataType", "string")), [r[k] for r in rows])
                  for k, (n, c) in enumerate(zip(names, columns, strict=True))]
    except (ValueError, KeyError, TypeError, OSError, pl.exceptions.PolarsError) as exc:
        return None, f"{name} cannot be read as CDISC Dataset-JSON (v1.0 or v1.1): {exc}"
    frame = pl.DataFrame(series) if series else pl.DataFrame()
    if "ITEMGROUPDATASEQ" in frame.columns:
        frame = frame.drop("ITEMGROUPDATASEQ")
    return frame, None

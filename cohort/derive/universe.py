"""The subject universe and the row bookkeeping shared by the derivations.

Every derivation returns one row per subject of the *subject universe* (and per visit), also for
subjects without a usable value: their value is missing and the ``reason`` column says why
(``reason`` is ``<NA>`` for usable rows). Nothing is dropped silently; use
:func:`split_exclusions` to separate usable rows from the ``(subject_id, reason)`` exclusions.
The universe is the ``subjects`` argument (a subjects table or a list of ids) or, by default,
every subject that has any measurement (:func:`subject_universe`).

Values are taken as they are in the measurements table, i.e. in the canonical unit of their
parameter (HbA1c %, glucose mmol/L, C-peptide nmol/L, insulin IU/kg/day, weight kg).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cohort.errors import AnalysisError

__all__ = [
    "MEAS_COLUMNS",
    "as_text",
    "check_subject_columns",
    "positions",
    "split_exclusions",
    "subject_universe",
    "text_ids",
    "with_subject_columns",
]

MEAS_COLUMNS = ("subject_id", "day", "param", "value")
"""Columns of the measurements table every derivation needs."""


def text_ids(column: pd.Series) -> pd.Series:
    """Subject ids as text: ``column.astype(str)``, without the copy when they already are.

    A column of strings (Python ``str`` objects, or pandas' string dtype without missing
    values) is returned as it is: converting ten million ids to new ``str`` objects costs more
    than the derivation that needs them.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.StringDtype):
        if not column.hasnans:
            return column
    elif dtype == np.dtype(object) and pd.api.types.infer_dtype(column, skipna=False) == "string":
        return column
    return column.astype(str)


def as_text(column: pd.Series) -> pd.Series:
    """``column.astype(str)``, with each distinct value converted once.

    The same Series (object dtype, index and name kept); a million-row column of a few arm
    labels held as pandas' arrow strings converts in a tenth of the time.
    """
    code, uniques = pd.factorize(column)
    text = pd.Series(uniques).astype(str).to_numpy(dtype=object)
    values = text[code] if len(text) else np.empty(len(code), dtype=object)
    missing = code < 0
    if missing.any():  # None and NaN print differently: convert those rows as they are
        values[missing] = column[missing].astype(str).to_numpy(dtype=object)
    return pd.Series(values, index=column.index, name=column.name, dtype=object)


def positions(keys: pd.Index, ids: pd.Index) -> np.ndarray:
    """Position of each of ``keys`` in the unique ``ids`` (-1 where it is not there)."""
    return ids.get_indexer(keys).astype(np.int64, copy=False)


def _as_ids(values: np.ndarray | pd.Series) -> pd.Index:
    return pd.Index(np.asarray(values, dtype=object), dtype=object)


def subject_universe(measurements: pd.DataFrame,
                     subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.Index:
    """The subjects every derivation reports on (one row each, usable or not).

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (``subject_id`` column).
    subjects : DataFrame, iterable of str or None
        A subjects table (its ``subject_id`` column) or ids; ``None`` means every subject with
        any measurement.

    Returns
    -------
    pandas.Index
        Subject ids as strings, in the order given (or sorted when derived).
    """
    if subjects is None:
        uniques = pd.unique(text_ids(measurements["subject_id"]))
        ids = pd.Index(sorted(np.asarray(uniques, dtype=object).tolist()), dtype=object)
    elif isinstance(subjects, pd.DataFrame):
        if "subject_id" not in subjects.columns:
            raise AnalysisError("the subjects table has no subject_id column")
        ids = _as_ids(text_ids(subjects["subject_id"]))
    elif (isinstance(subjects, pd.Index | pd.Series) and subjects.dtype == object
          and pd.api.types.infer_dtype(subjects, skipna=False) == "string"):
        ids = _as_ids(subjects)
    else:
        ids = pd.Index([str(s) for s in subjects], dtype=object)
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique().tolist()[:5]
        raise AnalysisError(f"duplicate subject ids in the subject list: {dup}")
    return ids.rename("subject_id")


def _tiled(left: pd.Series, right: pd.Index) -> np.ndarray | None:
    """Positions in ``right`` when ``left`` is ``right`` repeated (a derivation's rows: the
    universe once per visit), found by one comparison instead of hashing every id; else None.
    """
    n, m = len(left), len(right)
    if m == 0 or n % m or right.dtype != np.dtype(object) or left.dtype != np.dtype(object):
        return None
    if not (left.to_numpy().reshape(n // m, m) == right.to_numpy()).all():
        return None
    return np.tile(np.arange(m, dtype=np.int64), n // m)


def split_exclusions(frame: pd.DataFrame, *,
                     reason_column: str = "reason") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Separate usable rows from excluded ones.

    Parameters
    ----------
    frame : DataFrame
        A derivation output with a ``reason`` column (NA for usable rows).
    reason_column : str, keyword-only
        Name of the reason column.

    Returns
    -------
    usable : DataFrame
        Rows whose reason is NA (the reason column removed).
    exclusions : DataFrame
        ``subject_id``, ``reason`` (plus ``visit`` when the frame has it) of the other rows.
    """
    bad = frame[reason_column].notna().to_numpy()
    keep = ["subject_id"] + (["visit"] if "visit" in frame.columns else []) + [reason_column]
    # one take per part (boolean .loc, then drop and reset_index, copied a million-row frame
    # three times)
    excl = _take(frame, np.flatnonzero(bad), keep).rename(columns={reason_column: "reason"})
    excl["reason"] = excl["reason"].astype(object)
    usable = _take(frame, np.flatnonzero(~bad), [c for c in frame.columns if c != reason_column])
    return usable, excl


def _take(frame: pd.DataFrame, rows: np.ndarray, columns: Sequence[str]) -> pd.DataFrame:
    """Rows (positions) and columns of ``frame`` as a new frame with a fresh RangeIndex."""
    out = frame.iloc[rows, [frame.columns.get_loc(c) for c in columns]]
    out.index = pd.RangeIndex(len(out))
    return out


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(
        drop=True)


def check_subject_columns(frame: pd.DataFrame | Mapping[str, Any], subjects: pd.DataFrame,
                          columns: Sequence[str]) -> list[str]:
    """The subjects columns to attach to ``frame`` (``subject_id`` left out); an unknown
    column, or one ``frame`` already has, is an error."""
    columns = [c for c in columns if c != "subject_id"]
    unknown = [c for c in columns if c not in subjects.columns]
    if unknown:
        raise AnalysisError(f"the subjects table has no column(s) {unknown}; columns: "
                            f"{', '.join(map(str, subjects.columns))}")
    present = frame.columns if isinstance(frame, pd.DataFrame) else list(frame)
    clash = [c for c in columns if c in present]
    if clash:
        raise AnalysisError(f"column(s) {clash} are already in the derived frame")
    return columns


def with_subject_columns(frame: pd.DataFrame, subjects: pd.DataFrame,
                         columns: Sequence[str]) -> pd.DataFrame:
    """Attach columns of the subjects table (e.g. ``arm``, ``control``) to a derived frame.

    Parameters
    ----------
    frame : DataFrame
        A derivation output with ``subject_id``.
    subjects : DataFrame
        The subjects table.
    columns : sequence of str
        Subjects columns to attach; an unknown column is an error.

    Returns
    -------
    DataFrame
        ``frame`` with the columns added (left join on ``subject_id``; row order kept).
    """
    columns = check_subject_columns(frame, subjects, columns)
    right_ids = _as_ids(text_ids(subjects["subject_id"]))
    if right_ids.has_duplicates:
        dup = right_ids[right_ids.duplicated()].unique().tolist()[:5]
        raise AnalysisError(f"duplicate subject ids in the subjects table: {dup}; one row "
                            "per subject expected")
    left_ids = text_ids(frame["subject_id"])
    pos = _tiled(left_ids, right_ids)
    if pos is None:
        code, uniques = pd.factorize(left_ids)
        pos = positions(pd.Index(uniques), right_ids)[code]
    if len(pos) and (pos < 0).any():
        # a subject not in the table: the left join's missing values (and the dtypes it
        # gives the columns then) are pandas' own
        right = subjects[["subject_id", *columns]].copy()
        right["subject_id"] = right["subject_id"].astype(str)
        left = frame.assign(subject_id=frame["subject_id"].astype(str))
        return left.merge(right, on="subject_id", how="left", validate="many_to_one")
    out = frame.reset_index(drop=True)
    out["subject_id"] = (left_ids.to_numpy(dtype=object) if left_ids.dtype != object
                         else left_ids.to_numpy())
    for c in columns:
        out[c] = subjects[c].array.take(pos)
    return out

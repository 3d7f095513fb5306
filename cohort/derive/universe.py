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

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from cohort.errors import AnalysisError

__all__ = [
    "split_exclusions",
    "subject_universe",
    "with_subject_columns",
]

_MEAS_COLUMNS = ("subject_id", "day", "param", "value")


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
        ids = pd.Index(sorted(pd.unique(measurements["subject_id"].astype(str))))
    elif isinstance(subjects, pd.DataFrame):
        if "subject_id" not in subjects.columns:
            raise AnalysisError("the subjects table has no subject_id column")
        ids = pd.Index(subjects["subject_id"].astype(str).tolist())
    else:
        ids = pd.Index([str(s) for s in subjects])
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique().tolist()[:5]
        raise AnalysisError(f"duplicate subject ids in the subject list: {dup}")
    return ids.rename("subject_id")


def _param_rows(measurements: pd.DataFrame, param: str) -> pd.DataFrame:
    missing = [c for c in _MEAS_COLUMNS if c not in measurements.columns]
    if missing:
        raise AnalysisError(f"the measurements table lacks column(s) {missing}; expected the "
                            f"contract's columns {list(_MEAS_COLUMNS)}")
    rows = measurements.loc[measurements["param"] == param]
    if "analysis_flag" in rows.columns:
        # records not analysed (ADaM ANL01FL not "Y": unscheduled, End of Treatment) are not
        # candidates for any visit or baseline
        rows = rows.loc[rows["analysis_flag"].fillna(True).astype(bool)]
    rows = rows[list(_MEAS_COLUMNS)]
    if rows.empty:
        present = sorted(pd.unique(measurements["param"].dropna().astype(str)))
        raise AnalysisError(f"the cohort has no {param} measurements (parameters present: "
                            f"{', '.join(present) or 'none'}); choose one of those")
    rows = rows.loc[rows["value"].notna() & rows["day"].notna()]
    out = pd.DataFrame({
        "subject_id": rows["subject_id"].astype(str).to_numpy(),
        "day": rows["day"].to_numpy(dtype=np.int64),
        "value": rows["value"].to_numpy(dtype=np.float64),
    })
    dup = out.duplicated(["subject_id", "day"])
    if dup.any():
        first = out.loc[dup].iloc[0]
        raise AnalysisError(f"{int(dup.sum())} duplicate {param} values on the same subject "
                            f"and day (first: {first['subject_id']} day {first['day']}); the "
                            "contract allows one value per subject, day and parameter")
    return out


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
    excl = frame.loc[bad, keep].rename(columns={reason_column: "reason"}).reset_index(drop=True)
    excl["reason"] = excl["reason"].astype(object)
    usable = frame.loc[~bad].drop(columns=reason_column).reset_index(drop=True)
    return usable, excl


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(
        drop=True)


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
    columns = [c for c in columns if c != "subject_id"]
    unknown = [c for c in columns if c not in subjects.columns]
    if unknown:
        raise AnalysisError(f"the subjects table has no column(s) {unknown}; columns: "
                            f"{', '.join(map(str, subjects.columns))}")
    clash = [c for c in columns if c in frame.columns]
    if clash:
        raise AnalysisError(f"column(s) {clash} are already in the derived frame")
    right = subjects[["subject_id", *columns]].copy()
    right["subject_id"] = right["subject_id"].astype(str)
    left = frame.assign(subject_id=frame["subject_id"].astype(str))
    return left.merge(right, on="subject_id", how="left", validate="many_to_one")

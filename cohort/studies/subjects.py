"""The subject frame: one row per subject with every variable a spec condition or a baseline
target may name, built one way for reproduction and for the synthesis scorecard.

Columns: the ``subjects`` table; the baseline of every measured parameter named by its code
(``HBA1C`` in %, ``CPEP_FAST`` in nmol/L, ``INSULIN_DOSE`` in IU/kg/day, ...: the last value on
or before day 0 within days -90 to 0, :func:`cohort.derive.baseline.baseline_values`); the cell
dose **per infusion** ``dose_cells_total`` (cells) and ``dose_cells_per_kg`` (cells/kg), i.e. the
dose of the first infusion, which is how papers report a dose ("1 x 10^6 cells/kg, twice") and
how a spec's ``treatment`` gives it; the dose summed over every infusion
``cumulative_dose_cells_total`` and ``cumulative_dose_cells_per_kg``; ``n_infusions``; and
``follow_up_months`` (``last_contact_day`` / 30.4375). A dose missing in one unit is filled
from the other and the body weight (:func:`cohort.analysis.dose_response.subject_doses`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from cohort.io.cohort import Cohort

__all__ = ["DOSE_COLUMNS", "MONTH_DAYS", "subject_frame", "subject_values"]

MONTH_DAYS = 30.4375
"""Days per month (365.25 / 12), as in :mod:`cohort.analysis.survival`."""

DOSE_COLUMNS = ("dose_cells_total", "dose_cells_per_kg", "cumulative_dose_cells_total",
                "cumulative_dose_cells_per_kg", "n_infusions")
"""Dose columns of the subject frame (present when the cohort has infusions)."""


def subject_frame(cohort: Cohort) -> pd.DataFrame:
    """One row per subject (see the module docstring for the columns and their units).

    Parameters
    ----------
    cohort : Cohort
        A validated cohort.

    Returns
    -------
    DataFrame
        Indexed 0..n-1 in the order of ``cohort.subjects``; ``subject_id`` as text.
    """
    from cohort.derive.baseline import baseline_values

    subjects = cohort.subjects
    frame = subjects.copy()
    frame["subject_id"] = frame["subject_id"].astype(str)
    frame = frame.reset_index(drop=True)
    meas = cohort.measurements
    for param in sorted(pd.unique(meas["param"].dropna().astype(str))):
        if param in frame.columns:
            continue
        base = baseline_values(meas, param, subjects=frame)
        frame[param] = base["baseline"].to_numpy(dtype=float)
    infusions = cohort.infusions
    if len(infusions):
        from cohort.analysis.dose_response import subject_doses

        ordered = infusions.sort_values(["subject_id", "infusion_number"], kind="stable")
        first = ordered.groupby("subject_id", observed=True, sort=False).head(1)
        per = subject_doses(subjects, first).set_index("subject_id")
        total = subject_doses(subjects, infusions).set_index("subject_id")
        ids = frame["subject_id"]
        for col in ("dose_cells_total", "dose_cells_per_kg"):
            frame[col] = ids.map(per[col]).astype(float).to_numpy()
            frame[f"cumulative_{col}"] = ids.map(total[col]).astype(float).to_numpy()
        frame["n_infusions"] = ids.map(total["n_infusions"]).fillna(0).astype(int).to_numpy()
    frame["follow_up_months"] = (frame["last_contact_day"].astype("Float64")
                                 .to_numpy(dtype=float, na_value=np.nan) / MONTH_DAYS)
    return frame


def subject_values(frame: pd.DataFrame) -> Any:
    """``variable -> per-subject values`` of a frame, for :func:`cohort.spec.condition_mask`
    (raises KeyError for a variable the frame does not record)."""

    def values(name: str) -> pd.Series:
        if name not in frame.columns:
            raise KeyError(name)
        return frame[name]

    return values

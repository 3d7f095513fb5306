"""Severity strata and subgroups (the published cut points).

* **Severity strata** (Matsuoka 2025) from baseline HbA1c (%): *moderate* 6.2-8% (both ends
  included), *severe* > 8%. A baseline below 6.2% (or missing) belongs to neither stratum and
  is reported as an exclusion.
* **Subgroups** from the subjects table (Nguyen 2021, Lu 2021): BMI < 23 vs >= 23 kg/m2
  (``"bmi"``), diabetes duration < 10 vs >= 10 years (``"duration"``), juvenile vs adult onset
  (diagnosis at >= 18 years, ``"onset"``). Any other column of the subjects table can be used
  as a subgroup too: a text column (``sex``, ``site_id``, ...) as it is, a numeric one with a
  ``cut``.

Every function returns one row per subject with the group label and a ``reason`` column (NA
when the subject has a group, otherwise why not), as :mod:`cohort.derive.universe` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cohort.errors import AnalysisError

__all__ = [
    "SEVERITY_MODERATE_LOWER",
    "SEVERITY_SEVERE_ABOVE",
    "SUBGROUPS",
    "SubgroupDefinition",
    "assign_groups",
    "severity_strata",
    "subgroup",
]

SEVERITY_MODERATE_LOWER = 6.2
"""Lowest baseline HbA1c (%) of the moderate stratum (Matsuoka 2025)."""
SEVERITY_SEVERE_ABOVE = 8.0
"""Baseline HbA1c (%) above which a subject is in the severe stratum (Matsuoka 2025)."""


@dataclass(frozen=True)
class SubgroupDefinition:
    """A published two-level subgroup built by cutting a numeric subjects column.

    Parameters
    ----------
    name : str
        Short name (``"bmi"``, ``"duration"``, ``"onset"``).
    column : str
        Column of the subjects table.
    cut : float
        Values below ``cut`` form the first group, values at or above it the second.
    unit : str
        Unit of the column (for labels and docs).
    below, at_or_above : str
        Group labels; ``{cut}`` is replaced by the cut point.
    """

    name: str
    column: str
    cut: float
    unit: str
    below: str
    at_or_above: str

    def labels(self, cut: float) -> tuple[str, str]:
        """The two group labels for ``cut``."""
        return (self.below.format(cut=f"{cut:g}"), self.at_or_above.format(cut=f"{cut:g}"))


SUBGROUPS: dict[str, SubgroupDefinition] = {
    "bmi": SubgroupDefinition("bmi", "bmi_kg_m2", 23.0, "kg/m2", "BMI < {cut}",
                              "BMI >= {cut}"),
    "duration": SubgroupDefinition("duration", "diabetes_duration_years", 10.0, "years",
                                   "duration < {cut} y", "duration >= {cut} y"),
    "onset": SubgroupDefinition("onset", "age_at_diagnosis_years", 18.0, "years",
                                "juvenile onset (< {cut} y)", "adult onset (>= {cut} y)"),
}
"""The published subgroups: BMI < 23 kg/m2 (Nguyen 2021), duration < 10 years (Nguyen 2021),
adult onset at >= 18 years (Lu 2021)."""


def severity_strata(baseline: pd.DataFrame, *, value_column: str = "baseline",
                    moderate_lower: float = SEVERITY_MODERATE_LOWER,
                    severe_above: float = SEVERITY_SEVERE_ABOVE) -> pd.DataFrame:
    """Baseline-HbA1c severity strata: moderate (6.2-8%) and severe (> 8%).

    Parameters
    ----------
    baseline : DataFrame
        One row per subject with ``subject_id`` and the baseline HbA1c in % (e.g. the output
        of :func:`cohort.derive.baseline.baseline_values`).
    value_column : str, keyword-only
        Column holding baseline HbA1c (%), default ``"baseline"``.
    moderate_lower : float, keyword-only
        Lower end (inclusive) of the moderate stratum, default 6.2 (%).
    severe_above : float, keyword-only
        Baseline HbA1c above which a subject is severe, default 8.0 (%); 8.0 itself is
        moderate.

    Returns
    -------
    DataFrame
        ``subject_id``, ``stratum`` (``"moderate"``, ``"severe"`` or NA), ``reason`` (NA
        when the subject has a stratum).
    """
    for col in ("subject_id", value_column):
        if col not in baseline.columns:
            raise AnalysisError(f"severity_strata needs a {col!r} column; got columns "
                                f"{list(baseline.columns)}")
    if not moderate_lower < severe_above:
        raise AnalysisError(f"moderate_lower ({moderate_lower}) must be below severe_above "
                            f"({severe_above})")
    if baseline["subject_id"].duplicated().any():
        raise AnalysisError("severity_strata needs one baseline row per subject")
    b = pd.to_numeric(baseline[value_column], errors="coerce").to_numpy(dtype=float)
    stratum = np.full(len(b), None, dtype=object)
    reason = np.full(len(b), None, dtype=object)
    stratum[b > severe_above] = "severe"
    stratum[(b >= moderate_lower) & (b <= severe_above)] = "moderate"
    reason[np.isnan(b)] = "no baseline HbA1c"
    for i in np.flatnonzero(b < moderate_lower):
        reason[i] = f"baseline HbA1c {b[i]:.3g}% is below {moderate_lower:g}%: in neither stratum"
    return pd.DataFrame({
        "subject_id": baseline["subject_id"].astype(str).to_numpy(dtype=object),
        "stratum": pd.array(stratum, dtype="string"),
        "reason": pd.array(reason, dtype="string"),
    })


def subgroup(subjects: pd.DataFrame, name: str, *, cut: float | None = None) -> pd.DataFrame:
    """Assign every subject to a subgroup.

    Parameters
    ----------
    subjects : DataFrame
        The subjects table.
    name : str
        ``"bmi"`` (BMI < 23 vs >= 23 kg/m2), ``"duration"`` (diabetes duration < 10 vs >= 10
        years), ``"onset"`` (age at diagnosis < 18 vs >= 18 years), or the name of any other
        subjects column (text: used as is; numeric: needs ``cut``).
    cut : float or None, keyword-only
        Cut point in the column's unit; values below it form the first group. Default: the
        published cut for ``bmi``/``duration``/``onset``.

    Returns
    -------
    DataFrame
        ``subject_id``, ``subgroup`` (label, ordered as below/at-or-above for cut
        subgroups), ``reason`` (NA when assigned, e.g. ``"bmi_kg_m2 missing"`` otherwise).

    Raises
    ------
    AnalysisError
        Unknown name or column, a numeric column without a cut, or a column that is empty for
        every subject.
    """
    if "subject_id" not in subjects.columns:
        raise AnalysisError("the subjects table has no subject_id column")
    definition = SUBGROUPS.get(name)
    column = definition.column if definition else name
    if column not in subjects.columns:
        raise AnalysisError(
            f"unknown subgroup {name!r}: not one of {sorted(SUBGROUPS)} and not a column of "
            f"the subjects table ({', '.join(map(str, subjects.columns))})")
    raw = subjects[column]
    ids = subjects["subject_id"].astype(str).to_numpy(dtype=object)
    missing = raw.isna().to_numpy()
    if missing.all():
        raise AnalysisError(f"subgroup {name!r}: {column} is missing for every subject; the "
                            "cohort cannot be split by it")
    numeric = pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw)
    if definition is not None or (numeric and cut is not None):
        cut = definition.cut if (definition and cut is None) else cut
        assert cut is not None
        low, high = (definition.labels(cut) if definition else
                     (f"{column} < {cut:g}", f"{column} >= {cut:g}"))
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        label = np.where(values < cut, low, high).astype(object)
    elif numeric:
        raise AnalysisError(f"subgroup {name!r}: {column} is numeric; give a cut point "
                            f"(e.g. cut={float(raw.median()):g})")
    else:
        label = raw.astype(object).astype(str).to_numpy(dtype=object)
    label[missing] = None
    return pd.DataFrame({
        "subject_id": ids,
        "subgroup": pd.array(label, dtype="string"),
        "reason": pd.array(np.where(missing, f"{column} missing", None), dtype="string"),
    })


def assign_groups(subjects: pd.DataFrame, by: str, *,
                  baseline: pd.DataFrame | None = None,
                  cut: float | None = None) -> pd.DataFrame:
    """Group label per subject for a by-group analysis.

    Parameters
    ----------
    subjects : DataFrame
        The subjects table.
    by : str
        ``"arm"`` (the subjects' arm), ``"stratum"`` (baseline-HbA1c severity, needs
        ``baseline``), or a subgroup accepted by :func:`subgroup` (``"bmi"``,
        ``"duration"``, ``"onset"`` or a subjects column).
    baseline : DataFrame or None, keyword-only
        ``subject_id`` and ``baseline`` HbA1c (%) for ``by="stratum"``.
    cut : float or None, keyword-only
        Cut point for a numeric subgroup column (see :func:`subgroup`).

    Returns
    -------
    DataFrame
        ``subject_id``, ``group``, ``reason`` (NA when the subject has a group).
    """
    if by == "arm":
        if "arm" not in subjects.columns:
            raise AnalysisError("the subjects table has no arm column")
        out = subgroup(subjects, "arm")
    elif by == "stratum":
        if baseline is None:
            raise AnalysisError("by='stratum' needs the baseline HbA1c of every subject")
        out = severity_strata(baseline).rename(columns={"stratum": "subgroup"})
    else:
        out = subgroup(subjects, by, cut=cut)
    return out.rename(columns={"subgroup": "group"})

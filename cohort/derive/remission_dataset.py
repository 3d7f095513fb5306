"""The per-subject data set for remission models: remission status and candidate predictors.

One row per subject of the universe: the status by a :class:`~cohort.derive.remission.RemissionRule`
(:func:`~cohort.derive.remission.derive_remission`), baselines, the cumulative cell dose up to
the assessment, and subject characteristics, each in the unit :data:`PREDICTOR_UNITS` gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohort.derive.baseline import baseline_values
from cohort.derive.remission import RemissionRule, derive_remission, resolve_remission_visit
from cohort.derive.universe import subject_universe
from cohort.derive.visit_labels import flagged_baseline, has_visit_labels, label_days
from cohort.errors import AnalysisError

__all__ = ["PREDICTOR_UNITS", "remission_dataset"]

PREDICTOR_UNITS: dict[str, str] = {
    "baseline_cpep_fast_nmol_l": "nmol/L",
    "baseline_cpep_pp_nmol_l": "nmol/L",
    "baseline_hba1c_pct": "%",
    "baseline_insulin_iu_kg_day": "IU/kg/day",
    "dose_1e6_cells_per_kg": "10^6 cells/kg",
    "dose_1e9_cells_total": "10^9 cells",
    "n_infusions": "1",
    "age_years": "years",
    "age_at_diagnosis_years": "years",
    "diabetes_duration_years": "years",
    "bmi_kg_m2": "kg/m2",
    "adult_onset": "1 (diagnosis at >= 18 years)",
    "sex_male": "1 (male)",
    "treated": "1 (not control)",
}
"""Candidate predictor columns of :func:`remission_dataset` and their units."""
"""Candidate predictor columns of :func:`remission_dataset` and their units."""


def _baseline_or_nan(measurements: pd.DataFrame, param: str, ids: pd.Index,
                     window: tuple[int, int], by_label: bool = False) -> np.ndarray:
    if not (measurements["param"] == param).any():
        return np.full(len(ids), np.nan)
    if by_label and has_visit_labels(measurements, param):
        base = flagged_baseline(measurements, param, subjects=ids)
    else:
        base = baseline_values(measurements, param, window=window, subjects=ids)
    return base.set_index("subject_id").reindex(ids)["baseline"].to_numpy(dtype=float)


def _cumulative_dose(subjects: pd.DataFrame, infusions: pd.DataFrame | None,
                     through_day: int) -> pd.DataFrame:
    ids = subjects["subject_id"].astype(str)
    out = pd.DataFrame({"subject_id": ids.to_numpy(dtype=object)})
    control = subjects["control"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if infusions is None or infusions.empty:
        per_kg = np.where(control, 0.0, np.nan)
        total = np.where(control, 0.0, np.nan)
        n_inf = np.zeros(len(ids), dtype=np.int64)
    else:
        inf = infusions.assign(subject_id=infusions["subject_id"].astype(str))
        inf = inf.loc[(inf["day"] <= through_day) & (inf["source"].astype(str) != "placebo")]
        weight = subjects.set_index(ids)["weight_kg"].astype("float64") \
            if "weight_kg" in subjects.columns else pd.Series(np.nan, index=ids)
        per = inf["dose_cells_per_kg"].astype("float64")
        tot = inf["dose_cells_total"].astype("float64") if "dose_cells_total" in inf.columns \
            else pd.Series(np.nan, index=inf.index)
        w = inf["subject_id"].map(weight).astype("float64")
        # a per-kg dose missing but the total and the body weight known: total / weight
        per = per.fillna(tot / w)
        tot = tot.fillna(per * w)
        grouped = pd.DataFrame({"subject_id": inf["subject_id"], "per": per, "tot": tot}) \
            .groupby("subject_id")
        per_sum = grouped["per"].sum(min_count=1)
        tot_sum = grouped["tot"].sum(min_count=1)
        # one unknown dose makes the cumulative dose unknown
        per_sum[grouped["per"].apply(lambda s: s.isna().any())] = np.nan
        tot_sum[grouped["tot"].apply(lambda s: s.isna().any())] = np.nan
        counts = grouped.size()
        per_kg = ids.map(per_sum).to_numpy(dtype=float)
        total = ids.map(tot_sum).to_numpy(dtype=float)
        n_inf = ids.map(counts).fillna(0).to_numpy(dtype=np.int64)
        per_kg = np.where(n_inf == 0, 0.0, per_kg)
        total = np.where(n_inf == 0, 0.0, total)
    out["dose_1e6_cells_per_kg"] = per_kg / 1e6
    out["dose_1e9_cells_total"] = total / 1e9
    out["n_infusions"] = n_inf
    return out


def remission_dataset(measurements: pd.DataFrame, subjects: pd.DataFrame,
                      infusions: pd.DataFrame | None = None, *,
                      rule: RemissionRule | None = None) -> pd.DataFrame:
    """One row per subject: remission by ``rule`` and the candidate predictors.

    Parameters
    ----------
    measurements, subjects, infusions : DataFrame
        Contract tables (C-peptide nmol/L, HbA1c %, insulin IU/kg/day; doses in cells/kg
        and cells).
    rule : RemissionRule, keyword-only
        The remission definition (default: Lu 2021).

    Returns
    -------
    DataFrame
        The columns of :func:`derive_remission` plus ``arm``, ``control``, ``treated``
        (0/1) and the predictors listed in :data:`PREDICTOR_UNITS`: baselines
        (``baseline_cpep_fast_nmol_l``, ``baseline_cpep_pp_nmol_l``, ``baseline_hba1c_pct``,
        ``baseline_insulin_iu_kg_day``; the last value in ``rule.baseline_window``, or the
        record flagged as baseline when the visit is by label), the cumulative active cell
        dose given up to the assessment day (the visit's median study day when by label;
        ``dose_1e6_cells_per_kg`` in 10^6 cells/kg,
        ``dose_1e9_cells_total`` in 10^9 cells; 0 for controls and placebo; a per-kg dose
        that was not recorded is total / body weight), ``n_infusions``, ``age_years``,
        ``age_at_diagnosis_years``, ``adult_onset`` (diagnosis at >= 18 years; NA when the age
        at diagnosis is missing), ``diabetes_duration_years``, ``bmi_kg_m2``, ``sex_male``;
        then every other column of ``subjects`` as it is (``sex``, declared extras, ...).
    """
    rule = resolve_remission_visit(measurements, rule or RemissionRule())
    for col in ("subject_id", "arm", "control"):
        if col not in subjects.columns:
            raise AnalysisError(f"the subjects table has no {col!r} column")
    ids = subject_universe(measurements, subjects)
    data = derive_remission(measurements, rule=rule, subjects=ids)
    subj = subjects.assign(subject_id=subjects["subject_id"].astype(str)).set_index(
        "subject_id").reindex(ids)
    data["arm"] = subj["arm"].astype("string").to_numpy()
    control = subj["control"].astype("boolean")
    data["control"] = control.to_numpy()
    data["treated"] = (~control).astype("Int64").to_numpy()
    window = rule.baseline_window
    for param, col in (("CPEP_FAST", "baseline_cpep_fast_nmol_l"),
                       ("CPEP_PP", "baseline_cpep_pp_nmol_l"),
                       ("HBA1C", "baseline_hba1c_pct"),
                       ("INSULIN_DOSE", "baseline_insulin_iu_kg_day")):
        data[col] = _baseline_or_nan(measurements, param, ids, window,
                                     by_label=rule.visit_label is not None)
    through = rule.visit.day
    if rule.visit_label is not None:
        # the labelled visit's median study day: the cells given up to the assessment
        through = round(float(label_days(measurements, rule.visit_label,
                                         params=rule.markers).median()))
    dose = _cumulative_dose(subjects.assign(subject_id=subjects["subject_id"].astype(str))
                            .set_index("subject_id", drop=False).reindex(ids)
                            .reset_index(drop=True), infusions, through)
    for col in ("dose_1e6_cells_per_kg", "dose_1e9_cells_total", "n_infusions"):
        data[col] = dose[col].to_numpy()
    for col in ("age_years", "age_at_diagnosis_years", "diabetes_duration_years",
                "bmi_kg_m2"):
        data[col] = (subj[col].astype("float64").to_numpy() if col in subj.columns
                     else np.nan)
    diag = data["age_at_diagnosis_years"].to_numpy(dtype=float)
    data["adult_onset"] = pd.array(np.where(np.isnan(diag), None, diag >= 18.0),
                                   dtype="boolean")
    sex = subj["sex"].astype("string") if "sex" in subj.columns else \
        pd.Series(pd.NA, index=ids, dtype="string")
    data["sex_male"] = pd.array(np.where(sex.isna().to_numpy(), None,
                                         (sex == "M").fillna(False).to_numpy()),
                                dtype="boolean")
    # every other subjects column (sex, site, declared extras, ...) comes along as it is, so
    # that any of them can be a subgroup or a predictor
    for col in subj.columns:
        if col not in data.columns:
            data[col] = subj[col].array
    return data

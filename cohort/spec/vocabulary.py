"""Names and codes a study spec may use: variables, parameters, canonical units, contract
codes. They mirror the data contract in ``schemas/*.yaml``."""

from __future__ import annotations

__all__ = [
    "BASELINE_VARIABLES",
    "CANONICAL_UNITS",
    "DAYS_PER_MONTH",
    "DEFAULT_BOUNDS",
    "DERIVED_FORMULAS",
    "DONORS",
    "DRUG_CLASSES",
    "COHORT_ONLY_VARIABLES",
    "OTHER_VARIABLES",
    "PARAMS",
    "ROUTES",
    "SOURCES",
    "SUBJECT_COLUMNS",
]

BASELINE_VARIABLES = (
    "age_years", "age_at_diagnosis_years", "diabetes_duration_years", "weight_kg",
    "height_cm", "bmi_kg_m2", "HBA1C", "FPG", "PPG", "CPEP_FAST", "CPEP_PP", "CPEP_AUC",
    "INSULIN_DOSE",
)
"""Continuous baseline variables: subjects columns and measurement parameters at baseline."""

SUBJECT_COLUMNS = BASELINE_VARIABLES[:6]
PARAMS = ("HBA1C", "FPG", "PPG", "CPEP_FAST", "CPEP_PP", "CPEP_AUC", "INSULIN_DOSE", "WEIGHT")
CANONICAL_UNITS = {"HBA1C": "%", "FPG": "mmol/L", "PPG": "mmol/L", "CPEP_FAST": "nmol/L",
                   "CPEP_PP": "nmol/L", "CPEP_AUC": "nmol/L*min", "INSULIN_DOSE": "IU/kg/day",
                   "WEIGHT": "kg"}
DERIVED_FORMULAS = {
    "bmi": ("bmi_kg_m2", ("weight_kg", "height_cm")),
    "weight": ("weight_kg", ("bmi_kg_m2", "height_cm")),
    "age": ("age_years", ("age_at_diagnosis_years", "diabetes_duration_years")),
    "age_at_diagnosis": ("age_at_diagnosis_years", ("age_years", "diabetes_duration_years")),
    "duration": ("diabetes_duration_years", ("age_years", "age_at_diagnosis_years")),
}
"""Derived baseline variables: formula name -> (variable, inputs)."""
OTHER_VARIABLES = ("dose_cells_per_kg", "dose_cells_total", "cumulative_dose_cells_per_kg",
                   "cumulative_dose_cells_total", "n_infusions", "follow_up_months", "remission",
                   "insulin_free")
"""Further variables conditions and targets may name."""
COHORT_ONLY_VARIABLES = ("site_id",)
"""Subjects columns a target's condition (``among``) may name beyond the generated variables:
the centre (``site_id``; a synthetic cohort holds ``design.sites.names``, or S1, S2...)."""
SOURCES = ("umbilical_cord", "bone_marrow", "adipose", "dental_pulp", "cord_blood",
           "peripheral_blood", "placebo")
DONORS = ("allogeneic", "autologous", "none")
ROUTES = ("intravenous", "pancreatic_artery", "other")
DRUG_CLASSES = ("insulin", "metformin", "sulfonylurea", "dpp4", "sglt2", "glp1", "tzd", "other")
DAYS_PER_MONTH = 30.4375

DEFAULT_BOUNDS = {
    "age_years": (0.0, 120.0), "age_at_diagnosis_years": (0.0, 120.0),
    "diabetes_duration_years": (0.0, 100.0), "weight_kg": (20.0, 300.0),
    "height_cm": (100.0, 230.0), "bmi_kg_m2": (10.0, 80.0),
    "HBA1C": (4.0, 16.0), "FPG": (1.5, 35.0), "PPG": (1.5, 45.0), "CPEP_FAST": (0.0, 10.0),
    "CPEP_PP": (0.0, 15.0), "CPEP_AUC": (0.0, 3000.0), "INSULIN_DOSE": (0.0, 3.0),
}
"""Physiological bounds (canonical units) every generated value keeps, whatever a spec says;
they sit inside the contract's plausible ranges, so any spec gives a valid cohort."""

"""Builders that turn the fixed R datasets (tests/fixtures/regression/*.csv) into contract
cohorts, shared by the test_regression_*.py files, plus checks that the cohorts are valid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import cohort

FIX = Path(__file__).parent / "fixtures" / "regression"
R = pd.read_csv(FIX / "regression_r.csv", keep_default_na=False)

DOSE_PER_KG = {"placebo": 0.0, "low": 0.3e6, "mid": 1.0e6, "high": 2.0e6}
ANCOVA_VISITS = {"week8": 56, "week12": 84}


def r_value(dataset: str, quantity: str) -> float:
    """A number R printed (17 significant digits)."""
    hit = R.loc[(R["dataset"] == dataset) & (R["quantity"] == quantity), "value"]
    assert len(hit) == 1, (dataset, quantity)
    return float(hit.iloc[0])


def subjects_frame(ids, arms, *, control, **columns) -> pd.DataFrame:
    n = len(ids)
    frame = pd.DataFrame({
        "subject_id": list(ids), "study_id": "TEST", "site_id": "1", "arm": list(arms),
        "control": list(control), "diabetes_type": "T2D",
        "sex": columns.pop("sex", ["M"] * n), "age_years": columns.pop("age_years", [55.0] * n),
        "last_contact_day": 400,
    })
    for k, v in columns.items():
        frame[k] = list(v)
    return frame


def measurement_rows(ids, day, values, param="HBA1C", unit="%") -> pd.DataFrame:
    return pd.DataFrame({"subject_id": list(ids), "day": day, "param": param,
                         "value": np.asarray(values, dtype=float), "unit": unit})


def ancova_cohort(*, drop_arms=(), extra_meas=None):
    """The Skyler-like ANCOVA data as a validated cohort (baseline day -3, weeks 8/12)."""
    d = pd.read_csv(FIX / "ancova_data.csv")
    d = d[~d["arm"].isin(drop_arms)]
    subj = subjects_frame(d.subject_id, d.arm, control=d.arm == "placebo", sex=d.sex,
                          age_years=d.age.astype(float))
    meas = [measurement_rows(d.subject_id, -3, d.baseline)]
    for col, day in ANCOVA_VISITS.items():
        meas.append(measurement_rows(d.subject_id, day, d[col]))
    if extra_meas is not None:
        meas.append(extra_meas)
    inf = pd.DataFrame({
        "subject_id": d.subject_id, "infusion_number": 1, "day": 0,
        "source": np.where(d.arm == "placebo", "placebo", "bone_marrow"),
        "donor": np.where(d.arm == "placebo", "none", "allogeneic"), "route": "intravenous",
        "dose_cells_per_kg": d.arm.map(DOSE_PER_KG).astype(float),
        "dose_cells_total": d.arm.map(DOSE_PER_KG).astype(float) * 90.0,
    })
    return cohort.from_frames({"subjects": subj, "measurements": pd.concat(meas),
                               "infusions": inf})


def paired_cohort():
    """The paired data: one arm, group as a text subjects column, baseline day 0, day 365."""
    d = pd.read_csv(FIX / "paired_data.csv")
    subj = subjects_frame(d.subject_id, ["MSC"] * len(d), control=[False] * len(d),
                          site_id=d.group)
    meas = pd.concat([measurement_rows(d.subject_id, 0, d.before),
                      measurement_rows(d.subject_id, 365, d.after)])
    inf = pd.DataFrame({"subject_id": d.subject_id, "infusion_number": 1, "day": 0,
                        "source": "umbilical_cord", "donor": "allogeneic",
                        "route": "intravenous", "dose_cells_per_kg": 1e6,
                        "dose_cells_total": 7e7})
    return cohort.from_frames({"subjects": subj, "measurements": meas, "infusions": inf})


def test_fixture_cohorts_are_valid():
    c = ancova_cohort()
    assert len(c.subjects) == 25 and set(c.subjects.arm) == set(DOSE_PER_KG)
    c = paired_cohort()
    assert len(c.subjects) == 87

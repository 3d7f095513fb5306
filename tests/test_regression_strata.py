"""Severity strata and subgroups at their published cut points (cohort.derive.strata)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort.derive.strata import assign_groups, severity_strata, subgroup
from cohort.errors import AnalysisError


def test_severity_boundaries():
    b = pd.DataFrame({"subject_id": list("ABCDEF"),
                      "baseline": [6.19, 6.2, 8.0, 8.0001, 11.0, np.nan]})
    s = severity_strata(b).set_index("subject_id")
    assert s["stratum"].tolist()[1:5] == ["moderate", "moderate", "severe", "severe"]
    assert pd.isna(s.loc["A", "stratum"])
    assert s.loc["A", "reason"] == "baseline HbA1c 6.19% is below 6.2%: in neither stratum"
    assert s.loc["F", "reason"] == "no baseline HbA1c"


def test_published_subgroups():
    subj = pd.DataFrame({"subject_id": ["a", "b", "c", "d"],
                         "bmi_kg_m2": [22.9, 23.0, np.nan, 30.0],
                         "diabetes_duration_years": [9.99, 10.0, 1.0, 25.0],
                         "age_at_diagnosis_years": [17.9, 18.0, 30.0, 5.0],
                         "sex": ["F", "M", None, "F"]})
    bmi = subgroup(subj, "bmi").set_index("subject_id")
    assert bmi.loc["a", "subgroup"] == "BMI < 23" and bmi.loc["b", "subgroup"] == "BMI >= 23"
    assert bmi.loc["c", "reason"] == "bmi_kg_m2 missing"
    dur = subgroup(subj, "duration").set_index("subject_id")["subgroup"]
    assert dur.tolist() == ["duration < 10 y", "duration >= 10 y", "duration < 10 y",
                            "duration >= 10 y"]
    onset = subgroup(subj, "onset").set_index("subject_id")["subgroup"]
    assert onset["a"] == "juvenile onset (< 18 y)" and onset["b"] == "adult onset (>= 18 y)"
    sex = subgroup(subj, "sex").set_index("subject_id")
    assert sex.loc["d", "subgroup"] == "F" and sex.loc["c", "reason"] == "sex missing"
    cut = subgroup(subj, "bmi", cut=25).set_index("subject_id")["subgroup"]
    assert cut["b"] == "BMI < 25"


def test_bad_subgroups():
    subj = pd.DataFrame({"subject_id": ["a"], "age_years": [50.0], "bmi_kg_m2": [np.nan]})
    with pytest.raises(AnalysisError, match="unknown subgroup 'shoe'"):
        subgroup(subj, "shoe")
    with pytest.raises(AnalysisError, match="numeric; give a cut point"):
        subgroup(subj, "age_years")
    with pytest.raises(AnalysisError, match="missing for every subject"):
        subgroup(subj, "bmi")
    with pytest.raises(AnalysisError, match="needs the baseline"):
        assign_groups(subj, "stratum")


@given(st.lists(st.one_of(st.none(), st.floats(3.0, 20.0)), min_size=1, max_size=30))
def test_every_subject_has_a_stratum_or_a_reason(values):
    b = pd.DataFrame({"subject_id": [f"s{i}" for i in range(len(values))],
                      "baseline": [np.nan if v is None else v for v in values]})
    s = severity_strata(b)
    assert len(s) == len(values)
    assert (s["stratum"].isna() == s["reason"].notna()).all()
    x = b["baseline"]
    assert (s.loc[x > 8, "stratum"] == "severe").all()
    assert (s.loc[(x >= 6.2) & (x <= 8), "stratum"] == "moderate").all()

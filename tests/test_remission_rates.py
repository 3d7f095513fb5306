"""Remission rates by arm and subgroup (reusing cohort.analysis.proportions) and the combined
remission analysis. Counts are hand-made: 27 MSC subjects with 11 remissions (Lu 2021's
published 11/27) and 26 controls with 3; the R numbers in the comments were printed by
R 4.2.2: binom.test(11, 27)$conf.int; fisher.test(matrix(c(11, 16, 3, 23), 2, byrow = TRUE));
prop.test(c(11, 3), c(27, 26)) with correct = TRUE and FALSE."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import cohort
from cohort.analysis.proportion_comparisons import compare_proportions
from cohort.analysis.proportions import proportion
from cohort.analysis.remission import remission_analysis, remission_rates
from cohort.errors import AnalysisError, CollinearityWarning, SmallSampleWarning


def _lu_like() -> cohort.Cohort:
    """53 subjects: MSC 11/27 remissions (6 of them adult onset), control 3/26; S53's
    postprandial follow-up is missing and its fasting value fell (undetermined)."""
    rng = np.random.default_rng(7)
    ids = [f"S{i:02d}" for i in range(1, 55)]
    control = [False] * 27 + [True] * 27
    remit = [True] * 11 + [False] * 16 + [True] * 3 + [False] * 24
    onset = [20.0] * 6 + [12.0] * 5 + [25.0] * 8 + [10.0] * 8 + [30.0] * 27
    subj = pd.DataFrame({
        "subject_id": ids, "study_id": "LU", "arm": ["standard care" if c else "MSC"
                                                    for c in control],
        "control": control, "diabetes_type": "T1D", "sex": "F", "age_years": 30.0,
        "age_at_diagnosis_years": onset, "weight_kg": 60.0, "last_contact_day": 400})
    rows = []
    for sid, r in zip(ids, remit, strict=True):
        b_fast = float(np.round(rng.uniform(0.1, 0.5), 3))
        b_pp = float(np.round(rng.uniform(0.3, 1.0), 3))
        f_fast = b_fast * (1.3 if r else 0.9)
        rows += [(sid, -5, "CPEP_FAST", b_fast), (sid, -5, "CPEP_PP", b_pp),
                 (sid, 365, "CPEP_FAST", round(f_fast, 4))]
        if sid != "S54":
            rows.append((sid, 365, "CPEP_PP", round(b_pp * 0.95, 4)))
    meas = pd.DataFrame(rows, columns=["subject_id", "day", "param", "value"]).assign(
        unit="nmol/L")
    inf = pd.DataFrame({"subject_id": ids[:27], "infusion_number": 1, "day": 0,
                        "source": "umbilical_cord", "donor": "allogeneic",
                        "route": "intravenous",
                        "dose_cells_per_kg": np.linspace(0.5e6, 2.5e6, 27),
                        "dose_cells_total": np.linspace(0.5e6, 2.5e6, 27) * 60})
    return cohort.from_frames({"subjects": subj, "measurements": meas, "infusions": inf})


@pytest.fixture(scope="module")
def lu() -> cohort.Cohort:
    return _lu_like()


@pytest.fixture(scope="module")
def result(lu):
    return remission_analysis(lu.measurements, lu.subjects, lu.infusions)


def test_rates_by_arm_match_r(result):
    s = result.summary
    overall = s.loc[s["subgroup_by"] == "all"].set_index("arm")
    assert overall.loc["MSC", ["x", "n"]].tolist() == [11, 27]
    # R: binom.test(11, 27)$conf.int
    np.testing.assert_allclose(overall.loc["MSC", ["ci_lower", "ci_upper"]].astype(float),
                               [0.223897291350581, 0.612016069740318], rtol=1e-9)
    # the control arm: 27 subjects, one (S54) undetermined
    assert overall.loc["standard care", ["x", "n", "n_excluded"]].tolist() == [3, 26, 1]
    ex = result.exclusions.set_index("subject_id")["reason"]
    assert list(ex.index) == ["S54"]
    assert "CPEP_PP: no CPEP_PP in days [310, 420]" in ex["S54"]


def test_between_arm_tests_reuse_proportions_and_match_r(result):
    c = result.comparisons
    allc = c.loc[c["subgroup_by"] == "all"].set_index(["measure", "method"])
    assert (c["reference"] == "standard care").all()
    # R: fisher.test p; prop.test with and without continuity correction
    np.testing.assert_allclose(allc.xs("fisher_exact", level=0)["p"].iloc[0],
                               0.0276080511671692, rtol=1e-9)
    chi = allc.xs("chi_square", level=0)["p"]
    np.testing.assert_allclose(sorted(chi), sorted([0.0358173952734932, 0.0159258766069482]),
                               rtol=1e-9)
    expected = compare_proportions(11, 27, 3, 26)
    pd.testing.assert_frame_equal(
        c.loc[c["subgroup_by"] == "all", expected.columns].reset_index(drop=True), expected)


def test_subgroup_rates(result):
    s = result.summary
    sub = s.loc[s["subgroup_by"] == "onset"].set_index(["subgroup", "arm"])
    assert sub.loc[("adult onset (>= 18 y)", "MSC"), ["x", "n"]].tolist() == [6, 14]
    assert sub.loc[("juvenile onset (< 18 y)", "MSC"), ["x", "n"]].tolist() == [5, 13]
    assert sub.loc[("adult onset (>= 18 y)", "standard care"), ["x", "n"]].tolist() == [3, 26]
    p = proportion(5, 13)
    np.testing.assert_allclose(sub.loc[("juvenile onset (< 18 y)", "MSC"), "ci_upper"],
                               p["cp_upper"])
    # no juvenile-onset controls: no comparison in that subgroup, rather than a crash
    comp = result.comparisons
    assert comp.loc[comp["subgroup_by"] == "onset", "subgroup"].unique().tolist() == [
        "adult onset (>= 18 y)"]


def test_model_within_treated_arm(lu):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = remission_analysis(lu.measurements, lu.subjects, lu.infusions,
                                 predictors=["dose_1e6_cells_per_kg"], population="treated",
                                 method="firth")
    m = res.model
    assert m.model["n"] == 27 and m.model["n_events"] == 11
    assert m.model["method"] == "firth"
    assert len(m.exclusions) == 26  # the controls judged (S54 is excluded before the model)


def test_dose_model_with_controls_warns(lu):
    with pytest.warns(CollinearityWarning, match="dose_1e6_cells_per_kg"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        remission_analysis(lu.measurements, lu.subjects, lu.infusions,
                           predictors=["dose_1e6_cells_per_kg"])


def test_json_document(result):
    doc = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert doc["analysis"] == "Remission"
    assert doc["rule"].startswith("rise >= 10% from baseline")
    assert doc["model"] is None
    assert doc["n_excluded"] == 1
    assert {"subject_id", "remission", "reason", "cpep_fast_status"} <= set(doc["subjects"][0])


def test_rates_input_errors():
    frame = pd.DataFrame({"subject_id": ["a"], "arm": ["x"], "control": [False],
                          "remission": pd.array([None], dtype="boolean")})
    with pytest.raises(AnalysisError, match="no subject has a determined remission"):
        remission_rates(frame, subgroup=None)
    with pytest.raises(AnalysisError, match="need a 'arm' column"):
        remission_rates(frame.drop(columns="arm"))

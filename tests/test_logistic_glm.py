"""Maximum-likelihood logistic regression against R's glm(family = binomial).

Reference numbers: tests/fixtures/remission/glm_reference.R (R 4.2.2, MASS 7.3-58.2), which also
generated the data (glm_data.csv). R was run with glm.control(epsilon = 1e-14), so its estimates
are converged far beyond the tolerances used here; JSON keeps every digit R printed.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohort.analysis.logistic import INTERCEPT, logistic_regression
from cohort.errors import CollinearityWarning, SmallSampleWarning

FIX = Path(__file__).parent / "fixtures" / "remission"
REF = json.loads((FIX / "glm_reference.json").read_text())


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    d = pd.read_csv(FIX / "glm_data.csv")
    d["control"] = d["treated"] == 0
    return d


def _fit(data: pd.DataFrame, key: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        if key == "all_subjects":
            return logistic_regression(data, "remission", ["cpep_fast", "treated", "age"])
        return logistic_regression(data, "remission", ["cpep_fast", "dose"],
                                   population="treated")


@pytest.mark.parametrize("key", ["all_subjects", "treated_only"])
def test_estimates_and_wald_match_glm(data, key):
    res = _fit(data, key)
    ref = REF[key]
    s = res.summary
    assert s["term"].tolist() == [INTERCEPT, *ref["terms"][1:]]
    # converged IRLS on both sides: agreement to rounding error of the fits
    for ours, theirs in [("estimate", "estimate"), ("std_error", "std_error"), ("z", "z"),
                         ("p_wald", "p_wald"), ("ci_lower_wald", "wald_lower"),
                         ("ci_upper_wald", "wald_upper")]:
        np.testing.assert_allclose(s[ours], ref[theirs], rtol=1e-8, err_msg=ours)
    assert res.model["n"] == ref["n"]
    assert res.model["n_events"] == ref["n_events"]
    np.testing.assert_allclose(res.model["loglik"], ref["loglik"], rtol=1e-10)
    np.testing.assert_allclose(res.model["aic"], ref["aic"], rtol=1e-10)
    np.testing.assert_allclose(2 * (res.model["loglik"] - res.model["loglik_null"]),
                               ref["null_deviance"] - ref["deviance"], rtol=1e-9)


@pytest.mark.parametrize("key", ["all_subjects", "treated_only"])
def test_profile_intervals_match_r(data, key):
    res = _fit(data, key)
    ref = REF[key]
    s = res.summary
    # exact profile bounds (R: uniroot on the profile deviance, tol 1e-12)
    np.testing.assert_allclose(s["ci_lower_profile"], ref["exact_profile_lower"], rtol=1e-7)
    np.testing.assert_allclose(s["ci_upper_profile"], ref["exact_profile_upper"], rtol=1e-7)
    # confint() (MASS) interpolates a spline through a grid of profile points; its bounds are
    # off the exact ones by up to 0.24% relative on these data, hence the 0.5% tolerance
    np.testing.assert_allclose(s["ci_lower_profile"], ref["mass_profile_lower"], rtol=5e-3)
    np.testing.assert_allclose(s["ci_upper_profile"], ref["mass_profile_upper"], rtol=5e-3)
    # the default interval is the profile one; the odds ratio interval is its exponential
    np.testing.assert_allclose(s["ci_lower"], s["ci_lower_profile"])
    np.testing.assert_allclose(s["or_ci_upper"], np.exp(s["ci_upper_profile"]))


@pytest.mark.parametrize("key", ["all_subjects", "treated_only"])
def test_likelihood_ratio_tests_match_drop1(data, key):
    res = _fit(data, key)
    ref = REF[key]
    s = res.summary.iloc[1:]  # drop1 does not test the intercept
    np.testing.assert_allclose(s["lr_chi2"], ref["lr_chi2"][1:], rtol=1e-8)
    np.testing.assert_allclose(s["p_lr"], ref["p_lr"][1:], rtol=1e-7)
    assert (s["p"] == s["p_lr"]).all()


def test_ci_method_selects_the_reported_interval(data):
    """Both intervals are always reported; ci_method picks the one in ci_lower/ci_upper."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        wald = logistic_regression(data, "remission", ["cpep_fast", "dose"],
                                   population="treated", ci_method="wald")
    s = wald.summary
    np.testing.assert_allclose(s["ci_lower"], REF["treated_only"]["wald_lower"], rtol=1e-8)
    np.testing.assert_allclose(s["or_ci_lower"], np.exp(s["ci_lower_wald"]))
    np.testing.assert_allclose(s["ci_lower_profile"], REF["treated_only"]["exact_profile_lower"],
                               rtol=1e-7)


def test_treated_population_lists_controls_as_exclusions(data):
    res = _fit(data, "treated_only")
    assert len(res.exclusions) == 26
    assert set(res.exclusions["reason"]) == {"control arm (population='treated')"}
    assert (res.summary["n_excluded"] == 26).all()


def test_small_sample_warning_names_events_per_variable(data):
    with pytest.warns(SmallSampleWarning, match=r"11 non-events for 2 predictor\(s\): 5.5 "):
        logistic_regression(data, "remission", ["cpep_fast", "dose"], population="treated")


def test_dose_with_controls_warns_and_points_to_treated_model(data):
    with pytest.warns(CollinearityWarning, match=r"'dose' is 0 for all 26 controls.*"
                      r"population='treated'"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = logistic_regression(data, "remission", ["cpep_fast", "dose"])
    assert any("collinear with the arm" in n for n in res.notes)


def test_treatment_indicator_is_not_mistaken_for_a_dose(data):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollinearityWarning)
        warnings.simplefilter("ignore", SmallSampleWarning)
        logistic_regression(data, "remission", ["cpep_fast", "treated"])


def test_complete_cases_with_counted_exclusions(data):
    d = data.copy()
    d.loc[[0, 5], "age"] = np.nan
    d.loc[7, "remission"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = logistic_regression(d, "remission", ["cpep_fast", "treated", "age"])
    assert res.model["n"] == 50
    ex = res.exclusions.set_index("subject_id")["reason"]
    assert ex.to_dict() == {"S01": "predictor age missing", "S06": "predictor age missing",
                            "S08": "outcome remission missing"}
    # the same fit as R would give on the complete cases: compare with a refit without them
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        ref = logistic_regression(d.dropna(), "remission", ["cpep_fast", "treated", "age"])
    np.testing.assert_allclose(res.summary["estimate"], ref.summary["estimate"])


def test_to_dict_is_json_ready(data):
    res = _fit(data, "treated_only")
    doc = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert doc["analysis"] == "Logistic"
    assert doc["model"]["method"] == "ml"
    assert doc["summary"][1]["term"] == "cpep_fast"
    assert doc["n_excluded"] == 26


def test_predict_proba_uses_the_fitted_coefficients(data):
    res = _fit(data, "all_subjects")
    p = res.predict_proba(data)
    lp = (res.coef[INTERCEPT] + res.coef["cpep_fast"] * data["cpep_fast"]
          + res.coef["treated"] * data["treated"] + res.coef["age"] * data["age"])
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-lp)))

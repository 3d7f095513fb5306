"""The statsmodels-backed linear model and the library-backed regression statistics.

The R comparisons of these paths are in test_regression_ancova.py, _effect_modification.py,
_dose.py and _paired.py (tolerance 1e-6 relative). Here: a hand-derived least-squares case,
the messages that replace a broken fit, and the edge cases where scipy or statsmodels would
otherwise warn or return a meaningless number.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from cohort.analysis import ancova
from cohort.analysis.dose_response import threshold_comparison
from cohort.analysis.linear_model import INTERCEPT, build_design, fit_ols
from cohort.analysis.paired import paired_stats
from cohort.errors import AnalysisError


def line_fit():
    # y = 1, 2, 4 at x = 0, 1, 2: slope 3/2, intercept 5/6, residuals 1/6, -1/3, 1/6,
    # RSS 1/6 on 1 df; (X'X)^-1 = [[5/6, -1/2], [-1/2, 1/2]]
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    return fit_ols(np.array([1.0, 2.0, 4.0]), build_design(frame, factors={}, numeric=["x"]))


def test_hand_derived_line():
    fit = line_fit()
    np.testing.assert_allclose(fit.coef, [5 / 6, 3 / 2], rtol=1e-12)
    assert fit.df_resid == 1 and fit.n == 3
    assert fit.rss == pytest.approx(1 / 6, rel=1e-12)
    assert fit.sigma == pytest.approx(math.sqrt(1 / 6), rel=1e-12)
    np.testing.assert_allclose(fit.cov, (1 / 6) * np.array([[5 / 6, -1 / 2], [-1 / 2, 1 / 2]]),
                               rtol=1e-12)
    co = fit.coefficients(0.95).set_index("term")
    se = math.sqrt(1 / 12)
    assert list(co.index) == [INTERCEPT, "x"]
    assert co.loc["x", "se"] == pytest.approx(se, rel=1e-12)
    assert co.loc["x", "t"] == pytest.approx(1.5 / se, rel=1e-12)
    # t with 1 df is Cauchy: two-sided p = 1 - 2 atan(t) / pi; the 97.5% quantile tan(0.475 pi)
    assert co.loc["x", "p"] == pytest.approx(1 - 2 * math.atan(1.5 / se) / math.pi, rel=1e-10)
    q = math.tan(0.475 * math.pi)
    assert co.loc["x", "ci_lower"] == pytest.approx(1.5 - q * se, rel=1e-10)
    # the fitted value at x = 1 as a contrast, and the slope's F test (F = t^2)
    at1 = fit.contrast(np.array([1.0, 1.0]))
    assert at1["estimate"] == pytest.approx(5 / 6 + 3 / 2, rel=1e-12)
    assert at1["se"] == pytest.approx(math.sqrt(1 / 6 * (5 / 6 - 1 + 1 / 2)), rel=1e-12)
    ft = fit.f_test(["x"])
    assert ft["statistic"] == pytest.approx((1.5 / se) ** 2, rel=1e-12)
    assert (ft["df_num"], ft["df_den"]) == (1.0, 1.0)
    assert ft["p"] == pytest.approx(co.loc["x", "p"], rel=1e-10)


def test_zero_contrast_is_nan_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = line_fit().contrast(np.zeros(2))
    assert res["estimate"] == 0 and res["se"] == 0
    assert math.isnan(res["statistic"]) and math.isnan(res["p"])


def test_f_test_of_unknown_term_is_explained():
    with pytest.raises(AnalysisError, match=r"F test of \['z'\]: give model terms"):
        line_fit().f_test(["z"])


def test_messages_instead_of_a_broken_fit():
    frame = pd.DataFrame({"arm": ["a", "a", "b", "b"], "bmi": [20.0, 25.0, 22.0, 30.0]})
    frame["bmi2"] = 2 * frame["bmi"]
    design = build_design(frame, factors={"arm": ["a", "b"]}, numeric=["bmi", "bmi2"])
    y = np.array([0.1, -0.2, 0.3, 0.0])
    with pytest.raises(AnalysisError, match="same response"):
        fit_ols(np.full(4, 0.5), design)
    with pytest.raises(AnalysisError, match="4 subjects for 4 model coefficients"):
        fit_ols(y, design)
    frame = pd.concat([frame, frame.assign(bmi=frame.bmi + 1, bmi2=2 * (frame.bmi + 1))])
    design = build_design(frame, factors={"arm": ["a", "b"]}, numeric=["bmi", "bmi2"])
    with pytest.raises(AnalysisError, match="cannot separate 'bmi2' from the other terms"):
        fit_ols(np.resize(y, 8) + np.arange(8) / 10, design)


def test_old_import_paths_still_work():
    from cohort.analysis import linear_model

    for name in ("Design", "LinearFit", "build_design", "fit_ols", "INTERCEPT"):
        assert getattr(ancova, name) is getattr(linear_model, name)
    from cohort.analysis._common import arm_levels, prepare_changes

    assert ancova.prepare_changes is prepare_changes and ancova._arm_levels is arm_levels


def test_welch_with_identical_changes_gives_no_test():
    # float rounding makes the SDs ~1e-17, not 0: a t statistic there would be noise
    welch, _ = threshold_comparison([2e9, 3e9, 4e9, 1e8, 2e8], [-0.3] * 5, threshold=1e9)
    assert math.isnan(welch["p"]) and "no variation" in welch["note"]
    # one constant group is fine: Welch uses the other group's variance
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        welch, _ = threshold_comparison([2e9, 3e9, 1e8, 2e8, 3e8], [-0.5, -0.5, 0.1, 0.3, 0.2],
                                        threshold=1e9)
    assert welch["df"] == pytest.approx(2.0) and welch["p"] < 0.01


def test_nearly_identical_changes_are_not_t_tested():
    # every change within 1e-14 of the mean: scipy would warn of precision loss
    before = np.array([7.0, 7.5, 8.0])
    res = paired_stats(before, before - 0.5 + np.array([0.0, 1e-15, 2e-15]))
    assert math.isnan(res["p"]) and "every change is the same" in res["note"]

"""Complete separation: the case Firth's method exists for, and what maximum likelihood says."""

import warnings

import numpy as np
import pytest

from cohort.analysis.logistic_fit import fit_firth, fit_ml
from cohort.analysis.logistic_profile import profile_interval
from cohort.errors import SeparationWarning

X8 = np.column_stack([np.ones(8), np.arange(1.0, 9.0)])
Y8 = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=float)


def test_ml_on_separated_data_warns_once_as_separation():
    with pytest.warns(SeparationWarning) as record:
        fit_ml(X8, Y8)
    assert sum(issubclass(w.category, SeparationWarning) for w in record) == 1


def test_ml_without_warn_records_separation_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning at all fails the test
        fit = fit_ml(X8, Y8, warn=False)
    assert fit.perfect_prediction


def test_firth_profile_interval_on_separated_data_is_finite_and_brackets_the_estimate():
    # x = 1..8 with y switching between 4 and 5: ML diverges, Firth gives a finite estimate.
    # Reference: the penalised log-likelihood l(b) + 0.5 log|X'WX| maximised and profiled
    # independently (scipy Nelder-Mead, xatol 1e-12, then brentq on the profile at
    # chi2(0.95, 1) / 2): estimate (-4.64735, 1.03274), intercept (-26.094247, -0.330223),
    # slope (0.134141, 5.746496).
    fit = fit_firth(X8, Y8)
    np.testing.assert_allclose(fit.coef, [-4.64734974, 1.03274439], rtol=1e-6)
    for j, expected in ((0, [-26.0942473, -0.330222914]), (1, [0.134140563, 5.74649614])):
        lo, hi = profile_interval(X8, Y8, fit, j, firth=True)
        assert lo < fit.coef[j] < hi
        np.testing.assert_allclose([lo, hi], expected, rtol=1e-6)

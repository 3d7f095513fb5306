"""Firth's penalised-likelihood logistic regression: published, independent-R and hand-derived
references, and separation.

1. Published: the endometrial cancer data of Heinze & Schemper (2002, Stat Med 21:2409; 79
   patients, histology grade HG on neovasculization NV, pulsatility index PI and endometrium
   height EH; NV quasi-completely separates HG). Firth estimates and standard errors as
   printed to 3 decimals (brglm2 ``type = "AS_mean"``, which is Firth's method for logistic
   regression) in github.com/tommasorigon/logistic-bias-reduction, ENDOMETRIAL/endometrial.md:
   intercept 3.775 (1.489), NV 2.929 (1.551), PI -0.035 (0.040), EH -2.604 (0.776).
   The data: Agresti (2015), github.com/alanagresti/categorical-data Endometrial.dat, copied to
   tests/fixtures/remission/endometrial.csv.
2. Independent R implementation (logistf is not installable here: no Debian package):
   tests/fixtures/remission/firth_reference.R solves Firth's modified score equations with a
   general nonlinear solver (nleqslv) and finds profile penalised-likelihood bounds by
   uniroot, giving estimates, SEs, profile intervals and penalised LR tests.
3. Hand-derived: with one binary covariate (a saturated 2x2 table) Firth's estimates are the
   logits of the table with 0.5 added to every cell (Firth 1993; Heinze & Schemper 2002).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohort.analysis.logistic import logistic_regression
from cohort.analysis.logistic_fit import detect_separation, fit_firth
from cohort.errors import SeparationWarning, SmallSampleWarning

FIX = Path(__file__).parent / "fixtures" / "remission"
REF = json.loads((FIX / "firth_reference.json").read_text())


def _firth(frame: pd.DataFrame, outcome: str, preds: list[str], **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return logistic_regression(frame, outcome, preds, method="firth", **kw)


@pytest.fixture(scope="module")
def endometrial():
    return _firth(pd.read_csv(FIX / "endometrial.csv"), "HG", ["NV", "PI", "EH"])


def test_endometrial_matches_published_estimates(endometrial):
    s = endometrial.summary
    # printed to 3 decimals: half a unit in the last place
    np.testing.assert_allclose(s["estimate"], [3.775, 2.929, -0.035, -2.604], atol=5e-4)
    np.testing.assert_allclose(s["std_error"], [1.489, 1.551, 0.040, 0.776], atol=5e-4)
    assert endometrial.model["separation"] == ["NV"]


@pytest.mark.parametrize("key", ["endometrial", "treated_only", "separated"])
def test_firth_matches_independent_r_implementation(key, endometrial):
    if key == "endometrial":
        res = endometrial
    elif key == "treated_only":
        d = pd.read_csv(FIX / "glm_data.csv").assign(control=lambda f: f["treated"] == 0)
        res = _firth(d, "remission", ["cpep_fast", "dose"], population="treated")
    else:
        res = _firth(pd.read_csv(FIX / "separated.csv"), "y", ["x", "z"])
    ref = REF[key]
    s = res.summary
    # R solved the modified score to |U*| < 1e-12 and the bounds by uniroot to 1e-12
    np.testing.assert_allclose(s["estimate"], ref["estimate"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(s["std_error"], ref["std_error"], rtol=1e-8)
    np.testing.assert_allclose(s["ci_lower_profile"], ref["profile_lower"], rtol=1e-7)
    np.testing.assert_allclose(s["ci_upper_profile"], ref["profile_upper"], rtol=1e-7)
    np.testing.assert_allclose(s["lr_chi2"], ref["lr_chi2"], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(s["p_lr"], ref["p_lr"], rtol=1e-6)
    np.testing.assert_allclose(res.model["objective"], ref["penalised_loglik"], rtol=1e-10)
    np.testing.assert_allclose(res.model["loglik"], ref["loglik"], rtol=1e-9)
    np.testing.assert_allclose(res.model["lr_chi2"], ref["model_lr_chi2"], rtol=1e-7)


@pytest.mark.parametrize(("a", "b", "c", "d"), [(0, 22, 7, 356), (3, 5, 1, 9), (4, 0, 2, 6)])
def test_saturated_two_by_two_adds_one_half_to_every_cell(a, b, c, d):
    # rows: x = 1 (a events, b non-events), x = 0 (c events, d non-events)
    x = np.r_[np.ones(a + b), np.zeros(c + d)]
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    fit = fit_firth(np.column_stack([np.ones(x.size), x]), y)
    intercept = math.log((c + 0.5) / (d + 0.5))
    slope = math.log((a + 0.5) / (b + 0.5)) - intercept
    np.testing.assert_allclose(fit.coef, [intercept, slope], rtol=1e-9, atol=1e-12)
    assert fit.converged


def test_frequency_weights_equal_repeated_rows():
    rng = np.random.default_rng(3)
    x = np.column_stack([np.ones(20), rng.normal(size=20)])
    y = (rng.random(20) < 0.4).astype(float)
    w = rng.integers(1, 4, size=20)
    weighted = fit_firth(x, y, weights=w.astype(float))
    repeated = fit_firth(np.repeat(x, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.coef, repeated.coef, rtol=1e-10)


def test_ml_under_separation_warns_and_has_an_open_profile_interval():
    d = pd.read_csv(FIX / "separated.csv")
    with pytest.warns(SeparationWarning, match=r"\['x'\].*use method='firth'"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = logistic_regression(d, "y", ["x", "z"])
    s = res.summary.set_index("term")
    assert s.loc["x", "ci_upper_profile"] == math.inf
    assert s.loc["x", "or_ci_upper"] == math.inf
    # the likelihood-ratio test stays valid under separation (it compares maxima)
    assert 0 < s.loc["x", "p_lr"] < 0.05
    assert res.model["separation"] == ["x"]
    firth = _firth(d, "y", ["x", "z"])
    assert np.isfinite(firth.summary["ci_upper_profile"]).all()
    assert any("Firth's estimates remain finite" in n for n in firth.notes)


def test_detect_separation():
    x = np.column_stack([np.ones(6), [1, 2, 3, 4, 5, 6]])
    assert detect_separation(x, np.array([0, 0, 0, 1, 1, 1.0]), ["(Intercept)", "v"]) is not None
    assert detect_separation(x, np.array([0, 1, 0, 1, 0, 1.0])) is None
    # quasi-complete: ties at the boundary
    xq = np.column_stack([np.ones(6), [1, 2, 3, 3, 5, 6]])
    assert detect_separation(xq, np.array([0, 0, 0, 1, 1, 1.0])) is not None

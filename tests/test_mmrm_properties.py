"""Invariances of the MMRM (hypothesis, derandomised): record order and subject labels do not
matter; the fit is equivariant under a change of the response's unit and origin; every
structure's derivatives are those of its matrix (finite differences)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.analysis.mmrm import STRUCTURES, make_structure, mmrm

FEV = pd.read_csv(Path(__file__).parent / "fixtures" / "mmrm" / "fev_data.csv")
VISITS = ["VIS1", "VIS2", "VIS3", "VIS4"]
ARMS = ["PBO", "TRT"]


def _fit(d: pd.DataFrame, cov: str = "us", response: str = "FEV1"):
    return mmrm(d, response=response, subject="USUBJID", visit="AVISIT", visit_levels=VISITS,
                factors={"ARMCD": ARMS, "AVISIT": VISITS}, interactions=[("ARMCD", "AVISIT")],
                covariance=cov)


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    d = FEV[FEV["USUBJID"].isin([f"PT{i}" for i in range(1, 81)])]
    return d.dropna(subset=["FEV1"]).reset_index(drop=True)


@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 2**32 - 1), scale=st.floats(0.01, 100.0),
       shift=st.floats(-100.0, 100.0))
def test_order_labels_and_units(small, seed, scale, shift):
    base = _fit(small)
    rng = np.random.default_rng(seed)
    d = small.iloc[rng.permutation(len(small))].copy()
    d["USUBJID"] = "S" + d["USUBJID"].str[::-1]
    d["FEV1"] = shift + scale * d["FEV1"]
    m = _fit(d)
    # intercept and visit columns absorb the shift; everything scales with the unit
    b = base.beta * scale
    b[0] += shift
    np.testing.assert_allclose(m.beta, b, rtol=1e-7, atol=1e-7 * scale)
    np.testing.assert_allclose(m.fit.sigma, base.fit.sigma * scale**2, rtol=1e-6)
    lvec = m.design.row({"ARMCD": "TRT", "AVISIT": "VIS4"}) - m.design.row(
        {"ARMCD": "PBO", "AVISIT": "VIS4"})
    a, c = m.contrast(lvec), base.contrast(lvec)
    assert a["se"] == pytest.approx(c["se"] * scale, rel=1e-6)
    assert a["df"] == pytest.approx(c["df"], rel=1e-5)
    assert a["p"] == pytest.approx(c["p"], rel=1e-5)


@pytest.mark.parametrize("code", list(STRUCTURES))
def test_derivatives_match_finite_differences(code):
    st_ = make_structure(code, 4)
    rng = np.random.default_rng(7)
    cov = np.cov(rng.normal(size=(40, 4)) @ rng.normal(size=(4, 4)), rowvar=False)
    theta = st_.start(cov)
    _, d1, d2 = st_.derivatives(theta, order=2)
    h = 1e-6
    for k in range(st_.n_params):
        e = np.zeros(st_.n_params)
        e[k] = h
        num1 = (st_.sigma(theta + e) - st_.sigma(theta - e)) / (2 * h)
        np.testing.assert_allclose(d1[k], num1, rtol=1e-6, atol=1e-6)
        num2 = (st_.derivatives(theta + e, 1)[1] - st_.derivatives(theta - e, 1)[1]) / (2 * h)
        np.testing.assert_allclose(d2[k], num2, rtol=1e-5, atol=1e-5)
    assert st_.linear == (np.abs(d2).max() == 0)


@pytest.mark.parametrize("df", ["satterthwaite", "kr", "kr-linear", "residual",
                                "between-within"])
def test_one_row_f_test_is_the_squared_t(small, df):
    from cohort.analysis.mmrm.type3 import f_test

    m = mmrm(small, response="FEV1", subject="USUBJID", visit="AVISIT", visit_levels=VISITS,
             factors={"ARMCD": ARMS, "AVISIT": VISITS}, interactions=[("ARMCD", "AVISIT")],
             covariance="ar1h", df=df)
    lvec = m.design.row({"ARMCD": "TRT", "AVISIT": "VIS3"}) - m.design.row(
        {"ARMCD": "PBO", "AVISIT": "VIS3"})
    c, f = m.contrast(lvec), f_test(m, lvec)
    assert f["statistic"] == pytest.approx(c["statistic"] ** 2, rel=1e-9)
    assert f["den_df"] == pytest.approx(c["df"], rel=1e-9)
    assert f["p"] == pytest.approx(c["p"], rel=1e-7)

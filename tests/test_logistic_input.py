"""Bad input to the logistic model: a clear AnalysisError naming the problem, never a traceback
from numpy or statsmodels; plus property tests of the design builder."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort.analysis.logistic import logistic_regression
from cohort.analysis.logistic_design import build_design
from cohort.errors import AnalysisError, CohortError, SmallSampleWarning


def _frame(n: int = 30, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({
        "subject_id": [f"S{i:02d}" for i in range(n)],
        "y": (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int),
        "x": x, "z": rng.normal(size=n), "control": np.arange(n) % 2 == 0,
    })


def _run(frame: pd.DataFrame, preds: list[str], **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return logistic_regression(frame, "y", preds, **kw)


@pytest.mark.parametrize(("change", "preds", "match"), [
    (lambda f: f.assign(y=0), ["x"], r"no events: all 30 subjects have y = 0"),
    (lambda f: f.assign(y=1), ["x"], r"all 30 subjects have y = 1 \(no non-events\)"),
    (lambda f: f.assign(z=2.5), ["x", "z"], r"predictor 'z' is constant \(2.5 for all 30"),
    (lambda f: f.assign(z=np.nan), ["x", "z"], r"predictor 'z' is missing for all 30"),
    (lambda f: f.assign(z=["a", "b"] * 15), ["x", "z"], r"predictor 'z' is not numeric"),
    (lambda f: f.assign(z=2 * f["x"] + 1), ["x", "z"], r"'z' is a linear combination of"),
    (lambda f: f.assign(y=2), ["x"], r"outcome 'y' must be 0 or 1; got \[2.0\]"),
    (lambda f: f.assign(y="yes"), ["x"], r"outcome 'y' must be 0/1 or true/false"),
    (lambda f: f, ["x", "nope"], r"column\(s\) \['nope'\] not found"),
    (lambda f: f, [], r"no predictors given"),
    (lambda f: f, ["x", "x"], r"listed twice"),
    (lambda f: f.head(3), ["x", "z"], r"3 subjects for 3 coefficients"),
])
def test_bad_input_raises_a_clear_error(change, preds, match):
    frame = change(_frame())
    with pytest.raises(AnalysisError, match=match):
        _run(frame, preds)


def test_errors_are_cohort_errors():
    assert issubclass(AnalysisError, CohortError)
    with pytest.raises(CohortError):
        _run(_frame().assign(y=0), ["x"])


def test_bad_options():
    with pytest.raises(AnalysisError, match="method must be 'auto', 'ml' or 'firth'"):
        _run(_frame(), ["x"], method="bayes")
    with pytest.raises(AnalysisError, match="population='treated' needs the control-arm"):
        _run(_frame().drop(columns="control"), ["x"], population="treated")
    with pytest.raises(AnalysisError, match="every row is a control"):
        _run(_frame().assign(control=True), ["x"], population="treated")


def test_outcome_all_zero_after_exclusions_is_reported():
    f = _frame()
    f.loc[f["y"] == 1, "x"] = np.nan
    with pytest.raises(AnalysisError, match="no events"):
        _run(f, ["x"])


def test_boolean_outcome_and_predictor_are_indicators():
    f = _frame()
    a = _run(f, ["x", "control"])
    b = _run(f.assign(y=f["y"].astype(bool), control=f["control"].astype(int)), ["x", "control"])
    np.testing.assert_allclose(a.summary["estimate"], b.summary["estimate"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 1)),
                          st.one_of(st.none(), st.floats(-5, 5, allow_nan=False))),
                min_size=1, max_size=25))
def test_design_either_raises_a_clear_error_or_accounts_for_every_row(rows):
    frame = pd.DataFrame({"subject_id": [f"S{i}" for i in range(len(rows))],
                          "y": pd.array([r[0] for r in rows], dtype="Int64"),
                          "x": pd.array([r[1] for r in rows], dtype="Float64")})
    try:
        design = build_design(frame, "y", ["x"])
    except AnalysisError:
        return
    # every input row is either used or listed with a reason
    assert design.n + len(design.exclusions) == len(frame)
    assert set(design.ids).isdisjoint(design.exclusions["subject_id"])
    assert np.isfinite(design.x).all()
    assert set(np.unique(design.y)) == {0.0, 1.0}

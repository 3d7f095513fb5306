"""Prediction models: the vectorised bootstrap equals the scikit-learn loop, metrics against
their definitions, the Firth estimator against scikit-learn's estimator checks, cross-validation
and bad input."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from cohort.analysis.prediction import (
    FirthLogisticRegression,
    bootstrap_optimism,
    calibration_table,
    decision_curve,
    evaluate_prediction,
    make_model,
    performance,
    repeated_cv,
)
from cohort.analysis.prediction_metrics import auc_batched
from cohort.analysis.prediction_resampling import _weighted_medians
from cohort.errors import AnalysisError, SmallSampleWarning

FIX = Path(__file__).parent / "fixtures" / "remission"


@pytest.fixture(scope="module")
def lu_like() -> pd.DataFrame:
    """The 53-subject data set of glm_reference.R."""
    return pd.read_csv(FIX / "glm_data.csv").assign(control=lambda f: f["treated"] == 0)


def _xy(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return frame[["cpep_fast", "treated", "age"]].to_numpy(float), \
        frame["remission"].to_numpy(float)


@pytest.mark.parametrize("model", ["logistic", "ridge", "firth"])
@pytest.mark.parametrize("with_missing", [False, True])
def test_vectorised_bootstrap_equals_sklearn_loop(lu_like, model, with_missing):
    x, y = _xy(lu_like)
    if with_missing:
        rng = np.random.default_rng(5)
        x[rng.random(x.shape) < 0.1] = np.nan
    fast = bootstrap_optimism(x, y, model, n_bootstrap=20, random_state=11,
                              engine="vectorised")
    loop = bootstrap_optimism(x, y, model, n_bootstrap=20, random_state=11, engine="sklearn")
    assert (fast["n_not_converged"] == 0).all() and (loop["n_not_converged"] == 0).all()
    # both paths solve the same problems to 1e-10 (Newton step size): the optimism agrees to
    # far below any reporting precision; measured differences are about 2e-11
    cols = ["apparent", "optimism", "corrected"]
    np.testing.assert_allclose(fast[cols], loop[cols], atol=1e-8)
    assert fast["n_used"].tolist() == [20] * 4


def test_apparent_calibration_of_ml_logistic_is_perfect(lu_like):
    """The ML score equations make the mean fitted risk equal the event rate (intercept 0)
    and the slope of logit(p) exactly 1 on the development data."""
    x, y = _xy(lu_like)
    p = make_model("logistic").fit(x, y).predict_proba(x)[:, 1]
    perf = performance(y, p)
    np.testing.assert_allclose(perf["calibration_intercept"], 0.0, atol=1e-8)
    np.testing.assert_allclose(perf["calibration_slope"], 1.0, atol=1e-8)
    np.testing.assert_allclose(perf["auc"], roc_auc_score(y, p), rtol=1e-12)
    np.testing.assert_allclose(perf["brier"], np.mean((y - p) ** 2), rtol=1e-12)


def test_calibration_slope_detects_overfitting_and_shrinkage():
    rng = np.random.default_rng(0)
    lp = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-lp))).astype(float)
    over = performance(y, 1 / (1 + np.exp(-2 * lp)))        # too extreme
    under = performance(y, 1 / (1 + np.exp(-0.5 * lp)))     # too modest
    assert abs(over["calibration_slope"] - 0.5) < 0.05
    assert abs(under["calibration_slope"] - 2.0) < 0.2
    high = performance(y, 1 / (1 + np.exp(-(lp + 1))))      # risks too high
    assert abs(high["calibration_intercept"] + 1.0) < 0.1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 4), st.integers(0, 9)),
                min_size=2, max_size=30))
def test_weighted_auc_equals_auc_of_expanded_sample(rows):
    y = np.array([r[0] for r in rows], dtype=float)
    w = np.array([r[1] for r in rows], dtype=float)
    s = np.array([r[2] for r in rows], dtype=float) / 10  # ties on purpose
    ye, se = np.repeat(y, w.astype(int)), np.repeat(s, w.astype(int))
    got = auc_batched(y, s[None, :], w[None, :])[0]
    if ye.size == 0 or ye.min() == ye.max():
        assert np.isnan(got)
    else:
        np.testing.assert_allclose(got, roc_auc_score(ye, se), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(-5, 5)), st.integers(0, 3)),
                min_size=1, max_size=20))
def test_weighted_median_equals_simple_imputer_on_expanded_sample(rows):
    x = np.array([np.nan if v is None else v for v, _ in rows], dtype=float)[:, None]
    c = np.array([k for _, k in rows])
    got = _weighted_medians(x, c[None, :])[0, 0]
    expanded = np.repeat(x, c, axis=0)
    observed = expanded[~np.isnan(expanded[:, 0])]
    if observed.size == 0:
        assert np.isnan(got)
    else:
        imp = SimpleImputer(strategy="median").fit(expanded)
        np.testing.assert_allclose(got, imp.statistics_[0])


def test_decision_curve_by_hand():
    y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0], dtype=float)
    p = np.array([0.9, 0.6, 0.6, 0.3, 0.25, 0.2, 0.1, 0.1, 0.05, 0.05])
    dc = decision_curve(y, p, thresholds=np.array([0.2, 0.5])).set_index("threshold")
    # t = 0.2: treated p >= 0.2 -> 6 subjects, TP 3, FP 3: 3/10 - 3/10 * 0.25 = 0.225
    np.testing.assert_allclose(dc.loc[0.2, "net_benefit"], 0.3 - 0.3 * 0.25)
    # t = 0.5: TP 2, FP 1: 0.2 - 0.1 * 1 = 0.1; treat all: 0.3 - 0.7 = -0.4
    np.testing.assert_allclose(dc.loc[0.5, "net_benefit"], 0.1)
    np.testing.assert_allclose(dc.loc[0.5, "treat_all"], -0.4)


def test_calibration_table_accounts_for_everyone():
    rng = np.random.default_rng(1)
    p = rng.random(53)
    y = (rng.random(53) < p).astype(float)
    tab = calibration_table(y, p, n_bins=5)
    assert tab["n"].sum() == 53 and len(tab) == 5
    assert (tab["ci_lower"] <= tab["observed"]).all() and (tab["observed"] <= tab["ci_upper"]).all()
    assert tab["predicted"].is_monotonic_increasing


@parametrize_with_checks(
    [FirthLogisticRegression()],
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data":
            "the check fits 30 features to 15 samples: the information matrix is singular, "
            "Firth's penalty is not defined and the solution is not unique; on full-rank data "
            "weights equal repeated rows (test_frequency_weights_equal_repeated_rows)",
    })
def test_firth_estimator_passes_sklearn_checks(estimator, check):
    check(estimator)


def test_firth_estimator_matches_the_inferential_fit(lu_like):
    from cohort.analysis.logistic import logistic_regression

    x, y = _xy(lu_like)
    est = FirthLogisticRegression().fit(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        ref = logistic_regression(lu_like, "remission", ["cpep_fast", "treated", "age"],
                                  method="firth")
    np.testing.assert_allclose(est.intercept_[0], ref.coef.iloc[0], rtol=1e-7)
    np.testing.assert_allclose(est.coef_[0], ref.coef.iloc[1:], rtol=1e-7)


def test_unpenalised_pipeline_matches_unpenalised_sklearn(lu_like):
    """The 'logistic' model is really unpenalised (C=inf): same risks as a plain unpenalised
    fit; scikit-learn's default (C=1, L2) differs."""
    x, y = _xy(lu_like)
    ours = make_model("logistic").fit(x, y).predict_proba(x)[:, 1]
    plain = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12).fit(x, y)
    np.testing.assert_allclose(ours, plain.predict_proba(x)[:, 1], atol=1e-7)
    default = LogisticRegression().fit(x, y).predict_proba(x)[:, 1]
    assert np.max(np.abs(default - ours)) > 0.01


def test_repeated_cv_is_reproducible_and_honest(lu_like):
    x, y = _xy(lu_like)
    rng = np.random.default_rng(2)
    x = np.column_stack([x, rng.normal(size=len(y))])  # a pure-noise predictor
    a = repeated_cv(x, y, "logistic", n_splits=5, n_repeats=4, random_state=3)
    b = repeated_cv(x, y, "logistic", n_splits=5, n_repeats=4, random_state=3)
    c = repeated_cv(x, y, "logistic", n_splits=5, n_repeats=4, random_state=4)
    pd.testing.assert_frame_equal(a.per_repeat, b.per_repeat)
    assert not np.allclose(a.oof, c.oof)
    assert not np.isnan(a.oof).any()
    imp = a.importance.reshape(-1, 4).mean(axis=0)
    assert imp[0] > 0.05            # C-peptide carries the signal in these data
    assert abs(imp[3]) < 0.05       # noise does not


def test_too_few_events_per_fold_is_a_clear_error():
    y = np.array([1] * 7 + [0] * 30, dtype=float)
    x = np.arange(37, dtype=float)[:, None]
    with pytest.raises(AnalysisError, match=r"5-fold cross-validation needs at least 2 events "
                       r"and 2 non-events in every fold \(10 of each\); the data have 7 "
                       r"events: use at most 3 folds \(--folds 3\)"):
        repeated_cv(x, y, n_splits=5)
    y3 = np.array([1] * 3 + [0] * 30, dtype=float)
    with pytest.raises(AnalysisError, match="too few to cross-validate at all"):
        repeated_cv(np.arange(33, dtype=float)[:, None], y3, n_splits=2)


def _evaluate(frame: pd.DataFrame, **kw):
    settings_ = {"models": ["logistic", "forest"], "n_repeats": 2, "n_bootstrap": 10,
                 "n_estimators": 15, "random_state": 5, "population": "treated", **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return evaluate_prediction(frame, "remission", ["cpep_fast", "dose"], **settings_)


@pytest.fixture(scope="module")
def evaluated(lu_like):
    return _evaluate(lu_like)


def test_evaluate_prediction_tables(evaluated):
    s = evaluated.summary
    assert s[["model", "metric"]].values.tolist() == [
        [m, k] for m in ("logistic", "forest")
        for k in ("auc", "brier", "calibration_intercept", "calibration_slope")]
    assert (s["n"] == 27).all() and (s["n_events"] == 16).all() and (s["n_excluded"] == 26).all()
    np.testing.assert_allclose(s["corrected"], s["apparent"] - s["optimism"])
    auc = s.loc[s["metric"] == "auc"]
    assert (auc["optimism"] > 0).all()   # the apparent AUC is optimistic
    assert set(evaluated.roc["model"]) == {"logistic", "forest"}
    assert evaluated.importance["predictor"].tolist() == ["cpep_fast", "dose"] * 2
    assert evaluated.predictions.shape == (27, 4)
    doc = json.loads(json.dumps(evaluated.to_dict(), allow_nan=False))
    assert {"roc", "calibration", "decision", "importance", "predictions"} <= set(doc)


def test_evaluate_prediction_is_reproducible_from_one_seed(lu_like):
    a = _evaluate(lu_like, models=["forest"], n_estimators=5, n_bootstrap=4)
    b = _evaluate(lu_like, models=["forest"], n_estimators=5, n_bootstrap=4)
    c = _evaluate(lu_like, models=["forest"], n_estimators=5, n_bootstrap=4, random_state=6)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.importance, b.importance)
    assert not np.allclose(a.summary["optimism"], c.summary["optimism"])


@pytest.mark.parametrize(("change", "preds", "match"), [
    (lambda f: f.assign(remission=0), ["cpep_fast"], "no events"),
    (lambda f: f.assign(remission=1), ["cpep_fast"], "no non-events"),
    (lambda f: f.assign(age=40.0), ["cpep_fast", "age"], "predictor 'age' is constant"),
    (lambda f: f.assign(age=np.nan), ["cpep_fast", "age"], "'age' is missing for all 53"),
    (lambda f: f, ["cpep_fast"], "unknown model"),
])
def test_evaluate_prediction_bad_input(lu_like, change, preds, match):
    kwargs = {"models": ["boosting"]} if match == "unknown model" else {}
    with pytest.raises(AnalysisError, match=match):
        evaluate_prediction(change(lu_like), "remission", preds, n_repeats=1, n_bootstrap=5,
                            **kwargs)


def test_missing_predictor_values_are_imputed_inside_resampling(lu_like):
    frame = lu_like.copy()
    frame.loc[[1, 4, 9], "age"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = evaluate_prediction(frame, "remission", ["cpep_fast", "treated", "age"],
                                  models=["logistic"], n_repeats=2, n_bootstrap=10)
    assert res.summary["n"].iloc[0] == 53 and res.summary["n_excluded"].iloc[0] == 0
    assert any("imputed" in n for n in res.notes)

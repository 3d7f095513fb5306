"""Prediction of a binary outcome (remission) with honest small-sample evaluation.

Trials here have 11-30 events, so a model's apparent performance on its own data is optimistic.
This module measures how optimistic, in two ways, and reports both next to the apparent numbers:

* **repeated stratified cross-validation**: predictions for each subject from models that did
  not see that subject, pooled per repeat, over many random partitions;
* **bootstrap optimism correction** (Harrell; Steyerberg, *Clinical Prediction Models*, 2019,
  ch. 17): refit on each bootstrap sample, measure performance on that sample and on the
  original data; the mean difference is the optimism, subtracted from the apparent value.

Every model is a scikit-learn pipeline with median imputation and standardisation *inside* the
resampling (refitted on every training set): ``logistic`` (unpenalised, ``C=inf``: scikit-learn's
default is an L2 penalty, which biases coefficients at n = 53), ``ridge`` (L2-penalised),
``firth`` (Firth's penalised likelihood, :class:`FirthLogisticRegression`) and ``forest`` (a
random forest). Metrics: AUC (c-statistic), Brier score, calibration intercept
(calibration-in-the-large: ``logit P(y) = a + offset(logit p)``) and calibration slope
(``logit P(y) = a + b logit p``). The cross-validated predictions also give a ROC curve, a binned
calibration curve, a decision curve (net benefit) and permutation importance (loss of
cross-validated AUC when one predictor is shuffled, measured on held-out subjects only).

All randomness derives from one ``random_state`` through :class:`numpy.random.SeedSequence`.

For the logistic models the bootstrap runs all refits at once: bootstrap samples become frequency
weights on the original rows and Newton-Raphson runs batched over samples in numpy (imputation
and scaling recomputed per sample, exactly as the pipeline would). It gives the same numbers as a
scikit-learn loop (``engine="sklearn"``) and is about two orders of magnitude faster (see
``bench/bench_bootstrap.py``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats
from scipy.linalg import LinAlgWarning
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_curve
from sklearn.model_selection import RepeatedStratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from cohort.analysis._common import catch_only
from cohort.analysis.logistic_design import build_design, select_population
from cohort.analysis.logistic_fit import fit_firth
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.errors import AnalysisError, ConvergenceWarning, SmallSampleWarning

__all__ = [
    "METRICS",
    "MODELS",
    "FirthLogisticRegression",
    "PredictionResult",
    "bootstrap_optimism",
    "calibration_table",
    "calibration_intercept_slope",
    "decision_curve",
    "evaluate_prediction",
    "make_model",
    "performance",
    "repeated_cv",
    "roc_table",
]

MODELS = ("logistic", "ridge", "firth", "forest")
"""Model names accepted by :func:`make_model`."""
METRICS = ("auc", "brier", "calibration_intercept", "calibration_slope")
"""Performance measures, in the order they are reported."""
P_CLIP = 1e-8
"""Predicted probabilities are clipped to [P_CLIP, 1 - P_CLIP] before taking logits (a forest
can predict exactly 0 or 1)."""
_VECTORISED = ("logistic", "ridge", "firth")
_REFIT_WARNINGS = (SklearnConvergenceWarning, LinAlgWarning, ConvergenceWarning)
"""What a refit is expected to warn about on small resamples (no convergence, an ill-conditioned
Hessian: separation or a constant column in the sample): counted or accepted, not shown. Any
other warning passes through (:func:`cohort.analysis._common.catch_only`)."""


# --------------------------------------------------------------------------------------------
# the Firth estimator for pipelines


class FirthLogisticRegression(ClassifierMixin, BaseEstimator):
    """Firth's penalised-likelihood logistic regression as a scikit-learn classifier.

    Maximises ``log L(b) + 0.5 log|X' W X|`` (Jeffreys prior), which keeps estimates finite
    under separation and reduces their small-sample bias (Firth 1993; Heinze & Schemper 2002).
    Binary targets only; ``sample_weight`` are frequency weights.

    Parameters
    ----------
    fit_intercept : bool
        Add an intercept.
    max_iter : int
        Maximum Newton-Raphson iterations.
    tol : float
        Convergence tolerance on the largest coefficient step.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int
    """

    def __init__(self, *, fit_intercept: bool = True, max_iter: int = 300,
                 tol: float = 1e-8) -> None:
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: Any, y: Any,  # noqa: N803
            sample_weight: Any = None) -> FirthLogisticRegression:
        """Fit the model to ``X`` (n_samples, n_features) and binary ``y``."""
        xv, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if self.classes_.size != 2:
            raise ValueError(
                "Only binary classification is supported: FirthLogisticRegression needs "
                f"exactly 2 classes in y; got {self.classes_.size} "
                f"class{'' if self.classes_.size == 1 else 'es'}: {self.classes_.tolist()}")
        sample_weight = _check_sample_weight(sample_weight, xv, dtype=np.float64)
        design = np.column_stack([np.ones(xv.shape[0]), xv]) if self.fit_intercept else xv
        fit = fit_firth(design, y_enc.astype(np.float64), weights=sample_weight,
                        max_iter=self.max_iter, tol=self.tol)
        if not fit.converged:
            warnings.warn(f"Firth fit did not converge in {self.max_iter} iterations",
                          ConvergenceWarning, stacklevel=2)
        coef = fit.coef
        self.intercept_ = np.array([coef[0] if self.fit_intercept else 0.0])
        self.coef_ = (coef[1:] if self.fit_intercept else coef)[None, :]
        self.n_iter_ = np.array([fit.n_iter])
        return self

    def decision_function(self, X: Any) -> np.ndarray:  # noqa: N803
        """Linear predictor (log odds of ``classes_[1]``)."""
        check_is_fitted(self)
        xv = validate_data(self, X, reset=False, dtype=np.float64)
        return xv @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        """Probabilities of ``classes_[0]`` and ``classes_[1]``."""
        p = special.expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """The more probable class."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


def make_model(name: str, *, random_state: int | None = None, ridge_c: float = 1.0,
               n_estimators: int = 100) -> Any:
    """A scikit-learn pipeline: median imputation, standardisation, then the classifier.

    Parameters
    ----------
    name : {"logistic", "ridge", "firth", "forest"}
        ``logistic``: unpenalised logistic regression (``C=inf``; scikit-learn's default is an
        L2 penalty with ``C=1``). ``ridge``: L2-penalised logistic regression with inverse
        penalty ``ridge_c`` on standardised predictors. ``firth``: Firth's penalised
        likelihood. ``forest``: a random forest of ``n_estimators`` trees with at least 3
        subjects per leaf.
    random_state : int, optional
        Seed of the forest (the logistic models are deterministic).
    """
    if name == "logistic":
        clf = LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-10, max_iter=100)
    elif name == "ridge":
        clf = LogisticRegression(C=ridge_c, solver="newton-cholesky", tol=1e-10, max_iter=100)
    elif name == "firth":
        clf = FirthLogisticRegression()
    elif name == "forest":
        clf = RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=3,
                                     random_state=random_state, n_jobs=1)
    else:
        raise AnalysisError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return Pipeline([("impute", SimpleImputer(strategy="median")),
                     ("scale", StandardScaler()), ("model", clf)])


# --------------------------------------------------------------------------------------------
# batched Newton-Raphson (the vectorised bootstrap and the calibration fits)


def _solve_batched(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(h, g[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.empty_like(g)
        for b in range(g.shape[0]):
            out[b] = np.linalg.lstsq(h[b], g[b], rcond=None)[0]
        return out


def _lin(z: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Linear predictors (B, n) of designs z (B, n, k) and coefficients (B, k)."""
    return np.matmul(z, beta[:, :, None])[:, :, 0]


def _gram(z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z' diag(v) z for each of B designs (batched BLAS, much faster than einsum)."""
    return np.matmul(z.transpose(0, 2, 1) * v[:, None, :], z)


def _batched_objective(beta: np.ndarray, z: np.ndarray, y: np.ndarray, w: np.ndarray,
                       offset: np.ndarray, lam: np.ndarray, firth: bool) -> np.ndarray:
    eta = _lin(z, beta) + offset
    obj = np.sum(w * (y * eta - np.logaddexp(0.0, eta)), axis=1)
    obj -= 0.5 * np.sum(lam * beta**2, axis=1)
    if firth:
        pi = special.expit(eta)
        info = _gram(z, w * pi * (1 - pi))
        sign, logdet = np.linalg.slogdet(info)
        bad = ~((sign > 0) & np.isfinite(logdet))
        if bad.any():
            # pseudo-determinant: a column constant within a resample leaves info singular
            vals = np.linalg.eigvalsh(info[bad])
            keep = vals > vals.max(axis=1, keepdims=True) * info.shape[1] * np.finfo(float).eps
            logdet[bad] = np.where(keep, np.log(np.where(keep, vals, 1.0)), 0.0).sum(axis=1)
        obj += 0.5 * logdet
    return obj


def _batched_newton(z: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None,
                    offset: np.ndarray | None = None, lam: np.ndarray | None = None,
                    firth: bool = False, max_iter: int = 50, tol: float = 1e-8,
                    max_step: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``B`` logistic models at once: ``z`` is (B, n, k), ``y`` (n,), ``weights`` (B, n).

    Maximises the weighted log-likelihood, minus ``0.5 sum(lam * beta**2)`` (ridge), plus
    ``0.5 log|I|`` when ``firth``. Newton-Raphson with step halving per model; returns the
    coefficients (B, k) and a convergence flag (B,). Separated samples do not converge.
    """
    nb, n, k = z.shape
    w = np.ones((nb, n)) if weights is None else weights
    off = np.zeros((nb, n)) if offset is None else offset
    lam = np.zeros(k) if lam is None else lam
    beta = np.zeros((nb, k))
    converged = np.zeros(nb, dtype=bool)
    active = np.arange(nb)
    obj = _batched_objective(beta, z, y, w, off, lam, firth)
    eye_lam = np.diag(lam)
    for _ in range(max_iter):
        if active.size == 0:
            break
        zb, wb, ob, bb = z[active], w[active], off[active], beta[active]
        eta = _lin(zb, bb) + ob
        pi = special.expit(eta)
        v = wb * pi * (1.0 - pi)
        info = _gram(zb, v)
        resid = wb * (y - pi)
        if firth:
            try:
                inv = np.linalg.inv(info)
            except np.linalg.LinAlgError:
                inv = np.linalg.pinv(info, hermitian=True)
            h = v * np.sum(np.matmul(zb, inv) * zb, axis=2)
            resid = resid + h * (0.5 - pi)
        grad = np.matmul(resid[:, None, :], zb)[:, 0, :] - lam * bb
        step = _solve_batched(info + eye_lam, grad)
        big = np.abs(step).max(axis=1)
        step *= np.where(big > max_step, max_step / np.maximum(big, 1e-300), 1.0)[:, None]
        new = bb + step
        new_obj = _batched_objective(new, zb, y, wb, ob, lam, firth)
        old = obj[active]
        worse = new_obj < old - 1e-12 * np.maximum(1.0, np.abs(old))
        for _ in range(30):
            if not worse.any():
                break
            step[worse] /= 2.0
            new[worse] = bb[worse] + step[worse]
            new_obj[worse] = _batched_objective(new[worse], zb[worse], y, wb[worse],
                                                ob[worse], lam, firth)
            worse = new_obj < old - 1e-12 * np.maximum(1.0, np.abs(old))
        beta[active] = new
        obj[active] = new_obj
        done = np.abs(step).max(axis=1) < tol
        converged[active[done]] = True
        active = active[~done]
    return beta, converged


def _logit(p: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(p, P_CLIP, 1.0 - P_CLIP))


def _calibration_batched(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Calibration-in-the-large and slope for each row of ``p`` (B, n).

    NaN where the recalibration fit has no finite solution: when the predictions separate the
    outcomes (a forest scored on its own training data, a separated bootstrap sample) the
    slope is infinite, and a mean over samples must not be dominated by where an iteration
    happened to stop.
    """
    lp = _logit(p)
    nb, n = lp.shape
    ones = np.ones((nb, n, 1))
    citl, ok1 = _batched_newton(ones, y, weights=w, offset=lp, max_iter=50, tol=1e-10)
    coef, ok2 = _batched_newton(np.concatenate([ones, lp[..., None]], axis=2), y, weights=w,
                                max_iter=50, tol=1e-10)
    return np.where(ok1, citl[:, 0], np.nan), np.where(ok2, coef[:, 1], np.nan)


def _auc_batched(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None,
                 chunk: int = 5_000_000) -> np.ndarray:
    """AUC (Mann-Whitney, ties counted 1/2) of each row of ``p`` (B, n), weighted by ``w``."""
    pos, neg = y == 1, y == 0
    sp, sn = p[:, pos], p[:, neg]
    nb = p.shape[0]
    wp = np.ones_like(sp) if w is None else w[:, pos]
    wn = np.ones_like(sn) if w is None else w[:, neg]
    out = np.empty(nb)
    step = max(1, chunk // max(1, sp.shape[1] * sn.shape[1]))
    for s in range(0, nb, step):
        a, b = sp[s:s + step, :, None], sn[s:s + step, None, :]
        cmp = (a > b) + 0.5 * (a == b)
        num = np.einsum("bi,bij,bj->b", wp[s:s + step], cmp, wn[s:s + step])
        den = wp[s:s + step].sum(axis=1) * wn[s:s + step].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[s:s + step] = num / den
    return out


def _metrics_batched(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None
                     ) -> dict[str, np.ndarray]:
    ww = np.ones_like(p) if w is None else w
    brier = np.sum(ww * (y - p) ** 2, axis=1) / ww.sum(axis=1)
    citl, slope = _calibration_batched(y, p, w)
    return {"auc": _auc_batched(y, p, w), "brier": brier,
            "calibration_intercept": citl, "calibration_slope": slope}


def performance(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, Brier score, calibration intercept and slope of probabilities ``p`` for ``y``.

    The calibration intercept is calibration-in-the-large (``a`` in
    ``logit P(y = 1) = a + logit p``: 0 when the mean risk is right, negative when predictions
    are too high); the slope is ``b`` in ``logit P(y = 1) = a + b logit p`` (1 ideal, below 1
    when predictions are too extreme, the usual sign of overfitting). Either is NaN when it
    does not exist (predictions that separate the outcomes have an infinite slope).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)[None, :]
    return {k: float(v[0]) for k, v in _metrics_batched(y, p).items()}


def calibration_intercept_slope(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Calibration-in-the-large and calibration slope (see :func:`performance`)."""
    citl, slope = _calibration_batched(np.asarray(y, float), np.asarray(p, float)[None, :])
    return float(citl[0]), float(slope[0])


# --------------------------------------------------------------------------------------------
# bootstrap optimism


def _weighted_medians(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Median of each column of ``x`` in each bootstrap sample, ignoring NaN (B, p).

    Equal to scikit-learn's ``SimpleImputer(strategy="median")`` fitted on the expanded
    sample: the mean of the two middle values when their number is even; NaN when a column
    has no observed value in the sample.
    """
    nb = counts.shape[0]
    out = np.full((nb, x.shape[1]), np.nan)
    for c in range(x.shape[1]):
        obs = np.flatnonzero(~np.isnan(x[:, c]))
        if obs.size == 0:
            continue
        order = obs[np.argsort(x[obs, c], kind="stable")]
        vals = x[order, c]
        cum = np.cumsum(counts[:, order], axis=1)
        m = cum[:, -1]
        ok = m > 0
        r1, r2 = (m - 1) // 2, m // 2
        i1 = np.argmax(cum > r1[:, None], axis=1)
        i2 = np.argmax(cum > r2[:, None], axis=1)
        out[ok, c] = 0.5 * (vals[i1[ok]] + vals[i2[ok]])
    return out


def _bootstrap_designs(x: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Impute and standardise ``x`` (n, p) as the pipeline fitted on each bootstrap sample
    would; returns (B, n, p + 1) with an intercept column first."""
    nb = counts.shape[0]
    n, p = x.shape
    z = np.broadcast_to(x, (nb, n, p)).copy()
    if np.isnan(x).any():
        med = _weighted_medians(x, counts)
        fill = np.where(np.isnan(med), 0.0, med)  # a column absent from a sample: constant
        nan = np.isnan(x)
        z = np.where(nan[None], fill[:, None, :], z)
    tot = counts.sum(axis=1, keepdims=True)
    mean = np.einsum("bn,bnp->bp", counts, z) / tot
    var = np.einsum("bn,bnp->bp", counts, (z - mean[:, None, :]) ** 2) / tot
    # StandardScaler leaves constant columns unscaled
    sd = np.sqrt(var)
    sd = np.where(sd < 10 * np.finfo(float).eps * np.maximum(np.abs(mean), 1.0), 1.0, sd)
    z = (z - mean[:, None, :]) / sd[:, None, :]
    return np.concatenate([np.ones((nb, n, 1)), z], axis=2)


def _bootstrap_vectorised(x: np.ndarray, y: np.ndarray, model: str, counts: np.ndarray,
                          ridge_c: float) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray],
                                                   np.ndarray]:
    z = _bootstrap_designs(x, counts)
    k = z.shape[2]
    lam = np.zeros(k)
    if model == "ridge":
        lam[1:] = 1.0 / ridge_c
    # Firth's Fisher scoring converges only linearly near separation (up to ~150 iterations
    # here); ML fits of separated samples never converge, so more iterations buy nothing
    firth = model == "firth"
    beta, converged = _batched_newton(z, y, weights=counts.astype(float), lam=lam,
                                      firth=firth, max_iter=300 if firth else 50)
    p = special.expit(_lin(z, beta))
    boot = _metrics_batched(y, p, counts.astype(float))
    orig = _metrics_batched(y, p)
    return boot, orig, converged


def _bootstrap_loop(x: np.ndarray, y: np.ndarray, model: str, idx: np.ndarray,
                    random_state: int, ridge_c: float, n_estimators: int
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    pipe = make_model(model, random_state=random_state, ridge_c=ridge_c,
                      n_estimators=n_estimators)
    nb = idx.shape[0]
    boot = {m: np.full(nb, np.nan) for m in METRICS}
    orig = {m: np.full(nb, np.nan) for m in METRICS}
    converged = np.ones(nb, dtype=bool)
    with catch_only():  # any other warning once, not once per sample
        for b in range(nb):
            rows = idx[b]
            yb = y[rows]
            if yb.min() == yb.max():
                continue
            with catch_only(*_REFIT_WARNINGS) as caught:
                fitted = clone(pipe).fit(x[rows], yb)
            converged[b] = not any("converge" in str(c.message).lower() for c in caught)
            for target, xs, ys in ((boot, x[rows], yb), (orig, x, y)):
                perf = performance(ys, fitted.predict_proba(xs)[:, 1])
                for m in METRICS:
                    target[m][b] = perf[m]
    return boot, orig, converged


def bootstrap_optimism(x: np.ndarray, y: np.ndarray, model: str = "logistic", *,
                       n_bootstrap: int = 200, random_state: int | np.random.Generator = 0,
                       engine: Literal["auto", "vectorised", "sklearn"] = "auto",
                       ridge_c: float = 1.0, n_estimators: int = 100) -> pd.DataFrame:
    """Harrell's bootstrap optimism correction of AUC, Brier score and calibration.

    For each of ``n_bootstrap`` samples drawn with replacement the whole pipeline (imputation,
    scaling, model) is refitted; its performance on the bootstrap sample minus its performance
    on the original data is that sample's optimism. ``corrected = apparent - mean optimism``.

    Parameters
    ----------
    x : ndarray (n, p)
        Predictors (NaN allowed: imputed inside every refit).
    y : ndarray (n,)
        Outcome 0/1.
    model : str
        See :func:`make_model`.
    n_bootstrap : int
        Number of bootstrap samples (Harrell suggests at least 200).
    random_state : int or Generator
        Seed of the bootstrap samples (and of the forest).
    engine : {"auto", "vectorised", "sklearn"}
        ``vectorised`` fits all samples at once with batched Newton-Raphson (logistic, ridge
        and firth); ``sklearn`` refits the pipeline in a loop; ``auto`` picks vectorised
        where it exists.

    Returns
    -------
    DataFrame
        One row per metric: ``metric``, ``apparent``, ``optimism``, ``corrected``,
        ``n_bootstrap`` (requested), ``n_used`` (samples with both outcomes and, for the
        calibration measures, a finite calibration fit on both data sets),
        ``n_not_converged`` (samples whose model fit did not converge, usually separation;
        kept).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if model not in MODELS:
        raise AnalysisError(f"unknown model {model!r}; choose from {', '.join(MODELS)}")
    if engine == "auto":
        engine = "vectorised" if model in _VECTORISED else "sklearn"
    if engine == "vectorised" and model not in _VECTORISED:
        raise AnalysisError(f"the vectorised bootstrap supports {', '.join(_VECTORISED)}, "
                            f"not {model!r}; use engine='sklearn'")
    if n_bootstrap < 1:
        raise AnalysisError(f"n_bootstrap must be at least 1, got {n_bootstrap}")
    rng = (random_state if isinstance(random_state, np.random.Generator)
           else np.random.default_rng(random_state))
    n = y.size
    idx = rng.integers(0, n, size=(n_bootstrap, n))
    model_seed = int(rng.integers(0, 2**31 - 1))
    apparent_model = make_model(model, random_state=model_seed, ridge_c=ridge_c,
                                n_estimators=n_estimators)
    with catch_only(*_REFIT_WARNINGS):
        p_app = apparent_model.fit(x, y).predict_proba(x)[:, 1]
    apparent = performance(y, p_app)
    if engine == "vectorised":
        counts = np.zeros((n_bootstrap, n), dtype=np.int64)
        np.add.at(counts, (np.repeat(np.arange(n_bootstrap), n), idx.ravel()), 1)
        boot, orig, converged = _bootstrap_vectorised(x, y, model, counts, ridge_c)
        usable = (counts[:, y == 1].sum(axis=1) > 0) & (counts[:, y == 0].sum(axis=1) > 0)
    else:
        boot, orig, converged = _bootstrap_loop(x, y, model, idx, model_seed, ridge_c,
                                                n_estimators)
        usable = ~np.isnan(boot["auc"])
    rows = []
    for m in METRICS:
        diff = (boot[m] - orig[m])[usable]
        diff = diff[np.isfinite(diff)]
        opt = float(np.mean(diff)) if diff.size else math.nan
        rows.append({"metric": m, "apparent": apparent[m], "optimism": opt,
                     "corrected": apparent[m] - opt, "n_bootstrap": n_bootstrap,
                     "n_used": int(diff.size),
                     "n_not_converged": int((~converged & usable).sum())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# repeated cross-validation


def _check_folds(y: np.ndarray, n_splits: int) -> None:
    n_events = int(y.sum())
    n_non = int(y.size - n_events)
    rarest = min(n_events, n_non)
    name = "events" if n_events <= n_non else "non-events"
    if n_splits < 2:
        raise AnalysisError(f"cross-validation needs at least 2 folds, got {n_splits}")
    if rarest // n_splits < 2:
        best = rarest // 2
        hint = (f"use at most {best} folds (--folds {best})" if best >= 2 else
                "there are too few to cross-validate at all: rely on the bootstrap "
                "(--folds 0 skips cross-validation)")
        raise AnalysisError(
            f"{n_splits}-fold cross-validation needs at least 2 events and 2 non-events in "
            f"every fold ({2 * n_splits} of each); the data have {rarest} {name}: {hint}")


@dataclass
class _CVOutput:
    per_repeat: pd.DataFrame
    oof: np.ndarray
    importance: np.ndarray


def repeated_cv(x: np.ndarray, y: np.ndarray, model: str = "logistic", *, n_splits: int = 5,
                n_repeats: int = 20, random_state: int = 0, n_permutations: int = 5,
                ridge_c: float = 1.0, n_estimators: int = 100) -> _CVOutput:
    """Repeated stratified k-fold cross-validation with held-out permutation importance.

    In each repeat every subject is predicted once by a model fitted without it; the pooled
    out-of-fold predictions give that repeat's AUC, Brier score and calibration. Permutation
    importance of predictor ``j`` is the drop in that AUC when column ``j`` of the held-out
    subjects is replaced by a random permutation of the column (``n_permutations`` times per
    repeat).

    Returns an object with ``per_repeat`` (one row per repeat and metric), ``oof`` (repeats x
    n probabilities) and ``importance`` (repeats x permutations x predictors AUC drops).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    _check_folds(y, n_splits)
    seeds = np.random.SeedSequence(random_state).generate_state(3)
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats,
                                 random_state=int(seeds[0]))
    perm_rng = np.random.default_rng(int(seeds[1]))
    pipe = make_model(model, random_state=int(seeds[2]), ridge_c=ridge_c,
                      n_estimators=n_estimators)
    n, p = x.shape
    oof = np.full((n_repeats, n), np.nan)
    permuted = np.full((n_repeats, n_permutations, p, n), np.nan)
    perms = np.empty((n_repeats, n_permutations, p, n), dtype=np.int64)
    for r in range(n_repeats):
        for k in range(n_permutations):
            for j in range(p):
                perms[r, k, j] = perm_rng.permutation(n)
    # non-convergence in a fold is expected with few events; other warnings once, not per fold
    with catch_only(*_REFIT_WARNINGS):
        for i, (train, test) in enumerate(cv.split(x, y)):
            r = i // n_splits
            fitted = clone(pipe).fit(x[train], y[train])
            # one predict call per fold: the held-out rows, then every permuted copy of them
            blocks = [x[test]]
            for k in range(n_permutations):
                for j in range(p):
                    xp = x[test].copy()
                    xp[:, j] = x[perms[r, k, j][test], j]
                    blocks.append(xp)
            prob = fitted.predict_proba(np.vstack(blocks))[:, 1].reshape(-1, test.size)
            oof[r, test] = prob[0]
            permuted[r, :, :, test] = prob[1:].reshape(n_permutations, p, test.size) \
                .transpose(2, 0, 1)
    metrics = _metrics_batched(y, oof)
    per_repeat = pd.DataFrame({"repeat": np.arange(n_repeats), **metrics})
    base_auc = metrics["auc"]
    perm_auc = _auc_batched(y, permuted.reshape(-1, n)).reshape(n_repeats, n_permutations, p)
    importance = base_auc[:, None, None] - perm_auc
    return _CVOutput(per_repeat=per_repeat, oof=oof, importance=importance)


# --------------------------------------------------------------------------------------------
# curves


def roc_table(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """ROC curve: ``threshold``, ``fpr``, ``tpr`` (from (0, 0) to (1, 1))."""
    fpr, tpr, thr = roc_curve(y, p, drop_intermediate=False)
    return pd.DataFrame({"threshold": np.minimum(thr, 1.0), "fpr": fpr, "tpr": tpr})


def calibration_table(y: np.ndarray, p: np.ndarray, n_bins: int = 5) -> pd.DataFrame:
    """Binned calibration: subjects grouped by quantiles of predicted probability.

    Columns: ``bin``, ``n``, ``predicted`` (mean predicted probability), ``observed``
    (proportion with the event), ``ci_lower``, ``ci_upper`` (Wilson 95% interval of the
    observed proportion).
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    bins = pd.qcut(p, q=min(n_bins, np.unique(p).size), labels=False, duplicates="drop")
    rows = []
    for b in np.unique(bins):
        sel = bins == b
        k, m = int(y[sel].sum()), int(sel.sum())
        ci = stats.binomtest(k, m).proportion_ci(method="wilson")
        rows.append({"bin": int(b) + 1, "n": m, "predicted": float(p[sel].mean()),
                     "observed": k / m, "ci_lower": ci.low, "ci_upper": ci.high})
    return pd.DataFrame(rows)


def decision_curve(y: np.ndarray, p: np.ndarray,
                   thresholds: np.ndarray | None = None) -> pd.DataFrame:
    """Net benefit of treating subjects whose predicted risk is at least each threshold.

    ``net_benefit = TP/n - FP/n * t / (1 - t)`` (Vickers & Elkin 2006); ``treat_all`` is the
    net benefit of treating everyone, and treating no one is 0. Columns: ``threshold``,
    ``net_benefit``, ``treat_all``.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    t = np.arange(0.01, 1.0, 0.01) if thresholds is None else np.asarray(thresholds, float)
    n = y.size
    chosen = p[None, :] >= t[:, None]
    tp = (chosen & (y == 1)).sum(axis=1)
    fp = (chosen & (y == 0)).sum(axis=1)
    odds = t / (1.0 - t)
    prev = y.mean()
    return pd.DataFrame({"threshold": t, "net_benefit": tp / n - fp / n * odds,
                         "treat_all": prev - (1.0 - prev) * odds})


# --------------------------------------------------------------------------------------------
# the analysis


@dataclass
class PredictionResult(AnalysisResult):
    """Cross-validated and bootstrap-corrected performance of prediction models.

    ``summary``: one row per model and metric (``auc``, ``brier``, ``calibration_intercept``,
    ``calibration_slope``) with ``model``, ``metric``, ``apparent`` (fitted and evaluated on
    all subjects), ``optimism`` and ``corrected`` (bootstrap, Harrell), ``cv_mean``,
    ``cv_lower``, ``cv_upper`` (mean and 2.5-97.5 percentiles over cross-validation repeats:
    the spread due to partitioning, not a confidence interval), ``n``, ``n_events``,
    ``n_bootstrap_used``, ``n_bootstrap_not_converged``, ``n_excluded``.

    Other tables (each with a ``model`` column): ``roc`` (``threshold``, ``fpr``, ``tpr``),
    ``calibration`` (binned, see :func:`calibration_table`), ``decision`` (see
    :func:`decision_curve`), ``importance`` (``predictor``, ``importance`` = mean drop in
    cross-validated AUC, ``sd``), ``predictions`` (``subject_id``, ``outcome``, and per model
    the cross-validated probability averaged over repeats). The curves use the cross-validated
    probabilities, never the apparent ones.
    """

    roc: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    decision: pd.DataFrame = field(default_factory=pd.DataFrame)
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: base keys plus ``roc``, ``calibration``, ``decision``,
        ``importance`` and ``predictions``."""
        out = super().to_dict()
        for key in ("roc", "calibration", "decision", "importance", "predictions"):
            out[key] = json_safe(getattr(self, key))
        return out


def evaluate_prediction(frame: pd.DataFrame, outcome: str, predictors: list[str], *,
                        models: tuple[str, ...] | list[str] = ("logistic", "ridge", "firth"),
                        n_splits: int = 5, n_repeats: int = 20, n_bootstrap: int = 200,
                        random_state: int = 0, n_permutations: int = 5,
                        population: Literal["all", "treated"] = "all",
                        id_col: str = "subject_id", control_col: str = "control",
                        ridge_c: float = 1.0, n_estimators: int = 100, n_bins: int = 5,
                        ) -> PredictionResult:
    """Develop and evaluate prediction models for a binary outcome on one cohort.

    Parameters
    ----------
    frame : DataFrame
        One row per subject: outcome, predictors (units as their names state), and
        ``control_col`` when ``population="treated"``.
    outcome : str
        Binary outcome column (1 = event).
    predictors : list of str
        Numeric or boolean columns; missing values are imputed inside every refit.
    models : sequence of str
        Any of ``logistic``, ``ridge``, ``firth``, ``forest`` (see :func:`make_model`). The
        logistic models bootstrap in one vectorised pass; a forest is refitted
        ``n_bootstrap + n_splits * n_repeats + 1`` times (minutes at the defaults).
    n_splits, n_repeats : int
        Repeated stratified k-fold cross-validation (``n_splits=0`` skips it). Every fold
        must hold at least 2 events and 2 non-events.
    n_bootstrap : int
        Bootstrap samples for the optimism correction (0 skips it).
    random_state : int
        The one seed all randomness derives from.
    n_permutations : int
        Permutations per repeat for permutation importance.
    population : {"all", "treated"}
        ``"treated"`` keeps subjects whose ``control_col`` is False.
    n_bins : int
        Bins of the calibration curve.
    """
    models = list(models)
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise AnalysisError(f"unknown model(s) {bad or models}; choose from {', '.join(MODELS)}")
    if n_splits == 0 and n_bootstrap == 0:
        raise AnalysisError("with n_splits=0 and n_bootstrap=0 nothing is evaluated")
    frame, excluded = select_population(frame, population, id_col=id_col,
                                        control_col=control_col)
    design = build_design(frame, outcome, list(predictors), id_col=id_col, missing="keep")
    exclusions = pd.concat([excluded, design.exclusions], ignore_index=True) \
        if len(excluded) else design.exclusions
    x, y = design.x[:, 1:], design.y
    n, n_events = design.n, design.n_events
    if n_splits:
        _check_folds(y, n_splits)
    notes: list[str] = []
    n_missing = int(np.isnan(x).any(axis=1).sum())
    if n_missing:
        notes.append(f"{n_missing} subject(s) have a missing predictor; values are imputed "
                     "(median of the training data) inside every refit")
    rarest = min(n_events, n - n_events)
    if rarest / len(predictors) < 10:
        msg = (f"{rarest} {'events' if n_events <= n - n_events else 'non-events'} for "
               f"{len(predictors)} predictor(s) ({rarest / len(predictors):.1f} per predictor):"
               " expect optimism; read the corrected and cross-validated values, not the "
               "apparent ones")
        notes.append(msg)
        warnings.warn(msg, SmallSampleWarning, stacklevel=2)
    seeds = np.random.SeedSequence(random_state).generate_state(2 * len(models))
    rows, roc, cal, dec, imp = [], [], [], [], []
    predictions = pd.DataFrame({"subject_id": design.ids, "outcome": y.astype(int)})
    for i, name in enumerate(models):
        boot = None
        if n_bootstrap:
            boot = bootstrap_optimism(x, y, name, n_bootstrap=n_bootstrap,
                                      random_state=int(seeds[2 * i]), ridge_c=ridge_c,
                                      n_estimators=n_estimators).set_index("metric")
            if boot["n_not_converged"].iloc[0]:
                why = (" (separation in the sample: some estimates are infinite)"
                       if name == "logistic" else "")
                notes.append(f"{name}: {boot['n_not_converged'].iloc[0]} of {n_bootstrap} "
                             f"bootstrap refits did not converge{why}; they are kept")
        cvo = None
        if n_splits:
            cvo = repeated_cv(x, y, name, n_splits=n_splits, n_repeats=n_repeats,
                              random_state=int(seeds[2 * i + 1]),
                              n_permutations=n_permutations, ridge_c=ridge_c,
                              n_estimators=n_estimators)
        if boot is None:
            with catch_only(*_REFIT_WARNINGS):
                fitted = make_model(name, random_state=int(seeds[2 * i]), ridge_c=ridge_c,
                                    n_estimators=n_estimators).fit(x, y)
            apparent = performance(y, fitted.predict_proba(x)[:, 1])
        for m in METRICS:
            row: dict[str, Any] = {"model": name, "metric": m}
            if boot is not None:
                row.update(apparent=boot.loc[m, "apparent"], optimism=boot.loc[m, "optimism"],
                           corrected=boot.loc[m, "corrected"])
            else:
                row.update(apparent=apparent[m], optimism=np.nan, corrected=np.nan)
            if cvo is not None:
                vals = cvo.per_repeat[m].to_numpy()
                vals = vals[np.isfinite(vals)]
                row.update(cv_mean=float(vals.mean()) if vals.size else np.nan,
                           cv_lower=float(np.percentile(vals, 2.5)) if vals.size else np.nan,
                           cv_upper=float(np.percentile(vals, 97.5)) if vals.size else np.nan)
            else:
                row.update(cv_mean=np.nan, cv_lower=np.nan, cv_upper=np.nan)
            row.update(n=n, n_events=n_events,
                       n_bootstrap_used=int(boot.loc[m, "n_used"]) if boot is not None else 0,
                       n_bootstrap_not_converged=int(boot.loc[m, "n_not_converged"])
                       if boot is not None else 0,
                       n_excluded=len(exclusions))
            rows.append(row)
        if cvo is not None:
            p_cv = cvo.oof.mean(axis=0)
            predictions[name] = p_cv
            roc.append(roc_table(y, p_cv).assign(model=name))
            cal.append(calibration_table(y, p_cv, n_bins).assign(model=name))
            dec.append(decision_curve(y, p_cv).assign(model=name))
            drops = cvo.importance.reshape(-1, len(predictors))
            imp.append(pd.DataFrame({"model": name, "predictor": list(predictors),
                                     "importance": drops.mean(axis=0),
                                     "sd": drops.std(axis=0, ddof=1)}))

    def _frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
        if not parts:
            return pd.DataFrame()
        out = pd.concat(parts, ignore_index=True)
        return out[["model", *[c for c in out.columns if c != "model"]]]

    params = {"outcome": outcome, "predictors": list(predictors), "models": models,
              "n_splits": n_splits, "n_repeats": n_repeats, "n_bootstrap": n_bootstrap,
              "random_state": random_state, "n_permutations": n_permutations,
              "population": population, "ridge_c": ridge_c, "n_estimators": n_estimators}
    return PredictionResult(
        summary=pd.DataFrame(rows), exclusions=exclusions.reset_index(drop=True),
        params=params, notes=notes, roc=_frame(roc), calibration=_frame(cal),
        decision=_frame(dec), importance=_frame(imp), predictions=predictions)

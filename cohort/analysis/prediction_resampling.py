"""Resampled performance: Harrell's bootstrap optimism and repeated stratified cross-validation.

For the logistic models the bootstrap runs all refits at once: bootstrap samples become
frequency weights on the original rows and Newton-Raphson runs batched over samples in numpy
(imputation and scaling recomputed per sample, exactly as the pipeline would). It gives the
same numbers as a scikit-learn loop (``engine="sklearn"``) and is about two orders of magnitude
faster (see ``bench/bench_bootstrap.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import clone
from sklearn.model_selection import RepeatedStratifiedKFold

from cohort.analysis._common import catch_only
from cohort.analysis.prediction_metrics import (
    METRICS,
    auc_batched,
    batched_newton,
    linear_predictor,
    metrics_batched,
    performance,
)
from cohort.analysis.prediction_models import MODELS, REFIT_WARNINGS, make_model
from cohort.errors import AnalysisError

__all__ = ["CVOutput", "bootstrap_optimism", "check_folds", "repeated_cv"]

_VECTORISED = ("logistic", "ridge", "firth")


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
    beta, converged = batched_newton(z, y, weights=counts.astype(float), lam=lam,
                                      firth=firth, max_iter=300 if firth else 50)
    p = special.expit(linear_predictor(z, beta))
    boot = metrics_batched(y, p, counts.astype(float))
    orig = metrics_batched(y, p)
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
            with catch_only(*REFIT_WARNINGS) as caught:
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
    with catch_only(*REFIT_WARNINGS):
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


def check_folds(y: np.ndarray, n_splits: int) -> None:
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
class CVOutput:
    per_repeat: pd.DataFrame
    oof: np.ndarray
    importance: np.ndarray


def repeated_cv(x: np.ndarray, y: np.ndarray, model: str = "logistic", *, n_splits: int = 5,
                n_repeats: int = 20, random_state: int = 0, n_permutations: int = 5,
                ridge_c: float = 1.0, n_estimators: int = 100) -> CVOutput:
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
    check_folds(y, n_splits)
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
    with catch_only(*REFIT_WARNINGS):
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
    metrics = metrics_batched(y, oof)
    per_repeat = pd.DataFrame({"repeat": np.arange(n_repeats), **metrics})
    base_auc = metrics["auc"]
    perm_auc = auc_batched(y, permuted.reshape(-1, n)).reshape(n_repeats, n_permutations, p)
    importance = base_auc[:, None, None] - perm_auc
    return CVOutput(per_repeat=per_repeat, oof=oof, importance=importance)


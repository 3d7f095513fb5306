"""Performance of predicted probabilities: AUC, Brier score, calibration, ROC, decision curves.

The measures are computed for many probability vectors at once (bootstrap samples,
cross-validation repeats) with batched Newton-Raphson for the calibration fits; the same
batched solver fits the logistic bootstrap refits of :mod:`cohort.analysis.prediction_resampling`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.metrics import roc_curve

__all__ = ["METRICS", "P_CLIP", "auc_batched", "batched_newton", "calibration_intercept_slope",
           "calibration_table", "decision_curve", "linear_predictor", "metrics_batched",
           "performance", "roc_table"]

METRICS = ("auc", "brier", "calibration_intercept", "calibration_slope")
"""Performance measures, in the order they are reported."""
P_CLIP = 1e-8
"""Predicted probabilities are clipped to [P_CLIP, 1 - P_CLIP] before taking logits (a forest
can predict exactly 0 or 1)."""


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


def linear_predictor(z: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Linear predictors (B, n) of designs z (B, n, k) and coefficients (B, k)."""
    return np.matmul(z, beta[:, :, None])[:, :, 0]


def _gram(z: np.ndarray, v: np.ndarray) -> np.ndarray:
    """z' diag(v) z for each of B designs (batched BLAS, much faster than einsum)."""
    return np.matmul(z.transpose(0, 2, 1) * v[:, None, :], z)


def _batched_objective(beta: np.ndarray, z: np.ndarray, y: np.ndarray, w: np.ndarray,
                       offset: np.ndarray, lam: np.ndarray, firth: bool) -> np.ndarray:
    eta = linear_predictor(z, beta) + offset
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


def batched_newton(z: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None,
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
        eta = linear_predictor(zb, bb) + ob
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
    citl, ok1 = batched_newton(ones, y, weights=w, offset=lp, max_iter=50, tol=1e-10)
    coef, ok2 = batched_newton(np.concatenate([ones, lp[..., None]], axis=2), y, weights=w,
                                max_iter=50, tol=1e-10)
    return np.where(ok1, citl[:, 0], np.nan), np.where(ok2, coef[:, 1], np.nan)


def auc_batched(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None,
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


def metrics_batched(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None
                     ) -> dict[str, np.ndarray]:
    ww = np.ones_like(p) if w is None else w
    brier = np.sum(ww * (y - p) ** 2, axis=1) / ww.sum(axis=1)
    citl, slope = _calibration_batched(y, p, w)
    return {"auc": auc_batched(y, p, w), "brier": brier,
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
    return {k: float(v[0]) for k, v in metrics_batched(y, p).items()}


def calibration_intercept_slope(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Calibration-in-the-large and calibration slope (see :func:`performance`)."""
    citl, slope = _calibration_batched(np.asarray(y, float), np.asarray(p, float)[None, :])
    return float(citl[0]), float(slope[0])



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


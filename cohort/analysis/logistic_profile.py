"""Likelihood-based inference on a logistic fit: profile-likelihood intervals and
likelihood-ratio tests.

:func:`profile_interval` is R's ``confint()`` for a ``glm`` (MASS profiling) and ``logistf``'s
default interval (penalised for Firth); :func:`_lr_test` is the likelihood-ratio test of
coefficients being zero (penalised for Firth, as ``logistf``: the restricted fit keeps the full
model's penalty). Both refit constrained models with the Newton-Raphson routine of
:mod:`cohort.analysis.logistic_fit`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from cohort.analysis.logistic_fit import LogisticFit, _newton

__all__ = ["profile_interval"]


def _objective_at(x: np.ndarray, y: np.ndarray, j: int, value: float, start: np.ndarray,
                  firth: bool, fallback: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Maximised objective with coefficient ``j`` fixed at ``value``.

    The fit starts from ``start``; when it does not converge it is repeated from ``fallback``
    and the higher objective kept, so that the profile does not depend on where a warm start
    happened to stall (far out in a nearly separated direction).
    """
    free = np.ones(x.shape[1], dtype=bool)
    free[j] = False
    best = None
    # last resort: the other coefficients at 0 (a start far out in a separated direction can
    # overflow to a NaN objective)
    for origin in (start, fallback, np.zeros(x.shape[1])):
        if origin is None:
            continue
        beta0 = origin.copy()
        beta0[j] = value
        fit = _newton(x, y, firth=firth, beta0=beta0, free=free, max_iter=200)
        if best is None or not np.isfinite(best.objective) or fit.objective > best.objective:
            best = fit
        if fit.converged and np.isfinite(fit.objective):
            break
    return best.objective, best.coef


def profile_interval(x: np.ndarray, y: np.ndarray, fit: LogisticFit, j: int, *,
                     firth: bool, alpha: float = 0.05, max_doublings: int = 40
                     ) -> tuple[float, float]:
    """Profile (penalised) likelihood interval of coefficient ``j``.

    The interval holds every ``b`` with ``2 (max objective - max objective given b_j = b)``
    at most the ``1 - alpha`` quantile of chi-square(1): R's ``confint()`` for ``glm`` (MASS
    profiling) and ``logistf``'s default intervals. Bounds are found by root finding (to
    1e-9), not by interpolating a grid. A bound that does not exist (separation) is infinite.
    """
    crit = stats.chi2.ppf(1.0 - alpha, 1)
    target = fit.objective - crit / 2.0
    est = fit.coef[j]
    se = math.sqrt(fit.cov[j, j]) if np.isfinite(fit.cov[j, j]) and fit.cov[j, j] > 0 else 1.0
    se = min(max(se, 1e-6), 1e3)
    last = [fit.coef]  # warm start: each constrained fit starts from the previous one

    def gap(b: float) -> float:
        obj, coef = _objective_at(x, y, j, b, last[0], firth, fallback=fit.coef)
        last[0] = coef
        return obj - target

    bounds = []
    for direction in (-1.0, 1.0):
        last[0] = fit.coef
        inner = est
        outer = None
        step = se
        previous = math.inf
        for _ in range(max_doublings):
            b = est + direction * step
            g = gap(b)
            if g < 0:
                outer = b
                break
            if abs(previous - g) < 1e-9:
                break  # the profile has flattened out: this side never closes (separation)
            previous = g
            inner = b
            step *= 2.0
        if outer is None:
            bounds.append(direction * math.inf)
            continue
        lo, hi = sorted((inner, outer))
        try:
            bounds.append(optimize.brentq(gap, lo, hi, xtol=1e-10, rtol=1e-12))
        except ValueError:
            # a warm start stalled differently on a re-evaluation, so the bracket no longer
            # changes sign; re-bracket from the estimate (where the gap is crit / 2 > 0) with
            # every constrained fit started from the full fit: deterministic, slower
            def cold(b: float) -> float:
                return _objective_at(x, y, j, b, fit.coef, firth)[0] - target

            lo, hi = sorted((est, outer))
            bounds.append(optimize.brentq(cold, lo, hi, xtol=1e-10, rtol=1e-12))
    return bounds[0], bounds[1]


def _lr_test(x: np.ndarray, y: np.ndarray, fit: LogisticFit, free: np.ndarray, *,
             firth: bool) -> tuple[float, int]:
    """Likelihood-ratio statistic for setting the coefficients outside ``free`` to zero."""
    beta0 = np.where(free, fit.coef, 0.0)
    restricted = _newton(x, y, firth=firth, beta0=beta0, free=free, max_iter=200)
    stat = max(2.0 * (fit.objective - restricted.objective), 0.0)
    return stat, int((~free).sum())

"""Correlation of two samples with R's ``cor.test`` results: Pearson with the Fisher-z interval
and t-test p-value, and Spearman with R's p-value (:func:`spearman_p`: exact for n <= 9, the
Edgeworth series of AS 89 for larger n, the t approximation with ties) and the Fisher-z
interval with the variance 1.06 / (n - 3) of Fieller, Hartley & Pearson (1957). Used by the
dose-response analysis (:mod:`cohort.analysis.dose_response`).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats

from cohort.errors import AnalysisError

__all__ = ["correlation", "spearman_p"]


# ------------------------------------------------------------------ Spearman p (AS 89)

@lru_cache(maxsize=16)
def _spearman_s_distribution(n: int) -> tuple[np.ndarray, np.ndarray]:
    # all n! permutations (n <= 9): the exact null distribution of S = sum (i - p_i)^2
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
    s = ((perms - np.arange(n)) ** 2).sum(axis=1)
    values, counts = np.unique(s, return_counts=True)
    return values, counts


def _prho(n: int, s: float, lower_tail: bool) -> float:
    # Algorithm AS 89 (Best & Roberts 1975): P(S >= s), or P(S < s) with lower_tail
    if n <= 1 or s <= 0:
        return 0.0 if lower_tail else 1.0
    n3 = n * (n * n - 1) / 3
    if s > n3:
        return 1.0 if lower_tail else 0.0
    if n <= 9:
        values, counts = _spearman_s_distribution(n)
        nfac = counts.sum()
        ifr = counts[values >= s].sum() if s != n3 else 1
        return float((nfac - ifr) / nfac if lower_tail else ifr / nfac)
    c = (.2274, .2531, .1745, .0758, .1033, .3932, .0879, .0151, .0072, .0831, .0131, 4.6e-4)
    y = float(n)
    b = 1 / y
    x = (6.0 * (s - 1) * b / (y * y - 1) - 1) * math.sqrt(y - 1)
    y = x * x
    u = x * b * (c[0] + b * (c[1] + c[2] * b) + y * (-c[3] + b * (c[4] + c[5] * b) - y * b * (
        c[6] + c[7] * b - y * (c[8] - c[9] * b + y * b * (c[10] - c[11] * y)))))
    y = u / math.exp(y / 2)
    pv = (-y if lower_tail else y) + (stats.norm.cdf(x) if lower_tail else stats.norm.sf(x))
    return float(min(max(pv, 0.0), 1.0))


def spearman_p(rho: float, n: int, *, ties: bool) -> tuple[float, str]:
    """Two-sided p-value of Spearman's rho as R's ``cor.test(method="spearman")``.

    Parameters
    ----------
    rho : float
        Spearman's rank correlation.
    n : int
        Number of pairs.
    ties : bool
        Whether either variable has ties (then R uses the t approximation).

    Returns
    -------
    (float, str)
        The p-value and how it was computed.
    """
    q = (n ** 3 - n) * (1 - rho) / 6
    mid = (n ** 3 - n) / 6
    if ties or n > 1290:
        r = 1 - q / mid
        t = r / math.sqrt((1 - r * r) / (n - 2)) if abs(r) < 1 else math.copysign(math.inf, r)
        lower = not (q > mid)
        # R: pt(t, n - 2, lower.tail = !lower.tail)
        p = stats.t.sf(t, n - 2) if lower else stats.t.cdf(t, n - 2)
        return float(min(2 * p, 1.0)), "t approximation (ties)" if ties else "t approximation"
    # R: the upper tail above the null mean of S, the lower tail (S <= q) otherwise
    upper = q > mid
    p = _prho(n, round(q), lower_tail=False) if upper else _prho(n, round(q) + 2,
                                                                  lower_tail=True)
    how = "exact" if n <= 9 else "Edgeworth series (AS 89)"
    return float(min(2 * p, 1.0)), how


# ------------------------------------------------------------------ core statistics

def correlation(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, *,
                method: str = "pearson", conf_level: float = 0.95) -> dict[str, Any]:
    """Pearson or Spearman correlation with a two-sided CI and p-value (as R ``cor.test``).

    Parameters
    ----------
    x, y : array-like of float
        Paired observations without missing values (e.g. dose in cells and change in
        HbA1c percentage points).
    method : {"pearson", "spearman"}, keyword-only
    conf_level : float, keyword-only

    Returns
    -------
    dict
        ``estimate``, ``ci_lower``, ``ci_upper``, ``statistic`` (t for Pearson, S for
        Spearman), ``p``, ``n``, ``method``, ``note``.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    n = len(xa)
    out: dict[str, Any] = {"estimate": math.nan, "ci_lower": math.nan, "ci_upper": math.nan,
                           "statistic": math.nan, "p": math.nan, "n": n, "method": method,
                           "note": ""}
    if n < 3:
        out["note"] = f"n = {n}: a correlation needs at least 3 subjects"
        return out
    # equal values (whose computed SD can be 1e-17), or a spread too small to square (1e-197)
    x_const, y_const = (bool(np.all(a == a[0]) or np.std(a) == 0) for a in (xa, ya))
    if x_const or y_const:
        which = "dose" if x_const else "change"
        out["note"] = f"every subject has the same {which}: the correlation is undefined"
        return out
    if method == "pearson":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = stats.pearsonr(xa, ya)
            ci = res.confidence_interval(confidence_level=conf_level) if n > 3 else None
        r = float(res.statistic)
        if not math.isfinite(r):
            out["note"] = "the values vary too little for a correlation (below float precision)"
            return out
        for w in caught:
            if issubclass(w.category, stats.NearConstantInputWarning):
                out["note"] = ("dose or change nearly constant (spread below 1e-12 of the "
                               "mean): r may be inaccurate")
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        df = n - 2
        t = math.sqrt(df) * r / math.sqrt(1 - r * r) if abs(r) < 1 else math.copysign(
            math.inf, r)
        out.update(estimate=r, statistic=t, p=float(res.pvalue),
                   method="Pearson; Fisher-z interval")
        if ci is not None:
            out.update(ci_lower=float(ci.low), ci_upper=float(ci.high))
        else:
            out["note"] = "n = 3: no interval (Fisher z needs n > 3)"
        return out
    if method == "spearman":
        rho = float(stats.spearmanr(xa, ya).statistic)
        ties = len(np.unique(xa)) < n or len(np.unique(ya)) < n
        p, how = spearman_p(rho, n, ties=ties)
        out.update(estimate=rho, statistic=(n ** 3 - n) * (1 - rho) / 6, p=p,
                   method=f"Spearman, p {how}; Fisher-z interval with var 1.06/(n-3)")
        if n > 3 and abs(rho) < 1:
            zr = math.atanh(rho)
            half = stats.norm.ppf((1 + conf_level) / 2) * math.sqrt(1.06 / (n - 3))
            out.update(ci_lower=math.tanh(zr - half), ci_upper=math.tanh(zr + half))
        return out
    raise AnalysisError(f"method must be 'pearson' or 'spearman', got {method!r}")


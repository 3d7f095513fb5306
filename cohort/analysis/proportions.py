"""Binomial proportions: intervals and tests of one or k groups (responder rates, remission).

Two-group comparisons (2x2 tables, risk difference, ratios) are in
:mod:`cohort.analysis.proportion_comparisons`, which shares the count checks and the Wilson
limits defined here.

Pure functions on counts: ``x`` events (responders) out of ``n`` subjects. Every function
checks its counts (integers, ``0 <= x <= n``, ``n >= 1``) and raises
:class:`~cohort.errors.AnalysisError` otherwise. All tests and intervals are two-sided.

What matches which R function (the reference tests in ``tests/test_proportions.py`` compare
with the numbers R printed, saved in ``tests/fixtures/regression/``):

========================================  =============================================
this module                               R
========================================  =============================================
``binom_ci(method="clopper-pearson")``    ``binom.test(x, n)$conf.int``
``binom_test``                            ``binom.test(x, n, p)$p.value``
``binom_ci(method="wilson")``             ``prop.test(x, n, correct=FALSE)$conf.int``
``binom_ci(method="wilson-cc")``          ``prop.test(x, n, correct=TRUE)$conf.int`` (R caps
                                          the correction at ``|x - n/2|``, so the two differ
                                          only when ``x == n/2``; see :func:`prop_test`)
``prop_test``                             ``prop.test`` (1 or k groups, ``correct=``)
``risk_difference(method="wald")``        ``prop.test(c(x1,x2), c(n1,n2), correct=FALSE)``
``risk_difference(method="wald-cc")``     ``prop.test(..., correct=TRUE)$conf.int``
``risk_difference(method="newcombe")``    Newcombe (1998) method 10 (hybrid score), from
                                          the two Wilson intervals (no base-R function)
``fisher_exact``                          ``fisher.test`` (p, conditional-MLE odds ratio
                                          and its exact interval)
``chi_square``                            ``chisq.test(table, correct=)`` (via scipy's
                                          ``chi2_contingency``)
``odds_ratio(method="wald")``             Woolf log interval (no base-R function)
``risk_ratio``                            Katz log interval (no base-R function)
========================================  =============================================

Zero cells: the Woolf odds ratio and the Katz risk ratio add 0.5 to every cell of the 2x2
table when any cell is 0 (Haldane-Anscombe), and say so in the ``method`` column; the
conditional MLE odds ratio is then 0 or infinite with a one-sided-bounded exact interval.

Library or written here: the tests and ratios come from scipy (``binomtest``,
``fisher_exact``, ``contingency.odds_ratio``, ``chi2_contingency``) and statsmodels
(``Table2x2`` for the Woolf and Katz intervals, on the table corrected here because its
``shift_zeros`` puts 0.5 in the zero cells only). The binomial intervals, ``prop_test`` and
the risk-difference intervals are R's ``prop.test`` formulas written out on purpose: R caps
the Yates correction (at ``|x - n p|`` for one group, at ``|p1 - p2| / (1/n1 + 1/n2)`` for
two) and clips the Wald interval to [-1, 1], which neither scipy (``binomtest(...)
.proportion_ci("wilsoncc")``) nor statsmodels (``proportion_confint``,
``confint_proportions_2indep``, neither with a continuity correction nor clipping) does;
Newcombe's interval is built from those same Wilson limits. Without corrections the
libraries agree with these functions to about 1e-15.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy import stats

from cohort.errors import AnalysisError

__all__ = ["binom_ci", "binom_test", "prop_test", "proportion"]

BinomMethod = Literal["clopper-pearson", "wilson", "wilson-cc", "wald"]


def check_count(value: Any, name: str) -> int:
    if isinstance(value, bool | np.bool_):
        raise AnalysisError(f"{name} must be a count (integer), got the boolean {value!r}")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise AnalysisError(f"{name} must be a count (integer), got {value!r}") from None
    if not math.isfinite(as_float) or as_float != int(as_float):
        raise AnalysisError(f"{name} must be a whole number, got {value!r}")
    return int(as_float)


def check_counts(x: Any, n: Any, label: str = "") -> tuple[int, int]:
    xi, ni = check_count(x, f"x{label}"), check_count(n, f"n{label}")
    if ni < 1:
        raise AnalysisError(f"n{label} must be at least 1 (no subjects in the group), got {ni}")
    if not 0 <= xi <= ni:
        raise AnalysisError(f"x{label} must be between 0 and n{label} = {ni}, got {xi}")
    return xi, ni


def z_quantile(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    return float(stats.norm.ppf((1 + conf_level) / 2))


def wilson_limits(x: int, n: int, z: float, cc: float) -> tuple[float, float]:
    # R's prop.test formula (k == 1), with `cc` the continuity correction in counts
    est = x / n
    z22n = z * z / (2 * n)
    pc = est + cc / n
    upper = 1.0 if pc >= 1 else (pc + z22n + z * math.sqrt(pc * (1 - pc) / n + z22n / (2 * n))
                                 ) / (1 + 2 * z22n)
    pc = est - cc / n
    lower = 0.0 if pc <= 0 else (pc + z22n - z * math.sqrt(pc * (1 - pc) / n + z22n / (2 * n))
                                 ) / (1 + 2 * z22n)
    return max(lower, 0.0), min(upper, 1.0)


def binom_ci(x: int, n: int, *, method: BinomMethod = "clopper-pearson",
             conf_level: float = 0.95) -> tuple[float, float]:
    """Two-sided confidence interval of a binomial proportion ``x / n``.

    Parameters
    ----------
    x, n : int
        Number of events (e.g. responders) and of subjects.
    method : {"clopper-pearson", "wilson", "wilson-cc", "wald"}, keyword-only
        ``"clopper-pearson"`` (exact, as ``binom.test``), ``"wilson"`` (score, as
        ``prop.test(correct=FALSE)``), ``"wilson-cc"`` (score with continuity correction
        0.5), ``"wald"`` (normal approximation, clipped to [0, 1]).
    conf_level : float, keyword-only
        Confidence level, default 0.95.

    Returns
    -------
    (float, float)
        Lower and upper limits, as proportions in [0, 1].
    """
    x, n = check_counts(x, n)
    z = z_quantile(conf_level)
    if method == "clopper-pearson":
        alpha = 1 - conf_level
        lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
        upper = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
        return lower, upper
    if method == "wilson":
        return wilson_limits(x, n, z, 0.0)
    if method == "wilson-cc":
        return wilson_limits(x, n, z, 0.5)
    if method == "wald":
        p = x / n
        half = z * math.sqrt(p * (1 - p) / n)
        return max(0.0, p - half), min(1.0, p + half)
    raise AnalysisError(f"method must be 'clopper-pearson', 'wilson', 'wilson-cc' or 'wald', "
                        f"got {method!r}")


def binom_test(x: int, n: int, *, p: float = 0.5) -> float:
    """Exact two-sided binomial test of ``x / n`` against ``p`` (as R's ``binom.test``).

    The two-sided p-value sums the probabilities of all outcomes no more likely than ``x``
    (with R's relative tolerance 1e-7).

    Parameters
    ----------
    x, n : int
        Events and subjects.
    p : float, keyword-only
        Proportion under the null hypothesis, default 0.5.

    Returns
    -------
    float
        The p-value.
    """
    x, n = check_counts(x, n)
    if not 0 <= p <= 1:
        raise AnalysisError(f"p must be a proportion in [0, 1], got {p!r}")
    return float(stats.binomtest(x, n, p).pvalue)


def proportion(x: int, n: int, *, conf_level: float = 0.95) -> dict[str, float | int]:
    """A proportion with its Clopper-Pearson and Wilson intervals.

    Parameters
    ----------
    x, n : int
        Events (e.g. responders) and subjects.
    conf_level : float, keyword-only
        Confidence level, default 0.95.

    Returns
    -------
    dict
        ``x``, ``n``, ``estimate`` (x / n), ``cp_lower``, ``cp_upper`` (Clopper-Pearson),
        ``wilson_lower``, ``wilson_upper`` (Wilson score, no continuity correction).
    """
    x, n = check_counts(x, n)
    cp = binom_ci(x, n, method="clopper-pearson", conf_level=conf_level)
    wi = binom_ci(x, n, method="wilson", conf_level=conf_level)
    return {"x": x, "n": n, "estimate": x / n, "cp_lower": cp[0], "cp_upper": cp[1],
            "wilson_lower": wi[0], "wilson_upper": wi[1]}


def prop_test(x: Sequence[int] | int, n: Sequence[int] | int, *, p: Any = None,
              correct: bool = True, conf_level: float = 0.95) -> dict[str, Any]:
    """Chi-square test of one or more proportions, as R's ``prop.test`` (two-sided).

    Parameters
    ----------
    x, n : int or sequence of int
        Events and subjects per group.
    p : float, sequence of float or None, keyword-only
        Null proportion(s). ``None``: 0.5 for one group, equality of proportions for several.
    correct : bool, keyword-only
        Yates' continuity correction (used only for one or two groups, as in R; capped at
        ``|x - n p|`` for one group and at ``|p1 - p2| / (1/n1 + 1/n2)`` for two).
    conf_level : float, keyword-only
        Confidence level of the interval (one group: Wilson score; two groups: Wald interval
        of ``p1 - p2``; none for more groups or a given ``p`` with two groups).

    Returns
    -------
    dict
        ``statistic`` (X-squared), ``df``, ``p`` (p-value), ``estimate`` (list of
        proportions), ``ci_lower``, ``ci_upper`` (NaN when R gives no interval),
        ``min_expected`` (smallest expected count; below 5 the approximation is doubtful).
    """
    xs = [x] if np.ndim(x) == 0 else list(x)  # type: ignore[arg-type]
    ns = [n] if np.ndim(n) == 0 else list(n)  # type: ignore[arg-type]
    if len(xs) != len(ns) or not xs:
        raise AnalysisError(f"x and n must have the same positive length, got {len(xs)} and "
                            f"{len(ns)}")
    pairs = [check_counts(a, b, f"[{i}]") for i, (a, b) in enumerate(zip(xs, ns, strict=True))]
    xa = np.array([a for a, _ in pairs], dtype=float)
    na = np.array([b for _, b in pairs], dtype=float)
    k = len(xa)
    est = xa / na
    z = z_quantile(conf_level)
    given = p is not None
    if p is None and k == 1:
        p = 0.5
    yates = 0.5 if correct and k <= 2 else 0.0
    lo = hi = math.nan
    if k == 1:
        p0 = float(np.ravel([p])[0])
        if not 0 < p0 < 1:
            raise AnalysisError(f"p must be strictly between 0 and 1, got {p0}")
        yates = min(yates, abs(xa[0] - na[0] * p0))
        lo, hi = wilson_limits(int(xa[0]), int(na[0]), z, yates)
        pvec = np.array([p0])
        df = 1
    elif given:
        pvec = np.broadcast_to(np.asarray(p, dtype=float), (k,)).copy()
        if np.any((pvec <= 0) | (pvec >= 1)):
            raise AnalysisError(f"every p must be strictly between 0 and 1, got {p}")
        df = k
    else:
        pooled = xa.sum() / na.sum()
        if pooled in (0.0, 1.0):
            raise AnalysisError(f"all groups have {'no' if pooled == 0 else 'only'} events "
                                f"({int(xa.sum())}/{int(na.sum())}); a chi-square test of "
                                "equal proportions is undefined; use fisher_exact")
        pvec = np.full(k, pooled)
        df = k - 1
        if k == 2:
            delta = est[0] - est[1]
            yates = min(yates, abs(delta) / np.sum(1 / na))
            width = z * math.sqrt(float(np.sum(est * (1 - est) / na))) + yates * np.sum(1 / na)
            lo, hi = max(delta - width, -1.0), min(delta + width, 1.0)
    obs = np.column_stack([xa, na - xa])
    exp = np.column_stack([na * pvec, na * (1 - pvec)])
    stat = float(np.sum((np.abs(obs - exp) - yates) ** 2 / exp))
    return {"statistic": stat, "df": df, "p": float(stats.chi2.sf(stat, df)),
            "estimate": est.tolist(), "ci_lower": float(lo), "ci_upper": float(hi),
            "min_expected": float(exp.min())}

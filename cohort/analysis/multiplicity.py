"""Multiplicity adjustment of several comparisons against one reference.

One function, :func:`adjust_comparisons`, takes the estimates of ``k`` contrasts (e.g. each
dose arm minus placebo), their covariance matrix and the degrees of freedom of their t
statistics (None for z statistics), and returns adjusted p-values and family-wise
(simultaneous) confidence intervals for one of:

``"none"``
    Per-comparison p-values and intervals.
``"dunnett"``
    The single-step max-|t| test over the family, computed from the model's own correlation
    of the contrasts through the multivariate t distribution (multivariate normal when ``df``
    is None): R ``multcomp::glht(..., mcp(arm = "Dunnett"))`` and ``emmeans``'
    ``adjust = "mvt"``. For unequal arm sizes or a model with covariates the correlations are
    not 0.5, which is where this differs from emmeans' *default* for ``"trt.vs.ctrl"``
    (``"dunnettx"``, an approximation that assumes correlation 0.5 throughout).
``"holm"``, ``"hochberg"``, ``"bonferroni"``, ``"sidak"``
    As R's ``p.adjust`` (Sidak: ``1 - (1 - p)^k``). Holm and Hochberg are step-wise tests
    without matching simultaneous intervals; their intervals are Bonferroni's, as emmeans
    reports them (``ci_method`` says so).

The multivariate t probabilities are integrated by the randomised quasi-Monte Carlo method
of Genz and Bretz (2002; what R's ``mvtnorm`` uses): the Cholesky factor of the correlation
turns the box probability into an integral over the unit cube (one dimension fewer than
comparisons, plus one for the t's denominator), evaluated on 8 independently scrambled Sobol
point sets; the number of points doubles until three standard errors of the estimate are
below ``abseps`` (default 1e-5) and below ``releps`` (default 1e-2) times the probability
(or 2^16 points per set are reached: ``error`` then says how far it got).
The scramblings come from ``random_state`` (default fixed), so a result is reproducible to
the last digit; ``error`` reports the achieved bound. (R's ``mvtnorm`` defaults, used by
emmeans and multcomp, stop at an absolute error of 1e-3.)
The exceedance probability ``P(max |T_j| >= t)`` is integrated directly (not as one minus a
probability near 1), so small adjusted p-values keep their relative accuracy. Cost (one core):
about 1 s for 3 comparisons, 3 s for 6, 13 s for 10, most of it for the critical value of the
simultaneous intervals.

References
----------
Genz A, Bretz F (2002). Comparison of methods for the computation of multivariate t
probabilities. J Comput Graph Stat 11:950-971.
Dunnett CW (1955). A multiple comparison procedure for comparing several treatments with a
control. J Am Stat Assoc 50:1096-1121.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from cohort.analysis.mvt import DEFAULT_SEED, MaxAbsT, max_abs_exceedance
from cohort.errors import AnalysisError

__all__ = ["ADJUST_METHODS", "P_ONLY_METHODS", "Adjusted", "adjust_comparisons",
           "adjust_families", "adjust_pvalues", "check_adjust", "check_p_only",
           "log_odds_ratio_family", "max_abs_exceedance"]

AdjustMethod = Literal["none", "dunnett", "holm", "hochberg", "bonferroni", "sidak"]
ADJUST_METHODS: tuple[str, ...] = ("none", "dunnett", "holm", "hochberg", "bonferroni",
                                   "sidak")
#: methods that need only the p-values (no joint distribution of the estimates)
P_ONLY_METHODS: tuple[str, ...] = ("none", "holm", "hochberg", "bonferroni", "sidak")


def check_adjust(method: str | None, *, allowed: Sequence[str] = ADJUST_METHODS) -> str:
    """The adjustment name, checked (None means ``"none"``).

    Raises
    ------
    AnalysisError
        When ``method`` is not one of ``allowed``; the message lists the choices.
    """
    name = "none" if method is None else str(method).strip().lower()
    if name not in allowed:
        raise AnalysisError(f"unknown multiplicity adjustment {method!r}; choose one of: "
                            + ", ".join(allowed))
    return name


def adjust_pvalues(p: Sequence[float] | np.ndarray, method: str) -> np.ndarray:
    """Adjust p-values of one family as R's ``p.adjust`` (plus ``"sidak"``).

    Parameters
    ----------
    p : sequence of float
        Unadjusted p-values of the ``k`` comparisons (NaN allowed: kept NaN, not counted).
    method : {"none", "holm", "hochberg", "bonferroni", "sidak"}

    Returns
    -------
    ndarray
        Adjusted p-values in the input order, capped at 1.
    """
    method = check_adjust(method, allowed=P_ONLY_METHODS)
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    k = len(q)
    if k == 0:
        return out
    if method == "none":
        adj = q.copy()
    elif method == "bonferroni":
        adj = np.minimum(1.0, k * q)
    elif method == "sidak":
        adj = -np.expm1(k * np.log1p(-np.minimum(q, 1.0)))
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        steps = np.maximum.accumulate((k - np.arange(k)) * q[order])
        adj = np.empty(k)
        adj[order] = np.minimum(1.0, steps)
    else:  # hochberg: step-up, from the largest p down
        order = np.argsort(q, kind="stable")[::-1]
        steps = np.minimum.accumulate((np.arange(k) + 1) * q[order])
        adj = np.empty(k)
        adj[order] = np.minimum(1.0, steps)
    out[ok] = adj
    return out


def check_p_only(method: str | None) -> str:
    """:func:`check_adjust` for comparisons with p-values only (no joint distribution).

    Raises
    ------
    AnalysisError
        For an unknown method (listing the choices) and for ``"dunnett"``, saying why.
    """
    name = check_adjust(method)
    if name == "dunnett":
        raise AnalysisError(
            "--adjust dunnett needs the joint (multivariate normal) distribution of the "
            "comparisons, which a model's contrasts have (ancova, mmrm); these comparisons of "
            "rates are exact or score tests: use holm, hochberg, bonferroni or sidak")
    return name


def log_odds_ratio_family(x_ref: int, n_ref: int, x: Sequence[int], n: Sequence[int], *,
                          where: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Log odds ratios of several arms vs one reference, and their covariance.

    The saturated logistic model ``responder ~ arm`` (R ``glm``): the log odds of an arm with
    ``x`` events in ``n`` has variance ``1/x + 1/(n - x)``; ``log OR_i = logit p_i - logit
    p_ref`` has variance ``v_i + v_ref`` and any two share ``v_ref`` (the family that
    ``emmeans(glm(...), trt.vs.ctrl, adjust = "mvt")`` adjusts).

    Raises
    ------
    AnalysisError
        When an arm has 0% or 100% events (no finite log odds); ``where`` prefixes the
        message.
    """
    counts = [(int(x_ref), int(n_ref)), *zip(map(int, x), map(int, n), strict=True)]
    if any(xi in (0, ni) for xi, ni in counts):
        raise AnalysisError(
            f"{where}an arm or the reference has 0% or 100% events, so its log odds are not "
            "finite and the Dunnett adjustment of the odds ratios is not defined; use holm, "
            "hochberg, bonferroni or sidak (exact tests)")
    logit = np.array([np.log(xi / (ni - xi)) for xi, ni in counts])
    var = np.array([1.0 / xi + 1.0 / (ni - xi) for xi, ni in counts])
    est = logit[1:] - logit[0]
    cov = np.full((len(est), len(est)), var[0]) + np.diag(var[1:])
    return est, cov


def adjust_families(frame: pd.DataFrame, method: str | None, *, by: Sequence[str],
                    p: str = "p", member: pd.Series | None = None) -> pd.DataFrame:
    """Adjust the p-values of a long table family by family (tests without a joint model).

    For comparisons whose p-values come from exact or score tests (Fisher, chi-square on
    rates), the p-value methods apply; Dunnett needs the joint normal distribution of the
    estimates, which a model's contrasts have, and is refused here with a message.

    Parameters
    ----------
    frame : DataFrame
        One row per comparison, with a ``p`` column (NaN rows are left NaN).
    method : {"none", "holm", "hochberg", "bonferroni", "sidak"} or None
    by : sequence of str
        Columns that identify a family (e.g. visit and test: each family holds the arms
        compared with the reference in that test at that visit).
    p : str
        The p-value column.
    member : Series of bool, optional
        Rows that belong to their family (others, e.g. a pooled "all treated" row, get NaN).

    Returns
    -------
    DataFrame
        ``frame`` with ``p_adjusted`` and ``adjust`` (the method) added (a copy).
    """
    name = check_p_only(method)
    out = frame.copy()
    out["p_adjusted"] = np.nan
    out["adjust"] = name
    if not len(out):
        return out
    inside = (pd.Series(True, index=out.index) if member is None
              else member.reindex(out.index).fillna(False).astype(bool))
    rows = out.loc[inside & out[p].notna()]
    for _, fam in rows.groupby(list(by), sort=False, dropna=False):
        out.loc[fam.index, "p_adjusted"] = adjust_pvalues(fam[p].to_numpy(dtype=float), name)
    return out


# ------------------------------------------------------------------ the family

@dataclass(frozen=True)
class Adjusted:
    """Adjusted p-values and simultaneous intervals of one family of comparisons.

    Attributes
    ----------
    method : str
        The adjustment applied to the p-values (one of :data:`ADJUST_METHODS`).
    ci_method : str
        What the intervals are adjusted with: ``"none"``, ``"dunnett"``, ``"bonferroni"``
        (also for Holm and Hochberg, which have no simultaneous intervals) or ``"sidak"``.
    p_adjusted : ndarray
    ci_lower, ci_upper : ndarray
        Family-wise intervals at ``conf_level`` (in the estimates' unit).
    critical_value : float
        The multiplier of the SEs in those intervals (a t or z quantile).
    error : float
        Bound on the numerical error of ``p_adjusted`` (three Monte Carlo standard errors
        of the Dunnett integration; 0 for the closed-form methods).
    conf_level : float
    """

    method: str
    ci_method: str
    p_adjusted: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    critical_value: float
    error: float
    conf_level: float

    def frame(self) -> pd.DataFrame:
        """``p_adjusted``, ``ci_lower_adjusted``, ``ci_upper_adjusted``, ``adjust``,
        ``ci_adjust`` (one row per comparison, input order)."""
        return pd.DataFrame({"p_adjusted": self.p_adjusted,
                             "ci_lower_adjusted": self.ci_lower,
                             "ci_upper_adjusted": self.ci_upper,
                             "adjust": self.method, "ci_adjust": self.ci_method})


def _quantile(prob: float, df: float | None) -> float:
    from scipy import stats

    return float(stats.norm.isf(prob) if df is None else stats.t.isf(prob, df))


def adjust_comparisons(estimates: Sequence[float] | np.ndarray,
                       cov: Sequence[Sequence[float]] | np.ndarray, *,
                       df: float | None, method: str = "none", conf_level: float = 0.95,
                       random_state: int = DEFAULT_SEED, abseps: float = 1e-5,
                       releps: float = 1e-2) -> Adjusted:
    """Adjust a family of ``k`` comparisons against one reference for multiplicity.

    Parameters
    ----------
    estimates : sequence of float, length k
        The contrasts (e.g. LS-mean differences arm - reference, in the response's unit).
    cov : array, shape (k, k)
        Their covariance matrix (or any matrix proportional to it whose diagonal gives the
        squared SEs: the SEs are ``sqrt(diag(cov))`` and the correlation is read from it).
    df : float or None, keyword-only
        Degrees of freedom of the t statistics (one value for the family, e.g. the residual
        df of the ANCOVA); None for z statistics (normal reference).
    method : {"none", "dunnett", "holm", "hochberg", "bonferroni", "sidak"}, keyword-only
    conf_level : float, keyword-only
        Family-wise confidence level of the intervals.
    random_state : int, keyword-only
        Seed of the quasi-Monte Carlo shifts of the Dunnett integration.
    abseps, releps : float, keyword-only
        Absolute and relative error targets of the Dunnett p-values (three Monte Carlo
        standard errors); the critical value is solved on probabilities five times as precise.

    Returns
    -------
    Adjusted

    Raises
    ------
    AnalysisError
        For an unknown method, a covariance that is not k x k, symmetric and positive
        definite (for Dunnett), or a conf_level outside (0, 1).
    """
    from scipy import optimize, stats

    method = check_adjust(method)
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    est = np.asarray(estimates, dtype=float).ravel()
    k = len(est)
    v = np.asarray(cov, dtype=float)
    if v.shape != (k, k):
        raise AnalysisError(f"{k} estimates need a {k} x {k} covariance matrix, got shape "
                            f"{v.shape}")
    if df is not None and not (np.isfinite(df) and df > 0):
        raise AnalysisError(f"degrees of freedom must be positive (None for z), got {df!r}")
    se = np.sqrt(np.diag(v))
    alpha = 1 - conf_level
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    p = 2 * (stats.norm.sf(np.abs(stat)) if df is None else stats.t.sf(np.abs(stat), df))
    if k == 0:
        empty = np.zeros(0)
        return Adjusted(method, method, empty, empty, empty, np.nan, 0.0, conf_level)
    error = 0.0
    if method == "dunnett" and k == 1:
        # one comparison: nothing to adjust (the max-|t| distribution is the t distribution)
        crit = _quantile(alpha / 2, df)
        p_adj, ci_method = p.copy(), "dunnett"
    elif method == "dunnett":
        if not np.allclose(v, v.T, rtol=1e-10, atol=0) or np.any(se <= 0):
            raise AnalysisError("the covariance matrix of the comparisons must be symmetric "
                                "with positive variances for a Dunnett adjustment")
        corr = v / np.outer(se, se)
        try:
            np.linalg.cholesky(corr)
        except np.linalg.LinAlgError:
            raise AnalysisError("the comparisons are linearly dependent (their correlation "
                                "matrix is singular); a Dunnett adjustment needs distinct "
                                "comparisons") from None
        integ = MaxAbsT(corr, df, random_state=random_state)
        p_adj = np.full(k, np.nan)
        for j in range(k):
            if np.isfinite(stat[j]):
                prob, err, _ = integ(abs(stat[j]), abseps=abseps, releps=releps)
                # the max-|t| p-value lies between the raw and the Bonferroni p-value
                p_adj[j] = min(max(prob, p[j]), 1.0, k * p[j])
                error = max(error, err)
        lo_c, hi_c = _quantile(alpha / 2, df), _quantile(alpha / (2 * k), df)
        # one point set for the whole search (common random numbers), large enough for the
        # target at the Bonferroni critical value
        log2n = integ(hi_c, abseps=abseps * 0.2, releps=1.0)[2]
        crit = float(optimize.brentq(lambda q: integ.estimate(q, log2n)[0] - alpha,
                                     lo_c, hi_c * (1 + 1e-9), xtol=1e-8))
        ci_method = "dunnett"
    else:
        p_adj = adjust_pvalues(p, method)
        ci_method = "bonferroni" if method in ("holm", "hochberg") else method
        if ci_method == "none":
            crit = _quantile(alpha / 2, df)
        elif ci_method == "bonferroni":
            crit = _quantile(alpha / (2 * k), df)
        else:  # sidak: each interval at 1 - (1 - conf_level)^(1/k)
            per = -np.expm1(np.log1p(-alpha) / k)
            crit = _quantile(per / 2, df)
    return Adjusted(method=method, ci_method=ci_method, p_adjusted=p_adj,
                    ci_lower=est - crit * se, ci_upper=est + crit * se,
                    critical_value=float(crit), error=float(error), conf_level=conf_level)

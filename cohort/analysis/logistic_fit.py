"""Fitting logistic models: maximum likelihood and Firth's penalised likelihood.

* :func:`fit_ml`: ordinary (unpenalised) maximum likelihood with statsmodels' GLM (binomial
  family, IRLS), as R's ``glm(family = binomial)``; its Wald statistics are statsmodels' own;
* :func:`fit_firth`: Firth's penalised likelihood, ``l(b) + 0.5 log|I(b)|`` (the Jeffreys
  prior), by Newton-Raphson on the modified score with step halving, as R's ``logistf``; its
  Wald statistics come from the inverse information, as ``logistf`` reports them.

Both return a :class:`LogisticFit`. The Newton-Raphson routine also fits the constrained
models of profile likelihood and likelihood-ratio tests
(:mod:`cohort.analysis.logistic_profile`). :func:`detect_separation` finds (quasi-)complete
separation by linear programming.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from cohort.analysis._common import catch_only
from cohort.errors import ConvergenceWarning, SeparationWarning

__all__ = ["LogisticFit", "detect_separation", "fit_firth", "fit_ml"]


@dataclass(frozen=True)
class LogisticFit:
    """Estimates of one (possibly constrained) logistic fit.

    ``objective`` is the maximised function: the log-likelihood (ML) or the penalised
    log-likelihood ``loglik + 0.5 log|I|`` (Firth). ``results`` holds statsmodels' GLM results
    of a maximum-likelihood fit (:func:`fit_ml`; None otherwise), and ``perfect_prediction``
    whether statsmodels reported perfect separation during that fit.
    """

    coef: np.ndarray
    cov: np.ndarray
    loglik: float
    objective: float
    converged: bool
    n_iter: int
    results: Any = None
    perfect_prediction: bool = False

    def wald(self, alpha: float = 0.05) -> dict[str, np.ndarray]:
        """Wald standard errors, z statistics, two-sided p-values and ``1 - alpha`` intervals.

        Read from statsmodels' results (``bse``, ``tvalues``, ``pvalues``, ``conf_int``) for a
        maximum-likelihood fit; for Firth, which statsmodels does not fit, from the inverse
        information at the estimate (as ``logistf``).

        Returns
        -------
        dict of str to ndarray
            ``std_error``, ``z``, ``p_wald``, ``ci_lower_wald``, ``ci_upper_wald`` (log odds
            ratio scale), one value per coefficient.
        """
        if self.results is not None:
            r = self.results
            ci = np.asarray(r.conf_int(alpha=alpha), dtype=float)
            return {"std_error": np.asarray(r.bse, dtype=float),
                    "z": np.asarray(r.tvalues, dtype=float),
                    "p_wald": np.asarray(r.pvalues, dtype=float),
                    "ci_lower_wald": ci[:, 0], "ci_upper_wald": ci[:, 1]}
        se = np.sqrt(np.clip(np.diag(self.cov), 0, None))
        z = self.coef / se
        q = stats.norm.ppf(1 - alpha / 2)
        return {"std_error": se, "z": z, "p_wald": 2 * stats.norm.sf(np.abs(z)),
                "ci_lower_wald": self.coef - q * se, "ci_upper_wald": self.coef + q * se}


def _evaluate(beta: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray,
              offset: np.ndarray, firth: bool
              ) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray | None]:
    """Objective, log-likelihood, working score vector, information and its inverse."""
    eta = x @ beta + offset
    pi = special.expit(eta)
    # log(1 + exp(eta)) computed without overflow
    loglik = float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))))
    v = w * pi * (1.0 - pi)
    info = (x * v[:, None]).T @ x
    resid = w * (y - pi)
    objective = loglik
    inv = None
    if firth:
        logdet, inv = _logdet_pinv(info)
        objective = loglik + 0.5 * logdet
        h = v * np.einsum("ij,jk,ik->i", x, inv, x)
        resid = resid + h * (0.5 - pi)
    return objective, loglik, resid, info, inv


def _logdet_pinv(info: np.ndarray) -> tuple[float, np.ndarray]:
    """log det and inverse of the information; pseudo-determinant and pseudo-inverse when it
    is singular (a column constant within a resample), so the penalty acts on the identified
    directions only."""
    sign, logdet = np.linalg.slogdet(info)
    if sign > 0 and np.isfinite(logdet):
        try:
            return float(logdet), np.linalg.inv(info)
        except np.linalg.LinAlgError:
            pass
    vals, vecs = np.linalg.eigh(info)
    keep = vals > vals.max(initial=0.0) * info.shape[0] * np.finfo(float).eps
    if not keep.any():
        return -np.inf, np.zeros_like(info)
    inv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
    return float(np.sum(np.log(vals[keep]))), inv


def _newton(x: np.ndarray, y: np.ndarray, *, firth: bool, weights: np.ndarray | None = None,
            beta0: np.ndarray | None = None, free: np.ndarray | None = None,
            max_iter: int = 100, tol: float = 1e-10, max_step: float = 5.0,
            max_halving: int = 30) -> LogisticFit:
    """Newton-Raphson (Fisher scoring) with step halving on the (penalised) log-likelihood.

    Coefficients outside ``free`` stay at their value in ``beta0`` (a profile fit). For Firth
    the penalty always uses the information of the *full* design, as ``logistf`` does, so a
    constrained fit maximises the full model's penalised likelihood over the free coefficients.
    """
    n, p = x.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    beta = np.zeros(p) if beta0 is None else np.array(beta0, dtype=float)
    free = np.ones(p, dtype=bool) if free is None else np.asarray(free, dtype=bool)
    offset = np.zeros(n)
    obj, loglik, resid, info, _ = _evaluate(beta, x, y, w, offset, firth)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        score = x[:, free].T @ resid
        sub = info[np.ix_(free, free)]
        try:
            step = np.linalg.solve(sub, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(sub, score, rcond=None)[0]
        if not np.all(np.isfinite(step)):
            break  # overflowed far out in a separated direction: not converged, say so
        biggest = np.max(np.abs(step)) if step.size else 0.0
        if biggest > max_step:
            step *= max_step / biggest
        for _ in range(max_halving):
            trial = beta.copy()
            trial[free] += step
            t_obj, t_loglik, t_resid, t_info, _ = _evaluate(trial, x, y, w, offset, firth)
            if t_obj >= obj - 1e-12 * max(1.0, abs(obj)):
                break
            step /= 2.0
        beta, obj, loglik, resid, info = trial, t_obj, t_loglik, t_resid, t_info
        if np.max(np.abs(step), initial=0.0) < tol:
            converged = True
            break
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.full((p, p), np.nan)
    return LogisticFit(coef=beta, cov=cov, loglik=loglik, objective=obj, converged=converged,
                       n_iter=it)


def fit_firth(x: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None,
              max_iter: int = 300, tol: float = 1e-10) -> LogisticFit:
    """Firth's penalised-likelihood logistic fit (Jeffreys prior).

    Maximises ``l(b) + 0.5 log|x' W x|`` by solving the modified score equations
    ``sum_i x_i (y_i - pi_i + h_i (1/2 - pi_i)) = 0`` (``h_i``: hat values) with Fisher scoring
    and step halving. The covariance is the inverse Fisher information at the estimate (as
    ``logistf`` reports it). ``weights`` are frequency weights.
    """
    fit = _newton(x, y, firth=True, weights=weights, max_iter=max_iter, tol=tol)
    return fit


def fit_ml(x: np.ndarray, y: np.ndarray, *, offset: np.ndarray | None = None,
           max_iter: int = 100, tol: float = 1e-12, warn: bool = True) -> LogisticFit:
    """Unpenalised maximum-likelihood fit with statsmodels' GLM (binomial, IRLS), as R's glm.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Design matrix (with its intercept column).
    y : ndarray, shape (n,)
        Outcome, 0.0 or 1.0.
    offset : ndarray, shape (n,), optional
        Known part of the linear predictor (log odds), e.g. a model's linear predictor for
        calibration-in-the-large.
    max_iter, tol : int, float
        IRLS iterations and convergence tolerance.
    warn : bool
        Issue our warnings for what statsmodels reports: perfect separation as
        :class:`~cohort.errors.SeparationWarning`, non-convergence as
        :class:`~cohort.errors.ConvergenceWarning`. With False they are only recorded in
        ``perfect_prediction`` and ``converged`` (for callers that report them themselves).

    Notes
    -----
    Only statsmodels' ``PerfectSeparationWarning`` and ``ConvergenceWarning`` are caught (and
    turned into the above); any other warning raised during the fit passes through unchanged.
    """
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning as SMConvergenceWarning
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    with catch_only(PerfectSeparationWarning, SMConvergenceWarning) as caught:
        res = GLM(y, x, family=Binomial(), offset=offset).fit(maxiter=max_iter, tol=tol)
    perfect = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    converged = bool(res.converged) and not any(
        issubclass(w.category, SMConvergenceWarning) for w in caught)
    if warn and perfect:
        warnings.warn("perfect separation: the fitted probabilities are all 0 or 1, so the "
                      "maximum-likelihood estimates are infinite and their standard errors "
                      "and Wald tests meaningless; use method='firth' (fit_firth)",
                      SeparationWarning, stacklevel=2)
    elif warn and not converged:
        warnings.warn(f"the maximum-likelihood fit did not converge in {max_iter} iterations; "
                      "check the predictors for extreme values or separation",
                      ConvergenceWarning, stacklevel=2)
    loglik = float(res.llf)
    return LogisticFit(coef=np.asarray(res.params, dtype=float),
                       cov=np.asarray(res.cov_params(), dtype=float), loglik=loglik,
                       objective=loglik, converged=converged,
                       n_iter=int(res.fit_history["iteration"]), results=res,
                       perfect_prediction=perfect)


def detect_separation(x: np.ndarray, y: np.ndarray, terms: list[str] | None = None
                      ) -> list[str] | None:
    """Detect complete or quasi-complete separation by linear programming.

    Separation exists when some direction ``b != 0`` has ``(2 y_i - 1) x_i' b >= 0`` for every
    subject (Albert & Anderson 1984); the maximum-likelihood estimate is then infinite along
    ``b``. The linear program maximises the sum of those margins within ``|b_k| <= 1``
    (Konis 2007). Returns None without separation, else the terms involved in the direction.
    """
    terms = terms or [f"x{k}" for k in range(x.shape[1])]
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    margins = (2.0 * y - 1.0)[:, None] * (x / scale)
    res = optimize.linprog(-margins.sum(axis=0), A_ub=-margins, b_ub=np.zeros(len(y)),
                           bounds=[(-1.0, 1.0)] * x.shape[1], method="highs")
    if res.status != 0 or -res.fun <= 1e-7 * len(y):
        return None
    direction = res.x
    return [t for t, b in zip(terms, direction, strict=True) if abs(b) > 1e-7]

"""Fitting the MMRM: Newton-Raphson on the covariance parameters, GLS for the fixed effects.

The optimiser works in SAS's parametrisation (:mod:`.covariance`) with the analytic gradient
and Hessian of :mod:`.likelihood`, as PROC MIXED does: Fisher scoring while the observed
Hessian is not positive definite (far from the optimum), Newton-Raphson after, each step
halved until ``-2 log L`` decreases and the covariance stays positive definite. It stops when
the Newton decrement ``g'H^-1 g`` (in ``-2 log L`` units) is below ``tol``; SAS's default
criterion is the same quantity divided by ``|f|`` below 1e-8, so ours is tighter. Every
iteration is recorded (``history``). There is no fallback: a fit that does not converge raises
:class:`MmrmConvergenceError` with the last gradient norm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cohort.analysis.mmrm.covariance import CovarianceStructure
from cohort.analysis.mmrm.likelihood import (
    Evaluation,
    Pattern,
    SingularCovarianceError,
    evaluate,
    pattern_statistics,
)
from cohort.errors import AnalysisError

__all__ = ["MmrmConvergenceError", "MmrmFit", "fit_covariance"]


class MmrmConvergenceError(AnalysisError):
    """The MMRM optimiser did not converge (the message gives the last gradient norm)."""


@dataclass
class MmrmFit:
    """A fitted MMRM (functional core; see :func:`cohort.analysis.mmrm.mmrm`).

    Attributes
    ----------
    structure : CovarianceStructure
    reml : bool
    theta : ndarray
        Covariance parameters (SAS's names in ``structure.names``).
    beta : ndarray
        Fixed effects.
    vcov : ndarray
        Model-based covariance of ``beta``: ``(X'V^-1 X)^-1``.
    theta_vcov : ndarray
        Asymptotic covariance of ``theta``: twice the inverse of the observed Hessian of
        ``-2 log L``.
    theta_vcov_expected : ndarray
        The same from the expected information (used by Kenward-Roger, as SAS does).
    jac : ndarray (q, p, p)
        ``d vcov / d theta_k``.
    minus2ll : float
        ``-2 log L`` (REML: SAS's "-2 Res Log Like") at the optimum.
    converged : bool
    history : DataFrame
        One row per iteration: ``iteration``, ``step`` (``start``, ``scoring``, ``newton``),
        ``step_length``, ``minus2ll``, ``gradient_norm`` (max absolute), ``criterion``
        (Newton decrement).
    n_obs, n_subjects : int
    patterns : list of Pattern
    """

    structure: CovarianceStructure
    reml: bool
    theta: np.ndarray
    beta: np.ndarray
    vcov: np.ndarray
    theta_vcov: np.ndarray
    theta_vcov_expected: np.ndarray
    jac: np.ndarray
    minus2ll: float
    converged: bool
    history: pd.DataFrame
    n_obs: int
    n_subjects: int
    patterns: list[Pattern] = field(repr=False, default_factory=list)

    @property
    def sigma(self) -> np.ndarray:
        """Estimated ``T x T`` covariance of one subject's responses over the visits."""
        return self.structure.sigma(self.theta)

    def covariance_parameters(self) -> pd.DataFrame:
        """``parameter`` (SAS's name), ``estimate``, ``se`` (from the observed Hessian)."""
        se = np.sqrt(np.clip(np.diag(self.theta_vcov), 0, None))
        return pd.DataFrame({"parameter": list(self.structure.names), "estimate": self.theta,
                             "se": se})


def fit_covariance(y: np.ndarray, x: np.ndarray, subject: np.ndarray, visit: np.ndarray,
                   structure: CovarianceStructure, *, reml: bool = True,
                   max_iter: int = 50, tol: float = 1e-12,
                   theta: np.ndarray | None = None) -> MmrmFit:
    """Fit the MMRM on arrays (records with a response only).

    Parameters
    ----------
    y : ndarray (N,)
        Response.
    x : ndarray (N, p)
        Full-rank design matrix.
    subject : ndarray of int (N,)
        Subject codes ``0..n-1``.
    visit : ndarray of int (N,)
        Visit index ``0..T-1`` (at most one record per subject and visit).
    structure : CovarianceStructure
    reml : bool
        REML (default) or ML.
    max_iter : int
        Most Newton/scoring iterations (50, as SAS PROC MIXED's MAXITER default).
    tol : float
        Convergence when the Newton decrement ``g'H^-1 g`` is below ``tol * max(1, |f|)``.
    theta : ndarray or None
        Fixed covariance parameters (SAS ``PARMS ... / NOITER``): no optimisation; the fixed
        effects, their covariance and the df are computed at ``theta``. ``converged`` is then
        False and ``history`` has the one evaluation.

    Raises
    ------
    MmrmConvergenceError
        When the optimiser stops without converging.
    """
    t = structure.n_visits
    n_obs = len(y)
    patterns = pattern_statistics(y, x, subject, visit, t)
    fixed = theta is not None
    if fixed:
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (structure.n_params,) or not structure.feasible(theta):
            raise AnalysisError(f"fixed covariance parameters must be {structure.n_params} "
                                f"values giving a positive-definite covariance "
                                f"({', '.join(structure.names)})")
    else:
        theta = structure.start(_residual_covariance(y, x, subject, visit, t))
    rows = []
    ev = _eval(theta, patterns, structure, reml, n_obs)
    if ev is None:
        raise MmrmConvergenceError("the MMRM cannot start: the starting covariance gives a "
                                   "singular model")
    rows.append(_row(0, "fixed" if fixed else "start", np.nan, ev, np.nan))
    converged = False
    for it in range(1, 0 if fixed else max_iter + 1):
        g, h = ev.grad, ev.hess
        step_kind = "newton"
        try:
            np.linalg.cholesky(h)
            direction = -np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            step_kind = "scoring"
            direction = -np.linalg.solve(ev.expected, g)
        crit = float(-g @ direction)
        if step_kind == "newton" and abs(crit) < tol * max(1.0, abs(ev.f)):
            converged = True
            rows[-1]["criterion"] = crit
            break
        length, new = 1.0, None
        for _ in range(40):
            cand = theta + length * direction
            if structure.feasible(cand):
                new = _eval(cand, patterns, structure, reml, n_obs)
                if new is not None and new.f <= ev.f + 1e-10 * max(1.0, abs(ev.f)):
                    break
            new = None
            length /= 2
        if new is None:
            break
        theta, ev = cand, new
        rows.append(_row(it, step_kind, length, ev, crit))
    history = pd.DataFrame(rows)
    gnorm = float(np.max(np.abs(ev.grad)))
    if not converged and not fixed:
        raise MmrmConvergenceError(
            f"the MMRM ({structure.code}, {'REML' if reml else 'ML'}) did not converge after "
            f"{len(rows) - 1} iteration(s): last gradient norm {gnorm:.3g} (max |d(-2 log L)/"
            f"d theta|), -2 log L {ev.f:.6f}; parameters {_fmt(structure, theta)}. The "
            "covariance may be on the boundary (a variance near 0 or a correlation near +-1): "
            "try a simpler covariance structure")
    h_inv = np.linalg.inv(ev.hess)
    e_inv = np.linalg.inv(ev.expected)
    jac = np.einsum("pr,krs,sq->kpq", ev.c_inv, ev.q_mats, ev.c_inv)
    n_sub = int(subject.max()) + 1
    return MmrmFit(structure, reml, theta, ev.beta, ev.c_inv, 2 * h_inv, 2 * e_inv, jac, ev.f,
                   converged, history, n_obs, n_sub, patterns)


def _fmt(structure: CovarianceStructure, theta: np.ndarray) -> str:
    return ", ".join(f"{n}={v:.4g}" for n, v in zip(structure.names, theta, strict=True))


def _eval(theta: np.ndarray, patterns: list[Pattern], structure: CovarianceStructure,
          reml: bool, n_obs: int) -> Evaluation | None:
    # near the boundary (a variance -> 0, a correlation -> 1) the derivatives overflow: such
    # a point is treated as infeasible (the step is halved), not reported as a numpy warning
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ev = evaluate(theta, patterns, structure, reml=reml, n_obs=n_obs)
    except (SingularCovarianceError, np.linalg.LinAlgError):
        return None
    parts = [ev.f, ev.grad, ev.hess, ev.expected]
    if not all(np.all(np.isfinite(x)) for x in parts):
        return None
    return ev


def _row(it: int, kind: str, length: float, ev: Evaluation, crit: float) -> dict[str, object]:
    return {"iteration": it, "step": kind, "step_length": length, "minus2ll": ev.f,
            "gradient_norm": float(np.max(np.abs(ev.grad))), "criterion": crit}


def _residual_covariance(y: np.ndarray, x: np.ndarray, subject: np.ndarray, visit: np.ndarray,
                         t: int) -> np.ndarray:
    """Pairwise covariance of OLS residuals by visit (a starting point only)."""
    beta = np.linalg.solve(x.T @ x, x.T @ y)  # full rank (checked by the caller)
    r = y - x @ beta
    n_sub = int(subject.max()) + 1
    mat = np.full((n_sub, t), np.nan)
    mat[subject, visit] = r
    cov = pd.DataFrame(mat).cov(min_periods=2).to_numpy()
    var = np.nanmean(np.diag(cov)) if np.isfinite(np.diag(cov)).any() else float(r.var())
    diag = np.where(np.isfinite(np.diag(cov)), np.diag(cov), var)
    cov = np.where(np.isfinite(cov), cov, 0.0)
    np.fill_diagonal(cov, diag)
    return cov

"""The (restricted) log-likelihood of the MMRM with its analytic gradient and Hessian.

Subjects are grouped by their pattern of observed visits. Within a pattern every subject's
covariance is the same sub-matrix ``Sigma_o`` of the ``T x T`` matrix, so every quantity the
likelihood and its derivatives need is a contraction of ``Sigma_o^-1`` with sums over the
pattern's subjects of ``x_ia x_ib'``, ``x_ia y_ib`` and ``y_ia y_ib`` (visits ``a``, ``b``).
Those sums are computed once (:func:`pattern_statistics`); one evaluation then costs
O(patterns x T^2 p^2), independent of the number of subjects.

Notation (all for ``f = -2 log L``, REML or ML): ``W = V^-1`` (block diagonal), ``C = X'WX``,
``P = W - W X C^-1 X' W``, ``r = y - X beta_hat``, ``V_k = dV/dtheta_k``:

* ``f_REML = sum log|Sigma_i| + log|C| + r'Wr + (N - p) log(2 pi)`` (SAS's "-2 Res Log Like"),
  ``f_ML = sum log|Sigma_i| + r'Wr + N log(2 pi)``;
* ``df/dtheta_k = tr(P V_k) - r'W V_k W r`` (ML: ``tr(W V_k)`` first);
* ``d2f/dtheta_k dtheta_m = -tr(P V_k P V_m) + 2 r'W V_k P V_m W r + tr(P V_km) - r'W V_km W r``
  (ML: ``W`` for ``P`` in the two traces); its expectation, the expected information (x2),
  is ``tr(P V_k P V_m)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cohort.analysis.mmrm.covariance import CovarianceStructure

__all__ = ["Evaluation", "Pattern", "evaluate", "pattern_statistics"]

LOG_2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Pattern:
    """Subjects observed at the same visits, with their sufficient statistics.

    Attributes
    ----------
    visits : ndarray of int
        Indices (0-based) of the visits observed.
    n : int
        Subjects with this pattern.
    sxx : ndarray, shape (k, k, p, p)
        ``sum_i x_ia x_ib'`` over the pattern's subjects.
    sxy : ndarray, shape (k, k, p)
        ``sum_i x_ia y_ib``.
    syy : ndarray, shape (k, k)
        ``sum_i y_ia y_ib``.
    """

    visits: np.ndarray
    n: int
    sxx: np.ndarray
    sxy: np.ndarray
    syy: np.ndarray


def pattern_statistics(y: np.ndarray, x: np.ndarray, subject: np.ndarray,
                       visit: np.ndarray, n_visits: int) -> list[Pattern]:
    """Group records by subject and pattern of visits and sum the cross-products.

    Parameters
    ----------
    y : ndarray, shape (N,)
    x : ndarray, shape (N, p)
    subject : ndarray of int, shape (N,)
        Subject codes ``0..n_subjects-1``.
    visit : ndarray of int, shape (N,)
        Visit indices ``0..T-1``; at most one record per subject and visit (checked by the
        caller).
    n_visits : int
    """
    n_sub = int(subject.max()) + 1
    p = x.shape[1]
    codes = np.zeros(n_sub, dtype=np.int64)
    np.add.at(codes, subject, 1 << visit.astype(np.int64))
    # records sorted by pattern, subject, visit: each pattern's records are one block in
    # which every subject has its k visits in order, so the block reshapes to (n_p, k * p)
    order = np.lexsort((visit, subject, codes[subject]))
    xs_all, ys_all, pat_of = x[order], y[order], codes[subject[order]]
    bounds = np.flatnonzero(np.diff(pat_of)) + 1
    out = []
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(order)], strict=True):
        code = int(pat_of[lo])
        vis = np.flatnonzero([(code >> j) & 1 for j in range(n_visits)])
        k = len(vis)
        n_p = (hi - lo) // k
        xs = xs_all[lo:hi].reshape(n_p, k * p)
        ys = ys_all[lo:hi].reshape(n_p, k)
        sxx = (xs.T @ xs).reshape(k, p, k, p).transpose(0, 2, 1, 3)
        sxy = (xs.T @ ys).reshape(k, p, k).transpose(0, 2, 1)
        out.append(Pattern(vis, n_p, np.ascontiguousarray(sxx),
                           np.ascontiguousarray(sxy), ys.T @ ys))
    return out


@dataclass
class Evaluation:
    """The likelihood and what the fit and the degrees of freedom need at one ``theta``.

    Attributes
    ----------
    f : float
        ``-2 log L`` (REML or ML), SAS's constant included.
    beta : ndarray (p,)
        GLS estimate of the fixed effects.
    c_inv : ndarray (p, p)
        ``(X'V^-1 X)^-1``: the model-based covariance of ``beta``.
    grad : ndarray (q,) or None
    hess : ndarray (q, q) or None
        Observed Hessian of ``f``.
    expected : ndarray (q, q) or None
        Expected Hessian of ``f`` (twice the expected information).
    q_mats : ndarray (q, p, p) or None
        ``X'W V_k W X`` (``-dC/dtheta_k``).
    """

    f: float
    beta: np.ndarray
    c_inv: np.ndarray
    grad: np.ndarray | None = None
    hess: np.ndarray | None = None
    expected: np.ndarray | None = None
    q_mats: np.ndarray | None = None


class SingularCovarianceError(ArithmeticError):
    """Sigma or X'V^-1 X is not positive definite at the parameters tried."""


def _chol_inv(a: np.ndarray) -> tuple[np.ndarray, float]:
    try:
        lc = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        raise SingularCovarianceError from None
    li = np.linalg.inv(lc)
    return li.T @ li, 2.0 * float(np.log(np.diag(lc)).sum())


def evaluate(theta: np.ndarray, patterns: list[Pattern], structure: CovarianceStructure, *,
             reml: bool, n_obs: int, order: int = 2) -> Evaluation:
    """``-2 log L`` at ``theta`` and (``order`` >= 1) its gradient, (``order`` >= 2) its
    observed and expected Hessians.

    Raises
    ------
    SingularCovarianceError
        When a covariance matrix or ``X'V^-1 X`` is not positive definite at ``theta``.
    """
    sig, d1, d2 = structure.derivatives(theta, order=order)
    p = patterns[0].sxx.shape[-1]
    c = np.zeros((p, p))
    xwy = np.zeros(p)
    logdet = 0.0
    winv = []
    for pat in patterns:
        o = pat.visits
        w, ld = _chol_inv(sig[np.ix_(o, o)])
        winv.append(w)
        logdet += pat.n * ld
        c += np.einsum("ab,abpq->pq", w, pat.sxx)
        xwy += np.einsum("ab,abp->p", w, pat.sxy)
    c_inv, logdet_c = _chol_inv(c)
    beta = c_inv @ xwy
    rwr = 0.0
    resid = []  # E_o = sum r_i r_i', T_o[a, b] = sum x_ia r_ib
    for pat, w in zip(patterns, winv, strict=True):
        sxb = np.einsum("abp,p->ab", pat.sxy, beta)
        xxb = np.einsum("abpq,q->abp", pat.sxx, beta)
        e = pat.syy - sxb - sxb.T + np.einsum("abp,p->ab", xxb, beta)
        resid.append((e, pat.sxy - xxb))
        rwr += float(np.einsum("ab,ba->", w, e))
    f = logdet + rwr
    if reml:
        f += logdet_c + (n_obs - p) * LOG_2PI
    else:
        f += n_obs * LOG_2PI
    ev = Evaluation(f, beta, c_inv)
    if order < 1:
        return ev
    q = len(theta)
    t = structure.n_visits
    grad_mat = np.zeros((t, t))  # df/dSigma (embedded per pattern)
    q_mats = np.zeros((q, p, p))
    u = np.zeros((q, p))
    need2 = order >= 2
    if need2:
        a_mat = np.zeros((q, q))
        b_mat = np.zeros((q, q))
    for pat, w, (e, txr) in zip(patterns, winv, resid, strict=True):
        o = pat.visits
        dk = d1[:, o][:, :, o]                       # (q, k, k)
        rr = w @ e @ w                               # R_o
        h = np.einsum("pq,abqp->ab", c_inv, pat.sxx)  # sum_i x_ia' C^-1 x_ib
        m = w @ h @ w                                # M_o
        g_o = pat.n * w - rr - (m if reml else 0.0)
        grad_mat[np.ix_(o, o)] += g_o
        wdw = np.einsum("ab,kbc,cd->kad", w, dk, w)  # W D_k W
        q_mats += np.einsum("kab,abpq->kpq", wdw, pat.sxx)
        u += np.einsum("kab,abp->kp", wdw, txr)
        if need2:
            wd = np.einsum("ab,kbc->kac", w, dk)     # W D_k
            a_mat += pat.n * np.einsum("kab,mba->km", wd, wd)
            if reml:
                # 2 tr(W D_k M D_m) over the pattern
                md = np.einsum("ab,mbc->mac", m, dk)
                a_mat -= 2 * np.einsum("kab,mba->km", wd, md)
            # r'W V_k W V_m W r = tr(D_k W D_m R)
            rd = np.einsum("ab,mbc->mac", rr, dk)
            b_mat += np.einsum("kab,mba->km", wd, rd)
    grad = np.einsum("ab,kba->k", grad_mat, d1)
    ev.grad = grad
    ev.q_mats = q_mats
    if not need2:
        return ev
    cq = np.einsum("pr,krs->kps", c_inv, q_mats)     # C^-1 Q_k
    if reml:
        a_mat += np.einsum("kps,msp->km", cq, cq)
    b_mat -= u @ c_inv @ u.T
    hess = -a_mat + 2 * b_mat
    if d2 is not None and not structure.linear:
        hess += np.einsum("ab,kmba->km", grad_mat, d2)
    ev.hess = (hess + hess.T) / 2
    ev.expected = (a_mat + a_mat.T) / 2
    return ev

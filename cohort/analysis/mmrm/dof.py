"""Degrees of freedom and adjusted covariances of MMRM contrasts.

* **Satterthwaite** (SAS ``ddfm=satterthwaite``, R mmrm's default): for a contrast ``l``,
  ``df = 2 (l'Phi l)^2 / (g' A g)`` with ``Phi`` the model-based covariance of the fixed
  effects, ``g_k = l' dPhi/dtheta_k l`` and ``A`` the asymptotic covariance of the covariance
  parameters from the *observed* Hessian (as mmrm; invariant to the parametrisation).
* **Kenward-Roger** (SAS ``ddfm=kr``; Kenward and Roger 1997): the covariance of the fixed
  effects is inflated to ``Phi_A = Phi + 2 Phi [sum_ij W_ij (Q_ij - P_i Phi P_j - R_ij / 4)]
  Phi`` and the df follow from K&R's moment matching (for one contrast they equal the
  Satterthwaite df computed with ``W``). ``W`` is the inverse *expected* information; ``R_ij``
  holds the second derivatives of the covariance matrix in SAS's parametrisation
  (:mod:`.covariance`), so the result is SAS's ``ddfm=kr``. **Kenward-Roger linear**
  (``R_ij = 0``) is SAS's ``ddfm=kr(linear)`` (also called ``kr(firstorder)``; R mmrm's
  "Kenward-Roger-Linear"). For structures linear in SAS's parameters (``us``, ``cs``,
  ``toep``) the two coincide.
* **residual** (SAS ``ddfm=residual``): ``N - rank(X)`` for every contrast.
* **between-within** (SAS ``ddfm=bw``, as R mmrm implements it): coefficients of columns that
  are constant within every subject get ``n_subjects - rank(X_between)``, the others
  ``N - n_subjects - rank(X_within)``; a contrast gets the smallest df of the coefficients it
  involves.
"""

from __future__ import annotations

import numpy as np

from cohort.analysis.mmrm.fit import MmrmFit
from cohort.analysis.mmrm.likelihood import _chol_inv

__all__ = ["DF_METHODS", "between_within_df", "kenward_roger", "kr_df", "satterthwaite_df"]

DF_METHODS = ("satterthwaite", "kr", "kr-linear", "residual", "between-within")


def satterthwaite_df(fit: MmrmFit, lvec: np.ndarray, *, vcov_theta: np.ndarray | None = None
                     ) -> float:
    """Satterthwaite df of the contrast ``lvec @ beta``."""
    a = fit.theta_vcov if vcov_theta is None else vcov_theta
    v = float(lvec @ fit.vcov @ lvec)
    g = np.einsum("p,kpq,q->k", lvec, fit.jac, lvec)
    den = float(g @ a @ g)
    if den <= 0 or v <= 0:
        return float("inf")
    return 2.0 * v * v / den


def kenward_roger(fit: MmrmFit, *, linear: bool) -> tuple[np.ndarray, np.ndarray]:
    """Kenward-Roger adjusted covariance of the fixed effects, and ``W`` for the df.

    Returns
    -------
    (vcov_adjusted, w) : (ndarray (p, p), ndarray (q, q))
    """
    st = fit.structure
    sig, d1, d2 = st.derivatives(fit.theta, order=2)
    q = st.n_params
    p = len(fit.beta)
    qij = np.zeros((q, q, p, p))
    rij = np.zeros((q, q, p, p))
    for pat in fit.patterns:
        o = pat.visits
        w, _ = _chol_inv(sig[np.ix_(o, o)])
        dk = d1[:, o][:, :, o]
        wd = np.einsum("ab,kbc->kac", w, dk)                 # W D_k
        wdwdw = np.einsum("kab,mbc,cd->kmad", wd, wd, w)     # W D_k W D_m W
        qij += np.einsum("kmab,abpq->kmpq", wdwdw, pat.sxx)
        if not linear and not st.linear:
            wd2w = np.einsum("ab,kmbc,cd->kmad", w, d2[:, :, o][:, :, :, o], w)
            rij += np.einsum("kmab,abpq->kmpq", wd2w, pat.sxx)
    phi = fit.vcov
    w_theta = fit.theta_vcov
    pmat = -np.einsum("pr,krs,sq->kpq", np.linalg.inv(phi), fit.jac, np.linalg.inv(phi))
    # P_i = X' dSigma^-1/dtheta_i X = -Q_i (Q_i = X'W V_i W X); fit.jac = Phi Q_i Phi
    inner = np.zeros((p, p))
    for i in range(q):
        for j in range(q):
            inner += w_theta[i, j] * (qij[i, j] - pmat[i] @ phi @ pmat[j] - 0.25 * rij[i, j])
    adj = phi + 2.0 * phi @ inner @ phi
    return (adj + adj.T) / 2, w_theta


def kr_df(fit: MmrmFit, lmat: np.ndarray, w_theta: np.ndarray) -> tuple[float, float]:
    """Kenward-Roger denominator df and F scaling ``lambda`` for the rows of ``lmat``.

    For one contrast this is the Satterthwaite df with ``W`` (and ``lambda = 1``).
    """
    lmat = np.atleast_2d(lmat)
    ell = lmat.shape[0]
    phi = fit.vcov
    theta = lmat.T @ np.linalg.inv(lmat @ phi @ lmat.T) @ lmat
    # Phi P_i Phi = -jac_i
    tp = np.einsum("pr,krq->kpq", theta, -fit.jac)            # Theta Phi P_i Phi
    tr1 = np.einsum("kpp->k", tp)
    a1 = float(tr1 @ w_theta @ tr1)
    a2 = float(np.einsum("ij,ipq,jqp->", w_theta, tp, tp))
    if ell == 1:
        return (2.0 / a2 if a2 > 0 else float("inf")), 1.0
    b = (a1 + 6 * a2) / (2 * ell)
    g = ((ell + 1) * a1 - (ell + 4) * a2) / ((ell + 2) * a2)
    den = 3 * ell + 2 * (1 - g)
    c1, c2, c3 = g / den, (ell - g) / den, (ell + 2 - g) / den
    e_star = 1.0 / (1 - a2 / ell)
    v_star = 2.0 / ell * (1 + c1 * b) / ((1 - c2 * b) ** 2 * (1 - c3 * b))
    rho = v_star / (2 * e_star ** 2)
    m = 4 + (ell + 2) / (ell * rho - 1)
    lam = m / (e_star * (m - 2))
    return m, lam


def between_within_df(x: np.ndarray, subject: np.ndarray) -> np.ndarray:
    """Between-within df of every coefficient (see the module docstring)."""
    n_obs = x.shape[0]
    n_sub = int(subject.max()) + 1
    order = np.argsort(subject, kind="stable")
    xs, ss = x[order], subject[order]
    starts = np.r_[0, np.flatnonzero(np.diff(ss)) + 1]
    first = np.repeat(xs[starts], np.diff(np.r_[starts, len(ss)]), axis=0)
    between = np.all(np.isclose(xs, first), axis=0)
    rank_b = np.linalg.matrix_rank(x[:, between]) if between.any() else 0
    rank_w = np.linalg.matrix_rank(x) - rank_b
    return np.where(between, n_sub - rank_b, n_obs - n_sub - rank_w).astype(float)

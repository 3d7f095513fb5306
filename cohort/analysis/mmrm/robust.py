"""Empirical (sandwich) covariance of the MMRM's fixed effects: SAS ``PROC MIXED ... EMPIRICAL``.

``Phi (sum_i X_i' W_i r_i r_i' W_i X_i) Phi`` with ``Phi = (X'V^-1 X)^-1``, ``W_i`` the inverse
of subject ``i``'s estimated covariance and ``r_i`` its residuals (Liang and Zeger's estimator
without small-sample correction: SAS's ``empirical`` and R mmrm's ``vcov = "Empirical"``). It
stays valid when the covariance structure is wrong, at the price of more variance.
"""

from __future__ import annotations

import numpy as np

from cohort.analysis.mmrm.fit import MmrmFit

__all__ = ["empirical_vcov"]


def empirical_vcov(fit: MmrmFit, y: np.ndarray, x: np.ndarray, subject: np.ndarray,
                   visit: np.ndarray) -> np.ndarray:
    """The sandwich covariance of ``fit.beta`` from the records the model was fitted to."""
    sig = fit.sigma
    n_visits = sig.shape[0]
    p = x.shape[1]
    r = y - x @ fit.beta
    n_sub = int(subject.max()) + 1
    codes = np.zeros(n_sub, dtype=np.int64)
    np.add.at(codes, subject, 1 << visit.astype(np.int64))
    order = np.lexsort((visit, subject, codes[subject]))
    xs_all, rs_all, pat_of = x[order], r[order], codes[subject[order]]
    bounds = np.flatnonzero(np.diff(pat_of)) + 1
    meat = np.zeros((p, p))
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(order)], strict=True):
        code = int(pat_of[lo])
        vis = np.flatnonzero([(code >> j) & 1 for j in range(n_visits)])
        k = len(vis)
        n_p = (hi - lo) // k
        w = np.linalg.inv(sig[np.ix_(vis, vis)])
        xb = xs_all[lo:hi].reshape(n_p, k, p)
        rb = rs_all[lo:hi].reshape(n_p, k)
        u = np.einsum("nkp,kl,nl->np", xb, w, rb)   # X_i' W_i r_i per subject
        meat += u.T @ u
    out = fit.vcov @ meat @ fit.vcov
    return (out + out.T) / 2

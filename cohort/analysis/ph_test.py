"""The proportional-hazards test of a fitted Cox model, as R's ``cox.zph`` (survival >= 3.0).

Implemented here because lifelines' ``proportional_hazard_test`` is the older approximation
(the scaled-Schoenfeld-residual test of survival < 3.0) and gives different numbers: R's
``cox.zph`` now computes, at the fitted coefficients, a score test for adding ``x * g(t)`` to
the model, ``g`` the "km" transform (1 - the pooled Kaplan-Meier just before t), with Efron
ties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis.risk_sets import entry_times, event_table

__all__ = ["ph_test"]


def _km_transform(start: np.ndarray, stop: np.ndarray, event: np.ndarray) -> np.ndarray:
    """1 - S(t-) at each row's stop time, S the pooled Kaplan-Meier (R's transform="km")."""
    table = event_table(start, stop, event)
    n, d = table["n_risk"].to_numpy(float), table["n_event"].to_numpy(float)
    surv = np.cumprod(1.0 - d / n)
    before = np.searchsorted(table["time"].to_numpy(), stop, side="left")
    return 1.0 - np.concatenate([[1.0], surv])[before]


def ph_test(start: np.ndarray, stop: np.ndarray, event: np.ndarray, x: np.ndarray,
            beta: np.ndarray, terms: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """R's ``cox.zph`` (survival >= 3.0, transform "km", Efron ties) for a fitted Cox model.

    A score test, at the fitted coefficients, for adding ``x * g(t)`` to the model, with
    ``g(t) = 1 - S_KM(t-)`` centred at its mean over events; one test per term and a global one.

    Parameters
    ----------
    start, stop : ndarray
        At-risk intervals ``(start, stop]`` in days (``start`` 0 = from the origin).
    event : ndarray of bool
        Event at ``stop``.
    x : ndarray, shape (n, p)
        Design matrix of the fitted model.
    beta : ndarray, shape (p,)
        Fitted coefficients (log hazard ratios).
    terms : mapping of str to list of int
        Columns of ``x`` that form each term (a factor's dummies test together).

    Returns
    -------
    DataFrame
        ``term``, ``chisq``, ``df``, ``p``; the last row is ``GLOBAL``.
    """
    x = np.asarray(x, dtype=float)
    n, p = x.shape
    g = _km_transform(start, stop, event)
    g = g - g[event].mean()
    eta = x @ beta
    w = np.exp(eta - eta.max())
    times = np.unique(stop[event])
    # risk-set sums over (start, stop] via sorted cumulative sums
    f = np.concatenate([w[:, None], w[:, None] * x,
                        (w[:, None, None] * x[:, :, None] * x[:, None, :]).reshape(n, -1)], 1)

    def tail_sums(keys: np.ndarray) -> np.ndarray:
        order = np.argsort(keys, kind="stable")
        cs = np.vstack([np.cumsum(f[order][::-1], axis=0)[::-1], np.zeros((1, f.shape[1]))])
        return cs[np.searchsorted(keys[order], times, side="left")]

    risk = tail_sums(stop)
    if np.any(start > 0):
        risk -= tail_sums(entry_times(start))
    pos = np.searchsorted(times, stop[event])
    fe = f[event]
    dead = np.column_stack([np.bincount(pos, weights=fe[:, j], minlength=len(times))
                            for j in range(f.shape[1])])
    d = np.bincount(pos, minlength=len(times))
    # Efron: the k-th of d tied deaths sees the tied deaths' weights reduced by k/d
    tj = np.repeat(np.arange(len(times)), d)
    k = np.arange(len(tj)) - np.repeat(np.cumsum(d) - d, d)
    a = (k / d[tj])[:, None]
    s = risk[tj] - a * dead[tj]
    s0, s1 = s[:, :1], s[:, 1:1 + p]
    s2 = s[:, 1 + p:].reshape(-1, p, p)
    xbar = s1 / s0
    v = s2 / s0[:, :, None] - xbar[:, :, None] * xbar[:, None, :]
    # g depends on the time only: the same for every death at a time
    gj = np.zeros(len(times))
    gj[pos] = g[event]
    gr = gj[tj]
    u = (g[event][:, None] * x[event]).sum(0) - (gr[:, None] * xbar).sum(0)
    i_bb = v.sum(0)
    i_bg = (gr[:, None, None] * v).sum(0)
    i_gg = (gr[:, None, None] ** 2 * v).sum(0)
    imat = np.block([[i_bb, i_bg], [i_bg, i_gg]])
    rows = []
    for name, jj in [*terms.items(), ("GLOBAL", list(range(p)))]:
        kk = list(range(p)) + [p + j for j in jj]
        uu = np.concatenate([np.zeros(p), u[list(jj)]])
        try:
            chisq = float(np.linalg.solve(imat[np.ix_(kk, kk)], uu) @ uu)
        except np.linalg.LinAlgError:
            chisq = np.nan
        rows.append({"term": name, "chisq": chisq, "df": len(jj),
                     "p": float(stats.chi2.sf(chisq, len(jj))) if np.isfinite(chisq)
                     else np.nan})
    return pd.DataFrame(rows)


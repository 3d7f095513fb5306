"""The numerical core of the Cox model: Efron partial likelihood on ``(start, stop]`` risk sets.

Computed here (numpy only) rather than by lifelines, to have what a trial statistician checks
against R's ``coxph`` (survival 3.x), with R's formulas:

* the fit: Newton-Raphson from beta = 0 with step halving, as ``coxph``; it stops only when the
  Newton step is below 1e-10 (relative) or the log-likelihood no longer changes in double
  precision, so coefficients are at the maximum to ~1e-12 (R's default stop, a relative
  log-likelihood change below 1e-9, leaves them ~1e-10 from it);
* the information matrix with Efron's correction for tied events;
* score residuals as ``residuals(fit, type = "score")`` (Efron), dfbeta = score residuals times
  the inverse information, and the cluster-robust (sandwich) variance as
  ``coxph(..., cluster = id)``: ``t(D) %*% D`` with ``D`` the dfbeta rows summed per cluster
  (no small-sample factor, as R);
* the global likelihood-ratio, Wald and score tests, and R's robust score test (score residuals
  at beta = 0, summed per cluster).

Every risk-set sum is a cumulative sum over rows sorted once by stop (and entry) time, so a fit
costs O(n log n + iterations * n * p^2); no n x p^2 array is formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cohort.analysis.risk_sets import entry_times

__all__ = ["CoxFit", "RiskSets", "fit_cox", "robust_variance", "score_residuals",
           "score_test"]

MAX_ITER = 60
STEP_TOL = 1e-10


@dataclass(frozen=True)
class RiskSets:
    """Sorted indices that turn risk-set sums into cumulative sums (built once per data set)."""

    times: np.ndarray          # distinct event times, ascending (m)
    stop_order: np.ndarray | None  # rows by stop time (None: the rows are in that order)
    stop_pos: np.ndarray       # per event time: first sorted row with stop >= t
    entry_order: np.ndarray | None  # rows by entry time (None: everyone at risk from 0)
    entry_pos: np.ndarray | None    # per event time: first sorted row with entry >= t
    deaths: np.ndarray         # row index of each event, grouped by time (D)
    death_time: np.ndarray     # time index of each event (D)
    tie_frac: np.ndarray       # Efron's k / d for the k-th of d tied events (D)
    n_deaths: np.ndarray       # events per time (m)
    first: np.ndarray          # per row: index of the first event time > entry
    last: np.ndarray           # per row: index past the last event time <= stop

    @classmethod
    def build(cls, start: np.ndarray, stop: np.ndarray, event: np.ndarray) -> RiskSets:
        event = np.asarray(event, dtype=bool)
        times = np.unique(stop[event])
        # rows already sorted by stop (cox_ph sorts them once): no gathers per iteration
        presorted = bool(np.all(stop[1:] >= stop[:-1]))
        stop_order = np.arange(len(stop)) if presorted else np.argsort(stop, kind="stable")
        stop_pos = np.searchsorted(stop[stop_order], times, side="left")
        entry = entry_times(start)
        if np.any(start > 0):
            entry_order = np.argsort(entry, kind="stable")
            entry_pos = np.searchsorted(entry[entry_order], times, side="left")
        else:
            entry_order = entry_pos = None
        dead = np.flatnonzero(event)
        dtime = np.searchsorted(times, stop[dead])
        by_time = np.argsort(dtime, kind="stable")
        dead, dtime = dead[by_time], dtime[by_time]
        d = np.bincount(dtime, minlength=len(times))
        k = np.arange(len(dead)) - np.repeat(np.cumsum(d) - d, d)
        # binary searches of sorted needles (an order of magnitude faster than random ones)
        if presorted:
            last = np.searchsorted(times, stop, side="right")
        else:
            last = np.empty(len(stop), dtype=np.int64)
            last[stop_order] = np.searchsorted(times, stop[stop_order], side="right")
        if entry_order is None:
            first = np.zeros(len(stop), dtype=np.int64)
        else:
            first = np.empty(len(stop), dtype=np.int64)
            first[entry_order] = np.searchsorted(times, entry[entry_order], side="right")
        return cls(times=times, stop_order=None if presorted else stop_order, stop_pos=stop_pos,
                   entry_order=entry_order, entry_pos=entry_pos, deaths=dead,
                   death_time=dtime, tie_frac=k / d[dtime], n_deaths=d, first=first,
                   last=last)

    def sums(self, f: np.ndarray) -> np.ndarray:
        """Per event time, the sum of ``f`` (rows x k) over the rows at risk."""
        tail = _tail_sums(f, self.stop_order, self.stop_pos)
        if self.entry_order is not None:
            tail -= _tail_sums(f, self.entry_order, self.entry_pos)
        return tail

    def over_risk(self, per_time: np.ndarray) -> np.ndarray:
        """Per row, the sum of ``per_time`` (m x k) over the event times the row is at risk."""
        cum = np.vstack([np.zeros((1, per_time.shape[1])), np.cumsum(per_time, axis=0)])
        return cum[self.last] - cum[np.minimum(self.first, self.last)]


def group_sum(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Row sums of ``values`` (n x k) by ``index`` into ``size`` groups (np.add.at is slow)."""
    return np.column_stack([np.bincount(index, weights=values[:, j], minlength=size)
                            for j in range(values.shape[1])]).reshape(size, values.shape[1])


def _tail_sums(f: np.ndarray, order: np.ndarray | None, pos: np.ndarray) -> np.ndarray:
    # summed from the last row backwards, as R's coxph does: small late risk sets keep their
    # precision (a total minus a prefix would not)
    g = f if order is None else f[order]
    rc = np.cumsum(g[::-1], axis=0)[::-1]
    out = np.zeros((len(pos), f.shape[1]))
    inside = pos < len(g)
    out[inside] = rc[pos[inside]]
    return out


@dataclass
class _Step:
    loglik: float
    score: np.ndarray
    info: np.ndarray
    s0: np.ndarray      # per event (Efron substep): weighted risk-set sum
    mean: np.ndarray    # per event: weighted covariate mean (D x p)


def _evaluate(rs: RiskSets, x: np.ndarray, beta: np.ndarray, *, info: bool = True) -> _Step:
    eta = x @ beta
    shift = float(eta.max()) if len(eta) else 0.0
    w = np.exp(eta - shift)
    p = x.shape[1]
    risk = rs.sums(np.column_stack([w, w[:, None] * x]))
    m = len(rs.times)
    dw = w[rs.deaths]
    dead = group_sum(rs.death_time, np.column_stack([dw, dw[:, None] * x[rs.deaths]]), m)
    a = rs.tie_frac
    t = rs.death_time
    s0 = risk[t, 0] - a * dead[t, 0]
    s1 = risk[t, 1:] - a[:, None] * dead[t, 1:]
    mean = s1 / s0[:, None]
    loglik = float(eta[rs.deaths].sum() - np.log(s0).sum() - shift * len(s0))
    score = x[rs.deaths].sum(0) - mean.sum(0)
    imat = np.zeros((p, p))
    if info:
        c1 = np.bincount(t, weights=1 / s0, minlength=m)
        c2 = np.bincount(t, weights=a / s0, minlength=m)
        # sum over substeps of s2 / s0, s2 = R2 - a D2, without forming R2 per time
        wr = w * rs.over_risk(c1[:, None])[:, 0]
        xd = x[rs.deaths]
        imat = ((x * wr[:, None]).T @ x - (xd * (dw * c2[t])[:, None]).T @ xd
                - mean.T @ mean)
    return _Step(loglik, score, imat, s0, mean)


@dataclass
class CoxFit:
    """Result of :func:`fit_cox` (coefficients are log hazard ratios per unit of x)."""

    beta: np.ndarray
    var: np.ndarray           # inverse information (the naive variance)
    loglik: float
    loglik0: float            # at beta = 0
    score0: float             # R's score test statistic (at beta = 0)
    iterations: int
    converged: bool
    infinite: list[int]       # columns whose coefficient appears to diverge
    gradient_norm: float


def score_test(rs: RiskSets, x: np.ndarray, beta0: np.ndarray) -> tuple[float, _Step]:
    """The score test statistic ``U' I^-1 U`` at ``beta0`` (R's "Score (logrank) test")."""
    st = _evaluate(rs, x, beta0)
    try:
        stat = float(st.score @ np.linalg.solve(st.info, st.score))
    except np.linalg.LinAlgError:
        stat = np.nan
    return stat, st


def fit_cox(start: np.ndarray, stop: np.ndarray, event: np.ndarray, x: np.ndarray,
            *, risk_sets: RiskSets | None = None) -> tuple[CoxFit, RiskSets]:
    """Maximise the Efron partial likelihood by Newton-Raphson with step halving.

    Parameters
    ----------
    start, stop : ndarray
        At-risk intervals ``(start, stop]`` (any time unit; ``start`` 0 = from the origin).
    event : ndarray of bool
        Event at ``stop``.
    x : ndarray, shape (n, p)
        Design matrix (no intercept).
    risk_sets : RiskSets, optional
        Pre-built :class:`RiskSets` of the same rows.

    Returns
    -------
    (CoxFit, RiskSets)
    """
    x = np.asarray(x, dtype=float)
    rs = risk_sets or RiskSets.build(start, stop, event)
    p = x.shape[1]
    beta = np.zeros(p)
    score0, cur = score_test(rs, x, beta)
    loglik0 = cur.loglik
    converged, it, halvings = False, 0, 0
    for it in range(1, MAX_ITER + 1):
        try:
            step = np.linalg.solve(cur.info, cur.score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(cur.info, cur.score, rcond=None)[0]
        new_beta = beta + step
        new = _evaluate(rs, x, new_beta)
        while not np.isfinite(new.loglik) or new.loglik < cur.loglik - 1e-12 * abs(cur.loglik):
            # R's coxph: halve the step while the log-likelihood gets worse
            halvings += 1
            step = step / 2
            new_beta = beta + step
            new = _evaluate(rs, x, new_beta)
            if halvings > 40:
                break
        gain = new.loglik - cur.loglik
        beta, cur = new_beta, new
        small_step = np.all(np.abs(step) <= STEP_TOL * np.maximum(1.0, np.abs(beta)))
        flat = abs(gain) <= 1e-15 * max(1.0, abs(cur.loglik))
        if small_step:
            converged = True
            break
        if flat and it > 1:
            # the likelihood no longer changes: at the maximum, or a coefficient heading to
            # infinity (separation) -- told apart below
            converged = True
            break
    try:
        var = np.linalg.inv(cur.info)
    except np.linalg.LinAlgError:
        var = np.full((p, p), np.nan)
    # R's coxph flags a coefficient whose next Newton step is still large while the
    # likelihood is flat ("Loglik converged before variable ..."): separation
    with np.errstate(invalid="ignore"):
        nxt = np.abs(var @ cur.score)
    infinite = [j for j in range(p)
                if not np.isfinite(nxt[j]) or nxt[j] > 1e-4 * max(1.0, abs(beta[j]))]
    return CoxFit(beta=beta, var=var, loglik=cur.loglik, loglik0=loglik0, score0=score0,
                  iterations=it, converged=converged, infinite=infinite,
                  gradient_norm=float(np.abs(cur.score).max()) if p else 0.0), rs


def score_residuals(rs: RiskSets, x: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """R's ``residuals(coxph, type = "score")`` with Efron ties: one row per data row.

    A row at risk at an event time contributes ``-(x_i - xbar) w_i / s0`` at each of Efron's
    substeps (tied events at ``1 - k/d`` of their weight); an event row adds ``x_i - xbar``
    averaged over the substeps of its time. The rows sum to the score vector.
    """
    x = np.asarray(x, dtype=float)
    st = _evaluate(rs, x, beta, info=False)
    m = len(rs.times)
    t, a = rs.death_time, rs.tie_frac
    h = 1 / st.s0
    eta = x @ beta
    w = np.exp(eta - (float(eta.max()) if len(eta) else 0.0))
    cols = np.column_stack([h, st.mean * h[:, None]])
    per_time = group_sum(t, cols, m)
    tied = group_sum(t, a[:, None] * cols, m)
    mean_at = group_sum(t, st.mean / rs.n_deaths[t][:, None], m)
    acc = rs.over_risk(per_time)
    resid = -w[:, None] * (x * acc[:, :1] - acc[:, 1:])
    dead = rs.deaths
    resid[dead] += w[dead, None] * (x[dead] * tied[t, :1] - tied[t, 1:])
    resid[dead] += x[dead] - mean_at[t]
    return resid


def robust_variance(rs: RiskSets, x: np.ndarray, fit: CoxFit,
                    cluster: np.ndarray) -> tuple[np.ndarray, float]:
    """Cluster-robust variance of ``coxph(..., cluster = id)`` and R's robust score test.

    Returns
    -------
    (ndarray, float)
        ``t(D) %*% D`` with ``D`` the dfbeta residuals (score residuals times the naive
        variance) summed per cluster; and the robust score statistic (score residuals at
        beta = 0 summed per cluster, ``u' (U'U)^-1 u``).
    """
    codes = np.unique(cluster, return_inverse=True)[1]
    k = int(codes.max()) + 1

    def per_cluster(r: np.ndarray) -> np.ndarray:
        return group_sum(codes, r, k)

    d = per_cluster(score_residuals(rs, x, fit.beta) @ fit.var)
    u0 = per_cluster(score_residuals(rs, x, np.zeros_like(fit.beta)))
    u = u0.sum(0)
    try:
        rscore = float(u @ np.linalg.solve(u0.T @ u0, u))
    except np.linalg.LinAlgError:
        rscore = np.nan
    return d.T @ d, rscore

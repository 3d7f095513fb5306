"""Cumulative incidence of an event with a competing event (Aalen-Johansen), as R's
``survfit(Surv(time, status_factor) ~ 1)``.

With a competing event (death before insulin resumption, say), one minus the Kaplan-Meier
estimate that censors the competing event overstates the probability of the event of
interest: it describes a world in which nobody dies. The Aalen-Johansen estimate

    F1(t) = sum over event times t_j <= t of S(t_j-) d1_j / n_j,

with S the Kaplan-Meier probability of being free of both events, is the probability of having
had the event of interest by ``t``. Its standard error is the infinitesimal jackknife R's
survival package reports for multi-state curves; the 95% interval is on the log scale
(R's default ``conf.type = "log"``), cut at 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cohort.errors import AnalysisError

__all__ = ["cumulative_incidence"]


def cumulative_incidence(time: Sequence[float], status: Sequence[int], *,
                         times: Sequence[float], conf_level: float = 0.95) -> pd.DataFrame:
    """Aalen-Johansen cumulative incidence of event 1 with event 2 competing.

    Parameters
    ----------
    time : sequence of float
        Time of each subject's event or censoring (any unit, e.g. days), >= 0.
    status : sequence of int
        0 censored, 1 the event of interest, 2 the competing event.
    times : sequence of float, keyword-only
        Times (same unit) at which to report the cumulative incidence.
    conf_level : float, keyword-only
        Level of the log-scale confidence interval.

    Returns
    -------
    DataFrame
        One row per time: ``time``, ``estimate`` (probability 0-1 of the event of interest by
        then), ``std_err`` (infinitesimal jackknife), ``ci_lower``, ``ci_upper``, ``n_risk``
        (at risk just after ``time``), ``n_event``, ``n_competing`` (events up to ``time``).

    Raises
    ------
    AnalysisError
        If times are negative or missing, or a status is not 0, 1 or 2.
    """
    t = np.asarray(time, dtype=float)
    s = np.asarray(status)
    if t.shape != s.shape or t.ndim != 1 or len(t) == 0:
        raise AnalysisError("cumulative incidence needs one time and one status per subject")
    if np.isnan(t).any() or (t < 0).any():
        raise AnalysisError("cumulative incidence: times must be >= 0 and not missing")
    if not np.isin(s, (0, 1, 2)).all():
        raise AnalysisError("cumulative incidence: status must be 0 (censored), 1 (event) or "
                            "2 (competing event)")
    s = s.astype(int)
    grid = np.unique(t[s > 0])                       # event times
    at_risk = (t[None, :] >= grid[:, None])          # Y_ij: subject i at risk at t_j
    dn1 = (t[None, :] == grid[:, None]) & (s[None, :] == 1)
    dn2 = (t[None, :] == grid[:, None]) & (s[None, :] == 2)
    n = at_risk.sum(axis=1).astype(float)
    d1, d2 = dn1.sum(axis=1), dn2.sum(axis=1)
    h1, h = d1 / n, (d1 + d2) / n
    surv_after = np.cumprod(1 - h)
    surv_before = np.concatenate([[1.0], surv_after[:-1]])
    # infinitesimal jackknife: d/dw_i of the hazards and of S(t_j-)
    dh1 = (dn1 - at_risk * h1[:, None]) / n[:, None]
    dh = ((dn1 | dn2) - at_risk * h[:, None]) / n[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        dlog = np.where((1 - h)[:, None] > 0, -dh / (1 - h)[:, None], 0.0)
    dlog_before = np.vstack([np.zeros((1, len(t))), np.cumsum(dlog, axis=0)[:-1]])
    ds_before = surv_before[:, None] * dlog_before
    increments = ds_before * h1[:, None] + surv_before[:, None] * dh1
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    rows = []
    for when in times:
        upto = grid <= float(when)
        est = float((surv_before[upto] * h1[upto]).sum())
        se = float(np.sqrt((increments[upto].sum(axis=0) ** 2).sum()))
        if est > 0:
            lo, hi = est * np.exp(-z * se / est), min(1.0, est * np.exp(z * se / est))
        else:
            lo = hi = np.nan
        rows.append({"time": float(when), "estimate": est, "std_err": se, "ci_lower": lo,
                     "ci_upper": hi, "n_risk": int((t > float(when)).sum()),
                     "n_event": int(d1[upto].sum()), "n_competing": int(d2[upto].sum())})
    return pd.DataFrame(rows)

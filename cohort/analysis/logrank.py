"""Log-rank tests between groups (R's ``survdiff``), overall and pairwise.

The statistic is computed here, once, on ``(start, stop]`` risk sets with numpy (sorted
cumulative counts): with every ``start`` 0 it is ``survdiff``'s statistic (and lifelines'
``multivariate_logrank_test``'s), and with delayed entry the counting-process form that neither
``survdiff`` nor lifelines has (lifelines would count late entrants as at risk from time 0).
Pairwise tests re-run the test on each pair of groups; ``p_holm`` is Holm-adjusted over the
pairs (statsmodels ``multipletests``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis.result import AnalysisResult, json_safe
from cohort.analysis.risk_sets import group_levels, prepare_tte
from cohort.errors import AnalysisError

__all__ = ["LogRankResult", "log_rank"]


def _logrank_counting(start: np.ndarray, stop: np.ndarray, event: np.ndarray,
                      groups: np.ndarray) -> tuple[float, int, pd.DataFrame]:
    """The k-group log-rank test on (start, stop] risk sets (R's survdiff with rho = 0)."""
    levels = list(pd.unique(groups))
    times = np.unique(stop[event])
    n_risk = np.zeros((len(times), len(levels)))
    n_event = np.zeros((len(times), len(levels)))
    for j, lvl in enumerate(levels):
        m = groups == lvl
        s_stop = np.sort(stop[m])
        n_risk[:, j] = m.sum() - np.searchsorted(s_stop, times, side="left")
        late = start[m & (start > 0)]
        if len(late):
            n_risk[:, j] -= len(late) - np.searchsorted(np.sort(late), times, side="left")
        n_event[:, j] = np.bincount(np.searchsorted(times, stop[m & event]),
                                    minlength=len(times))
    big_n, big_d = n_risk.sum(1), n_event.sum(1)
    frac = n_risk / big_n[:, None]
    expected = (big_d[:, None] * frac).sum(0)
    observed = n_event.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(big_n > 1, big_d * (big_n - big_d) / (big_n - 1), 0.0)
    var = (np.einsum("t,tj->j", w, frac)[:, None] * np.eye(len(levels))
           - np.einsum("t,tj,tk->jk", w, frac, frac))
    diff = observed - expected
    k = len(levels) - 1
    sub = var[:k, :k]
    df = int(np.linalg.matrix_rank(sub))
    chisq = float(diff[:k] @ np.linalg.pinv(sub) @ diff[:k]) if df else np.nan
    table = pd.DataFrame({"group": levels, "n": [int((groups == v).sum()) for v in levels],
                          "observed": observed, "expected": expected})
    return chisq, df, table


def _logrank(data: pd.DataFrame, group: str) -> tuple[float, int, float, pd.DataFrame]:
    start, stop = data["start"].to_numpy(), data["stop"].to_numpy()
    event, groups = data["event"].to_numpy(), data[group].to_numpy()
    # computed once: the (start, stop] form is survdiff's statistic when every start is 0
    chisq, df, table = _logrank_counting(start, stop, event, groups)
    p = float(stats.chi2.sf(chisq, df)) if df > 0 and np.isfinite(chisq) else np.nan
    return chisq, df, p, table


@dataclass
class LogRankResult(AnalysisResult):
    """Log-rank tests between groups.

    Attributes
    ----------
    summary : DataFrame
        ``comparison`` (``overall`` or ``A vs B``), ``group1``, ``group2`` (None for overall),
        ``statistic`` (chi-square), ``df``, ``p``, ``p_holm`` (Holm-adjusted over the pairwise
        rows; equals ``p`` for the overall row), ``n``, ``n_events``.
    expected : DataFrame
        Per group: ``group``, ``n``, ``observed`` and ``expected`` events.
    """

    expected: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """Base keys plus ``expected``."""
        out = super().to_dict()
        out["expected"] = json_safe(self.expected)
        return out


def log_rank(tte: pd.DataFrame, *, group: str, pairwise: bool = True) -> LogRankResult:
    """Log-rank test across the levels of ``group`` (2 or more), and between each pair.

    Parameters
    ----------
    tte : DataFrame
        A time-to-event table (times in days).
    group : str, keyword-only
        Group column (rows with a missing value are excluded and counted).
    pairwise : bool, keyword-only
        Also test each pair of groups (when there are 3 or more).

    Returns
    -------
    LogRankResult
    """
    data, exclusions = prepare_tte(tte, group)
    levels = group_levels(data, group)
    if len(levels) < 2:
        raise AnalysisError(f"the log-rank test needs at least 2 groups in {group!r}; found "
                            f"{len(levels)} ({', '.join(map(str, levels))})")
    if not data["event"].any():
        raise AnalysisError("no events (every row is censored): the log-rank test is "
                            "undefined; report the Kaplan-Meier curves and follow-up instead")
    chisq, df, p, table = _logrank(data, group)
    rows = [{"comparison": "overall", "group1": None, "group2": None, "statistic": chisq,
             "df": df, "p": p, "n": len(data), "n_events": int(data["event"].sum())}]
    if pairwise and len(levels) > 2:
        for a, b in itertools.combinations(levels, 2):
            sub = data[data[group].isin([a, b])]
            if not sub["event"].any():
                c2, d2, p2 = np.nan, 0, np.nan
            else:
                c2, d2, p2, _ = _logrank(sub, group)
            rows.append({"comparison": f"{a} vs {b}", "group1": a, "group2": b,
                         "statistic": c2, "df": d2, "p": p2, "n": len(sub),
                         "n_events": int(sub["event"].sum())})
    summary = pd.DataFrame(rows)
    summary["p_holm"] = summary["p"]
    pair = (summary["comparison"] != "overall").to_numpy() & summary["p"].notna().to_numpy()
    if pair.any():
        from statsmodels.stats.multitest import multipletests

        summary.loc[pair, "p_holm"] = multipletests(summary.loc[pair, "p"].to_numpy(float),
                                                    method="holm")[1]
    summary = summary[["comparison", "group1", "group2", "statistic", "df", "p", "p_holm",
                       "n", "n_events"]]
    notes = []
    if (data["start"] > 0).any():
        notes.append("delayed entry: log-rank computed on (start, stop] risk sets")
    return LogRankResult(summary=summary, exclusions=exclusions,
                         params={"group": group, "pairwise": pairwise}, notes=notes,
                         expected=table)


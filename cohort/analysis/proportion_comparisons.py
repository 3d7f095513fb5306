"""Two-group comparisons of proportions: 2x2 tables, Fisher, chi-square, ratios, differences.

Pure functions on counts ``x`` events out of ``n`` subjects per group; the counts are checked
as in :mod:`cohort.analysis.proportions` (whose module docstring lists the R function each one
matches, and how zero cells are handled). All tests and intervals are two-sided.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis.proportions import check_count, check_counts, wilson_limits, z_quantile
from cohort.errors import AnalysisError

__all__ = [
    "COMPARISON_COLUMNS",
    "chi_square",
    "compare_proportions",
    "fisher_exact",
    "odds_ratio",
    "risk_difference",
    "risk_ratio",
    "two_by_two",
]

RDMethod = Literal["wald", "wald-cc", "newcombe"]


def two_by_two(x1: int, n1: int, x2: int, n2: int) -> np.ndarray:
    """The 2x2 table ``[[x1, n1 - x1], [x2, n2 - x2]]`` (rows: groups; columns: event, none).

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and subjects in group 1 (e.g. treated) and group 2 (e.g. control).
    """
    x1, n1 = check_counts(x1, n1, "1")
    x2, n2 = check_counts(x2, n2, "2")
    return np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=np.int64)


def _table(table: Any) -> np.ndarray:
    arr = np.asarray(table)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise AnalysisError(f"expected a contingency table with at least 2 rows and 2 columns, "
                            f"got shape {arr.shape}")
    for v in arr.ravel():
        if check_count(v, "cell") < 0:
            raise AnalysisError(f"contingency table cells must be >= 0, got {v}")
    arr = arr.astype(np.int64)
    if (arr.sum(axis=1) == 0).any() or (arr.sum(axis=0) == 0).any():
        raise AnalysisError(f"the contingency table {arr.tolist()} has an empty row or column; "
                            "each group needs subjects and each outcome must occur at least "
                            "once for this test")
    return arr


def chi_square(table: Any, *, correct: bool = True) -> dict[str, float]:
    """Pearson's chi-square test of independence, as R's ``chisq.test``.

    Parameters
    ----------
    table : array-like of int
        Contingency table (rows: groups; columns: outcomes), at least 2x2.
    correct : bool, keyword-only
        Yates' continuity correction for 2x2 tables (R's default), capped at ``|O - E|``.

    Returns
    -------
    dict
        ``statistic``, ``df``, ``p``, ``min_expected`` (the smallest expected count).
    """
    obs = _table(table)
    # scipy applies Yates' correction to 2x2 tables only, moving each cell by at most |O - E|
    res = stats.chi2_contingency(obs, correction=correct)
    return {"statistic": float(res.statistic), "df": float(res.dof), "p": float(res.pvalue),
            "min_expected": float(res.expected_freq.min())}


def fisher_exact(table: Any, *, conf_level: float = 0.95) -> dict[str, float]:
    """Fisher's exact test of a 2x2 table, as R's ``fisher.test`` (two-sided).

    Parameters
    ----------
    table : array-like of int, shape (2, 2)
        ``[[events_1, non_events_1], [events_2, non_events_2]]`` (see :func:`two_by_two`).
    conf_level : float, keyword-only
        Confidence level of the odds-ratio interval.

    Returns
    -------
    dict
        ``p``; ``estimate`` (conditional maximum-likelihood odds ratio, as R; 0 or inf with a
        zero cell), ``ci_lower``, ``ci_upper`` (exact conditional interval).
    """
    tab = np.asarray(table)
    if tab.shape != (2, 2):
        raise AnalysisError(f"fisher_exact needs a 2x2 table, got shape {tab.shape}")
    tab = _table(tab)
    z_quantile(conf_level)
    p = float(stats.fisher_exact(tab).pvalue)
    res = stats.contingency.odds_ratio(tab, kind="conditional")
    ci = res.confidence_interval(confidence_level=conf_level)
    return {"p": p, "estimate": float(res.statistic), "ci_lower": float(ci.low),
            "ci_upper": float(ci.high)}


def _haldane(tab: np.ndarray) -> tuple[np.ndarray, bool]:
    if (tab == 0).any():
        return tab.astype(float) + 0.5, True
    return tab.astype(float), False


def _log_ratio(x1: int, n1: int, x2: int, n2: int, conf_level: float,
               measure: Literal["odds", "risk"]) -> dict[str, Any]:
    # Haldane-Anscombe here: statsmodels' shift_zeros puts 0.5 in the zero cells only
    from statsmodels.stats.contingency_tables import Table2x2

    tab, corrected = _haldane(two_by_two(x1, n1, x2, n2))
    z_quantile(conf_level)
    t = Table2x2(tab, shift_zeros=False)
    if measure == "odds":
        est, se, label = t.oddsratio, t.log_oddsratio_se, "Woolf log"
        lo, hi = t.oddsratio_confint(alpha=1 - conf_level, method="normal")
    else:
        est, se, label = t.riskratio, t.log_riskratio_se, "Katz log"
        lo, hi = t.riskratio_confint(alpha=1 - conf_level, method="normal")
    return {"estimate": float(est), "ci_lower": float(lo), "ci_upper": float(hi),
            "se_log": float(se),
            "method": f"{label} (0.5 added to every cell: a cell was 0)" if corrected else label}


def odds_ratio(x1: int, n1: int, x2: int, n2: int, *,
               conf_level: float = 0.95) -> dict[str, Any]:
    """Odds ratio of group 1 vs group 2 with the Woolf (log) Wald interval.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and subjects in group 1 and group 2.
    conf_level : float, keyword-only
        Confidence level.

    Returns
    -------
    dict
        ``estimate``, ``ci_lower``, ``ci_upper``, ``se_log`` (SE of the log odds ratio),
        ``method`` (says when 0.5 was added to every cell because one was 0).
    """
    return _log_ratio(x1, n1, x2, n2, conf_level, "odds")


def risk_ratio(x1: int, n1: int, x2: int, n2: int, *,
               conf_level: float = 0.95) -> dict[str, Any]:
    """Risk ratio ``(x1/n1) / (x2/n2)`` with the Katz log interval.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and subjects in group 1 and group 2.
    conf_level : float, keyword-only
        Confidence level.

    Returns
    -------
    dict
        ``estimate``, ``ci_lower``, ``ci_upper``, ``se_log``, ``method`` (says when 0.5 was
        added to every cell because one was 0).
    """
    return _log_ratio(x1, n1, x2, n2, conf_level, "risk")


def risk_difference(x1: int, n1: int, x2: int, n2: int, *, method: RDMethod = "newcombe",
                    conf_level: float = 0.95) -> dict[str, Any]:
    """Risk difference ``x1/n1 - x2/n2`` with a two-sided interval.

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and subjects in group 1 (e.g. treated) and group 2 (e.g. control).
    method : {"newcombe", "wald", "wald-cc"}, keyword-only
        ``"newcombe"``: Newcombe's hybrid score interval (1998, method 10) from the two Wilson
        intervals, good at small n and near 0 or 1; ``"wald"``: normal approximation
        (``prop.test(correct=FALSE)``); ``"wald-cc"``: with R's continuity correction.
    conf_level : float, keyword-only
        Confidence level.

    Returns
    -------
    dict
        ``estimate`` (a difference of proportions, in [-1, 1]), ``ci_lower``, ``ci_upper``,
        ``method``.
    """
    x1, n1 = check_counts(x1, n1, "1")
    x2, n2 = check_counts(x2, n2, "2")
    z = z_quantile(conf_level)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    if method == "newcombe":
        l1, u1 = wilson_limits(x1, n1, z, 0.0)
        l2, u2 = wilson_limits(x2, n2, z, 0.0)
        lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        label = "Newcombe hybrid score"
    elif method in ("wald", "wald-cc"):
        inv = 1 / n1 + 1 / n2
        cc = min(0.5, abs(d) / inv) if method == "wald-cc" else 0.0
        width = z * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2) + cc * inv
        lo, hi = max(d - width, -1.0), min(d + width, 1.0)
        label = "Wald" if method == "wald" else "Wald with continuity correction"
    else:
        raise AnalysisError(f"method must be 'newcombe', 'wald' or 'wald-cc', got {method!r}")
    return {"estimate": d, "ci_lower": lo, "ci_upper": hi, "method": label}


COMPARISON_COLUMNS = ["measure", "method", "estimate", "ci_lower", "ci_upper", "statistic",
                      "df", "p"]


def compare_proportions(x1: int, n1: int, x2: int, n2: int, *,
                        conf_level: float = 0.95) -> pd.DataFrame:
    """Every two-group comparison of ``x1/n1`` (e.g. treated) vs ``x2/n2`` (e.g. control).

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and subjects per group.
    conf_level : float, keyword-only
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per measure, columns ``measure`` (``risk_difference``, ``odds_ratio``,
        ``risk_ratio``, ``fisher_exact``, ``chi_square``), ``method``, ``estimate``,
        ``ci_lower``, ``ci_upper``, ``statistic``, ``df``, ``p`` (NaN where a column does not
        apply to the measure: a ratio has no test statistic, a test has no interval unless it
        is Fisher's odds ratio). The chi-square tests are NaN (with ``method`` saying why)
        when nobody or everybody had the event.
    """
    tab = two_by_two(x1, n1, x2, n2)
    rows: list[dict[str, Any]] = []
    for m in ("wald", "newcombe"):
        rd = risk_difference(x1, n1, x2, n2, method=m, conf_level=conf_level)  # type: ignore
        rows.append({"measure": "risk_difference", **rd})
    rows.append({"measure": "odds_ratio", **_drop(odds_ratio(x1, n1, x2, n2,
                                                             conf_level=conf_level))})
    rows.append({"measure": "risk_ratio", **_drop(risk_ratio(x1, n1, x2, n2,
                                                             conf_level=conf_level))})
    events = int(tab[:, 0].sum())
    if 0 < events < int(tab.sum()):
        fe = fisher_exact(tab, conf_level=conf_level)
        rows.append({"measure": "fisher_exact", "method": "conditional MLE odds ratio, exact",
                     **fe})
        for corr in (False, True):
            cs = chi_square(tab, correct=corr)
            method = "Pearson, Yates-corrected" if corr else "Pearson"
            if cs["min_expected"] < 5:
                method += f" (an expected count is {cs['min_expected']:.3g} < 5)"
            rows.append({"measure": "chi_square", "method": method,
                         "statistic": cs["statistic"], "df": cs["df"], "p": cs["p"]})
    else:
        why = "no test: " + ("no subject had the event" if events == 0
                             else "every subject had the event")
        rows.append({"measure": "fisher_exact", "method": why, "p": 1.0})
        rows.append({"measure": "chi_square", "method": why})
    out = pd.DataFrame(rows).reindex(columns=COMPARISON_COLUMNS)
    for col in ("estimate", "ci_lower", "ci_upper", "statistic", "df", "p"):
        out[col] = out[col].astype(float)
    return out


def _drop(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "se_log"}

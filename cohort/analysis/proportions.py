"""Binomial proportions and two-group comparisons of proportions (responder rates, remission).

Pure functions on counts: ``x`` events (responders) out of ``n`` subjects. Every function
checks its counts (integers, ``0 <= x <= n``, ``n >= 1``) and raises
:class:`~cohort.errors.AnalysisError` otherwise. All tests and intervals are two-sided.

What matches which R function (the reference tests in ``tests/test_proportions.py`` compare
with the numbers R printed, saved in ``tests/fixtures/regression/``):

========================================  =============================================
this module                               R
========================================  =============================================
``binom_ci(method="clopper-pearson")``    ``binom.test(x, n)$conf.int``
``binom_test``                            ``binom.test(x, n, p)$p.value``
``binom_ci(method="wilson")``             ``prop.test(x, n, correct=FALSE)$conf.int``
``binom_ci(method="wilson-cc")``          ``prop.test(x, n, correct=TRUE)$conf.int`` (R caps
                                          the correction at ``|x - n/2|``, so the two differ
                                          only when ``x == n/2``; see :func:`prop_test`)
``prop_test``                             ``prop.test`` (1 or k groups, ``correct=``)
``risk_difference(method="wald")``        ``prop.test(c(x1,x2), c(n1,n2), correct=FALSE)``
``risk_difference(method="wald-cc")``     ``prop.test(..., correct=TRUE)$conf.int``
``risk_difference(method="newcombe")``    Newcombe (1998) method 10 (hybrid score), from
                                          the two Wilson intervals (no base-R function)
``fisher_exact``                          ``fisher.test`` (p, conditional-MLE odds ratio
                                          and its exact interval)
``chi_square``                            ``chisq.test(table, correct=)`` (via scipy's
                                          ``chi2_contingency``)
``odds_ratio(method="wald")``             Woolf log interval (no base-R function)
``risk_ratio``                            Katz log interval (no base-R function)
========================================  =============================================

Zero cells: the Woolf odds ratio and the Katz risk ratio add 0.5 to every cell of the 2x2
table when any cell is 0 (Haldane-Anscombe), and say so in the ``method`` column; the
conditional MLE odds ratio is then 0 or infinite with a one-sided-bounded exact interval.

Library or written here: the tests and ratios come from scipy (``binomtest``,
``fisher_exact``, ``contingency.odds_ratio``, ``chi2_contingency``) and statsmodels
(``Table2x2`` for the Woolf and Katz intervals, on the table corrected here because its
``shift_zeros`` puts 0.5 in the zero cells only). The binomial intervals, ``prop_test`` and
the risk-difference intervals are R's ``prop.test`` formulas written out on purpose: R caps
the Yates correction (at ``|x - n p|`` for one group, at ``|p1 - p2| / (1/n1 + 1/n2)`` for
two) and clips the Wald interval to [-1, 1], which neither scipy (``binomtest(...)
.proportion_ci("wilsoncc")``) nor statsmodels (``proportion_confint``,
``confint_proportions_2indep``, neither with a continuity correction nor clipping) does;
Newcombe's interval is built from those same Wilson limits. Without corrections the
libraries agree with these functions to about 1e-15.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from cohort.errors import AnalysisError

__all__ = [
    "binom_ci",
    "binom_test",
    "chi_square",
    "compare_proportions",
    "fisher_exact",
    "odds_ratio",
    "prop_test",
    "proportion",
    "risk_difference",
    "risk_ratio",
    "two_by_two",
]

BinomMethod = Literal["clopper-pearson", "wilson", "wilson-cc", "wald"]
RDMethod = Literal["wald", "wald-cc", "newcombe"]


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool | np.bool_):
        raise AnalysisError(f"{name} must be a count (integer), got the boolean {value!r}")
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        raise AnalysisError(f"{name} must be a count (integer), got {value!r}") from None
    if not math.isfinite(as_float) or as_float != int(as_float):
        raise AnalysisError(f"{name} must be a whole number, got {value!r}")
    return int(as_float)


def _counts(x: Any, n: Any, label: str = "") -> tuple[int, int]:
    xi, ni = _count(x, f"x{label}"), _count(n, f"n{label}")
    if ni < 1:
        raise AnalysisError(f"n{label} must be at least 1 (no subjects in the group), got {ni}")
    if not 0 <= xi <= ni:
        raise AnalysisError(f"x{label} must be between 0 and n{label} = {ni}, got {xi}")
    return xi, ni


def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    return float(stats.norm.ppf((1 + conf_level) / 2))


def _wilson(x: int, n: int, z: float, cc: float) -> tuple[float, float]:
    # R's prop.test formula (k == 1), with `cc` the continuity correction in counts
    est = x / n
    z22n = z * z / (2 * n)
    pc = est + cc / n
    upper = 1.0 if pc >= 1 else (pc + z22n + z * math.sqrt(pc * (1 - pc) / n + z22n / (2 * n))
                                 ) / (1 + 2 * z22n)
    pc = est - cc / n
    lower = 0.0 if pc <= 0 else (pc + z22n - z * math.sqrt(pc * (1 - pc) / n + z22n / (2 * n))
                                 ) / (1 + 2 * z22n)
    return max(lower, 0.0), min(upper, 1.0)


def binom_ci(x: int, n: int, *, method: BinomMethod = "clopper-pearson",
             conf_level: float = 0.95) -> tuple[float, float]:
    """Two-sided confidence interval of a binomial proportion ``x / n``.

    Parameters
    ----------
    x, n : int
        Number of events (e.g. responders) and of subjects.
    method : {"clopper-pearson", "wilson", "wilson-cc", "wald"}, keyword-only
        ``"clopper-pearson"`` (exact, as ``binom.test``), ``"wilson"`` (score, as
        ``prop.test(correct=FALSE)``), ``"wilson-cc"`` (score with continuity correction
        0.5), ``"wald"`` (normal approximation, clipped to [0, 1]).
    conf_level : float, keyword-only
        Confidence level, default 0.95.

    Returns
    -------
    (float, float)
        Lower and upper limits, as proportions in [0, 1].
    """
    x, n = _counts(x, n)
    z = _z(conf_level)
    if method == "clopper-pearson":
        alpha = 1 - conf_level
        lower = 0.0 if x == 0 else float(stats.beta.ppf(alpha / 2, x, n - x + 1))
        upper = 1.0 if x == n else float(stats.beta.ppf(1 - alpha / 2, x + 1, n - x))
        return lower, upper
    if method == "wilson":
        return _wilson(x, n, z, 0.0)
    if method == "wilson-cc":
        return _wilson(x, n, z, 0.5)
    if method == "wald":
        p = x / n
        half = z * math.sqrt(p * (1 - p) / n)
        return max(0.0, p - half), min(1.0, p + half)
    raise AnalysisError(f"method must be 'clopper-pearson', 'wilson', 'wilson-cc' or 'wald', "
                        f"got {method!r}")


def binom_test(x: int, n: int, *, p: float = 0.5) -> float:
    """Exact two-sided binomial test of ``x / n`` against ``p`` (as R's ``binom.test``).

    The two-sided p-value sums the probabilities of all outcomes no more likely than ``x``
    (with R's relative tolerance 1e-7).

    Parameters
    ----------
    x, n : int
        Events and subjects.
    p : float, keyword-only
        Proportion under the null hypothesis, default 0.5.

    Returns
    -------
    float
        The p-value.
    """
    x, n = _counts(x, n)
    if not 0 <= p <= 1:
        raise AnalysisError(f"p must be a proportion in [0, 1], got {p!r}")
    return float(stats.binomtest(x, n, p).pvalue)


def proportion(x: int, n: int, *, conf_level: float = 0.95) -> dict[str, float | int]:
    """A proportion with its Clopper-Pearson and Wilson intervals.

    Parameters
    ----------
    x, n : int
        Events (e.g. responders) and subjects.
    conf_level : float, keyword-only
        Confidence level, default 0.95.

    Returns
    -------
    dict
        ``x``, ``n``, ``estimate`` (x / n), ``cp_lower``, ``cp_upper`` (Clopper-Pearson),
        ``wilson_lower``, ``wilson_upper`` (Wilson score, no continuity correction).
    """
    x, n = _counts(x, n)
    cp = binom_ci(x, n, method="clopper-pearson", conf_level=conf_level)
    wi = binom_ci(x, n, method="wilson", conf_level=conf_level)
    return {"x": x, "n": n, "estimate": x / n, "cp_lower": cp[0], "cp_upper": cp[1],
            "wilson_lower": wi[0], "wilson_upper": wi[1]}


def prop_test(x: Sequence[int] | int, n: Sequence[int] | int, *, p: Any = None,
              correct: bool = True, conf_level: float = 0.95) -> dict[str, Any]:
    """Chi-square test of one or more proportions, as R's ``prop.test`` (two-sided).

    Parameters
    ----------
    x, n : int or sequence of int
        Events and subjects per group.
    p : float, sequence of float or None, keyword-only
        Null proportion(s). ``None``: 0.5 for one group, equality of proportions for several.
    correct : bool, keyword-only
        Yates' continuity correction (used only for one or two groups, as in R; capped at
        ``|x - n p|`` for one group and at ``|p1 - p2| / (1/n1 + 1/n2)`` for two).
    conf_level : float, keyword-only
        Confidence level of the interval (one group: Wilson score; two groups: Wald interval
        of ``p1 - p2``; none for more groups or a given ``p`` with two groups).

    Returns
    -------
    dict
        ``statistic`` (X-squared), ``df``, ``p`` (p-value), ``estimate`` (list of
        proportions), ``ci_lower``, ``ci_upper`` (NaN when R gives no interval),
        ``min_expected`` (smallest expected count; below 5 the approximation is doubtful).
    """
    xs = [x] if np.ndim(x) == 0 else list(x)  # type: ignore[arg-type]
    ns = [n] if np.ndim(n) == 0 else list(n)  # type: ignore[arg-type]
    if len(xs) != len(ns) or not xs:
        raise AnalysisError(f"x and n must have the same positive length, got {len(xs)} and "
                            f"{len(ns)}")
    pairs = [_counts(a, b, f"[{i}]") for i, (a, b) in enumerate(zip(xs, ns, strict=True))]
    xa = np.array([a for a, _ in pairs], dtype=float)
    na = np.array([b for _, b in pairs], dtype=float)
    k = len(xa)
    est = xa / na
    z = _z(conf_level)
    given = p is not None
    if p is None and k == 1:
        p = 0.5
    yates = 0.5 if correct and k <= 2 else 0.0
    lo = hi = math.nan
    if k == 1:
        p0 = float(np.ravel([p])[0])
        if not 0 < p0 < 1:
            raise AnalysisError(f"p must be strictly between 0 and 1, got {p0}")
        yates = min(yates, abs(xa[0] - na[0] * p0))
        lo, hi = _wilson(int(xa[0]), int(na[0]), z, yates)
        pvec = np.array([p0])
        df = 1
    elif given:
        pvec = np.broadcast_to(np.asarray(p, dtype=float), (k,)).copy()
        if np.any((pvec <= 0) | (pvec >= 1)):
            raise AnalysisError(f"every p must be strictly between 0 and 1, got {p}")
        df = k
    else:
        pooled = xa.sum() / na.sum()
        if pooled in (0.0, 1.0):
            raise AnalysisError(f"all groups have {'no' if pooled == 0 else 'only'} events "
                                f"({int(xa.sum())}/{int(na.sum())}); a chi-square test of "
                                "equal proportions is undefined; use fisher_exact")
        pvec = np.full(k, pooled)
        df = k - 1
        if k == 2:
            delta = est[0] - est[1]
            yates = min(yates, abs(delta) / np.sum(1 / na))
            width = z * math.sqrt(float(np.sum(est * (1 - est) / na))) + yates * np.sum(1 / na)
            lo, hi = max(delta - width, -1.0), min(delta + width, 1.0)
    obs = np.column_stack([xa, na - xa])
    exp = np.column_stack([na * pvec, na * (1 - pvec)])
    stat = float(np.sum((np.abs(obs - exp) - yates) ** 2 / exp))
    return {"statistic": stat, "df": df, "p": float(stats.chi2.sf(stat, df)),
            "estimate": est.tolist(), "ci_lower": float(lo), "ci_upper": float(hi),
            "min_expected": float(exp.min())}


def two_by_two(x1: int, n1: int, x2: int, n2: int) -> np.ndarray:
    """The 2x2 table ``[[x1, n1 - x1], [x2, n2 - x2]]`` (rows: groups; columns: event, none).

    Parameters
    ----------
    x1, n1, x2, n2 : int
        Events and subjects in group 1 (e.g. treated) and group 2 (e.g. control).
    """
    x1, n1 = _counts(x1, n1, "1")
    x2, n2 = _counts(x2, n2, "2")
    return np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=np.int64)


def _table(table: Any) -> np.ndarray:
    arr = np.asarray(table)
    if arr.ndim != 2 or arr.shape[0] < 2 or arr.shape[1] < 2:
        raise AnalysisError(f"expected a contingency table with at least 2 rows and 2 columns, "
                            f"got shape {arr.shape}")
    for v in arr.ravel():
        if _count(v, "cell") < 0:
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
    _z(conf_level)
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
    _z(conf_level)
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
    x1, n1 = _counts(x1, n1, "1")
    x2, n2 = _counts(x2, n2, "2")
    z = _z(conf_level)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    if method == "newcombe":
        l1, u1 = _wilson(x1, n1, z, 0.0)
        l2, u2 = _wilson(x2, n2, z, 0.0)
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

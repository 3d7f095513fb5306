"""One primary p-value per comparison in the report, with its test named; the others go
under "details".

An analysis often computes several tests of one comparison (Fisher's exact test and two
chi-squared tests of a 2x2 table; a paired t-test and a Wilcoxon signed-rank test). A report
that prints them side by side invites a reader to pick the smallest. Each comparison the report
shows therefore gets one primary p-value, chosen by a rule fixed before the data are seen
(:data:`RULES`); every other p-value of the comparison stays available under "details".

The rules:

- **Change from baseline within an arm**: the paired t-test, which tests the mean change whose
  t-based 95% CI is shown; the Wilcoxon signed-rank test goes under details.
- **Arm vs control in the ANCOVA**: the t-test of the adjusted difference; with two or more
  treated arms, Holm-adjusted over the arms compared with the control at that visit, shown with
  the family's simultaneous interval (the unadjusted p and interval go under details). The
  dose trend: the t-test of its linear contrast.
- **Remission, treated vs control (a 2x2 table)**: Pearson's chi-squared test (without
  continuity correction) when every expected count is at least 5, else Fisher's exact test
  (Cochran's rule); the other test and the Yates-corrected chi-squared go under details.
- **Time to insulin resumption**: the log-rank test; with more than two arms, the overall
  k-sample test (the pairwise tests, Holm-adjusted, go under details).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cohort.analysis.format import format_estimate_ci, format_p

__all__ = ["COCHRAN_MIN_EXPECTED", "RULES", "ancova_comparisons", "expected_counts",
           "logrank_comparisons", "paired_comparisons", "remission_comparisons",
           "two_by_two_test"]

COCHRAN_MIN_EXPECTED = 5.0
"""Smallest expected count of a 2x2 table for which the chi-squared test is primary."""

RULES = {
    "paired": "primary p: paired t-test (it tests the mean change whose t-based 95% CI is "
              "shown); the Wilcoxon signed-rank test is under details",
    "ancova": "primary p: t-test of the adjusted difference, Holm-adjusted over the treated "
              "arms at a visit when there are two or more; the unadjusted p is under details",
    "two_by_two": "primary p: Pearson's chi-squared test when every expected count is at "
                  f"least {COCHRAN_MIN_EXPECTED:g}, else Fisher's exact test (Cochran's rule); "
                  "the other tests are under details",
    "logrank": "primary p: the log-rank test (with more than two arms, the overall test); "
               "pairwise tests are under details",
}
"""The rule of each kind of comparison, as the report states it."""

PAIRED_T = "paired t-test"
WILCOXON = "Wilcoxon signed-rank test"
FISHER = "Fisher's exact test"
PEARSON = "Pearson's chi-squared test"
YATES = "chi-squared test with Yates' correction"
LOGRANK = "log-rank test"


def expected_counts(x_treated: int, n_treated: int, x_control: int,
                    n_control: int) -> np.ndarray:
    """Expected counts of the 2x2 table (rows: treated, control; columns: with, without the
    outcome) under independence: row total x column total / N."""
    table = np.array([[x_treated, n_treated - x_treated], [x_control, n_control - x_control]],
                     dtype=float)
    total = table.sum()
    if total == 0:
        return np.full((2, 2), np.nan)
    return np.outer(table.sum(axis=1), table.sum(axis=0)) / total


def two_by_two_test(x_treated: int, n_treated: int, x_control: int,
                    n_control: int) -> tuple[str, str]:
    """The primary test of a 2x2 comparison by Cochran's rule, and why.

    Returns
    -------
    (measure, reason)
        ``measure`` is ``"chi_square"`` (Pearson, every expected count at least
        :data:`COCHRAN_MIN_EXPECTED`) or ``"fisher_exact"``; ``reason`` says which expected
        count decided, e.g. ``"smallest expected count 2.0 < 5"``.

    Examples
    --------
    >>> two_by_two_test(11, 27, 3, 26)
    ('chi_square', 'smallest expected count 6.9 >= 5')
    >>> two_by_two_test(4, 10, 0, 10)
    ('fisher_exact', 'smallest expected count 2.0 < 5')
    """
    smallest = float(np.nanmin(expected_counts(x_treated, n_treated, x_control, n_control))) \
        if n_treated + n_control else math.nan
    if not math.isfinite(smallest) or smallest < COCHRAN_MIN_EXPECTED:
        return "fisher_exact", f"smallest expected count {smallest:.1f} < {COCHRAN_MIN_EXPECTED:g}"
    return "chi_square", f"smallest expected count {smallest:.1f} >= {COCHRAN_MIN_EXPECTED:g}"


def paired_comparisons(summary: pd.DataFrame, *, decimals: int) -> tuple[pd.DataFrame,
                                                                         pd.DataFrame]:
    """The change-from-baseline table with one p (paired t-test), and the details table.

    ``summary`` is :attr:`cohort.analysis.paired.PairedResult.summary`. Returns ``(shown,
    details)``: ``shown`` has ``visit``, ``visit_day``, ``group``, ``n``, ``mean_before``,
    ``mean_after``, ``change (95% CI)`` (to ``decimals``), ``p``, ``test``, ``n_excluded``;
    ``details`` has ``visit``, ``group``, ``n``, ``test``, ``statistic``, ``p``.
    """
    s = summary.reset_index(drop=True)
    shown = pd.DataFrame({
        "visit": s["visit"], "visit_day": s["visit_day"], "group": s["group"], "n": s["n"],
        "mean_before": s["mean_before"], "mean_after": s["mean_after"],
        "change (95% CI)": [format_estimate_ci(e, lo, hi, decimals) for e, lo, hi in
                            zip(s["estimate"], s["ci_lower"], s["ci_upper"], strict=True)],
        "p": s["p"].map(format_p), "test": PAIRED_T, "n_excluded": s["n_excluded"]})
    details = pd.DataFrame({
        "visit": s["visit"], "group": s["group"], "n": s["n"], "test": WILCOXON,
        "statistic": s.get("wilcoxon_v", np.nan),
        "p": s["wilcoxon_p"].map(format_p)})
    return shown, details


def ancova_comparisons(contrasts: pd.DataFrame, *, decimals: int,
                       reference: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Arm-vs-control and trend rows of the ANCOVA with one p each, and the details table.

    ``contrasts`` are the rows of :func:`cohort.analysis.ancova.ancova_analysis`'s summary
    whose ``kind`` is not ``lsmean`` (``adjust="holm"``). Returns ``(shown, details)``:
    ``shown`` has ``visit``, ``kind``, ``arm``, ``reference``, ``difference (95% CI)``,
    ``se``, ``p``, ``test``, ``n`` (with two or more treated arms the interval is the
    family's simultaneous one, which goes with the adjusted p); ``details`` has ``visit``,
    ``arm``, ``reference``, ``difference (unadjusted 95% CI)``, ``test``, ``p`` (the
    unadjusted ones).
    """
    c = contrasts.reset_index(drop=True)
    shown, details = [], []
    for visit, g in c.groupby("visit", sort=False):
        vs = g["kind"] == "vs_reference"
        k = int(vs.sum())
        for r in g.itertuples(index=False):
            lo, hi = r.ci_lower, r.ci_upper
            if r.kind == "vs_reference" and k >= 2:
                # the adjusted p goes with the simultaneous interval of the same family
                p, test = r.p_adjusted, (f"ANCOVA t-test, Holm-adjusted over {k} arms vs "
                                         f"{reference} (CI {r.ci_adjust}-adjusted)")
                lo, hi = r.ci_lower_adjusted, r.ci_upper_adjusted
                details.append({"visit": visit, "arm": r.arm, "reference": r.reference,
                                "difference (unadjusted 95% CI)": format_estimate_ci(
                                    r.estimate, r.ci_lower, r.ci_upper, decimals),
                                "test": "ANCOVA t-test, unadjusted", "p": format_p(r.p)})
            elif r.kind == "vs_reference":
                p, test = r.p, "ANCOVA t-test"
            else:
                p, test = r.p, "t-test of the linear dose-trend contrast"
            shown.append({"visit": visit, "kind": r.kind, "arm": r.arm,
                          "reference": r.reference,
                          "difference (95% CI)": format_estimate_ci(r.estimate, lo, hi,
                                                                    decimals),
                          "se": r.se, "p": format_p(p), "test": test, "n": r.n})
    cols = ["visit", "kind", "arm", "reference", "difference (95% CI)", "se", "p", "test", "n"]
    return (pd.DataFrame(shown, columns=cols),
            pd.DataFrame(details, columns=["visit", "arm", "reference",
                                           "difference (unadjusted 95% CI)", "test", "p"]))


_TEST_NAMES = {"fisher_exact": FISHER, "chi_square": PEARSON}


def remission_comparisons(comparisons: pd.DataFrame,
                          rates: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Treated-vs-control remission with one p each (Cochran's rule), and the details.

    Parameters
    ----------
    comparisons : DataFrame
        :attr:`cohort.analysis.remission.RemissionResult.comparisons`.
    rates : DataFrame
        The result's ``summary`` (``subgroup_by``, ``subgroup``, ``arm``, ``x``, ``n``), for
        the expected counts.

    Returns
    -------
    (shown, details)
        ``shown``: ``subgroup_by``, ``subgroup``, ``arm``, ``reference``, ``risk difference,
        % (95% CI)`` (Newcombe hybrid score), ``odds ratio (95% CI)`` (Woolf), ``p``, ``test``
        and ``why`` (the smallest expected count); ``details``: every test of the table
        (``test``, ``statistic``, ``df``, ``p``, ``method`` as the analysis states it).
    """
    counts = {(str(r.subgroup_by), str(r.subgroup), str(r.arm)): (int(r.x), int(r.n))
              for r in rates.itertuples(index=False)}
    keys = ["subgroup_by", "subgroup", "arm", "reference"]
    shown, details = [], []
    for key, g in comparisons.groupby(keys, sort=False):
        by, sub, arm, ref = (str(k) for k in key)
        xt, nt = counts.get((by, sub, arm), (0, 0))
        xc, nc = counts.get((by, sub, ref), (0, 0))
        primary, why = two_by_two_test(xt, nt, xc, nc)

        def row(measure: str, method: str | None = None, g=g) -> pd.Series | None:
            sel = g["measure"] == measure
            if method is not None:
                sel &= g["method"] == method
            return g.loc[sel].iloc[0] if sel.any() else None

        rd = row("risk_difference", "Newcombe hybrid score")
        odds = row("odds_ratio", "Woolf log")
        test_row = row("fisher_exact") if primary == "fisher_exact" else _pearson_row(g)
        shown.append({
            "subgroup_by": by, "subgroup": sub, "arm": arm, "reference": ref,
            "risk difference, % (95% CI)": "" if rd is None else format_estimate_ci(
                100 * rd["estimate"], 100 * rd["ci_lower"], 100 * rd["ci_upper"], 1),
            "odds ratio (95% CI)": "" if odds is None else format_estimate_ci(
                odds["estimate"], odds["ci_lower"], odds["ci_upper"], 2),
            "p": format_p(np.nan if test_row is None else test_row["p"]),
            "test": _TEST_NAMES[primary], "why": why})
        for r in g.itertuples(index=False):
            if r.measure not in ("fisher_exact", "chi_square"):
                continue
            if test_row is not None and r.measure == test_row["measure"] \
                    and r.method == test_row["method"]:
                continue
            name = FISHER if r.measure == "fisher_exact" else (
                YATES if "Yates" in str(r.method) else PEARSON)
            details.append({"subgroup_by": by, "subgroup": sub, "arm": arm, "reference": ref,
                            "test": name, "statistic": r.statistic, "df": r.df,
                            "p": format_p(r.p), "method": r.method})
    return (pd.DataFrame(shown, columns=[*keys, "risk difference, % (95% CI)",
                                         "odds ratio (95% CI)", "p", "test", "why"]),
            pd.DataFrame(details, columns=[*keys, "test", "statistic", "df", "p", "method"]))


def _pearson_row(g: pd.DataFrame) -> pd.Series | None:
    """The uncorrected Pearson row, whose method may carry a note ("Pearson (an expected
    count is 4.85 < 5)")."""
    sel = (g["measure"] == "chi_square") & ~g["method"].astype(str).str.contains("Yates")
    return g.loc[sel].iloc[0] if sel.any() else None


def logrank_comparisons(summary: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Log-rank tests with one primary p: the overall test (the only one with two arms);
    pairwise tests (Holm-adjusted) are the details.

    ``summary`` is :func:`cohort.analysis.survival.log_rank`'s summary (``comparison``,
    ``statistic``, ``df``, ``p``, ``p_holm``, ``n``, ``n_events``).
    """
    s = summary.reset_index(drop=True)
    overall = s["comparison"].astype(str) == "overall"
    if not overall.any():  # a single pairwise row is the whole test
        overall = pd.Series(s.index == 0, index=s.index)
    top = s.loc[overall]
    shown = pd.DataFrame({"comparison": top["comparison"], "statistic": top["statistic"],
                          "df": top["df"], "p": top["p"].map(format_p), "test": LOGRANK,
                          "n": top["n"], "n_events": top["n_events"]})
    rest = s.loc[~overall]
    details = pd.DataFrame({"comparison": rest["comparison"], "statistic": rest["statistic"],
                            "df": rest["df"], "p": rest["p"].map(format_p),
                            "p (Holm)": rest["p_holm"].map(format_p),
                            "test": "pairwise log-rank test"})
    return shown.reset_index(drop=True), details.reset_index(drop=True)

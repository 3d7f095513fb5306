"""One primary p-value per comparison, its test named, the others under details
(cohort.report.comparisons): the rules on hand-derived 2x2 tables, and the report's tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from report_helpers import Page, built
from scipy import stats

from cohort.analysis.format import format_p
from cohort.report.comparisons import (
    expected_counts,
    logrank_comparisons,
    paired_comparisons,
    remission_comparisons,
    two_by_two_test,
)
from cohort.report.html import HtmlReport


def test_expected_counts_by_hand() -> None:
    # 11/27 vs 3/26: 14 with the outcome, 39 without, N = 53
    np.testing.assert_allclose(expected_counts(11, 27, 3, 26),
                               [[14 * 27 / 53, 39 * 27 / 53], [14 * 26 / 53, 39 * 26 / 53]])


@pytest.mark.parametrize(("table", "want"), [
    ((11, 27, 3, 26), ("chi_square", "smallest expected count 6.9 >= 5")),
    ((4, 10, 0, 10), ("fisher_exact", "smallest expected count 2.0 < 5")),
    # 9/17 vs 1/16 (lu2021, adult onset): smallest expected 10 * 16 / 33 = 4.85
    ((9, 17, 1, 16), ("fisher_exact", "smallest expected count 4.8 < 5")),
    # exactly 5 expected in a cell is enough: 10/20 vs 0/... -> 5 x 4 cells of 5
    ((5, 10, 5, 10), ("chi_square", "smallest expected count 5.0 >= 5")),
    ((0, 0, 0, 0), ("fisher_exact", "smallest expected count nan < 5")),
])
def test_cochrans_rule_picks_the_primary_2x2_test(table, want) -> None:
    assert two_by_two_test(*table) == want


def _comparisons(xt: int, nt: int, xc: int, nc: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The comparisons and rates of one 2x2 table, as remission_analysis states them."""
    obs = np.array([[xt, nt - xt], [xc, nc - xc]])
    chi = stats.chi2_contingency(obs, correction=False)
    yates = stats.chi2_contingency(obs, correction=True)
    fisher = stats.fisher_exact(obs)
    key = {"subgroup_by": "all", "subgroup": "all", "arm": "MSC", "reference": "control"}
    comp = pd.DataFrame([
        {**key, "measure": "risk_difference", "method": "Newcombe hybrid score",
         "estimate": xt / nt - xc / nc, "ci_lower": -0.1, "ci_upper": 0.5, "statistic": np.nan,
         "df": np.nan, "p": np.nan},
        {**key, "measure": "odds_ratio", "method": "Woolf log", "estimate": 5.0,
         "ci_lower": 1.2, "ci_upper": 21.0, "statistic": np.nan, "df": np.nan, "p": np.nan},
        {**key, "measure": "fisher_exact", "method": "conditional MLE odds ratio, exact",
         "estimate": 5.1, "ci_lower": 1.1, "ci_upper": 33.0, "statistic": np.nan,
         "df": np.nan, "p": fisher.pvalue},
        {**key, "measure": "chi_square", "method": "Pearson", "estimate": np.nan,
         "ci_lower": np.nan, "ci_upper": np.nan, "statistic": chi.statistic, "df": 1.0,
         "p": chi.pvalue},
        {**key, "measure": "chi_square", "method": "Pearson, Yates-corrected",
         "estimate": np.nan, "ci_lower": np.nan, "ci_upper": np.nan,
         "statistic": yates.statistic, "df": 1.0, "p": yates.pvalue},
    ])
    rates = pd.DataFrame([{"subgroup_by": "all", "subgroup": "all", "arm": "MSC", "x": xt,
                           "n": nt},
                          {"subgroup_by": "all", "subgroup": "all", "arm": "control", "x": xc,
                           "n": nc}])
    return comp, rates, (fisher.pvalue, chi.pvalue, yates.pvalue)


def test_remission_table_has_one_p_and_the_others_in_details() -> None:
    # large expected counts: Pearson's chi-squared is primary; Fisher and Yates are details
    comp, rates, (fisher, pearson, yates) = _comparisons(11, 27, 3, 26)
    shown, details = remission_comparisons(comp, rates)
    assert len(shown) == 1
    row = shown.iloc[0]
    assert (row["p"], row["test"]) == (format_p(pearson), "Pearson's chi-squared test")
    assert row["p"] == "0.0159"  # R: chisq.test(matrix(c(11,16,3,23),2,byrow=TRUE), correct=FALSE)
    assert row["risk difference, % (95% CI)"] == "29.2 (-10.0 to 50.0)"
    assert sorted(zip(details["test"], details["p"], strict=True)) == sorted(
        [("Fisher's exact test", format_p(fisher)),
         ("chi-squared test with Yates' correction", format_p(yates))])
    # a small expected count: Fisher's exact test is primary
    comp, rates, (fisher, pearson, yates) = _comparisons(4, 10, 0, 10)
    shown, details = remission_comparisons(comp, rates)
    assert (shown.iloc[0]["p"], shown.iloc[0]["test"]) == (format_p(fisher),
                                                           "Fisher's exact test")
    assert shown.iloc[0]["p"] == "0.0867"  # R: fisher.test(matrix(c(4,6,0,10),2,byrow=TRUE))
    assert set(details["test"]) == {"Pearson's chi-squared test",
                                    "chi-squared test with Yates' correction"}


def test_paired_table_names_the_t_test_and_moves_wilcoxon() -> None:
    summary = pd.DataFrame({"visit": ["week 8"], "visit_day": [56], "group": ["all"],
                            "n": [12], "mean_before": [8.1], "mean_after": [7.4],
                            "estimate": [-0.7], "ci_lower": [-1.05], "ci_upper": [-0.35],
                            "p": [0.00042], "wilcoxon_v": [3.0], "wilcoxon_p": [0.0034],
                            "n_excluded": [0]})
    shown, details = paired_comparisons(summary, decimals=2)
    assert list(shown.columns) == ["visit", "visit_day", "group", "n", "mean_before",
                                   "mean_after", "change (95% CI)", "p", "test", "n_excluded"]
    assert shown.iloc[0][["change (95% CI)", "p", "test"]].tolist() == [
        "-0.70 (-1.05 to -0.35)", "<0.001", "paired t-test"]
    assert details.iloc[0][["test", "statistic", "p"]].tolist() == [
        "Wilcoxon signed-rank test", 3.0, "0.00340"]


def test_logrank_overall_is_primary_and_pairs_are_details() -> None:
    summary = pd.DataFrame({
        "comparison": ["overall", "A vs B", "A vs C", "B vs C"],
        "statistic": [7.1, 5.0, 1.0, 2.0], "df": [2, 1, 1, 1],
        "p": [0.0287, 0.0253, 0.317, 0.157], "p_holm": [0.0287, 0.0759, 0.317, 0.314],
        "n": [30, 20, 20, 20], "n_events": [12, 8, 8, 8]})
    shown, details = logrank_comparisons(summary)
    assert shown[["comparison", "p", "test"]].values.tolist() == [
        ["overall", "0.0287", "log-rank test"]]
    assert details["p (Holm)"].tolist() == ["0.0759", "0.317", "0.314"]


def test_details_are_collapsed_and_escaped() -> None:
    doc = HtmlReport("t")
    with doc.details("Details: <other> tests"):
        doc.table(pd.DataFrame({"a": [1]}), caption="inside")
    doc.table(pd.DataFrame({"a": [1]}), caption="outside")
    text = doc.render()
    assert "<details><summary>Details: &lt;other&gt; tests</summary>" in text
    page = Page(text)
    assert page.details == ["Details: <other> tests"]
    assert page.in_details("inside") and not page.in_details("outside")


@pytest.mark.slow
def test_lu2021_remission_table_in_the_report() -> None:
    page = Page(built("lu2021").render())
    shown = page.table("Treated vs control")
    assert "p" in shown.columns and "fisher_exact" not in set(shown.get("measure", []))
    by = shown.set_index("subgroup")
    # all: expected counts >= 5 -> Pearson (p 0.0159); adult onset: 4.85 -> Fisher (0.0066)
    assert by.loc["all", ["p", "test"]].tolist() == ["0.0159", "Pearson's chi-squared test"]
    assert by.loc["adult onset (>= 18 y)", ["p", "test"]].tolist() == [
        "0.00660", "Fisher's exact test"]
    assert page.in_details("Tests not chosen as primary")
    assert "Details: other tests of each 2x2 table" in page.details

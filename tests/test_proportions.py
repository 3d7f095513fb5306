"""cohort.analysis.proportions against R (binom.test, prop.test, chisq.test, fisher.test) and
against Newcombe's (1998) published intervals.

R numbers: tests/fixtures/regression/proportions.R -> proportions_r.csv (17 significant
digits). Tolerance 1e-6 relative (R prints far more digits than that; the remaining error is
floating-point and root-finding in the exact intervals).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohort.analysis import proportion_comparisons as pc
from cohort.analysis import proportions as pr
from cohort.errors import AnalysisError

FIX = Path(__file__).parent / "fixtures" / "regression"
CASES = pd.read_csv(FIX / "proportions_cases.csv")
R = pd.read_csv(FIX / "proportions_r.csv")
RTOL = 1e-6


def r_value(case: str, quantity: str) -> float:
    hit = R.loc[(R["case"] == case) & (R["quantity"] == quantity), "value"]
    assert len(hit) == 1, (case, quantity)
    return float(hit.iloc[0])


def has(case: str, quantity: str) -> bool:
    return bool(((R["case"] == case) & (R["quantity"] == quantity)).any())


CASE_IDS = CASES["case"].tolist()


def case(cid: str) -> pd.Series:
    return CASES.set_index("case").loc[cid]


@pytest.mark.parametrize("cid", CASE_IDS)
def test_binom_test_and_clopper_pearson_against_R(cid):
    c = case(cid)
    assert pr.binom_test(c.x1, c.n1, p=c.p0) == pytest.approx(r_value(cid, "binom_p"), rel=RTOL)
    lo, hi = pr.binom_ci(c.x1, c.n1, method="clopper-pearson")
    assert lo == pytest.approx(r_value(cid, "binom_lower"), rel=RTOL, abs=1e-15)
    assert hi == pytest.approx(r_value(cid, "binom_upper"), rel=RTOL)


@pytest.mark.parametrize("correct", [False, True])
@pytest.mark.parametrize("cid", CASE_IDS)
def test_one_sample_prop_test_against_R(cid, correct):
    c = case(cid)
    tag = "cc" if correct else "nocc"
    res = pr.prop_test(c.x1, c.n1, p=c.p0, correct=correct)
    assert res["statistic"] == pytest.approx(r_value(cid, f"prop1_{tag}_stat"), rel=RTOL,
                                             abs=1e-12)
    assert res["p"] == pytest.approx(r_value(cid, f"prop1_{tag}_p"), rel=RTOL)
    assert res["ci_lower"] == pytest.approx(r_value(cid, f"prop1_{tag}_lower"), rel=RTOL,
                                            abs=1e-15)
    assert res["ci_upper"] == pytest.approx(r_value(cid, f"prop1_{tag}_upper"), rel=RTOL)


@pytest.mark.parametrize("cid", CASE_IDS)
def test_wilson_interval_is_prop_test_interval(cid):
    c = case(cid)
    lo, hi = pr.binom_ci(c.x1, c.n1, method="wilson")
    assert lo == pytest.approx(r_value(cid, "prop1_nocc_lower"), rel=RTOL, abs=1e-15)
    assert hi == pytest.approx(r_value(cid, "prop1_nocc_upper"), rel=RTOL)
    # with continuity correction the intervals agree except where R caps the correction at
    # |x - n p0| < 0.5, i.e. only when x == n * p0 exactly
    lo, hi = pr.binom_ci(c.x1, c.n1, method="wilson-cc")
    if abs(c.x1 - c.n1 * c.p0) >= 0.5:
        assert lo == pytest.approx(r_value(cid, "prop1_cc_lower"), rel=RTOL, abs=1e-15)
        assert hi == pytest.approx(r_value(cid, "prop1_cc_upper"), rel=RTOL)


def test_wilson_cc_differs_from_R_only_at_the_cap():
    # case "half": x = 10 = n * p0 -> R uses no correction at all
    c = case("half")
    lo, _ = pr.binom_ci(c.x1, c.n1, method="wilson-cc")
    assert lo < r_value("half", "prop1_cc_lower") - 1e-3
    assert pr.prop_test(c.x1, c.n1, p=c.p0)["ci_lower"] == pytest.approx(
        r_value("half", "prop1_cc_lower"), rel=RTOL)


@pytest.mark.parametrize("correct", [False, True])
@pytest.mark.parametrize("cid", CASE_IDS)
def test_two_sample_prop_test_and_chisq_against_R(cid, correct):
    c = case(cid)
    tag = "cc" if correct else "nocc"
    if not has(cid, f"prop2_{tag}_stat"):
        with pytest.raises(AnalysisError, match="chi-square test of equal proportions"):
            pr.prop_test([c.x1, c.x2], [c.n1, c.n2], correct=correct)
        return
    res = pr.prop_test([c.x1, c.x2], [c.n1, c.n2], correct=correct)
    assert res["statistic"] == pytest.approx(r_value(cid, f"prop2_{tag}_stat"), rel=RTOL,
                                             abs=1e-12)
    assert res["p"] == pytest.approx(r_value(cid, f"prop2_{tag}_p"), rel=RTOL)
    assert res["ci_lower"] == pytest.approx(r_value(cid, f"prop2_{tag}_lower"), rel=RTOL)
    assert res["ci_upper"] == pytest.approx(r_value(cid, f"prop2_{tag}_upper"), rel=RTOL)
    rd = pc.risk_difference(c.x1, c.n1, c.x2, c.n2, method="wald-cc" if correct else "wald")
    assert rd["ci_lower"] == pytest.approx(res["ci_lower"], rel=1e-12)
    assert rd["ci_upper"] == pytest.approx(res["ci_upper"], rel=1e-12)
    cs = pc.chi_square(pc.two_by_two(c.x1, c.n1, c.x2, c.n2), correct=correct)
    assert cs["statistic"] == pytest.approx(r_value(cid, f"chisq_{tag}_stat"), rel=RTOL,
                                            abs=1e-12)
    assert cs["p"] == pytest.approx(r_value(cid, f"chisq_{tag}_p"), rel=RTOL)


def test_k_groups_against_R():
    res = pr.prop_test([5, 9, 14], [20, 22, 25])
    assert res["df"] == 2
    assert res["statistic"] == pytest.approx(r_value("k3", "prop3_stat"), rel=RTOL)
    assert res["p"] == pytest.approx(r_value("k3", "prop3_p"), rel=RTOL)
    assert np.isnan(res["ci_lower"])
    cs = pc.chi_square(np.array([[5, 15], [9, 13], [14, 11]]))
    assert cs["statistic"] == pytest.approx(r_value("k3", "chisq3_stat"), rel=RTOL)
    assert cs["p"] == pytest.approx(r_value("k3", "chisq3_p"), rel=RTOL)


@pytest.mark.parametrize("cid", CASE_IDS)
def test_fisher_against_R(cid):
    c = case(cid)
    tab = pc.two_by_two(c.x1, c.n1, c.x2, c.n2)
    if tab[:, 0].sum() in (0, tab.sum()):
        pytest.skip("no events / all events: covered by test_compare_without_events")
    fe = pc.fisher_exact(tab)
    assert fe["p"] == pytest.approx(r_value(cid, "fisher_p"), rel=RTOL)
    for ours, key in (("estimate", "or"), ("ci_lower", "lower"), ("ci_upper", "upper")):
        tight = r_value(cid, f"fisher_tight_{key}")
        default = r_value(cid, f"fisher_{key}")
        if np.isinf(tight):
            assert np.isinf(fe[ours])
            continue
        # fisher.test itself, with uniroot at tol 1e-14 (see proportions.R)
        assert fe[ours] == pytest.approx(tight, rel=RTOL, abs=1e-12)
        # plain fisher.test stops uniroot at its default tol (~1.2e-4), searching in the odds
        # ratio below 1 and in its reciprocal above 1: its numbers are only that close
        def scale(v):
            return v if v <= 1 else 1 / v
        assert abs(scale(fe[ours]) - scale(default)) <= 1.3e-4


@pytest.mark.parametrize("cid", CASE_IDS)
def test_woolf_katz_newcombe_against_R_formulas(cid):
    c = case(cid)
    orr = pc.odds_ratio(c.x1, c.n1, c.x2, c.n2)
    rr = pc.risk_ratio(c.x1, c.n1, c.x2, c.n2)
    nc = pc.risk_difference(c.x1, c.n1, c.x2, c.n2, method="newcombe")
    for res, keys in ((orr, ("woolf_or", "woolf_lower", "woolf_upper")),
                      (rr, ("katz_rr", "katz_lower", "katz_upper"))):
        for ours, theirs in zip(("estimate", "ci_lower", "ci_upper"), keys, strict=True):
            assert res[ours] == pytest.approx(r_value(cid, theirs), rel=RTOL)
    assert nc["ci_lower"] == pytest.approx(r_value(cid, "newcombe_lower"), rel=RTOL, abs=1e-15)
    assert nc["ci_upper"] == pytest.approx(r_value(cid, "newcombe_upper"), rel=RTOL)
    zero = (pc.two_by_two(c.x1, c.n1, c.x2, c.n2) == 0).any()
    assert ("0.5 added" in orr["method"]) == bool(zero)


# Newcombe RG. Interval estimation for the difference between independent proportions:
# comparison of eleven methods. Stat Med 1998;17:873-90, Table II, method 10 (4 decimals).
@pytest.mark.parametrize(("counts", "published"), [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
])
def test_newcombe_published(counts, published):
    res = pc.risk_difference(*counts, method="newcombe")
    assert res["ci_lower"] == pytest.approx(published[0], abs=5e-5)
    assert res["ci_upper"] == pytest.approx(published[1], abs=5e-5)


def test_skyler_responders_fisher():
    # Skyler 2015: 5/15 on 2.0e6/kg vs 0/16 on placebo had HbA1c < 7% at week 12;
    # the study note gives the two-sided Fisher p as 0.018
    table = pc.compare_proportions(5, 15, 0, 16)
    fisher = table.loc[table["measure"] == "fisher_exact"].iloc[0]
    assert fisher["p"] == pytest.approx(r_value("skyler_wk12", "fisher_p"), rel=RTOL)
    assert round(fisher["p"], 3) == 0.018
    assert np.isinf(fisher["estimate"])
    assert set(table["measure"]) == {"risk_difference", "odds_ratio", "risk_ratio",
                                     "fisher_exact", "chi_square"}
    chi = table.loc[table["measure"] == "chi_square"]
    assert chi["method"].str.contains("expected count").all()


def test_compare_without_events():
    table = pc.compare_proportions(0, 15, 0, 16)
    fisher = table.loc[table["measure"] == "fisher_exact"].iloc[0]
    assert fisher["p"] == 1.0
    assert "no subject had the event" in fisher["method"]
    chi = table.loc[table["measure"] == "chi_square"].iloc[0]
    assert np.isnan(chi["p"]) and "no test" in chi["method"]


def test_proportion_summary():
    res = pr.proportion(5, 15)
    assert res["estimate"] == pytest.approx(1 / 3)
    assert res["cp_lower"] == pytest.approx(r_value("skyler_wk12", "binom_lower"), rel=RTOL)
    assert res["wilson_upper"] == pytest.approx(r_value("skyler_wk12", "prop1_nocc_upper"),
                                                rel=RTOL)


@pytest.mark.parametrize(("args", "match"), [
    ((5, 0), "n must be at least 1"),
    ((6, 5), "x must be between 0 and n = 5"),
    ((-1, 5), "x must be between 0 and n"),
    ((2.5, 5), "whole number"),
    (("a", 5), "must be a count"),
    ((True, 5), "boolean"),
])
def test_bad_counts(args, match):
    with pytest.raises(AnalysisError, match=match):
        pr.binom_ci(*args)


def test_bad_method_and_table():
    with pytest.raises(AnalysisError, match="method must be"):
        pr.binom_ci(1, 5, method="exact")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="2x2"):
        pc.fisher_exact([[1, 2, 3], [4, 5, 6]])
    with pytest.raises(AnalysisError, match="empty row or column"):
        pc.chi_square([[0, 0], [3, 4]])
    with pytest.raises(AnalysisError, match="conf_level"):
        pr.binom_ci(1, 5, conf_level=95)


@given(n=st.integers(1, 200), data=st.data())
def test_intervals_contain_estimate_and_are_ordered(n, data):
    x = data.draw(st.integers(0, n))
    p = x / n
    for method in ("clopper-pearson", "wilson", "wilson-cc", "wald"):
        lo, hi = pr.binom_ci(x, n, method=method)
        assert 0.0 <= lo <= p + 1e-12 and p - 1e-12 <= hi <= 1.0
    # the interval of x/n mirrors the interval of (n - x)/n
    for method in ("clopper-pearson", "wilson", "wilson-cc", "wald"):
        lo, hi = pr.binom_ci(x, n, method=method)
        lo2, hi2 = pr.binom_ci(n - x, n, method=method)
        assert lo == pytest.approx(1 - hi2, abs=1e-9) and hi == pytest.approx(1 - lo2, abs=1e-9)


@given(n1=st.integers(1, 60), n2=st.integers(1, 60), data=st.data())
def test_risk_difference_properties(n1, n2, data):
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    d = x1 / n1 - x2 / n2
    for method in ("wald", "wald-cc", "newcombe"):
        res = pc.risk_difference(x1, n1, x2, n2, method=method)
        assert res["estimate"] == pytest.approx(d)
        assert -1 - 1e-12 <= res["ci_lower"] <= d + 1e-12
        assert d - 1e-12 <= res["ci_upper"] <= 1 + 1e-12
    # swapping the groups mirrors the Newcombe interval
    a = pc.risk_difference(x1, n1, x2, n2)
    b = pc.risk_difference(x2, n2, x1, n1)
    assert a["ci_lower"] == pytest.approx(-b["ci_upper"], abs=1e-12)

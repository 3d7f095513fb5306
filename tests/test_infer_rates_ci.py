"""--adjust for responders and remission, --ci normal for effect-modification, against R.

Reference: tests/fixtures/multiplicity/rates_and_z.R (fisher.test + p.adjust on the frozen
skyler2015 cohort's week-12 responders; emmeans with df = Inf on the effect-modification
data of tests/fixtures/regression). Closed forms: compared at 1e-8 relative (Fisher's
p-values are hypergeometric sums computed by different code: 1e-9 in
tests/test_reproduce_against_R.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_regression_effect_modification import effmod_cohort
from typer.testing import CliRunner

import cohort
from cohort.analysis.effect_modification import effect_modification_analysis
from cohort.analysis.remission import remission_analysis
from cohort.analysis.responders import responder_analysis
from cohort.cli.app import app
from cohort.errors import AnalysisError

FIX = Path(__file__).parent / "fixtures"
R = pd.read_csv(FIX / "multiplicity" / "rates_and_z_r.csv")
SKY = FIX / "reproduce" / "skyler2015"
ARMS = ["MPC 0.3x10^6/kg", "MPC 1.0x10^6/kg", "MPC 2.0x10^6/kg"]


def r(dataset: str, quantity: str) -> float:
    hit = R.loc[(R["dataset"] == dataset) & (R["quantity"] == quantity), "value"]
    assert len(hit) == 1, (dataset, quantity)
    return float(hit.iloc[0])


@pytest.fixture(scope="module")
def sky():
    return cohort.load_cohort(SKY)


@pytest.mark.parametrize("method", ["holm", "hochberg", "bonferroni", "sidak"])
def test_responder_fisher_adjusted_like_p_adjust(sky, method):
    res = responder_analysis(sky.measurements, sky.subjects, criteria=["HBA1C < 7"],
                             visit_days=[84], adjust=method)
    f = res.summary[res.summary["kind"] == "fisher_exact"].set_index("arm")
    for a in ARMS:
        assert f.loc[a, "p"] == pytest.approx(r("responders", f"fisher:{a}:p"), rel=1e-8)
        assert f.loc[a, "p_adjusted"] == pytest.approx(r("responders", f"fisher:{a}:{method}"),
                                                       rel=1e-8)
        assert f.loc[a, "adjust"] == method
    # the chi-square families are the Pearson and the Yates rows, each over the three arms
    chi = res.summary[res.summary["kind"] == "chi_square"]
    assert chi["p_adjusted"].notna().sum() == 6
    rates = res.summary[res.summary["kind"] == "rate"]
    assert rates["p_adjusted"].isna().all()
    assert res.params["adjust"] == method


def test_responder_dunnett_on_odds_ratios_matches_emmeans_glm(sky):
    """emmeans(glm(resp ~ arm, binomial), trt.vs.ctrl, adjust = "mvt"); precise: mvtnorm at
    1e-7 (ours: three Monte Carlo SEs below 1e-5). Our log odds ratios and SEs are the
    closed forms of the saturated model."""
    res = responder_analysis(sky.measurements, sky.subjects,
                             criteria=["HBA1C change <= -0.3"], visit_days=[56],
                             adjust="dunnett")
    s = res.summary
    rates = s[s["kind"] == "rate"].set_index("arm")
    assert rates.loc["placebo", "x"] == r("responders_or", "placebo:x")
    ors = s[s["kind"] == "odds_ratio"].set_index("arm")
    crit = r("responders_or", "precise:critical")
    for a in ARMS:
        assert rates.loc[a, "x"] == r("responders_or", f"{a}:x")
        log_or, se = r("responders_or", f"{a}:log_or"), r("responders_or", f"{a}:se")
        assert np.log(ors.loc[a, "estimate"]) == pytest.approx(log_or, rel=1e-8)
        # glm stops IRLS at a relative deviance change of 1e-8: its SEs (and so z, p) are
        # accurate to about 1e-6 (0.7817356 vs the exact sqrt(1/6 + 1/9 + 1/4 + 1/12))
        assert ors.loc[a, "p"] == pytest.approx(r("responders_or", f"{a}:p"), rel=1e-5)
        assert ors.loc[a, "p_adjusted"] == pytest.approx(r("responders_or", f"{a}:precise_p"),
                                                         abs=2e-5)
        assert ors.loc[a, "p_adjusted"] == pytest.approx(r("responders_or", f"{a}:mvt_p"),
                                                         abs=2e-3)
        assert np.log(ors.loc[a, "ci_lower_adjusted"]) == pytest.approx(log_or - crit * se,
                                                                        rel=2e-5)
        assert ors.loc[a, "adjust"] == "dunnett"
    assert s.loc[s["kind"] == "fisher_exact", "p_adjusted"].isna().all()
    assert any("Dunnett: the odds ratios" in n for n in res.notes)


def test_rates_refuse_dunnett_where_undefined_and_unknown_methods(sky):
    # week 12, HbA1c < 7: no placebo responder, so no finite log odds
    with pytest.raises(AnalysisError, match=r"0% or 100% events"):
        responder_analysis(sky.measurements, sky.subjects, visit_days=[84], adjust="dunnett")
    with pytest.raises(AnalysisError, match="choose one of: none, dunnett"):
        responder_analysis(sky.measurements, sky.subjects, visit_days=[84], adjust="BH")
    runner = CliRunner()
    for cmd in (["responders", str(SKY), "--visit-days", "84"],
                ["remission", str(FIX / "reproduce" / "lu2021")]):
        bad = runner.invoke(app, ["analyze", *cmd, "--adjust", "tukey"])
        assert bad.exit_code == 2 and "choose one of: none, dunnett, holm" in bad.output
        assert "Traceback" not in bad.output


def test_remission_adjust_one_family_per_test():
    c = cohort.load_cohort(FIX / "reproduce" / "lu2021")
    res = remission_analysis(c.measurements, c.subjects, c.infusions, adjust="bonferroni")
    comp = res.comparisons
    tests = comp[comp["p"].notna()]
    # one treated arm: a family of one, nothing changes
    assert (tests["p_adjusted"] == tests["p"]).all()
    assert set(tests["adjust"]) == {"bonferroni"}
    assert res.params["adjust"] == "bonferroni"
    out = CliRunner().invoke(app, ["analyze", "remission", str(FIX / "reproduce" / "lu2021"),
                                   "--adjust", "holm", "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["params"]["adjust"] == "holm"
    assert {row["adjust"] for row in doc["comparisons"]} == {"holm"}


def test_remission_dunnett_on_the_odds_ratio_hand_derived():
    """lu2021: one treated arm (11/27) vs control (3/26): a family of one, so the Dunnett
    p-value is the Wald z p-value of the log odds ratio and the simultaneous interval is
    Woolf's interval."""
    from scipy import stats

    c = cohort.load_cohort(FIX / "reproduce" / "lu2021")
    res = remission_analysis(c.measurements, c.subjects, c.infusions, adjust="dunnett",
                             subgroup=None)
    row = res.comparisons.query("measure == 'odds_ratio' and arm != 'all treated'").iloc[0]
    log_or = np.log(11 / 16) - np.log(3 / 23)
    se = np.sqrt(1 / 11 + 1 / 16 + 1 / 3 + 1 / 23)
    assert np.log(row["estimate"]) == pytest.approx(log_or, rel=1e-12)
    assert row["statistic"] == pytest.approx(log_or / se, rel=1e-12)
    assert row["p"] == pytest.approx(2 * stats.norm.sf(log_or / se), rel=1e-12)
    assert row["p_adjusted"] == pytest.approx(row["p"], rel=1e-12)
    assert row["ci_lower_adjusted"] == pytest.approx(row["ci_lower"], rel=1e-9)
    assert row["ci_upper_adjusted"] == pytest.approx(row["ci_upper"], rel=1e-9)
    assert row["adjust"] == "dunnett"
    fisher = res.comparisons.query("measure == 'fisher_exact'")
    assert fisher["p_adjusted"].isna().all()


def test_effect_modification_normal_intervals_match_emmeans():
    em = effmod_cohort()
    res = effect_modification_analysis(em.measurements, em.subjects, subgroup="bmi",
                                       visit_days=[365], ci="normal")
    within = res.summary[res.summary["kind"] == "within_subgroup"].set_index("subgroup")
    for g in ("BMI < 23", "BMI >= 23"):
        for col, q in (("ci_lower", "lower"), ("ci_upper", "upper"), ("p", "p")):
            assert within.loc[g, col] == pytest.approx(r("effmod_z", f"within:{g}:{q}"),
                                                       rel=1e-8)
    assert res.params["ci"] == "normal"
    assert any("normal (z)" in n for n in res.notes)
    t_res = effect_modification_analysis(em.measurements, em.subjects, subgroup="bmi",
                                         visit_days=[365])
    assert t_res.params["ci"] == "t"

"""ANCOVA multiplicity (--adjust) and interval method (--ci) on skyler2015 against emmeans.

Reference: tests/fixtures/multiplicity/multiplicity.R (lm + emmeans on the frozen skyler2015
cohort, the analysis set rebuilt from the raw tables). Tolerances: see
tests/test_infer_multiplicity.py (1e-8 closed forms; Dunnett 2e-5 against mvtnorm at 1e-7).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_infer_multiplicity import ARMS, r
from typer.testing import CliRunner

import cohort
from cohort.analysis.ancova import ancova_analysis
from cohort.cli.app import app
from cohort.errors import AnalysisError

SKY = Path(__file__).parent / "fixtures" / "reproduce" / "skyler2015"
NGUYEN = Path(__file__).parent / "fixtures" / "reproduce" / "nguyen2021"
VISIT = {"day 56": "week8", "day 84": "week12"}


@pytest.fixture(scope="module")
def sky():
    return cohort.load_cohort(SKY)


def vs_rows(res) -> pd.DataFrame:
    s = res.summary
    return s[s["kind"] == "vs_reference"]


@pytest.mark.parametrize("method", ["none", "holm", "hochberg", "bonferroni", "sidak"])
def test_ancova_adjusted_family_matches_emmeans(sky, method):
    res = ancova_analysis(sky.measurements, sky.subjects, sky.infusions, visit_days=[56, 84],
                          adjust=method, trend=False)
    vs = vs_rows(res)
    for visit, wk in VISIT.items():
        v = vs[vs["visit"] == visit].set_index("arm")
        assert list(v.index) == ARMS
        for a in ARMS:
            row = v.loc[a]
            assert row["adjust"] == method
            assert row["p"] == pytest.approx(r(wk, f"none:({a}):p"), rel=1e-8)
            assert row["p_adjusted"] == pytest.approx(r(wk, f"{method}:({a}):p"), rel=1e-8)
            assert row["ci_lower_adjusted"] == pytest.approx(r(wk, f"{method}:({a}):lower"),
                                                             rel=1e-8)
            assert row["ci_upper_adjusted"] == pytest.approx(r(wk, f"{method}:({a}):upper"),
                                                             rel=1e-8)
    assert res.params["adjust"] == method


def test_ancova_dunnett_headline(sky):
    res = ancova_analysis(sky.measurements, sky.subjects, sky.infusions, visit_days=[56],
                          adjust="dunnett", trend=False)
    v = vs_rows(res).set_index("arm")
    for a in ARMS:
        assert v.loc[a, "p_adjusted"] == pytest.approx(r("week8", f"precise:{a}:p"), abs=2e-5)
        assert v.loc[a, "ci_adjust"] == "dunnett"
    assert round(v.loc[ARMS[2], "p"], 3) == 0.034
    assert round(v.loc[ARMS[2], "p_adjusted"], 3) == 0.089
    assert any("Dunnett" in n for n in res.notes)


def test_ancova_normal_intervals_match_emmeans_df_inf(sky):
    res = ancova_analysis(sky.measurements, sky.subjects, sky.infusions, visit_days=[56, 84],
                          ci="normal", trend=False)
    assert res.params["ci"] == "normal"
    assert any("normal (z)" in n and "1.960 x SE" in n for n in res.notes)
    s = res.summary
    for visit, wk in VISIT.items():
        v = vs_rows(res)[lambda f, visit=visit: f["visit"] == visit].set_index("arm")
        for a in ARMS:
            assert v.loc[a, "p"] == pytest.approx(r(wk, f"z:({a}):p"), rel=1e-8)
            assert v.loc[a, "ci_lower"] == pytest.approx(r(wk, f"z:({a}):lower"), rel=1e-8)
            assert v.loc[a, "ci_upper"] == pytest.approx(r(wk, f"z:({a}):upper"), rel=1e-8)
        ls = s[(s["visit"] == visit) & (s["kind"] == "lsmean")].set_index("arm")
        for a in ["placebo", *ARMS]:
            assert ls.loc[a, "ci_lower"] == pytest.approx(r(wk, f"zls:{a}:lower"), rel=1e-8)
            assert ls.loc[a, "ci_upper"] == pytest.approx(r(wk, f"zls:{a}:upper"), rel=1e-8)
    # the default stays t: wider intervals than z
    t_res = ancova_analysis(sky.measurements, sky.subjects, sky.infusions, visit_days=[56],
                            trend=False)
    assert t_res.params["ci"] == "t"
    tv = vs_rows(t_res).set_index("arm")
    assert tv.loc[ARMS[2], "ci_lower"] == pytest.approx(r("week8", f"none:({ARMS[2]}):lower"),
                                                        rel=1e-8)


def test_unknown_adjust_and_ci_are_refused(sky):
    with pytest.raises(AnalysisError, match="none, dunnett, holm, hochberg, bonferroni, sidak"):
        ancova_analysis(sky.measurements, sky.subjects, visit_days=[56], adjust="fdr_bh")
    with pytest.raises(AnalysisError, match=r"choose t .* or normal"):
        ancova_analysis(sky.measurements, sky.subjects, visit_days=[56], ci="wald")


def test_cli_adjust_and_ci(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["analyze", "ancova", str(SKY), "--visit-days", "56",
                              "--adjust", "tukey"])
    assert bad.exit_code == 2
    assert "choose one of: none, dunnett, holm, hochberg, bonferroni, sidak" in bad.output
    assert "Traceback" not in bad.output
    ok = runner.invoke(app, ["analyze", "ancova", str(SKY), "--visit-days", "56",
                             "--adjust", "bonferroni", "--ci", "normal", "--no-trend",
                             "--format", "json"])
    assert ok.exit_code == 0, ok.output
    import json

    doc = json.loads(ok.stdout)
    assert doc["params"]["ci"] == "normal" and doc["params"]["adjust"] == "bonferroni"
    vs = [row for row in doc["summary"] if row["kind"] == "vs_reference"]
    assert {row["adjust"] for row in vs} == {"bonferroni"}


def test_reference_arm_is_the_same_in_ancova_and_effect_modification():
    """nguyen2021 has no control arm: both commands take the first arm by name as the
    reference, so the route effect has the same sign in both (before: ancova ordered arms
    by dose and compared intravenous with pancreatic artery the other way round)."""
    from cohort.analysis.effect_modification import effect_modification_analysis

    c = cohort.load_cohort(NGUYEN)
    anc = ancova_analysis(c.measurements, c.subjects, c.infusions, last=True, trend=False)
    em = effect_modification_analysis(c.measurements, c.subjects, last=True)
    a = vs_rows(anc).iloc[0]
    w = em.summary[em.summary["kind"] == "within_subgroup"]
    assert a["reference"] == "intravenous" and a["arm"] == "pancreatic artery"
    assert set(w["reference"]) == {"intravenous"} and set(w["arm"]) == {"pancreatic artery"}
    assert anc.params["reference"] == em.params["reference"] == "intravenous"
    assert any("first arm by name" in n for n in anc.notes)
    # --reference turns both round the same way
    anc2 = ancova_analysis(c.measurements, c.subjects, c.infusions, last=True, trend=False,
                           reference="pancreatic artery")
    em2 = effect_modification_analysis(c.measurements, c.subjects, last=True,
                                       reference="pancreatic artery")
    assert vs_rows(anc2).iloc[0]["estimate"] == pytest.approx(-a["estimate"], rel=1e-9)
    assert set(em2.summary.loc[em2.summary["kind"] == "within_subgroup", "reference"]) == {
        "pancreatic artery"}

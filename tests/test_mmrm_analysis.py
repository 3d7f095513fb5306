"""``mmrm_analysis`` / ``cohort analyze mmrm`` on the bundled skyler2015 cohort: against R
nlme::gls (tests/fixtures/mmrm/skyler2015_gls.R), the ANCOVA's repeated-measures option, missing
visits and exclusions, df options, bad input (exit 2, one message) and the optimiser's report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cohort.analysis.ancova import ancova_analysis
from cohort.analysis.mmrm import MmrmConvergenceError, mmrm
from cohort.analysis.mmrm.analysis import mmrm_analysis
from cohort.cli.app import app
from cohort.errors import AnalysisError
from cohort.validation import load_cohort

ROOT = Path(__file__).parent.parent
SKYLER = ROOT / "synthetic" / "skyler2015" / "cohort"
FIX = Path(__file__).parent / "fixtures" / "mmrm"
GLS = json.loads((FIX / "skyler2015_gls.json").read_text())
DAYS = [7, 56, 84]
RUNNER = CliRunner()


@pytest.fixture(scope="module")
def sky():
    return load_cohort(SKYLER)


@pytest.fixture(scope="module")
def default(sky):
    return mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS)


def test_analysis_set_is_the_one_R_fitted(default):
    mine = default.data[["subject_id", "visit", "arm", "baseline", "change"]]
    theirs = pd.read_csv(FIX / "skyler2015_mmrm_data.csv")
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs, check_dtype=False)


def test_against_nlme_gls(default):
    """gls (corSymm + varIdent, REML, tolerance 1e-12) maximises the same likelihood."""
    assert default.fit_statistics["minus2ll"] == pytest.approx(GLS["minus2reml"], abs=1e-7)
    s = default.summary
    for r in GLS["lsmeans"]:
        row = s[(s.kind == "lsmean") & (s.arm == r["arm"]) & (s.visit == r["visit"])].iloc[0]
        assert row.estimate == pytest.approx(r["estimate"], rel=1e-6, abs=1e-9)
        assert row.se == pytest.approx(r["se"], rel=1e-6)
    for r in GLS["vs_placebo"]:
        arm = r["contrast"].split(") - ")[0].lstrip("(")
        row = s[(s.kind == "vs_reference") & (s.arm == arm) & (s.visit == r["visit"])].iloc[0]
        assert row.reference == "placebo"
        assert row.estimate == pytest.approx(r["estimate"], rel=1e-6, abs=1e-9)
        assert row.se == pytest.approx(r["se"], rel=1e-6)
    np.testing.assert_allclose(default.covariance_matrix.to_numpy(), GLS["covariance"],
                               rtol=1e-5)
    coefs = default.coefficients.set_index("term")
    assert len(coefs) == len(GLS["coefficients"]) == 15


def test_complete_data_df_and_reporting(default):
    # complete, balanced data under an unstructured covariance: the Satterthwaite df of every
    # per-visit contrast is n - (4 arms + baseline) = 61 - 5 exactly
    np.testing.assert_allclose(default.summary["df"], 56.0, rtol=1e-6)
    assert default.summary["model"].eq("mmrm").all()
    assert len(default.summary) == 3 * (4 + 3)
    fs = default.fit_statistics
    assert fs["converged"] and fs["n_subjects"] == 61 and fs["n_records"] == 183
    assert fs["aic"] == pytest.approx(fs["minus2ll"] + 2 * 6)
    h = default.history
    assert h["minus2ll"].is_monotonic_decreasing and h["step"].iloc[0] == "start"
    assert h["gradient_norm"].iloc[-1] < 1e-3
    assert default.covariance["parameter"].tolist() == [
        "UN(1,1)", "UN(2,1)", "UN(2,2)", "UN(3,1)", "UN(3,2)", "UN(3,3)"]
    assert any("REML" in n and "missing at random" in n for n in default.notes)
    doc = default.to_dict()
    json.dumps(doc, allow_nan=False)
    assert doc["fit_statistics"]["converged"] is True and len(doc["history"]) == len(h)


def test_ancova_repeated_measures_option_is_the_mmrm(sky, default):
    res = ancova_analysis(sky.measurements, sky.subjects, sky.infusions, visit_days=DAYS,
                          mixed=True, trend=False)
    mm = res.summary[res.summary.model == "mmrm"].reset_index(drop=True)
    cols = ["visit", "kind", "arm", "estimate", "se", "df", "p"]
    pd.testing.assert_frame_equal(mm[cols], default.summary[cols])
    assert not (res.summary.model == "mixed").any()
    assert any("cohort analyze mmrm" in n for n in res.notes)


def test_missing_visits_are_used_not_imputed_and_reported(sky, default):
    meas = sky.measurements
    drop = (meas.subject_id.isin(["SKY-001", "SKY-020", "SKY-040"]) & (meas.day >= 71)
            & (meas.param == "HBA1C"))
    res = mmrm_analysis(meas[~drop], sky.subjects, visit_days=DAYS)
    ex = res.exclusions
    assert set(ex["subject_id"]) == {"SKY-001", "SKY-020", "SKY-040"}
    assert set(ex["visit"]) == {"day 84"} and ex["reason"].str.contains("no HBA1C").all()
    assert res.fit_statistics["n_records"] == 180 and res.fit_statistics["n_subjects"] == 61
    s = res.summary
    assert s.loc[s.visit == "day 84", "n_excluded"].eq(3).all()
    assert s.loc[s.visit == "day 7", "n_excluded"].eq(0).all()
    # the subjects' earlier visits still count: day 84 estimates move, and df are no longer
    # the complete-data 56
    assert not np.allclose(s["estimate"], default.summary["estimate"])
    assert not np.allclose(s.loc[s.visit == "day 84", "df"], 56.0)


def test_residual_and_between_within_df(sky):
    kw = {"visit_days": DAYS}
    res = mmrm_analysis(sky.measurements, sky.subjects, df="residual", **kw)
    assert res.summary["df"].eq(183 - 15).all()
    bw = mmrm_analysis(sky.measurements, sky.subjects, df="between-within", **kw)
    coef = bw.coefficients.set_index("term")["df"]
    # between: intercept, 3 arm dummies, baseline -> 61 - 5; within: 2 visit, 6 arm:visit,
    # 2 visit:baseline -> 183 - 61 - 10
    assert coef["(Intercept)"] == coef["baseline"] == 56
    assert coef["visitday 56"] == coef["visitday 84:baseline"] == 112
    s = bw.summary
    # a per-visit contrast involves within-subject columns after the first visit
    assert s.loc[(s.visit == "day 7") & (s.kind == "vs_reference"), "df"].eq(56).all()
    assert s.loc[(s.visit == "day 84") & (s.kind == "vs_reference"), "df"].eq(56).all()
    assert np.allclose(bw.summary["estimate"], res.summary["estimate"])


@pytest.mark.parametrize("cov", ["cs", "csh", "ar1", "ar1h", "toep", "toeph"])
def test_every_structure_fits_and_is_no_better_than_unstructured(sky, default, cov):
    res = mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS, covariance=cov)
    assert res.fit_statistics["converged"]
    # every structure is nested in the unstructured one: its -2 REML log L cannot be lower
    assert res.fit_statistics["minus2ll"] >= default.fit_statistics["minus2ll"] - 1e-7


def test_ml_versus_reml(sky, default):
    ml = mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS, method="ml")
    # complete data: same GLS estimates; ML variances smaller by (n - p)/n per visit
    np.testing.assert_allclose(ml.summary["estimate"], default.summary["estimate"],
                               rtol=1e-8, atol=1e-12)
    ratio = ml.covariance_matrix.to_numpy() / default.covariance_matrix.to_numpy()
    np.testing.assert_allclose(ratio, 56 / 61, rtol=1e-6)
    assert ml.fit_statistics["aic"] == pytest.approx(ml.fit_statistics["minus2ll"] + 2 * 21)


# ---------------------------------------------------------------------- bad input

def test_single_visit_says_use_ancova(sky):
    with pytest.raises(AnalysisError, match=r"at least two visits.*ancova"):
        mmrm_analysis(sky.measurements, sky.subjects, visit_days=[56])


def test_visit_without_subjects_of_an_arm(sky):
    meas = sky.measurements
    arm = sky.subjects.set_index("subject_id")["arm"]
    top = arm[arm == "MPC 2.0x10^6/kg"].index
    drop = meas.subject_id.isin(top) & meas.day.between(48, 64)
    with pytest.raises(AnalysisError, match=r"no subject of arm 'MPC 2.0x10\^6/kg' has a "
                       "value at visit 'day 56'"):
        mmrm_analysis(meas[~drop], sky.subjects, visit_days=DAYS)


def test_too_many_covariance_parameters_names_the_count():
    rng = np.random.default_rng(1)
    visits = [f"V{i}" for i in range(6)]
    d = pd.DataFrame({"s": np.repeat(np.arange(4), 6), "v": visits * 4,
                      "y": rng.normal(size=24)})
    with pytest.raises(AnalysisError, match="21 parameters but the data allow at most 17 "
                       r"\(24 records - 6 fixed effects under REML - 1\)"):
        mmrm(d, response="y", subject="s", visit="v", visit_levels=visits,
             factors={"v": visits})


def test_unstructured_pair_never_observed_together():
    d = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3, 4, 4, 5], "v": ["a", "b", "a", "c", "a", "b",
                                                             "a", "c", "b"],
                      "y": [1.0, 2.1, 0.9, 3.2, 1.2, 1.9, 1.1, 2.8, 2.2]})
    with pytest.raises(AnalysisError, match="visits 'b' and 'c' cannot be estimated: no "
                       "subject has a value at both"):
        mmrm(d, response="y", subject="s", visit="v", visit_levels=["a", "b", "c"])


def test_non_convergence_reports_gradient_not_a_result():
    """SAS does not converge on fev_data[1:50, ] either (sas_log_nonconvergence*.txt)."""
    d = pd.read_csv(FIX / "fev_data.csv").iloc[:50].dropna(subset=["FEV1"])
    levels = {"RACE": ["Asian", "Black or African American", "White"],
              "SEX": ["Male", "Female"], "ARMCD": ["PBO", "TRT"],
              "AVISIT": ["VIS1", "VIS2", "VIS3", "VIS4"]}
    with pytest.raises(MmrmConvergenceError, match=r"did not converge after \d+ iteration.*"
                       r"last gradient norm [0-9.e+]+"):
        mmrm(d, response="FEV1", subject="USUBJID", visit="AVISIT",
             visit_levels=levels["AVISIT"], factors=levels,
             interactions=[("ARMCD", "AVISIT")], method="ml")


def test_option_errors():
    d = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3], "v": ["a", "b"] * 3,
                      "y": [1.0, 2.0, 1.5, 2.5, 0.5, 1.0]})
    kw = {"response": "y", "subject": "s", "visit": "v", "visit_levels": ["a", "b"]}
    with pytest.raises(AnalysisError, match="unknown covariance structure 'un'"):
        mmrm(d, covariance="un", **kw)
    with pytest.raises(AnalysisError, match=r"Kenward-Roger .* need REML"):
        mmrm(d, method="ml", df="kr", **kw)
    with pytest.raises(AnalysisError, match="more than one record at visit 'a'"):
        mmrm(pd.concat([d, d.iloc[:1]]), **kw)
    with pytest.raises(AnalysisError, match=r"visit\(s\) \['c'\] are not among"):
        mmrm(d.assign(v=["a", "c"] * 3), **kw)


# ---------------------------------------------------------------------- CLI

def test_cli_json_equals_api(default):
    res = RUNNER.invoke(app, ["analyze", "mmrm", str(SKYLER), "--visit-days", "7,56,84",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["analysis"] == "Mmrm" and doc["params"]["covariance"] == "us"
    got = pd.DataFrame(doc["summary"])
    np.testing.assert_allclose(got["estimate"], default.summary["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["df"], default.summary["df"], rtol=1e-12)
    assert doc["fit_statistics"]["converged"] is True


def test_cli_text_and_options():
    res = RUNNER.invoke(app, ["analyze", "mmrm", str(SKYLER), "--visit-days", "7,56,84",
                              "--cov", "ar1h", "--df", "kr", "--method", "reml"])
    assert res.exit_code == 0, res.output
    assert "vs_reference" in res.stdout and "day 84" in res.stdout
    # the notes print under the table (print_summary), the fit statistics on stderr
    assert "heterogeneous first-order autoregressive" in res.stdout
    assert "-2 Res Log Like" in res.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--visit-days", "56"], "at least two visits"),
    (["--visit-days", "7,56", "--vcov", "empirical"], "empirical (sandwich) SEs go with"),
    (["--visit-days", "7,56", "--df", "kr", "--method", "ml"], "need REML"),
    (["--visit-days", "7,x"], "comma-separated whole numbers"),
])
def test_cli_bad_input_exit_2(args, message):
    res = RUNNER.invoke(app, ["analyze", "mmrm", str(SKYLER), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output


def test_cli_unknown_structure_is_a_usage_error():
    res = RUNNER.invoke(app, ["analyze", "mmrm", str(SKYLER), "--visit-days", "7,56",
                              "--cov", "un"])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_ancova_mixed_is_a_hidden_alias_of_mmrm():
    res = RUNNER.invoke(app, ["analyze", "ancova", "--help"])
    assert "--mmrm" in res.stdout and "--mixed" not in res.stdout
    a = RUNNER.invoke(app, ["analyze", "ancova", str(SKYLER), "--visit-days", "7,56,84",
                            "--mixed", "--no-trend", "--format", "json"])
    b = RUNNER.invoke(app, ["analyze", "ancova", str(SKYLER), "--visit-days", "7,56,84",
                            "--mmrm", "--no-trend", "--format", "json"])
    assert a.exit_code == b.exit_code == 0, a.output
    sa, sb = json.loads(a.stdout)["summary"], json.loads(b.stdout)["summary"]
    assert sa == sb and any(r["model"] == "mmrm" for r in sa)


# ---------------------------------------------------------------------- multiplicity

MULT = pd.read_csv(Path(__file__).parent / "fixtures" / "multiplicity" / "multiplicity_r.csv")


def _r(dataset: str, quantity: str) -> float:
    hit = MULT.loc[(MULT.dataset == dataset) & (MULT.quantity == quantity), "value"]
    assert len(hit) == 1, quantity
    return float(hit.iloc[0])


@pytest.mark.parametrize("adjust", ["dunnett", "holm", "bonferroni"])
def test_adjusted_comparisons_against_emmeans(sky, adjust):
    """Complete data, unstructured covariance: each visit's comparisons are the per-visit
    ANCOVA's (df 56), so emmeans' adjustments of lm(change ~ arm + baseline) apply
    (tests/fixtures/multiplicity/multiplicity.R; Dunnett: mvtnorm at abseps 1e-7)."""
    res = mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS, adjust=adjust)
    s = res.summary[res.summary.kind == "vs_reference"]
    for visit, wk in [("day 56", "week8"), ("day 84", "week12")]:
        for r in s[s.visit == visit].itertuples():
            if adjust == "dunnett":
                assert r.p_adjusted == pytest.approx(_r(wk, f"precise:{r.arm}:p"), abs=5e-5)
            else:
                assert r.p_adjusted == pytest.approx(_r(wk, f"{adjust}:({r.arm}):p"),
                                                     rel=1e-5)
    assert s["ci_lower_adjusted"].lt(s["ci_lower"]).all()
    assert res.summary.loc[res.summary.kind == "lsmean", "p_adjusted"].isna().all()
    assert res.params["adjust"] == adjust and any(adjust in n for n in res.notes)


def test_cli_unknown_adjustment_exit_2():
    res = RUNNER.invoke(app, ["analyze", "mmrm", str(SKYLER), "--visit-days", "7,56",
                              "--adjust", "tukey"])
    assert res.exit_code == 2 and "--adjust: unknown multiplicity adjustment 'tukey'" \
        in res.output


def test_missing_values_are_refused_by_the_core():
    d = pd.DataFrame({"s": [1, 1, 2, 2, 3, 3], "v": ["a", "b"] * 3,
                      "y": [1.0, np.nan, 1.5, 2.5, 0.5, 1.0]})
    with pytest.raises(AnalysisError, match="1 record\\(s\\) with a missing 'y'"):
        mmrm(d, response="y", subject="s", visit="v", visit_levels=["a", "b"])
    with pytest.raises(AnalysisError, match="column 'arm' is not in the data"):
        mmrm(d.dropna(), response="y", subject="s", visit="v", visit_levels=["a", "b"],
             factors={"arm": ["x", "y"]})


def test_a_visit_without_any_value_is_an_error_not_dropped(sky):
    with pytest.raises(AnalysisError, match=r"at visit\(s\) \['day 200'\]"):
        mmrm_analysis(sky.measurements, sky.subjects, visit_days=[7, 56, 200])


def test_empirical_ses_on_skyler(sky, default):
    res = mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS, vcov="empirical",
                        df="between-within")
    assert res.params["vcov"] == "empirical" and any("sandwich" in n for n in res.notes)
    np.testing.assert_allclose(res.summary["estimate"], default.summary["estimate"],
                               rtol=1e-9, atol=1e-12)
    assert not np.allclose(res.summary["se"], default.summary["se"])


@pytest.mark.parametrize("cov", ["us", "ar1h"])
def test_covariance_by_arm(sky, cov):
    one = mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS, covariance=cov)
    by = mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS, covariance=cov,
                       cov_by_arm=True, df="kr")
    # one covariance is a special case of one per arm: -2 REML log L cannot be higher
    assert by.fit_statistics["minus2ll"] <= one.fit_statistics["minus2ll"] + 1e-7
    assert by.fit_statistics["n_covariance_parameters"] == 4 * \
        one.fit_statistics["n_covariance_parameters"]
    assert by.covariance_matrix.index[0] == "placebo day 7"
    block = by.covariance_matrix.loc["placebo day 7", "MPC 0.3x10^6/kg day 7"]
    assert block == 0.0 and by.params["cov_by_arm"] is True
    assert by.covariance["parameter"].iloc[0].endswith(" placebo")


def test_ancova_adjustment_reaches_the_mmrm_rows(sky):
    """Complete data and an unstructured covariance: the MMRM's per-visit comparisons are the
    ANCOVA's, adjusted p-values and intervals included."""
    res = ancova_analysis(sky.measurements, sky.subjects, sky.infusions, visit_days=[56, 84],
                          mixed=True, trend=False, adjust="holm")
    s = res.summary[res.summary.kind == "vs_reference"]
    a, m = s[s.model == "ancova"], s[s.model == "mmrm"]
    cols = ["estimate", "se", "p", "p_adjusted", "ci_lower_adjusted", "ci_upper_adjusted"]
    np.testing.assert_allclose(m[cols].to_numpy(float), a[cols].to_numpy(float), rtol=1e-6)
    assert m["adjust"].eq("holm").all() and m["ci_adjust"].eq("bonferroni").all()


# ---------------------------------------------------------------- --ci normal

def test_normal_intervals_are_wald_z_on_the_same_fit(sky, default):
    """--ci normal keeps the fit and the SEs and replaces t(df) by the standard normal:
    estimate +- 1.959964 x SE and p = 2 (1 - Phi(|est / se|)), derived by hand below."""
    from scipy import stats

    res = mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS, ci="normal")
    s, t = res.summary, default.summary
    np.testing.assert_allclose(s["estimate"], t["estimate"], rtol=1e-12)
    np.testing.assert_allclose(s["se"], t["se"], rtol=1e-12)
    assert np.isinf(s["df"]).all()
    z = 1.959963984540054
    np.testing.assert_allclose(s["ci_lower"], s["estimate"] - z * s["se"], rtol=1e-12)
    np.testing.assert_allclose(s["ci_upper"], s["estimate"] + z * s["se"], rtol=1e-12)
    np.testing.assert_allclose(s["p"], 2 * stats.norm.sf((s["estimate"] / s["se"]).abs()),
                               rtol=1e-12)
    # normal intervals are narrower than the t ones on finite df
    assert ((s["ci_upper"] - s["ci_lower"]) < (t["ci_upper"] - t["ci_lower"])).all()
    assert res.params["ci"] == "normal"
    assert any("Wald z" in n for n in res.notes)


def test_normal_intervals_with_dunnett_use_the_multivariate_normal(sky):
    res = mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS, ci="normal",
                        adjust="bonferroni")
    vs = res.summary[res.summary["kind"] == "vs_reference"]
    k = vs.groupby("visit").size().iloc[0]
    np.testing.assert_allclose(vs["p_adjusted"], np.minimum(vs["p"] * k, 1), rtol=1e-12)
    dun = mmrm_analysis(sky.measurements, sky.subjects, visit_days=DAYS, ci="normal",
                        adjust="dunnett")
    dvs = dun.summary[dun.summary["kind"] == "vs_reference"]
    # Dunnett lies between the unadjusted and the Bonferroni p
    assert ((dvs["p_adjusted"].to_numpy() >= dvs["p"].to_numpy() - 1e-12)
            & (dvs["p_adjusted"].to_numpy() <= vs["p_adjusted"].to_numpy() + 1e-4)).all()


def test_cli_ci_normal_and_bad_value():
    res = RUNNER.invoke(app, ["analyze", "mmrm", str(SKYLER), "--visit-days", "7,56,84",
                              "--ci", "normal", "--format", "json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["params"]["ci"] == "normal"
    bad = RUNNER.invoke(app, ["analyze", "mmrm", str(SKYLER), "--visit-days", "7,56,84",
                              "--ci", "wald"])
    assert bad.exit_code == 2

"""`cohort.studies.reproduce` on the bundled studies and on user cohorts.

Published numbers come from the study notes (/work/shared/studies) as encoded in each spec;
Fisher p-values are derived by hand from the hypergeometric distribution (math.comb).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from cohort.analysis.result import AnalysisResult
from cohort.errors import CohortError
from cohort.spec.analyses import ANALYSES
from cohort.spec.registry import registered_studies
from cohort.studies import RECIPES, ReproductionResult, reproduce

STUDIES = ["couri2009", "daddio2014", "hu2016", "lu2021", "matsuoka2025", "nguyen2021",
           "skyler2015",
           "snarski2016", "voltarelli2007"]
INTERFACE_COLUMNS = [
    "target", "description", "analysis", "source", "published", "published_value",
    "published_ci_lower", "published_ci_upper", "published_p", "reproduced_value", "ci_lower",
    "ci_upper", "p", "n", "agreement", "agreement_rule", "inputs", "calibrated", "status",
    "reason"]

_CACHE: dict[str, ReproductionResult] = {}


def result(study: str) -> ReproductionResult:
    """One reproduction per study for the whole module (each takes a few seconds)."""
    if study not in _CACHE:
        _CACHE[study] = reproduce(study)
    return _CACHE[study]


def row(study: str, target: str) -> pd.Series:
    s = result(study).summary
    return s.set_index("target").loc[target]


def fisher_two_sided(x1: int, n1: int, x2: int, n2: int) -> float:
    """Fisher's exact p (two-sided, R's rule: tables no more likely than the one observed)."""
    k, n = x1 + x2, n1 + n2
    total = math.comb(n, k)
    probs = {x: math.comb(n1, x) * math.comb(n2, k - x) / total
             for x in range(max(0, k - n2), min(k, n1) + 1)}
    observed = probs[x1]
    return sum(p for p in probs.values() if p <= observed * (1 + 1e-7))


def test_every_analysis_id_has_a_recipe():
    assert set(RECIPES) == set(ANALYSES)


def test_the_five_studies_are_registered():
    assert sorted(e.id for e in registered_studies()) == sorted(STUDIES)


@pytest.mark.parametrize("study", STUDIES)
def test_calibrated_targets_agree_on_the_synthetic_cohort(study):
    s = result(study).summary
    assert len(s) == len(result(study).study.targets) > 0
    assert (s["status"] == "computed").all(), s.loc[s["status"] != "computed",
                                                    ["target", "reason"]]
    calibrated = s[s["calibrated"]]
    assert len(calibrated) > 0
    bad = calibrated[calibrated["agreement"] != "agrees"]
    assert bad.empty, bad[["target", "published", "reproduced", "agreement_rule"]]
    assert s["agreement"].isin(["agrees", "compatible", "differs"]).all()
    assert s["inputs"].isin(["published", "assumed", "mixed"]).all()
    assert not s["notes"].fillna("").str.contains("bug").any()


def test_result_interface():
    res = result("matsuoka2025")
    assert isinstance(res, AnalysisResult)
    assert res.analysis == "Reproduction"
    assert set(INTERFACE_COLUMNS) <= set(res.summary.columns)
    assert res.study.study.id == "matsuoka2025"
    assert len(res.cohort.subjects) == 61
    doc = res.to_dict()
    text = json.dumps(doc, allow_nan=False)  # one valid JSON document, no NaN
    assert json.loads(text)["manifest"]["command"] == "cohort reproduce matsuoka2025"
    assert doc["counts"] == res.counts()
    assert {r["target"] for r in doc["summary"]} == set(res.summary["target"])


def test_manifest_hashes_the_files_read():
    res = result("matsuoka2025")
    files = res.manifest["files"]
    assert {f["name"] for f in files} == {"subjects.csv", "infusions.csv", "measurements.csv"}
    for f in files:
        assert f["sha256"] == hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest()
    assert res.manifest["seed"] == res.study.study.seed
    assert res.manifest["packages"]["pandas"] == pd.__version__


def test_skyler_published_results():
    # 5/15 on 2.0 x 10^6/kg vs 0/16 on placebo below 7% at week 12 (Skyler 2015)
    assert row("skyler2015", "responders_top_w12")["reproduced_value"] == 5
    assert row("skyler2015", "responders_placebo_w12")["reproduced_value"] == 0
    fisher = row("skyler2015", "responders_fisher")
    assert fisher["p"] == pytest.approx(fisher_two_sided(5, 15, 0, 16), rel=1e-9)
    assert fisher["p"] == pytest.approx(3003 / 169911, rel=1e-9)  # C(15,5) / C(31,5)
    assert fisher["agreement_rule"] == "p < 0.05"
    top = row("skyler2015", "ls_diff_w8_top")
    # LS mean difference -0.4 +- 0.2 printed; the spec sets -0.42 +- 0.195 within rounding
    assert top["reproduced_value"] == pytest.approx(-0.4, abs=0.05)
    assert top["p"] < 0.05
    assert top["published"] == "-0.4 +- 0.2 (SE), p < 0.05"
    assert top["agreement_rule"] == "within 0.05 (printed precision) and p < 0.05"


def test_lu_published_results():
    assert row("lu2021", "remission_msc")["reproduced_value"] == 11
    rate = row("lu2021", "remission_rate_msc")
    assert rate["reproduced_value"] == pytest.approx(11 / 27, rel=1e-12)
    fisher = row("lu2021", "remission_vs_control")
    # control 3/26 is assumed in the spec (Fisher p = 0.028)
    assert fisher["p"] == pytest.approx(fisher_two_sided(11, 27, 3, 26), rel=1e-9)
    assert round(fisher["p"], 3) == 0.028
    for target, sign in (("predictor_cpep_fast", -1), ("predictor_dose", 1)):
        r = row("lu2021", target)
        assert math.copysign(1, r["reproduced_value"]) == sign
        assert r["agreement_rule"] == "same direction (sign of the log odds ratio)"
        assert "SmallSampleWarning" in r["notes"]  # 11 events for 2 predictors


def test_matsuoka_published_results():
    for target, change, n in (("change_all", -0.79, 61), ("change_moderate", -0.58, 48),
                              ("change_severe", -1.55, 13)):
        r = row("matsuoka2025", target)
        assert r["reproduced_value"] == pytest.approx(change, abs=0.005)
        assert r["n"] == n
    assert row("matsuoka2025", "change_severe")["agreement_rule"] == (
        "within 0.005 (printed precision) and p within 0.0001 (one printed unit)")


def test_couri_published_results():
    r = row("couri2009", "still_free")
    assert r["reproduced_values"] == pytest.approx([80, 61, 42, 34], abs=1 / 30.4375)
    assert r["published"] == "80, 61, 42, 34"
    km = row("couri2009", "km_median")
    assert km["reproduced_value"] == pytest.approx(31, abs=1 / 30.4375)
    assert km["ci_upper"] == math.inf  # upper limit not reached


def test_assumed_inputs_are_said_plainly():
    res = result("skyler2015")
    s = res.summary.set_index("target")
    # the spec assigns -0.1 (week 8) and 0.0 (week 12) to the low dose: assumed
    assert s.loc["ls_diff_w8_low", "inputs"] == "assumed"
    assert "change.mpc_0.3.week 8" in s.loc["ls_diff_w8_low", "assumed_inputs"]
    # the top-dose difference is published, the placebo change it is taken from assumed
    assert s.loc["ls_diff_w8_top", "inputs"] == "mixed"
    assert s.loc["n_placebo", "inputs"] == "published"
    assert s.loc["age_mean_placebo", "inputs"] == "published"
    # fasting glucose follows HbA1c through the assumed ADAG relation: assumed only
    assert s.loc["fpg_no_difference_top", "inputs"] == "assumed"
    line = res.assumed_line()
    assert ("6 rest on assumed inputs only (ls_diff_w8_low, ls_diff_w12_low, placebo_rose_w12, "
            "fpg_no_difference_low, fpg_no_difference_mid, fpg_no_difference_top)") in line
    assert line in res.notes
    assert set(res.assumed_targets()) == set(s.index[s["inputs"] != "published"])


def test_lu_remission_test_rests_on_the_assumed_control_count():
    s = result("lu2021").summary.set_index("target")
    assert s.loc["remission_vs_control", "inputs"] == "mixed"
    assert s.loc["remission_vs_control", "assumed_inputs"] == \
        "outcomes.remission.counts.control"
    assert s.loc["remission_msc", "inputs"] == "published"


def test_data_and_seed_are_exclusive(example_dir):
    with pytest.raises(CohortError, match="not both"):
        reproduce("lu2021", data=example_dir, seed=3)
    with pytest.raises(CohortError, match="give data too"):
        reproduce("lu2021", mapping="map.yaml")


def _drop_param(folder: Path, param: str) -> None:
    path = folder / "measurements.csv"
    meas = pd.read_csv(path, dtype=str, keep_default_na=False)
    meas[meas["param"] != param].to_csv(path, index=False)


def test_user_cohort_missing_a_parameter_is_not_computable(example_copy, tmp_path):
    # the example cohort names its treated arm MSC; the Lu spec calls it UC-MSC
    _drop_param(example_copy, "CPEP_PP")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("tables:\n  subjects:\n    recode: {arm: {MSC: UC-MSC}}\n")
    res = reproduce("lu2021", data=example_copy, mapping=str(mapping))
    s = res.summary.set_index("target")
    for target in ("remission_msc", "remission_rate_msc", "remission_vs_control",
                   "predictor_cpep_fast", "pp_cpep_adult", "pp_cpep_juvenile"):
        assert s.loc[target, "agreement"] == "not computable"
        assert s.loc[target, "status"] == "not computable"
        assert "no CPEP_PP measurements" in s.loc[target, "reason"], target
        assert s.loc[target, "reproduced"] == "not computable"
    # what the example has is computed: 3 treated (S01-S03), 2 standard care (S04, S05)
    assert s.loc["n_msc", "reproduced_value"] == 3
    assert s.loc["n_control", "reproduced_value"] == 2
    assert s.loc["n_msc", "agreement"] == "differs"
    assert s.loc["insulin_free_control", "status"] == "computed"
    assert res.manifest["options"]["mapping"] == str(mapping)
    assert json.loads(json.dumps(res.to_dict(), allow_nan=False))["counts"][
        "not computable"] >= 6


def test_user_cohort_without_the_spec_arms(example_dir):
    s = reproduce("skyler2015", data=example_dir).summary.set_index("target")
    reason = s.loc["ls_diff_w8_top", "reason"]
    assert s.loc["ls_diff_w8_top", "agreement"] == "not computable"
    assert "'MPC 2.0x10^6/kg'" in reason and "--mapping" in reason
    # the placebo arm exists in both (S06), so its size is computed
    assert s.loc["n_placebo", "reproduced_value"] == 1
    # targets over all subjects need no arm
    assert s.loc["men_overall", "status"] == "computed"
    assert s.loc["men_overall", "reproduced_value"] == 3  # S02, S03, S05
    assert not s["reason"].fillna("").str.contains("bug").any()


def test_a_spec_file_without_a_committed_cohort_is_synthesised(tmp_path):
    spec = tmp_path / "my_study.yaml"
    spec.write_bytes(registered_path("matsuoka2025").read_bytes())
    res = reproduce(spec)
    assert res.data == "synthetic cohort generated with seed 2087"
    assert all(f["path"] is None for f in res.manifest["files"])  # temporary, not kept
    committed = result("matsuoka2025").summary
    cols = ["target", "reproduced_value", "ci_lower", "ci_upper", "p", "n", "agreement"]
    pd.testing.assert_frame_equal(res.summary[cols], committed[cols])


def registered_path(study: str) -> Path:
    return next(e.spec_path for e in registered_studies() if e.id == study)

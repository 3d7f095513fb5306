"""Recipes no bundled spec uses yet, on the Skyler cohort with extra targets.

Expected numbers are counted by hand from the committed files (adverse events, sexes) or
recomputed here from the CSV files with numpy/scipy (correlation, subgroup means), independently
of the analysis modules.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
import yaml
from scipy import stats

import cohort
from cohort.spec import spec_from_dict
from cohort.spec.registry import study_folder
from cohort.studies import reproduce_cohort

FOLDER = study_folder() / "skyler2015"
EXTRA = [
    {"id": "ae_all", "analysis": "adverse_event_count", "description": "all adverse events",
     "value": 3, "source": "hand count"},
    {"id": "ae_urti", "analysis": "adverse_event_count", "description": "URTI on 1.0/kg",
     "params": {"term": "upper respiratory tract infection", "arm": "mpc_1.0"}, "value": 1,
     "source": "hand count"},
    {"id": "men_share", "analysis": "baseline_proportion", "description": "share of men",
     "params": {"variable": "sex", "level": "M"}, "value": 0.656, "source": "40/61"},
    {"id": "dose_corr", "analysis": "dose_correlation", "description": "dose vs change",
     "params": {"param": "HBA1C", "visit": "week 8", "dose": "per_kg"}, "value": -0.2,
     "source": "made up"},
    {"id": "dose_rho", "analysis": "dose_correlation", "description": "dose vs change",
     "params": {"param": "HBA1C", "visit": "week 8", "dose": "per_kg", "method": "spearman"},
     "value": -0.2, "source": "made up"},
    {"id": "mixed_top", "analysis": "mixed_model_diff", "description": "mixed model w8",
     "params": {"param": "HBA1C", "visit": "week 8", "arm": "mpc_2.0",
                "reference": "placebo"}, "value": -0.4, "source": "made up"},
    {"id": "sub_abs", "analysis": "subgroup_change", "description": "change, HbA1c < 8",
     "params": {"param": "HBA1C", "visit": "week 12", "arm": "mpc_2.0",
                "among": {"variable": "HBA1C", "below": 8.0}}, "value": -0.5,
     "source": "made up"},
    {"id": "sub_pct", "analysis": "subgroup_change", "description": "% change, HbA1c < 8",
     "params": {"param": "HBA1C", "visit": "week 12", "arm": "mpc_2.0", "scale": "percent",
                "among": {"variable": "HBA1C", "below": 8.0}}, "value": -5,
     "source": "made up"},
    {"id": "no_such_param", "analysis": "paired_t_change", "description": "weight change",
     "params": {"param": "WEIGHT", "visit": "week 12"}, "value": -1.0, "source": "made up"},
]


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    raw = yaml.safe_load((FOLDER / "spec.yaml").read_text())
    raw["targets"] = raw["targets"][:4] + EXTRA
    raw["study"]["primary"] = ["ae_all"]
    spec = spec_from_dict(raw)
    res = reproduce_cohort(spec, cohort.load_cohort(FOLDER / "cohort"))
    return res.summary.set_index("target")


@pytest.fixture(scope="module")
def week8() -> pd.DataFrame:
    """Change at week 8 (days 48-64, nearest day 56) and dose per kg, from the CSV files."""
    m = pd.read_csv(FOLDER / "cohort" / "measurements.csv")
    m = m[m["param"] == "HBA1C"]
    base = m[(m["day"] >= -90) & (m["day"] <= 0)].sort_values("day").groupby(
        "subject_id")["value"].last()
    win = m[(m["day"] >= 48) & (m["day"] <= 64)].assign(dist=lambda f: (f["day"] - 56).abs())
    v = win.sort_values(["dist", "day"]).groupby("subject_id")["value"].first()
    inf = pd.read_csv(FOLDER / "cohort" / "infusions.csv")
    dose = inf.groupby("subject_id")["dose_cells_per_kg"].sum()
    frame = pd.DataFrame({"change": v - base, "dose": dose}).dropna()
    return frame[frame["dose"] > 0]


def test_adverse_event_counts(summary):
    # Skyler spec: abdominal pain (0.3/kg), URTI (placebo, 1.0/kg)
    assert summary.loc["ae_all", "reproduced_value"] == 3
    assert summary.loc["ae_all", "agreement"] == "agrees"
    assert summary.loc["ae_urti", "reproduced_value"] == 1


def test_baseline_proportion(summary):
    r = summary.loc["men_share"]
    assert r["reproduced_value"] == pytest.approx(40 / 61, rel=1e-12)
    assert r["ci_lower"] < 40 / 61 < r["ci_upper"]
    assert r["agreement_rule"] == "within 0.0005 (printed precision)"


def test_dose_correlations(summary, week8):
    r = summary.loc["dose_corr"]
    expected = stats.pearsonr(week8["dose"], week8["change"])
    assert r["reproduced_value"] == pytest.approx(expected.statistic, rel=1e-9)
    assert r["p"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert r["n"] == len(week8) == 45
    rho = summary.loc["dose_rho"]
    assert rho["reproduced_value"] == pytest.approx(
        stats.spearmanr(week8["dose"], week8["change"]).statistic, rel=1e-9)


def test_mixed_model(summary):
    r = summary.loc["mixed_top"]
    assert r["status"] == "computed"
    assert r["ci_lower"] < r["reproduced_value"] < r["ci_upper"]
    # the same contrast as the per-visit ANCOVA (-0.42 at week 8), from another model
    assert r["reproduced_value"] == pytest.approx(-0.42, abs=0.1)


def test_subgroup_change(summary):
    m = pd.read_csv(FOLDER / "cohort" / "measurements.csv")
    s = pd.read_csv(FOLDER / "cohort" / "subjects.csv")
    m = m[m["param"] == "HBA1C"]
    base = m[m["day"] <= 0].groupby("subject_id")["value"].last()
    w12 = m[(m["day"] >= 71) & (m["day"] <= 97)].groupby("subject_id")["value"].last()
    ids = s.loc[s["arm"] == "MPC 2.0x10^6/kg", "subject_id"]
    ids = [i for i in ids if base[i] < 8.0]
    change = (w12[ids] - base[ids]).to_numpy()
    assert summary.loc["sub_abs", "n"] == len(ids) == 8
    assert summary.loc["sub_abs", "reproduced_value"] == pytest.approx(change.mean(), rel=1e-9)
    pct = 100 * change / base[ids].to_numpy()
    r = summary.loc["sub_pct"]
    assert r["reproduced_value"] == pytest.approx(pct.mean(), rel=1e-9)
    assert r["p"] == pytest.approx(stats.ttest_1samp(pct, 0).pvalue, rel=1e-9)


def test_a_parameter_the_cohort_lacks_is_named(summary):
    assert summary.loc["no_such_param", "agreement"] == "not computable"
    assert "the cohort has no WEIGHT measurements" in summary.loc["no_such_param", "reason"]
    assert math.isnan(summary.loc["no_such_param", "reproduced_value"])
    assert not summary["reason"].fillna("").str.contains("bug").any()

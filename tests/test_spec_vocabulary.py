"""The spec vocabulary added for the nine studies' published numbers, on the hand-made cohort
tests/fixtures/spec_requests/cohort (lu2021's arms; sites Nanjing/Shanghai/Warsaw in turn;
adverse events and deaths written by hand): targets in all subjects (`arm: all`), adverse-event
proportions by arm, death as a competing event (R survfit, requests.R), subgroups by centre
(any declared subject variable), HOMA-beta (by hand)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from cohort.derive.homa import homa_beta
from cohort.spec import spec_from_dict
from cohort.spec.registry import study_folder
from cohort.studies import reproduce_cohort
from cohort.validation import load_cohort

FIX = Path(__file__).parent / "fixtures" / "spec_requests"
R = pd.read_csv(FIX / "requests_r.csv").set_index("quantity")["value"]
WARSAW = {"variable": "site_id", "equals": "Warsaw"}


def _t(tid: str, analysis: str, params: dict, **kw) -> dict:
    return {"id": tid, "analysis": analysis, "description": tid, "params": params,
            "source": "hand", **kw}


def _clopper_pearson(x: int, n: int) -> tuple[float, float]:
    lo = 0.0 if x == 0 else stats.beta.ppf(0.025, x, n - x + 1)
    hi = 1.0 if x == n else stats.beta.ppf(0.975, x + 1, n - x)
    return float(lo), float(hi)


@pytest.fixture(scope="module")
def s() -> pd.DataFrame:
    raw = yaml.safe_load((study_folder() / "lu2021" / "spec.yaml").read_text("utf-8"))
    hypo = {"term": "Severe hypoglycaemia", "arm": "all", "months": 12}
    raw["targets"] = [
        # Fever: LU-001, LU-002 (twice), LU-003 (UC-MSC); LU-030 (standard care)
        _t("fever_msc", "adverse_event_proportion", {"term": "Fever", "arm": "msc"},
           value=0.11),
        _t("fever_msc_n", "adverse_event_subjects", {"term": "Fever", "arm": "msc"},
           value=3),
        _t("fever_events", "adverse_event_count", {"term": "Fever"}, value=5),
        _t("fever_all", "adverse_event_proportion", {"term": "Fever", "arm": "all"},
           value=0.075),
        _t("serious_ctrl", "adverse_event_proportion", {"serious": True, "arm": "control"},
           value=0.35),
        _t("n_all", "arm_size", {"arm": "all"}, value=53),
        _t("age_all", "baseline_mean", {"variable": "age_years", "arm": "all"}, value=20),
        _t("rem_all", "remission_count", {"arm": "all", "visit": "month 12"}, value=11),
        _t("rem_msc", "remission_count", {"arm": "msc", "visit": "month 12"}, value=11),
        _t("rem_ctrl", "remission_count", {"arm": "control", "visit": "month 12"}, value=0),
        _t("n_warsaw", "arm_size", {"arm": "all", "among": WARSAW}, value=17),
        _t("n_warsaw_msc", "arm_size", {"arm": "msc", "among": WARSAW}, value=9),
        _t("cif12", "km_event", {**hypo, "competing": ["Death"]}, value=0.28),
        _t("km12", "km_event", hypo, value=0.71),
        _t("cif6_msc", "km_event", {**hypo, "months": 6, "arm": "msc", "competing": "Death"},
           value=0.15, tolerance={"value": 0.2, "reason": "only computed here"}),
        _t("homa_m12", "mean_by_visit", {"param": "HOMA_B_CP", "visit": "month 12",
                                         "arm": "msc"}, value=10,
           tolerance={"value": 1000, "reason": "the number is checked by the test"}),
        _t("warsaw_request", "analyze table1", {"by": "site_id", "variable": "age_years"},
           row={"variable": "age_years", "group": "Warsaw"}, output="n", value=17),
    ]
    raw["study"]["primary"] = ["fever_msc"]
    spec = spec_from_dict(raw)
    return reproduce_cohort(spec, load_cohort(FIX / "cohort")).summary.set_index("target")


def test_adverse_event_proportions_by_arm_by_hand(s):
    assert s.loc["fever_msc", "reproduced_value"] == pytest.approx(3 / 27, rel=1e-12)
    lo, hi = _clopper_pearson(3, 27)
    assert s.loc["fever_msc", "ci_lower"] == pytest.approx(lo, rel=1e-9)
    assert s.loc["fever_msc", "ci_upper"] == pytest.approx(hi, rel=1e-9)
    assert s.loc["fever_msc", "agreement"] == "agrees"        # 0.111 at two decimals
    assert s.loc["fever_msc_n", "reproduced_value"] == 3      # subjects, not events
    assert s.loc["fever_msc_n", "agreement_rule"] == "equal count"
    assert s.loc["fever_events", "reproduced_value"] == 5     # LU-002 had fever twice
    assert s.loc["fever_all", "reproduced_value"] == pytest.approx(4 / 53, rel=1e-12)
    # serious events in standard care: hypoglycaemia in LU-029/031/033/036/040/044/048/052,
    # deaths of LU-037 and LU-045: 10 subjects of 26
    assert s.loc["serious_ctrl", "reproduced_value"] == pytest.approx(10 / 26, rel=1e-12)
    assert s.loc["serious_ctrl", "agreement"] == "compatible"  # 0.385 vs 0.35, inside the CI


def test_targets_in_all_subjects(s):
    subjects = pd.read_csv(FIX / "cohort" / "subjects.csv")
    assert s.loc["n_all", "reproduced_value"] == 53
    assert s.loc["age_all", "reproduced_value"] == pytest.approx(subjects["age_years"].mean(),
                                                                 rel=1e-12)
    # remission in all subjects is the two arms pooled: counts and denominators add up
    assert s.loc["rem_all", "reproduced_value"] == (s.loc["rem_msc", "reproduced_value"]
                                                    + s.loc["rem_ctrl", "reproduced_value"])
    assert s.loc["rem_all", "n"] == s.loc["rem_msc", "n"] + s.loc["rem_ctrl", "n"]


def test_subgroups_by_centre(s):
    subjects = pd.read_csv(FIX / "cohort" / "subjects.csv")
    warsaw = subjects[subjects["site_id"] == "Warsaw"]
    assert s.loc["n_warsaw", "reproduced_value"] == len(warsaw) == 17
    assert s.loc["n_warsaw_msc", "reproduced_value"] == int(
        (warsaw["arm"] == "UC-MSC").sum()) == 9
    assert s.loc["warsaw_request", "reproduced_value"] == 17  # cohort analyze table1 --by


def test_death_as_a_competing_event_against_R(s):
    assert s.loc["cif12", "reproduced_value"] == pytest.approx(R["cif_hypo_12m"], rel=1e-12)
    assert s.loc["cif12", "ci_lower"] == pytest.approx(R["cif_hypo_12m_lower"], rel=1e-9)
    assert s.loc["cif12", "ci_upper"] == pytest.approx(R["cif_hypo_12m_upper"], rel=1e-9)
    assert s.loc["cif12", "agreement"] == "agrees"
    assert "Death competing" in s.loc["cif12", "method"]
    # Kaplan-Meier, death censored: free of hypoglycaemia at 12 months = 1 - (1 - KM)
    assert s.loc["km12", "reproduced_value"] == pytest.approx(1 - R["one_minus_km_hypo_12m"],
                                                              rel=1e-12)
    # the two differ: censoring the deaths overstates the incidence (0.289 vs 0.283)
    assert 1 - s.loc["km12", "reproduced_value"] > s.loc["cif12", "reproduced_value"] + 0.005


def test_competing_event_estimate_by_hand_in_one_arm(s):
    # UC-MSC: 27 subjects; hypoglycaemia by 6 months (182.6 days) in LU-004 (20), LU-006 and
    # LU-008 (45), LU-010 (50), LU-012 (100), LU-015 (180); LU-021 dies on day 120 (competing)
    # before any later event; nobody is censored before day 180, so the Aalen-Johansen
    # estimate is the plain proportion 6/27
    assert s.loc["cif6_msc", "reproduced_value"] == pytest.approx(6 / 27, rel=1e-12)


def test_homa_beta_by_hand():
    m = pd.DataFrame({"subject_id": ["a", "a", "a", "a", "b", "b"],
                      "day": [0, 0, 90, 90, 0, 0],
                      "param": ["FPG", "CPEP_FAST", "FPG", "CPEP_FAST", "FPG", "CPEP_FAST"],
                      "value": [8.0, 0.5, 6.5, 0.6, 3.4, 0.4]})
    rows, notes = homa_beta(m, "HOMA_B_CP")
    # 0.27 x 500 pmol/L / (8.0 - 3.5) = 30; 0.27 x 600 / (6.5 - 3.5) = 54; b: FPG <= 3.5
    assert rows["value"].tolist() == pytest.approx([30.0, 54.0], rel=1e-12)
    assert rows["day"].tolist() == [0, 90]
    assert notes == ["HOMA_B_CP: 1 pair(s) with fasting glucose <= 3.5 mmol/L left out "
                     "(HOMA-beta undefined)"]
    ins = m.assign(param=m["param"].replace({"CPEP_FAST": "INSULIN_FAST"}),
                   value=[8.0, 9.0, 6.5, 12.0, 3.4, 5.0])
    rows, _ = homa_beta(ins, "HOMA_B", secretion_unit="uU/mL")
    # 20 x 9 / 4.5 = 40; 20 x 12 / 3 = 80 (Matthews 1985)
    assert rows["value"].tolist() == pytest.approx([40.0, 80.0], rel=1e-12)
    with pytest.raises(ValueError, match="uU/mL"):
        homa_beta(ins, "HOMA_B", secretion_unit="pmol/L")


def test_homa_beta_as_a_target_parameter(s):
    """mean_by_visit of HOMA_B_CP at month 12 in the UC-MSC arm, from the CSV files: the
    same-day FPG / CPEP_FAST pair nearest day 365 inside the visit window."""
    from cohort.derive.visit_windows import make_visits

    v = next(x for x in make_visits([91, 182, 274, 365]) if x.day == 365)
    m = pd.read_csv(FIX / "cohort" / "measurements.csv")
    subj = pd.read_csv(FIX / "cohort" / "subjects.csv")
    ids = set(subj.loc[subj["arm"] == "UC-MSC", "subject_id"])
    wide = m[m["param"].isin(["FPG", "CPEP_FAST"]) & m["subject_id"].isin(ids)].pivot_table(
        index=["subject_id", "day"], columns="param", values="value").dropna().reset_index()
    wide = wide[(wide["day"] >= v.lower) & (wide["day"] <= v.upper)]
    wide = wide.assign(dist=(wide["day"] - 365).abs()).sort_values(["subject_id", "dist", "day"])
    first = wide.groupby("subject_id").first()
    homa = 0.27 * first["CPEP_FAST"] * 1000 / (first["FPG"] - 3.5)
    assert np.all(first["FPG"] > 3.5)
    assert s.loc["homa_m12", "reproduced_value"] == pytest.approx(homa.mean(), rel=1e-12)
    assert s.loc["homa_m12", "n"] == len(homa)


def test_insulin_free_targets_in_a_subgroup_of_a_declared_variable():
    """voltarelli2007's spec: the first patient (prior ketoacidosis) has one insulin-free
    episode that ends with resumption; 13 of the other 14 have one each, all still running at
    last contact. So by hand, per prior_dka: insulin-free 1 and 13 (of 1 and 14), resumed 1
    and 0, censored episodes 0 and 13."""
    raw = yaml.safe_load((study_folder() / "voltarelli2007" / "spec.yaml").read_text("utf-8"))
    dka = {"variable": "prior_dka", "equals": True}
    no_dka = {"variable": "prior_dka", "equals": False}
    raw["targets"] = [
        _t("free_dka", "insulin_free_count", {"among": dka}, value=1),
        _t("free_others", "insulin_free_count", {"arm": "ahsct", "among": no_dka}, value=13),
        _t("resumed_dka", "resumption_count", {"among": dka}, value=1),
        _t("resumed_others", "resumption_count", {"among": no_dka}, value=0),
        _t("censored_others", "censored_count", {"among": no_dka}, value=13),
    ]
    raw["study"]["primary"] = ["free_dka"]
    folder = study_folder() / "voltarelli2007" / "cohort"
    cohort = load_cohort(folder, mapping=str(folder / "mapping.yaml"))
    s = reproduce_cohort(spec_from_dict(raw), cohort).summary.set_index("target")
    assert s["reproduced_value"].to_dict() == {"free_dka": 1, "free_others": 13,
                                               "resumed_dka": 1, "resumed_others": 0,
                                               "censored_others": 13}
    assert s.loc["free_others", "n"] == 14
    assert (s["agreement"] == "agrees").all()


def test_sites_carry_their_published_names():
    """daddio2014 names its three centres: the synthetic subjects are spread over them (22,
    22, 21 of 65: the largest-remainder split of an even allocation), so a subgroup by centre
    names a centre; a list of names that does not match the count is a spec error."""
    from cohort.errors import SpecError

    subjects = pd.read_csv(study_folder() / "daddio2014" / "cohort" / "subjects.csv")
    assert sorted(subjects["site_id"].value_counts().tolist()) == [21, 22, 22]
    assert set(subjects["site_id"]) == {"Nanjing", "Shanghai", "Warsaw"}
    raw = yaml.safe_load((study_folder() / "daddio2014" / "spec.yaml").read_text("utf-8"))
    raw["design"]["sites"]["names"] = ["Nanjing", "Warsaw"]
    with pytest.raises(SpecError, match=r"design\.sites: .*2 names for 3 sites"):
        spec_from_dict(raw)

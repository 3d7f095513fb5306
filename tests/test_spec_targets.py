"""Targets as analysis requests: parameters under their `cohort analyze` option names (the
spec's older names still valid), and `output: p` comparing the p-value of any analysis."""

from __future__ import annotations

import math

import pytest
import yaml

from cohort.errors import SpecError
from cohort.spec import spec_from_dict
from cohort.spec.registry import study_folder
from cohort.spec.targets import Target
from cohort.studies.agreement import judge
from cohort.studies.base import Reproduced


def _t(analysis: str, params: dict, **kw) -> dict:
    return {"id": "x", "analysis": analysis, "description": "d", "params": params,
            "source": "hand", **kw}


def _raw(study: str = "lu2021") -> dict:
    raw = yaml.safe_load((study_folder() / study / "spec.yaml").read_text(encoding="utf-8"))
    if study == "lu2021":  # its first 15 targets: a target added below is targets[15]
        raw["targets"] = raw["targets"][:15]
    return raw


# ------------------------------------------------------------------ parameter names


@pytest.mark.parametrize(("analysis", "cli", "spec"), [
    ("remission_rate", {"arm": "msc", "visit": "month 12", "threshold": 25},
     {"arm": "msc", "visit": "month 12", "threshold_pct": 25}),
    ("interaction_p", {"param": "HBA1C", "visit": "month 3", "subgroup": "bmi_kg_m2",
                       "cut": 23},
     {"param": "HBA1C", "visit": "month 3", "modifier": "bmi_kg_m2", "threshold": 23}),
    ("logistic_or_direction", {"predictor": "age", "covariate": ["age", "bmi"]},
     {"predictor": "age", "covariates": ["age", "bmi"]}),
])
def test_a_parameter_under_its_cli_name_is_the_same_request(analysis, cli, spec):
    a = Target.model_validate(_t(analysis, cli, value=1))
    b = Target.model_validate(_t(analysis, spec, value=1))
    assert a.params == b.params == spec


BAD = [
    ("both names", _t("remission_count", {"arm": "msc", "visit": "month 12", "threshold": 10,
                                          "threshold_pct": 10}, value=11),
     r"targets\[15\]: target .x. \(remission_count\): params threshold and "
     r"threshold_pct are the same parameter; give one"),
    ("a parameter not taken lists the cli names",
     _t("interaction_p", {"param": "HBA1C", "visit": "month 3", "modifier": "bmi_kg_m2",
                          "visit_days": 91}, p=0.05),
     r"targets\[15\]: .*unknown params visit_days; allowed: param, visit, modifier, threshold, "
     r"arm, by, subgroup, cut"),
    ("output p without a value", _t("arm_size", {"arm": "msc"}, output="p", p=0.04),
     r"targets\[15\]: .*output p needs value: the published p-value \(0-1\)"),
    ("output p above 1", _t("arm_size", {"arm": "msc"}, output="p", value=27),
     r"targets\[15\]: .*output p needs value"),
    ("output p and p", _t("arm_size", {"arm": "msc"}, output="p", value=0.04, p=0.04),
     r"targets\[15\]: .*with output p the published p is value"),
    ("an output that does not exist", _t("arm_size", {"arm": "msc"}, output="hr", value=1),
     r"targets\[15\]\.output: unknown output 'hr' of arm_size; outputs: estimate, "),
]


@pytest.mark.parametrize(("name", "target", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_request_names_the_key_path(name, target, message):
    raw = _raw()
    raw["targets"].append(target)
    with pytest.raises(SpecError, match=message):
        spec_from_dict(raw)


# ------------------------------------------------------------------ output: p


def _judge(rep_p: float, value: float, comparison: str = "=", **kw) -> tuple[str, str]:
    target = Target.model_validate(_t("subgroup_diff", {"param": "HBA1C", "visit": "m",
                                                        "arm": "a", "reference": "b"},
                                      output="p", value=value, comparison=comparison, **kw))
    # the estimate (a difference of -1.3) must play no part in an output-p target
    return judge(target, Reproduced(value=-1.3, ci_lower=-2.0, ci_upper=-0.6, p=rep_p))


def test_output_p_is_judged_by_the_p_rules_by_hand():
    # printed 0.012: one printed unit is 0.001, so 0.0122 agrees and 0.0141 does not
    assert _judge(0.0122, 0.012) == ("agrees", "p within 0.001 (one printed unit)")
    assert _judge(0.0141, 0.012)[0] == "differs"
    assert _judge(0.0004, 0.001, "<") == ("agrees", "p < 0.001")
    assert _judge(0.0012, 0.001, "<")[0] == "differs"
    assert _judge(0.21, 0.05, ">")[0] == "agrees"
    # "p <= 0.05" printed with two decimals: 0.059 still within one unit, 0.061 not
    assert _judge(0.059, 0.05, "<=")[0] == "agrees"
    assert _judge(0.061, 0.05, "<=")[0] == "differs"


def test_a_published_p_no_test_reproduces_differs_with_the_note():
    verdict, rule = _judge(math.nan, 0.03)
    assert verdict == "differs"
    assert rule == "p = 0.03 (no p-value was obtained)"


def test_output_p_and_cli_names_on_a_cohort(tmp_path):
    """lu2021 at month 12 (10% rise): remission counts r1 of n1 (UC-MSC) and r0 of n0
    (standard care); the Fisher p of remission_fisher is scipy's two-sided fisher_exact of
    that 2x2 table, written at three decimals it agrees (and 0.002 off it differs); the
    threshold under its `cohort analyze remission --threshold` name gives the same numbers as
    threshold_pct; a count has no p, so output p on it differs."""
    from scipy import stats

    from cohort.studies import reproduce

    m12 = {"visit": "month 12"}
    fisher = {"arm": "msc", "reference": "control", **m12}
    raw = _raw()
    raw["targets"] = [
        _t("remission_count", {"arm": "msc", **m12, "threshold": 10}, value=11, id="r1"),
        _t("remission_count", {"arm": "msc", **m12, "threshold_pct": 10}, value=11, id="r1o"),
        _t("remission_count", {"arm": "control", **m12, "threshold": 10}, value=0, id="r0"),
        _t("arm_size", {"arm": "msc"}, value=27, id="n1"),
        _t("arm_size", {"arm": "control"}, value=26, id="n0"),
        _t("remission_fisher", {**fisher, "threshold": 10}, output="p", value=0.5, id="fp"),
        _t("arm_size", {"arm": "msc"}, output="p", value=0.05, id="no_p"),
    ]
    raw["study"]["primary"] = ["r1"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    data = study_folder() / "lu2021" / "cohort"
    s = reproduce(spec, data=data).summary.set_index("target")
    r1, r0 = int(s.loc["r1", "reproduced_value"]), int(s.loc["r0", "reproduced_value"])
    n1, n0 = int(s.loc["r1", "n"]), int(s.loc["r0", "n"])
    assert r1 == 11 and s.loc["r1", "agreement"] == "agrees"
    assert s.loc["r1o", "reproduced_value"] == r1 and s.loc["r1o", "n"] == n1
    p = float(stats.fisher_exact([[r1, n1 - r1], [r0, n0 - r0]]).pvalue)
    assert s.loc["fp", "p"] == pytest.approx(p, rel=1e-12)
    assert s.loc["no_p", "agreement"] == "differs"
    assert "no p-value was obtained" in s.loc["no_p", "agreement_rule"]

    raw["targets"] = [
        _t("remission_fisher", {**fisher, "threshold": 10}, output="p", value=round(p, 3),
           decimals=3, id="fp_eq"),
        _t("remission_fisher", {**fisher, "threshold_pct": 10}, output="p",
           value=round(round(p, 3) + 0.002, 3), decimals=3, id="fp_off"),
    ]
    raw["study"]["primary"] = ["fp_eq"]
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    s = reproduce(spec, data=data).summary.set_index("target")
    assert s.loc["fp_eq", "agreement"] == "agrees"
    assert s.loc["fp_off", "agreement"] == "differs"

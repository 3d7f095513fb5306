"""Agreement rules, published/assumed inputs and the text forms, on hand-made cases."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cohort.spec import Target, spec_from_dict
from cohort.spec.inputs import target_inputs
from cohort.spec.registry import study_folder
from cohort.studies.agreement import judge, printed_unit
from cohort.studies.base import Reproduced
from cohort.studies.display import fmt_number, fmt_p, published_text, reproduced_text
from cohort.studies.recipes import COUNT_ANALYSES


def target(**kw) -> Target:
    base = {"id": "t", "analysis": "baseline_mean", "description": "d",
            "params": {"variable": "HBA1C"}, "source": "paper"}
    return Target.model_validate({**base, **kw})


def verdict(t: Target, **rep) -> tuple[str, str]:
    return judge(t, Reproduced(**rep), counts=COUNT_ANALYSES)


# ------------------------------------------------------------------ value rules


def test_printed_precision():
    t = target(value=8.2)  # printed with one decimal: half a unit is 0.05
    assert verdict(t, value=8.25) == ("agrees", "within 0.05 (printed precision)")
    assert verdict(t, value=8.15)[0] == "agrees"
    assert verdict(t, value=8.251)[0] == "differs"
    assert verdict(t, value=8.149)[0] == "differs"
    assert verdict(t, value=math.nan) == ("differs", "a reproduced value (none obtained)")


def test_explicit_decimals_set_the_tolerance():
    t = target(value=8.2, decimals=2)  # printed as 8.20
    assert verdict(t, value=8.204)[0] == "agrees"
    assert verdict(t, value=8.21)[0] == "differs"


def test_a_point_estimate_agrees_at_its_printed_precision_only():
    """The case of the issue: a published fall of 1.31 against a reproduced 1.50 whose 95% CI
    holds 1.31 is *compatible*, never *agrees*."""
    t = target(analysis="paired_t_change", params={"param": "HBA1C", "visit": "v"},
               value=-1.31)
    lax = verdict(t, value=-1.50, ci_lower=-1.9, ci_upper=-1.1)
    assert lax == ("compatible", "not within 0.005 (printed precision), but the published "
                   "value lies inside the reproduced 95% CI")
    assert verdict(t, value=-1.50, ci_lower=-1.6, ci_upper=-1.4)[0] == "differs"
    # at the printed precision it agrees, with or without an interval
    assert verdict(t, value=-1.314, ci_lower=-1.9, ci_upper=-0.7) == (
        "agrees", "within 0.005 (printed precision)")
    assert verdict(t, value=-1.316)[0] == "differs"


def test_a_stated_tolerance_needs_its_reason_and_is_used():
    t = target(value=8.2, tolerance={"value": 0.2, "reason": "computed from rounded means"})
    assert verdict(t, value=8.38) == (
        "agrees", "within 0.2 (stated tolerance: computed from rounded means)")
    assert verdict(t, value=8.41)[0] == "differs"
    with pytest.raises(ValueError, match="a tolerance needs its reason"):
        target(value=8.2, tolerance=0.2)
    with pytest.raises(ValueError, match=r"tolerance.reason\n|Field required|reason"):
        target(value=8.2, tolerance={"value": 0.2})


def test_unbounded_ci_and_medians_not_reached():
    t = target(analysis="km_median", params={}, value=31)
    assert verdict(t, value=40, ci_lower=24, ci_upper=math.inf)[0] == "compatible"
    assert verdict(t, value=40, ci_lower=32, ci_upper=math.inf)[0] == "differs"
    assert verdict(t, value=31.4, ci_lower=24, ci_upper=math.inf)[0] == "agrees"
    # "median > 120 months" published, median not reached reproduced: agrees
    above = target(analysis="km_median", params={}, value=120, comparison=">")
    assert verdict(above, value=math.inf, ci_lower=60, ci_upper=math.inf)[0] == "agrees"
    assert verdict(above, value=100, ci_lower=60, ci_upper=math.inf)[0] == "differs"
    # "median not reached" published
    nr = target(analysis="km_median", params={}, not_reached=True)
    assert verdict(nr, value=math.inf, ci_lower=60, ci_upper=math.inf) == (
        "agrees", "median not reached, as published")
    assert verdict(nr, value=70.0, ci_lower=60, ci_upper=math.inf)[0] == "differs"
    assert published_text(nr) == "median not reached"
    assert reproduced_text(Reproduced(value=math.inf), nr) == "not reached"


def test_counts_are_exact():
    t = target(analysis="arm_size", params={"arm": "a"}, value=16)
    assert verdict(t, value=16) == ("agrees", "equal count")
    assert verdict(t, value=15)[0] == "differs"
    # a count is compared exactly even when the analysis gives an interval
    assert verdict(t, value=15, ci_lower=10, ci_upper=20)[0] == "differs"


def test_one_sided_values():
    at_least = target(analysis="baseline_min", value=6.2, comparison=">=")
    assert verdict(at_least, value=6.15)[0] == "agrees"  # within the printed precision
    assert verdict(at_least, value=6.14)[0] == "differs"
    above = target(analysis="med_reduction_rate", params={}, value=0.5, comparison=">")
    assert verdict(above, value=0.5333) == ("agrees", "> 0.5")
    assert verdict(above, value=0.5)[0] == "differs"


def test_direction():
    t = target(analysis="logistic_or_direction", params={"predictor": "CPEP_FAST"}, value=-1)
    assert verdict(t, value=-9.4, ci_lower=-21, ci_upper=-0.9) == (
        "agrees", "same direction (sign of the log odds ratio)")
    assert verdict(t, value=0.3)[0] == "differs"
    assert verdict(t, value=0.0)[0] == "differs"
    assert verdict(t, value=math.nan)[0] == "differs"


def test_p_rules():
    below = target(analysis="remission_fisher",
                   params={"arm": "a", "reference": "b", "visit": "v"}, p=0.05,
                   p_comparison="<")
    assert verdict(below, p=0.0177) == ("agrees", "p < 0.05")
    assert verdict(below, p=0.05)[0] == "differs"
    assert verdict(below, value=3.0, p=math.nan) == (
        "differs", "p < 0.05 (no p-value was obtained)")
    equal = target(analysis="paired_t_change", params={"param": "HBA1C", "visit": "v"},
                   value=-1.55, p=0.0122)
    rule = "within 0.005 (printed precision) and p within 0.0001 (one printed unit)"
    assert verdict(equal, value=-1.55, ci_lower=-2.7, ci_upper=-0.4, p=0.01218) == (
        "agrees", rule)
    assert verdict(equal, value=-1.55, ci_lower=-2.7, ci_upper=-0.4, p=0.0124)[0] == "differs"
    # both checks must hold; the weakest verdict wins
    assert verdict(equal, value=-1.0, ci_lower=-1.2, ci_upper=-0.8, p=0.0122)[0] == "differs"
    assert verdict(equal, value=-1.4, ci_lower=-2.0, ci_upper=-0.8, p=0.0122)[0] == \
        "compatible"


def test_list_values():
    t = target(analysis="censored_durations", params={}, values=[80, 61, 42, 34])
    assert verdict(t, values=[80.2, 61.0, 41.6, 34.0])[0] == "agrees"
    assert verdict(t, values=[80.2, 61.0, 41.4, 34.0])[0] == "differs"
    assert verdict(t, values=[80, 61, 42])[0] == "differs"


def test_printed_unit():
    assert printed_unit(0.0122) == pytest.approx(1e-4)
    assert printed_unit(31) == 1
    assert printed_unit(2e-7) == pytest.approx(1e-7)


@given(est=st.floats(-1e3, 1e3), half=st.floats(1e-3, 1e3), off=st.floats(-3, 3))
def test_ci_containment_is_compatible_never_agreement(est, half, off):
    published = round(est + off * half, 2)
    t = target(analysis="ancova_ls_mean_diff",
               params={"param": "HBA1C", "visit": "v", "arm": "a", "reference": "b"},
               value=published, decimals=2)
    got, _ = verdict(t, value=est, ci_lower=est - half, ci_upper=est + half)
    close = abs(est - published) <= 0.005 + 1e-9
    inside = est - half - 1e-9 <= published <= est + half + 1e-9
    assert got == ("agrees" if close else "compatible" if inside else "differs")


# ------------------------------------------------------------------ inputs


def _raw(study: str) -> dict:
    return yaml.safe_load((study_folder() / study / "spec.yaml").read_text())


def _target(spec, target_id):
    return next(t for t in spec.targets if t.id == target_id)


def test_inputs_follow_the_marks_of_the_spec():
    raw = _raw("lu2021")
    spec = spec_from_dict(raw)
    fisher = _target(spec, "remission_vs_control")
    got = target_inputs(spec, fisher)
    assert got.basis == "mixed"
    assert got.assumed == ("outcomes.remission.counts.control",)
    # publish the control count and the test rests on published inputs only
    raw["outcomes"]["remission"]["counts"]["control"] = {"value": 3, "published": "a paper"}
    spec = spec_from_dict(raw)
    assert target_inputs(spec, _target(spec, "remission_vs_control")).basis == "published"
    # mark the whole remission block assumed: the published MSC count keeps its own mark
    raw["outcomes"]["remission"]["assumed"] = raw["outcomes"]["remission"].pop("published")
    spec = spec_from_dict(raw)
    got = target_inputs(spec, _target(spec, "remission_msc"))
    assert got.basis == "mixed"
    assert got.assumed == ("outcomes.remission",)
    assert got.published == ("outcomes.remission.counts.msc",)


def test_a_mean_rests_on_means_and_an_sd_on_sds():
    spec = spec_from_dict(_raw("couri2009"))
    # HbA1c at diagnosis: mean 10.9 published (Snarski 2016), SD assumed
    mean = target_inputs(spec, _target(spec, "hba1c_diagnosis"))
    assert mean.basis == "published"
    assert mean.published == ("baseline.variables.HBA1C.dist.all.mean",)
    sd = target(analysis="baseline_sd", value=1.0)
    assert target_inputs(spec, sd).basis == "assumed"


def test_stratum_sizes_count_as_inputs():
    spec = spec_from_dict(_raw("matsuoka2025"))
    got = target_inputs(spec, _target(spec, "change_all"))
    assert got.basis == "mixed"
    assert "design.arms[0].strata.severe.n" in got.assumed


def test_every_bundled_target_has_inputs():
    for folder in sorted(Path(study_folder()).iterdir()):
        if (folder / "spec.yaml").is_file():
            spec = spec_from_dict(_raw(folder.name))
            for t in spec.targets:
                got = target_inputs(spec, t)
                assert got.basis in ("published", "assumed", "mixed")
                assert got.published or got.assumed, (folder.name, t.id)


# ------------------------------------------------------------------ text


def test_published_text():
    assert published_text(target(analysis="ancova_ls_mean_diff",
                                 params={"param": "HBA1C", "visit": "v", "arm": "a",
                                         "reference": "b"},
                                 value=-0.4, se=0.2, p=0.05, p_comparison="<")) == \
        "-0.4 +- 0.2 (SE), p < 0.05"
    assert published_text(target(analysis="baseline_max", value=246000000,
                                 comparison="<=")) == "<= 246,000,000"
    assert published_text(target(value=7.5, ci=(7.1, 7.9))) == "7.5, 95% CI 7.1 to 7.9"


def test_reproduced_text():
    t = target(analysis="responder_fisher",
               params={"param": "HBA1C", "visit": "v", "arm": "a", "reference": "b",
                       "below": 7}, p=0.05, p_comparison="<")
    rep = Reproduced(value=math.inf, ci_lower=1.148, ci_upper=math.inf, p=0.017674)
    assert reproduced_text(rep, t) == "OR inf (95% CI 1.148 to inf), p = 0.018"
    assert reproduced_text(None, t) == "not computable"
    assert fmt_number(238000000.0) == "238,000,000"
    assert fmt_p(1.97e-7) == "p = 1.97e-07"

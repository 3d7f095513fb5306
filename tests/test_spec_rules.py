"""The study spec as data: its JSON Schema, bad specs named by key path (exit 2, nothing
written), the committed cohort's spec hash, primary endpoints, SEMs on fewer subjects, and the
insulin-independence targets on a cohort whose numbers are derived by hand from its spec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.errors import SpecError
from cohort.spec import spec_from_dict
from cohort.spec.registry import SPEC_HASH_FILE, spec_hash, study_folder
from cohort.spec.schema import SCHEMA_FILE, schema_text

LU = study_folder() / "lu2021" / "spec.yaml"


def _raw(study: str = "lu2021") -> dict:
    raw = yaml.safe_load((study_folder() / study / "spec.yaml").read_text(encoding="utf-8"))
    if study == "lu2021":  # its first 15 targets: a target added below is targets[15]
        raw["targets"] = raw["targets"][:15]
    return raw


# ------------------------------------------------------------------ the JSON Schema


def test_committed_schema_is_generated_from_the_models():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "cohort/spec/study_spec.schema.json is stale: run python -m cohort.spec.schema")


def test_every_bundled_spec_passes_the_schema_and_a_bad_key_does_not():
    import jsonschema

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    for path in sorted(study_folder().glob("*/spec.yaml")):
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path, [e.message for e in errors[:3]])
    raw = _raw()
    raw["targets"][0]["valeu"] = 27
    errors = list(validator.iter_errors(raw))
    assert [list(e.absolute_path) for e in errors] == [["targets", 0]]
    # an editor also checks the analysis and, for a cohort analyze request, its options
    raw = _raw()
    raw["targets"][0]["analysis"] = "hazard_ratio"
    raw["targets"][1].update(analysis="analyze survival", params={"group": "arm", "groop": 1})
    raw["targets"][2].update(analysis="analyze ancova", params={"visit": "month 3",
                                                                "visit-days": "91"})
    errors = list(validator.iter_errors(raw))
    assert sorted(list(e.absolute_path) for e in errors) == [
        ["targets", 0, "analysis"], ["targets", 1, "params"]]


# ------------------------------------------------------------------ bad specs


def _target(**kw) -> dict:
    return {"id": "t", "analysis": "arm_size", "description": "d", "params": {"arm": "msc"},
            "value": 27, "source": "paper", **kw}


BAD = [
    ("unknown analysis", lambda r: r["targets"].append(_target(analysis="hazard_ratio")),
     r"targets\[15\]\.analysis: unknown analysis 'hazard_ratio'; known analyses: "),
    ("unknown output", lambda r: r["targets"].append(_target(output="hazard")),
     r"targets\[15\]\.output: unknown output 'hazard' of arm_size; outputs: "
     r"estimate, ci_lower, ci_upper, p, n \(any column of a result table with `analysis: "
     r"analyze <command>`\)"),
    ("parameter not taken", lambda r: r["targets"].append(_target(params={"arm": "msc",
                                                                          "visit": "month 12"})),
     r"targets\[15\]: Value error, target 't' \(arm_size\): unknown params visit; allowed: arm"
     r"|unknown params visit; allowed: arm, among"),
    ("undeclared variable", lambda r: r["targets"].append(_target(
        params={"arm": "msc", "among": {"variable": "dka_at_diagnosis", "equals": True}})),
     r"targets\[15\] \(t\)\.params\.among: condition on undeclared variable "
     r"'dka_at_diagnosis' \(declare"),
    ("primary not a target", lambda r: r["study"].update(primary=["remission_1y"]),
     r"study\.primary\[0\]: 'remission_1y' is not the id of a target"),
    ("tolerance without reason", lambda r: r["targets"].append(_target(tolerance=0.5)),
     r"targets\[15\]\.tolerance: a tolerance needs its reason"),
    ("sem on more subjects than the arm", lambda r: r["baseline"]["variables"]["HBA1C"].update(
        dist={"msc": {"mean": 8.8, "sem": 0.4, "sem_n": 30}, "control": {"mean": 8.8,
                                                                       "sd": 2.0}}),
     r"baseline\.variables\.HBA1C\.dist\.msc\.sem_n: the SEM was computed on 30 subjects, more "
     r"than the group's n = 27"),
]


@pytest.mark.parametrize(("name", "edit", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_spec_names_the_key_path(name, edit, message):
    raw = _raw()
    edit(raw)
    with pytest.raises(SpecError, match=message):
        spec_from_dict(raw)


def test_an_unquoted_comma_in_a_flow_mapping_is_named(tmp_path):
    text = LU.read_text(encoding="utf-8") + (
        "  - {id: extra, analysis: arm_size, description: d, params: {arm: msc}, value: 27, "
        "source: Lu 2021 (abstract, page 2)}\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["reproduce", str(spec), "--out", str(out)])
    assert res.exit_code == 2
    n = len(yaml.safe_load(LU.read_text(encoding="utf-8"))["targets"])  # the one added
    assert (f"targets[{n}]: 'page 2)' is not a key: it looks like the rest of a text cut at "
            "an unquoted comma inside a {...} flow mapping") in " ".join(res.output.split())
    assert "check the spelling" not in res.output
    assert not out.exists()


# ------------------------------------------------------------------ the committed cohort


def test_a_committed_cohort_made_from_another_spec_is_regenerated_and_says_so(tmp_path):
    folder = tmp_path / "lu2021"
    shutil.copytree(LU.parent, folder)
    recorded = (folder / "cohort" / SPEC_HASH_FILE).read_text().split()[0]
    assert recorded == spec_hash(spec_from_dict(_raw()))
    # a target or a citation does not change what the cohort is made from
    text = (folder / "spec.yaml").read_text(encoding="utf-8")
    (folder / "spec.yaml").write_text(text.replace("title: One repeated", "title: A repeated"),
                                      encoding="utf-8")
    res = CliRunner().invoke(app, ["reproduce", str(folder / "spec.yaml"), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "(committed, seed 340)" in json.loads(res.stdout)["data"]
    # a distribution does
    (folder / "spec.yaml").write_text(text.replace("all: {mean: 8.8, sd: 2.0}",
                                                   "all: {mean: 9.1, sd: 2.0}"),
                                      encoding="utf-8")
    res = CliRunner().invoke(app, ["reproduce", str(folder / "spec.yaml"), "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)["data"]
    assert "was made from another version of the spec" in data
    assert "regenerated from the spec as it is now" in data
    assert "regenerated from the spec as it is now" in res.stderr


# ------------------------------------------------------------------ primary endpoints


def test_a_primary_endpoint_that_cannot_be_computed_heads_the_output(tmp_path):
    from cohort.studies import reproduce

    raw = _raw()
    raw["targets"].append({"id": "pp_cpep_auc", "analysis": "paired_t_change",
                           "description": "change in C-peptide AUC", "source": "paper",
                           "params": {"param": "CPEP_AUC", "visit": "month 12"}, "value": 0.1})
    raw["study"]["primary"] = ["pp_cpep_auc", "remission_rate_msc"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    res = reproduce(spec, data=study_folder() / "lu2021" / "cohort")
    head = res.headline()
    assert head[0].startswith("primary endpoint pp_cpep_auc (change in C-peptide AUC): NOT "
                              "COMPUTABLE: the cohort has no CPEP_AUC measurements")
    assert head[1].startswith("primary endpoint remission_rate_msc")
    assert head[2] == ("independent targets: 5 of 6 agree, 0 compatible (published value "
                       "inside the reproduced CI only), 0 differ, 1 not computable")
    assert head[3].startswith("calibrated targets (inputs read back): 10 of 10 agree")
    text = CliRunner().invoke(app, ["reproduce", str(spec), "--data",
                                    str(study_folder() / "lu2021" / "cohort")],
                              env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    lines = [ln for ln in text.stdout.splitlines() if ln.strip()]
    first = next(i for i, ln in enumerate(lines) if ln.startswith("data: "))
    assert lines[first + 1].startswith("primary endpoint pp_cpep_auc")


# ------------------------------------------------------------------ SEM on fewer subjects


def test_sem_with_the_n_it_was_computed_on():
    from cohort.synth.draw import normal_params

    raw = _raw()
    raw["baseline"]["variables"]["HBA1C"]["dist"] = {
        "msc": {"mean": 8.8, "sem": 0.4, "sem_n": 16}, "control": {"mean": 8.8, "sem": 0.4}}
    spec = spec_from_dict(raw)
    dists = spec.baseline.variables["HBA1C"].dist
    assert normal_params(dists["msc"], 27) == pytest.approx((8.8, 0.4 * 4))
    assert normal_params(dists["control"], 26) == pytest.approx((8.8, 0.4 * 26 ** 0.5))


# ------------------------------------------------------------------ insulin-free targets




def _request(analysis: str, params: dict, **kw) -> dict:
    return {"id": "x", "analysis": analysis, "description": "d", "params": params,
            "source": "hand", **kw}


def test_insulin_free_targets_derived_by_hand_from_the_spec(tmp_path):
    """snarski2016's 20 episodes have the durations its spec lists (16 resumed: 9.5, 12, 14,
    16, 18, 20, 23, 25, 27, 29, 33, 36, 40, 45, 50, 56 months; 4 censored: 34, 42, 61, 80),
    all starting within 2 months of day 0. So, by hand: 20 of 23 insulin-free; 4 still
    insulin-free at last contact (4/23); Kaplan-Meier at 24 months 13/20 = 0.65 (7 events
    before, no censoring); the median observed duration is the mean of the 10th and 11th
    (29 and 33: 31); the mean observed duration 670.5 / 20 = 33.525 months."""
    from cohort.studies import reproduce

    raw = _raw("snarski2016")
    raw["targets"] = [
        _request("insulin_free_rate", {"arm": "ahsct"}, value=0.87, id="rate"),
        _request("insulin_free_rate", {"at_last_contact": True}, value=0.174, id="still"),
        _request("insulin_free_count", {"started_within_months": 2}, value=20, id="early"),
        _request("insulin_free_count", {"started_after_months": 2}, value=0, id="late"),
        _request("km_landmark", {"months": 24, "episode": 1}, value=0.65, id="km24"),
        _request("km_landmark", {"months": 24}, value=0.65, id="km24_lo",
                 output="ci_lower"),
        _request("insulin_free_duration_median", {}, value=31, id="median"),
        _request("insulin_free_duration_mean", {}, value=33.5, id="mean"),
        _request("km_median", {"episode": 1}, value=30, comparison=">", id="km_gt"),
        _request("km_landmark", {"months": 120}, value=0.5, id="beyond"),
    ]
    raw["study"]["primary"] = ["rate"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    s = reproduce(spec, data=study_folder() / "snarski2016" / "cohort").summary
    s = s.set_index("target")
    assert s.loc["rate", "reproduced_value"] == pytest.approx(20 / 23)
    assert s.loc["rate", "agreement"] == "agrees"
    assert s.loc["still", "reproduced_value"] == pytest.approx(4 / 23)
    assert s.loc["early", "reproduced_value"] == 20 and s.loc["late", "reproduced_value"] == 0
    assert s.loc["km24", "reproduced_value"] == pytest.approx(0.65, abs=1e-12)
    assert s.loc["km24", "ci_lower"] < 0.65 < s.loc["km24", "ci_upper"]
    # the published value is a CI bound here: compared with the reproduced lower bound
    assert s.loc["km24_lo", "agreement"] == "differs"
    assert s.loc["median", "reproduced_value"] == pytest.approx(31, abs=0.05)
    assert s.loc["mean", "reproduced_value"] == pytest.approx(33.525, abs=0.05)
    assert s.loc["mean", "agreement"] == "agrees"
    assert s.loc["km_gt", "agreement"] == "agrees"
    assert s.loc["beyond", "agreement"] == "not computable"
    assert "beyond the longest follow-up" in s.loc["beyond", "reason"]
    assert set(s["kind"]) == {"independent"}


def test_the_spec_docs_list_every_analysis():
    from cohort.spec import ANALYSES

    text = (Path(__file__).parents[1] / "docs" / "spec.md").read_text(encoding="utf-8")
    missing = [a for a in ANALYSES if f"`{a}`" not in text and
               f"`_{a.rsplit('_', 1)[-1]}`" not in text]
    assert missing == []


# ------------------------------------------------------------------ rank tests and quantiles


def test_rank_tests_exact_by_hand():
    from cohort.studies.recipes_rank import signed_rank, two_sample_rank

    # five changes of one sign: the exact two-sided signed-rank p is 2 / 2^5
    assert signed_rank([-0.5, -0.2, -1.1, -0.3, -0.9]) == pytest.approx((-0.5, 2 / 32))
    # three values all above three others: exact two-sided Mann-Whitney p is 2 / C(6, 3)
    assert two_sample_rank([5, 6, 7], [1, 2, 3]) == pytest.approx((4.0, 2 / 20))


def test_rank_and_quantile_targets_on_a_cohort(tmp_path):
    """The recipes pass the visit's changes to the tests: checked against the changes taken
    from the cohort tables directly (scipy as the reference of the statistics)."""
    from scipy import stats

    from cohort import load_cohort
    from cohort.derive.change import change_from_baseline
    from cohort.derive.visit_windows import make_visits
    from cohort.studies import reproduce

    raw = _raw()
    raw["targets"] = [
        _request("wilcoxon_change", {"param": "HBA1C", "visit": "month 12", "arm": "msc"},
                 p=0.05, p_comparison="<", id="wil"),
        _request("mannwhitney_change", {"param": "HBA1C", "visit": "month 12", "arm": "msc",
                                        "reference": "control"}, p=0.05, p_comparison="<",
                 id="mw"),
        _request("quantile_by_visit", {"param": "HBA1C", "visit": "month 12", "arm": "msc",
                                       "quantile": 0.75}, value=8, id="q3"),
        _request("subgroup_diff", {"param": "HBA1C", "visit": "month 12", "arm": "msc",
                                   "reference": "control"}, p=0.05, p_comparison="<",
                 id="welch"),
    ]
    raw["study"]["primary"] = ["wil"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    folder = study_folder() / "lu2021" / "cohort"
    s = reproduce(spec, data=folder).summary.set_index("target")
    c = load_cohort(folder)
    days = [91, 182, 274, 365]
    visit = make_visits(days, labels=[f"month {m}" for m in (3, 6, 9, 12)])[-1]
    ch = change_from_baseline(c.measurements, "HBA1C", [visit], subjects=c.subjects)
    arm = c.subjects.set_index("subject_id")["arm"].astype(str)
    ch = ch.assign(arm=ch["subject_id"].astype(str).map(arm)).dropna(subset=["change"])
    x = ch.loc[ch["arm"] == "UC-MSC", "change"].to_numpy(float)
    y = ch.loc[ch["arm"] == "standard care", "change"].to_numpy(float)
    assert s.loc["wil", "p"] == pytest.approx(stats.wilcoxon(x).pvalue, rel=1e-12)
    assert s.loc["wil", "reproduced_value"] == pytest.approx(float(np.median(x)))
    assert s.loc["mw", "p"] == pytest.approx(
        stats.mannwhitneyu(x, y, alternative="two-sided").pvalue, rel=1e-12)
    welch = stats.ttest_ind(x, y, equal_var=False)
    assert s.loc["welch", "p"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert s.loc["welch", "reproduced_value"] == pytest.approx(x.mean() - y.mean(), rel=1e-12)
    values = ch.loc[ch["arm"] == "UC-MSC", "value"].to_numpy(float)
    assert s.loc["q3", "reproduced_value"] == pytest.approx(np.quantile(values, 0.75))


def test_composite_baseline_relative_responders_with_the_wald_risk_difference(tmp_path):
    """HbA1c < 7% AND insulin dose reduced by >= 50% of the subject's own baseline, at month
    12: the counts are re-derived from the tables, the Wald interval by its formula."""
    from cohort import load_cohort
    from cohort.derive.change import change_from_baseline
    from cohort.derive.visit_windows import make_visits
    from cohort.studies import reproduce

    crit = ["HBA1C < 7", "INSULIN_DOSE pct_change <= -50"]
    base = {"criterion": crit, "visit": "month 12", "arm": "msc"}
    raw = _raw()
    raw["targets"] = [
        _request("responders", {**base, "measure": "count"}, value=3, id="x1"),
        _request("responders", {**base, "arm": "control", "measure": "count"}, value=0,
                 id="x2"),
        _request("responders", {**base, "reference": "control",
                                "measure": "risk_difference"}, value=0.1, id="rd"),
    ]
    raw["study"]["primary"] = ["rd"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    folder = study_folder() / "lu2021" / "cohort"
    s = reproduce(spec, data=folder).summary.set_index("target")
    c = load_cohort(folder)
    visit = make_visits([91, 182, 274, 365],
                        labels=[f"month {m}" for m in (3, 6, 9, 12)])[-1]
    hb = change_from_baseline(c.measurements, "HBA1C", [visit], subjects=c.subjects)
    ins = change_from_baseline(c.measurements, "INSULIN_DOSE", [visit], subjects=c.subjects)
    both = hb.merge(ins, on="subject_id", suffixes=("_hb", "_ins")).dropna(
        subset=["value_hb", "pct_change_ins"])
    arm = c.subjects.set_index("subject_id")["arm"].astype(str)
    both = both.assign(arm=both["subject_id"].astype(str).map(arm),
                       hit=(both["value_hb"] < 7) & (both["pct_change_ins"] <= -50))
    x = both.groupby("arm")["hit"].sum()
    n = both.groupby("arm")["hit"].size()
    assert s.loc["x1", "reproduced_value"] == x["UC-MSC"] and s.loc["x1", "n"] == n["UC-MSC"]
    assert s.loc["x2", "reproduced_value"] == x["standard care"]
    p1, p2 = x["UC-MSC"] / n["UC-MSC"], x["standard care"] / n["standard care"]
    half = 1.959963984540054 * np.sqrt(p1 * (1 - p1) / n["UC-MSC"]
                                       + p2 * (1 - p2) / n["standard care"])
    assert s.loc["rd", "reproduced_value"] == pytest.approx(p1 - p2, rel=1e-12)
    assert s.loc["rd", "ci_lower"] == pytest.approx(p1 - p2 - half, rel=1e-9)
    assert s.loc["rd", "ci_upper"] == pytest.approx(p1 - p2 + half, rel=1e-9)
    # both criteria rest on the assumed HbA1c and insulin trajectories (and baselines)
    assert s.loc["rd", "inputs"] == "assumed"
    assert "outcomes.trajectories.INSULIN_DOSE" in s.loc["rd", "assumed_inputs"]


def test_insulin_and_hba1c_in_their_published_units(tmp_path):
    """An insulin dose in IU/day is the IU/kg/day dose times the subject's weight; HbA1c in
    mmol/mol by the IFCC-NGSP master equation: both re-derived from the tables."""
    from cohort import load_cohort
    from cohort.derive.baseline import baseline_values
    from cohort.studies import reproduce

    raw = _raw()
    raw["targets"] = [
        _request("baseline_mean", {"variable": "INSULIN_DOSE", "unit": "IU/day"}, value=33,
                 id="ins"),
        _request("baseline_median", {"variable": "HBA1C", "unit": "mmol/mol"}, value=70,
                 id="a1c"),
    ]
    raw["study"]["primary"] = ["ins"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    folder = study_folder() / "lu2021" / "cohort"
    s = reproduce(spec, data=folder).summary.set_index("target")
    c = load_cohort(folder)
    weight = c.subjects.set_index("subject_id")["weight_kg"].astype(float)
    ins = baseline_values(c.measurements, "INSULIN_DOSE", subjects=c.subjects)
    iu_day = ins["baseline"].to_numpy(float) * ins["subject_id"].map(weight).to_numpy(float)
    assert s.loc["ins", "reproduced_value"] == pytest.approx(np.nanmean(iu_day), rel=1e-12)
    a1c = baseline_values(c.measurements, "HBA1C", subjects=c.subjects)["baseline"]
    assert s.loc["a1c", "reproduced_value"] == pytest.approx(
        float(np.median(10.929 * (a1c.to_numpy(float) - 2.15))), rel=1e-12)
    raw["targets"].append(_request("baseline_mean", {"variable": "HBA1C", "unit": "mg/dL"},
                                   value=1, id="bad"))
    with pytest.raises(SpecError, match=r"targets\[2\] \(bad\)\.params\.unit: HBA1C cannot "
                                        r"be given in 'mg/dL'; its units are %, mmol/mol"):
        spec_from_dict(raw)


def test_time_to_another_event_with_its_own_label(tmp_path):
    """voltarelli2007: one bilateral pneumonia (onset day 3-20) among 15 subjects followed at
    least 7 months: free of it at 1 month 14/15 by hand; the median is not reached."""
    from cohort.studies import reproduce

    raw = _raw("voltarelli2007")
    raw["targets"] = [
        _request("km_event", {"term": "Bilateral pneumonia", "months": 1,
                              "label": "pneumonia"}, value=0.933, id="free1"),
        _request("km_event", {"term": "bilateral pneumonia"}, not_reached=True, id="median"),
        _request("km_event", {"term": "bilateral pneumonia"}, value=120, comparison=">",
                 id="above"),
        # a subgroup by the spec's declared subject variable (validated like a contract column)
        _request("arm_size", {"arm": "ahsct", "among": {"variable": "prior_dka",
                                                        "equals": False}},
                 value=14, id="no_dka"),
    ]
    raw["study"]["primary"] = ["free1"]
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    s = reproduce(spec, data=study_folder() / "voltarelli2007" / "cohort").summary
    s = s.set_index("target")
    assert s.loc["free1", "reproduced_value"] == pytest.approx(14 / 15, abs=1e-12)
    assert s.loc["free1", "agreement"] == "agrees"
    assert "first pneumonia (1 events" in s.loc["free1", "method"]
    assert s.loc["median", "reproduced"] == "not reached"
    assert s.loc["median", "agreement"] == "agrees"
    assert s.loc["above", "agreement"] == "agrees"
    assert s.loc["free1", "inputs"] == "published"  # the adverse-event entry
    assert s.loc["no_dka", "reproduced_value"] == 14 and s.loc["no_dka", "agreement"] == "agrees"


def test_the_spec_docs_examples_are_valid_spec_parts():
    """Every YAML example of docs/spec.md parses; the ones that are whole parts of a spec
    validate against its models."""
    import re

    from cohort.spec.blocks import Condition
    from cohort.spec.design import Design, Study, Visits
    from cohort.spec.targets import Target

    text = (Path(__file__).parents[1] / "docs" / "spec.md").read_text(encoding="utf-8")
    blocks = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    parts = {next(iter(b)): b for b in blocks if isinstance(b, dict)}
    Study.model_validate(parts["study"]["study"])
    Design.model_validate(parts["design"]["design"])
    Visits.model_validate({k: v for k, v in parts["visits"]["visits"].items()
                           if k != "schedule"})
    targets = [t for b in blocks if isinstance(b, dict) and "targets" in b
               for t in b["targets"]]
    assert len(targets) >= 8
    for t in targets:
        Target.model_validate(t)
    conditions = next(b for b in blocks if isinstance(b, list))
    assert [Condition.model_validate(c).variable for c in conditions] == [
        "age_at_diagnosis_years", None, "remission"]

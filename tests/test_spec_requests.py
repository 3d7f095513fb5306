"""Targets that are `cohort analyze` requests (`analysis: analyze <command>`): any output of any
command, by the command's option names, visits by their spec label, read from the command's
own JSON result.

References: R (survival::coxph and survfit on tests/fixtures/spec_requests/cohort, script
requests.R beside it; lm + emmeans on the frozen skyler2015 cohort, tests/fixtures/reproduce/
reproduce.R; nlme::gls + emmeans for the MMRM, tests/fixtures/mmrm/skyler2015_gls.R).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from cohort.errors import SpecError
from cohort.spec import spec_from_dict
from cohort.spec.registry import study_folder
from cohort.spec.requests import CATALOGUE_FILE
from cohort.spec.targets import Target
from cohort.studies import reproduce_cohort
from cohort.validation import load_cohort

FIX = Path(__file__).parent / "fixtures"
R = pd.read_csv(FIX / "spec_requests" / "requests_r.csv").set_index("quantity")["value"]
REPRO_R = pd.read_csv(FIX / "reproduce" / "reproduce_r.csv")
GLS = json.loads((FIX / "mmrm" / "skyler2015_gls.json").read_text())


def _t(tid: str, analysis: str, params: dict, **kw) -> dict:
    return {"id": tid, "analysis": analysis, "description": tid, "params": params,
            "source": "hand", **kw}


def _raw(study: str) -> dict:
    return yaml.safe_load((study_folder() / study / "spec.yaml").read_text(encoding="utf-8"))


def _run(study: str, folder: Path, targets: list[dict]) -> pd.DataFrame:
    raw = _raw(study)
    raw["targets"] = targets
    raw["study"]["primary"] = [targets[0]["id"]]
    spec = spec_from_dict(raw)
    return reproduce_cohort(spec, load_cohort(folder)).summary.set_index("target")


def _r(target: str, quantity: str) -> float:
    rows = REPRO_R[(REPRO_R["target"] == target) & (REPRO_R["quantity"] == quantity)]
    return float(rows["value"].iloc[0])


# ------------------------------------------------------------------ Cox, KM: survival

COX = {"param": "TTRESC", "group": "arm", "reference": "control"}


@pytest.fixture(scope="module")
def cox() -> pd.DataFrame:
    row = {"covariate": "arm"}
    return _run("lu2021", FIX / "spec_requests" / "cohort", [
        _t("hr", "analyze survival", COX, table="cox", row=row, value=0.35, decimals=2),
        _t("hr_lo", "analyze survival", COX, table="cox", row=row, output="ci_lower",
           value=0.18),
        _t("hr_hi", "analyze survival", COX, table="cox", row=row, output="ci_upper",
           value=0.67),
        _t("hr_p", "analyze survival", COX, table="cox", row=row, output="p", value=0.01,
           comparison="<"),
        _t("lr_p", "analyze survival", COX, table="cox_tests",
           row={"test": "likelihood_ratio"}, output="p", value=0.0013, decimals=4),
        _t("hr_off", "analyze survival", COX, table="cox", row=row, value=0.45),
        _t("events", "analyze survival", COX, table="cox", row=row, output="n_events",
           value=39),
        _t("med_sc", "analyze survival", {**COX, "time-unit": "days"},
           row={"group": "control"}, value=99.5),
        _t("med_msc", "analyze survival", {**COX, "time-unit": "days"},
           row={"group": "msc"}, value=188),
    ])


def test_cox_hazard_ratio_ci_and_p_against_R(cox):
    assert cox.loc["hr", "reproduced_value"] == pytest.approx(R["cox_hr"], rel=1e-9)
    assert cox.loc["hr", "ci_lower"] == pytest.approx(R["cox_hr_lower"], rel=1e-9)
    assert cox.loc["hr", "ci_upper"] == pytest.approx(R["cox_hr_upper"], rel=1e-9)
    assert cox.loc["hr", "p"] == pytest.approx(R["cox_p"], rel=1e-9)
    assert cox.loc["hr", "agreement"] == "agrees"
    assert cox.loc["hr_lo", "reproduced_value"] == pytest.approx(R["cox_hr_lower"], rel=1e-9)
    assert cox.loc["hr_hi", "reproduced_value"] == pytest.approx(R["cox_hr_upper"], rel=1e-9)
    assert (cox.loc[["hr_lo", "hr_hi", "hr_p"], "agreement"] == "agrees").all()
    assert cox.loc["lr_p", "p"] == pytest.approx(R["cox_lr_p"], rel=1e-9)
    assert cox.loc["lr_p", "agreement"] == "agrees"
    # the published column says which output a number is
    assert cox.loc["hr_p", "published"] == "p < 0.01"
    assert cox.loc["hr_lo", "published"] == "ci_lower = 0.18"
    assert cox.loc["hr", "published"] == "0.35"
    assert "cohort analyze survival" in cox.loc["hr", "method"]
    assert "--reference=standard care" in cox.loc["hr", "method"]  # spec arm -> cohort label


def test_a_hazard_ratio_off_by_more_than_its_precision_is_compatible_not_agrees(cox):
    # 0.45 is 0.10 from 0.348 but inside its 95% CI 0.180 to 0.671
    assert cox.loc["hr_off", "agreement"] == "compatible"


def test_counts_of_a_request_compare_exactly_and_medians_by_group_against_R(cox):
    assert cox.loc["events", "reproduced_value"] == 39
    assert cox.loc["events", "agreement_rule"] == "equal count"
    assert cox.loc["med_sc", "reproduced_value"] == R["km_median_days_standard"]
    assert cox.loc["med_msc", "reproduced_value"] == R["km_median_days_msc"]
    assert (cox.loc[["med_sc", "med_msc"], "agreement"] == "agrees").all()


# ------------------------------------------------------------------ visits by spec label


def test_ancova_and_mmrm_rows_by_visit_label_against_R():
    week8 = {"kind": "vs_reference", "arm": "mpc_2.0", "visit": "week 8"}
    s = _run("skyler2015", FIX / "reproduce" / "skyler2015", [
        _t("ls", "analyze ancova", {"visit": "week 8"}, row={**week8, "model": "ancova"},
           value=-0.42),
        _t("ls_lo", "analyze ancova", {"visit": "week 8", "reference": "placebo"},
           row={**week8, "model": "ancova"}, output="ci_lower", value=-0.81),
    ])
    assert s.loc["ls", "reproduced_value"] == pytest.approx(_r("ls_diff_w8_top", "estimate"),
                                                            rel=1e-9)
    assert s.loc["ls", "ci_lower"] == pytest.approx(_r("ls_diff_w8_top", "ci_lower"), rel=1e-9)
    assert s.loc["ls", "p"] == pytest.approx(_r("ls_diff_w8_top", "p"), rel=1e-8)
    assert s.loc["ls", "agreement"] == "agrees"
    assert s.loc["ls_lo", "agreement"] == "agrees"
    assert "--visit-days=7,56,84" in s.loc["ls", "method"]  # the spec's whole schedule

    m = _run("skyler2015", study_folder() / "skyler2015" / "cohort", [
        _t("mmrm_w8", "analyze mmrm", {"visit": "week 8"}, row=week8, value=-0.4,
           tolerance={"value": 0.05, "reason": "test"}),
    ])
    r = next(x for x in GLS["vs_placebo"]
             if x["visit"] == "day 56" and x["contrast"].startswith("(MPC 2.0"))
    assert m.loc["mmrm_w8", "reproduced_value"] == pytest.approx(r["estimate"], rel=1e-6)


# ------------------------------------------------------------------ bad requests


@pytest.mark.parametrize(("target", "message"), [
    (_t("x", "analyze nosuch", {}, value=1), "unknown analysis 'analyze nosuch'"),
    (_t("x", "analyze survival", {"groop": "arm"}, value=1),
     "has no option --groop"),
    (_t("x", "analyze survival", {"time_unit": "days"}, value=1),
     "the option is --time-unit: write time-unit"),
    (_t("x", "analyze survival", {"plot": "a.png"}, value=1),
     "cannot set where output goes"),
    (_t("x", "analyze survival", {"interval": "yes"}, value=1), "on/off switch"),
    (_t("x", "analyze ancova", {"visit": "week 99"}, value=1), "unknown visit 'week 99'"),
    (_t("x", "analyze ancova", {"visit": "week 8", "visit-days": "56"}, value=1),
     "two ways to give the visit"),
    (_t("x", "analyze survival", {}, output="hazard ratio", value=1),
     "output and table name a column"),
    (_t("x", "arm_size", {"arm": "placebo"}, output="hazard_ratio", value=1),
     "unknown output 'hazard_ratio'"),
])
def test_a_bad_request_is_refused_when_the_spec_is_read(target, message):
    raw = _raw("skyler2015")
    raw["targets"] = [target]
    raw["study"]["primary"] = ["x"]
    with pytest.raises(SpecError, match=message) as info:
        spec_from_dict(raw)
    assert "targets[0]" in str(info.value)


def test_an_output_the_result_lacks_is_a_spec_error_with_the_key_path():
    raw = _raw("skyler2015")
    raw["targets"] = [_t("x", "analyze ancova", {"visit": "week 8"}, output="hazard_ratio",
                         row={"kind": "vs_reference", "arm": "mpc_2.0", "model": "ancova"},
                         value=1)]
    raw["study"]["primary"] = ["x"]
    spec = spec_from_dict(raw)
    with pytest.raises(SpecError, match=r"targets\[0\] \(x\): .*no column 'hazard_ratio'"):
        reproduce_cohort(spec, load_cohort(FIX / "reproduce" / "skyler2015"))


def test_the_catalogue_is_the_command_line():
    """analyze_commands.json is generated from `cohort analyze` (python -m cohort.spec.schema):
    a renamed or new option fails here until it is regenerated."""
    from cohort.spec.schema import catalogue_text

    assert CATALOGUE_FILE.read_text(encoding="utf-8") == catalogue_text(), (
        "the cohort analyze options changed: run `python -m cohort.spec.schema`")


def test_a_refused_option_value_is_a_spec_error_and_a_data_problem_not_computable():
    raw = _raw("skyler2015")
    raw["targets"] = [
        _t("nodata", "analyze survival", {"param": "NOSUCH"}, table="cox", value=1),
        _t("bad_ci", "analyze ancova", {"visit": "week 8", "ci": "bogus"}, value=1),
    ]
    raw["study"]["primary"] = ["nodata"]
    cohort = load_cohort(FIX / "reproduce" / "skyler2015")
    with pytest.raises(SpecError, match=r"targets\[1\] \(bad_ci\): `cohort analyze ancova "
                                        r".*refuses its options: .*bogus"):
        reproduce_cohort(spec_from_dict(raw), cohort)
    raw["targets"] = raw["targets"][:1]
    s = reproduce_cohort(spec_from_dict(raw), cohort).summary.set_index("target")
    assert s.loc["nodata", "agreement"] == "not computable"
    assert "NOSUCH" in s.loc["nodata", "reason"]


def test_a_cohort_whose_folder_is_gone_is_written_once_for_the_command(tmp_path):
    """A synthetic cohort of another seed is read from a temporary folder that is gone when
    its targets are computed: the request writes the cohort's tables to a folder of its own
    (removed afterwards) and gets R's hazard ratio all the same."""
    import shutil

    copy = tmp_path / "cohort"
    shutil.copytree(FIX / "spec_requests" / "cohort", copy)
    cohort = load_cohort(copy)
    shutil.rmtree(copy)
    raw = _raw("lu2021")
    raw["targets"] = [_t("hr", "analyze survival", COX, table="cox",
                         row={"covariate": "arm"}, value=0.35)]
    raw["study"]["primary"] = ["hr"]
    s = reproduce_cohort(spec_from_dict(raw), cohort).summary.set_index("target")
    assert s.loc["hr", "reproduced_value"] == pytest.approx(R["cox_hr"], rel=1e-9)
    assert not copy.exists()


def test_a_visit_label_the_cohort_carries_itself_against_R():
    """An ADaM package (tests/data/adam: AVISIT labels, ABLFL baseline, ANL01FL records): the
    spec's visit 'Week 24' is passed on as --visit, the ITT population as --population, and
    the LS-mean difference is R's (tests/fixtures/adam/ancova_week24.R)."""
    r = pd.read_csv(FIX / "adam" / "ancova_week24_r.csv").set_index("kind").loc["vs_reference"]
    marked = {"assumed": "a spec for the test"}
    raw = {
        "study": {"id": "cht204", "title": "CHT-204", "citation": "fictional ADaM package",
                  "diabetes_type": "T2D", "seed": 1, "id_prefix": "CHT", "primary": ["ls24"]},
        "design": {"arms": [
            {"name": "cohortide", "label": "Cohortide 1 mg", "n": 20, "control": True, **marked},
            {"name": "sitagliptin", "label": "Sitagliptin 100 mg", "n": 20, "control": True,
             **marked}],
            "follow_up": {"months": {"dist": "constant", "value": 6}, **marked}},
        "visits": {"baseline": {"label": "Baseline", "day": 0}, **marked,
                   "schedule": [{"label": "Week 4", "day": 28}, {"label": "Week 12", "day": 84},
                                {"label": "Week 24", "day": 168}]},
        "baseline": {"variables": {"age_years": {"dist": {"all": {"mean": 55, "sd": 8}},
                                                 **marked}},
                     "categories": {"sex": {"levels": ["F", "M"], **marked,
                                            "proportions": {"all": {"F": 0.5, "M": 0.5}}}}},
        "targets": [_t("ls24", "analyze ancova", {"visit": "Week 24", "reference": "sitagliptin",
                                                  "population": "ITT"},
                       row={"kind": "vs_reference", "arm": "cohortide"}, value=-0.45)],
    }
    data = Path(__file__).parent / "data" / "adam"
    cohort = load_cohort(data, mapping=str(data / "mapping.yaml"))
    s = reproduce_cohort(spec_from_dict(raw), cohort).summary.set_index("target")
    assert s.loc["ls24", "reproduced_value"] == pytest.approx(r["estimate"], rel=1e-9)
    assert s.loc["ls24", "ci_lower"] == pytest.approx(r["ci_lower"], rel=1e-9)
    assert s.loc["ls24", "p"] == pytest.approx(r["p"], rel=1e-6)
    assert s.loc["ls24", "n"] == r["n"] == 33
    assert "--visit=Week 24" in s.loc["ls24", "method"]
    assert s.loc["ls24", "agreement"] == "agrees"


def test_a_cohort_read_from_a_workbook_is_analysed_from_that_workbook(tmp_path):
    """The command reads what the cohort was read from: a workbook file too (not a copy)."""
    from types import SimpleNamespace

    from cohort.studies.context import StudyContext

    book = tmp_path / "cohort.xlsx"
    book.write_bytes(b"")
    read = SimpleNamespace(path=str(book), mapping="my_mapping.yaml",
                           provenance={"subjects": SimpleNamespace(sources=("cohort.xlsx",))})
    ctx = StudyContext(spec_from_dict(_raw("lu2021")), read)  # type: ignore[arg-type]
    assert ctx.analysis_folder() == (book, "my_mapping.yaml")
    ctx.close()


def test_a_command_judged_at_one_visit_gets_that_visits_day_against_R():
    """cohort analyze remission takes one visit day: 'month 12' becomes --visit-days=365, and
    the remission counts and Fisher p are R's (tests/fixtures/reproduce/reproduce.R)."""
    s = _run("lu2021", FIX / "reproduce" / "lu2021", [
        _t("fisher", "analyze remission", {"visit": "month 12"}, table="comparisons",
           row={"measure": "fisher_exact", "arm": "msc", "subgroup_by": "all"}, output="p",
           value=0.028, decimals=3),
        _t("count", "analyze remission", {"visit": "month 12"},
           row={"arm": "msc", "subgroup_by": "all"}, output="x", value=11),
    ])
    assert s.loc["fisher", "p"] == pytest.approx(_r("remission_vs_control", "p"), rel=1e-9)
    assert s.loc["count", "reproduced_value"] == _r("remission_msc", "estimate") == 11
    assert "--visit-days=365" in s.loc["fisher", "method"]
    assert (s["agreement"] == "agrees").all()


def test_the_vocabularys_command_line_names_are_the_commands_options():
    """A vocabulary analysis that mirrors a command accepts its option names (cli_names): they
    are options of that command, so a renamed option shows up here."""
    from cohort.spec.analyses import ANALYSES
    from cohort.spec.requests import analyze_commands

    commands = analyze_commands()
    checked = 0
    for name, info in ANALYSES.items():
        if info.command is None:
            continue
        missing = [c for c in info.cli_names if c not in commands[info.command]]
        assert missing == [], (name, info.command, missing)
        checked += 1
    assert checked == 4
    by = Target.model_validate(_t("x", "interaction_p", {"param": "HBA1C", "visit": "m",
                                                         "by": "bmi_kg_m2", "cut": 23},
                                  value=0.05))
    assert by.params == {"param": "HBA1C", "visit": "m", "modifier": "bmi_kg_m2",
                         "threshold": 23}

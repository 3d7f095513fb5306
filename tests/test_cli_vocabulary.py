"""One command-line vocabulary (issue 15, item 5).

One name and one meaning per idea across the commands; every renamed option still works by
its old spelling (a hidden alias: absent from ``--help``, same result); parameter codes are
case-insensitive everywhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.cli.vocabulary import RENAMED, alias, resolve_code, split_names
from cohort.errors import AnalysisError

ROOT = Path(__file__).resolve().parents[1]
SYN = ROOT / "synthetic"
SKYLER = SYN / "skyler2015" / "cohort"
LU = SYN / "lu2021" / "cohort"
NGUYEN = SYN / "nguyen2021" / "cohort"
MATSUOKA = SYN / "matsuoka2025" / "cohort"
ADAM = ROOT / "tests" / "data" / "adam"


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def doc_of(*args: object) -> dict:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def same_numbers(a: dict, b: dict, keys: tuple[str, ...] = ("summary",)) -> None:
    for key in keys:
        assert a[key] == b[key], key
    assert a["params"] == b["params"]


def _commands() -> dict[str, object]:
    """Every command of the command line by its path (``analyze ancova``)."""
    root = typer.main.get_command(app)
    out = {}
    for name, cmd in root.commands.items():
        if hasattr(cmd, "commands"):
            for sub, subcmd in cmd.commands.items():
                out[f"{name} {sub}"] = subcmd
        else:
            out[name] = cmd
    return out


def _visible(cmd) -> dict[str, object]:
    return {o: p for p in cmd.params if not getattr(p, "hidden", False)
            for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]
            if o.startswith("-")}


# ------------------------------------------------------------------------ old spellings work

def test_survival_by_and_covariate_equal_group_and_covariates():
    new = doc_of("analyze", "survival", LU, "--by", "arm", "--covariate", "age_years",
                 "--covariate", "bmi_kg_m2")
    for old in (["-g", "arm"], ["--group=arm"]):
        got = doc_of("analyze", "survival", LU, *old, "--covariates", "age_years,bmi_kg_m2")
        same_numbers(new, got, ("summary", "cox", "landmarks"))
    assert [r["term"] for r in new["cox"]][-2:] == ["age_years", "bmi_kg_m2"]


def test_effect_modification_by_equals_subgroup():
    new = doc_of("analyze", "effect-modification", NGUYEN, "--by", "duration", "--last")
    old = doc_of("analyze", "effect-modification", NGUYEN, "--subgroup", "duration", "--last")
    same_numbers(new, old)
    assert new["params"]["subgroup"] == "duration"


def test_remission_new_names_equal_old_names():
    new = doc_of("analyze", "remission", LU, "--by", "none", "--marker", "cpep_fast",
                 "--marker", "CPEP_PP", "--visit-days", "365", "--window", "55")
    old = doc_of("analyze", "remission", LU, "--subgroup", "none", "--markers",
                 "CPEP_FAST,CPEP_PP", "--visit-day", "365", "--window", "310,420")
    assert new["rule"] == old["rule"]
    assert "day 365 (window 310-420" in new["rule"]
    same_numbers(new, old, ("summary", "comparisons"))
    assert {r["subgroup"] for r in new["summary"]} == {"all"}


def test_predict_new_names_equal_old_names():
    common = ["--predictor", "baseline_cpep_fast_nmol_l", "--folds", "2", "--repeats", "1",
              "--bootstrap", "0", "--model", "logistic"]
    new = doc_of("analyze", "predict", LU, *common, "--marker", "CPEP_FAST",
                 "--visit-days", "365", "--window", "60")
    old = doc_of("analyze", "predict", LU, *common, "--markers", "cpep_fast",
                 "--visit-day", "365", "--window", "305,425")
    assert new["rule"] == old["rule"] and "fasting C-peptide at day 365 (window 305-425" \
        in new["rule"]
    assert new["summary"] == old["summary"]


def test_dose_threshold_equals_old_threshold():
    new = doc_of("analyze", "dose-response", MATSUOKA, "--last", "--dose-threshold", "2e9")
    old = doc_of("analyze", "dose-response", MATSUOKA, "--last", "--threshold", "2e9")
    same_numbers(new, old)
    default = doc_of("analyze", "dose-response", MATSUOKA, "--last")
    assert new["params"]["threshold"] == 2e9 != default["params"]["threshold"]


def test_mmrm_covariance_equals_cov():
    args = ["analyze", "mmrm", SKYLER, "--visit-days", "56,84"]
    new = doc_of(*args, "--covariance", "cs")
    old = doc_of(*args, "--cov", "cs")
    same_numbers(new, old)
    assert new["params"]["covariance"] == "cs"
    assert new["summary"] != doc_of(*args)["summary"]  # us, the default, differs
    by_arm = doc_of(*args, "--covariance", "cs", "--covariance-by-arm")
    same_numbers(by_arm, doc_of(*args, "--cov", "cs", "--cov-by-arm"))
    assert by_arm["params"]["cov_by_arm"] is True and by_arm["summary"] != new["summary"]


@pytest.mark.parametrize("args, message", [
    (["analyze", "survival", LU, "--by", "arm", "--group", "sex"],
     "--by: given twice: as --by and by its old name --group"),
    (["analyze", "mmrm", SKYLER, "--visit-days", "56,84", "--covariance", "cs", "--cov", "ar1"],
     "--covariance: given twice"),
    (["analyze", "remission", LU, "--visit-days", "180", "--visit-day", "365"],
     "--visit-days: given twice"),
])
def test_both_spellings_with_different_values_is_an_error(args, message):
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"cohort: error: {message}"), result.stderr


def test_alias_and_split_names():
    assert alias("x", None, new="--by", old="--group") == "x"
    assert alias(None, "y", new="--by", old="--group") == "y"
    assert alias("bmi", "onset", new="--by", old="--subgroup", default="bmi") == "onset"
    assert alias("onset", "onset", new="--by", old="--subgroup") == "onset"
    with pytest.raises(AnalysisError, match="given twice"):
        alias("a", "b", new="--by", old="--group")
    assert split_names(["a,b", " c ", ""]) == ["a", "b", "c"]
    assert split_names(None) == []


# ---------------------------------------------------------------- hidden, and one meaning

def _help(command: str) -> str:
    result = run(*command.split(), "--help")
    assert result.exit_code == 0
    return result.stdout


@pytest.mark.parametrize("command", sorted(RENAMED))
def test_old_spellings_are_hidden_and_new_ones_shown(command):
    text = _help(command)
    for old, new in RENAMED[command]:
        for name in re.findall(r"--?[a-z][a-z-]*", new.split(" (")[0]):
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (command, name)
        if " " in old and not old.split()[1].startswith(("/", "A")):
            continue  # the same name with an old value form (--window LOWER,UPPER)
        for name in re.findall(r"--?[a-z][a-z-]*", old):
            assert not re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), \
                (command, name)


def test_no_command_shows_an_old_spelling():
    old_names = {"--group", "-g", "--subgroup", "--covariates", "--visit-day", "--markers",
                 "--cov", "--cov-by-arm"}
    for path, cmd in _commands().items():
        shown = set(_visible(cmd))
        assert not shown & old_names, (path, shown & old_names)


def test_one_meaning_per_name():
    """Where an option name appears, it means the same thing."""
    meanings = {
        "--window": "half-width", "--baseline-window": "LOWER,UPPER",
        "--covariate": "repeatable", "--by": "", "--visit-days": "", "--param": "any case",
        "--baseline-param": "any case", "--marker": "any case",
    }
    seen: dict[str, list[str]] = {}
    for path, cmd in _commands().items():
        for name, param in _visible(cmd).items():
            seen.setdefault(name, []).append(path)
            if name in meanings:
                assert meanings[name] in (param.help or ""), (path, name, param.help)
            if name == "--covariate":
                assert param.multiple, path
            if name == "--threshold":  # the remission rule's rise, in percent
                assert "percent" in (param.help or ""), (path, param.help)
    assert set(seen["--threshold"]) == {"analyze remission", "analyze predict"}
    assert set(seen["--dose-threshold"]) == {"analyze dose-response"}
    assert {"analyze table1", "analyze paired", "analyze effect-modification",
            "analyze remission", "analyze survival"} <= set(seen["--by"])
    assert set(seen["--covariate"]) >= {"analyze ancova", "analyze mmrm",
                                        "analyze effect-modification", "analyze survival"}
    for path in [p for p in seen["--visit-days"]]:
        assert path.startswith("analyze "), path


def test_readme_lists_every_renamed_option():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### One vocabulary")[1].split("\n## ")[0].split("\n### ")[0]
    rows = {tuple(c.strip().strip("`") for c in line.strip("|").split("|"))
            for line in section.splitlines() if line.startswith("| `")}
    expected = {(command, old, new) for command, pairs in RENAMED.items()
                for old, new in pairs}
    assert {(f"cohort {c}", o, n) for c, o, n in expected} == rows


# -------------------------------------------------------------- codes in any case

@pytest.mark.parametrize("command, data, extra", [
    ("paired", SKYLER, ["--visit-days", "84"]),
    ("ancova", SKYLER, ["--visit-days", "84"]),
    ("mmrm", SKYLER, ["--visit-days", "56,84"]),
    ("effect-modification", NGUYEN, ["--last", "--by", "bmi"]),
    ("dose-response", MATSUOKA, ["--last"]),
])
def test_param_is_case_insensitive(command, data, extra):
    upper = doc_of("analyze", command, data, *extra, "--param", "HBA1C")
    for spelling in (" HbA1c",):
        other = doc_of("analyze", command, data, *extra, "--param", spelling)
        same_numbers(upper, other)
    assert upper["params"]["param"] == "HBA1C"


def test_baseline_param_marker_and_criterion_are_case_insensitive():
    upper = doc_of("analyze", "table1", LU, "--baseline-param", "CPEP_FAST")
    lower = doc_of("analyze", "table1", LU, "--baseline-param", "cpep_fast")
    assert upper["summary"] == lower["summary"]
    assert not any("no cpep_fast" in n for n in lower["notes"])
    a = doc_of("analyze", "remission", LU, "--marker", "CPEP_FAST")
    b = doc_of("analyze", "remission", LU, "--marker", "Cpep_Fast")
    assert a["summary"] == b["summary"] and a["rule"] == b["rule"]
    r1 = doc_of("analyze", "responders", NGUYEN, "--visit-days", "365", "--criterion",
                "HBA1C change <= -0.5", "--criterion", "med:insulin >= 50")
    r2 = doc_of("analyze", "responders", NGUYEN, "--visit-days", "365", "--criterion",
                "hba1c CHANGE <= -0.5", "--criterion", "MED:Insulin >= 50")
    assert r1["summary"] == r2["summary"] and r1["params"] == r2["params"]


def test_survival_paramcd_is_case_insensitive():
    args = ["analyze", "survival", ADAM, "--mapping", ADAM / "mapping.yaml", "--landmarks", "3"]
    upper = doc_of(*args, "--param", "TTRESC")
    lower = doc_of(*args, "--param", "ttresc")
    assert upper["summary"] == lower["summary"] and upper["counts"] == lower["counts"]
    assert lower["source"]["param"] == "TTRESC"


def test_resolve_code():
    assert resolve_code("hba1c", ["HBA1C", "FPG"]) == "HBA1C"
    assert resolve_code("HBA1C", ["HBA1C"]) == "HBA1C"
    assert resolve_code("x", ["HBA1C"]) == "x"  # unknown: left for the analysis to report
    assert resolve_code("ab", ["AB", "ab"]) == "ab"  # exact wins
    assert resolve_code("Ab", ["AB", "ab"]) == "Ab"  # ambiguous: not guessed


def test_choices_are_case_insensitive_too():
    """Choice codes read like parameter codes: --format JSON, --covariance CS, --df KR."""
    args = ["analyze", "mmrm", SKYLER, "--visit-days", "56,84"]
    lower = doc_of(*args, "--covariance", "cs", "--df", "kr")
    result = run(*args, "--covariance", "CS", "--df", "KR", "--format", "JSON")
    assert result.exit_code == 0, result.output
    upper = json.loads(result.stdout)
    same_numbers(lower, upper)
    assert upper["params"]["covariance"] == "cs"
    assert run("validate", SKYLER, "--engine", "Pandas").exit_code == 0
    # every choice option of every command takes any case
    for path, cmd in _commands().items():
        for param in cmd.params:
            desc = getattr(param, "type_descriptor", None)
            if desc is not None and desc.is_choice:
                assert not desc.case_sensitive, (path, param.name)


def test_visit_labels_in_any_case():
    args = ["analyze", "ancova", ADAM, "--mapping", ADAM / "mapping.yaml"]
    exact = doc_of(*args, "--visit", "Week 24")
    other = doc_of(*args, "--visit", "week 24")
    assert exact["summary"] == other["summary"]
    assert {r["visit"] for r in other["summary"]} == {"Week 24"}

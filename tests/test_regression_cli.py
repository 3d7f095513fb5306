"""``cohort analyze paired|ancova|dose-response|responders|effect-modification|table1``: JSON
output equals the Python API (checked against R in the other test files), text output, bad
input as a one-line message with exit code 2, and the option parsers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_regression_data import ancova_cohort, r_value
from typer.testing import CliRunner

from cohort import write_cohort
from cohort.cli.analyze_regression import parse_int_list, parse_name_list, parse_window
from cohort.cli.app import app
from cohort.errors import AnalysisError

RUNNER = CliRunner()
TABLES = ("subjects", "measurements", "infusions")


@pytest.fixture(scope="module")
def anc_dir(tmp_path_factory) -> Path:
    c = ancova_cohort()
    tables = {t: c.tables[t].drop(columns=["value_original", "unit_original"], errors="ignore")
              for t in TABLES}
    return write_cohort(tables, tmp_path_factory.mktemp("cli") / "ancova")


def run(*args: str):
    return RUNNER.invoke(app, [str(a) for a in args])


def test_ancova_json_matches_R(anc_dir):
    res = run("analyze", "ancova", anc_dir, "--visit-days", "56,84", "--format", "json",
              "--adjust", "holm")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["analysis"] == "Ancova" and doc["path"] == str(anc_dir)
    rows = {(r["visit"], r["kind"], r["arm"]): r for r in doc["summary"]}
    high = rows[("day 56", "vs_reference", "high")]
    assert high["estimate"] == pytest.approx(
        r_value("ancova_week8", "vs:high - placebo:estimate"), rel=1e-6)
    assert high["p_adjusted"] == pytest.approx(
        r_value("ancova_week8", "vs_holm:high - placebo:p"), rel=1e-6)
    assert doc["n_excluded"] == 0 and doc["exclusions"] == []


def test_text_output_and_plot(anc_dir, tmp_path):
    out = tmp_path / "fig.png"
    res = run("analyze", "ancova", anc_dir, "--visit-days", "56,84", "--plot", out)
    assert res.exit_code == 0, res.output
    assert "vs_reference" in res.stdout and out.stat().st_size > 1000


@pytest.mark.parametrize("args", [
    ["paired", "--visit-days", "84", "--by", "arm"],
    ["paired", "--last", "--by", "stratum", "--baseline-window=-30,0"],
    ["dose-response", "--visit-days", "84", "--threshold", "1e8"],
    ["responders", "--visit-days", "84", "--criterion", "HBA1C < 7.5"],
    ["effect-modification", "--subgroup", "sex", "--visit-days", "84"],
    ["table1", "--baseline-param", "HBA1C"],
])
def test_every_command_gives_one_json_document(anc_dir, args):
    res = run("analyze", args[0], anc_dir, *args[1:], "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert isinstance(doc["summary"], list) and doc["summary"]
    assert {"analysis", "params", "summary", "exclusions", "n_excluded", "notes"} <= set(doc)


@pytest.mark.parametrize(("args", "message"), [
    (["ancova", "--visit-days", "84", "--param", "CPEP_FAST"], "no CPEP_FAST measurements"),
    (["ancova", "--visit-days", "400"], "no subject has both a baseline"),
    (["paired"], "no visit asked for"),
    (["paired", "--visit-days", "8x"], "--visit-days: expected comma-separated whole numbers"),
    (["ancova", "--visit-days", "84", "--plot", "x.gif"], "--plot: the plot file must end"),
    (["responders", "--visit-days", "84", "--criterion", "HBA1C = 7"],
     "cannot read the criterion"),
    (["effect-modification", "--subgroup", "colour", "--visit-days", "84"],
     "unknown subgroup 'colour'"),
    (["ancova", "--visit-days", "84", "--reference", "nope"], "reference arm 'nope'"),
])
def test_bad_input_is_one_line_exit_2(anc_dir, args, message):
    res = run("analyze", args[0], anc_dir, *args[1:])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output


def test_single_arm_comparison_message(tmp_path):
    c = ancova_cohort(drop_arms=("low", "mid", "high"))
    tables = {t: c.tables[t].drop(columns=["value_original", "unit_original"],
                                  errors="ignore") for t in TABLES}
    path = write_cohort(tables, tmp_path / "one_arm")
    res = run("analyze", "ancova", path, "--visit-days", "84")
    assert res.exit_code == 2
    assert "needs at least two arms" in res.output


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from cohort.cli.app import app; "
            "heavy = [m for m in ('pandas', 'statsmodels', 'seaborn', 'scipy', 'matplotlib') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_parsers():
    assert parse_int_list("56, 84", "--x") == [56, 84]
    assert parse_int_list(None, "--x") is None
    assert parse_window("-90,0", "--w") == (-90, 0)
    assert parse_name_list("placebo,low", "--a") == ["placebo", "low"]
    for bad in ("", "56,", "a", "1.5", "56;84"):
        with pytest.raises(AnalysisError):
            parse_int_list(bad, "--x")
    with pytest.raises(AnalysisError):
        parse_window("-90", "--w")
    with pytest.raises(AnalysisError):
        parse_name_list("a,,b", "--a")


@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=8))
def test_int_list_round_trip(values):
    assert parse_int_list(",".join(map(str, values)), "--x") == values


@given(st.text(max_size=20))
def test_int_list_never_crashes(text):
    try:
        out = parse_int_list(text, "--x")
    except AnalysisError:
        return
    assert out is not None and all(isinstance(v, int) for v in out)

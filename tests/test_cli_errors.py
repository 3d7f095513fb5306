"""One error style for every command (issue 15, item 5).

A command that fails prints one ``cohort: error: ...`` message on stderr (never typer's box
or pydantic's "Value error,"), exits with a documented code, and with ``--format json`` puts
one JSON document on stdout: ``exit_code``, ``error`` and, when the data break the contract,
``findings``. A message that suggests a command repeats the user's own ``--mapping``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.cli.failure import EXIT_CODES, wants_json

ROOT = Path(__file__).resolve().parents[1]
SKYLER = ROOT / "synthetic" / "skyler2015" / "cohort"
LU = ROOT / "synthetic" / "lu2021" / "cohort"

BOX = ("╭", "╰", "│", "Value error", "Try '", "Usage:")

ANALYZE = {
    "table1": [],
    "paired": ["--visit-days", "84"],
    "ancova": ["--visit-days", "84"],
    "mmrm": ["--visit-days", "56,84"],
    "effect-modification": ["--visit-days", "84"],
    "dose-response": ["--visit-days", "84"],
    "responders": ["--visit-days", "84"],
    "remission": [],
    "predict": ["--predictor", "baseline_cpep_fast_nmol_l"],
    "survival": [],
}
"""Every analysis, with the options it needs to run."""


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def json_doc(result) -> dict:
    """The one JSON document on stdout (json.loads fails on anything else there)."""
    return json.loads(result.stdout)


def assert_one_style(result, code: int) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("cohort: error: "), result.stderr
    assert result.stderr.count("cohort: error:") == 1, result.stderr
    for mark in BOX:
        assert mark not in result.output, (mark, result.output)
    assert ".report.findings" not in result.output
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def mapped_broken(tmp_path_factory) -> tuple[Path, Path]:
    """A cohort whose measurements need a mapping (``result`` -> ``value``) and hold one
    HbA1c of ``abc``: it breaks the contract (exit 1)."""
    folder = tmp_path_factory.mktemp("broken") / "trial"
    shutil.copytree(SKYLER, folder)
    m = pd.read_csv(folder / "measurements.csv", dtype=str, keep_default_na=False)
    m.loc[3, "value"] = "abc"
    m.rename(columns={"value": "result"}).to_csv(folder / "measurements.csv", index=False)
    mapping = folder.parent / "my mapping.yaml"
    mapping.write_text("tables:\n  measurements:\n    columns: {result: value}\n")
    return folder, mapping


# ----------------------------------------------------------------------- command line errors

@pytest.mark.parametrize("args, message", [
    (["analyze", "ancova", SKYLER, "--window", "abc"],
     "--window: expected a whole number, got 'abc'"),
    (["analyze", "ancova", SKYLER, "--window=-3"], "--window: must be at least 0, got '-3'"),
    (["analyze", "ancova", SKYLER, "--format", "xml"],
     "--format / -f: 'xml' is not one of 'text', 'json'"),
    (["analyze", "ancova", SKYLER, "--no-such"], "no such option --no-such"),
    (["analyze", "survival", SKYLER, "--landmark", "3"],
     "no such option --landmark (did you mean --landmarks?)"),
    # an old spelling (a hidden alias) is suggested by the name that replaced it
    (["analyze", "survival", SKYLER, "--grop", "arm"],
     "no such option --grop (did you mean --by?)"),
    (["report", SKYLER], "missing option --out / -o"),
    (["synth"], "missing argument STUDY"),
    (["analyze", "frobnicate", SKYLER], "no such command 'frobnicate'"),
    (["validate", SKYLER, "--max-findings", "many"],
     "--max-findings: expected a whole number, got 'many'"),
    (["validate", SKYLER, "--engine", "spark"],
     "--engine: must be auto, native, pandas or polars, got 'spark'"),
])
def test_usage_errors_in_one_style(args, message):
    result = run(*args)
    assert_one_style(result, 2)
    first = result.stderr.splitlines()[0]
    assert first == f"cohort: error: {message}", first
    # what to read next: the help of the command the user typed
    assert "--help` for the" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command, args", [
    ("validate", [SKYLER]), ("studies", []), ("synth", ["lu2021"]), ("reproduce", ["lu2021"]),
    ("report", [SKYLER, "--out", "x.html"]),
    *[(f"analyze {name}", [SKYLER]) for name in ANALYZE],
])
def test_usage_error_with_format_json_is_one_json_document(command, args):
    result = run(*command.split(), *args, "--format", "json", "--no-such-option")
    assert_one_style(result, 2)
    doc = json_doc(result)
    assert doc["exit_code"] == 2
    assert doc["error"].startswith("no such option --no-such-option")
    assert doc["command"] == f"cohort {command}"
    assert "findings" not in doc


@pytest.mark.parametrize("args, expected", [
    (["--format", "json"], True), (["-f", "json"], True), (["--format=json"], True),
    (["-fjson"], True), (["--format", "JSON"], True), (["--format", "text"], False),
    ([], False), (["--", "--format", "json"], False), (["--format"], False),
])
def test_wants_json(args, expected):
    assert wants_json(["analyze", "ancova", "x", *args]) is expected


# ----------------------------------------------------------------------------- invalid data

@pytest.mark.parametrize("name", list(ANALYZE))
def test_invalid_data_every_analysis_json_has_the_findings(name, mapped_broken):
    folder, mapping = mapped_broken
    result = run("analyze", name, folder, *ANALYZE[name], "--mapping", mapping,
                 "--format", "json")
    assert_one_style(result, 1)
    doc = json_doc(result)
    assert doc["exit_code"] == 1
    assert doc["command"] == f"cohort analyze {name}"
    assert "breaks the data contract (1 error" in doc["error"]
    [finding] = [f for f in doc["findings"] if f["severity"] == "error"]
    assert (finding["file"], finding["row"], finding["column"]) == ("measurements.csv", 5,
                                                                     "value")
    # the command to list every finding is the user's own: same folder, same mapping
    expected = f"cohort validate {folder} --mapping '{mapping}'"
    assert doc["hint"] == f"run `{expected}` for every finding"
    assert expected in result.stderr


def test_invalid_data_text_names_file_row_column_and_the_validate_command(mapped_broken):
    folder, mapping = mapped_broken
    result = run("analyze", "ancova", folder, "--visit-days", "84", "--mapping", mapping)
    assert_one_style(result, 1)
    lines = result.stderr.splitlines()
    assert lines[0] == f"cohort: error: {folder} breaks the data contract (1 error; the first " \
                       "below):"
    assert lines[1].startswith("  measurements.csv, row 5, column value: ")
    assert lines[-1] == f"run `cohort validate {folder} --mapping '{mapping}'` for every finding"
    assert result.stdout == ""
    # the suggested command works as written and lists the finding
    validated = run("validate", folder, "--mapping", mapping, "--format", "json")
    assert validated.exit_code == 1
    assert json_doc(validated)["counts"]["errors"] == 1


def test_invalid_data_report_and_reproduce_json(mapped_broken, tmp_path):
    folder, mapping = mapped_broken
    for args in (["report", folder, "--out", tmp_path / "r.html", "--mapping", mapping],
                 ["reproduce", "skyler2015", "--data", folder, "--mapping", mapping]):
        result = run(*args, "--format", "json")
        assert_one_style(result, 1)
        doc = json_doc(result)
        assert doc["exit_code"] == 1 and doc["findings"], doc
        assert f"--mapping '{mapping}'" in doc["hint"]
    assert not (tmp_path / "r.html").exists()


def test_missing_folder_exit_2_json(tmp_path):
    result = run("analyze", "table1", tmp_path / "nowhere", "--format", "json")
    assert_one_style(result, 2)
    doc = json_doc(result)
    assert doc["exit_code"] == 2 and "cannot be read" in doc["error"]
    assert doc["findings"][0]["rule"] == "path_not_found" or doc["findings"]


# ------------------------------------------------------------ errors of the analysis itself

@pytest.mark.parametrize("args, message", [
    (["analyze", "ancova", SKYLER, "--visit-days", "84", "--param", "CPEP_AUC"],
     "no CPEP_AUC measurements"),
    (["analyze", "survival", SKYLER, "--event-codes", "CNSR:0=event"],
     "--event-codes is only meaningful with --tte FILE"),
    (["synth", "nosuchstudy", "--out", "x"], "nosuchstudy"),
    (["reproduce", "nosuchstudy"], "nosuchstudy"),
    (["synth", "lu2021"], "give --out DIR"),
])
def test_analysis_errors_json(args, message):
    text = run(*args)
    assert_one_style(text, 2)
    assert message in text.stderr
    result = run(*args, "--format", "json")
    assert_one_style(result, 2)
    doc = json_doc(result)
    assert doc["exit_code"] == 2 and message in doc["error"]
    assert "findings" not in doc


def test_validate_json_failure_is_its_report(mapped_broken):
    folder, _ = mapped_broken
    result = run("validate", folder, "--format", "json")  # without the mapping
    assert result.exit_code == 1
    doc = json_doc(result)
    assert doc["exit_code"] == 1 and doc["findings"]


def test_exit_codes_are_documented():
    result = run("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for code, meaning in EXIT_CODES.items():
        assert f"{code} {' '.join(meaning.split())}" in text
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for code in EXIT_CODES:
        assert f"| {code} |" in readme, code


# --------------------------------------------------------------------------------- order

def _listed(*args: str) -> list[str]:
    out = run(*args, "--help").stdout
    section = out.split("Commands")[1]
    # "│ name   help": a command; "│        more help": its help, wrapped
    return re.findall(r"^│ ([a-z][a-z0-9-]*) ", section, flags=re.M)


def test_commands_in_workflow_order():
    assert _listed() == ["validate", "analyze", "report", "synth", "reproduce", "studies",
                         "dictionary"]
    assert _listed("analyze") == ["table1", "paired", "ancova", "mmrm", "effect-modification",
                                  "dose-response", "responders", "remission", "predict",
                                  "survival"]


def test_a_bug_exits_3_in_the_same_style(monkeypatch):
    import cohort.analysis.table1 as table1_module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(table1_module, "table1", broken)
    monkeypatch.delenv("COHORT_DEBUG", raising=False)
    result = run("analyze", "table1", SKYLER, "--format", "json")
    assert_one_style(result, 3)
    doc = json_doc(result)
    assert doc["exit_code"] == 3
    assert doc["error"].startswith("internal error (RuntimeError: boom); this is a bug")


@pytest.fixture(scope="module")
def mapped(tmp_path_factory) -> tuple[Path, Path]:
    """A valid cohort that needs a mapping (``result`` -> ``value``)."""
    folder = tmp_path_factory.mktemp("mapped") / "trial"
    shutil.copytree(SKYLER, folder)
    m = pd.read_csv(folder / "measurements.csv", dtype=str, keep_default_na=False)
    m.rename(columns={"value": "result"}).to_csv(folder / "measurements.csv", index=False)
    mapping = folder.parent / "my mapping.yaml"
    mapping.write_text("tables:\n  measurements:\n    columns: {result: value}\n")
    return folder, mapping


def test_a_suggested_command_repeats_the_users_options(mapped):
    import shlex

    folder, mapping = mapped
    result = run("analyze", "mmrm", folder, "--visit-days", "84", "--mapping", mapping,
                 "--param", "hba1c", "--format", "json")
    assert_one_style(result, 2)
    suggested = f"cohort analyze ancova {folder} --mapping '{mapping}' --param hba1c"
    assert f"for one visit use `{suggested}`" in json_doc(result)["error"]
    assert f"`{suggested}`" in result.stderr
    # as written (with the visit), it runs on the user's data
    ran = run(*shlex.split(suggested)[1:], "--visit-days", "84")
    assert ran.exit_code == 0, ran.output


# ------------------------------------------- the hostile-input corpus through other commands

def _corpus() -> tuple[object, list[object]]:
    """make_corpus and one failing ``validate`` case per category of the corpus."""
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "corpus"))
    import make_corpus

    picked: dict[str, object] = {}
    for case in make_corpus.CASES:
        if case.args[0] == "validate" and case.exit != 0 and not case.subprocess:
            picked.setdefault(case.category, case)
    return make_corpus, list(picked.values())


MAKE_CORPUS, CORPUS = _corpus()


@pytest.mark.parametrize("command", ["analyze table1", "report"])
@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_corpus_input_fails_every_command_with_one_json_document(case, command, tmp_path):
    """The corpus's bad folders read by other commands than validate: the same exit code as
    validate's, one JSON document on stdout with the findings (issue 15: 207 of 496 such
    runs used to print nothing there)."""
    folder = tmp_path / case.name
    MAKE_CORPUS.materialise(case, folder)
    args = MAKE_CORPUS.args_for(case, folder)
    data = args[1]
    mapping = args[args.index("--mapping") + 1] if "--mapping" in args else None
    extra = ["--out", str(tmp_path / "r.html")] if command == "report" else []
    result = run(*command.split(), data, *(["--mapping", mapping] if mapping else []), *extra,
                 "--format", "json")
    assert_one_style(result, case.exit)
    doc = json_doc(result)
    assert doc["exit_code"] == case.exit and doc["findings"], doc
    assert doc["hint"].startswith(f"run `cohort validate {data}")
    assert not (tmp_path / "r.html").exists()


# ------------------------------------- commands that fail after their work: same two keys

def test_failed_synth_check_document_has_exit_code_and_error(tmp_path):
    spec = ROOT / "tests" / "fixtures" / "synth" / "new_study.yaml"
    bad = tmp_path / "wrong_target.yaml"
    bad.write_text(spec.read_text(encoding="utf-8").replace(
        "value: 7.8, source: made up", "value: 9.9, source: made up"), encoding="utf-8")
    result = run("synth", bad, "--check", "--format", "json")
    assert result.exit_code == 1
    assert result.stderr.startswith("cohort: error: 1 baseline target of ")
    doc = json_doc(result)
    assert doc["exit_code"] == 1 and doc["scorecard"]["counts"]["fail"] == 1
    assert doc["error"].startswith("1 baseline target of ") and "outside its tolerance" in \
        doc["error"]


def test_failed_report_of_reproduce_document_has_exit_code_and_error(tmp_path, monkeypatch):
    from cohort.cli import reproduce_cmd

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(reproduce_cmd, "_report_writer", lambda: broken)
    result = run("reproduce", "matsuoka2025", "--out", tmp_path / "out", "--format", "json")
    assert result.exit_code == 3
    doc = json_doc(result)
    assert doc["exit_code"] == 3 and "report.html not written (RuntimeError: boom)" in \
        doc["error"]
    assert (tmp_path / "out" / "reproduce.json").is_file()


def test_validate_document_names_the_error(mapped_broken):
    folder, mapping = mapped_broken
    bad = json_doc(run("validate", folder, "--mapping", mapping, "--format", "json"))
    assert bad["exit_code"] == 1
    assert bad["error"] == f"{folder} breaks the data contract (1 error; see findings)"
    good = json_doc(run("validate", SKYLER, "--format", "json"))
    assert good["exit_code"] == 0 and good["error"] is None


@pytest.mark.parametrize("args", [
    ["analyze", "ancova", SKYLER, "--visit-days", "84"],
    ["analyze", "mmrm", SKYLER, "--visit-days", "56,84"],
    ["analyze", "remission", LU],
])
def test_nothing_to_plot_fails_before_any_output(args, tmp_path, monkeypatch):
    """--plot of a result with nothing to draw: exit 2 and the failure's JSON document only
    (the figure is drawn before the result is printed)."""
    import cohort.cli.plot_output as plot_output
    from cohort.analysis.result import NothingToPlotError

    def nothing(*a, **k):
        raise NothingToPlotError("no LS means to plot")

    monkeypatch.setattr(plot_output, "write_figure", nothing)
    result = run(*args, "--plot", tmp_path / "f.png", "--format", "json")
    assert_one_style(result, 2)
    doc = json_doc(result)  # one document: the failure's
    assert doc["exit_code"] == 2 and doc["error"] == "no LS means to plot"
    assert "summary" not in doc

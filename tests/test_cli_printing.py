"""The CLI prints results with the results' own ``print_summary()`` (issue 15, items 1 and 5).

``cohort analyze remission``, ``survival`` and ``predict`` print what the result prints in
Python, section for section (one formatter, no hand-written printer in the CLI), and ``mmrm``
exports its table with ``--export FILE`` like the other commands.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.validation import load_cohort

ROOT = Path(__file__).resolve().parents[1]
LU = ROOT / "synthetic" / "lu2021" / "cohort"
COURI = ROOT / "synthetic" / "couri2009" / "cohort"
SKYLER = ROOT / "synthetic" / "skyler2015" / "cohort"


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def printed(result, title: str) -> str:
    buf = io.StringIO()
    result.print_summary(title=title, file=buf)
    return buf.getvalue()


def test_remission_text_is_print_summary():
    import warnings

    from cohort.analysis.remission import remission_analysis

    cli = run("analyze", "remission", LU, "--predictor", "baseline_cpep_fast_nmol_l")
    assert cli.exit_code == 0, cli.output
    c = load_cohort(LU)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = remission_analysis(c.measurements, c.subjects, c.infusions,
                                 predictors=["baseline_cpep_fast_nmol_l"])
    assert cli.stdout == printed(res, f"Remission: {LU}")
    text = cli.stdout
    assert "┏" not in text and "│" not in text  # no hand-drawn rich tables
    # the sections, formatted as a paper prints them (values from the lu2021 cohort)
    assert re.search(r"^all +UC-MSC +11/27 +40\.7 \(22\.4 to 61\.2\) +\(24\.5 to 59\.3\) +0$",
                     text, flags=re.M), text
    assert re.search(r"odds_ratio +Woolf log +5\.27 \(1\.26 to 21\.96\)", text)
    assert "Logistic regression (maximum likelihood, population all): n 53, events 14" in text
    # an odds ratio per nmol/L, to three significant digits (profile CI from 0.0000x)
    odds = res.model.summary.set_index("term").loc["baseline_cpep_fast_nmol_l", "odds_ratio"]
    assert re.search(rf"^baseline_cpep_fast_nmol_l +{odds:.3g} \(<0\.0001 to ", text,
                     flags=re.M), text
    assert text.count("note: remission: rise >= 10%") == 1


def test_survival_text_is_print_summary():
    cli = run("analyze", "survival", COURI)
    assert cli.exit_code == 0, cli.output
    doc = json.loads(run("analyze", "survival", COURI, "--format", "json").stdout)
    text = cli.stdout
    assert text.startswith(f"Survival: {COURI}\ncounts: n_subjects 23")
    [km] = doc["summary"]
    median = f"{km['estimate_months']:.1f} ({km['ci_lower_months']:.1f} to NR)"
    assert re.search(rf"^all +{km['n']} +{km['n_events']} +{km['n_censored']} +"
                     rf"{re.escape(median)}$", text, flags=re.M), text
    assert "Number at risk (months)" in text and "Landmarks: still event-free" in text
    assert f"{doc['n_excluded']} exclusion(s):" in text
    assert "┏" not in text


def test_predict_text_is_print_summary():
    args = ["--predictor", "baseline_cpep_fast_nmol_l", "--model", "logistic",
            "--bootstrap", "20", "--repeats", "2"]
    cli = run("analyze", "predict", LU, *args)
    assert cli.exit_code == 0, cli.output
    doc = json.loads(run("analyze", "predict", LU, *args, "--format", "json").stdout)
    text = cli.stdout
    assert text.startswith(f"remission: {doc['rule']}\nPrediction: {LU}\n")
    auc = next(r for r in doc["summary"] if r["metric"] == "auc")
    assert re.search(rf"^logistic +auc +{auc['apparent']:.3f} +{auc['optimism']:.3f} +"
                     rf"{auc['corrected']:.3f} ", text, flags=re.M), text
    assert "Permutation importance" in text and "┏" not in text


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_mmrm_export(tmp_path, suffix):
    out = tmp_path / f"mmrm{suffix}"
    result = run("analyze", "mmrm", SKYLER, "--visit-days", "56,84", "--export", out)
    assert result.exit_code == 0, result.output
    assert f"table written to {out}" in result.stderr
    doc = json.loads(run("analyze", "mmrm", SKYLER, "--visit-days", "56,84",
                         "--format", "json").stdout)
    row = next(r for r in doc["summary"] if r["kind"] == "vs_reference")
    if suffix == ".csv":
        table = pd.read_csv(out, dtype=str, keep_default_na=False, comment="#")
    else:
        table = pd.read_excel(out, dtype=str, header=None).fillna("")
        header = table.index[table.apply(lambda r: "visit" in r.tolist(), axis=1)][0]
        table = table.iloc[header + 1:].set_axis(table.iloc[header], axis=1)
    estimate = f"{row['estimate']:.2f} ({row['ci_lower']:.2f} to {row['ci_upper']:.2f})"
    assert estimate in table["estimate (95% CI)"].tolist(), table
    # an export that exists already and is not cohort's is refused before any work
    other = tmp_path / "mine.xlsx"
    other.write_bytes(b"not a workbook of cohort")
    refused = run("analyze", "mmrm", SKYLER, "--visit-days", "56,84", "--export", other)
    assert refused.exit_code == 2 and other.read_bytes() == b"not a workbook of cohort"


def test_external_validation_text_is_print_summary(tmp_path):
    model = tmp_path / "model.yaml"
    saved = run("analyze", "remission", LU, "-p", "baseline_cpep_fast_nmol_l",
                "--save-model", model)
    assert saved.exit_code == 0, saved.output
    cli = run("analyze", "predict", LU, "--external", model)
    assert cli.exit_code == 0, cli.output
    doc = json.loads(run("analyze", "predict", LU, "--external", model,
                         "--format", "json").stdout)
    auc = next(r for r in doc["external"]["summary"] if r["metric"] == "auc")
    text = cli.stdout
    assert f"External validation: {LU}\n\nExternal validation of " in text
    assert re.search(rf"^auc +{auc['estimate']:.3f} \({auc['ci_lower']:.3f} to "
                     rf"{auc['ci_upper']:.3f}\)$", text, flags=re.M), text
    assert "Recalibrated" in text and "┏" not in text

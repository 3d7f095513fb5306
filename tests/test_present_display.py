"""Results print themselves: one-line repr, print_summary, _repr_html_, to_frame, CLI text."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cohort.analysis.ancova import AncovaResult
from cohort.analysis.mmrm.analysis import MmrmResult
from cohort.analysis.paired import PairedResult
from cohort.analysis.prediction import PredictionResult
from cohort.analysis.remission import RemissionResult
from cohort.analysis.responders import ResponderResult
from cohort.analysis.survival import SurvivalResult
from cohort.analysis.table1 import Table1Result
from cohort.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
SKYLER = ROOT / "synthetic" / "skyler2015" / "cohort"


def _ancova() -> AncovaResult:
    # hand-made numbers: HbA1c (%) is measured to 0.1, so a difference prints to 0.01
    summary = pd.DataFrame({
        "visit": ["day 84", "day 84"], "kind": ["lsmean", "vs_reference"],
        "arm": ["MSC", "MSC"], "reference": [None, "placebo"],
        "estimate": [-1.2634, -0.70049], "se": [0.3512, 0.1],
        "ci_lower": [-1.969, -0.9], "ci_upper": [-0.558, -0.5],
        "p": [1.595e-06, 0.0374], "p_adjusted": [math.nan, math.nan],
        "adjust": [None, "none"], "n": [14, 28], "n_excluded": [0, 1]})
    return AncovaResult(summary=summary, params={"param": "HBA1C"},
                        notes=["t intervals"])


def test_a_result_prints_as_a_paper_prints_it() -> None:
    res = _ancova()
    out = io.StringIO()
    res.print_summary(file=out)
    text = out.getvalue()
    table = res.formatted()
    assert list(table.columns) == ["visit", "kind", "arm", "reference", "n",
                                   "estimate (95% CI)", "se", "p", "n_excluded"]
    assert table["estimate (95% CI)"].tolist() == ["-1.26 (-1.97 to -0.56)",
                                                   "-0.70 (-0.90 to -0.50)"]
    assert table["p"].tolist() == ["<0.001", "0.0374"]
    assert table["se"].tolist() == ["0.35", "0.10"]
    assert table["reference"].tolist() == ["", "placebo"]
    assert "note: t intervals" in text and "e-0" not in text and "NaN" not in text
    assert "--" not in text  # never -1.969--0.558


def test_repr_is_one_line_and_html_and_frame_hold_the_result() -> None:
    res = _ancova()
    assert repr(res) == "<AncovaResult: param=HBA1C, 2 rows, 0 excluded, 1 note>"
    html = res._repr_html_()
    assert "<table" in html and "-1.26 (-1.97 to -0.56)" in html and "t intervals" in html
    frame = res.to_frame()
    pd.testing.assert_frame_equal(frame, res.summary)
    frame.loc[0, "estimate"] = 0.0
    assert res.summary.loc[0, "estimate"] == -1.2634  # a copy


@pytest.mark.parametrize(("cls", "summary", "expected"), [
    (PairedResult, {"visit": ["day 56"], "group": ["all"], "n": [61], "mean_before": [8.279],
                    "mean_after": [8.202], "estimate": [-0.07705], "ci_lower": [-0.2189],
                    "ci_upper": [0.06481], "sd_change": [0.5539], "p": [0.2816],
                    "effect_size": [-0.1391], "wilcoxon_p": [0.3084]},
     {"mean_before": "8.28", "estimate (95% CI)": "-0.08 (-0.22 to 0.06)", "p": "0.282",
      "wilcoxon_p": "0.308", "effect_size": "-0.139"}),
    (ResponderResult, {"kind": ["rate", "odds_ratio"], "arm": ["MSC", "MSC"],
                       "x": [3, 3], "n": [15, 31], "estimate": [0.2, 9.24],
                       "ci_lower": [0.04331, 0.4363], "ci_upper": [0.4809, 195.7],
                       "p": [math.nan, math.nan]},
     {"estimate (95% CI)": ["0.200 (0.043 to 0.481)", "9.24 (0.44 to 195.70)"]}),
    (RemissionResult, {"arm": ["UC-MSC"], "x": [11], "n": [27], "estimate": [0.4074],
                       "ci_lower": [0.2239], "ci_upper": [0.6120], "wilson_lower": [0.245],
                       "wilson_upper": [0.593], "n_excluded": [0]},
     {"estimate (95% CI)": "0.407 (0.224 to 0.612)", "x": "11"}),
    (SurvivalResult, {"group": ["MSC"], "n": [14], "n_events": [9], "n_censored": [5],
                      "estimate": [245.0], "ci_lower": [120.0], "ci_upper": [math.nan],
                      "estimate_months": [8.05]},
     {"estimate (95% CI)": "245 (120 to NA)", "n_events": "9"}),
    (PredictionResult, {"model": ["logistic"], "metric": ["auc"], "apparent": [0.8123],
                        "optimism": [0.0712], "corrected": [0.7411], "n": [53],
                        "n_events": [14], "n_bootstrap_used": [200]},
     {"corrected": "0.741", "n_events": "14"}),
    (MmrmResult, {"visit": ["day 84"], "kind": ["vs_reference"], "arm": ["MSC"],
                  "estimate": [-0.41886], "se": [0.19], "ci_lower": [-0.806],
                  "ci_upper": [-0.0317], "df": [56.3], "p": [0.000412], "n": [31]},
     {"estimate (95% CI)": "-0.42 (-0.81 to -0.03)", "p": "<0.001", "df": "56.3"}),
])
def test_every_result_class_has_a_sensible_default(cls, summary, expected) -> None:
    params = {"param": "HBA1C"} if cls in (PairedResult, MmrmResult) else {}
    table = cls(summary=pd.DataFrame(summary), params=params).formatted()
    for col, want in expected.items():
        got = table[col].tolist()
        assert got == (want if isinstance(want, list) else [want]), col
    assert not any(c.startswith("wilson") or c == "n_bootstrap_used" for c in table.columns)
    n = len(table)
    assert repr(cls(summary=pd.DataFrame(summary))) == \
        f"<{cls.__name__}: {n} row{'' if n == 1 else 's'}, 0 excluded>"


def test_table1_prints_its_wide_table() -> None:
    summary = pd.DataFrame({
        "variable": ["sex"] * 4, "unit": [""] * 4, "level": ["F", "M", "F", "M"],
        "group": ["A", "A", "overall", "overall"], "n": [14, 14, 14, 14],
        "missing": [0] * 4, "count": [3, 11, 3, 11], "percent": [300 / 14, 1100 / 14] * 2,
        "smd": [math.nan] * 4})
    table = Table1Result(summary=summary).formatted()
    assert "A" in table.columns and "overall" in table.columns


@pytest.fixture(scope="module")
def cli_text() -> dict[str, str]:
    runner = CliRunner()
    out = {}
    for name, args in {"ancova": ["--visit-days", "56"], "paired": ["--visit-days", "56"],
                       "responders": ["--visit-days", "84"], "table1": []}.items():
        res = runner.invoke(app, ["analyze", name, str(SKYLER), *args])
        assert res.exit_code == 0, res.output
        out[name] = res.stdout
    return out


@pytest.mark.parametrize("name", ["ancova", "paired", "responders", "table1"])
def test_cli_text_output_is_formatted(cli_text: dict[str, str], name: str) -> None:
    text = cli_text[name]
    assert not re.search(r"\de-0\d|\bNaN\b|\d--\d", text), text
    if name != "table1":
        assert "estimate (95% CI)" in text and " to " in text

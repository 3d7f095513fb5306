"""The published-vs-reproduced section and the table extension it uses (cell classes)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pytest
from report_helpers import Page

from cohort.report.context import ReportContext, run_section
from cohort.report.html import HtmlReport
from cohort.report.reproduction import agreement_class, comparison_table, reproduction_section

NAN = math.nan


@dataclass
class StandIn:
    """The shape of cohort.studies.reproduce.ReproductionResult the report relies on."""

    summary: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)


def _summary() -> pd.DataFrame:
    rows = [
        # target, agreement, inputs, calibrated, status, reason, value, lo, hi, p
        ("n_msc", "agrees", "published", True, "computed", None, 27.0, NAN, NAN, NAN),
        ("hba1c_drop", "differs", "assumed", False, "computed", None, -0.31, -0.6, -0.02,
         0.04),
        ("remission_or", "not computable", "mixed", False, "not computable",
         "the cohort has no C-peptide <measurements> & no visits", NAN, NAN, NAN, NAN),
        ("cpep_rise", "agrees", "published", False, "computed", None, 0.12, 0.01, 0.23,
         0.03),
    ]
    frame = pd.DataFrame(rows, columns=["target", "agreement", "inputs", "calibrated",
                                        "status", "reason", "reproduced_value", "ci_lower",
                                        "ci_upper", "p"])
    frame["description"] = [f"description of {t}" for t in frame["target"]]
    frame["published"] = ["27", "-0.4 (SE 0.2)", "OR > 1", "p < 0.05"]
    frame["source"] = "Paper 2021, Table 2"
    frame["agreement_rule"] = ["equal count", "published value inside the reproduced 95% CI",
                               "", "p < 0.05"]
    frame["n"] = [27, 61, NAN, 53]
    return frame


def _render(reproduction: Any) -> tuple[Page, Any, str]:
    ctx = ReportContext(cohort=None, html=HtmlReport("t"))  # type: ignore[arg-type]
    status = run_section(ctx, "Published vs reproduced",
                         lambda c: reproduction_section(c, reproduction))
    return Page(ctx.html.render()), status, ctx.html.render()


def test_agreement_is_coloured_and_assumed_targets_are_named() -> None:
    page, status, text = _render(StandIn(_summary(), {"command": "cohort reproduce x"}))
    assert status.status == "ok"
    table = page.table("Published vs reproduced")
    assert table["target"].tolist() == ["n_msc", "hba1c_drop", "remission_or", "cpep_rise"]
    assert table["agreement"].tolist() == ["agrees", "differs", "not computable", "agrees"]
    assert table["reproduced [95% CI]"].tolist() == [
        "27", "-0.31 [-0.6, -0.02]; p = 0.04", "", "0.12 [0.01, 0.23]; p = 0.03"]
    assert table["calibrated"].tolist() == ["yes", "", "", ""]
    assert table["reason"].tolist()[2] == "the cohort has no C-peptide <measurements> & no visits"
    # cell classes: green, red, grey; the inputs of assumed and mixed targets highlighted
    for word, css in (("agrees", "t ok"), ("differs", "t bad"), ("not computable", "t muted")):
        assert f'<td class="{css}">{word}</td>' in text
    assert text.count('<td class="t warn">') == 2
    assert ("2 of 4 targets rest on assumed inputs (numbers the paper did not publish, "
            "chosen to build the synthetic cohort): hba1c_drop, remission_or.") in \
        " ".join(text.split())
    assert "2 agree, 1 differ, 1 not judged" in text
    assert page.headings["h3"] == ["Reproduction manifest"]
    assert "&lt;measurements&gt; &amp; no visits" in text


def test_the_result_own_sentence_on_assumed_inputs_is_used() -> None:
    class WithLine(StandIn):
        def assumed_line(self) -> str:
            return "Of 4 targets, 1 rests on assumed inputs only (hba1c_drop)."

    _, _, text = _render(WithLine(_summary()))
    assert "Of 4 targets, 1 rests on assumed inputs only (hba1c_drop)." in text


def test_all_published_inputs_are_said_plainly() -> None:
    s = _summary().assign(inputs="published")
    _, _, text = _render(StandIn(s))
    assert "Every target rests on published inputs only." in text
    assert 'class="t warn"' not in text


@pytest.mark.parametrize(("reproduction", "reason"), [
    (None, "no registered study was reproduced for this report"),
    (StandIn(_summary().iloc[:0]), "the reproduction has no targets"),
    (object(), "the reproduction result has no summary table (got object)"),
])
def test_without_a_usable_reproduction_the_section_says_why(reproduction, reason) -> None:
    _, status, text = _render(reproduction)
    assert status.status == "not computable" and status.reason.startswith(reason)
    assert f"not computable: {reason}" in text


@pytest.mark.parametrize(("value", "css"), [
    ("agrees", "ok"), ("Agrees", "ok"), (True, "ok"), ("differs", "bad"), (False, "bad"),
    ("not computable", "muted"), (None, "muted"), (NAN, "muted")])
def test_agreement_class(value, css) -> None:
    assert agreement_class(value) == css


def test_comparison_table_builds_published_text_from_numbers_when_missing() -> None:
    s = pd.DataFrame({"target": ["t"], "published_value": [-0.4], "published_ci_lower": [-0.8],
                      "published_ci_upper": [0.0], "published_p": [0.05]})
    assert comparison_table(s)["published"].tolist() == ["-0.4 [-0.8, 0]; p = 0.05"]


def test_table_cell_classes_and_alignment() -> None:
    frame = pd.DataFrame({"word": ["yes", "<b>"], "num": [1.5, 2.0], "numtext": ["8.2 (1.1)",
                                                                               "-3"]})
    text = HtmlReport("t").table(frame, cell_css={"num": ["ok", None]}).render()
    assert '<td class="t">yes</td><td class="ok">1.5</td><td>8.2 (1.1)</td>' in text
    assert '<td class="t">&lt;b&gt;</td><td>2</td><td>-3</td>' in text
    with pytest.raises(ValueError, match="cell_css\\['num'\\] has 1 values for 2 rows"):
        HtmlReport("t").table(frame, cell_css={"num": ["ok"]})
    with pytest.raises(KeyError, match="not in the table"):
        HtmlReport("t").table(frame, cell_css={"nope": ["ok", "ok"]})
    evil = HtmlReport("t").table(frame, cell_css={"num": ['x" onload="y', None]}).render()
    assert 'class="x&quot; onload=&quot;y"' in evil

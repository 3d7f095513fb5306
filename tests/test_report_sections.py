"""The section guard (cohort.report.context.run_section): failures become "not computable"
notes, bugs are shown without stopping the report, warnings are shown once and not raised."""

from __future__ import annotations

import warnings

from report_helpers import Page

from cohort.errors import AnalysisError, SmallSampleWarning
from cohort.report.context import NotComputableError, ReportContext, run_section
from cohort.report.html import HtmlReport


def _ctx() -> ReportContext:
    return ReportContext(cohort=None, html=HtmlReport("t"))  # type: ignore[arg-type]


def test_each_outcome_of_a_section() -> None:
    ctx = _ctx()

    def fine(c: ReportContext) -> None:
        c.html.paragraph("computed")
        c.not_computable("a part", "too few <events> & no luck")

    def missing(c: ReportContext) -> None:
        raise NotComputableError("the cohort has no C-peptide")

    def analysis(c: ReportContext) -> None:
        raise AnalysisError("at visit 'week 8' only arm(s)\n ['A'] have subjects")

    def bug(c: ReportContext) -> None:
        raise KeyError("column")

    statuses = [run_section(ctx, h, f) for h, f in
                (("One", fine), ("Two", missing), ("Three", analysis), ("Four", bug))]
    assert [(s.status, s.reason, s.parts) for s in statuses] == [
        ("ok", "", ("a part: too few <events> & no luck",)),
        ("not computable", "the cohort has no C-peptide", ()),
        ("not computable", "at visit 'week 8' only arm(s) ['A'] have subjects", ()),
        ("error", "internal error (KeyError: 'column'); this is a bug in cohort, please "
                  "report it", ()),
    ]
    assert ctx.statuses == statuses
    text = ctx.html.render()
    assert Page(text).headings["h2"] == ["One", "Two", "Three", "Four"]
    assert "a part: not computable: too few &lt;events&gt; &amp; no luck" in text
    assert "not computable: the cohort has no C-peptide" in text
    assert "not computable: internal error (KeyError: &#x27;column&#x27;)" in text


def test_warnings_are_shown_once_and_not_raised() -> None:
    ctx = _ctx()

    def noisy(c: ReportContext) -> None:
        for _ in range(3):
            warnings.warn("14 events for 2 predictors", SmallSampleWarning, stacklevel=2)
        warnings.warn("already a note", SmallSampleWarning, stacklevel=2)
        c.html.paragraph("already a note", css="muted")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = run_section(ctx, "Noisy", noisy)
    assert status.status == "ok"
    text = ctx.html.render()
    assert text.count("warning: SmallSampleWarning: 14 events for 2 predictors") == 1
    assert "warning: SmallSampleWarning: already a note" not in text

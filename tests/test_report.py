"""The study report (cohort.report.study): every bundled cohort gets a complete report whose
sections say what could not be computed and why; published numbers appear; the document is
self-contained, escaped and deterministic."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from report_helpers import (
    COHORTS,
    FIXED,
    STUDIES,
    Page,
    built,
    data_uri_png,
    evil_example,
    fast_resampling,
    png_size,
    subset_example,
)

from cohort.report.study import SECTIONS, build_report, sections, write_report

OK, NC = "ok", "not computable"
OVERVIEW, TABLE1, VALIDATION, CHANGE, ANCOVA, REMISSION, INSULIN, PUBLISHED, MANIFEST = SECTIONS

# (section -> status, reason fragment) that differ from "ok"; every other section is ok
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "skyler2015": {REMISSION: (NC, "no C-peptide"), INSULIN: (NC, "no insulin dose")},
    "lu2021": {},
    "nguyen2021": {ANCOVA: (NC, "no control arm"), INSULIN: (NC, "no insulin-free episode")},
    "matsuoka2025": {ANCOVA: (NC, "one arm only"), REMISSION: (NC, "no C-peptide"),
                     INSULIN: (NC, "no insulin dose")},
    "couri2009": {ANCOVA: (NC, "one arm only"), REMISSION: (NC, "no C-peptide")},
    "example": {},
}


def _num(cell: str) -> float:
    return float(cell) if cell.strip() else float("nan")


@pytest.mark.slow
@pytest.mark.parametrize("name", [*STUDIES, "example"])
def test_every_bundled_cohort_gets_every_section(name: str) -> None:
    report = built(name)
    # no study was reproduced: the report has no published-vs-reproduced section at all
    assert [s.heading for s in report.sections] == list(sections(None))
    assert PUBLISHED not in [s.heading for s in report.sections]
    for s in report.sections:
        status, fragment = EXPECTED[name].get(s.heading, (OK, ""))
        assert s.status == status, (s.heading, s.status, s.reason)
        assert fragment in s.reason
    page = Page(report.render())
    assert page.headings["h2"] == list(sections(None))
    text = report.render()
    assert "reproduced" not in text.casefold().replace('"reproduction": false', "")
    for s in report.sections:
        if s.status == NC:
            assert f"not computable: {s.reason}" in re.sub(r"\s+", " ", _unescape(text))


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


@pytest.mark.slow
def test_parts_that_cannot_be_computed_are_named() -> None:
    statuses = {name: {s.heading: s for s in built(name).sections} for name in EXPECTED}
    # lu2021: every insulin-free subject is in the MSC arm, so no log-rank test; 14
    # remissions for 2 predictors are too few to judge a prediction model (EPV 7 < 10)
    assert statuses["lu2021"][INSULIN].parts == (
        "log-rank test: every insulin-free subject is in one arm",)
    (part,) = statuses["lu2021"][REMISSION].parts
    assert part.startswith("prediction: too few data to judge a model: 14 remissions for 2 "
                           "predictors: 7.0 events per variable, fewer than the 10")
    # the example: 2 remissions among 6 subjects
    (part,) = statuses["example"][REMISSION].parts
    assert part.startswith("prediction: too few data to judge a model: 2 remissions for ")
    # nguyen2021 has two treated arms and no control: rates, but no between-arm tests
    tests, prediction = statuses["nguyen2021"][REMISSION].parts
    assert tests == "between-arm tests: they need a control arm and a treated arm"
    assert prediction.startswith("prediction: too few data to judge a model: 14 remissions")


@pytest.mark.slow
def test_skyler_ancova_matches_the_analysis_with_one_primary_p() -> None:
    from cohort import load_cohort
    from cohort.analysis.ancova import ancova_analysis
    from cohort.analysis.format import format_estimate_ci, format_p

    page = Page(built("skyler2015").render())
    shown = page.table("Each arm minus the control arm")
    assert "p_adjusted" not in shown.columns and "wilcoxon_p" not in shown.columns
    details = page.table("ANCOVA t-tests without multiplicity adjustment")
    assert page.in_details("ANCOVA t-tests without multiplicity adjustment")
    assert not page.in_details("Each arm minus the control arm")
    c = load_cohort("synthetic/skyler2015/cohort")
    direct = ancova_analysis(c.measurements, c.subjects, c.infusions, visit_days=[56, 84],
                             adjust="holm").summary
    direct = direct[direct["kind"] == "vs_reference"]
    for label, day in (("week 8", 56), ("week 12", 84)):
        rows = shown[(shown["visit"] == label) & (shown["kind"] == "vs_reference")]
        want = direct[direct["visit_day"] == day]
        assert list(rows["arm"]) == list(want["arm"])
        # three treated arms: the Holm-adjusted p with the simultaneous interval is primary
        assert list(rows["difference (95% CI)"]) == [
            format_estimate_ci(e, lo, hi, 2) for e, lo, hi in
            zip(want["estimate"], want["ci_lower_adjusted"], want["ci_upper_adjusted"],
                strict=True)]
        assert list(rows["p"]) == [format_p(p) for p in want["p_adjusted"]]
        assert set(rows["test"]) == {"ANCOVA t-test, Holm-adjusted over 3 arms vs placebo "
                                     "(CI bonferroni-adjusted)"}
        np.testing.assert_allclose(rows["se"].map(_num), want["se"], rtol=5e-4)
        unadj = details[details["visit"] == label]
        assert list(unadj["p"]) == [format_p(p) for p in want["p"]]
    top = shown[(shown["visit"] == "week 8") & (shown["arm"] == "MPC 2.0x10^6/kg")].iloc[0]
    # Skyler 2015: top dose vs placebo at week 8 -0.4 +- 0.2 (printed), p < 0.05 unadjusted
    estimate = float(top["difference (95% CI)"].split()[0].replace("\u2212", "-"))
    assert abs(estimate + 0.4) <= 0.05
    assert abs(_num(top["se"]) - 0.2) <= 0.05
    row = details[(details["visit"] == "week 8") & (details["arm"] == "MPC 2.0x10^6/kg")]
    assert float(row["p"].iloc[0]) < 0.05


@pytest.mark.slow
def test_published_numbers_appear_in_the_reports() -> None:
    # Lu 2021: remission in 11 of 27 MSC-treated subjects (40.7%) at 1 year
    rates = Page(built("lu2021").render()).table("Remission by arm")
    msc = rates[(rates["subgroup_by"] == "all") & (rates["arm"] == "UC-MSC")].iloc[0]
    assert (msc["x"], msc["n"], msc["percent"]) == ("11", "27", "40.7")
    # Matsuoka 2025: HbA1c 7.49% -> 6.7% at the last follow-up, p < 0.0001 (n = 61)
    change = Page(built("matsuoka2025").render()).table("Change from baseline")
    last = change[(change["visit"] == "last") & (change["group"] == "all")].iloc[0]
    assert last["n"] == "61" and last["mean_before"] == "7.49"
    assert round(_num(last["mean_after"]), 1) == 6.7
    assert (last["p"], last["test"]) == ("<0.001", "paired t-test")
    # Couri 2009 synthetic cohort (docs/survival.md): 20 insulin-free, 8 resumptions,
    # Kaplan-Meier median 31.0 months (95% CI 24.0 to not reached)
    km = Page(built("couri2009").render()).table("Median insulin-free time")
    row = km.iloc[0]
    assert (row["n"], row["n_events"], row["n_censored"]) == ("20", "8", "12")
    assert round(_num(row["estimate_months"]), 1) == 31.0
    assert round(_num(row["ci_lower_months"]), 1) == 24.0 and row["ci_upper_months"] == ""


@pytest.mark.slow
def test_report_is_self_contained() -> None:
    page = Page(built("lu2021").render())
    assert page.scripts == 0 and "script" not in page.tags
    assert not {"iframe", "link", "object", "embed"} & page.tags
    # the only links are the table of contents' anchors
    assert page.links and all(h.startswith("#") for h in page.links)
    assert not [v for k, v in page.attributes if k in ("src", "href")
                and re.match(r"\s*(https?:|//|file:)", v)]
    # change, trajectories, waterfall, ANCOVA LS means and forest, remission rates,
    # Kaplan-Meier, swimmer (no ROC: 14 remissions for 2 predictors are too few to judge a model)
    assert len(page.images) == 8
    for src in page.images:
        width, height = png_size(data_uri_png(src))
        assert width > 100 and height > 100


def test_cell_content_is_escaped(tmp_path) -> None:
    subject = '<script>alert("s")</script>&S01'
    arm = "MSC <script>alert(1)</script> & <b>co</b>"
    folder = evil_example(tmp_path / "evil", subject=subject, arm=arm)
    out = write_report(folder, tmp_path / "evil.html", created=FIXED,
                       title="<script>t</script> & title")
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text.lower() and "<b>" not in text
    assert "&lt;script&gt;alert(&quot;s&quot;)&lt;/script&gt;&amp;S01" in text
    assert "MSC &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;co&lt;/b&gt;" in text
    page = Page(text)
    assert page.headings["h1"] == ["<script>t</script> & title"]
    assert arm in set(page.table("Subjects by arm")["arm"])
    assert arm in set(page.table("Change from baseline by visit and arm")["group"])
    excluded = page.table("Excluded subject-visits by subject")
    assert excluded[["subject_id", "visits"]].values.tolist() == [[subject, "month 6"]]
    assert page.scripts == 0


@pytest.mark.slow
def test_reports_are_deterministic_apart_from_the_timestamp(tmp_path) -> None:
    from datetime import UTC, datetime

    # a second build (lu2021: every figure kind and the seeded resampling), years later:
    # everything but the manifest's timestamp is identical
    first = built("lu2021").render()
    with fast_resampling():
        later = build_report(COHORTS["lu2021"],
                             created=datetime(2031, 6, 7, 8, 9, 10, tzinfo=UTC)).render()
    diff = [(a, b) for a, b in zip(first.splitlines(), later.splitlines(), strict=True)
            if a != b]
    assert diff == [("  &quot;created&quot;: &quot;2025-01-01T00:00:00+00:00&quot;",
                     "  &quot;created&quot;: &quot;2031-06-07T08:09:10+00:00&quot;")]


def test_manifest_has_hashes_versions_seed_and_options(tmp_path) -> None:
    import hashlib

    report = built("example")
    m = report.manifest
    assert m["seed"] == 0 and m["created"] == "2025-01-01T00:00:00+00:00"
    assert m["options"]["path"].endswith("example")
    names = {f["name"]: f["sha256"] for f in m["files"]}
    assert set(names) == {"subjects.csv", "infusions.csv", "measurements.csv",
                          "adverse_events.csv", "medications.csv"}
    for name, sha in names.items():
        data = (COHORTS["example"] / name).read_bytes()
        assert sha == hashlib.sha256(data).hexdigest()
    assert m["packages"]["pandas"] == pd.__version__
    # the manifest is shown in the report
    assert names["subjects.csv"] in report.render()


def test_a_two_subject_cohort_still_gets_its_report(tmp_path) -> None:
    folder = subset_example(tmp_path / "tiny", {"S01", "S04"})
    report = build_report(folder, created=FIXED)
    statuses = {s.heading: s for s in report.sections}
    assert all(s.status in (OK, NC) for s in report.sections), report.sections
    assert statuses["HbA1c: change from baseline"].status == NC
    assert "at least 3 subjects" in statuses["HbA1c: change from baseline"].reason
    for heading in ("HbA1c: ANCOVA against control", "C-peptide remission and prediction"):
        assert statuses[heading].status == NC
        assert "at least 3 subjects" in statuses[heading].reason
    assert statuses["Insulin independence: time to resumption"].reason.startswith(
        "no insulin-free episode: none of the 2 subjects")
    assert statuses["Run manifest"].status == OK

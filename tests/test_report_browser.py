"""The report opens in a real browser: headless Chromium renders a screenshot and dumps the
DOM, for a user's own trial (no study: no published-vs-reproduced section at all) and for a
registered study reproduced on its cohort. Every expected section heading and every expected
figure is in the DOM, every image is an embedded PNG that decodes, and the comparisons show
one primary p-value with the other tests collapsed under details.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``); skipped without
it. Chromium runs offline (file:// URL, networking features off) in a fresh profile.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from report_helpers import COHORTS, FIXED, Page, data_uri_png, fast_resampling, png_size

from cohort.report.study import REPRODUCTION, SECTIONS, sections, write_report

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1280, 4000)

# the figures of a cohort with every kind of data (captions start with these)
FIGURES = ("Mean change in HbA1c from baseline by visit and arm",
           "HbA1c of every subject at baseline and at each visit, one panel per arm",
           "Change in HbA1c from baseline to ",
           "Adjusted (LS) mean change in HbA1c by arm at each visit",
           "Forest plot: adjusted difference in HbA1c change",
           "Remission rate by arm",
           "Kaplan-Meier estimate of remaining insulin-free",
           "Swimmer plot: insulin-free episodes per subject")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="headless Chromium is not installed at /usr/bin/chromium "
                       "(Debian: apt-get install chromium); the browser check is skipped"),
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False,
                          cwd=tmp_path)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """A user's own trial (the example cohort, no study) and lu2021 with its
    published-vs-reproduced table: between them every section and every kind of figure."""
    from cohort import load_cohort
    from cohort.spec.registry import resolve_spec
    from cohort.studies.reproduce import reproduce_cohort

    folder = tmp_path_factory.mktemp("browser")
    lu = load_cohort(COHORTS["lu2021"])
    reproduction = reproduce_cohort(resolve_spec("lu2021")[0], lu)
    with fast_resampling():
        return {"own trial": write_report(COHORTS["example"], folder / "own.html",
                                          created=FIXED),
                "study": write_report(lu, folder / "lu2021.html", reproduction=reproduction,
                                      created=FIXED)}


@pytest.mark.parametrize("case", ["own trial", "study"])
def test_chromium_renders_the_report(reports: dict[str, Path], case: str,
                                     tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    res = _chromium(tmp_path, f"--screenshot={shot}",
                    f"--window-size={WINDOW[0]},{WINDOW[1]}", reports[case].as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    assert png_size(shot.read_bytes()) == WINDOW
    with Image.open(shot) as im:
        colours = im.convert("RGB").getcolors(maxcolors=1 << 16)
    # a blank or error page has a handful of colours; text, tables and figures have hundreds
    assert colours is None or len(colours) > 200


def _dom(reports: dict[str, Path], case: str, tmp_path: Path) -> tuple[Page, Page]:
    res = _chromium(tmp_path, "--dump-dom", reports[case].as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    return Page(res.stdout), Page(reports[case].read_text(encoding="utf-8"))


def _check_figures(dom: Page, source: Page) -> None:
    # every figure of the file survived parsing, as an embedded PNG that decodes
    assert len(dom.images) == len(source.images) == len(FIGURES)
    for alt, start in zip(dom.image_alts, FIGURES, strict=True):
        assert alt.startswith(start), (alt, start)
    for src in dom.images:
        width, height = png_size(data_uri_png(src))
        assert width > 100 and height > 100


def test_own_trial_has_no_published_section(reports: dict[str, Path], tmp_path: Path) -> None:
    dom, source = _dom(reports, "own trial", tmp_path)
    assert dom.headings["h1"] == ["Cohort report: example"]
    assert dom.headings["h2"] == list(sections(None))
    assert REPRODUCTION not in dom.headings["h2"]
    assert dom.scripts == 0
    assert not any("reproduc" in t["caption"].casefold() for t in dom.tables)
    _check_figures(dom, source)
    # one p per comparison, named; the rest collapsed under details
    change = dom.table("Change from baseline by visit and arm")
    assert "wilcoxon_p" not in change.columns and set(change["test"]) == {"paired t-test"}
    assert not dom.in_details("Change from baseline by visit and arm")
    assert dom.in_details("Wilcoxon signed-rank test of the change")
    tests = dom.table("Treated vs control")
    assert set(tests["test"]) <= {"Fisher's exact test", "Pearson's chi-squared test"}
    assert dom.in_details("Tests not chosen as primary")


def test_study_report_has_every_section_and_figure(reports: dict[str, Path],
                                                   tmp_path: Path) -> None:
    dom, source = _dom(reports, "study", tmp_path)
    assert dom.headings["h1"][0].startswith("lu2021: ")
    assert dom.headings["h2"] == list(SECTIONS)
    assert dom.scripts == 0
    _check_figures(dom, source)
    # the published-vs-reproduced table is there, with every target of the study
    from cohort.spec.registry import resolve_spec

    table = dom.table("Published vs reproduced")
    assert len(table) == len(resolve_spec("lu2021")[0].targets)
    assert set(table["agreement"]) <= {"agrees", "compatible", "differs", "not computable"}
    # 14 remissions for 2 predictors: the prediction says it cannot judge a model
    text = " ".join(reports["study"].read_text(encoding="utf-8").split())
    assert "prediction: not computable: too few data to judge a model: 14 remissions" in text

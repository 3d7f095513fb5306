"""The report opens in a real browser: headless Chromium renders a screenshot and dumps the
DOM; every section heading is in the DOM and every image is an embedded, decodable PNG.

Needs Debian's Chromium at /usr/bin/chromium (``apt-get install chromium``); skipped without
it. Chromium runs offline (file:// URL, networking features off) in a fresh profile.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from report_helpers import COHORTS, FIXED, Page, data_uri_png, fast_resampling, png_size

from cohort.report.study import SECTIONS, write_report

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (1280, 4000)

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
def report_file(tmp_path_factory) -> Path:
    """The lu2021 report with its published-vs-reproduced table: every kind of figure."""
    from cohort import load_cohort
    from cohort.spec.registry import resolve_spec
    from cohort.studies.reproduce import reproduce_cohort

    out = tmp_path_factory.mktemp("browser") / "lu2021.html"
    cohort = load_cohort(COHORTS["lu2021"])
    reproduction = reproduce_cohort(resolve_spec("lu2021")[0], cohort)
    with fast_resampling():
        write_report(cohort, out, reproduction=reproduction, created=FIXED)
    return out


def test_chromium_renders_the_report(report_file: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    res = _chromium(tmp_path, f"--screenshot={shot}",
                    f"--window-size={WINDOW[0]},{WINDOW[1]}", report_file.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    assert png_size(shot.read_bytes()) == WINDOW
    with Image.open(shot) as im:
        colours = im.convert("RGB").getcolors(maxcolors=1 << 16)
    # a blank or error page has a handful of colours; text, tables and figures have hundreds
    assert colours is None or len(colours) > 200


def test_chromium_dom_has_every_section_and_every_figure(report_file: Path,
                                                         tmp_path: Path) -> None:
    res = _chromium(tmp_path, "--dump-dom", report_file.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    dom = Page(res.stdout)
    assert dom.headings["h1"][0].startswith("lu2021: ")
    assert dom.headings["h2"] == list(SECTIONS)
    assert dom.scripts == 0
    source = Page(report_file.read_text(encoding="utf-8"))
    # every figure of the file survived parsing, as an embedded PNG that decodes
    assert len(dom.images) == len(source.images) == 8
    for src in dom.images:
        width, height = png_size(data_uri_png(src))
        assert width > 0 and height > 0
    # the published-vs-reproduced table is there, with every target of the study
    from cohort.spec.registry import resolve_spec

    table = dom.table("Published vs reproduced")
    assert len(table) == len(resolve_spec("lu2021")[0].targets)
    assert set(table["agreement"]) <= {"agrees", "differs", "not computable"}

"""Helpers of the report tests: the bundled cohorts, a cached report per cohort, an HTML reader
(headings, tables, images, links) and a PNG header check."""

from __future__ import annotations

import base64
import struct
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ("skyler2015", "lu2021", "nguyen2021", "matsuoka2025", "couri2009")
COHORTS = {**{s: ROOT / "synthetic" / s / "cohort" for s in STUDIES},
           "example": ROOT / "tests" / "data" / "example"}
FIXED = datetime(2025, 1, 1, tzinfo=UTC)
"""Manifest timestamp of every test report (reports are then byte-identical)."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@contextmanager
def fast_resampling():
    """Fewer cross-validation repeats and bootstrap samples in the prediction part.

    The tests check structure, escaping and the deterministic analyses; the resampling's own
    numbers are tested in test_prediction.py. This keeps a lu2021 report at a few seconds.
    """
    with mock.patch("cohort.report.cpeptide.REPEATS", 2), \
            mock.patch("cohort.report.cpeptide.BOOTSTRAP", 20):
        yield


@cache
def built(name: str):
    """The report of a bundled cohort (built once per test session)."""
    from cohort.report.study import build_report

    with fast_resampling():
        return build_report(COHORTS[name], created=FIXED)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; raises AssertionError if not a PNG."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG signature"
    assert data[12:16] == b"IHDR", "PNG without an IHDR chunk first"
    return struct.unpack(">II", data[16:24])


def data_uri_png(src: str) -> bytes:
    """The bytes of a ``data:image/png;base64,...`` URI (AssertionError otherwise)."""
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), f"image source is not an embedded PNG: {src[:60]!r}"
    return base64.b64decode(src[len(prefix):], validate=True)


class Page(HTMLParser):
    """What the tests read from a report: h1/h2/h3 texts, tables (caption, header, rows,
    whether inside ``<details>``), the ``<summary>`` texts of details, image sources, link
    targets, script elements and every attribute value."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: dict[str, list[str]] = {"h1": [], "h2": [], "h3": []}
        self.tables: list[dict] = []
        self.images: list[str] = []
        self.image_alts: list[str] = []
        self.links: list[str] = []
        self.scripts = 0
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []
        self.details: list[str] = []
        self._open_details = 0
        self._summary: list[str] | None = None
        self._text: list[str] | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(k, v or "") for k, v in attrs]
        a = dict(attrs)
        if tag in self.headings or tag == "caption":
            self._text = []
        elif tag == "table":
            self.tables.append({"caption": "", "header": [], "rows": [],
                                "in_details": self._open_details > 0})
        elif tag == "details":
            self._open_details += 1
        elif tag == "summary":
            self._summary = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(a.get("src") or "")
            self.image_alts.append(a.get("alt") or "")
        elif tag == "a":
            self.links.append(a.get("href") or "")
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            self._open_details -= 1
        elif tag == "summary" and self._summary is not None:
            self.details.append("".join(self._summary).strip())
            self._summary = None
        elif tag in self.headings and self._text is not None:
            self.headings[tag].append("".join(self._text).strip())
            self._text = None
        elif tag == "caption" and self._text is not None:
            self.tables[-1]["caption"] = "".join(self._text).strip()
            self._text = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            t = self.tables[-1]
            if not t["header"]:
                t["header"] = self._row
            else:
                t["rows"].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._summary is not None:
            self._summary.append(data)
        if self._text is not None:
            self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def in_details(self, caption_start: str) -> bool:
        """Whether the first table captioned ``caption_start`` is inside a ``<details>``."""
        for t in self.tables:
            if t["caption"].startswith(caption_start):
                return t["in_details"]
        raise AssertionError(f"no table captioned {caption_start!r}")

    def table(self, caption_start: str) -> pd.DataFrame:
        """The first table whose caption starts with ``caption_start``, as strings."""
        for t in self.tables:
            if t["caption"].startswith(caption_start):
                return pd.DataFrame(t["rows"], columns=t["header"])
        raise AssertionError(f"no table captioned {caption_start!r}; captions: "
                             f"{[t['caption'] for t in self.tables]}")


def evil_example(dest: Path, *, subject: str, arm: str) -> Path:
    """The example cohort with subject S01 renamed ``subject`` and arm MSC renamed ``arm``
    in every table (to test escaping); S01's month-6 HbA1c is removed, so that the report
    lists the subject among the exclusions."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(COHORTS["example"].glob("*.csv")):
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
        if f.stem == "measurements":
            drop = ((frame["subject_id"] == "S01") & (frame["param"] == "HBA1C")
                    & (frame["visit"] == "month 6"))
            assert drop.sum() == 1
            frame = frame[~drop]
        if "subject_id" in frame:
            frame["subject_id"] = frame["subject_id"].replace({"S01": subject})
        if "arm" in frame:
            frame["arm"] = frame["arm"].replace({"MSC": arm})
        frame.to_csv(dest / f.name, index=False, lineterminator="\n")
    return dest


def subset_example(dest: Path, keep: set[str]) -> Path:
    """The example cohort restricted to the subjects ``keep``."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(COHORTS["example"].glob("*.csv")):
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
        frame[frame["subject_id"].isin(keep)].to_csv(dest / f.name, index=False,
                                                     lineterminator="\n")
    return dest

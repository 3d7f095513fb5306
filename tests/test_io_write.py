"""Writing cohort folders: every format reads back valid; writes are atomic; a folder that
holds more than a cohort is never replaced."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cohort
from cohort.errors import CohortError
from cohort.io.outputs import MANIFEST
from cohort.io.write import atomic_write_text, write_folder_atomically

EXAMPLE = Path(__file__).parent / "data" / "example"


def _tables() -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_csv(p, keep_default_na=False, na_values=[""])
            for p in sorted(EXAMPLE.glob("*.csv"))}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_written_cohort_reads_back_valid(tmp_path, fmt):
    out = cohort.write_cohort(_tables(), tmp_path / "out", fmt=fmt,
                              extra_files={"README.md": "hello\n"})
    assert (out / "README.md").read_text(encoding="utf-8") == "hello\n"
    report = cohort.validate(out)
    assert report.findings.empty, report.findings.to_string()
    back = cohort.load_cohort(out).measurements
    pd.testing.assert_series_equal(back["value"], cohort.load_cohort(EXAMPLE).measurements["value"])


def test_an_earlier_cohort_folder_is_replaced(tmp_path):
    out = tmp_path / "out"
    cohort.write_cohort(_tables(), out, fmt="parquet")
    cohort.write_cohort(_tables(), out, fmt="csv")
    assert sorted(p.suffix for p in out.iterdir() if p.name != MANIFEST) == [".csv"] * 5
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folders left


def test_a_folder_with_more_than_a_cohort_is_left_alone(tmp_path):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "notes.docx").write_bytes(b"x")
    with pytest.raises(CohortError, match=r"is not empty and is not a cohort folder written by "
                                          r"cohort \(no .cohort-output.json\)"):
        cohort.write_cohort(_tables(), project)
    assert sorted(p.name for p in project.iterdir()) == ["notes.docx", "src"]


def test_a_failed_write_leaves_the_old_folder(tmp_path):
    out = tmp_path / "out"
    cohort.write_cohort(_tables(), out)
    before = sorted(p.name for p in out.iterdir())

    def fill(tmp: Path) -> None:
        (tmp / "half.csv").write_text("a\n", encoding="utf-8")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_folder_atomically(out, fill)
    assert sorted(p.name for p in out.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_write_text(tmp_path):
    path = tmp_path / "a" / "b.txt"
    atomic_write_text(path, "één\n")
    assert path.read_bytes() == "één\n".encode()
    assert [p.name for p in path.parent.iterdir()] == ["b.txt"]


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    # mkstemp creates 0600 files; a report shared with colleagues must stay readable
    new = tmp_path / "report.json"
    atomic_write_text(new, "{}")
    assert new.stat().st_mode & 0o777 == 0o644
    new.chmod(0o664)
    atomic_write_text(new, "{ }")
    assert new.stat().st_mode & 0o777 == 0o664

"""Every ```python block of README.md and docs/*.md runs.

Blocks run in a scratch folder that stands in for a user's: ``my_cohort/`` (a copy of the
lu2021 cohort), ``mapping.yaml``/``map.yaml`` (an empty mapping), ``my_study.yaml`` (the lu2021
spec) and, for the in-memory example, ``df_subjects``, ``df_meas`` and ``df_infusions``; paths
under ``synthetic/`` and ``tests/`` resolve as in the repository.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import warnings
from pathlib import Path

import matplotlib
import pytest

import cohort
from cohort.errors import CohortWarning

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [(page, page.read_text(encoding="utf-8")[:m.start()].count("\n") + 1, m.group(1))
          for page in PAGES
          for m in re.finditer(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"),
                               flags=re.S | re.M)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("docs")
    (ws / "synthetic").symlink_to(ROOT / "synthetic")
    (ws / "tests").symlink_to(ROOT / "tests")
    shutil.copytree(ROOT / "synthetic" / "lu2021" / "cohort", ws / "my_cohort")
    for name in ("mapping.yaml", "map.yaml"):
        (ws / name).write_text("tables: {}\n", encoding="utf-8")
    shutil.copy(ROOT / "synthetic" / "lu2021" / "spec.yaml", ws / "my_study.yaml")
    return ws


def test_the_pages_have_python_blocks() -> None:
    assert len(BLOCKS) >= 11


@pytest.mark.parametrize(("page", "line", "code"), BLOCKS,
                         ids=[f"{p.name}:{n}" for p, n, _ in BLOCKS])
def test_python_block_runs(workspace, monkeypatch, page, line, code) -> None:
    matplotlib.use("Agg")
    monkeypatch.chdir(workspace)
    lu = cohort.load_cohort(ROOT / "synthetic" / "lu2021" / "cohort")
    namespace = {"__name__": "__docs__", "df_subjects": lu.subjects,
                 "df_meas": lu.measurements, "df_infusions": lu.infusions}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # cohort's warnings (few events per variable) are what the examples demonstrate
        warnings.simplefilter("ignore", CohortWarning)
        exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
    import matplotlib.pyplot as plt

    plt.close("all")

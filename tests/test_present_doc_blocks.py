"""Every ```python block of README.md and docs/*.md runs.

Blocks run in a scratch folder that stands in for a user's: ``my_cohort/`` (a copy of the
lu2021 cohort), ``mapping.yaml``/``map.yaml`` (an empty mapping), ``my_study.yaml`` (the lu2021
spec) and, for the in-memory example, ``df_subjects``, ``df_meas`` and ``df_infusions``; paths
under ``synthetic/`` and ``tests/`` resolve as in the repository.

The fences are found by a small Markdown fence parser (indented fences inside lists too, ``~~~``
as well as backticks), not by a pattern for one spelling, and the tests check that nothing that
looks like Python hides in a block tagged otherwise, so a block cannot escape by its tag.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import textwrap
import warnings
from pathlib import Path
from typing import NamedTuple

import matplotlib
import pytest

import cohort
from cohort.errors import CohortWarning

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PYTHON_TAGS = {"python", "py", "python3", "pycon", "ipython"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")


class Block(NamedTuple):
    page: Path
    line: int  # line of the opening fence, 1-based
    info: str  # the fence's language tag ("" when untagged)
    code: str


def fenced_blocks(text: str, page: Path) -> list[Block]:
    """Every fenced code block of a Markdown text (CommonMark fences: 3+ backticks or
    tildes, closed by a fence of the same character at least as long, possibly indented)."""
    blocks: list[Block] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start = m.group("fence"), i
        body = []
        i += 1
        while i < len(lines):
            close = re.match(r"^[ \t]*(`{3,}|~{3,})\s*$", lines[i])
            if close and close.group(1)[0] == fence[0] and len(close.group(1)) >= len(fence):
                break
            body.append(lines[i])
            i += 1
        blocks.append(Block(page, start + 1, m.group("info").lower(),
                            textwrap.dedent("\n".join(body)) + "\n"))
        i += 1
    return blocks


ALL_BLOCKS = [b for page in PAGES for b in fenced_blocks(page.read_text(encoding="utf-8"), page)]
BLOCKS = [b for b in ALL_BLOCKS if b.info in PYTHON_TAGS]


def run_block(block: Block, namespace: dict) -> None:
    """Execute one block as a user would paste it; any exception fails the test, with the
    page and line of the block in the traceback."""
    code = block.code
    if block.info == "pycon" or code.lstrip().startswith(">>>"):
        raise AssertionError(f"{block.page.name}:{block.line}: a console transcript; docs "
                             "show runnable blocks, not >>> sessions")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # cohort's warnings (few events per variable) are what the examples demonstrate
        warnings.simplefilter("ignore", CohortWarning)
        exec(compile(code, f"{block.page.name}:{block.line}", "exec"), namespace)


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


def test_every_python_fence_is_collected() -> None:
    # an independent count of the fences tagged as Python, however indented or spelled
    tagged = sum(len(re.findall(r"^[ \t]*(?:```|~~~)[ \t]*(?:python3?|py|pycon|ipython)\b",
                                page.read_text(encoding="utf-8"), flags=re.M | re.I))
                 for page in PAGES)
    assert len(BLOCKS) == tagged
    assert len(BLOCKS) >= 12  # README and docs had 12 when this test was written


def test_no_python_hides_in_a_block_tagged_otherwise() -> None:
    looks_like_python = re.compile(
        r"^\s*(import \w|from [\w.]+ import |>>> |def \w+\(|print\()", flags=re.M)
    hidden = [f"{b.page.name}:{b.line} ({b.info or 'untagged'})" for b in ALL_BLOCKS
              if b.info not in PYTHON_TAGS and looks_like_python.search(b.code)]
    assert hidden == [], "tag these blocks ```python so that they run"


def test_the_fence_parser_finds_indented_and_tilde_blocks() -> None:
    text = ("intro\n```python\na = 1\n```\n- item\n\n    ```python\n    b = 2\n    ```\n"
            "~~~py\nc = 3\n~~~\n````yaml\nx: 1\n```\nstill: yaml\n````\n")
    found = [(b.line, b.info, b.code) for b in fenced_blocks(text, Path("x.md"))]
    assert found == [(2, "python", "a = 1\n"), (7, "python", "b = 2\n"), (10, "py", "c = 3\n"),
                     (13, "yaml", "x: 1\n```\nstill: yaml\n")]


def test_a_failing_block_fails_with_its_page_and_line(tmp_path) -> None:
    page = tmp_path / "page.md"
    page.write_text("text\n\n```python\nx = 1\nraise RuntimeError('broken example')\n```\n",
                    encoding="utf-8")
    [block] = fenced_blocks(page.read_text(encoding="utf-8"), page)
    with pytest.raises(RuntimeError, match="broken example") as info:
        run_block(block, {"__name__": "__docs__"})
    assert any(str(entry.path) == "page.md:3" for entry in info.traceback)
    # a warning other than cohort's own is an error, as in the test suite
    noisy = Block(page, 9, "python", "import warnings\nwarnings.warn('x', FutureWarning)\n")
    with pytest.raises(FutureWarning), warnings.catch_warnings():
        warnings.simplefilter("error")
        run_block(noisy, {})
    with pytest.raises(AssertionError, match="console transcript"):
        run_block(Block(page, 1, "pycon", ">>> 1 + 1\n2\n"), {})


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{b.page.name}:{b.line}" for b in BLOCKS])
def test_python_block_runs(workspace, monkeypatch, block) -> None:
    matplotlib.use("Agg")
    monkeypatch.chdir(workspace)
    lu = cohort.load_cohort(ROOT / "synthetic" / "lu2021" / "cohort")
    namespace = {"__name__": "__docs__", "df_subjects": lu.subjects,
                 "df_meas": lu.measurements, "df_infusions": lu.infusions}
    try:
        run_block(block, namespace)
    finally:
        import matplotlib.pyplot as plt

        plt.close("all")

"""Shared fixtures. Tests never write into tests/data: they copy what they change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
EXAMPLE = DATA / "example"


@pytest.fixture
def example_dir() -> Path:
    """The hand-made example cohort (read-only: copy it before changing anything)."""
    return EXAMPLE


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A writable copy of the example cohort."""
    dest = tmp_path / "example"
    shutil.copytree(EXAMPLE, dest)
    return dest

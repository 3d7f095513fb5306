"""Locate the data folders shipped with the package (schemas, synthetic cohorts, presets).

In an installed wheel they live inside the package (``cohort/schemas``, ...); in a source
checkout they are top-level folders next to ``cohort/``. Both are found the same way, so the
code never depends on the working directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["data_path"]


def data_path(name: str) -> Path:
    """Return the folder ``name`` (``"schemas"``, ``"synthetic"``, ``"presets"``).

    Raises
    ------
    FileNotFoundError
        If the folder is neither packaged nor present in a source checkout.
    """
    packaged = Path(str(resources.files("cohort"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"the package data folder {name!r} is missing: looked in {packaged} and {checkout}; "
        "reinstall the package"
    )

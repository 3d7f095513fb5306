"""cohort: patient-level analysis of cell-therapy trials in diabetes.

The top-level names are imported lazily so that ``import cohort`` and ``cohort --help`` stay
fast: nothing heavy (pandera, plotting, survival) loads until it is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "Cohort": "cohort.io.cohort",
    "ValidationReport": "cohort.validation.report",
    "validate": "cohort.validation.pipeline",
    "load_cohort": "cohort.validation.pipeline",
    "from_frames": "cohort.validation.pipeline",
    "read_mapping": "cohort.io.mapping",
    "write_cohort": "cohort.io.write",
    "load_contract": "cohort.contract",
}

__all__ = [
    "Cohort",
    "datasets",
    "ValidationReport",
    "__version__",
    "from_frames",
    "load_contract",
    "load_cohort",
    "read_mapping",
    "validate",
    "write_cohort",
]

if TYPE_CHECKING:
    from cohort import datasets
    from cohort.contract import load_contract
    from cohort.io.cohort import Cohort
    from cohort.io.mapping import read_mapping
    from cohort.io.write import write_cohort
    from cohort.validation.pipeline import from_frames, load_cohort, validate
    from cohort.validation.report import ValidationReport


def __getattr__(name: str) -> Any:
    if name == "datasets":  # the bundled cohorts: cohort.datasets.load("lu2021")
        return import_module("cohort.datasets")
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cohort' has no attribute {name!r}")

"""The study spec, one home for it: models, validation, vocabulary, conditions, value
back-solving, the catalogue of analyses a target may name, the registry of bundled studies and
the provenance (published or assumed) of every number.

The generator (:mod:`cohort.synth`) turns a spec into tables; :mod:`cohort.studies` computes
its targets on a cohort. Both read the spec from here; nothing here imports either of them.
Names are imported lazily, so listing the registered studies does not load numpy or pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ANALYSES": "cohort.spec.analyses",
    "AnalysisInfo": "cohort.spec.analyses",
    "Condition": "cohort.spec.blocks",
    "StudyEntry": "cohort.spec.registry",
    "StudySpec": "cohort.spec.model",
    "Target": "cohort.spec.targets",
    "condition_mask": "cohort.spec.conditions",
    "design_table": "cohort.spec.tables",
    "distribution_text": "cohort.spec.tables",
    "load_spec": "cohort.spec.load",
    "provenance_rows": "cohort.spec.readme",
    "provenance_table": "cohort.spec.tables",
    "registered_studies": "cohort.spec.registry",
    "resolve_spec": "cohort.spec.registry",
    "spec_from_dict": "cohort.spec.load",
    "spec_hash": "cohort.spec.registry",
    "study_folder": "cohort.spec.registry",
}

__all__ = [
    "ANALYSES",
    "AnalysisInfo",
    "Condition",
    "StudyEntry",
    "StudySpec",
    "Target",
    "condition_mask",
    "design_table",
    "distribution_text",
    "load_spec",
    "provenance_rows",
    "provenance_table",
    "registered_studies",
    "resolve_spec",
    "spec_from_dict",
    "spec_hash",
    "study_folder",
]

if TYPE_CHECKING:
    from cohort.spec.analyses import ANALYSES, AnalysisInfo
    from cohort.spec.blocks import Condition
    from cohort.spec.conditions import condition_mask
    from cohort.spec.load import load_spec, spec_from_dict
    from cohort.spec.model import StudySpec
    from cohort.spec.readme import provenance_rows
    from cohort.spec.registry import (
        StudyEntry,
        registered_studies,
        resolve_spec,
        spec_hash,
        study_folder,
    )
    from cohort.spec.tables import design_table, distribution_text, provenance_table
    from cohort.spec.targets import Target


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cohort.spec' has no attribute {name!r}")

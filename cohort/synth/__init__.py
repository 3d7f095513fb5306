"""Synthetic cohorts modelled on published studies: the generator that turns a study spec
(:mod:`cohort.spec`) into contract tables. The spec names and the fidelity scorecard are
re-exported here for older imports.

Names are imported lazily, so listing the registered studies does not load numpy or pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ANALYSES": "cohort.spec.analyses",
    "StudySpec": "cohort.spec.model",
    "SynthResult": "cohort.synth.generate",
    "arm_sizes": "cohort.synth.generate",
    "load_spec": "cohort.spec.load",
    "registered_studies": "cohort.spec.registry",
    "resolve_spec": "cohort.spec.registry",
    "scorecard": "cohort.studies.scorecard",
    "spec_from_dict": "cohort.spec.load",
    "synthesize": "cohort.synth.generate",
}

__all__ = [
    "ANALYSES",
    "StudySpec",
    "SynthResult",
    "arm_sizes",
    "load_spec",
    "registered_studies",
    "resolve_spec",
    "scorecard",
    "spec_from_dict",
    "synthesize",
]

if TYPE_CHECKING:
    from cohort.spec.analyses import ANALYSES
    from cohort.spec.load import load_spec, spec_from_dict
    from cohort.spec.model import StudySpec
    from cohort.spec.registry import registered_studies, resolve_spec
    from cohort.studies.scorecard import scorecard
    from cohort.synth.generate import SynthResult, arm_sizes, synthesize


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cohort.synth' has no attribute {name!r}")

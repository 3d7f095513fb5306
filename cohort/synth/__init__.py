"""Synthetic cohorts modelled on published studies: specs, back-solving, the generator and
its fidelity scorecard.

Names are imported lazily, so listing the registered studies does not load numpy or pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ANALYSES": "cohort.synth.analyses",
    "StudySpec": "cohort.synth.spec",
    "SynthResult": "cohort.synth.generate",
    "arm_sizes": "cohort.synth.generate",
    "load_spec": "cohort.synth.spec",
    "registered_studies": "cohort.synth.registry",
    "resolve_spec": "cohort.synth.registry",
    "scorecard": "cohort.synth.fidelity",
    "spec_from_dict": "cohort.synth.spec",
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
    from cohort.synth.analyses import ANALYSES
    from cohort.synth.fidelity import scorecard
    from cohort.synth.generate import SynthResult, arm_sizes, synthesize
    from cohort.synth.registry import registered_studies, resolve_spec
    from cohort.synth.spec import StudySpec, load_spec, spec_from_dict


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cohort.synth' has no attribute {name!r}")

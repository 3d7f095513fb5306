"""Moved to :mod:`cohort.spec` (the study spec's one home); kept so older imports work."""

from cohort.spec.load import format_validation_error, load_spec, spec_from_dict
from cohort.spec.model import *  # noqa: F403
from cohort.spec.model import __all__ as _model_all
from cohort.spec.provenance import iter_values

__all__ = [*_model_all, "format_validation_error", "iter_values", "load_spec",
           "spec_from_dict"]

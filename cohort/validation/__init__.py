"""Validation against the data contract: pandera schemas, cross-table rules, the report."""

from cohort.validation.pipeline import from_frames, load_cohort, validate
from cohort.validation.report import ValidationReport

__all__ = ["ValidationReport", "from_frames", "load_cohort", "validate"]

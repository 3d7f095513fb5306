"""Moved to :mod:`cohort.spec.registry`; kept so older imports work."""

from cohort.spec.registry import StudyEntry, registered_studies, resolve_spec, study_folder

__all__ = ["StudyEntry", "registered_studies", "resolve_spec", "study_folder"]

"""Moved to :mod:`cohort.spec.analyses`; kept so older imports work."""

from cohort.spec.analyses import ANALYSES, AnalysisInfo

__all__ = ["ANALYSES", "AnalysisInfo"]

"""Moved to :mod:`cohort.studies.scorecard` (the scorecard is reproduction restricted to the
baseline targets); kept so older imports work. The generator never imports this module."""

from cohort.studies.scorecard import TOLERANCE_RULE, Scorecard, baseline_table, scorecard

__all__ = ["TOLERANCE_RULE", "Scorecard", "baseline_table", "scorecard"]

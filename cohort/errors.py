"""Exceptions and warning categories raised by :mod:`cohort`.

Every error a user can cause subclasses :class:`CohortError` (itself a ``ValueError``), so a
caller can catch one class; the CLI turns them into a message and exit code 2.
"""

from __future__ import annotations

__all__ = [
    "AnalysisError",
    "CohortError",
    "ConvergenceWarning",
    "SpecError",
    "ContractError",
    "InvalidCohortError",
    "MappingError",
    "SmallSampleWarning",
    "CohortWarning",
    "CollinearityWarning",
    "SeparationWarning",
]


class CohortError(ValueError):
    """Base class for errors caused by the input (data, mapping, spec or options)."""


class ContractError(CohortError):
    """The contract files in ``schemas/`` are malformed (a packaging or editing mistake)."""


class MappingError(CohortError):
    """A mapping file is invalid or names columns, tables or values that do not exist."""


class InvalidCohortError(CohortError):
    """A cohort breaks the data contract; ``report`` holds every finding."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


class CohortWarning(UserWarning):
    """Base class for warnings about the data or an analysis."""


class SmallSampleWarning(CohortWarning):
    """An analysis is run on too few subjects or events for its results to be reliable."""


class AnalysisError(CohortError):
    """An analysis cannot run on the data given (missing parameter, single arm, no events)."""


class SpecError(CohortError):
    """A study spec (YAML) is invalid; the message names the key."""


class ConvergenceWarning(CohortWarning):
    """A model fit did not converge or hit a boundary (e.g. separation)."""


class SeparationWarning(ConvergenceWarning):
    """A logistic model shows (quasi-)complete separation: some maximum-likelihood estimates
    are infinite, so their odds ratios, standard errors and Wald tests are meaningless."""


class CollinearityWarning(CohortWarning):
    """Predictors are (nearly) collinear or one confounds another by design (e.g. a cell dose
    that is 0 for every control is collinear with the treatment arm)."""

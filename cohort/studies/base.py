"""What a recipe returns (:class:`Reproduced`) and what it raises (:class:`NotComputable`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cohort.errors import AnalysisError

__all__ = ["NotComputable", "Reproduced", "num"]


class NotComputable(AnalysisError):  # noqa: N818 (the agreed interface name)
    """A published target cannot be computed on this cohort; the message says why.

    Raised by a recipe when the cohort lacks what the target needs (an arm, a parameter, a
    visit, a table, a variable named in a condition). :func:`cohort.studies.reproduce`
    turns it, and any other :class:`cohort.errors.CohortError` an analysis raises, into a
    row with agreement ``"not computable"`` and the message as the reason.
    """


@dataclass
class Reproduced:
    """A reproduced number.

    Attributes
    ----------
    value : float
        The reproduced estimate, in the unit of the published number (NaN when the target
        is a p-value only and the analysis has no single estimate).
    ci_lower, ci_upper : float
        Its 95% confidence interval (NaN when the analysis gives none; ``inf`` for an
        unbounded limit, e.g. a Kaplan-Meier median CI that is not reached).
    p : float
        The p-value of the analysis (NaN when there is none).
    n : int or None
        Subjects (or episodes) the number rests on.
    method : str
        What was computed, in words (e.g. ``"ANCOVA of change, arm + baseline (lm)"``).
    values : list of float or None
        For list targets (censored durations, longest first).
    notes : list of str
        Caveats and warnings raised while computing it.
    """

    value: float = math.nan
    ci_lower: float = math.nan
    ci_upper: float = math.nan
    p: float = math.nan
    n: int | None = None
    method: str = ""
    values: list[float] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def has_ci(self) -> bool:
        """True when both CI limits are known (``inf`` counts as known: not reached)."""
        return not (math.isnan(self.ci_lower) or math.isnan(self.ci_upper))


def num(value: Any) -> float:
    """``value`` as a float; NaN for None, NA and NaN."""
    if value is None or value is pd.NA:
        return math.nan
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


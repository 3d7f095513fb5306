"""Units of time of the survival analyses: days on the analysis clock, shown in any unit.

Times are held in days everywhere inside; a unit only converts what a user types (landmarks,
at-risk times, a time column of a supplied file) and what is shown. A month is 365.25 / 12 =
30.4375 days and a year 365.25 days (the conventions of R's ``survival`` examples and of the
published cell-therapy trials this package reproduces).
"""

from __future__ import annotations

from typing import Literal

from cohort.errors import AnalysisError

__all__ = ["MONTH_DAYS", "UNIT_DAYS", "TimeUnit", "unit_days"]

MONTH_DAYS = 30.4375
"""Days per month (365.25 / 12) for landmarks and at-risk times given in months."""

TimeUnit = Literal["days", "weeks", "months", "years"]

UNIT_DAYS: dict[str, float] = {"days": 1.0, "weeks": 7.0, "months": MONTH_DAYS,
                               "years": 365.25}
"""Days per unit of time."""


def unit_days(unit: str) -> float:
    """Days per ``unit`` (days, weeks, months, years); an unknown unit is an error."""
    if unit not in UNIT_DAYS:
        raise AnalysisError(f"time unit must be one of {', '.join(UNIT_DAYS)}, got {unit!r}")
    return UNIT_DAYS[unit]

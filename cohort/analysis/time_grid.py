"""Times to show and to report, chosen from the data's follow-up: the x-axis ticks of a
survival figure, its numbers-at-risk times and the default landmarks.

A fixed list (6, 12, 24, 36, 48 months) gives a 12-month trial a 48-month axis and four
"beyond follow-up" landmarks; a 10-year registry gets ticks that stop at 4 years. Here the step
is a round step of the unit (3 months, 12 months, 4 weeks, ...) that covers the follow-up in
3 to 6 intervals, as a statistician would choose the
``break.time.by`` of survminer or the ``times=`` of ``summary(survfit)``.
"""

from __future__ import annotations

import math

import numpy as np

from cohort.analysis.time_units import unit_days
from cohort.errors import AnalysisError

__all__ = ["MAX_INTERVALS", "MIN_INTERVALS", "STEPS", "auto_landmarks", "nice_step", "time_ticks"]

MIN_INTERVALS = 3
"""Fewest intervals between ticks when a round step allows it."""
MAX_INTERVALS = 6
"""Most intervals between ticks (at most 7 ticks with 0)."""

STEPS: dict[str, tuple[float, ...]] = {
    "days": (1, 2, 5, 7, 14, 28, 30, 50, 60, 90, 100, 180, 200, 365, 500, 730, 1000, 1825,
             3650),
    "weeks": (1, 2, 4, 8, 12, 13, 26, 52, 104, 260, 520),
    "months": (1, 3, 6, 12, 24, 36, 60, 120, 240),
    "years": (0.25, 0.5, 1, 2, 5, 10, 20, 50),
}
"""Round steps per unit of time (calendar steps: weeks, quarters, years)."""


def nice_step(span: float, unit: str) -> float:
    """A round step of ``unit`` that covers ``span`` (in ``unit``) in 3 to 6 intervals with the
    least overshoot past ``span`` (the smaller step on a tie): 3 months for a 12-month
    follow-up, 6 for 36, 12 for 48; 100 days for 365 days.

    When no listed step gives 3 to 6 intervals, the smallest one giving at most 6 is used.
    """
    unit_days(unit)  # an unknown unit is an error
    if not (math.isfinite(span) and span > 0):
        raise AnalysisError(f"the follow-up must be a positive time, got {span!r} {unit}")
    steps = list(STEPS[unit])
    while math.ceil(span / steps[-1] - 1e-9) > MAX_INTERVALS:
        steps.append(steps[-1] * 10)  # beyond the table (centuries of days)
    fits = [(math.ceil(span / step - 1e-9), step) for step in steps]
    good = [(n * step - span, step) for n, step in fits
            if MIN_INTERVALS <= n <= MAX_INTERVALS]
    if good:
        return float(min(good)[1])
    return float(next(step for n, step in fits if n <= MAX_INTERVALS))


def time_ticks(last_day: float, unit: str = "months") -> np.ndarray:
    """Tick times in days, from 0 to the first round time at or after ``last_day``.

    Parameters
    ----------
    last_day : float
        The last observed time of the data (days).
    unit : {"days", "weeks", "months", "years"}
        Unit in which the ticks are round (1 month = 30.4375 days, 1 year = 365.25 days).

    Returns
    -------
    ndarray
        ``0, step, 2 step, ...`` in days; the last tick is at or after ``last_day``, so the
        ticks cover the whole curve.

    Examples
    --------
    >>> (time_ticks(365.0, "months") / 30.4375).round(6).tolist()
    [0.0, 3.0, 6.0, 9.0, 12.0]
    >>> time_ticks(84.0, "days").tolist()
    [0.0, 14.0, 28.0, 42.0, 56.0, 70.0, 84.0]
    """
    factor = unit_days(unit)
    if not (math.isfinite(last_day) and last_day >= 0):
        raise AnalysisError(f"the last follow-up time must be days >= 0, got {last_day!r}")
    if last_day == 0:
        return np.array([0.0])
    span = last_day / factor
    step = nice_step(span, unit)
    n = math.ceil(span / step - 1e-9)
    return np.arange(n + 1, dtype=float) * step * factor


def auto_landmarks(last_day: float, unit: str = "months") -> np.ndarray:
    """Default landmark times in days: the ticks of :func:`time_ticks` after 0 and within the
    follow-up (none "beyond follow-up").

    Examples
    --------
    >>> (auto_landmarks(365.0, "months") / 30.4375).round(6).tolist()
    [3.0, 6.0, 9.0]
    >>> (auto_landmarks(4 * 365.25, "months") / 30.4375).round(6).tolist()
    [12.0, 24.0, 36.0, 48.0]
    """
    ticks = time_ticks(last_day, unit)
    return ticks[(ticks > 0) & (ticks <= last_day)]

"""Nominal visits and their windows of study days.

A **visit** is a nominal study day with an inclusive window ``[lower, upper]``
(:class:`Visit`); :func:`make_visits` builds non-overlapping windows around nominal days
(default half-width 15% of the day, at least 7 days) and :func:`resolve_visits` picks the visits
an analysis runs at. Which value counts inside a window is decided in
:mod:`cohort.derive.visit_values`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from cohort.errors import AnalysisError

__all__ = [
    "Visit",
    "default_half_width",
    "make_visits",
    "resolve_visits",
]


@dataclass(frozen=True)
class Visit:
    """A nominal visit with an inclusive window of study days.

    Parameters
    ----------
    label : str
        Name of the visit as reported (e.g. ``"week 12"``, ``"day 84"``).
    day : int
        Nominal study day of the visit.
    lower, upper : int
        First and last study day (inclusive) whose values count for this visit;
        ``lower <= day <= upper``.
    """

    label: str
    day: int
    lower: int
    upper: int

    def __post_init__(self) -> None:
        for name in ("day", "lower", "upper"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise AnalysisError(f"visit {self.label!r}: {name} must be an integer study "
                                    f"day, got {value!r}")
        if not self.lower <= self.day <= self.upper:
            raise AnalysisError(
                f"visit {self.label!r}: the window [{self.lower}, {self.upper}] must contain "
                f"the nominal day {self.day}; give lower <= day <= upper")

    @property
    def window(self) -> tuple[int, int]:
        """``(lower, upper)``."""
        return (self.lower, self.upper)


def default_half_width(day: int) -> int:
    """Default half-width (days) of a visit window: 15% of the nominal day, at least 7 days.

    Parameters
    ----------
    day : int
        Nominal study day of the visit.
    """
    return max(7, round(0.15 * abs(day)))


def make_visits(days: Iterable[int], *, half_width: int | Sequence[int] | None = None,
                labels: Sequence[str] | None = None, min_day: int = 1) -> list[Visit]:
    """Build post-baseline visits with windows around nominal days.

    Parameters
    ----------
    days : iterable of int
        Nominal study days of the visits (e.g. ``[56, 84]`` for weeks 8 and 12).
    half_width : int, sequence of int or None, keyword-only
        Window half-width in days, one for all visits or one per visit. ``None`` (default)
        uses :func:`default_half_width` (15% of the day, at least 7 days) and, where two
        default windows would overlap, splits them at the midpoint between the nominal days.
        Explicit half-widths that make windows overlap are an error (a value must count for
        one visit only).
    labels : sequence of str or None, keyword-only
        Visit labels; default ``"day <d>"``.
    min_day : int, keyword-only
        No window starts before this day (default 1: follow-up values are after day 0, so a
        baseline value can never count as follow-up).

    Returns
    -------
    list of Visit
        Sorted by nominal day.

    Raises
    ------
    AnalysisError
        Duplicate or non-integer days, a day before ``min_day``, mismatched lengths,
        negative half-widths or overlapping explicit windows.

    Examples
    --------
    >>> from cohort.derive.visit_windows import make_visits
    >>> for visit in make_visits([91, 182, 365], labels=["month 3", "month 6", "month 12"]):
    ...     print(visit)
    Visit(label='month 3', day=91, lower=77, upper=105)
    Visit(label='month 6', day=182, lower=155, upper=209)
    Visit(label='month 12', day=365, lower=310, upper=420)
    """
    days = list(days)
    if not days:
        raise AnalysisError("no visit days given; give at least one nominal study day "
                            "(e.g. 84 for week 12)")
    for d in days:
        if isinstance(d, bool) or not isinstance(d, int | np.integer):
            raise AnalysisError(f"visit days must be integer study days, got {d!r}")
    days = [int(d) for d in days]
    if len(set(days)) != len(days):
        raise AnalysisError(f"visit days must be distinct, got {days}")
    if min(days) < min_day:
        raise AnalysisError(f"visit day {min(days)} is before day {min_day}; follow-up "
                            f"visits are after day 0 (baseline is derived separately)")
    if labels is not None and len(labels) != len(days):
        raise AnalysisError(f"{len(labels)} visit labels for {len(days)} visit days")
    label_of = dict(zip(days, labels, strict=True)) if labels is not None else {
        d: f"day {d}" for d in days}
    explicit = half_width is not None
    if half_width is None:
        widths = {d: default_half_width(d) for d in days}
    elif isinstance(half_width, int | np.integer):
        widths = dict.fromkeys(days, int(half_width))
    else:
        if len(half_width) != len(days):
            raise AnalysisError(f"{len(half_width)} half-widths for {len(days)} visit days")
        widths = {d: int(w) for d, w in zip(days, half_width, strict=True)}
    if any(w < 0 for w in widths.values()):
        raise AnalysisError(f"window half-widths must be >= 0 days, got {list(widths.values())}")
    order = sorted(days)
    lower = {d: max(min_day, d - widths[d]) for d in order}
    upper = {d: d + widths[d] for d in order}
    for a, b in itertools.pairwise(order):
        if upper[a] >= lower[b]:
            if explicit:
                raise AnalysisError(
                    f"visit windows overlap: day {a} [{lower[a]}, {upper[a]}] and day {b} "
                    f"[{lower[b]}, {upper[b]}]; use a smaller half-width (at most "
                    f"{(b - a - 1) // 2} days here) or the default windows")
            # split at the midpoint; the earlier visit keeps the midpoint day
            mid = (a + b) // 2
            upper[a] = min(upper[a], mid)
            lower[b] = max(lower[b], mid + 1)
    return [Visit(label_of[d], d, lower[d], upper[d]) for d in order]


def _check_visits(visits: Iterable[Visit] | Visit) -> list[Visit]:
    if isinstance(visits, Visit):
        visits = [visits]
    visits = list(visits)
    for v in visits:
        if not isinstance(v, Visit):
            raise AnalysisError(f"visits must be Visit objects (see make_visits), got {v!r}")
    labels = [v.label for v in visits]
    if len(set(labels)) != len(labels):
        raise AnalysisError(f"visit labels must be distinct, got {labels}")
    return visits


def resolve_visits(*, visit_days: Iterable[int] | None = None,
                   visits: Iterable[Visit] | None = None,
                   half_width: int | Sequence[int] | None = None,
                   last: bool = False) -> list[Visit]:
    """The visits an analysis runs at: explicit :class:`Visit` objects or nominal days.

    Parameters
    ----------
    visit_days : iterable of int or None, keyword-only
        Nominal study days; windows from :func:`make_visits` with ``half_width``.
    visits : iterable of Visit or None, keyword-only
        Explicit visits (take precedence; then ``visit_days`` must be None).
    half_width : int, sequence of int or None, keyword-only
        Window half-width(s) in days for ``visit_days``.
    last : bool, keyword-only
        Whether the last available follow-up is also analysed (then no visits is fine).

    Returns
    -------
    list of Visit
    """
    if visits is not None and visit_days is not None:
        raise AnalysisError("give either visits or visit_days, not both")
    if visits is not None:
        out = _check_visits(visits)
    elif visit_days is not None:
        out = make_visits(visit_days, half_width=half_width)
    else:
        out = []
    if not out and not last:
        raise AnalysisError("no visit asked for: give visit days (e.g. 84 for week 12) and/or "
                            "ask for the last available follow-up")
    return out

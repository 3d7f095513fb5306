"""Risk sets of a time-to-event table: rows to analyse, event tables, numbers at risk.

Shared by the survival modules (:mod:`cohort.analysis.kaplan_meier`,
:mod:`cohort.analysis.logrank`, :mod:`cohort.analysis.cox`, ...). Times are study days on the
analysis clock; a row is at risk in ``(start, stop]`` (``start`` 0: from the origin, at risk
at time 0 as well).

**Numbers at risk** at a time t are computed here rather than taken from lifelines (whose
at-risk display has known errors), as R's ``summary(survfit, times = t)``: the number at risk
at the first observed time >= t (for right-censored data: the number with ``stop >= t``), with
events and censorings counted since the previous displayed time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

from cohort.analysis.time_to_event import check_tte
from cohort.analysis.time_units import MONTH_DAYS, UNIT_DAYS, TimeUnit, unit_days
from cohort.errors import AnalysisError

__all__ = ["DEFAULT_LANDMARKS_MONTHS", "MONTH_DAYS", "UNIT_DAYS", "TimeUnit", "at_risk_table",
           "to_days"]


DEFAULT_LANDMARKS_MONTHS: tuple[float, ...] = (6, 12, 24, 36, 48)
"""Default landmark times in months."""

ALL = "all"
"""Group label when the table is not split by group."""


_CHECKED: ContextVar[frozenset[int]] = ContextVar("cohort_checked_tte", default=frozenset())
"""ids of tables :func:`checked_once` has checked, for the duration of that block only."""


@contextmanager
def checked_once(tte: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """Check ``tte`` once for several analyses of it (KM, log-rank, Cox in one run).

    Yields the checked copy; within the block :func:`prepare_tte` does not check that copy
    again (nothing outside the block holds it, so it cannot change in between).
    """
    data = check_tte(tte)
    token = _CHECKED.set(_CHECKED.get() | {id(data)})
    try:
        yield data
    finally:
        _CHECKED.reset(token)


def prepare_tte(tte: pd.DataFrame, group: str | None,
                extra: Sequence[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check the table, drop rows unusable for the analysis and say why.

    Returns the rows kept and the exclusions (``subject_id``, ``reason``): rows missing the
    group, rows never at risk (``stop`` equal to a delayed entry ``start``).
    """
    data = tte if id(tte) in _CHECKED.get() else check_tte(tte)
    for col in ([group] if group else []) + list(extra):
        if col not in data.columns:
            raise AnalysisError(f"the time-to-event table has no column {col!r}; columns: "
                                f"{', '.join(map(str, data.columns))}")
    excl: list[pd.DataFrame] = []
    if group:
        na = data[group].isna().to_numpy()
        if na.any():
            excl.append(pd.DataFrame({"subject_id": data.loc[na, "subject_id"],
                                      "reason": f"missing {group}"}))
            data = data.loc[~na]
    never = ((data["start"] > 0) & (data["stop"] <= data["start"])).to_numpy()
    if never.any():
        excl.append(pd.DataFrame({"subject_id": data.loc[never, "subject_id"],
                                  "reason": "never at risk: stop equals its delayed entry time"}))
        data = data.loc[~never]
    exclusions = (pd.concat(excl, ignore_index=True) if excl
                  else pd.DataFrame(columns=["subject_id", "reason"]))
    if len(data) == 0:
        raise AnalysisError("no rows left to analyse after exclusions: "
                            + "; ".join(exclusions["reason"].unique()))
    # a checked table has a fresh RangeIndex: copy only when rows were dropped
    return (data.reset_index(drop=True) if len(exclusions) else data), exclusions


def group_levels(data: pd.DataFrame, group: str) -> list[Any]:
    """The levels of ``group`` in sorted order (the order of every table and test)."""
    return sorted(data[group].unique(), key=lambda v: (str(type(v)), v))


def split_groups(data: pd.DataFrame, group: str | None) -> list[tuple[Any, pd.DataFrame]]:
    """``(level, rows)`` per group level in sorted order; one ``("all", data)`` without group."""
    if not group:
        return [(ALL, data)]
    levels = group_levels(data, group)
    codes = data[group].to_numpy()
    return [(lvl, data[codes == lvl]) for lvl in levels]


def entry_times(start: np.ndarray) -> np.ndarray:
    """Entry times for ``(start, stop]`` risk sets: -inf for ``start`` 0 (from the origin)."""
    return np.where(start > 0, start, -np.inf)


def event_table(start: np.ndarray, stop: np.ndarray, event: np.ndarray) -> pd.DataFrame:
    """Per distinct stop time: ``time``, ``n_risk`` (in ``(start, stop]``), ``n_event``,
    ``n_censor``."""
    times, pos, n_stop = np.unique(stop, return_inverse=True, return_counts=True)
    n_event = np.bincount(pos[event], minlength=len(times))
    n = len(stop)
    # at risk at t: stop >= t, minus rows entering at or after t (sorted needles: fast)
    n_risk = n - np.concatenate([[0], np.cumsum(n_stop)[:-1]])
    late = start[start > 0]
    if len(late):
        n_risk = n_risk - (len(late) - np.searchsorted(np.sort(late), times, side="left"))
    return pd.DataFrame({"time": times, "n_risk": n_risk.astype(np.int64),
                         "n_event": n_event.astype(np.int64),
                         "n_censor": (n_stop - n_event).astype(np.int64)})


def counts_at(table: pd.DataFrame, times: np.ndarray) -> pd.DataFrame:
    """R's summary(survfit, times=) counts from an event table (see at_risk_table)."""
    t = table["time"].to_numpy()
    nxt = np.searchsorted(t, times, side="left")
    n_risk = np.where(nxt < len(t), table["n_risk"].to_numpy()[np.minimum(nxt, len(t) - 1)], 0)
    last = np.searchsorted(t, times, side="right")
    cum_d = np.concatenate([[0], np.cumsum(table["n_event"].to_numpy())])[last]
    cum_c = np.concatenate([[0], np.cumsum(table["n_censor"].to_numpy())])[last]
    return pd.DataFrame({"time": times, "n_risk": n_risk.astype(np.int64),
                         "n_event": np.diff(cum_d, prepend=0).astype(np.int64),
                         "n_censor": np.diff(cum_c, prepend=0).astype(np.int64)})


def grouped_counts(tables: Sequence[tuple[Any, pd.DataFrame]], times: np.ndarray,
                   time_unit: str = "months") -> pd.DataFrame:
    """:func:`counts_at` per ``(group, event table)``, with ``group``, ``months`` and (when
    another unit is asked for) a column named after ``time_unit``."""
    parts = [counts_at(table, times).assign(group=lvl) for lvl, table in tables]
    out = pd.concat(parts, ignore_index=True)
    out.insert(1, "months", out["time"] / MONTH_DAYS)
    cols = ["group", "time", "months"]
    if time_unit != "months":
        out[time_unit] = out["time"] / unit_days(time_unit)
        cols.append(time_unit)
    return out[[*dict.fromkeys([*cols, "n_risk", "n_event", "n_censor"])]]


def to_days(values: Sequence[float] | None, unit: str, what: str) -> np.ndarray:
    """Times in ``unit`` as sorted unique days; ``what`` names them in the error message."""
    factor = unit_days(unit)
    arr = np.asarray([] if values is None else list(values), dtype=float)
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr < 0)):
        raise AnalysisError(f"{what} must be >= 0 {unit}, got {list(values or [])}")
    return np.unique(arr) * factor


def months_to_days(months: Sequence[float] | None, what: str) -> np.ndarray:
    """Times in months (1 month = 30.4375 days) as sorted unique days; ``what`` names them."""
    return to_days(months, "months", what)


def at_risk_table(tte: pd.DataFrame, times: Sequence[float], *,
                  group: str | None = None) -> pd.DataFrame:
    """Numbers at risk, events and censorings at chosen times (computed here, not lifelines').

    Parameters
    ----------
    tte : DataFrame
        A time-to-event table (times in days).
    times : sequence of float
        Times in days on the analysis clock (sorted and de-duplicated here).
    group : str, optional
        Column to split by.

    Returns
    -------
    DataFrame
        ``group``, ``time`` (days), ``months`` (time / 30.4375), ``n_risk`` (R's
        ``summary(survfit, times=)`` n.risk: at risk at the first observed time >= ``time``;
        0 after the last), ``n_event`` and ``n_censor`` (since the previous time in the table;
        the first row counts from the origin).
    """
    data, _ = prepare_tte(tte, group)
    arr = np.unique(np.asarray(list(times), dtype=float))
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise AnalysisError(f"at-risk times must be days >= 0, got {list(times)}")
    return grouped_counts([(lvl, event_table(sub["start"].to_numpy(), sub["stop"].to_numpy(),
                                             sub["event"].to_numpy()))
                           for lvl, sub in split_groups(data, group)], arr)


"""Values of a parameter at nominal visits and at the last available follow-up.

* **Value at a visit** (:class:`~cohort.derive.visit_windows.Visit`): the one *nearest* the
  nominal day inside the visit's window; of two equally near values the earlier is used
  (``rule="nearest"``). ``rule="last"`` / ``"first"`` take the last / first value inside the
  window instead.
* **Last available follow-up** (designs with variable follow-up, e.g. Matsuoka 2025): the last
  value on or after ``min_day`` (default day 1), optionally up to ``max_day``.

One row per subject of the universe and visit (see :mod:`cohort.derive.universe`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pandas as pd

from cohort.derive.universe import _concat, _param_rows, subject_universe
from cohort.derive.visit_windows import Visit, _check_visits
from cohort.errors import AnalysisError

__all__ = [
    "LAST_VISIT_LABEL",
    "last_followup",
    "values_at_visits",
]

LAST_VISIT_LABEL = "last"
"""Visit label of the last available follow-up."""

Rule = Literal["nearest", "last", "first"]


def _pick(rows: pd.DataFrame, target: int, rule: Rule) -> pd.DataFrame:
    if rule == "nearest":
        rows = rows.assign(_dist=(rows["day"] - target).abs())
        rows = rows.sort_values(["subject_id", "_dist", "day"]).drop(columns="_dist")
        return rows.groupby("subject_id", sort=False).head(1)
    rows = rows.sort_values(["subject_id", "day"])
    grouped = rows.groupby("subject_id", sort=False)
    return grouped.tail(1) if rule == "last" else grouped.head(1)


def values_at_visits(measurements: pd.DataFrame, param: str, visits: Iterable[Visit] | Visit,
                     *, rule: Rule = "nearest",
                     subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """Value of ``param`` per subject at each visit, taken inside the visit's window.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (canonical units).
    param : str
        Parameter code.
    visits : Visit or iterable of Visit
        The visits (see :func:`make_visits`).
    rule : {"nearest", "last", "first"}, keyword-only
        Which value in the window counts: nearest the nominal day (ties: the earlier; the
        default), or the last / first one in the window.
    subjects : DataFrame, iterable of str or None, keyword-only
        The subject universe (see :func:`subject_universe`).

    Returns
    -------
    DataFrame
        One row per subject and visit (visits in the order given): ``subject_id``, ``param``,
        ``visit`` (label), ``visit_day`` (nominal, Int64), ``day`` (actual, Int64), ``value``
        (float, canonical unit), ``reason`` (``<NA>`` when a value was found).
    """
    if rule not in ("nearest", "last", "first"):
        raise AnalysisError(f"rule must be 'nearest', 'last' or 'first', got {rule!r}")
    visits = _check_visits(visits)
    ids = subject_universe(measurements, subjects)
    rows = _param_rows(measurements, param)
    parts = []
    for v in visits:
        inside = rows.loc[(rows["day"] >= v.lower) & (rows["day"] <= v.upper)]
        picked = _pick(inside, v.day, rule).set_index("subject_id").reindex(ids)
        parts.append(_visit_frame(ids, param, v.label, v.day, picked,
                                  f"no {param} in days [{v.lower}, {v.upper}] of visit "
                                  f"{v.label!r}"))
    return _concat(parts)


def last_followup(measurements: pd.DataFrame, param: str, *, min_day: int = 1,
                  max_day: int | None = None,
                  subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """The last available follow-up value of ``param`` per subject.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (canonical units).
    param : str
        Parameter code.
    min_day : int, keyword-only
        Earliest study day that counts as follow-up (default 1, i.e. after day 0).
    max_day : int or None, keyword-only
        Latest study day considered (default: no limit).
    subjects : DataFrame, iterable of str or None, keyword-only
        The subject universe (see :func:`subject_universe`).

    Returns
    -------
    DataFrame
        Columns as :func:`values_at_visits`, with ``visit = "last"`` and ``visit_day`` NA.
    """
    if min_day < 1:
        raise AnalysisError(f"min_day must be >= 1 (follow-up is after day 0), got {min_day}")
    if max_day is not None and max_day < min_day:
        raise AnalysisError(f"max_day {max_day} is before min_day {min_day}")
    ids = subject_universe(measurements, subjects)
    rows = _param_rows(measurements, param)
    inside = rows["day"] >= min_day
    if max_day is not None:
        inside &= rows["day"] <= max_day
    picked = _pick(rows.loc[inside], 0, "last").set_index("subject_id").reindex(ids)
    span = f"days >= {min_day}" if max_day is None else f"days [{min_day}, {max_day}]"
    return _visit_frame(ids, param, LAST_VISIT_LABEL, None, picked,
                        f"no follow-up {param} in {span}")


def _visit_frame(ids: pd.Index, param: str, label: str, nominal_day: int | None,
                 picked: pd.DataFrame, missing_reason: str) -> pd.DataFrame:
    """The rows of one visit: the value picked per subject, or the reason it is missing."""
    value = picked["value"].to_numpy(dtype=np.float64)
    return pd.DataFrame({
        "subject_id": ids.to_numpy(dtype=object),
        "param": param,
        "visit": label,
        "visit_day": pd.array([pd.NA if nominal_day is None else nominal_day] * len(ids),
                              dtype="Int64"),
        "day": pd.array(picked["day"].to_numpy(), dtype="Int64"),
        "value": value,
        "reason": pd.array(np.where(np.isnan(value), missing_reason, None), dtype="string"),
    })

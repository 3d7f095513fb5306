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

import numpy as np
import pandas as pd

from cohort.derive.param_rows import (
    ParamRows,
    Rule,
    int_column,
    param_rows,
    pick,
    reasons,
    values,
)
from cohort.derive.universe import _concat, subject_universe
from cohort.derive.visit_windows import Visit, _check_visits
from cohort.errors import AnalysisError

__all__ = [
    "LAST_VISIT_LABEL",
    "last_followup",
    "values_at_visits",
]

LAST_VISIT_LABEL = "last"
"""Visit label of the last available follow-up."""


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
    _check_rule(rule)
    visits = _check_visits(visits)
    ids = subject_universe(measurements, subjects)
    return visits_frame(param_rows(measurements, param, ids), ids, visits, rule)


def _check_rule(rule: str) -> None:
    if rule not in ("nearest", "last", "first"):
        raise AnalysisError(f"rule must be 'nearest', 'last' or 'first', got {rule!r}")


def visits_frame(rows: ParamRows, ids: pd.Index, visits: list[Visit],
                 rule: Rule) -> pd.DataFrame:
    """:func:`values_at_visits` from a parameter's records already taken (``param_rows``)."""
    parts = [_visit_frame(rows, ids, v.label, v.day,
                          pick(rows, v.lower, v.upper, rule=rule, target=v.day),
                          f"no {rows.param} in days [{v.lower}, {v.upper}] of visit "
                          f"{v.label!r}") for v in visits]
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
    _check_followup(min_day, max_day)
    ids = subject_universe(measurements, subjects)
    return last_frame(param_rows(measurements, param, ids), ids, min_day, max_day)


def _check_followup(min_day: int, max_day: int | None) -> None:
    if min_day < 1:
        raise AnalysisError(f"min_day must be >= 1 (follow-up is after day 0), got {min_day}")
    if max_day is not None and max_day < min_day:
        raise AnalysisError(f"max_day {max_day} is before min_day {min_day}")


def last_frame(rows: ParamRows, ids: pd.Index, min_day: int,
               max_day: int | None) -> pd.DataFrame:
    """:func:`last_followup` from a parameter's records already taken (``param_rows``)."""
    span = f"days >= {min_day}" if max_day is None else f"days [{min_day}, {max_day}]"
    return _visit_frame(rows, ids, LAST_VISIT_LABEL, None,
                        pick(rows, min_day, max_day, rule="last"),
                        f"no follow-up {rows.param} in {span}")


def _visit_frame(rows: ParamRows, ids: pd.Index, label: str, nominal_day: int | None,
                 chosen: np.ndarray, missing_reason: str) -> pd.DataFrame:
    """The rows of one visit: the value picked per subject, or the reason it is missing."""
    n = len(ids)
    return pd.DataFrame({
        "subject_id": ids.to_numpy(dtype=object),
        "param": rows.param,
        "visit": label,
        "visit_day": pd.arrays.IntegerArray(np.full(n, nominal_day or 0, dtype=np.int64),
                                            np.full(n, nominal_day is None)),
        "day": int_column(rows, chosen),
        "value": values(rows, chosen),
        "reason": reasons(chosen < 0, missing_reason),
    })

"""Baseline of a parameter (the papers' definition).

All times are integer study days; day 0 is the first infusion for treated subjects and
randomisation or enrolment for controls. The **baseline** of a parameter is the *last* value on
or before day 0 inside a baseline window ``[lower, upper]`` (inclusive, default ``[-90, 0]``,
``upper <= 0`` always). One row per subject of the universe (see :mod:`cohort.derive.universe`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from cohort.derive.param_rows import ParamRows, int_column, param_rows, pick, reasons, values
from cohort.derive.universe import subject_universe
from cohort.errors import AnalysisError

__all__ = [
    "DEFAULT_BASELINE_WINDOW",
    "baseline_values",
]

DEFAULT_BASELINE_WINDOW: tuple[int, int] = (-90, 0)
"""Default baseline window in study days: the last value from day -90 to day 0."""


def _check_window(window: tuple[int, int], what: str) -> tuple[int, int]:
    try:
        lo, hi = (int(window[0]), int(window[1]))
    except (TypeError, ValueError, IndexError):
        raise AnalysisError(f"{what} must be a pair of integer study days (lower, upper), got "
                            f"{window!r}") from None
    if lo > hi:
        raise AnalysisError(f"{what} [{lo}, {hi}] is empty: lower must be <= upper")
    return lo, hi


def baseline_values(measurements: pd.DataFrame, param: str, *,
                    window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                    subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """Baseline of ``param`` per subject: the last value on or before day 0 in ``window``.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements with ``subject_id``, ``day``, ``param``, ``value`` (values in
        the parameter's canonical unit, e.g. HbA1c in %).
    param : str
        Parameter code, e.g. ``"HBA1C"`` or ``"CPEP_FAST"``.
    window : (int, int), keyword-only
        Inclusive baseline window in study days, default ``(-90, 0)``; ``upper`` must be
        <= 0 (a baseline is never after day 0).
    subjects : DataFrame, iterable of str or None, keyword-only
        The subject universe (see :func:`subject_universe`).

    Returns
    -------
    DataFrame
        One row per subject: ``subject_id``, ``param``, ``baseline_day`` (Int64),
        ``baseline`` (float, canonical unit), ``reason`` (string; ``<NA>`` when a baseline
        was found, otherwise why not).

    Raises
    ------
    AnalysisError
        If the cohort has no ``param`` values at all, or the window is invalid.

    Examples
    --------
    >>> from cohort import datasets
    >>> from cohort.derive.baseline import baseline_values
    >>> lu = datasets.load("lu2021")
    >>> baseline_values(lu.measurements, "HBA1C", subjects=lu.subjects).head(3)
      subject_id  param  baseline_day  baseline reason
    0     LU-001  HBA1C             0      10.8   <NA>
    1     LU-002  HBA1C             0      11.6   <NA>
    2     LU-003  HBA1C             0       8.5   <NA>
    """
    lo, hi = _baseline_window(window)
    ids = subject_universe(measurements, subjects)
    return baseline_frame(param_rows(measurements, param, ids), ids, (lo, hi))


def _baseline_window(window: tuple[int, int]) -> tuple[int, int]:
    lo, hi = _check_window(window, "the baseline window")
    if hi > 0:
        raise AnalysisError(f"the baseline window [{lo}, {hi}] ends after day 0; baseline is "
                            "the last value on or before day 0, so give an upper bound <= 0")
    return lo, hi


def baseline_frame(rows: ParamRows, ids: pd.Index, window: tuple[int, int]) -> pd.DataFrame:
    """:func:`baseline_values` from a parameter's records already taken (``param_rows``)."""
    lo, hi = window
    chosen = pick(rows, lo, hi, rule="last")
    return pd.DataFrame({
        "subject_id": ids.to_numpy(dtype=object),
        "param": rows.param,
        "baseline_day": int_column(rows, chosen),
        "baseline": values(rows, chosen),
        "reason": reasons(chosen < 0, f"no baseline {rows.param} in days [{lo}, {hi}]"),
    })

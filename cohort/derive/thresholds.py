"""Comparing derived values with a threshold, with a floating-point tolerance.

Derived quantities are computed in binary floating point: HbA1c 8.2 -> 7.7 gives a change of
-0.4999999999999991, not -0.5, and C-peptide 0.30 -> 0.33 nmol/L a percent change of
9.999999999999998, not 10. A criterion a reader checks by hand ("a fall of at least 0.5
percentage points", "a rise of at least 10%") must count such values as on the threshold.
:func:`meets_threshold` is the one place every criterion (responders, C-peptide remission)
compares a value with its threshold: values within ``TIE_TOLERANCE`` (relative to the
threshold's size, at least 1e-9 absolute) of the threshold count as equal to it, so ``<=`` and
``>=`` include them and ``<`` and ``>`` exclude them. The tolerance is far below any
laboratory's reporting precision, so no real difference is ever absorbed.
"""

from __future__ import annotations

import operator

import numpy as np

__all__ = ["OPERATORS", "TIE_TOLERANCE", "meets_threshold", "tie_tolerance"]

TIE_TOLERANCE = 1e-9
"""Relative tolerance (absolute for thresholds of size below 1) for a value on a threshold."""

OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def tie_tolerance(threshold: float) -> float:
    """The absolute tolerance used around ``threshold`` (``1e-9 * max(1, |threshold|)``)."""
    return TIE_TOLERANCE * max(1.0, abs(float(threshold)))


def meets_threshold(values: np.ndarray | float, op: str,
                    threshold: float) -> np.ndarray:
    """Whether each value meets ``value OP threshold``, ties within the tolerance included.

    Parameters
    ----------
    values : array or float
        Values in the threshold's unit (NaN compares False: the caller decides what a
        missing value means).
    op : {"<", "<=", ">", ">="}
    threshold : float

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> bool(meets_threshold(7.7 - 8.2, "<=", -0.5))
    True
    >>> bool(meets_threshold(7.7 - 8.2, "<", -0.5))
    False
    """
    if op not in OPERATORS:
        raise ValueError(f"operator must be one of {list(OPERATORS)}, got {op!r}")
    v = np.asarray(values, dtype=float)
    tol = tie_tolerance(threshold)
    # move the threshold by the tolerance toward including ties for <= and >=, and toward
    # excluding them for < and >
    shifted = {"<=": threshold + tol, ">=": threshold - tol,
               "<": threshold - tol, ">": threshold + tol}[op]
    return OPERATORS[op](v, shifted)

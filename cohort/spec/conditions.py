"""A spec condition (``when`` / ``among``) evaluated on per-subject values: the one place that
says which subjects a condition selects.

The generator (on its working arrays), the reproduction of targets (on a cohort's subject
frame) and the scorecard all call :func:`condition_mask`, so a condition means the same thing
everywhere. Values are compared as typed values, never as text:

* ``below`` / ``at_least`` / ``above`` / ``at_most`` need a numeric variable;
* ``equals`` compares a number with a numeric variable (``equals: 1`` and ``equals: 1.0``
  select the same subjects), ``true``/``false`` with a true/false variable (or one coded
  0/1), and a text with a text variable (a category level);
* ``in`` lists text levels of a text variable;
* a missing value (NaN, None, NA) never meets a test;
* ``all_of`` combines conditions (all must hold).

A comparison of mismatched types (a number with a category, text with a numeric variable) is
a :class:`ConditionError` naming the variable and both types, not a silently empty subgroup.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

import numpy as np

from cohort.errors import SpecError
from cohort.spec.blocks import Condition

try:  # pandas is optional here: the spec package itself never needs it
    from pandas import NA as _NA
except ImportError:  # pragma: no cover
    _NA = object()

__all__ = ["ConditionError", "condition_mask", "typed_values"]

_ORDER_TESTS = (("below", np.less), ("at_least", np.greater_equal), ("above", np.greater),
                ("at_most", np.less_equal))


class ConditionError(SpecError):
    """A condition cannot be evaluated on the values given (unknown variable, wrong type)."""


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v) or v is _NA  # NaN and pandas.NA
    except (TypeError, ValueError):
        return v is _NA



def typed_values(values: Any) -> tuple[str, np.ndarray, np.ndarray]:
    """Per-subject values as ``(kind, values, present)``.

    ``kind`` is ``"number"`` (float array, NaN where missing), ``"bool"`` (bool array) or
    ``"text"`` (object array of str); ``present`` marks non-missing entries. pandas arrays
    (nullable ``Int64``, ``boolean``, ``string``) are accepted.
    """
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        dtype = str(getattr(values, "dtype", ""))
        if dtype in ("boolean", "bool"):
            present = ~np.asarray(values.isna(), dtype=bool)
            return "bool", values.to_numpy(dtype=bool, na_value=False), present
        if dtype.startswith(("Int", "UInt", "Float", "int", "uint", "float")):
            arr = values.to_numpy(dtype=float, na_value=np.nan)
            return "number", arr, ~np.isnan(arr)
        values = values.to_numpy(dtype=object, na_value=None)
    arr = np.asarray(values)
    if arr.dtype.kind == "b":
        return "bool", arr, np.ones(arr.shape, dtype=bool)
    if arr.dtype.kind in "iuf":
        arr = arr.astype(float)
        return "number", arr, ~np.isnan(arr)
    arr = arr.astype(object)
    present = np.array([not _missing(v) for v in arr], dtype=bool)
    seen = [v for v in arr[present]]
    if seen and all(isinstance(v, bool | np.bool_) for v in seen):
        out = np.zeros(arr.shape, dtype=bool)
        out[present] = [bool(v) for v in seen]
        return "bool", out, present
    if seen and all(isinstance(v, Real) and not isinstance(v, bool | np.bool_) for v in seen):
        out = np.full(arr.shape, np.nan)
        out[present] = [float(v) for v in seen]
        return "number", out, present
    out = np.array([str(v) if p else "" for v, p in zip(arr, present, strict=True)],
                   dtype=object)
    return "text", out, present


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Real):
        return "number"
    return "text"


def _equals(var: str, kind: str, x: np.ndarray, want: Any) -> np.ndarray:
    wanted = _kind_of(want)
    if kind == "number" and wanted == "bool":
        levels = set(np.unique(x[~np.isnan(x)]).tolist())
        if levels <= {0.0, 1.0}:  # a flag coded 0/1
            return x == float(want)
    if kind != wanted:
        raise ConditionError(
            f"condition on {var!r}: equals {want!r} is a {wanted} but {var} holds "
            f"{kind} values" + ("; quote a category level (equals: \"1\")" if kind == "text"
                                else ""))
    if kind == "number":
        return x == float(want)
    if kind == "bool":
        return x == bool(want)
    return x == str(want)


def condition_mask(cond: Condition | None, values: Callable[[str], Any], n: int
                   ) -> np.ndarray:
    """Which of ``n`` subjects meet ``cond``.

    Parameters
    ----------
    cond : Condition or None
        A spec condition (None selects everyone).
    values : callable
        ``values(variable)`` returns the per-subject values of a variable (length ``n``:
        numpy or pandas), or raises :class:`KeyError` when the variable is not recorded.
    n : int
        Number of subjects.

    Returns
    -------
    numpy.ndarray of bool

    Raises
    ------
    ConditionError
        If a variable is not recorded or a test does not fit its type.
    """
    if cond is None:
        return np.ones(n, dtype=bool)
    if cond.all_of is not None:
        out = np.ones(n, dtype=bool)
        for c in cond.all_of:
            out &= condition_mask(c, values, n)
        return out
    var = str(cond.variable)
    try:
        raw = values(var)
    except KeyError:
        raise ConditionError(f"the condition uses {var!r}, which is not recorded (not a "
                             "subjects column, a declared variable, a measured parameter or "
                             "a dose)") from None
    kind, x, present = typed_values(raw)
    if x.shape[0] != n:
        raise ConditionError(f"condition on {var!r}: {x.shape[0]} values for {n} subjects")
    out = present.copy()
    for attr, op in _ORDER_TESTS:
        bound = getattr(cond, attr)
        if bound is None:
            continue
        if kind != "number":
            raise ConditionError(f"condition on {var!r}: {attr} {bound:g} needs a numeric "
                                 f"variable, but {var} holds {kind} values")
        with np.errstate(invalid="ignore"):
            out &= op(np.where(present, x, math.nan), float(bound))
    if cond.equals is not None:
        out &= _equals(var, kind, x, cond.equals)
    if cond.in_ is not None:
        if kind != "text":
            raise ConditionError(f"condition on {var!r}: `in` lists category levels, but "
                                 f"{var} holds {kind} values")
        out &= np.isin(x, np.asarray([str(v) for v in cond.in_], dtype=object))
    return out & present

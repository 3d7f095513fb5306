"""Numbers as a trial paper prints them: the one formatter of results.

Every printed or exported number of a result goes through here, so that a p-value, an
interval or a percentage reads the same in the terminal, the report and a Word table.

- p-values: ``<0.001`` below 0.001, otherwise three significant digits (``0.0374``,
  ``0.100``, ``1.00``);
- intervals: ``(lo to hi)`` -- never ``-1.969--0.558``;
- decimals per quantity: from its unit (HbA1c in % to 1 decimal, mmol/mol to 0, C-peptide in
  nmol/L to 2, ...), one more for a summary statistic (a mean or a difference of values
  measured to 0.1 % prints to 0.01 %); without a unit, from the magnitude of the values;
- counts with percentages: ``3 (21%)`` -- whole percentages below n = 200, one decimal above,
  ``<1%`` rather than ``0%`` for a count that is not zero;
- missing values print as ``NA`` and infinite ones as ``Inf``/``-Inf``; in JSON missing is
  ``null`` and infinity the strings ``"Inf"``/``"-Inf"`` (JSON has no infinity, and an
  infinite odds ratio is a result, not a missing one).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "MISSING", "UNIT_DECIMALS", "decimals_for", "format_ci", "format_count",
    "format_estimate_ci", "format_number", "format_p", "json_number",
]

MISSING = "NA"
"""How a missing value prints (R's spelling, which statisticians read without a legend)."""

UNIT_DECIMALS: dict[str, int] = {
    "%": 1, "mmol/mol": 0, "mmol/L": 1, "mg/dL": 0, "nmol/L": 2, "pmol/L": 0, "ng/mL": 2,
    "nmol/L*min": 1, "IU/kg/day": 2, "IU/day": 1, "kg": 1, "kg/m2": 1, "cm": 0, "years": 1,
    "months": 1, "weeks": 1, "days": 0, "mmHg": 0,
}
"""Decimals to which a value in each unit is measured and reported (the data's precision)."""


def _missing(x: Any) -> bool:
    return x is None or x is pd.NA or x is pd.NaT or (
        isinstance(x, float | np.floating) and math.isnan(x))


def _special(x: Any) -> str | None:
    """``NA`` for a missing value, ``Inf``/``-Inf`` for an infinite one, else None."""
    if _missing(x):
        return MISSING
    if math.isinf(float(x)):
        return "Inf" if x > 0 else "-Inf"
    return None


def format_number(x: Any, decimals: int) -> str:
    """A number to a fixed number of decimals, with a true minus sign never lost to rounding.

    ``-0.004`` to 2 decimals prints ``0.00`` (not ``-0.00``).

    Examples
    --------
    >>> format_number(-1.9687, 2), format_number(float("nan"), 2), format_number(-0.004, 2)
    ('-1.97', 'NA', '0.00')
    """
    special = _special(x)
    if special is not None:
        return special
    text = f"{float(x):.{max(int(decimals), 0)}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _sig_decimals(x: float, sig: int) -> int:
    """Decimals that show ``x`` to ``sig`` significant digits (after rounding)."""
    if x == 0:
        return sig - 1
    d = sig - 1 - math.floor(math.log10(abs(x)))
    # rounding may carry into the next power of ten (0.09996 -> 0.100)
    rounded = round(abs(x), max(d, 0))
    if rounded != 0 and math.floor(math.log10(rounded)) > math.floor(math.log10(abs(x))):
        d -= 1
    return max(d, 0)


def format_p(p: Any, *, sig: int = 3, threshold: float = 0.001) -> str:
    """A p-value as journals print it: ``<0.001``, else ``sig`` significant digits.

    Parameters
    ----------
    p : float
        The p-value (missing prints ``NA``).
    sig : int, keyword-only
        Significant digits above the threshold.
    threshold : float, keyword-only
        Smallest p-value printed as a number.

    Examples
    --------
    >>> [format_p(p) for p in (1.595e-06, 0.0374, 0.09996, 0.4613, 1.0)]
    ['<0.001', '0.0374', '0.100', '0.461', '1.00']
    """
    if _missing(p):
        return MISSING
    p = float(p)
    if not 0 <= p <= 1:
        raise ValueError(f"a p-value must lie in [0, 1], got {p}")
    if p < threshold:
        return f"<{format_number(threshold, _sig_decimals(threshold, 1))}"
    return format_number(p, _sig_decimals(p, sig))


def format_ci(lower: Any, upper: Any, decimals: int) -> str:
    """An interval as ``(lo to hi)``.

    Examples
    --------
    >>> format_ci(-1.969, -0.558, 2)
    '(-1.97 to -0.56)'
    """
    return f"({format_number(lower, decimals)} to {format_number(upper, decimals)})"


def format_estimate_ci(estimate: Any, lower: Any, upper: Any, decimals: int) -> str:
    """``estimate (lo to hi)``; just the estimate when the interval is missing."""
    est = format_number(estimate, decimals)
    if _missing(lower) and _missing(upper):
        return est
    return f"{est} {format_ci(lower, upper, decimals)}"


def percent_decimals(n: int) -> int:
    """Decimals of a percentage of ``n``: whole percents below 200 (one subject is > 0.5 %)."""
    return 0 if n < 200 else 1


def format_count(count: Any, n: Any, *, decimals: int | None = None) -> str:
    """A count with its percentage of ``n``: ``3 (21%)``.

    Parameters
    ----------
    count, n : int
        Subjects with the level, subjects with a value.
    decimals : int or None, keyword-only
        Decimals of the percentage; default :func:`percent_decimals` of ``n``.

    Examples
    --------
    >>> format_count(3, 14), format_count(1, 400), format_count(1, 3000), format_count(0, 0)
    ('3 (21%)', '1 (0.2%)', '1 (<0.1%)', '0 (NA)')
    """
    if _missing(count):
        return MISSING
    count = int(count)
    if _missing(n) or int(n) == 0:
        return f"{count} ({MISSING})"
    n = int(n)
    d = percent_decimals(n) if decimals is None else decimals
    pct = 100 * count / n
    smallest = 10.0 ** -d
    if 0 < pct < smallest / 2:
        return f"{count} (<{format_number(smallest, d)}%)"
    return f"{count} ({format_number(pct, d)}%)"


def decimals_for(values: Iterable[Any] = (), *, unit: str | None = None,
                 statistic: bool = True, sig: int = 3, max_decimals: int = 4) -> int:
    """Decimals to print a quantity with.

    Parameters
    ----------
    values : iterable of float
        The values to print (for a quantity with no known unit).
    unit : str or None, keyword-only
        Unit of the quantity; a unit of :data:`UNIT_DECIMALS` fixes the measurement's
        decimals.
    statistic : bool, keyword-only
        The values are summary statistics (means, SDs, differences): one decimal more than
        the measurement (only with a known unit).
    sig : int, keyword-only
        Without a known unit: significant digits of the typical (median absolute) value.
    max_decimals : int, keyword-only

    Examples
    --------
    >>> decimals_for(unit="%"), decimals_for(unit="%", statistic=False), decimals_for([3.4, 17.3])
    (2, 1, 1)
    """
    if unit is not None and unit in UNIT_DECIMALS:
        return UNIT_DECIMALS[unit] + int(statistic)
    finite = [abs(float(v)) for v in values if not _missing(v) and math.isfinite(float(v))]
    nonzero = [v for v in finite if v > 0]
    if not nonzero:
        return 0 if finite else 2
    typical = float(np.median(nonzero))
    return min(max(sig - 1 - math.floor(math.log10(typical)), 0), max_decimals)


def json_number(x: Any) -> Any:
    """A number for JSON: missing -> ``None``; infinite -> ``"Inf"``/``"-Inf"``; else as is."""
    if _missing(x):
        return None
    if isinstance(x, float | np.floating) and math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return x

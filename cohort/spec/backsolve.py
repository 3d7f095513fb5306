"""Back-solving helpers: recover the numbers a paper did not print from the ones it did.

Papers report a mean change with a p-value, an SEM instead of an SD, a percentage instead of a
count. These pure functions turn them into the SDs, counts and group sizes a generator needs;
study specs call them by name (``{backsolve: sd_from_paired_p, mean: 0.58, n: 48, p: 2e-7}``)
so every derived number shows its derivation. Each raises :class:`ValueError` with a message
that says what was received and what is needed; the spec layer turns it into a ``SpecError``.
"""

from __future__ import annotations

import math
from decimal import Decimal

__all__ = [
    "corr_from_bmi_sd",
    "count_from_percent",
    "decimals_of",
    "mean_from_overall",
    "n_from_weighted_mean",
    "sd_from_iqr",
    "sd_from_paired_p",
    "sd_from_se_diff",
    "sd_from_sem",
    "t_from_p",
]


def decimals_of(value: float | int | str) -> int:
    """Number of decimals ``value`` was printed with (``8.2`` -> 1, ``40`` -> 0, ``2e-7`` -> 7).

    A YAML float keeps its shortest repr, so ``8.20`` reads as one decimal: give the precision
    explicitly where trailing zeros matter.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the boolean {value!r}")
    exponent = Decimal(str(value)).normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"expected a finite number, got {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and "." not in value):
        return max(0, -exponent)
    text = str(value)
    if "e" in text.lower():
        return max(0, -exponent)
    return len(text.split(".", 1)[1]) if "." in text else 0


def t_from_p(p: float, df: int, *, two_sided: bool = True) -> float:
    """The t statistic with ``df`` degrees of freedom whose p-value is ``p``.

    Parameters
    ----------
    p : float
        The reported p-value, in (0, 1).
    df : int
        Degrees of freedom (n - 1 for a paired t-test), at least 1.
    two_sided : bool
        Whether ``p`` is two-sided (the usual report).
    """
    from scipy.special import stdtrit  # the t quantile; lighter to import than scipy.stats

    if not 0 < p < 1:
        raise ValueError(f"p must be strictly between 0 and 1, got {p!r}")
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df!r}")
    tail = p / 2 if two_sided else p
    return float(-stdtrit(df, tail))


def sd_from_paired_p(mean: float, n: int, p: float, *, two_sided: bool = True) -> float:
    """SD of paired changes from their mean, n and the paired t-test p-value.

    ``SD = |mean change| * sqrt(n) / t`` with ``t`` from ``p`` on ``n - 1`` degrees of freedom.
    When the paper prints a bound (``p < 0.0000002``), passing the bound gives an upper bound
    on the SD.

    Parameters
    ----------
    mean : float
        Mean change, in the unit of the variable (e.g. HbA1c percentage points).
    n : int
        Number of pairs, at least 2.
    p : float
        Two-sided (default) p-value of the paired t-test.

    Returns
    -------
    float
        The SD of the changes, in the unit of ``mean``.
    """
    if n < 2:
        raise ValueError(f"a paired t-test needs n >= 2 pairs, got n={n!r}")
    if mean == 0:
        raise ValueError("mean change is 0: the p-value carries no information on the SD")
    return abs(mean) * math.sqrt(n) / t_from_p(p, n - 1, two_sided=two_sided)


def sd_from_sem(sem: float, n: int) -> float:
    """SD from a standard error of the mean: ``SEM * sqrt(n)`` (same unit as ``sem``)."""
    if sem < 0:
        raise ValueError(f"an SEM cannot be negative, got {sem!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    return sem * math.sqrt(n)


def sd_from_se_diff(se: float, n1: int, n2: int) -> float:
    """Common SD from the standard error of a difference of two means.

    ``SD = SE / sqrt(1/n1 + 1/n2)``; for an adjusted (ANCOVA) difference this is the residual SD.
    """
    if se < 0:
        raise ValueError(f"a standard error cannot be negative, got {se!r}")
    if n1 < 1 or n2 < 1:
        raise ValueError(f"group sizes must be at least 1, got n1={n1!r}, n2={n2!r}")
    return se / math.sqrt(1 / n1 + 1 / n2)


def sd_from_iqr(q1: float, q3: float) -> float:
    """SD of a normal distribution with interquartile range ``q3 - q1`` (``IQR / 1.349``)."""
    if q3 < q1:
        raise ValueError(f"q3 ({q3!r}) is below q1 ({q1!r})")
    return (q3 - q1) / 1.3489795003921634


def count_from_percent(percent: float, n: int, *, decimals: int | None = None) -> int:
    """The count out of ``n`` that a printed percentage stands for.

    Checks that the count reproduces the percentage at the precision it was printed with
    (``40.7`` of 27 -> 11, since 11/27 = 40.74% prints as 40.7).

    Parameters
    ----------
    percent : float
        The percentage as printed, 0 to 100.
    n : int
        The denominator.
    decimals : int, optional
        Decimals the percentage was printed with; inferred from ``percent`` if omitted.

    Raises
    ------
    ValueError
        If no count out of ``n`` rounds to ``percent``.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n!r}")
    if not 0 <= percent <= 100:
        raise ValueError(f"a percentage must be between 0 and 100, got {percent!r}")
    d = decimals_of(percent) if decimals is None else decimals
    count = math.floor(percent / 100 * n + 0.5)
    candidates = [k for k in (count - 1, count, count + 1) if 0 <= k <= n]
    for k in sorted(candidates, key=lambda k: abs(100 * k / n - percent)):
        if abs(round(100 * k / n, d) - percent) < 0.5 * 10 ** -d + 1e-12:
            return k
    raise ValueError(f"no count out of {n} gives {percent}% at {d} decimals (closest: "
                     f"{count}/{n} = {100 * count / n:.{d + 2}f}%); check the percentage or n")


def n_from_weighted_mean(n_total: int, mean_all: float, mean_a: float, mean_b: float, *,
                         decimals: int | None = None) -> int:
    """Size of group b when only the overall and the two group means are published.

    Solves ``mean_all = ((n_total - n_b) * mean_a + n_b * mean_b) / n_total`` and checks that the
    rounded ``n_b`` reproduces ``mean_all`` at the precision it was printed with.

    Returns
    -------
    int
        ``n_b``, between 0 and ``n_total``.
    """
    if mean_a == mean_b:
        raise ValueError("the two group means are equal: the overall mean says nothing about "
                         "the group sizes")
    share = (mean_all - mean_a) / (mean_b - mean_a)
    if not 0 <= share <= 1:
        raise ValueError(f"the overall mean {mean_all} is not between the group means {mean_a} "
                         f"and {mean_b}")
    n_b = math.floor(share * n_total + 0.5)
    d = decimals_of(mean_all) if decimals is None else decimals
    back = ((n_total - n_b) * mean_a + n_b * mean_b) / n_total
    if abs(back - mean_all) > 0.5 * 10 ** -d + 1e-12:
        raise ValueError(f"no whole group size reproduces the overall mean {mean_all}: "
                         f"n_b={n_b} gives {back:.{d + 2}f}")
    return n_b


def mean_from_overall(mean_all: float, n_all: int, mean_other: float, n_other: int) -> float:
    """Mean of the rest of a sample when the overall mean and one group's mean are known.

    ``(n_all * mean_all - n_other * mean_other) / (n_all - n_other)``, in the unit of the means.
    """
    if not 0 <= n_other < n_all:
        raise ValueError(f"need 0 <= n_other < n_all, got n_other={n_other}, n_all={n_all}")
    return (n_all * mean_all - n_other * mean_other) / (n_all - n_other)


def corr_from_bmi_sd(weight_mean: float, weight_sd: float, height_mean: float,
                     height_sd: float, bmi_sd: float, *, bmi_mean: float | None = None) -> float:
    """Height-weight correlation implied by the published SD of BMI (delta method on logs).

    ``var(log BMI) = cv_w^2 + 4 cv_h^2 - 4 rho cv_w cv_h`` with coefficients of variation
    ``cv = SD / mean``; solved for ``rho``. Weight in kg, height in cm, BMI in kg/m2.

    Raises
    ------
    ValueError
        If the implied correlation is outside [-0.95, 0.95] (the published SDs are then not
        consistent with one another).
    """
    for name, v in (("weight_mean", weight_mean), ("height_mean", height_mean)):
        if v <= 0:
            raise ValueError(f"{name} must be positive, got {v!r}")
    cv_w, cv_h = weight_sd / weight_mean, height_sd / height_mean
    mean_bmi = bmi_mean if bmi_mean is not None else weight_mean / (height_mean / 100) ** 2
    cv_b = bmi_sd / mean_bmi
    if cv_w == 0 or cv_h == 0:
        raise ValueError("weight and height SDs must be positive to imply a correlation")
    rho = (cv_w ** 2 + 4 * cv_h ** 2 - cv_b ** 2) / (4 * cv_w * cv_h)
    if not -0.95 <= rho <= 0.95:
        raise ValueError(f"the BMI SD {bmi_sd} implies a height-weight correlation of "
                         f"{rho:.2f}, outside [-0.95, 0.95]: the SDs are not consistent")
    return rho

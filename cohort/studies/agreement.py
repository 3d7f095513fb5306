"""Does a reproduced number agree with the published one? The rules, stated in words.

Each published target is judged by the checks that apply to it, all of which must hold:

* **value** (a published ``value``):

  - ``logistic_or_direction`` (value +1 or -1): *same direction*, the sign of the reproduced
    coefficient equals the published sign;
  - a one-sided published value (``comparison`` ``<=``/``>=``: within the printed precision;
    ``<``/``>``: strictly), e.g. ``reproduced >= 6.2``;
  - a count (subjects, episodes, events): *equal*;
  - an estimate with a reproduced 95% CI: *published value inside the reproduced 95% CI*;
  - otherwise (means, SDs, medians, ranges, durations): *within the printed precision*,
    i.e. ``|reproduced - published| <= half a unit of the last printed digit`` (8.2 -> 0.05);
* **values** (a published list, e.g. censored durations): the same number of values, each
  within its printed precision;
* **p** (a published p-value): ``p < P`` or ``p > P`` as published; a p printed as ``=``
  agrees within one unit of its last printed digit (0.0122 -> 0.0001), since the published
  p itself rests on rounded means and SDs.

A target whose reproduced number is missing (NaN) where a check needs it *differs*.
"""

from __future__ import annotations

import math

from cohort.spec.model import Target
from cohort.studies.base import Reproduced

__all__ = ["AGREES", "DIFFERS", "NOT_COMPUTABLE", "judge", "printed_unit"]

AGREES = "agrees"
DIFFERS = "differs"
NOT_COMPUTABLE = "not computable"

_SLACK = 1e-9  # binary floating point: 6.4 - 6.35 is 0.0500000000000007


def printed_unit(value: float) -> float:
    """One unit of the last digit ``value`` was printed with (0.0122 -> 0.0001; 31 -> 1).

    A whole number counts as printed without decimals (a list of durations ``[80, 61]`` is
    read from YAML as floats).
    """
    from cohort.spec.backsolve import decimals_of

    if float(value).is_integer() and abs(value) >= 1:
        return 1.0
    return 10.0 ** -decimals_of(value)


def _g(x: float) -> str:
    from cohort.studies.display import fmt_number

    return fmt_number(x)


def _value_check(target: Target, rep: Reproduced, counts: frozenset[str]
                 ) -> tuple[bool, str]:
    published = float(target.value)  # type: ignore[arg-type]
    x = rep.value
    tol = target.agreement_tolerance
    if target.analysis == "logistic_or_direction":
        ok = not math.isnan(x) and x != 0 and math.copysign(1, x) == math.copysign(1, published)
        return ok, "same direction (sign of the log odds ratio)"
    if math.isnan(x):
        return False, "a reproduced value (none obtained)"
    cmp = target.comparison
    if cmp in ("<=", ">="):
        ok = x <= published + tol + _SLACK if cmp == "<=" else x >= published - tol - _SLACK
        return ok, f"{cmp} {_g(published)} (printed precision {_g(tol)})"
    if cmp in ("<", ">"):
        return (x < published if cmp == "<" else x > published), f"{cmp} {_g(published)}"
    if target.analysis in counts:
        return x == published, "equal count"
    if rep.has_ci:
        ok = rep.ci_lower - _SLACK <= published <= rep.ci_upper + _SLACK
        return ok, "published value inside reproduced 95% CI"
    if target.tolerance is not None:
        return (abs(x - published) <= tol + _SLACK,
                f"within {_g(tol)} (stated tolerance: {target.tolerance.reason})")
    return (abs(x - published) <= tol + _SLACK,
            f"within {_g(tol)} (printed precision)")


def _values_check(target: Target, rep: Reproduced) -> tuple[bool, str]:
    published = [float(v) for v in target.values or []]
    got = list(rep.values or [])
    ok = len(got) == len(published) and all(
        abs(g - v) <= 0.5 * printed_unit(v) + _SLACK for g, v in zip(got, published, strict=False))
    return ok, "each value within its printed precision"


def _p_check(target: Target, rep: Reproduced) -> tuple[bool, str]:
    published = float(target.p)  # type: ignore[arg-type]
    cmp = target.p_comparison
    if cmp == "=":
        unit = printed_unit(published)
        rule = f"p within {_g(unit)} (one printed unit)"
        return (not math.isnan(rep.p) and abs(rep.p - published) <= unit + _SLACK), rule
    rule = f"p {cmp} {_g(published)}"
    if math.isnan(rep.p):
        return False, rule + " (no p-value was obtained)"
    return (rep.p < published if cmp == "<" else rep.p > published), rule


def judge(target: Target, rep: Reproduced, *,
          counts: frozenset[str] = frozenset()) -> tuple[str, str]:
    """Agreement of a reproduced number with its published target.

    Parameters
    ----------
    target : Target
        The published target (value, values, comparison, p and printed precision).
    rep : Reproduced
        The reproduced number.
    counts : frozenset of str
        Analysis ids whose numbers are counts (compared exactly).

    Returns
    -------
    (str, str)
        ``"agrees"`` or ``"differs"``, and the rule(s) applied, joined by ``" and "``.
    """
    checks = []
    if target.values is not None:
        checks.append(_values_check(target, rep))
    if target.value is not None:
        checks.append(_value_check(target, rep, counts))
    if target.p is not None:
        checks.append(_p_check(target, rep))
    if not checks:  # the spec model requires a value, values or p
        return DIFFERS, "nothing published to compare"
    ok = all(c[0] for c in checks)
    return (AGREES if ok else DIFFERS), " and ".join(c[1] for c in checks)

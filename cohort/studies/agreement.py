"""Does a reproduced number agree with the published one? The rules, stated in words.

Each published target is judged by the checks that apply to it, all of which must hold:

* **value** (a published ``value``):

  - ``logistic_or_direction`` (value +1 or -1): *same direction*, the sign of the reproduced
    coefficient equals the published sign;
  - a one-sided published value (``comparison`` ``<=``/``>=``: within the printed precision;
    ``<``/``>``: strictly), e.g. ``reproduced >= 6.2``;
  - a count (subjects, episodes, events): *equal*;
  - a published ``not_reached`` median (or ``> X`` with the reproduced median not reached):
    the reproduced Kaplan-Meier median is not reached either;
  - every other point estimate (means, SDs, medians, differences, proportions, durations):
    *within the printed precision*, i.e. ``|reproduced - published| <= half a unit of the
    last printed digit`` (8.2 -> 0.05), or within the ``tolerance`` the spec states with its
    reason. A published estimate that misses this but lies inside the reproduced 95% CI is
    **compatible**, a weaker verdict of its own: it is never counted as agreement;
* **values** (a published list, e.g. censored durations): the same number of values, each
  within its printed precision;
* **p** (a published p-value, given as ``p`` beside a value or as the ``value`` of a target
  with ``output: p``): ``p < P`` or ``p > P`` as published; a p printed as ``=`` (or
  ``<=``/``>=``) agrees within one unit of its last printed digit (0.0122 -> 0.0001), since
  the published p itself rests on rounded means and SDs. A published p where the analysis
  gives none (no standard test reproduces it) *differs*, with that note.

A target whose reproduced number is missing (NaN) where a check needs it *differs*.
"""

from __future__ import annotations

import math

from cohort.spec.model import Target
from cohort.studies.base import Reproduced

__all__ = ["AGREES", "COMPATIBLE", "DIFFERS", "NOT_COMPUTABLE", "VERDICTS", "judge",
           "printed_unit"]

AGREES = "agrees"
COMPATIBLE = "compatible"
DIFFERS = "differs"
NOT_COMPUTABLE = "not computable"
VERDICTS = (AGREES, COMPATIBLE, DIFFERS, NOT_COMPUTABLE)
"""Every verdict, strongest first. ``compatible``: the published point estimate lies inside
the reproduced 95% CI but does not match at its printed precision."""

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
                 ) -> tuple[str, str]:
    x = rep.value
    if target.not_reached:
        ok = math.isinf(x) and x > 0
        return (AGREES if ok else DIFFERS), "median not reached, as published"
    published = float(target.value)  # type: ignore[arg-type]
    tol = target.agreement_tolerance
    if target.analysis == "logistic_or_direction":
        ok = not math.isnan(x) and x != 0 and math.copysign(1, x) == math.copysign(1, published)
        return (AGREES if ok else DIFFERS), "same direction (sign of the log odds ratio)"
    cmp = target.comparison
    if cmp in (">", ">=") and math.isinf(x) and x > 0:
        return AGREES, f"{cmp} {_g(published)} (not reached: beyond every follow-up)"
    if math.isnan(x):
        return DIFFERS, "a reproduced value (none obtained)"
    if cmp in ("<=", ">="):
        ok = x <= published + tol + _SLACK if cmp == "<=" else x >= published - tol - _SLACK
        return (AGREES if ok else DIFFERS), f"{cmp} {_g(published)} (printed precision {_g(tol)})"
    if cmp in ("<", ">"):
        ok = x < published if cmp == "<" else x > published
        return (AGREES if ok else DIFFERS), f"{cmp} {_g(published)}"
    if target.analysis in counts and target.tolerance is None:
        return (AGREES if x == published else DIFFERS), "equal count"
    if target.tolerance is not None:
        rule = f"within {_g(tol)} (stated tolerance: {target.tolerance.reason})"
    else:
        rule = f"within {_g(tol)} (printed precision)"
    if abs(x - published) <= tol + _SLACK:
        return AGREES, rule
    if rep.has_ci and rep.ci_lower - _SLACK <= published <= rep.ci_upper + _SLACK:
        return COMPATIBLE, (f"not {rule}, but the published value lies inside the reproduced "
                            "95% CI")
    return DIFFERS, rule


def _values_check(target: Target, rep: Reproduced) -> tuple[str, str]:
    published = [float(v) for v in target.values or []]
    got = list(rep.values or [])
    ok = len(got) == len(published) and all(
        abs(g - v) <= 0.5 * printed_unit(v) + _SLACK for g, v in zip(got, published, strict=False))
    return (AGREES if ok else DIFFERS), "each value within its printed precision"


def _p_check(target: Target, rep: Reproduced) -> tuple[str, str]:
    if target.output == "p":  # the published p is the target's value
        published, cmp = float(target.value), target.comparison  # type: ignore[arg-type]
    else:
        published, cmp = float(target.p), target.p_comparison  # type: ignore[arg-type]
    # a p printed with trailing zeros (0.050) states its precision in `decimals`
    decimals = target.decimals if target.output == "p" else None
    unit = 10.0 ** -decimals if decimals is not None else printed_unit(published)
    if math.isnan(rep.p):
        return DIFFERS, f"p {cmp} {_g(published)} (no p-value was obtained)"
    if cmp in ("<=", ">="):
        ok = rep.p <= published + unit + _SLACK if cmp == "<=" else \
            rep.p >= published - unit - _SLACK
        return (AGREES if ok else DIFFERS), f"p {cmp} {_g(published)}"
    if cmp == "=":
        rule = f"p within {_g(unit)} (one printed unit)"
        ok = not math.isnan(rep.p) and abs(rep.p - published) <= unit + _SLACK
        return (AGREES if ok else DIFFERS), rule
    rule = f"p {cmp} {_g(published)}"
    ok = rep.p < published if cmp == "<" else rep.p > published
    return (AGREES if ok else DIFFERS), rule


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
        ``"agrees"``, ``"compatible"`` or ``"differs"`` (the weakest of the checks), and the
        rule(s) applied, joined by ``" and "``.
    """
    if target.output == "p":
        return _p_check(target, rep)
    if target.output != "estimate" and target.command is None:
        # the published number is another output of the analysis: compare it alone (a
        # `cohort analyze` request has read its output column into the value already)
        picked = float(rep.n) if target.output == "n" and rep.n is not None else \
            getattr(rep, target.output, math.nan) if target.output != "n" else math.nan
        rep = Reproduced(value=picked, p=rep.p, n=rep.n, method=rep.method, notes=rep.notes)
    checks = []
    if target.values is not None:
        checks.append(_values_check(target, rep))
    if target.value is not None or target.not_reached:
        checks.append(_value_check(target, rep, counts))
    if target.p is not None:
        checks.append(_p_check(target, rep))
    if not checks:  # the spec model requires a value, values or p
        return DIFFERS, "nothing published to compare"
    verdict = max((c[0] for c in checks), key=VERDICTS.index)
    return verdict, " and ".join(c[1] for c in checks)

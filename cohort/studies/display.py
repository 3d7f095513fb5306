"""Published and reproduced numbers as short, human-readable text."""

from __future__ import annotations

import math

from cohort.spec.model import Target
from cohort.studies.base import Reproduced

__all__ = ["fmt_number", "fmt_p", "published_text", "reproduced_text"]

_MEDIANS = frozenset({"km_median", "km_event"})


def fmt_number(x: float, *, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; large whole numbers with separators."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "NA"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if abs(x) >= 1e4 and float(x).is_integer():
        return f"{int(x):,}"
    if abs(x) >= 1e5:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_p(p: float) -> str:
    """A p-value: two significant digits, three below 0.001 (``p = 0.018``)."""
    if p is None or math.isnan(p):
        return "p NA"
    return f"p = {p:.2g}" if p >= 0.001 else f"p = {p:.3g}"


def _as_printed(x: float) -> str:
    if float(x).is_integer() and abs(x) >= 1e4:
        return f"{int(x):,}"
    return f"{x:g}"


def published_text(target: Target) -> str:
    """The published number as printed: value (or values), SE or CI, p."""
    parts = []
    if target.not_reached:
        parts.append("median not reached")
    if target.value is not None:
        cmp = "" if target.comparison == "=" else f"{target.comparison} "
        text = f"{cmp}{_as_printed(target.value)}"
        if target.analysis == "logistic_or_direction":
            text = "positive (higher -> more likely)" if target.value > 0 else \
                "negative (lower -> more likely)"
        if target.se is not None:
            text += f" +- {target.se:g} (SE)"
        if target.output != "estimate":  # the published number is another output: say which
            text = f"{target.output} {cmp or '= '}{_as_printed(target.value)}"
        parts.append(text)
    if target.values is not None:
        parts.append(", ".join(_as_printed(v) for v in target.values))
    if target.ci is not None:
        parts.append(f"95% CI {_as_printed(target.ci[0])} to {_as_printed(target.ci[1])}")
    if target.p is not None:
        parts.append(f"p {target.p_comparison} {target.p:g}")
    return ", ".join(parts)


def reproduced_text(rep: Reproduced | None, target: Target) -> str:
    """The reproduced number: value (or values) with its 95% CI and p, as applicable."""
    if rep is None:
        return "not computable"
    parts = []
    if rep.values is not None:
        parts.append(", ".join(fmt_number(v, digits=3) for v in rep.values))
    elif math.isinf(rep.value) and target.analysis in _MEDIANS:
        parts.append("not reached")
    elif not math.isnan(rep.value):
        text = fmt_number(rep.value)
        if target.analysis == "logistic_or_direction":
            text = f"log OR {text}"
        elif target.analysis in ("responder_fisher", "remission_fisher"):
            text = f"OR {text}"
        if rep.has_ci:
            text += f" (95% CI {fmt_number(rep.ci_lower)} to {fmt_number(rep.ci_upper)})"
        parts.append(text)
    if not math.isnan(rep.p):
        parts.append(fmt_p(rep.p))
    return ", ".join(parts) or "NA"

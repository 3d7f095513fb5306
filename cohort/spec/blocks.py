"""Building blocks of a study spec: provenance marks, distributions, bounds and conditions.

Every parameter block derives from :class:`Marked`, which requires exactly one of
``published: <source>`` or ``assumed: <reason>``; entries inside a block derive from
:class:`MaybeMarked` and may override the block's mark.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from cohort.spec.values import Num

__all__ = [
    "Bounds",
    "Condition",
    "Constant",
    "Dist",
    "LogUniform",
    "Marked",
    "MaybeMarked",
    "MedianIQR",
    "Normal",
    "Quantiles",
    "Uniform",
    "dist_or_number",
    "dist_support",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_mark(model: BaseModel, required: bool) -> None:
    published = getattr(model, "published", None)
    assumed = getattr(model, "assumed", None)
    for name, text in (("published", published), ("assumed", assumed)):
        if text is not None and not text.strip():
            raise ValueError(f"{name} must be a non-empty text (the source or the reason)")
    if published is not None and assumed is not None:
        raise ValueError("mark this entry with either `published: <source>` or "
                         "`assumed: <reason>`, not both")
    if required and published is None and assumed is None:
        raise ValueError("every parameter block must say where its numbers come from: add "
                         "`published: <source>` or `assumed: <reason>`")


class Marked(_Strict):
    """A block of parameters that must be marked ``published`` (source) or ``assumed``."""

    published: str | None = Field(None, description="Source of the published numbers.")
    assumed: str | None = Field(None, description="Why the numbers had to be assumed.")

    @model_validator(mode="after")
    def _marked(self) -> Marked:
        _check_mark(self, required=True)
        return self

    @property
    def basis(self) -> str:
        """``"published"`` or ``"assumed"``."""
        return "published" if self.published is not None else "assumed"

    @property
    def basis_text(self) -> str:
        """The source or the reason."""
        return self.published if self.published is not None else str(self.assumed)


class MaybeMarked(_Strict):
    """An entry that may override the mark of the block it sits in."""

    published: str | None = None
    assumed: str | None = None

    @model_validator(mode="after")
    def _marked(self) -> MaybeMarked:
        _check_mark(self, required=False)
        return self


# distributions ----------------------------------------------------------------------------


class Normal(MaybeMarked):
    """Normal distribution from a mean and an SD, or an SEM (converted with the group's n)."""

    dist: Literal["normal"] = "normal"
    mean: Num
    sd: Num | None = None
    sem: Num | None = Field(None, description="Standard error of the mean as printed; the SD "
                            "is SEM * sqrt(n) with the group's published n, or sem_n.")
    sem_n: int | None = Field(None, ge=1, description="The n the SEM was computed on, when the "
                              "paper analysed fewer subjects than the group's n.")

    @model_validator(mode="after")
    def _check(self) -> Normal:
        if (self.sd is None) == (self.sem is None):
            raise ValueError("give exactly one of sd or sem")
        if self.sem_n is not None and self.sem is None:
            raise ValueError("sem_n is the n an SEM was computed on: give sem with it")
        spread = self.sd if self.sd is not None else self.sem
        assert spread is not None
        if float(spread) < 0:
            raise ValueError(f"{'sd' if self.sd is not None else 'sem'} must be >= 0, got "
                             f"{float(spread)}")
        return self


class MedianIQR(MaybeMarked):
    """A distribution given by its median and quartiles (lognormal if skewed, else normal)."""

    dist: Literal["median_iqr"]
    median: Num
    q1: Num
    q3: Num

    @model_validator(mode="after")
    def _check(self) -> MedianIQR:
        if not float(self.q1) <= float(self.median) <= float(self.q3):
            raise ValueError(f"need q1 <= median <= q3, got {float(self.q1)}, "
                             f"{float(self.median)}, {float(self.q3)}")
        return self


class Uniform(MaybeMarked):
    """Uniform between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: Num
    high: Num

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        if float(self.low) > float(self.high):
            raise ValueError(f"low ({float(self.low)}) is above high ({float(self.high)})")
        return self


class LogUniform(Uniform):
    """Log-uniform between ``low`` > 0 and ``high`` (for cell doses spanning decades)."""

    dist: Literal["loguniform"]  # type: ignore[assignment]

    @model_validator(mode="after")
    def _positive(self) -> LogUniform:
        if float(self.low) <= 0:
            raise ValueError(f"low must be > 0 for a log-uniform, got {float(self.low)}")
        return self


class Constant(MaybeMarked):
    """Every subject gets ``value``."""

    dist: Literal["constant"]
    value: Num


class Quantiles(MaybeMarked):
    """Piecewise-linear quantile function through ``knots`` (probability -> value); knots at 0
    and 1 are required (e.g. a published median and range)."""

    dist: Literal["quantiles"]
    knots: dict[float, Num]

    @model_validator(mode="after")
    def _check(self) -> Quantiles:
        probs = sorted(self.knots)
        if not probs or probs[0] != 0 or probs[-1] != 1:
            raise ValueError("knots must include probabilities 0 and 1")
        if any(not 0 <= p <= 1 for p in probs):
            raise ValueError("knot probabilities must be between 0 and 1")
        vals = [float(self.knots[p]) for p in probs]
        if any(b < a for a, b in pairwise(vals)):
            raise ValueError(f"knot values must not decrease with probability, got {vals}")
        return self


_DISTS = {"normal": Normal, "median_iqr": MedianIQR, "uniform": Uniform,
          "loguniform": LogUniform, "constant": Constant, "quantiles": Quantiles}


def _dist_tag(raw: Any) -> str | None:
    if isinstance(raw, dict):
        tag = raw.get("dist", "normal")
        return tag if tag in _DISTS else None
    if isinstance(raw, BaseModel):
        return getattr(raw, "dist", None)
    return None


def _unknown_dist(raw: Any) -> Any:
    if isinstance(raw, dict) and raw.get("dist") not in _DISTS:
        raise ValueError(f"unknown distribution {raw.get('dist')!r}; expected one of "
                         f"{', '.join(_DISTS)}")
    if not isinstance(raw, dict | BaseModel):
        raise ValueError(f"expected a distribution (a mapping with dist: ...), got {raw!r}")
    return raw


Dist = Annotated[
    Annotated[Normal, Tag("normal")] | Annotated[MedianIQR, Tag("median_iqr")]
    | Annotated[Uniform, Tag("uniform")] | Annotated[LogUniform, Tag("loguniform")]
    | Annotated[Constant, Tag("constant")] | Annotated[Quantiles, Tag("quantiles")],
    Discriminator(_dist_tag, custom_error_type="unknown_distribution",
                  custom_error_message="unknown distribution; expected one of "
                  + ", ".join(_DISTS)),
]
"""One of the distributions above, chosen by its ``dist`` key (default ``normal``)."""


def dist_or_number(raw: Any) -> Any:
    """Let a bare number stand for a constant distribution; name an unknown ``dist``."""
    if isinstance(raw, bool):
        raise ValueError(f"expected a number or a distribution, got {raw!r}")
    if isinstance(raw, int | float):
        return {"dist": "constant", "value": raw}
    if isinstance(raw, dict) and "dist" in raw and raw["dist"] not in _DISTS:
        _unknown_dist(raw)
    return raw


class Bounds(Marked):
    """Inclusive bounds; values are kept inside them (entry criteria or physiology)."""

    low: Num | None = None
    high: Num | None = None

    @model_validator(mode="after")
    def _check(self) -> Bounds:
        if self.low is not None and self.high is not None and float(self.low) > float(
                self.high):
            raise ValueError(f"low ({float(self.low)}) is above high ({float(self.high)})")
        return self


class Condition(_Strict):
    """Which subjects a rule applies to: ``{variable: bmi_kg_m2, below: 23}``.

    ``variable`` is a baseline variable, a category (``sex``, or one declared under
    ``baseline.categories``), ``arm``, a dose, ``remission`` or ``insulin_free``. Give one test:
    ``below`` / ``at_least`` / ``above`` / ``at_most`` (numbers), ``equals`` or ``in``; or
    combine conditions with ``all_of``.
    """

    variable: str | None = None
    below: float | None = None
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    equals: str | bool | float | None = None
    in_: list[str] | None = Field(None, alias="in")
    all_of: list[Condition] | None = None

    @model_validator(mode="after")
    def _check(self) -> Condition:
        tests = [k for k in ("below", "at_least", "above", "at_most", "equals", "in_")
                 if getattr(self, k) is not None]
        if self.all_of is not None:
            if self.variable is not None or tests:
                raise ValueError("all_of cannot be combined with variable/tests")
            return self
        if self.variable is None:
            raise ValueError("a condition needs a variable (or all_of)")
        if not tests:
            raise ValueError(f"condition on {self.variable!r} needs a test: below, at_least, "
                             "above, at_most, equals or in")
        return self

    def variables(self) -> Iterator[str]:
        """Every variable the condition reads."""
        if self.all_of is not None:
            for c in self.all_of:
                yield from c.variables()
        elif self.variable is not None:
            yield self.variable


def dist_support(dist: Any) -> tuple[float, float]:
    """(min, max) a distribution can produce (infinite for a normal)."""
    if isinstance(dist, Constant):
        return float(dist.value), float(dist.value)
    if isinstance(dist, Uniform):  # LogUniform too
        return float(dist.low), float(dist.high)
    if isinstance(dist, Quantiles):
        vals = [float(v) for v in dist.knots.values()]
        return min(vals), max(vals)
    return -math.inf, math.inf

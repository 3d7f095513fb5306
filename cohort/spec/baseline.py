"""Baseline distributions: continuous variables, categories and correlations."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cohort.spec.blocks import (
    Bounds,
    Condition,
    Dist,
    Marked,
    _Strict,
    dist_or_number,
)
from cohort.spec.values import Count, Num
from cohort.spec.vocabulary import (
    BASELINE_VARIABLES,
    DERIVED_FORMULAS,
)

# ---------------------------------------------------------------------------------------------
# baseline


class CountBelow(Marked):
    """Exact number of subjects per group key whose value is below ``threshold``."""

    threshold: float
    counts: dict[str, Count]


class Variable(Marked):
    """A continuous baseline variable: distributions per group key, bounds, rounding."""

    dist: dict[str, Dist] = Field(default_factory=dict, description="Distribution per group "
                                  "key. For a derived variable, optional mean/SD targets.")
    bounds: Bounds | dict[str, Bounds] | None = Field(None, description="Bounds for every "
                                                      "subject, or per group key.")
    decimals: int = Field(2, ge=0, le=6)
    derive: Literal["bmi", "weight", "age", "age_at_diagnosis", "duration"] | None = None
    tolerance: float = Field(0.0, ge=0, description="A derived value may differ from its "
                             "formula by up to this much (rounding in the source).")
    count_below: CountBelow | None = None
    among: Condition | None = Field(None, description="Only these subjects have the variable "
                                    "(e.g. insulin dose for insulin users).")
    exact: bool = Field(True, description="Match each group's mean and SD exactly.")

    @field_validator("dist", mode="before")
    @classmethod
    def _dists(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        out = {}
        for k, v in raw.items():
            try:
                out[k] = dist_or_number(v)
            except ValueError as exc:
                raise ValueError(f"{k}: {exc}") from None
        return out


class Category(Marked):
    """A categorical baseline variable with exact counts (or proportions) per group key."""

    levels: list[str] = Field(min_length=1)
    counts: dict[str, dict[str, Count]] | None = None
    proportions: dict[str, dict[str, Num]] | None = None

    @model_validator(mode="after")
    def _check(self) -> Category:
        if (self.counts is None) == (self.proportions is None):
            raise ValueError("give exactly one of counts or proportions")
        table = self.counts if self.counts is not None else self.proportions
        assert table is not None
        for key, per_level in table.items():
            unknown = sorted(set(per_level) - set(self.levels))
            if unknown:
                raise ValueError(f"{key}: unknown level(s) {unknown}; levels are "
                                 f"{self.levels}")
            if self.proportions is not None:
                probs = [float(v) for v in per_level.values()]
                bad = [p for p in probs if not 0 <= p <= 1]
                if bad:
                    raise ValueError(f"{key}: proportions must be between 0 and 1, got {bad}")
                if abs(sum(probs) - 1) > 1e-6:
                    raise ValueError(f"{key}: proportions sum to {sum(probs):g}, not 1")
        return self


class Correlation(Marked):
    """Correlation between two continuous baseline variables (Gaussian copula)."""

    between: tuple[str, str]
    rho: dict[str, Num] = Field(description="Correlation per group key.")

    @field_validator("rho", mode="before")
    @classmethod
    def _rho(cls, raw: Any) -> Any:
        return raw if isinstance(raw, dict) else {"all": raw}

    @model_validator(mode="after")
    def _check(self) -> Correlation:
        for key, r in self.rho.items():
            if not -1 < float(r) < 1:
                raise ValueError(f"{key}: rho must be strictly between -1 and 1, got "
                                 f"{float(r)}")
        if self.between[0] == self.between[1]:
            raise ValueError("a correlation needs two different variables")
        return self


class Baseline(_Strict):
    """Baseline distributions."""

    categories: dict[str, Category] = Field(default_factory=dict)
    variables: dict[str, Variable]
    correlations: list[Correlation] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Baseline:
        if "sex" not in self.categories:
            raise ValueError("baseline.categories needs sex (levels F and M), published or "
                             "assumed")
        if sorted(self.categories["sex"].levels) != ["F", "M"]:
            raise ValueError("the sex category must have levels F and M")
        for name in self.variables:
            if name not in BASELINE_VARIABLES:
                raise ValueError(f"unknown baseline variable {name!r}; expected one of "
                                 f"{', '.join(BASELINE_VARIABLES)}")
        for name, var in self.variables.items():
            if var.derive is not None:
                target, inputs = DERIVED_FORMULAS[var.derive]
                if target != name:
                    raise ValueError(f"{name}: derive {var.derive!r} computes {target}")
                for inp in inputs:
                    if inp not in self.variables or self.variables[inp].derive is not None:
                        raise ValueError(f"{name}: derive {var.derive!r} needs {inp} as a "
                                         "drawn (not derived) baseline variable")
            elif not var.dist:
                raise ValueError(f"{name}: give a distribution (dist) per group key")
        for corr in self.correlations:
            for v in corr.between:
                if v not in self.variables or self.variables[v].derive is not None:
                    raise ValueError(f"correlation between {corr.between}: {v} is not a drawn "
                                     "baseline variable")
        return self

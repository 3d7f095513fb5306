"""The study spec: a YAML description of a published study that the generator turns into a
synthetic cohort.

A spec has six parts: ``study`` (metadata and citation), ``design`` (arms, treatment, follow-up),
``visits``, ``baseline`` (distributions per arm), ``outcomes`` (trajectories, remission, insulin
independence, medications, adverse events) and ``targets`` (the published numbers, each naming
the analysis that reproduces it). Every block that holds parameters is marked either
``published: <source>`` or ``assumed: <reason>``; the models refuse a block with neither (or
both), so an assumption cannot pass for a published number. Single values can carry their own
mark (``{value: 3, assumed: ...}``, see :mod:`cohort.spec.values`).

Distributions, conditions and targets are keyed by *group keys*: ``all``, an arm name, or
``arm/stratum`` for a stratum declared in the design. The most specific key wins.

:func:`cohort.spec.load.load_spec` reads a file (or a dict) and raises
:class:`cohort.errors.SpecError` naming the key path of every problem.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from cohort.extras import Extras
from cohort.spec.baseline import Baseline, Category, Correlation, CountBelow, Variable
from cohort.spec.blocks import _Strict
from cohort.spec.checks import cross_checks
from cohort.spec.design import (
    Arm,
    Design,
    FollowUp,
    Grid,
    Sites,
    Stratum,
    Study,
    Treatment,
    Visit,
    Visits,
)
from cohort.spec.outcomes import (
    AdverseEvent,
    Constraint,
    Drug,
    Episode,
    FromHbA1c,
    InsulinFree,
    Medications,
    Modifier,
    Outcomes,
    Predictor,
    Reduction,
    Remission,
    Trajectory,
)
from cohort.spec.targets import Target, Tolerance

__all__ = [
    "AdverseEvent",
    "Arm",
    "Baseline",
    "Category",
    "Constraint",
    "Correlation",
    "CountBelow",
    "Design",
    "Drug",
    "Episode",
    "FollowUp",
    "FromHbA1c",
    "Grid",
    "InsulinFree",
    "Medications",
    "Modifier",
    "Outcomes",
    "Predictor",
    "Reduction",
    "Remission",
    "Sites",
    "Stratum",
    "Study",
    "StudySpec",
    "Target",
    "Tolerance",
    "Trajectory",
    "Treatment",
    "Variable",
    "Visit",
    "Visits",
    ]

class StudySpec(_Strict):
    """A study spec (see the module docstring)."""

    spec_version: Literal[1] = 1
    study: Study
    design: Design
    visits: Visits
    baseline: Baseline
    extras: Extras = Field(default_factory=Extras, description="Study-specific subject "
                           "variables (generated from the baseline category of the same "
                           "name) and measurement parameters, declared and validated as in a "
                           "mapping file (cohort.extras).")
    outcomes: Outcomes = Field(default_factory=Outcomes)
    targets: list[Target] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross(self) -> StudySpec:
        problems = list(cross_checks(self))
        if problems:
            raise ValueError("\n".join(problems))
        return self

    # helpers used by the generator -------------------------------------------------------
    @property
    def arms(self) -> list[Arm]:
        """The arms, in spec order."""
        return list(self.design.arms)

    def arm(self, name: str) -> Arm:
        """The arm called ``name``."""
        for a in self.design.arms:
            if a.name == name:
                return a
        raise KeyError(name)

    def group_keys(self) -> list[str]:
        """Every valid group key: ``all``, arms, ``arm/stratum``."""
        keys = ["all"]
        for a in self.design.arms:
            keys.append(a.name)
            keys += [f"{a.name}/{s}" for s in (a.strata or {})]
        return keys


def __getattr__(name: str) -> object:
    # readers of the old single module: cohort.spec.model.load_spec and friends
    if name in ("format_validation_error", "load_spec", "spec_from_dict"):
        from cohort.spec import load

        return getattr(load, name)
    if name == "iter_values":
        from cohort.spec.provenance import iter_values

        return iter_values
    raise AttributeError(f"module 'cohort.spec.model' has no attribute {name!r}")

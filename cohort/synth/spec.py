"""The study spec: a YAML description of a published study that the generator turns into a
synthetic cohort.

A spec has six parts: ``study`` (metadata and citation), ``design`` (arms, treatment, follow-up),
``visits``, ``baseline`` (distributions per arm), ``outcomes`` (trajectories, remission, insulin
independence, medications, adverse events) and ``targets`` (the published numbers, each naming
the analysis that reproduces it). Every block that holds parameters is marked either
``published: <source>`` or ``assumed: <reason>``; the models refuse a block with neither (or
both), so an assumption cannot pass for a published number. Single values can carry their own
mark (``{value: 3, assumed: ...}``, see :mod:`cohort.synth.values`).

Distributions, conditions and targets are keyed by *group keys*: ``all``, an arm name, or
``arm/stratum`` for a stratum declared in the design. The most specific key wins.

:func:`load_spec` reads a file (or a dict) and raises :class:`cohort.errors.SpecError` naming
the key path of every problem.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from cohort.errors import SpecError
from cohort.synth.analyses import ANALYSES
from cohort.synth.blocks import (
    _DISTS,
    Bounds,
    Condition,
    Dist,
    Marked,
    MaybeMarked,
    _Strict,
    dist_or_number,
    dist_support,
)
from cohort.synth.checks import cross_checks
from cohort.synth.values import Count, Num, Value
from cohort.synth.vocabulary import (
    BASELINE_VARIABLES,
    DAYS_PER_MONTH,
    DERIVED_FORMULAS,
    DONORS,
    PARAMS,
    SOURCES,
)

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
    "Trajectory",
    "Treatment",
    "Variable",
    "Visit",
    "Visits",
    "format_validation_error",
    "iter_values",
    "load_spec",
    "spec_from_dict",
]

# ---------------------------------------------------------------------------------------------
# study and design


class Study(_Strict):
    """Metadata and citation."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Short name, e.g. lu2021.")
    title: str
    citation: str
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    registry: str | None = None
    url: str | None = None
    diabetes_type: Literal["T1D", "T2D"]
    seed: int = Field(ge=0, description="Default seed of the committed cohort.")
    id_prefix: str = Field(pattern=r"^[A-Z][A-Z0-9]*$",
                           description="Prefix of subject ids, e.g. LU -> LU-001.")
    summary: str | None = None
    conflicts: list[str] = Field(default_factory=list, description="Published numbers that "
                                 "contradict each other, and which one the spec follows.")


class Stratum(Marked):
    """A fixed-size subgroup of an arm with its own distributions (e.g. a severity stratum)."""

    n: Count


class Treatment(Marked):
    """What a treated (or placebo) arm receives: one row per infusion day per subject."""

    source: str | dict[str, Num] = Field(description="Cell source, or probabilities per "
                                         "source (drawn per subject).")
    donor: str | dict[str, str] = Field(description="Donor type, or a donor per source.")
    route: Literal["intravenous", "pancreatic_artery", "other"]
    infusion_days: list[int] = Field(min_length=1, description="Nominal study days; the "
                                     "first must be 0.")
    day_jitter: int = Field(0, ge=0, description="Later infusions vary by up to this many "
                            "days either side.")
    dose_cells_per_kg: Annotated[Dist | None, Field(None)] = None
    dose_cells_total: Annotated[Dist | None, Field(None)] = None
    dose_unit_round: float = Field(1e5, gt=0, description="Doses are rounded to multiples of "
                                   "this many cells.")

    @field_validator("dose_cells_per_kg", "dose_cells_total", mode="before")
    @classmethod
    def _dose(cls, raw: Any) -> Any:
        return None if raw is None else dist_or_number(raw)

    @model_validator(mode="after")
    def _check(self) -> Treatment:
        if self.infusion_days[0] != 0 or sorted(set(self.infusion_days)) != self.infusion_days:
            raise ValueError(f"infusion_days must start at 0 and increase, got "
                             f"{self.infusion_days}")
        gaps = [b - a for a, b in pairwise(self.infusion_days)]
        if gaps and self.day_jitter * 2 >= min(gaps):
            raise ValueError(f"day_jitter {self.day_jitter} could reorder infusions "
                             f"{gaps} days apart")
        sources = [self.source] if isinstance(self.source, str) else list(self.source)
        for s in sources:
            if s not in SOURCES:
                raise ValueError(f"unknown source {s!r}; expected one of {', '.join(SOURCES)}")
        if isinstance(self.source, dict):
            probs = [float(v) for v in self.source.values()]
            if any(p < 0 or p > 1 for p in probs) or abs(sum(probs) - 1) > 1e-6:
                raise ValueError(f"source probabilities must be within [0, 1] and sum to 1, "
                                 f"got {probs}")
        donors = [self.donor] if isinstance(self.donor, str) else list(self.donor.values())
        for d in donors:
            if d not in DONORS:
                raise ValueError(f"unknown donor {d!r}; expected one of {', '.join(DONORS)}")
        if isinstance(self.donor, dict):
            missing = [s for s in sources if s not in self.donor]
            if missing:
                raise ValueError(f"donor gives no donor type for source(s) {missing}")
        placebo = "placebo" in sources
        if placebo and len(sources) > 1:
            raise ValueError("placebo cannot be mixed with cell sources in one arm")
        if self.dose_cells_per_kg is None and self.dose_cells_total is None:
            raise ValueError("give dose_cells_per_kg or dose_cells_total (0 for placebo)")
        for name in ("dose_cells_per_kg", "dose_cells_total"):
            dist = getattr(self, name)
            if dist is None:
                continue
            lo, hi = dist_support(dist)
            if lo < 0:
                raise ValueError(f"{name} cannot be negative")
            if placebo and hi > 0:
                raise ValueError(f"a placebo arm has {name} > 0; placebo doses are 0")
            if not placebo and lo <= 0:
                raise ValueError(f"{name} of an active treatment must be > 0")
        return self

    @property
    def is_placebo(self) -> bool:
        """True for a placebo (vehicle) treatment."""
        return self.source == "placebo"


class Arm(Marked):
    """One arm: its size, whether it is a control arm, and its treatment."""

    name: str = Field(min_length=1, pattern=r"^[^/]+$")
    n: Count = Field(description="Published number of subjects.")
    control: bool
    label: str | None = Field(None, description="Value of the arm column (default: name).")
    strata: dict[str, Stratum] | None = None
    treatment: Treatment | None = None

    @model_validator(mode="after")
    def _check(self) -> Arm:
        if int(self.n) < 1:
            raise ValueError(f"arm {self.name!r}: n must be at least 1, got {int(self.n)}")
        if self.strata is not None:
            total = sum(int(s.n) for s in self.strata.values())
            if total != int(self.n):
                raise ValueError(f"arm {self.name!r}: strata sizes sum to {total}, not n = "
                                 f"{int(self.n)}")
        if self.treatment is None and not self.control:
            raise ValueError(f"arm {self.name!r} is not a control arm but has no treatment")
        if self.treatment is not None and self.control and not self.treatment.is_placebo:
            raise ValueError(f"control arm {self.name!r} receives active cells; controls get "
                             "no infusion or placebo only")
        if self.treatment is not None and not self.control and self.treatment.is_placebo:
            raise ValueError(f"arm {self.name!r} receives placebo but is not marked control")
        return self

    @property
    def arm_label(self) -> str:
        """The value written to the ``arm`` column."""
        return self.label or self.name


class FollowUp(Marked):
    """When each subject is last seen: a distribution in days or months, or the last visit."""

    days: Annotated[Dist | None, Field(None)] = None
    months: Annotated[Dist | None, Field(None)] = None
    after_last_visit: int | None = Field(None, ge=0, description="Last contact is this many "
                                         "days after the subject's last scheduled visit.")

    @model_validator(mode="after")
    def _check(self) -> FollowUp:
        given = [k for k in ("days", "months", "after_last_visit") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of days, months or after_last_visit")
        return self


class Sites(Marked):
    """Number of sites; subjects are spread evenly over them."""

    count: int = Field(ge=1)


class Design(_Strict):
    """Arms, sites and follow-up."""

    arms: list[Arm] = Field(min_length=1)
    sites: Sites | None = None
    follow_up: FollowUp

    @model_validator(mode="after")
    def _check(self) -> Design:
        names = [a.name for a in self.arms]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicated arm names: {dupes}")
        return self


# ---------------------------------------------------------------------------------------------
# visits


class Visit(MaybeMarked):
    """A scheduled visit."""

    label: str = Field(min_length=1)
    day: int


class Grid(Marked):
    """Regular visits every ``every_months`` up to ``until_months`` (kept while followed up)."""

    every_months: float = Field(gt=0)
    until_months: float = Field(gt=0)
    label: str = Field("month {month}", description="Label template; {month} is replaced.")
    params: list[str] | None = Field(None, description="Parameters measured at grid visits "
                                     "(default: every parameter with an outcome model).")

    def visits(self) -> list[Visit]:
        """The grid visits, in order."""
        out, k = [], 1
        while k * self.every_months <= self.until_months + 1e-9:
            months = k * self.every_months
            label = self.label.format(month=f"{months:g}")
            out.append(Visit(label=label, day=round(months * DAYS_PER_MONTH)))
            k += 1
        return out


class Visits(Marked):
    """The visit schedule in study days."""

    baseline: Visit = Field(description="Baseline visit; its day must be <= 0.")
    schedule: list[Visit] = Field(default_factory=list)
    grid: Grid | None = None
    final: str | None = Field(None, description="Label of a visit on each subject's last "
                              "contact day (for variable follow-up).")
    jitter_days: int = Field(0, ge=0, description="Visits vary by up to this many days.")

    @model_validator(mode="after")
    def _check(self) -> Visits:
        if self.baseline.day > 0:
            raise ValueError(f"the baseline visit must be on or before day 0, got day "
                             f"{self.baseline.day}")
        days = [self.baseline.day] + [v.day for v in self.schedule]
        if sorted(set(days)) != days:
            raise ValueError(f"visit days must increase, got {days}")
        gaps = [b - a for a, b in pairwise(days)]
        if gaps and 2 * self.jitter_days >= min(gaps):
            raise ValueError(f"jitter_days {self.jitter_days} could reorder visits "
                             f"{min(gaps)} days apart")
        labels = self.labels()
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        if dupes:
            raise ValueError(f"duplicated visit labels: {dupes}")
        if self.grid is not None and self.schedule:
            raise ValueError("give either a fixed schedule or a grid, not both")
        return self

    def labels(self) -> list[str]:
        """Every visit label, in nominal order (``final`` last)."""
        out = [self.baseline.label] + [v.label for v in self.schedule]
        if self.grid is not None:
            out += [v.label for v in self.grid.visits()]
        if self.final is not None:
            out.append(self.final)
        return out

    def post_baseline(self) -> list[Visit]:
        """Scheduled and grid visits after baseline (not ``final``)."""
        return list(self.schedule) + (self.grid.visits() if self.grid is not None else [])


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


# ---------------------------------------------------------------------------------------------
# outcomes


class Modifier(MaybeMarked):
    """A shift of the mean change for the subjects matching ``when`` (effect modification)."""

    when: Condition
    arms: list[str] | None = Field(None, description="Group keys it applies to (default all).")
    shift: dict[str, Num] = Field(description="Shift of the mean change per visit label.")


class Constraint(MaybeMarked):
    """Values at a visit kept below (or at/above) a threshold, optionally for an exact count.

    With ``count``: exactly ``count`` subjects of ``arm`` (chosen among ``among``) are below
    ``below`` and every other subject of the arm is at or above it. Without ``count``: every
    subject of ``arm`` matching ``among`` is below ``below`` (or at least ``at_least``).
    """

    visit: str
    arm: str
    below: float | None = None
    at_least: float | None = None
    count: Count | None = None
    among: Condition | None = None

    @model_validator(mode="after")
    def _check(self) -> Constraint:
        if (self.below is None) == (self.at_least is None):
            raise ValueError("give exactly one of below or at_least")
        if self.count is not None and self.below is None:
            raise ValueError("count goes with below")
        return self


PerVisit = dict[str, Num]


class Trajectory(Marked):
    """Mean change (or level) per group key and visit, with its spread and constraints.

    ``change`` gives the mean change from baseline at the anchor visits, on the ``scale``
    (``absolute``: in the unit of the parameter; ``percent``: percent of baseline). With a
    ``baseline_slope`` it is the mean at the pooled baseline mean (an adjusted, least-squares
    mean). ``level`` gives mean values instead of changes. ``sd`` is the SD of the change (or
    the level) at each visit in the whole group (what a paper's table or paired t-test
    reports; ``modifiers`` then redistribute within it), or, with ``sd_around: subgroups``,
    the spread around the modifiers' subgroup means (so effect sizes are kept); ``residual_sd``
    is the SD after adjusting for baseline. Visits measured but not anchored are interpolated
    in time.
    """

    scale: Literal["absolute", "percent"] = "absolute"
    change: dict[str, PerVisit] | None = None
    level: dict[str, PerVisit] | None = None
    sd: dict[str, Num | dict[str, Num]] | None = None
    residual_sd: dict[str, Num | dict[str, Num]] | None = None
    baseline_slope: Num | None = None
    sd_around: Literal["group", "subgroups"] = Field(
        "group", description="Whether sd is the spread of the whole group or around the "
        "modifiers' subgroup means.")
    visit_correlation: float = Field(0.5, ge=0, lt=1)
    interpolation_sd: float = Field(0.0, ge=0, description="Noise added at interpolated "
                                    "visits (unit of the scale).")
    modifiers: list[Modifier] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)
    bounds: Bounds | None = None
    decimals: int = Field(2, ge=0, le=6)
    exact: bool = Field(True, description="Match mean and SD per group and visit exactly.")
    measured_at: list[str] | None = Field(None, description="Visit labels measured (default: "
                                          "every visit).")
    among: Condition | None = None

    @model_validator(mode="after")
    def _check(self) -> Trajectory:
        if (self.change is None) == (self.level is None):
            raise ValueError("give exactly one of change or level")
        if (self.sd is None) == (self.residual_sd is None):
            raise ValueError("give exactly one of sd or residual_sd")
        if self.level is not None and self.scale != "absolute":
            raise ValueError("level trajectories use the absolute scale")
        spread = self.sd if self.sd is not None else self.residual_sd
        assert spread is not None
        for visit, v in spread.items():
            items = v.items() if isinstance(v, dict) else [("all", v)]
            for key, s in items:
                if float(s) < 0:
                    raise ValueError(f"sd at {visit} ({key}) must be >= 0, got {float(s)}")
        return self

    def anchors(self) -> dict[str, PerVisit]:
        """Group key -> visit -> mean (change or level)."""
        table = self.change if self.change is not None else self.level
        assert table is not None
        return table

    def anchor_visits(self) -> list[str]:
        """Visit labels with a modelled mean."""
        seen: list[str] = []
        for per_visit in self.anchors().values():
            for v in per_visit:
                if v not in seen:
                    seen.append(v)
        return seen


class FromHbA1c(Marked):
    """Glucose from HbA1c by the ADAG relation: eAG (mg/dL) = 28.7 * HbA1c - 46.7, converted
    to mmol/L (/ 18.016), plus ``offset`` and normal noise (mmol/L)."""

    from_hba1c: Literal["adag"] = "adag"
    offset: float = 0.0
    sd: float = Field(ge=0)
    bounds: Bounds | None = None
    decimals: int = Field(1, ge=0, le=6)
    measured_at: list[str] | None = None


class Predictor(MaybeMarked):
    """A term of a latent selection score: per SD of a continuous variable, or for a
    condition."""

    variable: str | None = None
    log_odds_per_sd: float | None = None
    when: Condition | None = None
    log_odds: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Predictor:
        if (self.variable is None) == (self.when is None):
            raise ValueError("give either variable (with log_odds_per_sd) or when (with "
                             "log_odds)")
        if self.variable is not None and self.log_odds_per_sd is None:
            raise ValueError("variable needs log_odds_per_sd")
        if self.when is not None and self.log_odds is None:
            raise ValueError("when needs log_odds")
        return self


class Remission(Marked):
    """C-peptide remission: a rise of at least ``rise_pct`` in any of ``params`` at ``visit``.

    Exactly ``counts[arm]`` subjects of each arm remit (scaled with ``--n``); who remits follows
    the latent score of ``predictors`` plus logistic noise. Remitters get a rise of at least
    ``rise_pct + margin_pct`` in one parameter, others stay below ``rise_pct - margin_pct`` in
    every parameter, so the published rule recovers the counts exactly.
    """

    visit: str
    params: list[Literal["CPEP_FAST", "CPEP_PP", "CPEP_AUC"]] = Field(min_length=1)
    rise_pct: float = Field(gt=0)
    margin_pct: float = Field(2.0, ge=0)
    counts: dict[str, Count]
    predictors: list[Predictor] = Field(default_factory=list)


class Episode(MaybeMarked):
    """An insulin-free episode template.

    Starts ``start_day`` (a day or a distribution) after day 0, or ``gap_months`` after the
    previous episode ended. Lasts ``months`` and ends with resumption, or is ``censored`` at
    last contact (``months`` then fixes the last contact). ``again`` is a later episode.
    """

    start_day: Annotated[Dist | None, Field(None)] = None
    gap_months: float | None = Field(None, gt=0)
    months: float | None = Field(None, gt=0)
    censored: bool = False
    again: Episode | None = None

    @field_validator("start_day", mode="before")
    @classmethod
    def _start(cls, raw: Any) -> Any:
        return None if raw is None else dist_or_number(raw)

    @model_validator(mode="after")
    def _check(self) -> Episode:
        if not self.censored and self.months is None:
            raise ValueError("an episode that ends in resumption needs months")
        if self.again is not None and self.censored:
            raise ValueError("a censored episode cannot be followed by another")
        if self.again is not None and self.again.gap_months is None:
            raise ValueError("the later episode (again) needs gap_months")
        return self


class InsulinFree(Marked):
    """Insulin independence in one arm: who, when, for how long (episode templates)."""

    arm: str
    among: Condition | None = None
    select: list[Predictor] = Field(default_factory=list)
    episodes: list[Episode] = Field(min_length=1)
    resumed_dose: Annotated[Dist, Field(description="Insulin dose (IU/kg/day) on resumption.")]
    record_changes: bool = Field(True, description="Record the dose on the exact days insulin "
                                 "stops and restarts (unscheduled visits).")

    @field_validator("resumed_dose", mode="before")
    @classmethod
    def _dose(cls, raw: Any) -> Any:
        return dist_or_number(raw)


class Drug(MaybeMarked):
    """A glucose-lowering drug taken from before baseline."""

    drug_class: Literal["insulin", "metformin", "sulfonylurea", "dpp4", "sglt2", "glp1", "tzd",
                        "other"]
    daily_dose: Annotated[Dist, Field()]
    unit: str
    dose_step: float = Field(1.0, gt=0, description="Doses are rounded to this step.")

    @field_validator("daily_dose", mode="before")
    @classmethod
    def _dose(cls, raw: Any) -> Any:
        return dist_or_number(raw)

    @model_validator(mode="after")
    def _check(self) -> Drug:
        if self.drug_class == "insulin":
            raise ValueError("insulin periods come from the INSULIN_DOSE records; list oral "
                             "or injectable non-insulin drugs here")
        return self


class Reduction(Marked):
    """Exact number of subjects per group key who lower their doses once, from a day on."""

    counts: dict[str, Count]
    day: Annotated[Dist, Field()]
    fraction: Annotated[Dist, Field(description="Fraction of the dose dropped (0-1).")]
    select: list[Predictor] = Field(default_factory=list)

    @field_validator("day", "fraction", mode="before")
    @classmethod
    def _dist(cls, raw: Any) -> Any:
        return dist_or_number(raw)

    @model_validator(mode="after")
    def _check(self) -> Reduction:
        lo, hi = dist_support(self.fraction)
        if lo < 0 or hi > 1:
            raise ValueError(f"fraction must stay within [0, 1], got support [{lo}, {hi}]")
        return self


class Medications(Marked):
    """Background glucose-lowering drugs (by a category's level) and dose reductions."""

    by: str | None = Field(None, description="Category whose level picks the regimen.")
    regimens: dict[str, list[Drug]] = Field(description="Level (or all) -> drugs.")
    insulin_among: Condition | None = Field(None, description="Who is on insulin (T2D); "
                                            "T1D: everyone. Needs INSULIN_DOSE at baseline.")
    reduction: Reduction | None = None


class AdverseEvent(Marked):
    """Subjects per group key with an adverse event of this term (exact counts)."""

    term: str = Field(min_length=1)
    counts: dict[str, Count]
    severity: Literal["mild", "moderate", "severe"] | dict[str, Num]
    serious: bool = False
    related: bool = False
    onset_day: Annotated[Dist, Field()]

    @field_validator("onset_day", mode="before")
    @classmethod
    def _onset(cls, raw: Any) -> Any:
        return dist_or_number(raw)

    @model_validator(mode="after")
    def _check(self) -> AdverseEvent:
        if isinstance(self.severity, dict):
            bad = sorted(set(self.severity) - {"mild", "moderate", "severe"})
            if bad:
                raise ValueError(f"unknown severity level(s) {bad}")
            probs = [float(v) for v in self.severity.values()]
            if any(not 0 <= p <= 1 for p in probs) or abs(sum(probs) - 1) > 1e-6:
                raise ValueError(f"severity proportions must be within [0, 1] and sum to 1, "
                                 f"got {probs}")
        return self


class Outcomes(_Strict):
    """Outcome models."""

    trajectories: dict[str, Trajectory] = Field(default_factory=dict)
    glucose: dict[str, FromHbA1c] = Field(default_factory=dict,
                                          description="FPG/PPG derived from HbA1c.")
    remission: Remission | None = None
    insulin_free: list[InsulinFree] = Field(default_factory=list)
    medications: Medications | None = None
    adverse_events: list[AdverseEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Outcomes:
        for p in self.trajectories:
            if p not in PARAMS or p in ("WEIGHT",):
                raise ValueError(f"unknown trajectory parameter {p!r}; expected one of "
                                 f"{', '.join(x for x in PARAMS if x != 'WEIGHT')}")
        for p in self.glucose:
            if p not in ("FPG", "PPG"):
                raise ValueError(f"glucose models are for FPG or PPG, got {p!r}")
            if p in self.trajectories:
                raise ValueError(f"{p} has both a trajectory and a glucose model")
        if self.glucose and "HBA1C" not in self.trajectories:
            raise ValueError("glucose from HbA1c needs an HBA1C trajectory")
        if self.remission is not None:
            for p in self.remission.params:
                if p not in self.trajectories:
                    raise ValueError(f"remission uses {p}, which has no trajectory")
        return self


# ---------------------------------------------------------------------------------------------
# targets


class Target(_Strict):
    """A published number and the analysis that reproduces it."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    analysis: str
    description: str
    params: dict[str, Any] = Field(default_factory=dict)
    value: int | float | None = None
    values: list[float] | None = Field(None, description="For analyses that give a list "
                                       "(e.g. censored durations).")
    comparison: Literal["=", "<", ">", "<=", ">="] = "="
    decimals: int | None = Field(None, ge=0, description="Printed precision (default: as "
                                 "written).")
    ci: tuple[float, float] | None = None
    se: float | None = None
    p: float | None = Field(None, ge=0, le=1)
    p_comparison: Literal["=", "<", ">"] = "="
    source: str = Field(min_length=1)
    note: str | None = None
    calibrated: bool = Field(False, description="The generator is built to hit this number "
                             "exactly at the published n.")

    @field_validator("analysis")
    @classmethod
    def _analysis(cls, raw: str) -> str:
        if raw not in ANALYSES:
            raise ValueError(f"unknown analysis {raw!r}; known analyses: "
                             f"{', '.join(sorted(ANALYSES))}")
        return raw

    @model_validator(mode="after")
    def _check(self) -> Target:
        info = ANALYSES[self.analysis]
        missing = [k for k in info.required if k not in self.params]
        if missing:
            raise ValueError(f"target {self.id!r} ({self.analysis}) needs params "
                             f"{', '.join(missing)}")
        unknown = sorted(set(self.params) - set(info.required) - set(info.optional))
        if unknown:
            raise ValueError(f"target {self.id!r} ({self.analysis}): unknown params "
                             f"{', '.join(unknown)}; allowed: "
                             f"{', '.join(info.required + info.optional)}")
        if self.value is None and self.p is None and self.values is None:
            raise ValueError(f"target {self.id!r} needs a value, values or a p")
        if self.ci is not None and self.ci[0] > self.ci[1]:
            raise ValueError(f"target {self.id!r}: ci lower bound above upper bound")
        return self

    @property
    def tolerance(self) -> float:
        """Half a unit of the printed precision of ``value``."""
        if self.value is None:
            return 0.0
        from cohort.synth.backsolve import decimals_of

        d = self.decimals if self.decimals is not None else decimals_of(self.value)
        return 0.5 * 10 ** -d


# ---------------------------------------------------------------------------------------------
# the whole spec


class StudySpec(_Strict):
    """A study spec (see the module docstring)."""

    spec_version: Literal[1] = 1
    study: Study
    design: Design
    visits: Visits
    baseline: Baseline
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


# ---------------------------------------------------------------------------------------------
# reading


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _DISTS or part in ("function-plain", "function-after", "function-before"):
            continue  # union / validator branch names are noise for a user
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if err.get("type") == "missing":
        msg = "required key is missing"
    elif err.get("type") == "extra_forbidden":
        msg = "unknown key (not part of the spec format; check the spelling)"
    if err.get("type") == "unknown_distribution":
        got = err.get("input", {})
        got = got.get("dist") if isinstance(got, dict) else got
        msg = f"unknown distribution {got!r}; expected one of {', '.join(_DISTS)}"
    return msg


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: ``source: key.path: message``."""
    lines = []
    seen = set()
    for err in exc.errors():
        loc = tuple(err["loc"])
        for msg in _message(err).split("\n"):
            # cross-part checks name their own key path
            line = f"  {_loc(loc)}: {msg}" if loc else f"  {msg}"
            if line not in seen:
                seen.add(line)
                lines.append(line)
    n = len(lines)
    head = f"invalid study spec {source} ({n} problem{'s' if n != 1 else ''}):"
    return "\n".join([head, *lines[:20]] + ([f"  ... {n - 20} more"] if n > 20 else []))


def spec_from_dict(raw: Any, *, source: str = "<dict>") -> StudySpec:
    """Validate a parsed spec (a dict as read from YAML).

    Raises
    ------
    SpecError
        Naming the key path and the problem, one line each.
    """
    if not isinstance(raw, dict):
        raise SpecError(f"invalid study spec {source}: expected a mapping at the top level, "
                        f"got {type(raw).__name__}")
    try:
        return StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_validation_error(exc, source)) from None


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a study spec file (YAML).

    Raises
    ------
    SpecError
        If the file cannot be read or parsed, or the spec is invalid (the message names the
        key path of every problem).
    """
    from cohort.io.yaml_safe import load_yaml_file

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise SpecError(f"study spec {path} does not exist; give a registered study name "
                        "(see `cohort studies`) or the path of a spec file")
    raw = load_yaml_file(path, what="study spec", error=SpecError)
    return spec_from_dict(raw, source=str(path))


def iter_values(obj: Any, path: str = "") -> Iterator[tuple[str, Value]]:
    """Every :class:`Value` in a spec with its key path (for READMEs and audits)."""
    if isinstance(obj, Value):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from iter_values(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from iter_values(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from iter_values(v, f"{path}[{i}]")


"""Outcome models: trajectories, glucose, remission, insulin independence, medications and
adverse events."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from cohort.spec.blocks import (
    Bounds,
    Condition,
    Dist,
    Marked,
    MaybeMarked,
    _Strict,
    dist_or_number,
    dist_support,
)
from cohort.spec.values import Count, Num
from cohort.spec.vocabulary import (
    PARAMS,
)

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

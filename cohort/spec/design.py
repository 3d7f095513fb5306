"""The study and its design: metadata, arms, treatment, follow-up and the visit schedule."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from cohort.spec.blocks import (
    Dist,
    Marked,
    MaybeMarked,
    _Strict,
    dist_or_number,
    dist_support,
)
from cohort.spec.values import Count, Num
from cohort.spec.vocabulary import (
    DAYS_PER_MONTH,
    DONORS,
    SOURCES,
)

# ---------------------------------------------------------------------------------------------
# study and design


class Study(_Strict):
    """Metadata and citation."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$",
                    description="Short name of the study: first author and year in lower "
                    "case (letters, digits, underscores).")
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
    primary: list[str] = Field(default_factory=list, description="Ids of the targets that "
                               "are the study's primary endpoint(s); shown first.")
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
    names: list[str] | None = Field(None, description="The centres' names as published (the "
                                    "cohort's site_id); default S1, S2, ...")

    @model_validator(mode="after")
    def _names(self) -> Sites:
        if self.names is not None:
            if len(self.names) != self.count:
                raise ValueError(f"names: {len(self.names)} names for {self.count} sites")
            if len(set(self.names)) != len(self.names) or not all(n.strip()
                                                                  for n in self.names):
                raise ValueError("names: the sites' names must be distinct and not empty")
        return self


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

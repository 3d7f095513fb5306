"""The per-subject working state of one generator run (internal).

Subjects are held as flat numpy arrays (one entry per subject) so every step of the generator
is vectorised; group keys (``all``, ``arm``, ``arm/stratum``) resolve to index arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from cohort.errors import SpecError
from cohort.spec.blocks import Condition
from cohort.spec.conditions import condition_mask
from cohort.spec.model import Predictor, StudySpec
from cohort.synth.draw import rng_for

__all__ = ["Cell", "Episodes", "SynthState"]


@dataclass(frozen=True)
class Cell:
    """Subjects of one arm (and stratum): the finest grouping of a run."""

    arm: str
    stratum: str | None
    idx: np.ndarray
    n_published: int

    @property
    def key(self) -> str:
        """``arm`` or ``arm/stratum``."""
        return self.arm if self.stratum is None else f"{self.arm}/{self.stratum}"


@dataclass(frozen=True)
class Episodes:
    """Insulin-free episodes, one entry per episode (days; ``end`` -1 when censored)."""

    subject: np.ndarray
    start: np.ndarray
    end: np.ndarray
    resumed_dose: np.ndarray
    record_changes: np.ndarray


@dataclass
class SynthState:
    """Everything generated so far for one run."""

    spec: StudySpec
    seed: int
    exact: bool
    cells: list[Cell]
    n: int
    arm_of: np.ndarray  # arm name per subject (object)
    stratum_of: np.ndarray  # stratum name per subject ('' if none)
    cols: dict[str, np.ndarray] = field(default_factory=dict)
    visit_day: dict[str, np.ndarray] = field(default_factory=dict)  # NaN = not attended
    values: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    last_contact: np.ndarray | None = None
    infusion_days: dict[str, np.ndarray] = field(default_factory=dict)
    episodes: list[Episodes] = field(default_factory=list)
    extra_records: list[dict[str, np.ndarray]] = field(default_factory=list)
    reduction_day: np.ndarray | None = None  # NaN = no reduction
    reduction_fraction: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    attempt: int = 0  # baseline redraws after a failed moment match (0 = first draw)
    match_failures: int = 0

    # groups ----------------------------------------------------------------------------
    def rng(self, *names: str | int) -> np.random.Generator:
        """The sub-generator for a named step."""
        return rng_for(self.seed, *names)

    def published_n(self, key: str) -> int:
        """Published size of a group key."""
        if key == "all":
            return sum(c.n_published for c in self.cells)
        return sum(c.n_published for c in self.cells
                   if c.key == key or (c.arm == key))

    def resolve(self, cell: Cell, keys: Iterable[str]) -> str | None:
        """The most specific of ``keys`` that covers ``cell``."""
        keys = set(keys)
        for k in (cell.key, cell.arm, "all"):
            if k in keys:
                return k
        return None

    def groups(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        """Subjects per key, each subject under its most specific key (sorted indices)."""
        keys = list(keys)
        out: dict[str, list[np.ndarray]] = {}
        for cell in self.cells:
            k = self.resolve(cell, keys)
            if k is not None:
                out.setdefault(k, []).append(cell.idx)
        return {k: np.sort(np.concatenate(v)) for k, v in out.items()}

    def members(self, key: str) -> np.ndarray:
        """Every subject a group key covers (an arm key covers its strata)."""
        parts = [c.idx for c in self.cells if key in ("all", c.arm, c.key)]
        return np.sort(np.concatenate(parts)) if parts else np.array([], dtype=int)

    def in_keys(self, keys: Iterable[str] | None) -> np.ndarray:
        """Mask of subjects covered by any of ``keys`` (all if None)."""
        mask = np.zeros(self.n, dtype=bool)
        if keys is None:
            mask[:] = True
            return mask
        for k in keys:
            mask[self.members(k)] = True
        return mask

    # variables and conditions ----------------------------------------------------------
    def variable(self, name: str) -> np.ndarray:
        """Per-subject values of a variable (NaN / None where absent)."""
        if name == "arm":
            return self.arm_of
        if name in self.cols:
            return self.cols[name]
        raise SpecError(f"variable {name!r} is used before it is generated (or never is); "
                        "conditions on baseline variables may only refer to categories and "
                        "variables declared earlier")

    def mask(self, cond: Condition | None) -> np.ndarray:
        """Subjects matching a condition (all if None; :func:`cohort.spec.condition_mask`)."""
        return condition_mask(cond, self.variable, self.n)

    def score(self, predictors: list[Predictor], idx: np.ndarray) -> np.ndarray:
        """Latent selection score (log-odds scale) of subjects ``idx``."""
        s = np.zeros(idx.size)
        for p in predictors:
            if p.variable is not None:
                x = np.asarray(self.variable(p.variable)[idx], dtype=float)
                ok = ~np.isnan(x)
                sd = x[ok].std() if ok.sum() > 1 else 0.0
                if sd > 0:
                    zx = np.where(ok, (x - x[ok].mean()) / sd, 0.0)
                    s += float(p.log_odds_per_sd or 0.0) * zx
            else:
                s += float(p.log_odds or 0.0) * self.mask(p.when)[idx]
        return s

    def note(self, text: str) -> None:
        """Record something a user should know about this run (no duplicates)."""
        if text not in self.notes:
            self.notes.append(text)

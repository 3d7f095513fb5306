"""The definition of insulin independence used to find insulin-free episodes.

:class:`IndependenceRule` holds its parameters: the insulin-free dose threshold, how long an
insulin-free run must last to count as entry into independence (records and/or days), an
optional HbA1c condition at entry, which adverse-event terms are deaths and how a death ends an
episode. The episodes themselves are derived in :mod:`cohort.derive.insulin`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from cohort.errors import AnalysisError

__all__ = ["IndependenceRule"]


@dataclass(frozen=True)
class IndependenceRule:
    """How insulin independence, resumption and censoring are defined.

    Parameters
    ----------
    min_records : int
        Consecutive insulin-free records a run needs (default 2: one zero dose at a single
        visit is not independence).
    min_days : int
        Days a run must span from its first to its last insulin-free record (default 0).
    combine : {"all", "any"}
        ``"all"``: a run needs both ``min_records`` and ``min_days``; ``"any"``: either.
    zero_dose : float
        Largest dose in IU/kg/day that counts as insulin-free (default 0.0).
    hba1c_below : float or None
        If set, a run also needs an HbA1c below this value (in %, e.g. 7.0) nearest its first
        record within ``hba1c_window_days`` (an HbA1c exactly at the threshold fails).
    hba1c_window_days : int
        How far (days, either side) from the entry day the HbA1c may be (default 30). Of two
        equally near values the earlier is used.
    from_day : int
        Insulin records before this study day are ignored (default 1: a dose recorded at or
        before the first infusion is baseline, not a response).
    death_terms : sequence of str
        Adverse-event terms that mark a death (compared case-insensitively after stripping
        spaces; default ``("death",)``). Empty: deaths are not looked for.
    death_as : {"censor", "event"}
        A death during an episode censors it (default) or counts as the event (a composite
        endpoint "resumption or death").
    """

    min_records: int = 2
    min_days: int = 0
    combine: Literal["all", "any"] = "all"
    zero_dose: float = 0.0
    hba1c_below: float | None = None
    hba1c_window_days: int = 30
    from_day: int = 1
    death_terms: tuple[str, ...] = ("death",)
    death_as: Literal["censor", "event"] = "censor"

    def __post_init__(self) -> None:
        if isinstance(self.death_terms, str):
            object.__setattr__(self, "death_terms", (self.death_terms,))
        else:
            object.__setattr__(self, "death_terms", tuple(self.death_terms))
        for name in ("min_records", "min_days", "hba1c_window_days", "from_day"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise AnalysisError(f"IndependenceRule.{name} must be an integer, got {value!r}")
        if self.min_records < 1:
            raise AnalysisError(f"IndependenceRule.min_records must be >= 1, got "
                                f"{self.min_records}")
        if self.min_days < 0 or self.hba1c_window_days < 0:
            raise AnalysisError("IndependenceRule.min_days and hba1c_window_days must be >= 0 "
                                f"days, got {self.min_days} and {self.hba1c_window_days}")
        if self.combine not in ("all", "any"):
            raise AnalysisError(f"IndependenceRule.combine must be 'all' or 'any', got "
                                f"{self.combine!r}")
        if self.death_as not in ("censor", "event"):
            raise AnalysisError(f"IndependenceRule.death_as must be 'censor' or 'event', got "
                                f"{self.death_as!r}")
        if not (np.isfinite(self.zero_dose) and self.zero_dose >= 0):
            raise AnalysisError(f"IndependenceRule.zero_dose must be a dose >= 0 IU/kg/day, "
                                f"got {self.zero_dose!r}")
        if self.hba1c_below is not None and not (3.0 <= float(self.hba1c_below) <= 20.0):
            raise AnalysisError(f"IndependenceRule.hba1c_below is an HbA1c in % (e.g. 7.0), "
                                f"got {self.hba1c_below!r}")

    def describe(self) -> str:
        """The definition in words (for reports and notes)."""
        parts = []
        if self.min_records > 1 or self.min_days == 0:
            parts.append(f"at least {self.min_records} consecutive records with insulin dose "
                         f"<= {self.zero_dose:g} IU/kg/day")
        if self.min_days > 0:
            parts.append(f"insulin-free records spanning at least {self.min_days} days")
        text = (" and " if self.combine == "all" else " or ").join(parts)
        if self.hba1c_below is not None:
            text += (f", with HbA1c < {self.hba1c_below:g}% within {self.hba1c_window_days} "
                     "days of entry")
        return text

    def to_dict(self) -> dict[str, Any]:
        """The rule's parameters (JSON-ready)."""
        out = asdict(self)
        out["death_terms"] = list(self.death_terms)
        return out

"""What a time-to-event analysis measures, in words: the event, what the survival curve
shows, and the clock's origin. Carried in a result's ``params`` (``endpoint``,
``survival_label``, ``origin``) so that figures
and tables label themselves ("Insulin-free (%)", "Time since insulin stop (months)") instead of
assuming one endpoint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Endpoint", "endpoint_from_param", "insulin_resumption"]


@dataclass(frozen=True)
class Endpoint:
    """A time-to-event endpoint in words.

    Attributes
    ----------
    event : str
        The event, lower case ("insulin resumption", "severe hypoglycaemia").
    state : str or None
        What the survival curve shows, capitalised ("Insulin-free"); default
        ``"Without <event>"``.
    origin : str or None
        The clock's origin ("insulin stop", "first infusion"); default "origin".
    """

    event: str
    state: str | None = None
    origin: str | None = None

    @property
    def survival_label(self) -> str:
        """What the curve shows: ``state``, else ``"Without <event>"``."""
        return self.state or f"Without {self.event}"

    def time_label(self, unit: str) -> str:
        """The x-axis label: ``"Time since <origin> (<unit>)"``, ``"Time (<unit>)"`` when the
        origin is not known."""
        return f"Time since {self.origin} ({unit})" if self.origin else f"Time ({unit})"

    def to_params(self) -> dict[str, Any]:
        """The keys a result's ``params`` carry: ``endpoint`` (the event), ``survival_label``
        and ``origin``."""
        return {"endpoint": self.event, "survival_label": self.survival_label,
                "origin": self.origin}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Endpoint | None:
        """The endpoint a result's ``params`` carry (None when none was given)."""
        event = params.get("endpoint")
        if not isinstance(event, str) or not event:
            return None
        return cls(event=event, state=params.get("survival_label"), origin=params.get("origin"))


def insulin_resumption(origin: str = "insulin-stop") -> Endpoint:
    """The endpoint of the insulin-free episodes: resumption of insulin, on the clock of
    :func:`cohort.analysis.time_to_event.tte_from_episodes` (``"insulin-stop"`` or
    ``"first-infusion"``)."""
    return Endpoint(event="insulin resumption", state="Insulin-free",
                    origin=origin.replace("-", " "))


_TIME_TO = re.compile(r"^\s*time\s+to\s+", re.IGNORECASE)
_UNIT_SUFFIX = re.compile(r"\s*\((days?|weeks?|months?|years?)\)\s*$", re.IGNORECASE)


def endpoint_from_param(label: str | None, code: str | None = None) -> Endpoint:
    """An endpoint from an ADTTE ``PARAM`` label ("Time to First Severe Hypoglycaemia (days)")
    or, without one, its ``PARAMCD``; "event" when neither is known.

    Examples
    --------
    >>> endpoint_from_param("Time to First Severe Hypoglycaemia (days)").event
    'first severe hypoglycaemia'
    >>> endpoint_from_param(None, "TTRESUME").survival_label
    'Without TTRESUME'
    """
    text = (label or "").strip()
    if text:
        text = _UNIT_SUFFIX.sub("", _TIME_TO.sub("", text)).strip()
        # "First Severe Hypoglycaemia" reads as a phrase in lower case; acronyms stay
        text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in text.split())
    return Endpoint(event=text or (code or "").strip() or "event")

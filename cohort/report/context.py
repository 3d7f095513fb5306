"""What the sections of a study report share: the cohort, the document being built, the
record of which sections could be computed, and the guard that turns a failure into a
"not computable" note."""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cohort.errors import CohortError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from cohort.io.cohort import Cohort
    from cohort.report.html import HtmlReport

__all__ = ["NotComputableError", "ReportContext", "SectionStatus", "new_axes", "new_axes_row",
           "run_section"]


class NotComputableError(CohortError):
    """A report section cannot be computed on these data; the message says why."""


@dataclass(frozen=True)
class SectionStatus:
    """How one section of the report went.

    Attributes
    ----------
    heading : str
        The section heading.
    status : str
        ``"ok"`` (computed), ``"not computable"`` (the data do not allow it; ``reason`` says
        why) or ``"error"`` (a bug in cohort; the report still renders).
    reason : str
        Why the section, or a part of it, could not be computed (empty when ``ok``).
    parts : tuple of str
        Parts of a computed section that were not computable, each ``"<part>: <reason>"``.
    """

    heading: str
    status: str
    reason: str = ""
    parts: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"heading": self.heading, "status": self.status, "reason": self.reason,
                "parts": list(self.parts)}


@dataclass
class ReportContext:
    """The state shared by the sections while a report is built.

    Attributes
    ----------
    cohort : Cohort
        The validated cohort.
    html : HtmlReport
        The document.
    seed : int
        The one seed of every resampling (prediction cross-validation and bootstrap).
    statuses : list of SectionStatus
        One entry per section, in order.
    results : dict
        Intermediate results later sections may reuse (e.g. the inferred visits).
    """

    cohort: Cohort
    html: HtmlReport
    seed: int = 0
    statuses: list[SectionStatus] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    _parts: list[str] = field(default_factory=list)

    def not_computable(self, part: str, reason: str) -> None:
        """Say in the report that ``part`` of the current section cannot be computed."""
        self.html.note(f"{part}: not computable: {reason}")
        self._parts.append(f"{part}: {reason}")

    def figure(self, ax: Axes, caption: str) -> None:
        """Embed the figure that holds ``ax``."""
        self.html.figure(ax.get_figure(root=True), caption=caption)


def new_axes(width: float = 7.0, height: float = 4.5) -> Axes:
    """A fresh Axes on a Figure that pyplot does not track (no global state)."""
    from matplotlib.figure import Figure

    # no layout engine: savefig(bbox_inches="tight") already fits labels and outside legends
    return Figure(figsize=(width, height)).add_subplot()


def new_axes_row(n: int, *, width: float = 10.0, height: float = 4.5) -> list[Axes]:
    """``n`` Axes side by side on one untracked Figure (for figures read together)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return list(fig.subplots(1, n, squeeze=False)[0])


def run_section(ctx: ReportContext, heading: str,
                build: Callable[[ReportContext], None]) -> SectionStatus:
    """Add a level-2 section: its heading, then whatever ``build`` writes.

    ``build`` raises :class:`NotComputableError` (or any :class:`~cohort.errors.CohortError`) when
    the data do not allow the section; the report then says "not computable: <reason>". Any
    other exception is a bug in cohort: the section says so and the report still renders.
    Warnings raised while building are shown in the section, once each, not re-raised.
    """
    ctx.html.heading(heading)
    ctx._parts = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            build(ctx)
            status = SectionStatus(heading, "ok", parts=tuple(ctx._parts))
        except CohortError as exc:
            ctx.html.note(f"not computable: {_one_line(exc)}")
            status = SectionStatus(heading, "not computable", _one_line(exc), tuple(ctx._parts))
        except Exception as exc:  # a report must render; the bug is shown in it
            text = (f"internal error ({type(exc).__name__}: {_one_line(exc)}); this is a bug "
                    "in cohort, please report it")
            ctx.html.note(f"not computable: {text}")
            status = SectionStatus(heading, "error", text, tuple(ctx._parts))
    seen: set[str] = set()
    shown = ctx.html.render() if caught else ""
    for w in caught:
        message = _one_line(w.message)
        text = f"{w.category.__name__}: {message}"
        # analyses also keep their warnings as notes, which the section may show already
        if text not in seen and html.escape(message) not in shown:
            seen.add(text)
            ctx.html.paragraph(f"warning: {text}", css="muted")
    ctx.statuses.append(status)
    return status


def _one_line(obj: object) -> str:
    return " ".join(str(obj).split())

"""The common shape of analysis results: a tidy ``summary`` plus JSON export."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cohort.analysis.format import json_number
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["AnalysisResult", "NothingToPlotError", "json_safe"]


class NothingToPlotError(AnalysisError):
    """A figure was asked of a result that has nothing to draw (the CLI: exit 2, the message)."""


def json_safe(obj: Any) -> Any:
    """Convert numpy/pandas objects (and NaN) into plain JSON values.

    DataFrames become lists of records; NaN and NA become None, infinities the strings
    ``"Inf"``/``"-Inf"`` (kept apart from missing: an infinite odds ratio is a result).
    """
    if isinstance(obj, pd.DataFrame):
        return [json_safe(r) for r in obj.to_dict("records")]
    if isinstance(obj, pd.Series):
        return json_safe(obj.to_dict())
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return json_number(obj)


@dataclass
class AnalysisResult:
    """Base class of analysis results.

    Attributes
    ----------
    summary : DataFrame
        The tidy result table; each subclass documents its columns (``estimate``,
        ``ci_lower``, ``ci_upper``, ``p``, ``n``, ...).
    exclusions : DataFrame
        Subjects left out and why: ``subject_id``, ``reason`` (may be empty).
    params : dict
        The options the analysis ran with (for manifests and JSON).
    notes : list of str
        Warnings and caveats a reader must see next to the numbers.
    """

    summary: pd.DataFrame
    exclusions: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["subject_id", "reason"]))
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # @dataclass on a subclass would write a field-dump __repr__ (a truncated DataFrame);
        # it keeps a __repr__ the class already has, so give each subclass the one-line one
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = AnalysisResult.__repr__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        from cohort.analysis.display import one_line

        return one_line(self)

    def to_frame(self) -> pd.DataFrame:
        """The tidy summary (numbers, one row per estimate), a copy."""
        return self.summary.copy()

    def formatted(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The summary as printed: default columns, numbers as text (see
        :func:`cohort.analysis.display.formatted_summary`)."""
        from cohort.analysis.display import formatted_summary

        return formatted_summary(self, columns)

    def summary_text(self, columns: list[str] | None = None, *,
                     title: str | None = None) -> str:
        """What :meth:`print_summary` prints, as a string (the notes excepted)."""
        from cohort.analysis.display import summary_text

        return summary_text(self, columns, title=title)

    def print_summary(self, columns: list[str] | None = None, *,
                      file: IO[str] | None = None, title: str | None = None) -> None:
        """Print the result as a paper's table: default columns, p-values as ``<0.001``,
        intervals as ``(lo to hi)``, decimals from the unit; then exclusions and notes.

        Parameters
        ----------
        columns : list of str or None
            Summary columns to show instead of the analysis's defaults.
        file : text stream or None, keyword-only
            Where to print (default: standard output).
        title : str or None, keyword-only
            First line (default: the analysis's name).
        """
        print(self.summary_text(columns, title=title), file=file)
        for note in self.notes:
            print(f"note: {note}", file=file)

    def _repr_html_(self) -> str:
        from cohort.analysis.display import html

        return html(self)

    def plot(self, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw the result's figure on ``ax`` (a new figure when omitted) and return the Axes.

        Results with a figure override this; the base class has nothing to draw.

        Raises
        ------
        NothingToPlotError
            When the result has no figure (a :class:`~cohort.errors.AnalysisError`).
        """
        raise NothingToPlotError(f"{self.analysis} results have no figure to plot")

    @property
    def analysis(self) -> str:
        """Name of the analysis (the class name without ``Result``)."""
        return type(self).__name__.removesuffix("Result")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``analysis``, ``params``, ``summary``, ``exclusions``, ``notes``."""
        return json_safe({
            "analysis": self.analysis,
            "params": self.params,
            "summary": self.summary,
            "exclusions": self.exclusions,
            "n_excluded": len(self.exclusions),
            "notes": self.notes,
        })

"""The figures of results whose data need arranging first: the paired analysis (change by visit,
trajectories, waterfall) and the dose-response analysis. The results' ``plot`` methods call
these, so the analysis modules hold no drawing code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from cohort.analysis.result import NothingToPlotError
from cohort.derive.visit_values import LAST_VISIT_LABEL
from cohort.errors import AnalysisError
from cohort.report.figures import regression, trajectories
from cohort.report.figures.labels import change_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from cohort.analysis.dose_response import DoseResponseResult
    from cohort.analysis.paired import PairedResult

__all__ = ["dose_response_figure", "paired_figure"]

_DOSE_COLUMNS = {"total": ("dose_cells_total", "cells"),
                 "per_kg": ("dose_cells_per_kg", "cells/kg")}


def paired_figure(result: PairedResult, *, kind: str | None = None, visit: str | None = None,
                  threshold: float | None = None, ax: Axes | None = None,
                  **kwargs: Any) -> Any:
    """A figure of a paired analysis's subjects.

    Parameters
    ----------
    result : PairedResult
    kind : {"change", "trajectories", "waterfall"}, optional, keyword-only
        Default ``"change"``, or ``"waterfall"`` when only each subject's last follow-up was
        analysed (no nominal visit). ``"change"``: mean change with its t-based CI at each
        visit, by group (:func:`~cohort.report.figures.regression.change_by_visit_plot`);
        ``"trajectories"``: each subject's baseline and visit values, one panel per group,
        with the mean and CI (:func:`~cohort.report.figures.trajectories.spaghetti_plot`;
        returns the list of panels); ``"waterfall"``: each subject's change at ``visit``,
        sorted, with an optional ``threshold`` line.
    visit, threshold : keyword-only
        For the waterfall (``visit`` is required when several were analysed).
    ax : Axes, optional, keyword-only
    **kwargs
        Passed to the figure function.

    Returns
    -------
    Axes (a list of Axes for ``"trajectories"``)
    """
    data = result.data
    if data is None or data.empty:
        raise NothingToPlotError("this paired result holds no subject values to plot")
    param = kwargs.pop("param", result.params.get("param"))
    by = result.params.get("by")
    grouped = "group" in data.columns and by is not None
    if not grouped:
        data = data.assign(group=None)
    # the legend is titled with the grouping asked for ("arm", "stratum")
    hue = str(by) if grouped else None
    if grouped:
        data = data.loc[data["group"].notna()]
    if hue is not None and hue != "group":
        data = data.drop(columns=[hue], errors="ignore").assign(**{hue: data["group"]})
    nominal = data.loc[data["visit"] != LAST_VISIT_LABEL]
    if kind is None:
        # each subject's last follow-up falls on different days: one bar per subject
        kind = "change" if len(nominal) else "waterfall"
    if kind == "change":
        if nominal.empty:
            raise NothingToPlotError(
                "nothing to plot: the change by visit needs nominal visits, and only each "
                "subject's last follow-up was analysed (at different days); its waterfall is "
                "kind='waterfall'")
        return regression.change_by_visit_plot(nominal, hue=hue, param=param, ax=ax, **kwargs)
    if kind == "trajectories":
        frame = trajectories.trajectory_frame(data.assign(group=data["group"].fillna("")),
                                              group="group")
        return trajectories.spaghetti_plot(frame, facet="group" if grouped else None,
                                           param=param, ax=ax, **kwargs)
    if kind == "waterfall":
        return regression.waterfall_plot(data, visit=visit, hue=hue, threshold=threshold,
                                         param=param, ax=ax, **kwargs)
    raise AnalysisError(f"kind must be 'change', 'trajectories' or 'waterfall', got {kind!r}")


def dose_response_figure(result: DoseResponseResult, *, visit: str | None = None,
                         dose: str | None = None, ax: Axes | None = None,
                         **kwargs: Any) -> Axes:
    """Change against dose at one visit, with the least-squares line on log10 dose
    (:func:`~cohort.report.figures.regression.dose_response_plot`).

    Parameters
    ----------
    result : DoseResponseResult
    visit : str, optional, keyword-only
        The visit (label) to show; default the first analysed.
    dose : {"total", "per_kg"}, optional, keyword-only
        Dose measure on the x axis; default the first analysed.
    ax : Axes, optional, keyword-only
    **kwargs
        Passed to the figure function.

    Returns
    -------
    Axes
    """
    data = result.data
    if data is None or data.empty:
        raise NothingToPlotError("this dose-response result holds no subject to plot")
    visits = [str(v) for v in pd.unique(data["visit"])]
    shown = visit if visit is not None else visits[0]
    if shown not in visits:
        raise AnalysisError(f"visit {shown!r} was not analysed; visits: {', '.join(visits)}")
    measure = dose or next(iter(result.params.get("doses") or ["total"]))
    if measure not in _DOSE_COLUMNS or _DOSE_COLUMNS[measure][0] not in data.columns:
        raise AnalysisError(f"dose must be 'total' or 'per_kg' (analysed: "
                            f"{result.params.get('doses')}), got {measure!r}")
    col, unit = _DOSE_COLUMNS[measure]
    ax = regression.dose_response_plot(data.loc[data["visit"].astype(str) == shown], x=col,
                                       ax=ax, **kwargs)
    ax.set_xlabel(f"Dose ({unit}, log scale)" if ax.get_xscale() == "log"
                  else f"Dose ({unit})")
    ax.set_ylabel(change_label(result.params.get("param"),
                               template="Change in {name} at " + shown))
    return ax

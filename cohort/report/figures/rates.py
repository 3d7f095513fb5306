"""Forest plots of proportions (remission and responder rates, in %) and of ratios (hazard and
odds ratios, on a log scale), labelled with the data's arms, visits and terms.

Each takes the result's summary rows and returns the Axes (a new untracked figure when ``ax``
is omitted, sized to the rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cohort.analysis.result import NothingToPlotError
from cohort.report.figures.regression import forest_plot

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ratio_forest", "rate_forest"]


def _axes(ax: Axes | None, n_rows: int) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=(6.5, 0.45 * n_rows + 1.4)).add_subplot()


def rate_forest(rows: pd.DataFrame, *, label: str | Sequence[str] = "arm",
                what: str = "Responders", interval: str = "95% CI",
                ax: Axes | None = None) -> Axes:
    """Proportions with their intervals as percentages, one row each, with ``x/n`` beside the
    label ("UC-MSC (12/27)").

    Parameters
    ----------
    rows : DataFrame
        ``estimate``, ``ci_lower``, ``ci_upper`` (proportions 0-1), the ``label`` column(s),
        and ``x``, ``n`` when known.
    label : str or sequence of str, keyword-only
    what : str, keyword-only
        What is counted, for the x label ("Remission").
    interval : str, keyword-only
        The interval's name for the x label ("95% CI, Clopper-Pearson").
    ax : Axes, optional, keyword-only

    Returns
    -------
    Axes
        x axis 0-100 %.
    """
    shown = rows.dropna(subset=["estimate"]).reset_index(drop=True)
    if shown.empty:
        raise NothingToPlotError(f"no {what.lower()} rate to plot")
    shown = shown.assign(**{c: 100.0 * shown[c].astype(float)
                            for c in ("estimate", "ci_lower", "ci_upper")})
    labels = [label] if isinstance(label, str) else list(label)
    if {"x", "n"} <= set(shown.columns):
        last = labels[-1]
        shown[last] = [f"{v} ({int(x)}/{int(n)})" for v, x, n in
                       zip(shown[last], shown["x"], shown["n"], strict=True)]
    ax = forest_plot(shown, label=labels, reference=None,
                     xlabel=f"{what}, % ({interval})", ax=_axes(ax, len(shown)))
    ax.set_xlim(-2, 102)
    return ax


def ratio_forest(rows: pd.DataFrame, *, label: str | Sequence[str] = "term",
                 what: str = "Hazard ratio", interval: str = "95% CI",
                 ax: Axes | None = None) -> Axes:
    """Ratios with their intervals on a log axis with the no-effect line at 1; rows whose
    ratio or interval is not finite (separation) are left out and named in the x label.

    Parameters
    ----------
    rows : DataFrame
        ``estimate``, ``ci_lower``, ``ci_upper`` (ratios) and the ``label`` column(s).
    label : str or sequence of str, keyword-only
    what : str, keyword-only
        "Hazard ratio" or "Odds ratio", for the x label.
    interval : str, keyword-only
    ax : Axes, optional, keyword-only

    Returns
    -------
    Axes
    """
    values = rows[["estimate", "ci_lower", "ci_upper"]].astype(float).to_numpy()
    finite = np.isfinite(values).all(axis=1) & (values > 0).all(axis=1)
    shown = rows.loc[finite]
    if shown.empty:
        raise NothingToPlotError(f"no finite {what.lower()} to plot")
    dropped = int((~finite).sum())
    xlabel = f"{what} ({interval}, log scale)" + (
        f"; {dropped} not finite, not shown" if dropped else "")
    return forest_plot(shown, label=label, reference=1.0, xlabel=xlabel, log=True,
                       ax=_axes(ax, len(shown)))

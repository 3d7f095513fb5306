"""Figures of the regression analyses: change by visit and arm, per-subject trajectories,
waterfall of change, forest plot and dose-response scatter.

Seaborn-style functions: data first, keyword-only options, ``ax=`` (a new figure when
omitted), return the Axes, no global style changes. Inputs are the plain frames the analyses
return (``result.data`` and ``result.summary``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["change_by_visit_plot", "dose_response_plot", "forest_plot", "spaghetti_plot",
           "waterfall_plot"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _, ax = plt.subplots()
    return ax


def _need(data: pd.DataFrame, columns: Sequence[str | None]) -> None:
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise AnalysisError(f"the data have no column(s) {missing}; columns: "
                            f"{', '.join(map(str, data.columns))}")
    if data.empty:
        raise AnalysisError("nothing to plot: the data are empty")


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps
    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _groups(data: pd.DataFrame, hue: str | None) -> list[tuple[str, pd.DataFrame]]:
    if hue is None:
        return [("", data)]
    return [(str(k), g) for k, g in data.groupby(hue, sort=True)]


def change_by_visit_plot(data: pd.DataFrame, *, x: str = "visit_day", y: str = "change",
                         hue: str | None = "arm", conf_level: float = 0.95,
                         dodge: float = 0.0, ax: Axes | None = None) -> Axes:
    """Mean of ``y`` with its t-based CI at each ``x``, one line per ``hue`` group.

    Parameters
    ----------
    data : DataFrame
        One row per subject and visit (e.g. ``PairedResult.data``).
    x, y, hue : str, keyword-only
        Columns: visit day, change from baseline (canonical unit), group.
    conf_level : float, keyword-only
        Confidence level of the error bars.
    dodge : float, keyword-only
        Horizontal shift between groups (in ``x`` units), so bars do not overlap.
    ax : Axes or None, keyword-only

    Returns
    -------
    Axes
        One error-bar container per group (label = group).
    """
    from scipy import stats

    _need(data, [x, y, hue])
    ax = _axes(ax)
    groups = _groups(data.dropna(subset=[x, y]), hue)
    for i, ((name, g), color) in enumerate(zip(groups, _colors(len(groups)), strict=True)):
        agg = g.groupby(x)[y].agg(["mean", "std", "count"]).sort_index()
        q = stats.t.ppf((1 + conf_level) / 2, np.maximum(agg["count"] - 1, 1))
        half = np.where(agg["count"] > 1, q * agg["std"] / np.sqrt(agg["count"]), 0.0)
        xs = agg.index.to_numpy(dtype=float) + (i - (len(groups) - 1) / 2) * dodge
        ax.errorbar(xs, agg["mean"].to_numpy(), yerr=half, marker="o", capsize=3,
                    color=color, label=name or None)
    ax.axhline(0, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel(x)
    ax.set_ylabel(f"mean {y} ({conf_level:.0%} CI)")
    if hue is not None:
        ax.legend(title=hue)
    return ax


def spaghetti_plot(data: pd.DataFrame, *, x: str = "day", y: str = "value",
                   unit: str = "subject_id", hue: str | None = "arm", alpha: float = 0.6,
                   ax: Axes | None = None) -> Axes:
    """One line per subject (``unit``) over ``x``, coloured by ``hue``.

    Parameters
    ----------
    data : DataFrame
        Long format, e.g. measurements of one parameter with an ``arm`` column attached.
    x, y, unit, hue : str, keyword-only
        Columns: study day, value (canonical unit), subject, group.
    alpha : float, keyword-only
    ax : Axes or None, keyword-only

    Returns
    -------
    Axes
        One Line2D per subject.
    """
    _need(data, [x, y, unit, hue])
    ax = _axes(ax)
    groups = _groups(data.dropna(subset=[x, y]), hue)
    for (name, g), color in zip(groups, _colors(len(groups)), strict=True):
        first = True
        for _, s in g.sort_values(x).groupby(unit, sort=True):
            ax.plot(s[x].to_numpy(dtype=float), s[y].to_numpy(dtype=float), color=color,
                    alpha=alpha, lw=1, label=name if first and name else None)
            first = False
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if hue is not None:
        ax.legend(title=hue)
    return ax


def waterfall_plot(data: pd.DataFrame, *, y: str = "change", hue: str | None = "arm",
                   ax: Axes | None = None) -> Axes:
    """Bars of each subject's ``y``, sorted from largest to smallest.

    Parameters
    ----------
    data : DataFrame
        One row per subject (e.g. ``result.data`` at one visit).
    y, hue : str, keyword-only
        Columns: change from baseline (canonical unit), group for the colour.
    ax : Axes or None, keyword-only

    Returns
    -------
    Axes
        One bar per subject, in the sorted order.
    """
    _need(data, [y, hue])
    ax = _axes(ax)
    d = data.dropna(subset=[y]).sort_values(y, ascending=False, kind="stable")
    d = d.reset_index(drop=True)
    if hue is None:
        ax.bar(np.arange(len(d)), d[y].to_numpy(dtype=float), color=_colors(1)[0])
    else:
        names = sorted(pd.unique(d[hue].astype(str)))
        cmap = dict(zip(names, _colors(len(names)), strict=True))
        # one bar() per group keeps the legend right while positions follow the sort order
        for name in names:
            sel = d[hue].astype(str) == name
            ax.bar(np.flatnonzero(sel.to_numpy()), d.loc[sel, y].to_numpy(dtype=float),
                   color=cmap[name], label=name)
        ax.legend(title=hue)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks([])
    ax.set_xlabel("subjects (sorted)")
    ax.set_ylabel(y)
    return ax


def forest_plot(summary: pd.DataFrame, *, label: str | Sequence[str] = "subgroup",
                estimate: str = "estimate", lower: str = "ci_lower", upper: str = "ci_upper",
                reference: float = 0.0, ax: Axes | None = None) -> Axes:
    """Point estimates with confidence intervals, one row each, top to bottom.

    Parameters
    ----------
    summary : DataFrame
        Rows to show (e.g. the ``within_subgroup`` rows of an effect-modification summary).
    label : str or sequence of str, keyword-only
        Column(s) joined into the row label.
    estimate, lower, upper : str, keyword-only
        Columns of the estimate and its interval.
    reference : float, keyword-only
        Position of the no-effect line (0 for differences, 1 for ratios).
    ax : Axes or None, keyword-only

    Returns
    -------
    Axes
        One error-bar container; y tick labels are the row labels.
    """
    labels = [label] if isinstance(label, str) else list(label)
    _need(summary, [*labels, estimate, lower, upper])
    ax = _axes(ax)
    s = summary.reset_index(drop=True)
    ys = np.arange(len(s))[::-1].astype(float)
    est = s[estimate].to_numpy(dtype=float)
    lo = s[lower].to_numpy(dtype=float)
    hi = s[upper].to_numpy(dtype=float)
    ax.errorbar(est, ys, xerr=np.vstack([est - lo, hi - est]), fmt="s", capsize=3,
                color="black")
    ax.axvline(reference, color="0.5", ls="--", lw=0.8)
    ax.set_yticks(ys)
    ax.set_yticklabels([" / ".join(str(s.loc[i, c]) for c in labels) for i in range(len(s))])
    ax.set_xlabel(estimate)
    return ax


def dose_response_plot(data: pd.DataFrame, *, x: str = "dose_cells_total",
                       y: str = "change", logx: bool = True, fit: bool = True,
                       hue: str | None = None, ax: Axes | None = None) -> Axes:
    """Scatter of change against dose, with the least-squares line on log10(dose).

    Parameters
    ----------
    data : DataFrame
        One row per subject (e.g. ``DoseResponseResult.data`` at one visit).
    x, y : str, keyword-only
        Dose column (cells or cells/kg) and change column (canonical unit).
    logx : bool, keyword-only
        Logarithmic dose axis (and the fit on log10 dose).
    fit : bool, keyword-only
        Draw the regression line.
    hue : str or None, keyword-only
    ax : Axes or None, keyword-only

    Returns
    -------
    Axes
        One PathCollection per group; the fit is a Line2D labelled ``"fit"``.
    """
    _need(data, [x, y, hue])
    ax = _axes(ax)
    d = data.dropna(subset=[x, y])
    if logx:
        d = d[d[x] > 0]
    groups = _groups(d, hue)
    for (name, g), color in zip(groups, _colors(len(groups)), strict=True):
        ax.scatter(g[x].to_numpy(dtype=float), g[y].to_numpy(dtype=float), color=color,
                   label=name or None)
    xs = d[x].to_numpy(dtype=float)
    if fit and len(d) >= 2 and np.ptp(xs) > 0:
        u = np.log10(xs) if logx else xs
        slope, intercept = np.polyfit(u, d[y].to_numpy(dtype=float), 1)
        grid = np.linspace(u.min(), u.max(), 50)
        ax.plot(10 ** grid if logx else grid, intercept + slope * grid, color="black",
                lw=1.2, label="fit")
    if logx:
        ax.set_xscale("log")
    ax.axhline(0, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    if hue is not None or fit:
        ax.legend()
    return ax

"""Figures of the regression analyses: change by visit and arm, waterfall of change at a
visit, forest plot and dose-response scatter (per-subject trajectories are in
:mod:`cohort.report.figures.trajectories`).

Seaborn-style functions: data first, keyword-only options, ``ax=`` (a new figure when
omitted), return the Axes, no global style changes. Inputs are the plain frames the analyses
return (``result.data`` and ``result.summary``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cohort.analysis.result import NothingToPlotError
from cohort.errors import AnalysisError
from cohort.report.figures.labels import change_label, set_visit_axis, visit_positions
from cohort.report.figures.trajectories import spaghetti_plot

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# spaghetti_plot lives in trajectories; it is importable from here as it was before
__all__ = ["change_by_visit_plot", "dose_response_plot", "forest_plot", "spaghetti_plot",
           "waterfall_plot"]


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    # a Figure pyplot does not track: no global state, no GUI backend
    return Figure(figsize=(7.0, 4.5)).add_subplot()


def _need(data: pd.DataFrame, columns: Sequence[str | None]) -> None:
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise AnalysisError(f"the data have no column(s) {missing}; columns: "
                            f"{', '.join(map(str, data.columns))}")
    if data.empty:
        raise NothingToPlotError("nothing to plot: the data are empty")


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps
    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def _groups(data: pd.DataFrame, hue: str | None) -> list[tuple[str, pd.DataFrame]]:
    if hue is None:
        return [("", data)]
    return [(str(k), g) for k, g in data.groupby(hue, sort=True)]


def change_by_visit_plot(data: pd.DataFrame, *, x: str = "visit_day", y: str = "change",
                         hue: str | None = "arm", visit: str | None = "visit",
                         param: str | None = None, conf_level: float = 0.95,
                         dodge: float | None = None, ax: Axes | None = None) -> Axes:
    """Mean of ``y`` with its t-based CI at each ``x``, one line per ``hue`` group.

    Parameters
    ----------
    data : DataFrame
        One row per subject and visit (e.g. ``PairedResult.data``).
    x, y, hue : str, keyword-only
        Columns: nominal visit day, change from baseline (canonical unit), group.
    visit : str or None, keyword-only
        Column of the visit labels: the ticks sit at the nominal days and carry the labels.
    param : str, optional, keyword-only
        Parameter code for the y label ("Mean change in HbA1c (% points, 95% CI)").
    conf_level : float, keyword-only
        Confidence level of the error bars.
    dodge : float, optional, keyword-only
        Horizontal shift between groups (in ``x`` units; default 1.5% of the visit span), so
        bars do not overlap.
    ax : Axes or None, keyword-only

    Returns
    -------
    Axes
        One error-bar container per group (label = group).
    """
    from scipy import stats

    _need(data, [x, y, hue])
    ax = _axes(ax)
    d = data.dropna(subset=[x, y])
    if d.empty:
        raise NothingToPlotError("nothing to plot: no subject has a change at a nominal visit")
    groups = _groups(d, hue)
    span = float(np.ptp(d[x].to_numpy(dtype=float))) or 1.0
    step = dodge if dodge is not None else 0.015 * span
    for i, ((name, g), color) in enumerate(zip(groups, _colors(len(groups)), strict=True)):
        agg = g.groupby(x)[y].agg(["mean", "std", "count"]).sort_index()
        q = stats.t.ppf((1 + conf_level) / 2, np.maximum(agg["count"] - 1, 1))
        half = np.where(agg["count"] > 1, q * agg["std"] / np.sqrt(agg["count"]), 0.0)
        xs = agg.index.to_numpy(dtype=float) + (i - (len(groups) - 1) / 2) * step
        ax.errorbar(xs, agg["mean"].to_numpy(), yerr=half, marker="o", capsize=3,
                    color=color, label=name or None)
    ax.axhline(0, color="0.6", lw=0.8, ls="--")
    if visit is not None and visit in d.columns:
        set_visit_axis(ax, visit_positions(d, visit=visit, day=x))
    else:
        ax.set_xlabel(x)
    ax.set_ylabel(change_label(param, template="Mean change in {name}",
                               suffix=f"{conf_level:.0%} CI") if param
                  else f"mean {y} ({conf_level:.0%} CI)")
    if hue is not None:
        ax.legend(title=hue, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def waterfall_plot(data: pd.DataFrame, *, y: str = "change", visit: str | None = None,
                   visit_col: str = "visit", hue: str | None = "arm",
                   threshold: float | None = None, param: str | None = None,
                   ax: Axes | None = None) -> Axes:
    """Bars of each subject's ``y`` at one visit, sorted from largest to smallest, with an
    optional threshold line.

    Parameters
    ----------
    data : DataFrame
        One row per subject and visit (e.g. ``PairedResult.data``).
    y, hue : str, keyword-only
        Columns: change from baseline (canonical unit), group for the colour.
    visit : str, optional, keyword-only
        The visit to show (a label of ``visit_col``); required when the data hold several
        visits, so that no figure mixes visits (each subject's last follow-up at 6 and 12
        months, say).
    visit_col : str, keyword-only
        Column of the visit labels.
    threshold : float, optional, keyword-only
        A clinically meaningful change (e.g. -0.5 HbA1c % points), drawn as a dashed line
        (gid ``"threshold"``) labelled with how many subjects reach it (at or below a negative
        threshold, at or above a positive one).
    param : str, optional, keyword-only
        Parameter code for the y label ("Change in HbA1c (% points)").
    ax : Axes or None, keyword-only

    Returns
    -------
    Axes
        One bar per subject, in the sorted order.
    """
    _need(data, [y, hue])
    d = data.dropna(subset=[y])
    shown = None
    if visit_col in d.columns:
        labels = list(pd.unique(d[visit_col].astype(str)))
        if visit is None and len(labels) > 1:
            raise AnalysisError(f"the data hold {len(labels)} visits ({', '.join(labels)}); "
                                "choose one with visit= so that the waterfall does not mix "
                                "them")
        shown = visit if visit is not None else (labels[0] if labels else None)
        if shown not in labels:
            raise AnalysisError(f"visit {visit!r} is not in the data; visits: "
                                f"{', '.join(labels)}")
        d = d.loc[d[visit_col].astype(str) == shown]
    elif visit is not None:
        raise AnalysisError(f"visit={visit!r} given but the data have no {visit_col!r} column")
    if d.empty:
        raise NothingToPlotError("nothing to plot: no subject has a value at this visit")
    ax = _axes(ax)
    d = d.sort_values(y, ascending=False, kind="stable").reset_index(drop=True)
    values = d[y].to_numpy(dtype=float)
    if hue is None:
        ax.bar(np.arange(len(d)), values, color=_colors(1)[0])
    else:
        names = sorted(pd.unique(d[hue].astype(str)))
        cmap = dict(zip(names, _colors(len(names)), strict=True))
        # one bar() per group keeps the legend right while positions follow the sort order
        for name in names:
            sel = d[hue].astype(str) == name
            ax.bar(np.flatnonzero(sel.to_numpy()), d.loc[sel, y].to_numpy(dtype=float),
                   color=cmap[name], label=name)
    ax.axhline(0, color="0.3", lw=0.8)
    if threshold is not None:
        reached = int((values <= threshold).sum() if threshold < 0
                      else (values >= threshold).sum())
        side = "at or below" if threshold < 0 else "at or above"
        ax.axhline(threshold, color="firebrick", lw=1.2, ls="--", gid="threshold",
                   label=f"{threshold:g}: {reached} of {len(values)} {side}")
    if hue is not None or threshold is not None:
        ax.legend(title=hue if hue is not None else None, frameon=False)
    ax.set_xticks([])
    ax.set_xlim(-0.6, len(d) - 0.4)
    from cohort.derive.visit_values import LAST_VISIT_LABEL

    where = (" at their last follow-up" if shown == LAST_VISIT_LABEL
             else f" at {shown}" if shown is not None else "")
    ax.set_xlabel(f"Subjects{where}, sorted by change (n = {len(d)})")
    ax.set_ylabel(change_label(param) if param else y)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def forest_plot(summary: pd.DataFrame, *, label: str | Sequence[str] = "subgroup",
                estimate: str = "estimate", lower: str = "ci_lower", upper: str = "ci_upper",
                reference: float | None = 0.0, xlabel: str | None = None, log: bool = False,
                ax: Axes | None = None) -> Axes:
    """Point estimates with confidence intervals, one row each, top to bottom.

    Parameters
    ----------
    summary : DataFrame
        Rows to show (e.g. the ``within_subgroup`` rows of an effect-modification summary).
    label : str or sequence of str, keyword-only
        Column(s) joined into the row label.
    estimate, lower, upper : str, keyword-only
        Columns of the estimate and its interval.
    reference : float or None, keyword-only
        Position of the no-effect line (0 for differences, 1 for ratios; None: no line).
    xlabel : str, optional, keyword-only
        The quantity and its unit ("Difference in HbA1c change vs placebo (% points, 95%
        CI)"); default the ``estimate`` column's name.
    log : bool, keyword-only
        Logarithmic x axis (hazard and odds ratios).
    ax : Axes or None, keyword-only

    Returns
    -------
    Axes
        One error-bar container; y tick labels are the row labels (the columns' values
        joined by ", ": visit labels and arms as in the data).
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
    if reference is not None:
        ax.axvline(reference, color="0.5", ls="--", lw=0.8)
    ax.set_yticks(ys)
    ax.set_yticklabels([", ".join(str(s.loc[i, c]) for c in labels
                                  if pd.notna(s.loc[i, c]) and str(s.loc[i, c]) != "")
                        for i in range(len(s))])
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or estimate)
    ax.spines[["top", "right"]].set_visible(False)
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

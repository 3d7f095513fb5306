"""Per-subject trajectories faceted by arm, with the mean and its confidence interval at each
visit overlaid (the "spaghetti plot" of trial papers), and the long frame it draws.

Seaborn-style: data first, keyword-only options, ``ax=`` (its place is split into one panel per
arm), no global style changes. The panels are returned as a list of Axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cohort.analysis.result import NothingToPlotError
from cohort.errors import AnalysisError
from cohort.report.figures.labels import set_visit_axis, value_label, visit_positions
from cohort.report.figures.palette import colors

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["BASELINE_LABEL", "spaghetti_plot", "trajectory_frame"]

BASELINE_LABEL = "Baseline"
"""Visit label of the baseline value (nominal day 0)."""


def trajectory_frame(data: pd.DataFrame, *, group: str = "group") -> pd.DataFrame:
    """Each subject's baseline and visit values, long: the rows a paired, ANCOVA or MMRM
    analysis used (``result.data``), so the means drawn are the analysis's.

    Parameters
    ----------
    data : DataFrame
        ``subject_id``, ``visit``, ``visit_day``, ``day``, ``value``, ``baseline_day``,
        ``baseline`` and the ``group`` column (e.g. ``PairedResult.data``). Rows of the last
        follow-up (``visit_day`` missing) are left out: they have no nominal visit.
    group : str
        The grouping column (kept as ``group``).

    Returns
    -------
    DataFrame
        ``subject_id``, ``group``, ``visit`` (``"Baseline"`` first), ``visit_day`` (0 for
        baseline), ``day`` (actual study day), ``value`` (canonical unit).
    """
    need = ["subject_id", "visit", "visit_day", "day", "value", "baseline_day", "baseline",
            group]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise AnalysisError(f"trajectories need column(s) {missing}; columns: "
                            f"{', '.join(map(str, data.columns))}")
    rows = data.loc[data["visit_day"].notna() & data[group].notna()]
    base = rows.drop_duplicates("subject_id")
    base = pd.DataFrame({"subject_id": base["subject_id"], "group": base[group],
                         "visit": BASELINE_LABEL, "visit_day": 0.0,
                         "day": base["baseline_day"].astype(float),
                         "value": base["baseline"].astype(float)})
    post = pd.DataFrame({"subject_id": rows["subject_id"], "group": rows[group],
                         "visit": rows["visit"].astype(str),
                         "visit_day": rows["visit_day"].astype(float),
                         "day": rows["day"].astype(float),
                         "value": rows["value"].astype(float)})
    out = pd.concat([base, post], ignore_index=True)
    return out.sort_values(["group", "subject_id", "visit_day"], kind="stable",
                           ignore_index=True)


def _facet_axes(ax: Axes | None, n: int, size: tuple[float, float]) -> list[Axes]:
    """``n`` panels side by side sharing y: a new untracked Figure's, or ``ax`` and ``n - 1``
    more sharing its place in its figure."""
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=size)
        return list(fig.subplots(1, n, sharey=True, squeeze=False)[0])
    if n == 1:
        return [ax]
    fig = ax.get_figure(root=False)
    grid = ax.get_subplotspec().subgridspec(1, n, wspace=0.08)
    # the given Axes becomes the first panel (a caller's later ax.set(...) still applies)
    ax.set_subplotspec(grid[0, 0])
    return [ax, *[fig.add_subplot(grid[0, i], sharey=ax) for i in range(1, n)]]


def _mean_ci(values: pd.DataFrame, x: str, y: str, conf_level: float) -> pd.DataFrame:
    from scipy import stats

    agg = values.groupby(x)[y].agg(["mean", "std", "count"]).sort_index()
    q = stats.t.ppf((1 + conf_level) / 2, np.maximum(agg["count"] - 1, 1))
    half = np.where(agg["count"] > 1, q * agg["std"] / np.sqrt(agg["count"]), np.nan)
    return agg.assign(ci_lower=agg["mean"] - half, ci_upper=agg["mean"] + half)


def spaghetti_plot(data: pd.DataFrame, *, x: str = "day", y: str = "value",
                   unit: str = "subject_id", facet: str | None = "group",
                   hue: str | None = None, nominal: str | None = "visit_day",
                   visit: str = "visit", conf_level: float = 0.95, param: str | None = None,
                   palette: Any = None, alpha: float = 0.35,
                   ax: Axes | None = None) -> list[Axes]:
    """One thin line per subject, one panel per arm, with the mean and its t-based CI at each
    nominal visit drawn over them.

    Parameters
    ----------
    data : DataFrame
        Long, one row per subject and time (e.g. :func:`trajectory_frame`).
    x, y, unit : str, keyword-only
        Columns: actual study day, value (canonical unit), subject.
    facet : str or None, keyword-only
        One panel per value of this column (the arm); None: one panel.
    hue : str or None, keyword-only
        Colour the subject lines by this column (default: one colour per panel).
    nominal : str or None, keyword-only
        Column of the nominal visit day each row belongs to: the mean and CI are taken over
        the rows of each nominal day and drawn there; None, or data without that column
        (raw measurements): no mean.
    visit : str, keyword-only
        Column of the visit labels, for the x ticks.
    conf_level : float, keyword-only
        Level of the mean's interval (t-based; none with one subject).
    param : str, optional, keyword-only
        Parameter code for the y label ("HbA1c (%)").
    palette : seaborn palette, optional, keyword-only
        Colours of the panels' subject lines.
    alpha : float, keyword-only
        Opacity of the subject lines.
    ax : Axes, optional, keyword-only
        The first panel; the others share its place in its figure. A new figure when
        omitted.

    Returns
    -------
    list of Axes
        One per panel, titled ``"<arm> (n = <subjects>)"``; subject lines have gid
        ``"subject"``, the mean line gid ``"mean"`` (its points at the nominal days) and its
        band gid ``"mean_ci"``.
    """
    if nominal is not None and nominal not in data.columns:
        nominal = None
    need = [c for c in (x, y, unit, facet, hue) if c is not None]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise AnalysisError(f"the data have no column(s) {missing}; columns: "
                            f"{', '.join(map(str, data.columns))}")
    d = data.dropna(subset=[x, y])
    if d.empty:
        raise NothingToPlotError("nothing to plot: no subject has a value")
    panels = (sorted(pd.unique(d[facet]), key=str) if facet is not None else [None])
    axes = _facet_axes(ax, len(panels), (min(3.6 * len(panels) + 1.0, 14.0), 4.2))
    visits = visit_positions(d, visit=visit, day=nominal) if nominal and visit in d else None
    hue_levels = sorted(pd.unique(d[hue]), key=str) if hue is not None else []
    hue_colors = dict(zip(hue_levels, colors(len(hue_levels), palette), strict=True))
    for panel_ax, panel, color in zip(axes, panels, colors(len(panels), palette), strict=True):
        part = d if panel is None else d.loc[d[facet] == panel]
        labelled: set[Any] = set()
        for _, s in part.sort_values(x).groupby(unit, sort=True):
            level = s[hue].iloc[0] if hue is not None else None
            label = None
            if hue is not None and hue != facet and level not in labelled:
                label = str(level)
                labelled.add(level)
            panel_ax.plot(s[x].to_numpy(float), s[y].to_numpy(float),
                          color=hue_colors.get(level, color), alpha=alpha, lw=0.9,
                          gid="subject", label=label)
        if nominal is not None:
            m = _mean_ci(part.dropna(subset=[nominal]), nominal, y, conf_level)
            xs = m.index.to_numpy(float)
            panel_ax.fill_between(xs, m["ci_lower"].to_numpy(float),
                                  m["ci_upper"].to_numpy(float), color="black", alpha=0.15,
                                  linewidth=0, gid="mean_ci")
            panel_ax.plot(xs, m["mean"].to_numpy(float), color="black", lw=2, marker="o",
                          markersize=4, gid="mean",
                          label=f"mean ({conf_level:.0%} CI)")
        n = part[unit].nunique()
        name = "" if panel is None else str(panel)
        # a long arm name on a narrow panel goes above its count
        sep = "\n" if len(name) > 12 and len(panels) > 2 else " "
        panel_ax.set_title(f"{name}{sep}(n = {n})" if name else f"n = {n}",
                           fontsize="medium")
        if visits is not None and len(visits):
            set_visit_axis(panel_ax, visits)
        else:
            panel_ax.set_xlabel("Study day (days)" if x == "day" else x)
        panel_ax.spines[["top", "right"]].set_visible(False)
    axes[0].set_ylabel(value_label(param) if param else y)
    for other in axes[1:]:
        other.tick_params(axis="y", labelleft=False)
    if nominal is not None or (hue is not None and hue != facet):
        axes[0].legend(frameon=False, fontsize="small", loc="best")
    return axes

"""Kaplan-Meier curves with a numbers-at-risk table, and swimmer plots of insulin-free episodes.

Both functions draw on a given Axes (or a new one), change no global style and return the Axes.
The at-risk numbers under the curves are those of the result (:func:`at_risk_table`, computed
by cohort, as R's ``summary(survfit, times=)``), not lifelines' display.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

from cohort.analysis.survival import UNIT_DAYS, KaplanMeierResult
from cohort.errors import AnalysisError
from cohort.report.figures.palette import colors

__all__ = ["plot_km", "plot_swimmer"]

TimeUnit = Literal["days", "weeks", "months", "years"]


def _new_axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    # a Figure without pyplot: no global state, no GUI backend
    return Figure(figsize=size, layout="constrained").add_subplot()


def _scale(unit: TimeUnit) -> float:
    if unit not in UNIT_DAYS:
        raise AnalysisError(f"time_unit must be one of {', '.join(UNIT_DAYS)}, got {unit!r}")
    return UNIT_DAYS[unit]


def _colors(n: int, palette: Any) -> list[Any]:
    return colors(n, palette)


def plot_km(result: KaplanMeierResult, *, ax: Axes | None = None, ci: bool = True,
            at_risk: bool = True, censor_marks: bool = True, time_unit: TimeUnit = "months",
            palette: Any = None, xlabel: str | None = None,
            ylabel: str = "Still insulin-free") -> Axes:
    """Kaplan-Meier curves by group, with CI bands and a numbers-at-risk table under them.

    Parameters
    ----------
    result : KaplanMeierResult
        From :func:`cohort.analysis.survival.kaplan_meier` (times in days).
    ax : Axes, optional, keyword-only
        Where to draw; a new Figure's Axes by default.
    ci : bool, keyword-only
        Shade the pointwise confidence band (the result's ``conf_type``).
    at_risk : bool, keyword-only
        Write ``result.at_risk`` (n at risk at each at-risk time) under the x axis, one row per
        group; the x ticks are the at-risk times.
    censor_marks : bool, keyword-only
        Mark censoring times with ``+``.
    time_unit : {"days", "weeks", "months", "years"}, keyword-only
        x-axis unit (1 month = 30.4375 days).
    palette : seaborn palette, optional, keyword-only
        Colours of the groups.
    xlabel, ylabel : str, keyword-only
        Axis labels.

    Returns
    -------
    Axes
        Lines are labelled with the group names; the at-risk numbers are ``Text`` artists with
        ``gid`` ``"at_risk"``.
    """
    scale = _scale(time_unit)
    ax = _new_axes(ax, (7.0, 5.0))
    curve = result.curve
    groups = list(result.summary["group"])
    colors = _colors(len(groups), palette)
    for lvl, color in zip(groups, colors, strict=True):
        c = curve[curve["group"] == lvl]
        t = np.concatenate([[0.0], c["time"].to_numpy(float)]) / scale
        s = np.concatenate([[1.0], c["estimate"].to_numpy(float)])
        label = str(lvl) if len(groups) > 1 or lvl != "all" else None
        ax.step(t, s, where="post", color=color, label=label)
        if ci:
            lo = np.concatenate([[1.0], c["ci_lower"].to_numpy(float)])
            hi = np.concatenate([[1.0], c["ci_upper"].to_numpy(float)])
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.fill_between(t, np.where(ok, lo, np.nan), np.where(ok, hi, np.nan),
                            step="post", color=color, alpha=0.2, linewidth=0)
        if censor_marks:
            m = c["n_censor"].to_numpy() > 0
            ax.plot(c["time"].to_numpy(float)[m] / scale, c["estimate"].to_numpy(float)[m],
                    linestyle="none", marker="+", color=color, markersize=8, gid="censor")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(left=0)
    ax.set_ylabel(ylabel)
    ax.set_xlabel(xlabel or f"Time since origin ({time_unit})")
    if len(groups) > 1:
        ax.legend(title=result.params.get("group"), frameon=False)
    if at_risk and len(result.at_risk):
        table = result.at_risk
        ticks = np.unique(table["time"].to_numpy(float)) / scale
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{v:g}" for v in np.round(ticks, 2)])
        ax.set_xlim(0, max(ticks.max(), ax.get_xlim()[1]))
        trans = blended_transform_factory(ax.transData, ax.transAxes)
        label_trans = ax.transAxes
        ax.text(-0.05, -0.2, "Number at risk", transform=label_trans, ha="left", va="center",
                fontsize="small", fontweight="bold", gid="at_risk_header")
        for i, (lvl, color) in enumerate(zip(groups, colors, strict=True)):
            y = -0.27 - 0.07 * i
            rows = table[table["group"] == lvl]
            ax.text(-0.05, y, str(lvl), transform=label_trans, ha="right", va="center",
                    color=color, fontsize="small")
            for r in rows.itertuples():
                ax.text(r.time / scale, y, f"{r.n_risk}", transform=trans, ha="center",
                        va="center", fontsize="small", gid="at_risk", clip_on=False)
    return ax


def plot_swimmer(episodes: pd.DataFrame, *, ax: Axes | None = None,
                 follow_up: pd.Series | None = None, time_unit: TimeUnit = "months",
                 order: Literal["entry", "duration", "subject"] = "entry",
                 interval: bool = True, color: Any = None) -> Axes:
    """One row per subject: insulin-free episodes as bars, resumptions and censorings marked.

    Parameters
    ----------
    episodes : DataFrame
        :attr:`cohort.derive.insulin.InsulinEpisodes.episodes` (study days: ``entry_day``,
        ``stop_day``, ``last_free_day``, ``resume_day``, ``status``).
    ax : Axes, optional, keyword-only
        Where to draw.
    follow_up : Series, optional, keyword-only
        End of observation (study day) per ``subject_id``; drawn as a thin grey line from day 0.
    time_unit : {"days", "weeks", "months", "years"}, keyword-only
        x-axis unit (study time since the first infusion; 1 month = 30.4375 days).
    order : {"entry", "duration", "subject"}, keyword-only
        Row order: first entry day, total insulin-free time (longest on top), or subject id.
    interval : bool, keyword-only
        Shade where resumption is only known to lie (last insulin-free record to the first
        record back on insulin).
    color : colour, optional, keyword-only
        Bar colour.

    Returns
    -------
    Axes
        Bars (``Rectangle`` patches with ``gid`` ``"episode"``), one per episode; markers with
        ``gid`` ``"resumed"``, ``"censored"`` and ``"death"``.
    """
    scale = _scale(time_unit)
    need = ["subject_id", "entry_day", "stop_day", "last_free_day", "resume_day", "status"]
    missing = [c for c in need if c not in episodes.columns]
    if missing:
        raise AnalysisError(f"swimmer plot: episodes lack column(s) {', '.join(missing)}")
    ax = _new_axes(ax, (7.0, max(2.5, 0.3 * episodes["subject_id"].nunique() + 1)))
    ep = episodes.copy()
    ep["subject_id"] = ep["subject_id"].astype(str)
    if order == "entry":
        key = ep.groupby("subject_id")["entry_day"].min().sort_values(ascending=False)
    elif order == "duration":
        key = (ep["stop_day"] - ep["entry_day"]).groupby(ep["subject_id"]).sum().sort_values()
    elif order == "subject":
        key = pd.Series(0, index=sorted(ep["subject_id"].unique(), reverse=True))
    else:
        raise AnalysisError(f"order must be 'entry', 'duration' or 'subject', got {order!r}")
    ypos = {s: i for i, s in enumerate(key.index)}
    color = color if color is not None else _colors(1, None)[0]
    if follow_up is not None:
        fu = follow_up.copy()
        fu.index = fu.index.astype(str)
        for s, y in ypos.items():
            if s in fu.index and pd.notna(fu[s]):
                ax.plot([0, fu[s] / scale], [y, y], color="0.75", linewidth=1, zorder=0,
                        gid="follow_up")
    for r in ep.itertuples():
        y = ypos[r.subject_id]
        resumed = r.status == "resumed"
        end = (r.last_free_day if (resumed and interval) else r.stop_day)
        ax.barh(y, (end - r.entry_day) / scale, left=r.entry_day / scale, height=0.6,
                color=color, gid="episode")
        if resumed and interval and r.resume_day > r.last_free_day:
            ax.barh(y, (r.resume_day - r.last_free_day) / scale, left=r.last_free_day / scale,
                    height=0.6, color=color, alpha=0.35, gid="interval")
        marker, gid = {"resumed": ("x", "resumed"), "death": ("D", "death")}.get(
            r.status, (">", "censored"))
        ax.plot([r.stop_day / scale], [y], marker=marker, color="black", linestyle="none",
                markersize=6, gid=gid)
    ax.set_yticks(list(ypos.values()))
    ax.set_yticklabels(list(ypos.keys()), fontsize="small")
    ax.set_ylim(-0.7, len(ypos) - 0.3)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"Study time since first infusion ({time_unit})")
    ax.set_ylabel("Subject")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color=color, label="insulin-free"),
               Line2D([], [], marker="x", color="black", linestyle="none",
                      label="insulin resumed"),
               Line2D([], [], marker=">", color="black", linestyle="none", label="censored")]
    if interval:
        handles.insert(1, Patch(color=color, alpha=0.35,
                                label="resumption between these visits"))
    if (ep["status"] == "death").any():
        handles.append(Line2D([], [], marker="D", color="black", linestyle="none",
                              label="death"))
    ax.legend(handles=handles, frameon=False, fontsize="small", loc="upper left",
              bbox_to_anchor=(1.01, 1.0))
    return ax

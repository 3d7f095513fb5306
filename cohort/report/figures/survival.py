"""Kaplan-Meier curves with a numbers-at-risk table, and swimmer plots of insulin-free episodes.

Both functions draw on a given Axes (or a new one), change no global style and return the Axes.
The at-risk numbers under the curves are those of the result (:func:`at_risk_table`, computed
by cohort, as R's ``summary(survfit, times=)``), not lifelines' display. The time axis, its
ticks and the at-risk times come from the data's follow-up (:mod:`cohort.analysis.time_grid`),
the labels from the result's endpoint (:class:`cohort.analysis.endpoint.Endpoint`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from cohort.analysis.endpoint import Endpoint
from cohort.analysis.risk_sets import ALL, counts_at
from cohort.analysis.survival import UNIT_DAYS, KaplanMeierResult
from cohort.analysis.time_grid import time_ticks
from cohort.errors import AnalysisError
from cohort.report.figures.palette import colors

__all__ = ["plot_km", "plot_swimmer"]

TimeUnit = Literal["days", "weeks", "months", "years"]

_ROW_INCHES = 0.22
"""Height of one row of the numbers-at-risk table."""
_AXIS_INCHES = 0.55
"""Room under the curves for the tick labels and the x label."""


def _new_axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    # a Figure without pyplot: no global state, no GUI backend; no layout engine, because
    # savefig(bbox_inches="tight") fits the risk table (a child Axes) and outside legends
    return Figure(figsize=size).add_subplot()


def _scale(unit: TimeUnit) -> float:
    if unit not in UNIT_DAYS:
        raise AnalysisError(f"time_unit must be one of {', '.join(UNIT_DAYS)}, got {unit!r}")
    return UNIT_DAYS[unit]


def _colors(n: int, palette: Any) -> list[Any]:
    return colors(n, palette)


def _tick_text(value: float) -> str:
    return f"{round(value, 2):g}"


def km_group_labels(result: KaplanMeierResult,
                    labels: Mapping[Any, str] | None = None) -> dict[Any, str]:
    """Display name of each group of ``result``: ``labels`` where given, else the group's own
    value; an unsplit result (group ``"all"``, no ``group`` column) is "All subjects"."""
    given = dict(labels or {})
    out = {}
    for lvl in result.summary["group"]:
        if lvl in given or str(lvl) in given:
            out[lvl] = str(given.get(lvl, given.get(str(lvl))))
        elif result.params.get("group") is None and lvl == ALL:
            out[lvl] = "All subjects"
        else:
            out[lvl] = str(lvl)
    return out


def km_risk_counts(result: KaplanMeierResult, times_days: np.ndarray) -> pd.DataFrame:
    """Numbers at risk per group at ``times_days``: the result's own ``at_risk`` rows when it
    holds exactly these times, else counted from its curve by the same rule (R's
    ``summary(survfit, times=)``). Columns ``group``, ``time`` (days), ``n_risk``."""
    table = result.at_risk
    if len(table) and np.array_equal(np.unique(table["time"].to_numpy(float)),
                                     np.unique(times_days)):
        return table[["group", "time", "n_risk"]]
    parts = []
    for lvl in result.summary["group"]:
        curve = result.curve.loc[result.curve["group"] == lvl]
        parts.append(counts_at(curve, np.unique(times_days)).assign(group=lvl))
    return pd.concat(parts, ignore_index=True)[["group", "time", "n_risk"]]


def km_ticks(result: KaplanMeierResult, time_unit: str) -> np.ndarray:
    """The x ticks in days: the result's at-risk times when the figure is in the analysis's
    ``time_unit`` (by default round times covering the follow-up; else the times the analysis
    was given), otherwise round times of ``time_unit`` from 0 to the first at or after the
    last time (:func:`~cohort.analysis.time_grid.time_ticks`)."""
    if result.params.get("time_unit", "months") == time_unit and len(result.at_risk):
        return np.unique(result.at_risk["time"].to_numpy(float))
    last = float(result.curve["time"].max()) if len(result.curve) else 0.0
    return time_ticks(last, time_unit)


def plot_km(result: KaplanMeierResult, *, ax: Axes | None = None, ci: bool = True,
            at_risk: bool = True, censor_marks: bool = True, median: bool = True,
            time_unit: TimeUnit | None = None, palette: Any = None,
            labels: Mapping[Any, str] | None = None, percent: bool = True,
            xlabel: str | None = None, ylabel: str | None = None) -> Axes:
    """Kaplan-Meier curves by group, with CI bands, median lines and a numbers-at-risk table.

    The time axis runs from 0 to the first round time at or after the last observed time, its
    ticks are the at-risk times (round times of the unit chosen from the follow-up, or the ones
    the analysis was given), and the risk table under the curves is aligned with them.

    Parameters
    ----------
    result : KaplanMeierResult
        From :func:`cohort.analysis.survival.kaplan_meier` (times in days).
    ax : Axes, optional, keyword-only
        Where to draw; a new Figure's Axes by default.
    ci : bool, keyword-only
        Shade the pointwise confidence band (the result's ``conf_type``).
    at_risk : bool, keyword-only
        Draw the numbers at risk at the ticks in a table under the curves (a child Axes of
        ``ax`` with gid ``"risk_table"``; one row per group, named and coloured as the curves).
    censor_marks : bool, keyword-only
        Mark censoring times with ``+``.
    median : bool, keyword-only
        Dashed lines to each group's median time (where reached; gid ``"median"``).
    time_unit : {"days", "weeks", "months", "years"}, optional, keyword-only
        x-axis unit (1 month = 30.4375 days); default the analysis's ``time_unit``.
    palette : seaborn palette, optional, keyword-only
        Colours of the groups.
    labels : mapping, optional, keyword-only
        Display names of groups (e.g. ``{"all": "AHSCT"}`` for an unsplit single-arm cohort).
    percent : bool, keyword-only
        Survival on a 0-100% scale (default) rather than 0-1.
    xlabel, ylabel : str, optional, keyword-only
        Axis labels; default from the result's endpoint ("Time since insulin stop (months)",
        "Insulin-free (%)"), else "Time (months)" and "Event-free (%)".

    Returns
    -------
    Axes
        Lines are labelled with the group names; the risk table's numbers are ``Text`` artists
        with gid ``"at_risk"`` on ``ax.child_axes``.
    """
    unit: str = time_unit or result.params.get("time_unit") or "months"
    scale = _scale(unit)  # type: ignore[arg-type]
    endpoint = Endpoint.from_params(result.params)
    groups = list(result.summary["group"])
    names = km_group_labels(result, labels)
    n_rows = len(groups) if at_risk else 0
    ax = _new_axes(ax, (7.0, 4.6 + (0.35 + _ROW_INCHES * n_rows if n_rows else 0)))
    curve = result.curve
    palette_colors = _colors(len(groups), palette)
    medians = result.summary.set_index("group")["estimate"]
    last = 0.0
    for lvl, color in zip(groups, palette_colors, strict=True):
        c = curve[curve["group"] == lvl]
        t = np.concatenate([[0.0], c["time"].to_numpy(float)]) / scale
        s = np.concatenate([[1.0], c["estimate"].to_numpy(float)])
        last = max(last, float(t[-1]))
        ax.step(t, s, where="post", color=color, label=names[lvl])
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
        med = float(medians.get(lvl, np.nan))
        if median and np.isfinite(med):
            ax.plot([0.0, med / scale, med / scale], [0.5, 0.5, 0.0], color=color,
                    linestyle="--", linewidth=0.9, alpha=0.8, gid="median")
    ticks = km_ticks(result, unit) / scale
    ax.set_xticks(ticks)
    ax.set_xticklabels([_tick_text(v) for v in ticks])
    ax.set_xlim(0, max(float(ticks.max()), last))
    ax.set_ylim(-0.02, 1.02)
    ax.set_yticks(np.linspace(0, 1, 6))
    if percent:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    state = endpoint.survival_label if endpoint else "Event-free"
    ax.set_ylabel(ylabel or (f"{state} (%)" if percent else f"{state} (proportion)"))
    ax.set_xlabel(xlabel or (endpoint.time_label(unit) if endpoint else f"Time ({unit})"))
    ax.spines[["top", "right"]].set_visible(False)
    if len(groups) > 1:
        ax.legend(title=result.params.get("group"), frameon=False)
    if n_rows:
        _risk_table(ax, result, groups, names, palette_colors, ticks * scale, scale)
    return ax


def _risk_table(ax: Axes, result: KaplanMeierResult, groups: list[Any],
                names: dict[Any, str], palette_colors: list[Any], ticks_days: np.ndarray,
                scale: float) -> Axes:
    """The numbers at risk at ``ticks_days`` in a child Axes under ``ax``, sharing its x."""
    fig = ax.get_figure(root=True)
    height_in = fig.get_figheight() * ax.get_position().height
    rows_in = _ROW_INCHES * len(groups)
    top = -(_AXIS_INCHES + 0.2) / height_in
    table = ax.inset_axes((0.0, top - rows_in / height_in, 1.0, rows_in / height_in),
                          sharex=ax)
    table.set_gid("risk_table")
    counts = km_risk_counts(result, ticks_days)
    for i, lvl in enumerate(groups):
        rows = counts.loc[counts["group"] == lvl]
        for r in rows.itertuples():
            table.text(r.time / scale, i, f"{int(r.n_risk)}", ha="center", va="center",
                       fontsize="small", gid="at_risk", clip_on=False)
    table.set_ylim(len(groups) - 0.5, -0.5)
    table.set_yticks(range(len(groups)))
    table.set_yticklabels([names[g] for g in groups], fontsize="small")
    for label, color in zip(table.get_yticklabels(), palette_colors, strict=True):
        label.set_color(color)
    # names clear of the numbers at time 0, which are centred on the left edge
    table.tick_params(axis="y", length=0, pad=14)
    table.tick_params(axis="x", bottom=False, labelbottom=False)
    for spine in table.spines.values():
        spine.set_visible(False)
    table.set_facecolor("none")
    table.set_title("Number at risk", loc="left", fontsize="small", fontweight="bold",
                    pad=3)
    return table


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

"""Model estimates over visits: LS means of each arm, or each arm minus the reference, with
their confidence intervals (:class:`~cohort.analysis.ancova.AncovaResult`,
:class:`~cohort.analysis.mmrm.analysis.MmrmResult`), and the mean change by visit of the paired
analysis.

Seaborn-style: the result (or its summary) first, keyword-only options, ``ax=`` (a new figure
when omitted), return the Axes, no global style changes. The x axis is placed by nominal study
day and labelled with the visits' labels; the y label names the parameter, the unit of its
change and the interval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cohort.analysis.result import NothingToPlotError
from cohort.errors import AnalysisError
from cohort.report.figures.labels import change_label, set_visit_axis, visit_positions
from cohort.report.figures.palette import colors

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["estimates_by_visit", "lsmeans_plot"]

Kind = Literal["lsmean", "difference"]


def new_axes(ax: Axes | None, size: tuple[float, float] = (7.0, 4.5)) -> Axes:
    """``ax``, or the Axes of a new Figure not tracked by pyplot (no global state)."""
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size).add_subplot()


def _positions(rows: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Visits and their x positions: nominal days when every visit has one, else 0, 1, ..."""
    visits = visit_positions(rows)
    labels = list(pd.unique(rows["visit"].astype(str)))
    if len(visits) == len(labels):
        return visits.assign(x=visits["visit_day"]), True
    return pd.DataFrame({"visit": labels, "visit_day": np.nan,
                         "x": np.arange(len(labels), dtype=float)}), False


def estimates_by_visit(rows: pd.DataFrame, *, series: str, ax: Axes, palette: Any = None,
                       dodge: float | None = None, names: dict[Any, str] | None = None) -> Axes:
    """Point estimates with CI bars at each visit, one connected series per ``series`` value.

    ``rows``: ``visit``, ``visit_day`` (nominal study day; may be missing), ``estimate``,
    ``ci_lower``, ``ci_upper`` and the ``series`` column. Series are dodged by ``dodge``
    (x units; default 1.5% of the visit span per series) so their bars do not overlap.
    """
    missing = [c for c in ("visit", "estimate", "ci_lower", "ci_upper", series)
               if c not in rows.columns]
    if missing:
        raise AnalysisError(f"the estimates have no column(s) {missing}")
    rows = rows.assign(visit=rows["visit"].astype(str))
    visits, by_day = _positions(rows)
    xpos = dict(zip(visits["visit"], visits["x"], strict=True))
    levels = list(pd.unique(rows[series]))
    span = float(np.ptp(visits["x"])) if len(visits) > 1 else 1.0
    step = dodge if dodge is not None else 0.015 * span
    for i, (lvl, color) in enumerate(zip(levels, colors(len(levels), palette), strict=True)):
        part = rows.loc[rows[series] == lvl]
        part = part.assign(x=part["visit"].map(xpos)).sort_values("x")
        x = part["x"].to_numpy(float) + (i - (len(levels) - 1) / 2) * step
        est = part["estimate"].to_numpy(float)
        err = np.vstack([est - part["ci_lower"].to_numpy(float),
                         part["ci_upper"].to_numpy(float) - est])
        ax.errorbar(x, est, yerr=err, marker="o", capsize=3, color=color,
                    label=(names or {}).get(lvl, str(lvl)))
    ax.axhline(0, color="0.5", lw=0.8, ls="--", zorder=0)
    if by_day:
        set_visit_axis(ax, visits)
    else:
        ax.set_xticks(visits["x"].to_numpy(float))
        ax.set_xticklabels(visits["visit"].tolist())
        ax.set_xlabel("Visit")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def lsmeans_plot(result: Any, *, kind: Kind = "lsmean", model: str | None = None,
                 param: str | None = None, conf_level: float | None = None,
                 palette: Any = None, dodge: float | None = None,
                 ax: Axes | None = None) -> Axes:
    """The model's LS mean change of each arm over the visits, or each arm minus the
    reference arm, with confidence intervals.

    Parameters
    ----------
    result : AncovaResult, MmrmResult or DataFrame
        A result, or its ``summary`` (``visit``, ``visit_day``, ``kind``, ``arm``,
        ``reference``, ``estimate``, ``ci_lower``, ``ci_upper``, optional ``model``).
    kind : {"lsmean", "difference"}, keyword-only
        LS means of the arms (default), or the arm-vs-reference differences.
    model : str, optional, keyword-only
        ``"ancova"`` or ``"mmrm"`` when the summary holds both (``ancova --mmrm``); default
        the ANCOVA's rows.
    param : str, optional, keyword-only
        Parameter code for the y label (default ``result.params["param"]``).
    conf_level : float, optional, keyword-only
        For the y label (default ``result.params["conf_level"]``, else 0.95).
    palette : seaborn palette, optional, keyword-only
        Colours of the arms.
    dodge : float, optional, keyword-only
        Horizontal shift between arms, in days.
    ax : Axes, optional, keyword-only

    Returns
    -------
    Axes
        One error-bar container per arm (labelled with the arm; differences as
        ``"<arm> - <reference>"``), a dashed zero line; x ticks at the visits' nominal days,
        labelled with the visit labels.
    """
    if kind not in ("lsmean", "difference"):
        raise AnalysisError(f"kind must be 'lsmean' or 'difference', got {kind!r}")
    summary = result if isinstance(result, pd.DataFrame) else result.summary
    params = {} if isinstance(result, pd.DataFrame) else result.params
    param = param or params.get("param")
    level = conf_level or params.get("conf_level") or 0.95
    rows = summary.loc[summary["kind"] == ("lsmean" if kind == "lsmean" else "vs_reference")]
    if "model" in rows.columns and rows["model"].nunique() > 1:
        chosen = model or "ancova"
        if chosen not in set(rows["model"]):
            raise AnalysisError(f"model must be one of {sorted(set(rows['model']))}, got "
                                f"{chosen!r}")
        rows = rows.loc[rows["model"] == chosen]
    rows = rows.dropna(subset=["estimate"])
    if rows.empty:
        what = "LS means" if kind == "lsmean" else "arm-vs-reference differences"
        raise NothingToPlotError(f"no {what} to plot: the analysis estimated none (one arm, "
                                 "or no visit with subjects in two arms?)")
    ax = new_axes(ax)
    names = None
    if kind == "difference":
        names = {a: f"{a} - {r}" for a, r in rows[["arm", "reference"]].drop_duplicates()
                 .itertuples(index=False)}
    estimates_by_visit(rows, series="arm", ax=ax, palette=palette, dodge=dodge, names=names)
    ci = f"{level:.0%} CI"
    if kind == "lsmean":
        ax.set_ylabel(change_label(param, template="LS mean change in {name}", suffix=ci))
    else:
        refs = list(pd.unique(rows["reference"].dropna().astype(str)))
        ref = refs[0] if len(refs) == 1 else "reference"
        ax.set_ylabel(change_label(param, template=f"Difference in {{name}} change vs {ref}",
                                   suffix=ci))
    ax.legend(title="Arm", frameon=False)
    return ax

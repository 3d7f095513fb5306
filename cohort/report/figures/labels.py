"""Axis labels and visit axes of the figures, from the data contract and the data.

A figure of change in HbA1c says "Change in HbA1c (% points)", not ``change``; its visit axis
is spaced by study day and labelled with the visits' own labels ("month 3"), not ``visit_day``.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["change_label", "param_name", "param_unit", "set_visit_axis", "value_label",
           "visit_positions"]

_SHORT = {"HBA1C": "HbA1c", "CPEP_AUC": "C-peptide AUC"}
"""Names papers use where the contract's description is a definition."""


def _spec(param: str) -> Any:
    from cohort.contract import load_contract

    return load_contract().parameters.get(str(param).upper())


def param_name(param: str | None) -> str:
    """The parameter as a paper names it: "HbA1c", "Fasting C-peptide"; the code when the
    contract does not know it."""
    if not param:
        return "value"
    code = str(param).upper()
    if code in _SHORT:
        return _SHORT[code]
    spec = _spec(code)
    if spec is None:
        return str(param)
    # the first clause of the description, without parentheses ("Total daily insulin dose")
    text = re.sub(r"\s*\([^)]*\)", "", spec.description).strip().rstrip(".")
    return text or str(param)


def param_unit(param: str | None) -> str:
    """The canonical unit of the parameter ("%" for HbA1c), "" when unknown."""
    spec = _spec(param) if param else None
    return spec.unit if spec is not None else ""


def _change_unit(unit: str) -> str:
    # a change in a percentage is in percentage points
    return "% points" if unit == "%" else unit


def value_label(param: str | None) -> str:
    """``"HbA1c (%)"``."""
    unit = param_unit(param)
    return f"{param_name(param)} ({unit})" if unit else param_name(param)


def change_label(param: str | None, *, template: str = "Change in {name}",
                 suffix: str | None = None) -> str:
    """``"Change in HbA1c (% points)"``: ``template`` with the parameter's ``{name}``, then
    the unit of a change and ``suffix`` in parentheses (``"% points, 95% CI"``)."""
    unit = _change_unit(param_unit(param))
    inside = ", ".join(p for p in (unit, suffix) if p)
    name = param_name(param)
    first = name.split(" ", 1)[0]
    if not template.startswith("{name}") and first[1:] == first[1:].lower():
        name = name[:1].lower() + name[1:]  # "Change in fasting C-peptide", "HbA1c" kept
    text = template.format(name=name)
    return text[:1].upper() + text[1:] + (f" ({inside})" if inside else "")


def visit_positions(frame: pd.DataFrame, *, visit: str = "visit",
                    day: str = "visit_day") -> pd.DataFrame:
    """One row per visit with a nominal day: ``visit`` (label), ``visit_day``, in day order."""
    if visit not in frame.columns or day not in frame.columns:
        return pd.DataFrame(columns=["visit", "visit_day"])
    v = frame[[visit, day]].dropna().drop_duplicates()
    v = v.rename(columns={visit: "visit", day: "visit_day"})
    v["visit_day"] = v["visit_day"].astype(float)
    return v.groupby("visit", sort=False)["visit_day"].min().sort_values().reset_index()


def _inches_per_tick(ax: Axes, n: int) -> float:
    fig = ax.get_figure(root=True)
    return fig.get_figwidth() * ax.get_position().width / max(n, 1)


def set_visit_axis(ax: Axes, visits: pd.DataFrame, *, baseline: bool = False) -> None:
    """Ticks at the visits' nominal study days (so spacing is true), labelled with the visits'
    own labels over their day ("month 3" / "day 90"), x label "Visit (nominal study day)".

    Visits labelled only by their day get the day as tick label and "Study day (days)". When
    the labels do not fit the Axes' width (many visits, narrow panels) the day line is dropped,
    and with still less room the axis becomes study time in round months or days
    (:func:`cohort.analysis.time_grid.time_ticks`) labelled with its unit.

    Parameters
    ----------
    ax : Axes
        Its x data are study days.
    visits : DataFrame
        ``visit`` (label) and ``visit_day`` (nominal study day).
    baseline : bool
        Add a "Baseline" tick at day 0.
    """
    days = visits["visit_day"].to_numpy(float)
    labels = [str(v) for v in visits["visit"]]
    if baseline and not np.any(days == 0):
        days = np.concatenate([[0.0], days])
        labels = ["Baseline", *labels]
    room = _inches_per_tick(ax, len(labels))
    if room < 0.6 and days.max() > 0:
        _time_axis(ax, float(days.max()))
        return
    ax.set_xticks(days)
    # labels that are only the day ("day 84", "84") add nothing to the position: show the day
    plain = all(re.fullmatch(r"(day\s*)?-?\d+(\.\d+)?", lb.strip(), re.IGNORECASE)
                for lb in labels if lb != "Baseline")
    if plain:
        ax.set_xticklabels([f"{d:g}" if lb != "Baseline" else lb
                            for lb, d in zip(labels, days, strict=True)])
        ax.set_xlabel("Study day (days)")
        return
    with_day = room >= 0.95
    # the label, and under it the nominal day the visit is placed at
    ax.set_xticklabels([lb if lb == "Baseline" or not with_day else f"{lb}\nday {d:g}"
                        for lb, d in zip(labels, days, strict=True)],
                       rotation=0 if with_day else 30, ha="center" if with_day else "right")
    ax.set_xlabel("Visit (nominal study day)" if with_day else "Visit")


def _time_axis(ax: Axes, last_day: float) -> None:
    from cohort.analysis.time_grid import time_ticks
    from cohort.analysis.time_units import MONTH_DAYS

    unit, scale = ("months", MONTH_DAYS) if last_day >= 3 * MONTH_DAYS else ("days", 1.0)
    ticks = time_ticks(last_day, unit)
    # narrow panels: every k-th tick, so that labels about 0.45 inch wide do not touch
    k = max(1, math.ceil(0.45 * len(ticks) / max(_inches_per_tick(ax, 1), 0.1)))
    ticks = ticks[::k]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t / scale:g}" for t in ticks])
    ax.set_xlabel(f"Study time ({unit})" if unit != "days" else "Study day (days)")

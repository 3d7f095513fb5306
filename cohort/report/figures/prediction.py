"""Figures of prediction models: ROC curves, calibration curves and decision curves.

Each function takes a result (:class:`~cohort.analysis.prediction.PredictionResult` or
:class:`~cohort.analysis.external.ExternalValidationResult`) or the matching table (``roc``,
``calibration``, ``decision``; a ``model`` column separates models), draws on the given Axes
(or a new Figure's, without pyplot), changes no global style and returns the Axes. The curves
of a :class:`PredictionResult` come from cross-validated predictions, never the apparent ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from cohort.errors import AnalysisError
from cohort.report.figures.palette import colors

__all__ = ["plot_calibration", "plot_decision_curve", "plot_prediction", "plot_roc"]


def _new_axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=size, layout="constrained").add_subplot()


def _table(data: Any, attr: str, needed: tuple[str, ...]) -> pd.DataFrame:
    table = data if isinstance(data, pd.DataFrame) else getattr(data, attr, None)
    if not isinstance(table, pd.DataFrame):
        raise AnalysisError(f"expected a DataFrame or a result with a {attr!r} table, got "
                            f"{type(data).__name__}")
    missing = [c for c in needed if c not in table.columns]
    if missing or table.empty:
        raise AnalysisError(f"the {attr} table needs columns {list(needed)}"
                            + (f" (missing {missing})" if missing else " and rows")
                            + "; was cross-validation skipped?")
    if "model" not in table.columns:
        table = table.assign(model="model")
    return table


def _colors(n: int, palette: Any) -> list[Any]:
    return colors(n, palette)


def plot_roc(data: Any, *, ax: Axes | None = None, palette: Any = None,
             auc: dict[str, float] | None = None, diagonal: bool = True) -> Axes:
    """ROC curves (sensitivity against 1 - specificity), one line per model.

    Parameters
    ----------
    data : PredictionResult, ExternalValidationResult or DataFrame
        A result, or its ``roc`` table (``fpr``, ``tpr``, optional ``model``).
    ax : Axes, optional, keyword-only
        Where to draw.
    palette : seaborn palette, optional, keyword-only
        Colours of the models.
    auc : dict, optional, keyword-only
        AUC per model for the legend; by default the cross-validated mean AUC of a
        ``PredictionResult`` (or the AUC of an external validation).
    diagonal : bool, keyword-only
        Draw the chance line (gid ``"chance"``).

    Returns
    -------
    Axes
        One ``Line2D`` per model, labelled with the model name (and AUC).
    """
    table = _table(data, "roc", ("fpr", "tpr"))
    if auc is None and not isinstance(data, pd.DataFrame):
        summ = data.summary
        if {"model", "metric", "cv_mean"} <= set(summ.columns):
            auc = dict(summ.loc[summ["metric"] == "auc", ["model", "cv_mean"]].to_numpy())
        elif {"metric", "estimate"} <= set(summ.columns):
            auc = {"model": float(summ.loc[summ["metric"] == "auc", "estimate"].iloc[0])}
    ax = _new_axes(ax, (5.0, 5.0))
    models = list(pd.unique(table["model"]))
    for color, name in zip(_colors(len(models), palette), models, strict=True):
        part = table.loc[table["model"] == name].sort_values(["fpr", "tpr"])
        label = str(name) + (f" (AUC {auc[name]:.2f})" if auc and name in auc else "")
        ax.step(part["fpr"], part["tpr"], where="post", color=color, label=label)
    if diagonal:
        ax.plot([0, 1], [0, 1], linestyle="--", color="0.6", linewidth=1, gid="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="1 - specificity", ylabel="Sensitivity")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", frameon=False)
    return ax


def plot_calibration(data: Any, *, ax: Axes | None = None, palette: Any = None,
                     intervals: bool = True) -> Axes:
    """Observed proportion against mean predicted risk per bin, with Wilson intervals.

    Parameters
    ----------
    data : PredictionResult, ExternalValidationResult or DataFrame
        A result, or its ``calibration`` table (``predicted``, ``observed``, optional
        ``ci_lower``, ``ci_upper``, ``n``, ``model``).
    ax : Axes, optional, keyword-only
        Where to draw.
    palette : seaborn palette, optional, keyword-only
        Colours of the models.
    intervals : bool, keyword-only
        Draw the 95% intervals of the observed proportions as error bars.

    Returns
    -------
    Axes
        One line with markers per model (labelled), the ideal diagonal (gid ``"ideal"``).
    """
    table = _table(data, "calibration", ("predicted", "observed"))
    ax = _new_axes(ax, (5.0, 5.0))
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.6", linewidth=1, gid="ideal")
    models = list(pd.unique(table["model"]))
    for color, name in zip(_colors(len(models), palette), models, strict=True):
        part = table.loc[table["model"] == name].sort_values("predicted")
        ax.plot(part["predicted"], part["observed"], marker="o", color=color, label=str(name))
        if intervals and {"ci_lower", "ci_upper"} <= set(part.columns):
            err = np.vstack([part["observed"] - part["ci_lower"],
                             part["ci_upper"] - part["observed"]])
            ax.errorbar(part["predicted"], part["observed"], yerr=err, fmt="none",
                        ecolor=color, elinewidth=1, capsize=2)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="Predicted risk", ylabel="Observed proportion")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", frameon=False)
    return ax


def plot_decision_curve(data: Any, *, ax: Axes | None = None, palette: Any = None,
                        max_threshold: float = 0.8) -> Axes:
    """Net benefit against threshold probability, with treat-all and treat-none references.

    Parameters
    ----------
    data : PredictionResult or DataFrame
        A result, or its ``decision`` table (``threshold``, ``net_benefit``, ``treat_all``,
        optional ``model``).
    ax : Axes, optional, keyword-only
        Where to draw.
    palette : seaborn palette, optional, keyword-only
        Colours of the models.
    max_threshold : float, keyword-only
        Largest threshold shown.

    Returns
    -------
    Axes
        One line per model (labelled), plus ``"treat all"`` and ``"treat none"`` lines.
    """
    table = _table(data, "decision", ("threshold", "net_benefit", "treat_all"))
    table = table.loc[table["threshold"] <= max_threshold]
    ax = _new_axes(ax, (6.0, 4.5))
    models = list(pd.unique(table["model"]))
    for color, name in zip(_colors(len(models), palette), models, strict=True):
        part = table.loc[table["model"] == name].sort_values("threshold")
        ax.plot(part["threshold"], part["net_benefit"], color=color, label=str(name))
    first = table.loc[table["model"] == models[0]].sort_values("threshold")
    ax.plot(first["threshold"], first["treat_all"], color="0.4", linestyle=":",
            label="treat all")
    ax.axhline(0.0, color="0.2", linewidth=1, label="treat none")
    top = float(np.nanmax(table[["net_benefit", "treat_all"]].to_numpy()))
    ax.set(xlim=(0, max_threshold), ylim=(-0.05, max(top, 0.05) * 1.1),
           xlabel="Threshold probability", ylabel="Net benefit")
    ax.legend(loc="upper right", frameon=False)
    return ax


def plot_prediction(result: Any, *, kind: str = "roc", ax: Axes | None = None,
                    **kwargs: Any) -> Axes:
    """The figure of a prediction result (cross-validated or externally validated): ROC
    curves (``kind="roc"``), calibration (``"calibration"``) or decision curves
    (``"decision"``); ``kwargs`` go to that figure's function. Returns the Axes."""
    draw = {"roc": plot_roc, "calibration": plot_calibration,
            "decision": plot_decision_curve}.get(kind)
    if draw is None:
        raise AnalysisError(f"kind must be 'roc', 'calibration' or 'decision', got {kind!r}")
    return draw(result, ax=ax, **kwargs)

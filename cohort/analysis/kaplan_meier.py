"""Kaplan-Meier survival with R's confidence intervals, medians, landmarks and numbers at risk.

Conventions, chosen to match R's ``survival`` package (``survfit``; the reference tests
compare with it), and why parts are computed here rather than by lifelines:

* **Estimate**: the product-limit estimate ``cumprod(1 - d / n)`` over the event table, as
  R's ``survfit`` (lifelines' ``KaplanMeierFitter`` gives the same for right-censored data,
  but counts a subject entering at time t as at risk at t, while R and the ``(start, stop]``
  convention do not).
* **Standard errors**: two, named for what they are: ``std_err`` is the SE of S (what
  ``summary(survfit)`` prints) and ``se_log_surv`` the SE of log S (survfit's ``$std.err``).
* **Confidence intervals** use Greenwood's variance with the ``conf_type="log"`` transform
  (R's default), computed here from the event table because lifelines' band is "log-log"
  only: ``S * exp(+-z * se)``, ``se = sqrt(sum d / (n (n - d)))``, upper bound capped at 1,
  undefined where S = 0. ``"log-log"`` and ``"plain"`` are available.
* **Median and quantiles** with CIs follow R's ``quantile.survfit`` (``survival:::findq``),
  which lifelines' ``median_survival_time_`` does not: the first time the curve (or a band)
  reaches 0.5; if the curve is exactly 0.5 over a stretch, the midpoint of the stretch. The
  CI of the median is where the lower and upper bands cross 0.5 (missing when a band never
  does: "not reached").
* **Months**: 1 month = 30.4375 days (365.25 / 12). Landmarks default to round times within
  the follow-up (:func:`cohort.analysis.time_grid.auto_landmarks`: 3, 6, 9 months for a
  12-month follow-up; 12, 24, 36, 48 for four years), numbers at risk to the ticks that cover
  it (:func:`cohort.analysis.time_grid.time_ticks`), counted as
  :func:`cohort.analysis.risk_sets.at_risk_table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis.endpoint import Endpoint
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.analysis.risk_sets import (
    MONTH_DAYS,
    TimeUnit,
    counts_at,
    event_table,
    grouped_counts,
    prepare_tte,
    split_groups,
    to_days,
    unit_days,
)
from cohort.analysis.time_grid import auto_landmarks, time_ticks
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["AUTO", "ConfType", "KaplanMeierResult", "kaplan_meier"]

AUTO = "auto"
"""Landmarks (and at-risk times) chosen from the data's follow-up."""

ConfType = Literal["log", "log-log", "plain"]


def _confidence(surv: np.ndarray, se: np.ndarray, conf_type: ConfType,
                z: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            lower = surv * np.exp(-z * se)
            upper = np.minimum(surv * np.exp(z * se), 1.0)
        elif conf_type == "log-log":
            log_s = np.log(surv)
            se_ll = se / np.abs(log_s)
            # undefined where S = 1 (log(1) = 0), as in R
            lower = np.where(surv < 1, surv ** np.exp(z * se_ll), np.nan)
            upper = np.where(surv < 1, surv ** np.exp(-z * se_ll), np.nan)
        elif conf_type == "plain":
            lower = np.clip(surv - z * se * surv, 0.0, 1.0)
            upper = np.clip(surv + z * se * surv, 0.0, 1.0)
        else:
            raise AnalysisError(f"conf_type must be 'log', 'log-log' or 'plain', got "
                                f"{conf_type!r}")
    undefined = (surv <= 0) | ~np.isfinite(se)
    return np.where(undefined, np.nan, lower), np.where(undefined, np.nan, upper)


def _curve(start: np.ndarray, stop: np.ndarray, event: np.ndarray, conf_type: ConfType,
           z: float) -> pd.DataFrame:
    table = event_table(start, stop, event)
    n, d = table["n_risk"].to_numpy(float), table["n_event"].to_numpy(float)
    # the product-limit estimate as R's survfit computes it, on (start, stop] risk sets
    surv = np.cumprod(1.0 - d / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(np.where(d > 0, d / (n * (n - d)), 0.0))
    se_log = np.sqrt(green)
    lower, upper = _confidence(surv, se_log, conf_type, z)
    table["estimate"] = surv
    # R's summary(survfit) prints std.err = S * se(log S); survfit's own $std.err is se(log S)
    with np.errstate(invalid="ignore"):
        table["std_err"] = np.where(surv > 0, surv * se_log, np.where(np.isfinite(se_log),
                                                                     0.0, np.nan))
    table["se_log_surv"] = se_log
    table["ci_lower"] = lower
    table["ci_upper"] = upper
    return table


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float:
    """R's survival:::findq for one probability: x times (origin first), y = 1 - S."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return np.nan
    xmax = x[-1]
    # duplicated(y) in R keeps the first occurrence; NaN equals NaN there
    key = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(key, return_index=True)
    keep = np.sort(first)
    x, y = x[keep], y[keep]
    n = len(y)
    ok = ~np.isnan(y)
    idx = np.arange(n)[ok]
    yy = y[ok]

    def first_at_least(values: np.ndarray) -> int | None:
        # approx(values, idx, p, method="constant", f=1, rule=1): approx sorts by `values`
        # first, which matters for a CI band that is not monotone
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        if len(values) == 0 or p < ordered[0] or p > ordered[-1]:
            return None
        return int(idx[order[np.searchsorted(ordered, p, side="left")]])

    i1 = first_at_least(yy + tol)
    i2 = first_at_least(yy - tol)
    quant = np.nan if i1 is None or i2 is None else (x[i1] + x[i2]) / 2
    if p == 0:
        quant = x[0]
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < tol and i1 is not None:
        quant = (x[i1] + xmax) / 2
    return float(quant)


def _quantile(curve: pd.DataFrame, p: float) -> tuple[float, float, float]:
    tol = float(np.sqrt(np.finfo(float).eps))
    x = np.concatenate([[0.0], curve["time"].to_numpy(float)])
    q = [_findq(x, np.concatenate([[0.0], 1 - curve[c].to_numpy(float)]), p, tol)
         for c in ("estimate", "ci_lower", "ci_upper")]
    # the lower band reaches p first: it bounds the quantile from below
    return q[0], q[1], q[2]



@dataclass
class KaplanMeierResult(AnalysisResult):
    """Kaplan-Meier estimates by group.

    Attributes
    ----------
    summary : DataFrame
        One row per group: ``group``, ``n``, ``n_events``, ``n_censored``, ``estimate`` (median
        time in days; NaN = not reached), ``ci_lower``, ``ci_upper`` (CI of the median, days),
        ``estimate_months``, ``ci_lower_months``, ``ci_upper_months``, ``conf_level``.
    curve : DataFrame
        The step function: ``group``, ``time`` (days), ``n_risk``, ``n_event``, ``n_censor``,
        ``estimate`` (survival), ``std_err`` (standard error of the survival estimate S, by
        Greenwood's formula: the ``std.err`` that R's ``summary(survfit)`` prints),
        ``se_log_surv`` (standard error of log S, i.e. of the cumulative hazard: the
        ``std.err`` stored in R's ``survfit`` object, on which the log CIs are built;
        ``std_err = estimate * se_log_surv``), ``ci_lower``, ``ci_upper``.
    landmarks : DataFrame
        ``group``, ``months``, ``time`` (days), ``estimate``, ``ci_lower``, ``ci_upper``,
        ``n_risk``, ``note`` (``beyond follow-up`` when the time is after the group's last
        observation: the estimate is then missing, as R's ``summary`` drops it).
    at_risk : DataFrame
        :func:`at_risk_table` at the at-risk times.
    """

    curve: pd.DataFrame = field(default_factory=pd.DataFrame)
    landmarks: pd.DataFrame = field(default_factory=pd.DataFrame)
    at_risk: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """Base keys plus ``curve``, ``landmarks`` and ``at_risk``."""
        out = super().to_dict()
        out.update(json_safe({"curve": self.curve, "landmarks": self.landmarks,
                              "at_risk": self.at_risk}))
        return out

    def plot(self, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """The Kaplan-Meier figure with its numbers at risk
        (:func:`cohort.report.figures.survival.plot_km`; keyword options as there).

        Returns
        -------
        Axes
            The curves' Axes; the risk table is its child Axes (gid ``"risk_table"``).
        """
        from cohort.report.figures.survival import plot_km

        return plot_km(self, ax=ax, **kwargs)


def kaplan_meier(tte: pd.DataFrame, *, group: str | None = None, conf_level: float = 0.95,
                 conf_type: ConfType = "log",
                 landmarks_months: Sequence[float] | Literal["auto"] | None = AUTO,
                 at_risk_months: Sequence[float] | None = None,
                 time_unit: TimeUnit = "months", landmarks: Sequence[float] | None = None,
                 at_risk: Sequence[float] | None = None,
                 endpoint: Endpoint | None = None) -> KaplanMeierResult:
    """Kaplan-Meier survival by group, with CIs, medians, landmarks and numbers at risk.

    Parameters
    ----------
    tte : DataFrame
        A time-to-event table (times in days).
    group : str, optional, keyword-only
        Column to split by (rows with a missing value are excluded and counted).
    conf_level : float, keyword-only
        Confidence level of the band and the median CI (default 0.95).
    conf_type : {"log", "log-log", "plain"}, keyword-only
        Transform of the pointwise CI (default ``"log"``, R's default).
    landmarks_months : sequence of float, "auto" or None, keyword-only
        Landmark times in months (1 month = 30.4375 days); ``"auto"`` (default): round times
        of ``time_unit`` within the follow-up (:func:`~cohort.analysis.time_grid.auto_landmarks`,
        e.g. 3, 6, 9 months for a 12-month follow-up), so no landmark is beyond it; None: none.
    at_risk_months : sequence of float, keyword-only
        Times (months) of the at-risk table; default 0 and the landmarks, or with automatic
        landmarks the round times from 0 to the first at or after the last time
        (:func:`~cohort.analysis.time_grid.time_ticks`: the ticks of the figure).
    time_unit : {"days", "weeks", "months", "years"}, keyword-only
        Unit of ``landmarks`` and ``at_risk`` and of the extra output columns named after it
        (``estimate_<unit>``, ... in the summary, a ``<unit>`` column in the landmark and
        at-risk tables); 1 month = 30.4375 days, 1 year = 365.25 days. Default months.
    landmarks, at_risk : sequence of float, keyword-only
        Landmark and at-risk times in ``time_unit``; when given they replace
        ``landmarks_months`` and ``at_risk_months``.
    endpoint : Endpoint, optional, keyword-only
        The endpoint in words (event, what the curve shows, origin of the clock), kept in
        ``params`` (``endpoint``, ``survival_label``, ``origin``) for the figure's labels.

    Returns
    -------
    KaplanMeierResult

    Examples
    --------
    Couri 2009: time from insulin stop to resumption (first episodes), median and landmarks:

    >>> from cohort import datasets
    >>> from cohort.analysis.survival import kaplan_meier
    >>> from cohort.analysis.time_to_event import tte_from_episodes
    >>> from cohort.derive.insulin import insulin_episodes
    >>> couri = datasets.load("couri2009")
    >>> ins = insulin_episodes(couri.measurements, couri.subjects, couri.adverse_events)
    >>> tte = tte_from_episodes(ins.episodes, couri.subjects, origin="insulin-stop",
    ...                         which="first")
    >>> km = kaplan_meier(tte, landmarks_months=(12, 24))
    >>> km.summary[["n", "n_events", "estimate_months", "ci_lower_months"]].round(1)
        n  n_events  estimate_months  ci_lower_months
    0  20         8             31.0             24.0
    >>> km.landmarks[["months", "estimate", "ci_lower", "ci_upper", "n_risk"]].round(3)
       months  estimate  ci_lower  ci_upper  n_risk
    0    12.0     0.950     0.859     1.000      18
    1    24.0     0.631     0.430     0.927       8
    """
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    if conf_type not in ("log", "log-log", "plain"):
        raise AnalysisError(f"conf_type must be 'log', 'log-log' or 'plain', got {conf_type!r}")
    data, exclusions = prepare_tte(tte, group)
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    factor = unit_days(time_unit)
    auto = landmarks is None and isinstance(landmarks_months, str)
    if auto and landmarks_months != AUTO:
        raise AnalysisError(f"landmarks_months must be times in months, 'auto' or None, got "
                            f"{landmarks_months!r}")
    last_day = float(data["stop"].max())
    if landmarks is not None:
        land_days = to_days(landmarks, time_unit, "landmarks")
    elif auto:
        land_days = auto_landmarks(last_day, time_unit)
    else:
        land_days = to_days(landmarks_months, "months", "landmarks")  # type: ignore[arg-type]
    if at_risk is not None:
        risk_days = to_days(at_risk, time_unit, "at-risk times")
    elif at_risk_months is not None:
        risk_days = to_days(at_risk_months, "months", "at-risk times")
    elif auto:
        risk_days = time_ticks(last_day, time_unit)
    else:
        risk_days = np.unique(np.concatenate([[0.0], land_days]))
    rows, curves, lands, tables = [], [], [], []
    needed = ["start", "stop", "event", *([group] if group else [])]
    for lvl, sub in split_groups(data[needed], group):
        start, stop = sub["start"].to_numpy(), sub["stop"].to_numpy()
        event = sub["event"].to_numpy()
        curve = _curve(start, stop, event, conf_type, z)
        med, lo, hi = _quantile(curve, 0.5)
        rows.append({"group": lvl, "n": len(sub), "n_events": int(event.sum()),
                     "n_censored": int((~event).sum()), "estimate": med, "ci_lower": lo,
                     "ci_upper": hi})
        curves.append(curve.assign(group=lvl))
        t = curve["time"].to_numpy()
        idx = np.searchsorted(t, land_days, side="right") - 1
        beyond = land_days > t[-1]
        take = np.clip(idx, 0, len(t) - 1)
        land = pd.DataFrame({"group": lvl, "months": land_days / MONTH_DAYS, "time": land_days})
        if time_unit != "months":
            land.insert(2, time_unit, land_days / factor)
        for col in ("estimate", "ci_lower", "ci_upper"):
            vals = np.where(idx < 0, 1.0, curve[col].to_numpy()[take])
            land[col] = np.where(beyond, np.nan, vals)
        land["n_risk"] = counts_at(curve, land_days)["n_risk"].to_numpy()
        land["note"] = np.where(beyond, f"beyond follow-up (last time {t[-1]:g} days)", None)
        lands.append(land)
        tables.append((lvl, curve))
    summary = pd.DataFrame(rows)
    for col in ("estimate", "ci_lower", "ci_upper"):
        summary[f"{col}_months"] = summary[col] / MONTH_DAYS
    if time_unit != "months":
        for col in ("estimate", "ci_lower", "ci_upper"):
            summary[f"{col}_{time_unit}"] = summary[col] / factor
    summary["conf_level"] = conf_level
    curve = pd.concat(curves, ignore_index=True)
    curve = curve[["group"] + [c for c in curve.columns if c != "group"]]
    risk_table = grouped_counts(tables, risk_days, time_unit)
    notes = []
    if (summary["n_events"] == 0).any():
        notes.append("no events in " + ", ".join(map(str, summary.loc[
            summary["n_events"] == 0, "group"])) + ": the curve stays at 1, the median is "
            "not reached")
    if (data["start"] > 0).any():
        notes.append("delayed entry: rows are at risk from their start time (the insulin "
                     "stop) only")
    return KaplanMeierResult(
        summary=summary, exclusions=exclusions,
        params={"group": group, "conf_level": conf_level, "conf_type": conf_type,
                "landmarks_months": [float(m) for m in land_days / MONTH_DAYS],
                "at_risk_months": [float(m) for m in risk_days / MONTH_DAYS],
                "month_days": MONTH_DAYS, "time_unit": time_unit,
                "landmarks": [float(m) for m in land_days / factor],
                "at_risk": [float(m) for m in risk_days / factor],
                **(endpoint.to_params() if endpoint is not None else {})},
        notes=notes, curve=curve, landmarks=pd.concat(lands, ignore_index=True),
        at_risk=risk_table)


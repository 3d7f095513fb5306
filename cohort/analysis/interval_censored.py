"""Weibull fit to interval-censored times (the interval view of insulin resumption).

lifelines' ``WeibullFitter.fit_interval_censoring`` on the interval view (event in
``(lower, upper]``; censored at ``stop``), a parametric alternative to the exact-time view when
resumption is only seen at visits. It matches R's
``survreg(Surv(lower, upper, type = "interval2") ~ 1, dist = "weibull")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cohort.analysis._lifelines import call_lifelines
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.analysis.risk_sets import (
    DEFAULT_LANDMARKS_MONTHS,
    MONTH_DAYS,
    months_to_days,
    prepare_tte,
    split_groups,
)
from cohort.errors import AnalysisError

__all__ = ["IntervalCensoredResult", "weibull_interval"]


@dataclass
class IntervalCensoredResult(AnalysisResult):
    """Weibull fits to interval-censored times, S(t) = exp(-(t / lambda) ** rho).

    Attributes
    ----------
    summary : DataFrame
        Per group and parameter: ``group``, ``parameter`` (``lambda`` scale in days, ``rho``
        shape, ``median`` in days), ``estimate``, ``se``, ``ci_lower``, ``ci_upper`` (Wald, on
        the parameter's scale; missing for the median), ``n``, ``n_events``, ``loglik``.
    landmarks : DataFrame
        Model-based survival: ``group``, ``months``, ``time`` (days), ``estimate``.
    """

    landmarks: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """Base keys plus ``landmarks``."""
        out = super().to_dict()
        out["landmarks"] = json_safe(self.landmarks)
        return out


def weibull_interval(tte: pd.DataFrame, *, group: str | None = None,
                     conf_level: float = 0.95,
                     landmarks_months: Sequence[float] | None = DEFAULT_LANDMARKS_MONTHS
                     ) -> IntervalCensoredResult:
    """Weibull fit to the interval view (event in ``(lower, upper]``; censored at ``stop``).

    Parameters
    ----------
    tte : DataFrame
        A time-to-event table with ``lower`` and ``upper`` columns (days); a table without them
        is treated as exactly observed (``lower = upper = stop`` for events).
    group : str, optional, keyword-only
        Fit each group separately.
    conf_level : float, keyword-only
        Level of the Wald CIs.
    landmarks_months : sequence of float, keyword-only
        Times (months) at which to report the model's survival.

    Returns
    -------
    IntervalCensoredResult
    """
    data, exclusions = prepare_tte(tte, group)
    if "lower" not in data.columns:
        data["lower"] = data["stop"]
        data["upper"] = np.where(data["event"], data["stop"], np.nan)
    land_days = months_to_days(landmarks_months, "landmarks")
    from lifelines import WeibullFitter

    rows, lands = [], []
    for lvl, sub in split_groups(data, group):
        event = sub["event"].to_numpy()
        if not event.any():
            raise AnalysisError(f"no events in group {lvl!r}: a Weibull model cannot be "
                                "estimated")
        lower = np.where(event, sub["lower"].to_numpy(), sub["stop"].to_numpy())
        upper = np.where(event, sub["upper"].to_numpy(), np.inf)
        entry = sub["start"].to_numpy() if (sub["start"] > 0).any() else None
        wf = call_lifelines("the Weibull interval-censored fit", lambda lo=lower, up=upper,
                             en=entry: WeibullFitter(alpha=1 - conf_level).fit_interval_censoring(
                                 lo, up, entry=en))
        summ = wf.summary
        lo_col = next(c for c in summ.columns if c.startswith("coef lower"))
        hi_col = next(c for c in summ.columns if c.startswith("coef upper"))
        for name, key in (("lambda", "lambda_"), ("rho", "rho_")):
            rows.append({"group": lvl, "parameter": name, "estimate": summ.loc[key, "coef"],
                         "se": summ.loc[key, "se(coef)"], "ci_lower": summ.loc[key, lo_col],
                         "ci_upper": summ.loc[key, hi_col]})
        lam, rho = float(wf.lambda_), float(wf.rho_)
        rows.append({"group": lvl, "parameter": "median",
                     "estimate": lam * np.log(2) ** (1 / rho), "se": np.nan,
                     "ci_lower": np.nan, "ci_upper": np.nan})
        for r in rows[-3:]:
            r.update(n=len(sub), n_events=int(event.sum()), loglik=float(wf.log_likelihood_))
        with np.errstate(over="ignore"):  # (t / lambda) ** rho beyond float range: S(t) = 0
            surv = np.exp(-(land_days / lam) ** rho)
        lands.append(pd.DataFrame({"group": lvl, "months": land_days / MONTH_DAYS,
                                   "time": land_days, "estimate": surv}))
    return IntervalCensoredResult(
        summary=pd.DataFrame(rows), exclusions=exclusions,
        params={"group": group, "model": "weibull", "conf_level": conf_level,
                "fitter": "lifelines WeibullFitter.fit_interval_censoring"},
        notes=["interval view: resumption between the last insulin-free record and the first "
               "record back on insulin; censored rows as in the exact view"],
        landmarks=pd.concat(lands, ignore_index=True) if lands else pd.DataFrame())


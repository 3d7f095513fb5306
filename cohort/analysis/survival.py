"""Survival analyses of a time-to-event table, together: :func:`analyze_survival`.

All functions take a time-to-event table (:mod:`cohort.analysis.time_to_event`; times in days,
rows at risk in ``(start, stop]``) and return results with tidy ``summary`` DataFrames. The
parts live in their own modules, each saying which R function it matches and why it computes
what lifelines does not:

* :mod:`cohort.analysis.kaplan_meier` -- Kaplan-Meier with R's log-transformed Greenwood CIs,
  medians as ``quantile.survfit``, landmarks;
* :mod:`cohort.analysis.risk_sets` -- numbers at risk as ``summary(survfit, times=)``;
  times in days, shown in any unit of :mod:`cohort.analysis.time_units`;
* :mod:`cohort.analysis.logrank` -- log-rank (``survdiff``), with a counting-process form for
  delayed entry, pairwise with Holm adjustment;
* :mod:`cohort.analysis.cox` -- Cox model as ``coxph`` (Efron ties; fitted in
  :mod:`cohort.analysis.cox_fit`), cluster-robust variance as ``coxph(cluster = )``, global
  LR/Wald/score tests;
* :mod:`cohort.analysis.concordance` -- Harrell's C and its SE as ``concordance()``, any n;
* :mod:`cohort.analysis.ph_test` -- the proportional-hazards test as ``cox.zph``;
* :mod:`cohort.analysis.interval_censored` -- Weibull fit to interval-censored times
  (``survreg``).

Every public name of those modules stays importable from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pandas as pd

from cohort.analysis.concordance import Concordance, concordance
from cohort.analysis.cox import MIN_EVENTS_PER_PARAMETER, CoxOptionError, CoxResult, cox_ph
from cohort.analysis.endpoint import Endpoint
from cohort.analysis.interval_censored import IntervalCensoredResult, weibull_interval
from cohort.analysis.kaplan_meier import AUTO, ConfType, KaplanMeierResult, kaplan_meier
from cohort.analysis.logrank import LogRankResult, log_rank
from cohort.analysis.ph_test import ph_test
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.analysis.risk_sets import (
    DEFAULT_LANDMARKS_MONTHS,
    MONTH_DAYS,
    UNIT_DAYS,
    TimeUnit,
    at_risk_table,
    checked_once,
)
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "DEFAULT_LANDMARKS_MONTHS",
    "MIN_EVENTS_PER_PARAMETER",
    "MONTH_DAYS",
    "UNIT_DAYS",
    "Concordance",
    "ConfType",
    "CoxResult",
    "IntervalCensoredResult",
    "KaplanMeierResult",
    "LogRankResult",
    "SurvivalResult",
    "TimeUnit",
    "analyze_survival",
    "at_risk_table",
    "concordance",
    "cox_ph",
    "kaplan_meier",
    "log_rank",
    "ph_test",
    "weibull_interval",
]

_R = TypeVar("_R", bound=AnalysisResult)


@dataclass
class SurvivalResult(AnalysisResult):
    """Kaplan-Meier, log-rank, Cox and (optionally) the interval-censored fit together.

    ``summary`` is the Kaplan-Meier summary (one row per group, median with CI); the parts are
    in ``km``, ``logrank``, ``cox`` and ``interval`` (None when not run; ``notes`` says why).
    ``counts`` holds cohort-level counts (e.g. from the insulin-episode derivation).
    """

    km: KaplanMeierResult | None = None
    logrank: LogRankResult | None = None
    cox: CoxResult | None = None
    interval: IntervalCensoredResult | None = None
    counts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON keys: ``analysis``, ``params``, ``counts``, ``summary``, ``landmarks``,
        ``at_risk``, ``curve``, ``logrank``, ``logrank_expected``, ``cox``, ``cox_tests``,
        ``concordance``, ``ph_test``, ``interval``, ``interval_landmarks``, ``exclusions``,
        ``n_excluded``, ``notes``."""
        out = super().to_dict()
        km = self.km
        out.update(json_safe({
            "counts": self.counts,
            "landmarks": km.landmarks if km else None,
            "at_risk": km.at_risk if km else None,
            "curve": km.curve if km else None,
            "logrank": self.logrank.summary if self.logrank else None,
            "logrank_expected": self.logrank.expected if self.logrank else None,
            "cox": self.cox.summary if self.cox else None,
            "cox_tests": self.cox.tests if self.cox else None,
            "concordance": ({"c_index": self.cox.concordance, **self.cox.concordance_counts}
                            if self.cox else None),
            "ph_test": self.cox.ph_test if self.cox else None,
            "interval": self.interval.summary if self.interval else None,
            "interval_landmarks": self.interval.landmarks if self.interval else None,
        }))
        return out

    def plot(self, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """The Kaplan-Meier figure (:meth:`KaplanMeierResult.plot`; options as
        :func:`cohort.report.figures.survival.plot_km`)."""
        if self.km is None:
            from cohort.analysis.result import NothingToPlotError

            raise NothingToPlotError("this survival result has no Kaplan-Meier estimate to "
                                     "plot")
        return self.km.plot(ax=ax, **kwargs)


def analyze_survival(tte: pd.DataFrame, *, group: str | None = None,
                     covariates: Sequence[str] = (), conf_level: float = 0.95,
                     conf_type: ConfType = "log",
                     landmarks_months: Sequence[float] | Literal["auto"] | None = AUTO,
                     at_risk_months: Sequence[float] | None = None, pairwise: bool = True,
                     interval: bool = False, counts: Mapping[str, Any] | None = None,
                     exclusions: pd.DataFrame | None = None,
                     reference: Mapping[str, Any] | None = None, cluster: str | None = None,
                     robust: bool | None = None, time_unit: TimeUnit = "months",
                     landmarks: Sequence[float] | None = None,
                     at_risk: Sequence[float] | None = None,
                     endpoint: Endpoint | None = None) -> SurvivalResult:
    """Run the survival analyses that apply to a time-to-event table.

    Kaplan-Meier always; log-rank when ``group`` has 2+ levels and there are events; Cox on
    ``group`` plus ``covariates`` when there are events; the Weibull interval fit when
    ``interval``. A part that cannot run is skipped with a note (the standalone functions raise
    instead).

    Parameters
    ----------
    tte : DataFrame
        A time-to-event table (times in days).
    group, conf_level, conf_type, landmarks_months, at_risk_months, pairwise
        As in :func:`kaplan_meier` and :func:`log_rank`.
    covariates : sequence of str, keyword-only
        Extra Cox covariates (the group is always the first one).
    interval : bool, keyword-only
        Also fit the interval-censored Weibull model.
    counts : mapping, keyword-only
        Cohort-level counts to carry (e.g. :meth:`InsulinEpisodes.counts`).
    exclusions : DataFrame, keyword-only
        Upstream exclusions (``subject_id``, ``reason``) to report with the analysis ones.
    time_unit, landmarks, at_risk
        As in :func:`kaplan_meier`: landmark and at-risk times in ``time_unit`` (replacing
        ``landmarks_months`` and ``at_risk_months`` when given).
    endpoint : Endpoint, optional, keyword-only
        The endpoint in words, for the figure's labels (as in :func:`kaplan_meier`).
    reference, cluster, robust
        As in :func:`cox_ph` (reference levels; cluster-robust variance, by default whenever a
        subject contributes several rows).

    Returns
    -------
    SurvivalResult
    """
    with checked_once(tte) as checked:
        return _analyze(checked, group=group, covariates=covariates, conf_level=conf_level,
                        conf_type=conf_type, landmarks_months=landmarks_months,
                        at_risk_months=at_risk_months, pairwise=pairwise, interval=interval,
                        counts=counts, exclusions=exclusions, reference=reference,
                        cluster=cluster, robust=robust, time_unit=time_unit,
                        landmarks=landmarks, at_risk=at_risk, endpoint=endpoint)


def _analyze(tte: pd.DataFrame, *, group: str | None, covariates: Sequence[str],
             conf_level: float, conf_type: ConfType,
             landmarks_months: Sequence[float] | Literal["auto"] | None,
             at_risk_months: Sequence[float] | None, pairwise: bool, interval: bool,
             counts: Mapping[str, Any] | None, exclusions: pd.DataFrame | None,
             reference: Mapping[str, Any] | None, cluster: str | None, robust: bool | None,
             time_unit: TimeUnit, landmarks: Sequence[float] | None,
             at_risk: Sequence[float] | None, endpoint: Endpoint | None) -> SurvivalResult:
    km = kaplan_meier(tte, group=group, conf_level=conf_level, conf_type=conf_type,
                      landmarks_months=landmarks_months, at_risk_months=at_risk_months,
                      time_unit=time_unit, landmarks=landmarks, at_risk=at_risk,
                      endpoint=endpoint)
    notes = list(km.notes)
    lr = cox = ic = None
    if group and len(km.summary) >= 2:
        lr = _optional("log-rank", lambda: log_rank(tte, group=group, pairwise=pairwise), notes)
    elif group:
        notes.append(f"log-rank not run: {group!r} has a single group")
    cov = ([group] if group and len(km.summary) >= 2 else []) + [
        c for c in covariates if c != group]
    if cov:
        cox = _optional("Cox model", lambda: cox_ph(
            tte, covariates=cov, conf_level=conf_level, reference=reference, cluster=cluster,
            robust=robust), notes)
    if interval:
        ic = _optional("interval-censored fit", lambda: weibull_interval(
            tte, group=group, conf_level=conf_level,
            landmarks_months=km.params["landmarks_months"]), notes)
    parts = [e for e in (exclusions, km.exclusions, cox.exclusions if cox else None)
             if e is not None and len(e)]
    excl = (pd.concat(parts, ignore_index=True).drop_duplicates() if parts
            else pd.DataFrame(columns=["subject_id", "reason"]))
    return SurvivalResult(
        summary=km.summary, exclusions=excl,
        params={**km.params, "covariates": cov, "pairwise": pairwise, "interval": interval},
        notes=notes, km=km, logrank=lr, cox=cox, interval=ic, counts=dict(counts or {}))


def _optional(what: str, run: Callable[[], _R], notes: list[str]) -> _R | None:
    """Run one part of :func:`analyze_survival`; a part that cannot run becomes a note."""
    try:
        res = run()
    except CoxOptionError:
        raise
    except AnalysisError as exc:
        notes.append(f"{what} not run: {exc}")
        return None
    notes += res.notes
    return res

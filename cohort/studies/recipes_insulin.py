"""Recipes of insulin-independence targets beyond counts: who became insulin-free when, who
still is at last contact, the proportion with its exact CI, Kaplan-Meier landmarks and the
mean or median observed duration of insulin-free episodes.

Episodes come from :func:`cohort.derive.insulin.insulin_episodes` (the contract's definition:
insulin dose 0 sustained over consecutive records; resumption at the first later record with
a dose > 0; censored at last contact). Times are in months of 30.4375 days.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from cohort.spec.targets import Target
from cohort.studies.base import NotComputable, Reproduced, num
from cohort.studies.context import MONTH_DAYS, StudyContext
from cohort.studies.recipes_events import _episodes, _which

__all__ = ["EPISODE_FILTERS", "insulin_free_duration", "insulin_free_subjects", "km_landmark"]

EPISODE_FILTERS = ("started_within_months", "started_after_months", "at_last_contact")
"""Optional target params that restrict which insulin-free episodes count."""


def _filter(ep: pd.DataFrame, p: dict[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    what = []
    if p.get("started_within_months") is not None:
        m = float(p["started_within_months"])
        ep = ep[ep["entry_day"].astype(float) <= m * MONTH_DAYS]
        what.append(f"starting within {m:g} months of day 0")
    if p.get("started_after_months") is not None:
        m = float(p["started_after_months"])
        ep = ep[ep["entry_day"].astype(float) > m * MONTH_DAYS]
        what.append(f"starting after month {m:g}")
    if p.get("at_last_contact") is not None:
        still = ep["status"].astype(str) == "last_contact"
        ep = ep[still if bool(p["at_last_contact"]) else ~still]
        what.append("still insulin-free at last contact" if p["at_last_contact"]
                    else "ended before last contact")
    return ep, what


def insulin_free_subjects(ctx: StudyContext, target: Target) -> Reproduced:
    """Subjects with a qualifying insulin-free episode: a count, or the proportion (0-1) of
    the subjects in scope with its Clopper-Pearson 95% CI."""
    from cohort.analysis.proportions import proportion

    p = target.params
    ins, ep, subj = _episodes(ctx, p.get("arm"), among=p.get("among"))
    ep, what = _filter(ep, p)
    count = int(ep["subject_id"].astype(str).nunique())
    n = len(subj)
    rule = ins.rule.describe()
    label = "insulin-free" + (f" ({'; '.join(what)})" if what else " at least once")
    method = f"subjects {label}, of {n} (insulin-free: {rule})"
    if target.analysis == "insulin_free_count":
        return Reproduced(value=float(count), n=n, method=method)
    if n == 0:
        raise NotComputable("no subject in scope")
    pr = proportion(count, n)
    return Reproduced(value=float(pr["estimate"]), ci_lower=float(pr["cp_lower"]),
                      ci_upper=float(pr["cp_upper"]), n=n,
                      method=method + f"; {count}/{n}, Clopper-Pearson 95% CI")


def insulin_free_duration(ctx: StudyContext, target: Target) -> Reproduced:
    """Mean or median observed duration (months) of insulin-free episodes, resumed or
    censored at last contact (a censored episode counts with its duration so far)."""
    p = target.params
    ins, ep, _ = _episodes(ctx, p.get("arm"), among=p.get("among"))
    ep, what = _filter(_which(p, ep), p)
    if ep.empty:
        raise NotComputable("no insulin-free episode in scope")
    months = ep["duration_days"].to_numpy(dtype=float) / MONTH_DAYS
    stat = "mean" if target.analysis.endswith("mean") else "median"
    value = float(months.mean() if stat == "mean" else np.median(months))
    n_cens = int((~ep["event"].astype(bool)).sum())
    return Reproduced(value=value, n=len(ep),
                      method=f"{stat} observed duration of {len(ep)} insulin-free episodes "
                             f"({n_cens} censored at last contact, counted with their duration"
                             f" so far){'; ' + '; '.join(what) if what else ''}, months "
                             f"(insulin-free: {ins.rule.describe()})")


def km_landmark(ctx: StudyContext, target: Target) -> Reproduced:
    """Kaplan-Meier probability (0-1) of still being insulin-free ``months`` after the
    episode started, with its 95% CI (log, as R's survfit)."""
    from cohort.analysis.kaplan_meier import kaplan_meier
    from cohort.analysis.time_to_event import tte_from_episodes

    p = target.params
    months = float(p["months"])
    ins, ep, _ = _episodes(ctx, p.get("arm"), among=p.get("among"))
    episode = p.get("episode")
    if episode is not None and int(episode) != 1:
        ep = ep[ep["episode"] == int(episode)].assign(episode=1)
    if ep.empty:
        raise NotComputable("no insulin-free episode in scope")
    tte = tte_from_episodes(ep, which="first" if episode is not None else "all")
    km = kaplan_meier(tte, landmarks_months=[months])
    land = km.landmarks.iloc[0]
    est = num(land["estimate"])
    if math.isnan(est):
        raise NotComputable(f"{months:g} months is beyond the longest follow-up of an "
                            "insulin-free episode: the Kaplan-Meier estimate is not defined "
                            "there")
    s = km.summary.iloc[0]
    return Reproduced(value=est, ci_lower=num(land["ci_lower"]), ci_upper=num(land["ci_upper"]),
                      n=int(s["n"]),
                      method=f"Kaplan-Meier probability of remaining insulin-free {months:g} "
                             f"months after insulin stop ({int(s['n_events'])} resumptions, "
                             f"{int(s['n_censored'])} censored of {int(s['n'])} episodes; 95% CI "
                             f"log; at risk {int(num(land['n_risk']))}) (insulin-free: "
                             f"{ins.rule.describe()})")

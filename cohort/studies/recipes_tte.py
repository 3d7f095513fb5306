"""Recipe of time-to-event targets other than insulin resumption: the time from day 0 to the
first adverse event of a term (death, a severe hypoglycaemia, a pneumonia...), with its own
event label, censored at last contact; Kaplan-Meier median (months, ``not reached`` when the
curve stays above 0.5) or the probability of being event-free ``months`` after day 0.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cohort.spec.targets import Target
from cohort.studies.base import NotComputable, Reproduced, num
from cohort.studies.context import StudyContext

__all__ = ["km_event"]


def _tte(ctx: StudyContext, target: Target) -> tuple[pd.DataFrame, str, int]:
    p = target.params
    term = str(p["term"]).strip().casefold()
    label = str(p.get("label", p["term"]))
    ae = ctx.table("adverse_events", needed_for=f"the time to {label}")
    rows = ctx.select(arm=p.get("arm"), among=p.get("among"))
    hits = ae[ae["term"].astype(str).str.strip().str.casefold() == term]
    onset = hits.groupby(hits["subject_id"].astype(str))["onset_day"].min()
    ids = rows["subject_id"].astype(str)
    first = ids.map(onset).astype(float).to_numpy()
    last = rows["last_contact_day"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    before = first < 0
    if before.any():
        ctx.notes.append(f"{int(before.sum())} subject(s) with {label} before day 0 left out")
    keep = ~before & ~np.isnan(last)
    event = ~np.isnan(first) & (first <= last)
    stop = np.where(event, first, last)
    tte = pd.DataFrame({"subject_id": ids.to_numpy()[keep], "episode": 1, "start": 0.0,
                        "stop": stop[keep], "event": event[keep],
                        "censor_reason": np.where(event[keep], "", "last_contact")})
    if tte.empty:
        raise NotComputable(f"no subject in scope for the time to {label}")
    return tte, label, int(event[keep].sum())


def km_event(ctx: StudyContext, target: Target) -> Reproduced:
    """Kaplan-Meier median time to the first event of a term, or event-free probability."""
    from cohort.analysis.kaplan_meier import kaplan_meier

    p = target.params
    tte, label, n_events = _tte(ctx, target)
    months = p.get("months")
    km = kaplan_meier(tte, landmarks_months=None if months is None else [float(months)])
    s = km.summary.iloc[0]
    what = (f"Kaplan-Meier, time from day 0 to the first {label} ({n_events} events, "
            f"{len(tte) - n_events} censored at last contact, of {len(tte)} subjects)")
    if months is not None:
        land = km.landmarks.iloc[0]
        est = num(land["estimate"])
        if math.isnan(est):
            raise NotComputable(f"{float(months):g} months is beyond the longest follow-up")
        return Reproduced(value=est, ci_lower=num(land["ci_lower"]),
                          ci_upper=num(land["ci_upper"]), n=len(tte),
                          method=f"{what}: probability free of {label} at {float(months):g} "
                                 "months, 95% CI (log)")
    est = num(s["estimate_months"])
    lo, hi = num(s["ci_lower_months"]), num(s["ci_upper_months"])
    notes = []
    if math.isnan(est):
        est, hi = math.inf, math.inf
        notes.append("median not reached")
    elif math.isnan(hi):
        hi = math.inf
    return Reproduced(value=est, ci_lower=lo, ci_upper=hi, n=len(tte), notes=notes,
                      method=f"{what}: median months, 95% CI (log)")

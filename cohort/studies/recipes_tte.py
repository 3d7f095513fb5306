"""Recipe of time-to-event targets other than insulin resumption: the time from day 0 to the
first adverse event of a term (death, a severe hypoglycaemia, a pneumonia...), with its own
event label, censored at last contact; Kaplan-Meier median (months, ``not reached`` when the
curve stays above 0.5) or the probability of being event-free ``months`` after day 0.

With ``competing`` (adverse-event terms, e.g. ``[death]``), a competing event that comes first
ends the subject's time at risk without the event: the target is then the Aalen-Johansen
cumulative incidence of the event by ``months``
(:func:`cohort.analysis.cumulative_incidence.cumulative_incidence`), not one minus a
Kaplan-Meier estimate that pretends the competing event was censoring.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from cohort.spec.targets import Target
from cohort.studies.base import NotComputable, Reproduced, num
from cohort.studies.context import MONTH_DAYS, StudyContext

__all__ = ["km_event"]


def _first_onset(ae: pd.DataFrame, terms: list[str], ids: pd.Series) -> np.ndarray:
    """Day of each subject's first adverse event of any of ``terms`` (NaN: none)."""
    wanted = {str(t).strip().casefold() for t in terms}
    hits = ae[ae["term"].astype(str).str.strip().str.casefold().isin(wanted)]
    onset = hits.groupby(hits["subject_id"].astype(str))["onset_day"].min()
    return ids.map(onset).astype(float).to_numpy()


def _terms(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _tte(ctx: StudyContext, target: Target) -> tuple[pd.DataFrame, str, int]:
    p = target.params
    label = str(p.get("label", p["term"]))
    ae = ctx.table("adverse_events", needed_for=f"the time to {label}")
    rows = ctx.select(arm=p.get("arm"), among=p.get("among"))
    ids = rows["subject_id"].astype(str)
    first = _first_onset(ae, _terms(p["term"]), ids)
    last = rows["last_contact_day"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    before = first < 0
    if before.any():
        ctx.notes.append(f"{int(before.sum())} subject(s) with {label} before day 0 left out")
    keep = ~before & ~np.isnan(last)
    event = ~np.isnan(first) & (first <= last)
    stop = np.where(event, first, last)
    reason = np.where(event, "", "last_contact").astype(object)
    if p.get("competing") is not None:
        other = _first_onset(ae, _terms(p["competing"]), ids)
        # a competing event strictly first ends the time at risk without the event
        comp = ~np.isnan(other) & (other >= 0) & (other <= last) & \
            (np.isnan(first) | (other < first) | ~event)
        event &= ~comp
        stop = np.where(comp, other, stop)
        reason = np.where(comp, "competing", reason)
    tte = pd.DataFrame({"subject_id": ids.to_numpy()[keep], "episode": 1, "start": 0.0,
                        "stop": stop[keep], "event": event[keep],
                        "censor_reason": reason[keep]})
    if tte.empty:
        raise NotComputable(f"no subject in scope for the time to {label}")
    return tte, label, int(event[keep].sum())


def km_event(ctx: StudyContext, target: Target) -> Reproduced:
    """Kaplan-Meier median time to the first event of a term, or event-free probability."""
    from cohort.analysis.kaplan_meier import kaplan_meier

    p = target.params
    tte, label, n_events = _tte(ctx, target)
    months = p.get("months")
    if p.get("competing") is not None:
        return _competing(tte, label, n_events, p)
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


def _competing(tte: pd.DataFrame, label: str, n_events: int, p: dict) -> Reproduced:
    """Aalen-Johansen cumulative incidence of the event by ``months``, competing terms first."""
    from cohort.analysis.cumulative_incidence import cumulative_incidence

    if p.get("months") is None:
        raise NotComputable("with competing events the target is the cumulative incidence "
                            "by a time: give months")
    months = float(p["months"])
    status = np.where(tte["event"].to_numpy(dtype=bool), 1,
                      np.where(tte["censor_reason"].to_numpy() == "competing", 2, 0))
    row = cumulative_incidence(tte["stop"].to_numpy(dtype=float), status,
                               times=[months * MONTH_DAYS]).iloc[0]
    n_comp = int((status == 2).sum())
    return Reproduced(
        value=num(row["estimate"]), ci_lower=num(row["ci_lower"]), ci_upper=num(row["ci_upper"]),
        n=len(tte),
        method=f"Aalen-Johansen cumulative incidence of {label} by {months:g} months from day "
               f"0, {', '.join(_terms(p['competing']))} competing ({n_events} events, {n_comp} "
               f"competing first, {len(tte) - n_events - n_comp} censored at last contact, of "
               f"{len(tte)} subjects); 95% CI (log), infinitesimal-jackknife SE as R survfit")

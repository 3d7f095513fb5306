"""Insulin and glucose-lowering drug outcomes (internal steps of :mod:`cohort.synth.generate`):
insulin-free episodes, dose reductions, and the insulin dose records they imply.
"""

from __future__ import annotations

import numpy as np

from cohort.spec.vocabulary import DAYS_PER_MONTH
from cohort.synth.draw import pick_by_score, sample, scale_count
from cohort.synth.state import Episodes, SynthState

__all__ = ["apply_insulin_events", "generate_insulin_free", "generate_reduction"]


def _int_days(dist: object, n: int, rng: np.random.Generator, default: int) -> np.ndarray:
    if dist is None:
        return np.full(n, default, dtype=np.int64)
    return np.round(sample(dist, rng.standard_normal(n))).astype(np.int64)


def generate_insulin_free(st: SynthState) -> None:
    """Insulin-free episodes from the templates; adjusts last contact for censored ones."""
    assert st.last_contact is not None
    status = np.full(st.n, "never", dtype=object)
    for i, model in enumerate(st.spec.outcomes.insulin_free):
        members = st.members(model.arm)
        idx = members[st.mask(model.among)[members]]
        k = scale_count(len(model.episodes), st.published_n(model.arm), members.size)
        k = min(k, idx.size)
        if k == 0:
            continue
        rng = st.rng("insulin-free", i)
        score = st.score(model.select, idx) + rng.logistic(size=idx.size)
        chosen = idx[np.argsort(-score, kind="stable")[:k]]
        template_of = rng.permutation(k) % len(model.episodes)
        for t, template in enumerate(model.episodes):
            subj = chosen[template_of == t]
            if subj.size == 0:
                continue
            trng = st.rng("insulin-free", i, t)
            start = np.maximum(_int_days(template.start_day, subj.size, trng, 30), 1)
            status[subj] = "continuous" if template.censored else "resumed"
            episode, cur = template, start
            while episode is not None:
                dose = sample(model.resumed_dose, trng.standard_normal(subj.size))
                dose = np.round(np.maximum(dose, 0.05), 2)
                if episode.censored:
                    if episode.months is not None:
                        st.last_contact[subj] = cur + round(episode.months * DAYS_PER_MONTH)
                    st.last_contact[subj] = np.maximum(st.last_contact[subj], cur + 1)
                    end = np.full(subj.size, -1, dtype=np.int64)
                else:
                    assert episode.months is not None
                    end = cur + round(episode.months * DAYS_PER_MONTH)
                    st.last_contact[subj] = np.maximum(st.last_contact[subj], end)
                st.episodes.append(Episodes(subj.copy(), cur.copy(), end, dose,
                                            np.full(subj.size, model.record_changes)))
                nxt = episode.again
                if nxt is not None:
                    assert nxt.gap_months is not None
                    cur = end + round(nxt.gap_months * DAYS_PER_MONTH)
                episode = nxt
    st.cols["insulin_free"] = status


def generate_reduction(st: SynthState) -> None:
    """Who lowers a glucose-lowering drug dose, from which day and by how much."""
    assert st.last_contact is not None
    day = np.full(st.n, np.nan)
    frac = np.full(st.n, np.nan)
    meds = st.spec.outcomes.medications
    red = meds.reduction if meds is not None else None
    if red is not None:
        rng = st.rng("reduction")
        noise = rng.logistic(size=st.n)
        for key, idx in st.groups(red.counts).items():
            k = scale_count(int(red.counts[key]), st.published_n(key), idx.size)
            chosen = idx[pick_by_score(st.score(red.select, idx) + noise[idx], min(k, idx.size))]
            d = np.round(sample(red.day, rng.standard_normal(chosen.size)))
            day[chosen] = np.clip(d, 1, st.last_contact[chosen])
            frac[chosen] = np.clip(sample(red.fraction, rng.standard_normal(chosen.size)),
                                   0.0, 1.0)
    st.reduction_day = day
    st.reduction_fraction = frac
    st.cols["reduction"] = ~np.isnan(day)


def apply_insulin_events(st: SynthState) -> None:
    """Insulin doses: reductions, zero while insulin-free, the resumed dose afterwards, and
    records on the days insulin stops and restarts."""
    if "INSULIN_DOSE" not in st.values:
        return
    vals = st.values["INSULIN_DOSE"]
    if st.reduction_day is not None:
        _reduction_records(st, vals)
        for visit, v in vals.items():
            day = st.visit_day[visit]
            hit = ~np.isnan(v) & (day >= st.reduction_day)
            v[hit] = np.maximum(np.round(v[hit] * (1 - st.reduction_fraction[hit]), 2), 0.01)
    if not st.episodes:
        return
    ep = _concat_episodes(st.episodes)
    order = np.argsort(ep.start, kind="stable")
    ep = Episodes(*(getattr(ep, f)[order] for f in ("subject", "start", "end", "resumed_dose",
                                                     "record_changes")))
    for visit, v in vals.items():
        day = st.visit_day[visit][ep.subject]
        has = ~np.isnan(v[ep.subject])
        after = has & (ep.end >= 0) & (day >= ep.end)
        v[ep.subject[after]] = ep.resumed_dose[after]
    for visit, v in vals.items():
        day = st.visit_day[visit][ep.subject]
        has = ~np.isnan(v[ep.subject])
        inside = has & (day >= ep.start) & ((ep.end < 0) | (day < ep.end))
        v[ep.subject[inside]] = 0.0
    _change_records(st, ep)


def _reduction_records(st: SynthState, vals: dict[str, np.ndarray]) -> None:
    """A record on the day an insulin user lowers the dose, so the new dose starts then."""
    assert st.reduction_day is not None and st.reduction_fraction is not None
    rday = st.reduction_day
    base = st.cols["INSULIN_DOSE"]
    users = np.flatnonzero(~np.isnan(rday) & ~np.isnan(base))
    if users.size == 0:
        return
    before = base[users].copy()
    best = np.full(users.size, -np.inf)
    clash = np.zeros(users.size, dtype=bool)
    for visit, v in vals.items():
        day = st.visit_day[visit][users]
        has = ~np.isnan(v[users]) & ~np.isnan(day)
        later = has & (day < rday[users]) & (day > best)
        before[later] = v[users][later]
        best[later] = day[later]
        clash |= has & (day == rday[users])
    keep = ~clash
    if not keep.any():
        return
    subj = users[keep]
    value = np.maximum(np.round(before[keep] * (1 - st.reduction_fraction[subj]), 2), 0.01)
    st.extra_records.append({
        "subject": subj.astype(np.int64), "day": rday[subj].astype(np.int64),
        "param": np.full(subj.size, "INSULIN_DOSE", dtype=object), "value": value,
        "visit": np.full(subj.size, "dose reduced", dtype=object)})


def _concat_episodes(parts: list[Episodes]) -> Episodes:
    return Episodes(*(np.concatenate([getattr(p, f) for p in parts])
                      for f in ("subject", "start", "end", "resumed_dose", "record_changes")))


def _change_records(st: SynthState, ep: Episodes) -> None:
    assert st.last_contact is not None
    vals = st.values["INSULIN_DOSE"]
    taken: set[tuple[int, int]] = set()
    for visit, v in vals.items():
        idx = np.flatnonzero(~np.isnan(v))
        taken.update(zip(idx.tolist(), st.visit_day[visit][idx].astype(int).tolist(),
                         strict=True))
    taken.update((i, int(d)) for i, d in enumerate(st.visit_day[st.spec.visits.baseline.label]))
    subj, days, value, label = [], [], [], []
    for s, start, end, dose, rec in zip(ep.subject.tolist(), ep.start.tolist(),
                                        ep.end.tolist(), ep.resumed_dose.tolist(),
                                        ep.record_changes.tolist(), strict=True):
        if not rec:
            continue
        for d, val, lab in ((start, 0.0, "insulin stopped"), (end, dose, "insulin restarted")):
            if d < 0 or d > st.last_contact[s] or (s, d) in taken:
                continue
            taken.add((s, d))
            subj.append(s)
            days.append(d)
            value.append(val)
            label.append(lab)
    if subj:
        st.extra_records.append({
            "subject": np.asarray(subj, dtype=np.int64), "day": np.asarray(days, np.int64),
            "param": np.full(len(subj), "INSULIN_DOSE", dtype=object),
            "value": np.asarray(value, float), "visit": np.asarray(label, dtype=object)})

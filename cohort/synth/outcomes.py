"""Follow-up, visits and outcome models (internal steps of :mod:`cohort.synth.generate`).

Trajectories are generated per anchor visit and group with :func:`match_moments`, so means,
SDs and baseline slopes come out as specified while count constraints (exactly k subjects
below a threshold), remission rules and physiological bounds hold for every subject.
"""

from __future__ import annotations

import numpy as np

from cohort.errors import SpecError
from cohort.spec.model import FromHbA1c, Trajectory
from cohort.spec.vocabulary import DAYS_PER_MONTH, DEFAULT_BOUNDS
from cohort.synth.draw import pick_by_score, sample, scale_count
from cohort.synth.moments import (
    MomentMatchError,
    clip_inside,
    match_moments,
    round_keeping_mean,
)
from cohort.synth.state import Episodes, SynthState

__all__ = [
    "apply_insulin_events",
    "finalise_visits",
    "generate_adverse_events",
    "generate_follow_up",
    "generate_glucose",
    "generate_insulin_free",
    "generate_reduction",
    "generate_remission",
    "generate_trajectory",
]

FINAL_GAP_DAYS = 30
"""A grid visit closer than this to the final visit (last contact) is not held."""


def _visit_labels(st: SynthState) -> list[str]:
    vis = st.spec.visits
    return [v.label for v in vis.post_baseline()] + ([vis.final] if vis.final else [])


# ---------------------------------------------------------------------------------------------
# follow-up and visits


def generate_follow_up(st: SynthState) -> None:
    """Visit days (with jitter) and each subject's last contact day."""
    spec = st.spec
    vis = spec.visits
    rng = st.rng("visits")
    j = vis.jitter_days
    base = np.full(st.n, float(vis.baseline.day))
    if vis.baseline.day < 0 and j:
        base += rng.integers(-j, min(j, -vis.baseline.day) + 1, st.n)
    st.visit_day[vis.baseline.label] = base
    nominal: dict[str, np.ndarray] = {}
    for v in vis.post_baseline():
        jitter = rng.integers(-j, j + 1, st.n) if j else 0
        nominal[v.label] = np.asarray(v.day + jitter, dtype=float) * np.ones(st.n)
    fu = spec.design.follow_up
    frng = st.rng("follow-up")
    if fu.after_last_visit is not None:
        last_sched = [nominal[v.label] for v in vis.schedule]
        last = (last_sched[-1] if last_sched else base) + fu.after_last_visit
    else:
        dist = fu.days if fu.days is not None else fu.months
        draw = sample(dist, frng.standard_normal(st.n), exact=st.exact)
        last = np.round(draw if fu.days is not None else draw * DAYS_PER_MONTH)
    last_inf = np.zeros(st.n)
    for arm_name, days in st.infusion_days.items():
        idx = st.members(arm_name)
        last_inf[idx] = days.max(axis=1)
    last = np.maximum(np.maximum(last, last_inf), 1)
    st.last_contact = last.astype(np.int64)
    st.visit_day.update(nominal)


def finalise_visits(st: SynthState) -> None:
    """Drop visits after last contact; place the final visit on the last contact day."""
    assert st.last_contact is not None
    vis = st.spec.visits
    last = st.last_contact.astype(float)
    for v in vis.post_baseline():
        d = st.visit_day[v.label]
        limit = last - FINAL_GAP_DAYS if vis.final else last
        st.visit_day[v.label] = np.where(d <= limit, d, np.nan)
    if vis.final:
        st.visit_day[vis.final] = last.copy()
    st.cols["follow_up_months"] = last / DAYS_PER_MONTH


# ---------------------------------------------------------------------------------------------
# remission, insulin independence, medication reductions


def generate_remission(st: SynthState) -> None:
    """Who remits (exact counts per group key) and which C-peptide carries each rise."""
    rem = st.spec.outcomes.remission
    flags = np.zeros(st.n, dtype=bool)
    rise = np.full(st.n, None, dtype=object)
    if rem is not None:
        rng = st.rng("remission")
        noise = rng.logistic(size=st.n)
        for key, idx in st.groups(rem.counts).items():
            k = scale_count(int(rem.counts[key]), st.published_n(key), idx.size)
            s = st.score(rem.predictors, idx) + noise[idx]
            flags[idx] = pick_by_score(s, min(k, idx.size))
        params = np.asarray(rem.params, dtype=object)
        rise = params[rng.integers(0, params.size, st.n)]
    st.cols["remission"] = flags
    st.cols["_rise_param"] = rise


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


# ---------------------------------------------------------------------------------------------
# trajectories


def _value_bounds(bounds: object, param: str) -> tuple[float, float]:
    lo, hi = DEFAULT_BOUNDS.get(param, (-np.inf, np.inf))
    if bounds is not None and bounds.low is not None:
        lo = max(lo, float(bounds.low))
    if bounds is not None and bounds.high is not None:
        hi = min(hi, float(bounds.high))
    return lo, hi


def _spread(t: Trajectory, visit: str, key: str) -> float:
    table = t.sd if t.sd is not None else t.residual_sd
    assert table is not None
    entry = table.get(visit, table.get("all"))
    if entry is None:
        raise SpecError(f"no sd for visit {visit!r}")
    if isinstance(entry, dict):
        for k in (key, key.partition("/")[0], "all"):
            if k in entry:
                return float(entry[k])
        raise SpecError(f"sd at {visit!r} has no entry for {key!r}")
    return float(entry)


def _to_value(c: np.ndarray, b: np.ndarray, t: Trajectory) -> np.ndarray:
    if t.level is not None:
        return c
    return b + c if t.scale == "absolute" else b * (1 + c / 100)


def _to_change(y: np.ndarray, b: np.ndarray, t: Trajectory) -> np.ndarray:
    if t.level is not None:
        return y
    if t.scale == "absolute":
        return y - b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, 100 * (y / b - 1), np.where(y >= 0, np.inf, -np.inf))


def _shifts(st: SynthState, t: Trajectory, visit: str) -> np.ndarray:
    out = np.zeros(st.n)
    for m in t.modifiers:
        if visit in m.shift:
            out += float(m.shift[visit]) * (st.mask(m.when) & st.in_keys(m.arms))
    return out


def _apply_constraints(st: SynthState, t: Trajectory, param: str, visit: str,
                       attended: np.ndarray, y0: np.ndarray, lo: np.ndarray,
                       hi: np.ndarray) -> None:
    step = 10.0 ** -t.decimals
    for c in t.constraints:
        if c.visit != visit:
            continue
        members = st.members(c.arm)
        group = members[attended[members]]
        among = group[st.mask(c.among)[group]]
        if c.count is not None:
            assert c.below is not None
            k = scale_count(int(c.count), st.published_n(c.arm), members.size)
            k = min(k, among.size)
            chosen = among[np.argsort(y0[among], kind="stable")[:k]]
            rest = np.setdiff1d(group, chosen, assume_unique=True)
            hi[chosen] = np.minimum(hi[chosen], c.below - step)
            lo[rest] = np.maximum(lo[rest], c.below)
        elif c.below is not None:
            hi[among] = np.minimum(hi[among], c.below - step)
        else:
            assert c.at_least is not None
            lo[among] = np.maximum(lo[among], c.at_least)
    rem = st.spec.outcomes.remission
    if rem is not None and visit == rem.visit and param in rem.params:
        b = st.cols[param]
        remit = st.cols["remission"] & attended
        carries = remit & (st.cols["_rise_param"] == param)
        others = attended & ~st.cols["remission"]
        lo[carries] = np.maximum(lo[carries], b[carries] * (1 + (rem.rise_pct + rem.margin_pct)
                                                            / 100))
        hi[others] = np.minimum(hi[others], b[others] * (1 + (rem.rise_pct - rem.margin_pct)
                                                         / 100))
    clash = lo > hi
    if clash.any():
        st.note(f"{param} at {visit}: {int(clash.sum())} subject(s) had constraints that "
                "conflict with the bounds; the constraint was kept")
        lo[clash] = hi[clash]


def generate_trajectory(st: SynthState, param: str, t: Trajectory) -> None:
    """Values of ``param`` at every measured post-baseline visit."""
    base = st.cols[param]
    applies = ~np.isnan(base) & st.mask(t.among)
    labels = _visit_labels(st)
    measured = t.measured_at or labels
    anchor_set = set(t.anchor_visits())
    anchors = [v for v in labels if v in anchor_set]
    rng = st.rng("trajectory", param)
    k = len(anchors)
    lags = np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
    chol = np.linalg.cholesky(t.visit_correlation ** lags) if k else np.zeros((0, 0))
    scores = np.einsum("ij,kj->ik", rng.standard_normal((st.n, k)), chol)
    inset = rng.uniform(0.05, 0.95, (st.n, k))
    y_lo, y_hi = _value_bounds(t.bounds, param)
    slope = float(t.baseline_slope) if t.baseline_slope is not None else 0.0
    amap = t.anchors()
    out: dict[str, np.ndarray] = {}
    for j, visit in enumerate(anchors):
        attended = applies & ~np.isnan(st.visit_day[visit])
        keys = [key for key in amap if visit in amap[key]]
        groups = {key: idx[attended[idx]] for key, idx in st.groups(keys).items()}
        groups = {key: idx for key, idx in groups.items() if idx.size}
        vals = np.full(st.n, np.nan)
        if not groups:
            out[visit] = vals
            continue
        pooled = float(base[np.concatenate(list(groups.values()))].mean())
        shifts = _shifts(st, t, visit)
        c0 = np.full(st.n, np.nan)
        targets: dict[str, tuple[float, float]] = {}
        for key, idx in groups.items():
            b = base[idx]
            m = float(amap[key][visit])
            if t.change is not None and slope:
                m += slope * (b.mean() - pooled)  # the spec gives the mean at the pooled baseline
            s = _spread(t, visit, key)
            c0[idx] = m + shifts[idx] + slope * (b - b.mean()) + s * scores[idx, j]
            if t.sd_around == "subgroups" and idx.size > 1:
                # the SD is the spread around the modifiers' subgroup means: the matched SD
                # adds the spread of the shifts, so the effect modification is not diluted
                s = float(np.sqrt(s ** 2 + shifts[idx].var(ddof=1)))
            targets[key] = (m, s)
        y0 = _to_value(c0, base, t)
        lo = np.full(st.n, y_lo)
        hi = np.full(st.n, y_hi)
        _apply_constraints(st, t, param, visit, attended, y0, lo, hi)
        c_lo, c_hi = _to_change(lo, base, t), _to_change(hi, base, t)
        for key, idx in groups.items():
            m, s = targets[key]
            c = _fit_change(st, t, param, visit, key, c0[idx], m, s, base[idx], c_lo[idx],
                            c_hi[idx], inset[idx, j])
            keep = None
            if t.exact and t.scale == "absolute":
                keep = m if t.level is not None else float(base[idx].mean()) + m
            vals[idx] = round_keeping_mean(_to_value(c, base[idx], t), t.decimals, lo[idx],
                                           hi[idx], keep)
        out[visit] = vals
    _interpolate(st, t, param, base, applies, measured, anchors, out, (y_lo, y_hi), rng)
    st.values[param] = {v: out[v] for v in labels if v in out}


def _fit_change(st: SynthState, t: Trajectory, param: str, visit: str, key: str,
                c0: np.ndarray, m: float, s: float, b: np.ndarray, lo: np.ndarray,
                hi: np.ndarray, inset: np.ndarray) -> np.ndarray:
    slope = float(t.baseline_slope) if t.baseline_slope is not None else 0.0
    needs = 4 if slope else 3
    if t.exact and c0.size >= needs:
        try:
            return match_moments(c0, m, s, lower=lo, upper=hi,
                                 covariate=b if slope else None, slope=slope,
                                 residual=t.residual_sd is not None, inset=inset)
        except MomentMatchError as exc:
            st.note(f"{param} at {visit} ({key}): exact mean/SD not reachable at "
                    f"n={c0.size} ({exc}); values drawn and kept inside bounds instead")
    return clip_inside(c0, lo, hi, inset, 0.25 * max(s, 1e-6))


def _interpolate(st: SynthState, t: Trajectory, param: str, base: np.ndarray,
                 applies: np.ndarray, measured: list[str], anchors: list[str],
                 out: dict[str, np.ndarray], bounds: tuple[float, float],
                 rng: np.random.Generator) -> None:
    """Fill measured visits without a modelled value by interpolating in time."""
    base_day = st.visit_day[st.spec.visits.baseline.label]
    cols_t = [base_day] + [np.where(np.isnan(out[a]), np.nan, st.visit_day[a])
                           for a in anchors]
    cols_y = [base] + [out[a] for a in anchors]
    tt = np.column_stack(cols_t)
    yy = np.column_stack(cols_y)
    valid = ~np.isnan(tt) & ~np.isnan(yy)
    for visit in measured:
        day = st.visit_day[visit]
        todo = applies & ~np.isnan(day)
        if visit in out:
            todo &= np.isnan(out[visit])
        if not todo.any():
            continue
        d = day[:, None]
        prev_t = np.where(valid & (tt <= d), tt, -np.inf)
        next_t = np.where(valid & (tt > d), tt, np.inf)
        kp = np.argmax(prev_t, axis=1)
        kn = np.argmin(next_t, axis=1)
        rows = np.arange(st.n)
        tp, yp = tt[rows, kp], yy[rows, kp]
        tn, yn = tt[rows, kn], yy[rows, kn]
        has_next = np.isfinite(next_t[rows, kn])
        with np.errstate(invalid="ignore", divide="ignore"):
            y = np.where(has_next, yp + (yn - yp) * (day - tp) / (tn - tp), yp)
        noise = rng.standard_normal(st.n) * t.interpolation_sd
        y = y + (noise * base / 100 if t.scale == "percent" and t.level is None else noise)
        y = np.clip(y, bounds[0], bounds[1])
        vals = out.get(visit, np.full(st.n, np.nan)).copy()
        vals[todo] = np.round(y[todo], t.decimals)
        out[visit] = vals


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


def generate_glucose(st: SynthState, param: str, g: FromHbA1c) -> None:
    """Glucose (mmol/L) from HbA1c by the ADAG relation plus noise, at baseline and visits."""
    rng = st.rng("glucose", param)
    lo, hi = _value_bounds(g.bounds, param)

    def from_a1c(a1c: np.ndarray) -> np.ndarray:
        eag = (28.7 * a1c - 46.7) / 18.016
        y = eag + g.offset + g.sd * rng.standard_normal(a1c.size)
        return np.round(np.clip(y, lo, hi), g.decimals)

    if param not in st.spec.baseline.variables:
        st.cols[param] = from_a1c(st.cols["HBA1C"])
    labels = g.measured_at or list(st.values.get("HBA1C", {}))
    st.values[param] = {v: from_a1c(st.values["HBA1C"][v]) for v in labels
                        if v in st.values.get("HBA1C", {})}


# ---------------------------------------------------------------------------------------------
# adverse events


def generate_adverse_events(st: SynthState) -> dict[str, np.ndarray]:
    """One record per subject and event term (exact counts per group key)."""
    assert st.last_contact is not None
    parts: list[dict[str, np.ndarray]] = []
    for i, ae in enumerate(st.spec.outcomes.adverse_events):
        rng = st.rng("adverse-event", i)
        for key, idx in st.groups(ae.counts).items():
            k = min(scale_count(int(ae.counts[key]), st.published_n(key), idx.size), idx.size)
            if k == 0:
                continue
            chosen = np.sort(rng.choice(idx, size=k, replace=False))
            onset = np.round(sample(ae.onset_day, rng.standard_normal(k))).astype(np.int64)
            onset = np.minimum(onset, st.last_contact[chosen])
            if isinstance(ae.severity, str):
                severity = np.full(k, ae.severity, dtype=object)
            else:
                from cohort.synth.draw import allocate

                severity = allocate({s: float(p) for s, p in ae.severity.items()}, k, rng)
            parts.append({"subject": chosen, "term": np.full(k, ae.term, dtype=object),
                          "onset_day": onset, "severity": severity,
                          "serious": np.full(k, ae.serious), "related": np.full(k, ae.related)})
    if not parts:
        return {}
    return {f: np.concatenate([p[f] for p in parts]) for f in parts[0]}

"""Continuous measurements after baseline (internal steps of :mod:`cohort.synth.generate`):
parameter trajectories, and glucose from HbA1c.

Trajectories are generated per anchor visit and group with :func:`match_moments`, so means,
SDs and baseline slopes come out as specified while count constraints (exactly k subjects
below a threshold), remission rules and physiological bounds hold for every subject.
"""

from __future__ import annotations

import numpy as np

from cohort.errors import SpecError
from cohort.spec.model import FromHbA1c, Trajectory
from cohort.spec.vocabulary import DEFAULT_BOUNDS
from cohort.synth.draw import scale_count
from cohort.synth.moments import (
    MomentMatchError,
    clip_inside,
    match_moments,
    round_keeping_mean,
)
from cohort.synth.state import SynthState
from cohort.synth.visits import visit_labels

__all__ = ["generate_glucose", "generate_trajectory"]


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
    labels = visit_labels(st)
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

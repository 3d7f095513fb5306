"""Follow-up and visits (internal steps of :mod:`cohort.synth.generate`): visit days with
jitter, each subject's last contact, and the final visit on the last contact day.
"""

from __future__ import annotations

import numpy as np

from cohort.spec.vocabulary import DAYS_PER_MONTH
from cohort.synth.draw import sample
from cohort.synth.state import SynthState

__all__ = ["finalise_visits", "generate_follow_up", "visit_labels"]


FINAL_GAP_DAYS = 30
"""A grid visit closer than this to the final visit (last contact) is not held."""


def visit_labels(st: SynthState) -> list[str]:
    """Labels of the post-baseline visits, then of the final visit (if any)."""
    vis = st.spec.visits
    return [v.label for v in vis.post_baseline()] + ([vis.final] if vis.final else [])


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

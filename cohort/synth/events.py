"""Per-subject events drawn with exact counts per group key (internal steps of
:mod:`cohort.synth.generate`): who remits (and which C-peptide carries each rise), and adverse
events.
"""

from __future__ import annotations

import numpy as np

from cohort.synth.draw import pick_by_score, sample, scale_count
from cohort.synth.state import SynthState

__all__ = ["generate_adverse_events", "generate_remission"]


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

"""Invariants of the survival estimates for any generated episode table or cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort.analysis.survival import at_risk_table, kaplan_meier
from cohort.analysis.time_to_event import tte_from_episodes
from cohort.derive.insulin import insulin_episodes
from cohort.derive.insulin_rule import IndependenceRule

SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tte_tables(draw, delayed: bool):
    n = draw(st.integers(1, 25))
    # integer days, many ties on purpose (visits)
    stop = draw(st.lists(st.integers(0, 60).map(lambda v: float(v * 30)), min_size=n,
                         max_size=n))
    event = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    group = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    if delayed:
        frac = draw(st.lists(st.floats(0, 0.9), min_size=n, max_size=n))
        start = [float(np.floor(s * f)) for s, f in zip(stop, frac, strict=True)]
        # a delayed row must end after its entry
        stop = [max(s, st_ + 1.0) if st_ > 0 else s for s, st_ in zip(stop, start,
                                                                       strict=True)]
    else:
        start = [0.0] * n
    return pd.DataFrame({"subject_id": [f"S{i}" for i in range(n)], "start": start,
                         "stop": stop, "event": event, "group": group})


def check_curve(km) -> None:
    for _, c in km.curve.groupby("group"):
        s = c["estimate"].to_numpy()
        assert np.all((s >= 0) & (s <= 1))
        assert np.all(np.diff(s) <= 1e-15)
        lo, hi = c["ci_lower"].to_numpy(), c["ci_upper"].to_numpy()
        ok = ~np.isnan(lo)
        assert np.all((lo[ok] >= 0) & (lo[ok] <= s[ok] + 1e-15))
        assert np.all((hi[ok] <= 1) & (hi[ok] >= s[ok] - 1e-15))
        assert np.all(c["n_risk"].to_numpy() >= c["n_event"].to_numpy())
    for r in km.summary.itertuples():
        assert r.n == r.n_events + r.n_censored
        if not np.isnan(r.estimate):
            times = km.curve.loc[km.curve["group"] == r.group, "time"]
            assert times.min() <= r.estimate <= times.max()
            if not np.isnan(r.ci_lower):
                assert r.ci_lower <= r.estimate
            if not np.isnan(r.ci_upper):
                assert r.estimate <= r.ci_upper
    land = km.landmarks.dropna(subset=["estimate"])
    assert land["estimate"].between(0, 1).all()


@SETTINGS
@given(tte_tables(delayed=False))
def test_km_right_censored_invariants(tte):
    km = kaplan_meier(tte, group="group", landmarks_months=(1, 6, 12, 24))
    check_curve(km)
    for _, risk in km.at_risk.groupby("group"):
        assert np.all(np.diff(risk["n_risk"].to_numpy()) <= 0)
        assert risk["n_risk"].iloc[0] == (tte["group"] == risk["group"].iloc[0]).sum()
    # the at-risk table at the curve's own times is the curve's risk set
    table = at_risk_table(tte, km.curve["time"].unique(), group="group")
    merged = km.curve.merge(table, on=["group", "time"], suffixes=("", "_t"))
    np.testing.assert_array_equal(merged["n_risk"], merged["n_risk_t"])
    # every row leaves the table exactly once
    assert km.at_risk.groupby("group")[["n_event", "n_censor"]].sum().sum(axis=1).le(
        tte.groupby("group").size()).all()


@SETTINGS
@given(tte_tables(delayed=True))
def test_km_delayed_entry_invariants(tte):
    km = kaplan_meier(tte, group="group", landmarks_months=(1, 6, 12))
    check_curve(km)


@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 8))
    rows, last = [], {}
    for i in range(n):
        k = draw(st.integers(0, 10))
        days = sorted(draw(st.sets(st.integers(1, 1500), min_size=k, max_size=k)))
        for d in days:
            rows.append({"subject_id": f"S{i}", "day": d, "param": "INSULIN_DOSE",
                         "value": draw(st.sampled_from([0.0, 0.0, 0.0, 0.3]))})
        last[f"S{i}"] = (max(days) if days else 0) + draw(st.integers(0, 300))
    meas = pd.DataFrame(rows, columns=["subject_id", "day", "param", "value"])
    subjects = pd.DataFrame({"subject_id": list(last), "last_contact_day": list(last.values()),
                             "arm": [draw(st.sampled_from(["MSC", "control"])) for _ in last]})
    return meas, subjects, draw(st.integers(1, 3)), draw(st.sampled_from(["first", "all"]))


@SETTINGS
@given(cohorts())
def test_any_generated_cohort_gives_valid_times_and_curves(case):
    meas, subjects, min_records, which = case
    res = insulin_episodes(meas, subjects, rule=IndependenceRule(min_records=min_records))
    if res.episodes.empty:
        return
    for origin in ("insulin-stop", "first-infusion"):
        tte = tte_from_episodes(res.episodes, subjects, origin=origin, which=which,
                                columns=["arm"])
        assert (tte["stop"] - tte["start"] >= 0).all()
        assert (tte["start"] >= 0).all()
        if (tte["start"] > 0).any() and ((tte["start"] > 0) & (tte["stop"] == tte["start"])).all():
            continue  # nobody is ever at risk: kaplan_meier says so (tested elsewhere)
        km = kaplan_meier(tte, group="arm")
        check_curve(km)


def _pairs(start, stop, event, score):
    """Concordance counts by the pairwise definition (R's concordance, reverse = TRUE); a row
    with start 0 is at risk from the origin, time 0 included."""
    conc = disc = tx = ty = txy = 0
    entry = np.where(start > 0, start, -np.inf)
    for i in np.flatnonzero(event):
        for j in range(len(stop)):
            if j == i or not (entry[j] < stop[i] <= stop[j]):
                continue
            if event[j] and stop[j] == stop[i]:
                if j < i:
                    txy, ty = (txy + 1, ty) if score[i] == score[j] else (txy, ty + 1)
                continue
            conc += score[i] > score[j]
            disc += score[i] < score[j]
            tx += score[i] == score[j]
    return conc, disc, tx, ty, txy


@SETTINGS
@given(tte=tte_tables(delayed=True), scores=st.lists(st.integers(0, 5), min_size=25,
                                                      max_size=25))
def test_concordance_equals_the_pairwise_definition(tte, scores):
    from cohort.analysis.survival import concordance

    start, stop = tte["start"].to_numpy(), tte["stop"].to_numpy()
    event = tte["event"].to_numpy(dtype=bool)
    score = np.asarray(scores[:len(tte)], dtype=float)
    c = concordance(start, stop, event, score)
    assert (c.concordant, c.discordant, c.tied_x, c.tied_y, c.tied_xy) == _pairs(
        start, stop, event, score)
    assert np.isnan(c.c_index) or 0 <= c.c_index <= 1


@SETTINGS
@given(tte=tte_tables(delayed=True), xs=st.lists(st.floats(-2, 2), min_size=25, max_size=25))
def test_cox_score_residuals_sum_to_the_score(tte, xs):
    # the robust variance rests on the score residuals: per row, summing to the score vector
    from cohort.analysis.cox_fit import RiskSets, _evaluate, score_residuals

    start, stop = tte["start"].to_numpy(), tte["stop"].to_numpy()
    event = tte["event"].to_numpy(dtype=bool)
    if not event.any():
        return
    x = np.column_stack([np.asarray(xs[:len(tte)]), (tte["group"] == "a").to_numpy(float)])
    rs = RiskSets.build(start, stop, event)
    beta = np.array([0.3, -0.2])
    resid = score_residuals(rs, x, beta)
    np.testing.assert_allclose(resid.sum(0), _evaluate(rs, x, beta).score, atol=1e-9)

"""Baseline, visit windows and change from baseline (cohort.derive: baseline, visit_windows,
visit_values, change, universe)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cohort
from cohort.derive.baseline import baseline_values
from cohort.derive.change import change_from_baseline
from cohort.derive.universe import split_exclusions
from cohort.derive.visit_values import last_followup, values_at_visits
from cohort.derive.visit_windows import Visit, make_visits
from cohort.errors import AnalysisError


def meas(rows):
    return pd.DataFrame(rows, columns=["subject_id", "day", "param", "value"])


@pytest.fixture(scope="module")
def example():
    from pathlib import Path
    return cohort.load_cohort(Path(__file__).parent / "data" / "example")


def test_example_change_at_visits(example):
    visits = make_visits([90, 180, 365], labels=["month 3", "month 6", "month 12"])
    out = change_from_baseline(example.measurements, "HBA1C", visits, subjects=example.subjects)
    assert len(out) == 6 * 3 and out["reason"].isna().all()
    s01 = out[out.subject_id == "S01"].set_index("visit")
    # S01: baseline 7.8 on day -7; 7.1 at day 90, 6.9 at day 180, 7.0 at day 358
    assert s01.loc["month 3", "baseline"] == 7.8 and s01.loc["month 3", "baseline_day"] == -7
    assert s01.loc["month 12", "day"] == 358
    np.testing.assert_allclose(s01["change"], [7.1 - 7.8, 6.9 - 7.8, 7.0 - 7.8], rtol=1e-12)
    np.testing.assert_allclose(s01["pct_change"],
                               100 * np.array([-0.7, -0.9, -0.8]) / 7.8, rtol=1e-12)
    # S02 was given in mmol/mol: 68 -> 68/10.929 + 2.15 %
    s02 = out[(out.subject_id == "S02") & (out.visit == "month 12")].iloc[0]
    assert s02["baseline"] == pytest.approx(68 / 10.929 + 2.15, rel=1e-12)
    assert s02["change"] == pytest.approx((63 - 68) / 10.929, rel=1e-9)


def test_missing_visit_values_are_counted_not_dropped(example):
    visits = make_visits([90])
    out = change_from_baseline(example.measurements, "FPG", visits, subjects=example.subjects)
    usable, excl = split_exclusions(out)
    assert usable.empty and len(excl) == 6
    assert excl["reason"].iloc[0] == "no FPG in days [76, 104] of visit 'day 90'"


def test_subject_without_any_value_is_reported():
    m = meas([("A", -3, "HBA1C", 8.0), ("A", 84, "HBA1C", 7.5), ("B", 84, "HBA1C", 7.0),
              ("C", -1, "FPG", 9.0)])
    out = change_from_baseline(m, "HBA1C", make_visits([84]), subjects=["A", "B", "C", "D"])
    reasons = out.set_index("subject_id")["reason"]
    assert pd.isna(reasons["A"])
    assert reasons["B"] == "no baseline HBA1C in days [-90, 0]"
    assert reasons["C"] == reasons["D"] == "no baseline HBA1C in days [-90, 0]"


def test_baseline_is_last_on_or_before_day0_in_window():
    m = meas([("A", -200, "HBA1C", 9.9), ("A", -30, "HBA1C", 8.1), ("A", 0, "HBA1C", 8.0),
              ("A", 1, "HBA1C", 7.0), ("B", -120, "HBA1C", 8.8)])
    b = baseline_values(m, "HBA1C").set_index("subject_id")
    assert b.loc["A", "baseline"] == 8.0 and b.loc["A", "baseline_day"] == 0
    assert np.isnan(b.loc["B", "baseline"]) and b.loc["B", "reason"].startswith("no baseline")
    b = baseline_values(m, "HBA1C", window=(-365, -1)).set_index("subject_id")
    assert b.loc["A", "baseline"] == 8.1 and b.loc["B", "baseline"] == 8.8
    with pytest.raises(AnalysisError, match="ends after day 0"):
        baseline_values(m, "HBA1C", window=(-10, 5))
    with pytest.raises(AnalysisError, match="is empty"):
        baseline_values(m, "HBA1C", window=(-1, -10))


def test_nearest_rule_and_ties():
    m = meas([("A", 79, "HBA1C", 1.0), ("A", 88, "HBA1C", 2.0), ("A", 84 + 10, "HBA1C", 3.0),
              ("B", 82, "HBA1C", 4.0), ("B", 86, "HBA1C", 5.0)])
    v = Visit("week 12", 84, 70, 98)
    near = values_at_visits(m, "HBA1C", v).set_index("subject_id")
    assert near.loc["A", "value"] == 2.0
    assert near.loc["B", "value"] == 4.0  # equally near: the earlier
    last = values_at_visits(m, "HBA1C", v, rule="last").set_index("subject_id")
    assert last.loc["A", "value"] == 3.0
    first = values_at_visits(m, "HBA1C", v, rule="first").set_index("subject_id")
    assert first.loc["A", "value"] == 1.0


def test_last_followup():
    m = meas([("A", -1, "HBA1C", 8.0), ("A", 300, "HBA1C", 7.0), ("A", 900, "HBA1C", 6.5),
              ("B", -1, "HBA1C", 8.5)])
    out = last_followup(m, "HBA1C").set_index("subject_id")
    assert out.loc["A", "day"] == 900 and out.loc["A", "visit"] == "last"
    assert out.loc["B", "reason"] == "no follow-up HBA1C in days >= 1"
    capped = last_followup(m, "HBA1C", max_day=365).set_index("subject_id")
    assert capped.loc["A", "value"] == 7.0
    both = change_from_baseline(m, "HBA1C", last=True)
    assert both.set_index("subject_id").loc["A", "change"] == pytest.approx(-1.5)


def test_zero_baseline_percent_change_is_explained():
    m = meas([("A", 0, "CPEP_FAST", 0.0), ("A", 365, "CPEP_FAST", 0.1)])
    out = change_from_baseline(m, "CPEP_FAST", make_visits([365]))
    row = out.iloc[0]
    assert row["change"] == pytest.approx(0.1) and pd.isna(row["reason"])
    assert np.isnan(row["pct_change"])
    assert row["pct_reason"] == "baseline is 0: percent change undefined"


def test_make_visits_windows():
    v = make_visits([7, 14, 56, 84])
    assert [x.window for x in v] == [(1, 10), (11, 21), (48, 64), (71, 97)]
    v = make_visits([84, 56], half_width=7, labels=["week 12", "week 8"])
    assert [(x.label, x.window) for x in v] == [("week 8", (49, 63)), ("week 12", (77, 91))]
    with pytest.raises(AnalysisError, match="visit windows overlap"):
        make_visits([56, 70], half_width=10)
    with pytest.raises(AnalysisError, match="before day 1"):
        make_visits([0, 84])
    with pytest.raises(AnalysisError, match="distinct"):
        make_visits([84, 84])
    with pytest.raises(AnalysisError, match="integer study days"):
        make_visits([84.5])
    with pytest.raises(AnalysisError, match="must contain the nominal day"):
        Visit("x", 84, 90, 100)


def test_bad_input_messages():
    m = meas([("A", -1, "HBA1C", 8.0)])
    with pytest.raises(AnalysisError, match=r"no CPEP_FAST measurements .*HBA1C"):
        baseline_values(m, "CPEP_FAST")
    with pytest.raises(AnalysisError, match="lacks column"):
        baseline_values(m.drop(columns="day"), "HBA1C")
    dup = meas([("A", -1, "HBA1C", 8.0), ("A", -1, "HBA1C", 8.1)])
    with pytest.raises(AnalysisError, match="duplicate HBA1C values"):
        baseline_values(dup, "HBA1C")
    with pytest.raises(AnalysisError, match="no visits given"):
        change_from_baseline(m, "HBA1C", [])


# ---------------------------------------------------------------- properties

rows = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.integers(-400, 500),
              st.floats(4.0, 14.0, allow_nan=False)),
    min_size=1, max_size=60, unique_by=lambda r: (r[0], r[1]))


@settings(max_examples=60, deadline=None)
@given(data=rows, lo=st.integers(-400, 0), width=st.integers(0, 400),
       days=st.lists(st.integers(1, 500), min_size=1, max_size=4, unique=True),
       half=st.none() | st.integers(0, 30))
def test_derivation_invariants(data, lo, width, days, half):
    m = meas([(s, d, "HBA1C", v) for s, d, v in data])
    window = (lo, min(0, lo + width))
    try:
        visits = make_visits(days, half_width=half)
    except AnalysisError as exc:
        assert "overlap" in str(exc)
        return
    out = change_from_baseline(m, "HBA1C", visits, baseline_window=window, last=True)
    subjects = sorted(m["subject_id"].unique())
    assert len(out) == len(subjects) * (len(visits) + 1)
    has_base = out["baseline"].notna()
    # baseline on or before day 0 and inside its window, and it is the last such value
    bd = out.loc[has_base, "baseline_day"].astype(int)
    assert ((bd <= 0) & (bd >= window[0]) & (bd <= window[1])).all()
    for sid, grp in m.groupby("subject_id"):
        eligible = grp[(grp.day >= window[0]) & (grp.day <= window[1])]
        got = out.loc[out.subject_id == sid, "baseline_day"].iloc[0]
        if eligible.empty:
            assert pd.isna(got)
        else:
            assert got == eligible.day.max()
    # visit values inside their window; follow-up after day 0
    for v in visits:
        sel = out[(out.visit == v.label) & out["day"].notna()]
        assert ((sel["day"] >= v.lower) & (sel["day"] <= v.upper)).all()
    # windows never overlap, so no measurement counts for two visits
    for a, b in itertools.pairwise(visits):
        assert a.upper < b.lower
    assert (out.loc[out["day"].notna(), "day"] >= 1).all()
    usable = out["reason"].isna()
    np.testing.assert_allclose(out.loc[usable, "change"],
                               out.loc[usable, "value"] - out.loc[usable, "baseline"])
    # every row is either usable or carries a reason; no silent NaN
    assert (usable == out["change"].notna()).all()
    np.testing.assert_allclose(out.loc[usable, "pct_change"],
                               100 * out.loc[usable, "change"] / out.loc[usable, "baseline"])

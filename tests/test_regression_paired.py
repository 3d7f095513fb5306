"""Paired before/after analysis against R's t.test(paired=TRUE) and wilcox.test(paired=TRUE).

Reference: tests/fixtures/regression/regression.R (datasets paired_exact: 12 distinct
differences, exact signed-rank p; paired_ties: 1-decimal values with two zero differences,
normal approximation; paired_large: n = 60, normal approximation; paired_all). Tolerance 1e-6
relative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_regression_data import FIX, measurement_rows, paired_cohort, r_value, subjects_frame

import cohort
from cohort.analysis.paired import paired_analysis, paired_stats, signed_rank_test
from cohort.errors import AnalysisError

RTOL = 1e-6
DATA = pd.read_csv(FIX / "paired_data.csv")


def close(a, b, rtol=RTOL):
    assert a == pytest.approx(b, rel=rtol, abs=1e-14)


@pytest.mark.parametrize("group", ["exact", "ties", "large", "all"])
def test_paired_stats_against_R(group):
    d = DATA if group == "all" else DATA[DATA.group == group]
    res = paired_stats(d.before, d.after)
    ds = f"paired_{group}"
    close(res["t"], r_value(ds, "t"))
    close(res["df"], r_value(ds, "df"))
    close(res["p"], r_value(ds, "p"))
    close(res["mean_change"], r_value(ds, "mean"))
    close(res["ci_lower"], r_value(ds, "lower"))
    close(res["ci_upper"], r_value(ds, "upper"))
    close(res["sd_change"], r_value(ds, "sd"))
    close(res["wilcoxon_v"], r_value(ds, "wilcox_v"))
    close(res["wilcoxon_p"], r_value(ds, "wilcox_p"))
    close(res["effect_size"], r_value(ds, "mean") / r_value(ds, "sd"))
    expected = {"exact": "exact", "ties": "normal approximation with continuity correction "
                "(zeros)", "large": "normal approximation with continuity correction"}
    if group in expected:
        assert res["wilcoxon_method"] == expected[group]


@pytest.mark.parametrize("group", ["exact", "ties", "large", "all"])
def test_digits_rank_against_R(group):
    d = DATA if group == "all" else DATA[DATA.group == group]
    res = signed_rank_test(d.after.to_numpy() - d.before.to_numpy(), digits_rank=7)
    ds = f"paired_{group}"
    close(res["statistic"], r_value(ds, "wilcox7_v"))
    close(res["p"], r_value(ds, "wilcox7_p"))


def test_floating_point_ties_follow_R():
    # 1-decimal HbA1c differences that look tied are not all tied in floating point (R ranks
    # them as computed); digits_rank=7 ties them, as R's digits.rank = 7 does
    before = np.array([7.5, 8.3, 9.0, 6.8, 7.7, 8.8, 7.2, 9.4])
    after = np.array([7.1, 7.9, 8.2, 6.1, 7.0, 8.1, 7.5, 8.3])
    raw = signed_rank_test(after - before)
    rounded = signed_rank_test(after - before, digits_rank=7)
    close(raw["p"], r_value("paired_floatties", "wilcox_p"))
    close(rounded["p"], r_value("paired_floatties", "wilcox7_p"))
    close(raw["statistic"], r_value("paired_floatties", "wilcox_v"))
    assert raw["p"] != pytest.approx(rounded["p"], rel=1e-3)


def test_cohort_level_by_group():
    c = paired_cohort()
    res = paired_analysis(c.measurements, c.subjects, visit_days=[365], by="site_id")
    s = res.summary.set_index("group")
    assert list(s.index) == ["all", "exact", "large", "ties"]
    for g in ("exact", "large", "all"):
        # (value - baseline) is the same subtraction as R's after - before
        assert s.loc[g, "t"] == pytest.approx(r_value(f"paired_{g}", "t"), rel=RTOL)
        assert s.loc[g, "wilcoxon_p"] == pytest.approx(r_value(f"paired_{g}", "wilcox_p"),
                                                       rel=RTOL)
    assert s.loc["exact", "n"] == 12 and s.loc["all", "n"] == 87
    assert (s["n_excluded"] == 0).all()


def test_last_followup_and_strata():
    # Matsuoka-like: variable follow-up, last value, strata by baseline HbA1c
    ids = [f"M{i}" for i in range(8)]
    base = [6.5, 7.0, 7.4, 7.9, 8.0, 8.6, 9.1, 5.9]
    last = [6.1, 6.6, 6.9, 7.2, 7.6, 7.0, 7.8, 5.8]
    days = [180, 400, 720, 1000, 1500, 2000, 900, 365]
    subj = subjects_frame(ids, ["MSC"] * 8, control=[False] * 8)
    subj["last_contact_day"] = 2100
    meas = pd.concat([measurement_rows(ids, -10, base),
                      measurement_rows(ids, 90, np.array(base) - 0.1),
                      pd.concat([measurement_rows([i], d, [v])
                                 for i, d, v in zip(ids, days, last, strict=True)])])
    inf = pd.DataFrame({"subject_id": ids, "infusion_number": 1, "day": 0,
                        "source": "adipose", "donor": "allogeneic", "route": "intravenous",
                        "dose_cells_per_kg": np.nan, "dose_cells_total": 1e8})
    c = cohort.from_frames({"subjects": subj, "measurements": meas, "infusions": inf})
    res = paired_analysis(c.measurements, c.subjects, last=True, by="stratum")
    s = res.summary.set_index("group")
    assert s.loc["moderate", "n"] == 5 and s.loc["severe", "n"] == 2
    assert s.loc["all", "n"] == 8
    mod = np.array(last[:5]) - np.array(base[:5])
    assert s.loc["moderate", "estimate"] == pytest.approx(mod.mean(), rel=1e-12)
    # M7 (baseline 5.9%) is in neither stratum: counted, still in "all"
    row = res.exclusions.set_index("subject_id").loc["M7"]
    assert row["reason"].startswith("baseline HbA1c 5.9% is below 6.2%")
    assert "still in 'all'" in row["reason"]


def test_bad_inputs():
    c = paired_cohort()
    with pytest.raises(AnalysisError, match="no CPEP_FAST measurements"):
        paired_analysis(c.measurements, c.subjects, param="CPEP_FAST", visit_days=[365])
    with pytest.raises(AnalysisError, match="no subject has both a baseline"):
        paired_analysis(c.measurements, c.subjects, visit_days=[90])
    with pytest.raises(AnalysisError, match="unknown subgroup 'colour'"):
        paired_analysis(c.measurements, c.subjects, visit_days=[365], by="colour")
    with pytest.raises(AnalysisError, match="no visit asked for"):
        paired_analysis(c.measurements, c.subjects)


def test_identical_changes_are_explained():
    res = paired_stats([7.0, 7.5, 8.0], [6.5, 7.0, 7.5])
    assert np.isnan(res["p"]) and "every change is the same" in res["note"]
    assert res["mean_change"] == pytest.approx(-0.5)
    res = paired_stats([7.0], [6.0])
    assert np.isnan(res["p"]) and "fewer than 2" in res["note"]
    w = signed_rank_test([0.0, 0.0, 0.0])
    assert np.isnan(w["p"]) and "every difference is 0" in w["method"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(4, 14), st.floats(4, 14)), min_size=2, max_size=30))
def test_paired_invariants(pairs):
    before = np.array([p[0] for p in pairs])
    after = np.array([p[1] for p in pairs])
    res = paired_stats(before, after)
    assert res["mean_change"] == pytest.approx(np.mean(after - before), abs=1e-9)
    if not np.isnan(res["p"]):
        assert 0 <= res["p"] <= 1
        assert res["ci_lower"] <= res["mean_change"] <= res["ci_upper"]
    if not np.isnan(res["wilcoxon_p"]):
        assert 0 <= res["wilcoxon_p"] <= 1
        n = res["n"]
        assert 0 <= res["wilcoxon_v"] <= n * (n + 1) / 2
    # swapping before and after mirrors the t statistic
    rev = paired_stats(after, before)
    if not np.isnan(res["t"]):
        assert rev["t"] == pytest.approx(-res["t"])

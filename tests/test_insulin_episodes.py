"""Insulin-free episodes: hand-derived cases, the example cohort, bad input and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cohort
from cohort.analysis.time_to_event import tte_from_episodes
from cohort.derive.episode_times import episode_times
from cohort.derive.insulin import EPISODE_COLUMNS, insulin_episodes
from cohort.derive.insulin_rule import IndependenceRule
from cohort.errors import AnalysisError


def meas(records: dict[str, list[tuple[int, float]]], param: str = "INSULIN_DOSE"
         ) -> pd.DataFrame:
    rows = [{"subject_id": s, "day": d, "param": param, "value": v,
             "unit": "IU/kg/day" if param == "INSULIN_DOSE" else "%"}
            for s, recs in records.items() for d, v in recs]
    return pd.DataFrame(rows, columns=["subject_id", "day", "param", "value", "unit"])


def subj(last_contact: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"subject_id": list(last_contact),
                         "last_contact_day": list(last_contact.values())})


# P1: insulin-free from day 180 (records 180, 270), back on insulin at 360, free again from
# 450 to the end (records 450, 540, 630), last contact 700
P1 = [(-7, 0.5), (90, 0.3), (180, 0.0), (270, 0.0), (360, 0.2), (450, 0.0), (540, 0.0),
      (630, 0.0)]


def test_two_episodes_by_hand():
    res = insulin_episodes(meas({"P1": P1}), subj({"P1": 700}))
    ep = res.episodes
    assert list(ep.columns) == EPISODE_COLUMNS
    assert ep[["episode", "entry_day", "last_insulin_day", "n_free_records", "last_free_day",
               "stop_day", "event", "status", "duration_days"]].to_dict("records") == [
        {"episode": 1, "entry_day": 180, "last_insulin_day": 90.0, "n_free_records": 2,
         "last_free_day": 270, "stop_day": 360.0, "event": True, "status": "resumed",
         "duration_days": 180.0},
        {"episode": 2, "entry_day": 450, "last_insulin_day": 360.0, "n_free_records": 3,
         "last_free_day": 630, "stop_day": 700.0, "event": False, "status": "last_contact",
         "duration_days": 250.0}]
    assert ep["resume_day"].iloc[0] == 360 and np.isnan(ep["resume_day"].iloc[1])
    assert res.counts() == {"n_subjects": 1, "n_with_records": 1, "n_independent": 1,
                            "n_episodes": 2, "n_resumptions": 1, "n_censored": 1,
                            "n_censored_death": 0}
    s = res.subjects.iloc[0]
    assert (s["n_records"], s["n_episodes"], s["n_resumptions"], s["first_entry_day"]) == (
        7, 2, 1, 180.0)  # day -7 is before from_day=1: not used
    assert pd.isna(s["reason"])


def test_exact_and_interval_views_on_both_clocks():
    ep = insulin_episodes(meas({"P1": P1}), subj({"P1": 700})).episodes
    stop = episode_times(ep, origin="insulin-stop")
    np.testing.assert_array_equal(stop["start"], [0, 0])
    np.testing.assert_array_equal(stop["stop"], [180, 250])
    np.testing.assert_array_equal(stop["lower"], [90, 250])  # last free record 270 - 180
    np.testing.assert_array_equal(stop["upper"], [180, np.nan])
    inf = episode_times(ep, origin="first-infusion")
    np.testing.assert_array_equal(inf["start"], [180, 450])
    np.testing.assert_array_equal(inf["stop"], [360, 700])
    np.testing.assert_array_equal(inf["lower"], [270, 700])
    np.testing.assert_array_equal(inf["upper"], [360, np.nan])
    with pytest.raises(AnalysisError, match="origin must be one of insulin-stop, "
                                            "first-infusion, got 'baseline'"):
        episode_times(ep, origin="baseline")  # type: ignore[arg-type]


def test_single_zero_record_is_not_independence_by_default():
    m = meas({"P2": [(0, 0.4), (180, 0.0), (270, 0.3)]})
    res = insulin_episodes(m, subj({"P2": 300}))
    assert res.episodes.empty
    assert res.subjects["reason"].iloc[0] == "insulin-free run too short for the definition"
    one = insulin_episodes(m, subj({"P2": 300}), rule=IndependenceRule(min_records=1))
    assert one.episodes[["entry_day", "stop_day", "event"]].to_dict("records") == [
        {"entry_day": 180, "stop_day": 270.0, "event": True}]


def test_min_days_with_all_and_any():
    m = meas({"P3": [(30, 0.5), (180, 0.0), (200, 0.0), (300, 0.2)]})
    s = subj({"P3": 300})
    assert insulin_episodes(m, s, rule=IndependenceRule(min_days=30)).episodes.empty
    anyrule = IndependenceRule(min_days=30, combine="any")
    assert insulin_episodes(m, s, rule=anyrule).episodes["entry_day"].tolist() == [180]
    span = IndependenceRule(min_records=1, min_days=20)
    assert insulin_episodes(m, s, rule=span).episodes["entry_day"].tolist() == [180]


def test_hba1c_condition_uses_the_nearest_value_earlier_on_ties():
    ins = meas({"A": [(180, 0.0), (270, 0.0)], "B": [(180, 0.0), (270, 0.0)],
                "C": [(180, 0.0), (270, 0.0)]})
    hb = meas({"A": [(175, 6.8), (182, 7.4)],      # nearest (182) is 7.4: fails
               "B": [(170, 6.5), (190, 7.5)],      # tie at 10 days: the earlier, 6.5
               "C": [(100, 6.0)]}, param="HBA1C")  # none within 30 days
    rule = IndependenceRule(hba1c_below=7.0)
    res = insulin_episodes(pd.concat([ins, hb]), subj({"A": 300, "B": 300, "C": 300}),
                           rule=rule)
    assert res.episodes["subject_id"].tolist() == ["B"]
    assert res.episodes[["hba1c_entry", "hba1c_day"]].iloc[0].tolist() == [6.5, 170.0]
    reasons = res.subjects.set_index("subject_id")["reason"]
    assert reasons["A"] == "HbA1c not below 7% at insulin stop"
    assert reasons["C"] == "no HbA1c within 30 days of insulin stop"
    assert "HbA1c < 7% within 30 days of entry" in rule.describe()


def test_death_censors_and_later_records_are_ignored_and_reported():
    m = meas({"D": [(90, 0.3), (300, 0.0), (400, 0.0), (550, 0.2)]})
    ae = pd.DataFrame({"subject_id": ["D", "D"], "term": ["Headache", " DEATH "],
                       "onset_day": [120, 500]})
    res = insulin_episodes(m, subj({"D": 600}), ae)
    ep = res.episodes.iloc[0]
    assert (ep["stop_day"], ep["event"], ep["status"]) == (500.0, False, "death")
    assert res.counts()["n_censored_death"] == 1
    assert res.exclusions.to_dict("records") == [
        {"subject_id": "D", "reason": "1 INSULIN_DOSE record(s) after the end of observation "
                                      "(day 500) ignored"}]
    assert res.subjects["end_reason"].tolist() == ["death"]
    composite = insulin_episodes(m, subj({"D": 600}), ae,
                                 rule=IndependenceRule(death_as="event")).episodes
    assert composite[["event", "status"]].iloc[0].tolist() == [True, "death"]
    t = episode_times(composite)
    assert t[["stop", "lower", "upper"]].iloc[0].tolist() == [200.0, 200.0, 200.0]
    ignored = insulin_episodes(m, subj({"D": 600}), ae, rule=IndependenceRule(death_terms=()))
    assert ignored.episodes[["stop_day", "status"]].iloc[0].tolist() == [550.0, "resumed"]


def test_records_before_from_day_and_subjects_without_records():
    m = meas({"E": [(-7, 0.0), (0, 0.0), (90, 0.0), (180, 0.0)]})
    res = insulin_episodes(m, subj({"E": 200, "F": 200}))
    assert res.episodes["entry_day"].tolist() == [90]
    early = insulin_episodes(m, subj({"E": 200, "F": 200}),
                             rule=IndependenceRule(from_day=-30))
    assert early.episodes["entry_day"].tolist() == [-7]
    assert res.exclusions.to_dict("records") == [
        {"subject_id": "F", "reason": "no INSULIN_DOSE records on or after day 1"}]
    assert res.subjects.set_index("subject_id").loc["F", "reason"] == "no INSULIN_DOSE records"


def test_example_cohort_S03_stops_insulin(example_dir):
    c = cohort.load_cohort(example_dir)
    res = insulin_episodes(c.measurements, c.subjects, c.adverse_events)
    ep = res.episodes
    assert ep["subject_id"].tolist() == ["S03"]
    assert ep[["entry_day", "last_insulin_day", "last_free_day", "stop_day", "status",
               "hba1c_entry"]].iloc[0].tolist() == [178, 88.0, 360, 360.0, "last_contact", 6.6]
    # S01's only zero dose is its last record: one record is not independence
    assert res.subjects.set_index("subject_id").loc["S01", "reason"] == (
        "insulin-free run too short for the definition")
    tte = tte_from_episodes(ep, c.subjects, columns=["arm", "age_years"])
    assert tte[["subject_id", "start", "stop", "event", "censor_reason", "arm"]].to_dict(
        "records") == [{"subject_id": "S03", "start": 0.0, "stop": 182.0, "event": False,
                        "censor_reason": "last_contact", "arm": "MSC"}]


def test_validated_contract_frames_work():
    subjects = pd.DataFrame({
        "subject_id": ["P1", "P2"], "study_id": "T", "arm": "standard care", "control": True,
        "diabetes_type": "T1D", "sex": ["F", "M"], "age_years": [20.0, 30.0],
        "last_contact_day": [700, 700]})
    m = meas({"P1": P1, "P2": [(-3, 0.6), (90, 0.6), (180, 0.5)]})
    c = cohort.from_frames({"subjects": subjects, "measurements": m})
    res = insulin_episodes(c.measurements, c.subjects, c.adverse_events)
    assert res.episodes["entry_day"].tolist() == [180, 450]
    both = tte_from_episodes(res.episodes, c.subjects, which="all", columns=["sex"])
    assert both["episode"].tolist() == [1, 2] and both["sex"].tolist() == ["F", "F"]


@pytest.mark.parametrize("frame, message", [
    (meas({"X": [(10, 0.0), (10, 0.0)]}), "2 duplicate INSULIN_DOSE records|1 duplicate "
                                          "INSULIN_DOSE records \\(first: subject X, day 10\\)"),
    (meas({"X": [(10, -0.1)]}), "1 INSULIN_DOSE values are missing or negative .*subject X, "
                                "day 10"),
    (meas({"X": [(10, np.nan)]}), "missing or negative"),
    (meas({"Y": [(10, 0.0)]}), "INSULIN_DOSE records of subjects not in the subjects table: Y"),
    (meas({"X": [(10, 0.0)]}).drop(columns="value"), "measurements has no column\\(s\\) value"),
])
def test_bad_measurements_are_clear_errors(frame, message):
    with pytest.raises(AnalysisError, match=message):
        insulin_episodes(frame, subj({"X": 100}))


@pytest.mark.parametrize("kwargs, message", [
    ({"min_records": 0}, "min_records must be >= 1, got 0"),
    ({"min_days": -1}, "must be >= 0 days"),
    ({"combine": "both"}, "combine must be 'all' or 'any', got 'both'"),
    ({"hba1c_below": 53}, "hba1c_below is an HbA1c in % \\(e.g. 7.0\\), got 53"),
    ({"death_as": "ignore"}, "death_as must be 'censor' or 'event'"),
    ({"min_records": 2.5}, "min_records must be an integer, got 2.5"),
])
def test_bad_rules(kwargs, message):
    with pytest.raises(AnalysisError, match=message):
        IndependenceRule(**kwargs)


def test_no_episodes_is_a_clear_error_for_the_tte_table():
    res = insulin_episodes(meas({"X": [(10, 0.5)]}), subj({"X": 100}))
    with pytest.raises(AnalysisError, match="no insulin-free episodes: no subject met the "
                                            "definition"):
        tte_from_episodes(res.episodes)


# --- properties -----------------------------------------------------------------------------

def reference_episodes(days: list[int], doses: list[float], min_records: int,
                       end: int) -> list[tuple[int, int, float | None]]:
    """A plain loop over one subject's records: (entry, last free, resume or None)."""
    out, run = [], []
    for d, v in [*zip(days, doses, strict=True), (None, None)]:
        if v is not None and v == 0:
            run.append(d)
            continue
        if len(run) >= min_records:
            out.append((run[0], run[-1], d))
        run = []
    return out


@st.composite
def subjects_records(draw):
    n = draw(st.integers(1, 6))
    records, ends = {}, {}
    for i in range(n):
        k = draw(st.integers(0, 12))
        days = sorted(draw(st.sets(st.integers(1, 1500), min_size=k, max_size=k)))
        doses = draw(st.lists(st.sampled_from([0.0, 0.0, 0.2, 0.7]), min_size=k, max_size=k))
        records[f"S{i}"] = list(zip(days, doses, strict=True))
        ends[f"S{i}"] = (max(days) if days else 0) + draw(st.integers(0, 200))
    return records, ends, draw(st.integers(1, 3))


@settings(max_examples=30, deadline=None)
@given(subjects_records())
def test_episodes_match_a_plain_loop_and_durations_are_non_negative(case):
    records, ends, min_records = case
    res = insulin_episodes(meas(records), subj(ends),
                           rule=IndependenceRule(min_records=min_records))
    ep = res.episodes
    assert (ep["duration_days"] >= 0).all()
    assert (ep["entry_day"] <= ep["last_free_day"]).all()
    assert (ep["last_free_day"] <= ep["stop_day"]).all()
    assert (ep["n_free_records"] >= min_records).all()
    for sid, recs in records.items():
        expected = reference_episodes([d for d, _ in recs], [v for _, v in recs], min_records,
                                      ends[sid])
        got = ep[ep["subject_id"] == sid]
        assert got["entry_day"].tolist() == [e[0] for e in expected]
        assert got["last_free_day"].tolist() == [e[1] for e in expected]
        assert got["stop_day"].tolist() == [float(e[2] if e[2] is not None else ends[sid])
                                            for e in expected]
        assert got["episode"].tolist() == list(range(1, len(expected) + 1))
    for origin in ("insulin-stop", "first-infusion"):
        if len(ep):
            t = episode_times(ep, origin=origin)
            assert (t["stop"] >= t["start"]).all()
            assert (t["lower"] <= t["stop"]).all()
            assert ((t["upper"] >= t["lower"]) | t["upper"].isna()).all()

"""Visits read from the data for reports (cohort.report.schedule.infer_visits)."""

from __future__ import annotations

import itertools

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.report.schedule import infer_visits, visit_table


def _rows(spec: list[tuple[str, str | None, int]]) -> pd.DataFrame:
    return pd.DataFrame([{"subject_id": s, "day": d, "param": "HBA1C", "value": 7.0,
                          "visit": v} for s, v, d in spec])


def test_labels_give_the_median_day_and_wide_labels_are_not_visits() -> None:
    spec = []
    for i, (w8, w12, last) in enumerate([(54, 82, 30), (56, 84, 120), (58, 86, 400),
                                         (56, 85, 250)]):
        s = f"S{i}"
        spec += [(s, "baseline", 0), (s, "week 8", w8), (s, "week 12", w12),
                 (s, "last follow-up", last + 100)]
    visits = infer_visits(_rows(spec), "HBA1C")
    # week 8: median 56, half-width round(0.15 * 56) = 8; week 12: median 84.5 -> 84, 13 days
    assert visit_table(visits).values.tolist() == [["week 8", 56, 48, 64],
                                                   ["week 12", 84, 71, 97]]


def test_visits_reached_by_too_few_subjects_are_dropped() -> None:
    spec = [(f"S{i}", "month 3", 90 + i % 3) for i in range(10)]
    spec += [(f"S{i}", "month 48", 1460) for i in range(2)]  # 2 of 10 (need 3)
    spec += [(f"S{i}", "month 24", 730) for i in range(3)]   # 3 of 10: kept
    assert [v.label for v in infer_visits(_rows(spec), "HBA1C")] == ["month 3", "month 24"]
    assert [v.label for v in infer_visits(_rows(spec), "HBA1C", min_fraction=0.5)] == \
        ["month 3"]


def test_without_labels_record_days_are_clustered() -> None:
    spec = [(f"S{i}", None, d) for i, d in enumerate([-3, 27, 30, 33, 88, 90, 92])]
    spec += [(f"T{i}", None, d) for i, d in enumerate([0, 29, 31, 89, 91, 93])]
    visits = infer_visits(_rows(spec).drop(columns="visit"), "HBA1C")
    # clusters {27..33} and {88..93}: medians 30 and 90.5 -> 90 (round half to even)
    assert visit_table(visits).values.tolist() == [["day 30", 30, 23, 37],
                                                   ["day 90", 90, 76, 104]]


def test_no_follow_up_gives_no_visits() -> None:
    spec = [(f"S{i}", "baseline", -i) for i in range(5)]
    assert infer_visits(_rows(spec), "HBA1C") == []
    assert infer_visits(_rows(spec), "CPEP_FAST") == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(-30, 2000), min_size=1, max_size=12), min_size=1,
                max_size=15),
       st.booleans())
def test_inferred_windows_are_ordered_disjoint_and_hold_their_day(days, labelled) -> None:
    spec = []
    for i, subject_days in enumerate(days):
        for d in sorted(set(subject_days)):
            spec.append((f"S{i}", f"v{d // 90}" if labelled else None, d))
    frame = _rows(spec)
    if not labelled:
        frame = frame.drop(columns="visit")
    visits = infer_visits(frame, "HBA1C")
    assert len({v.label for v in visits}) == len(visits)
    for v in visits:
        assert 1 <= v.lower <= v.day <= v.upper
    for a, b in itertools.pairwise(visits):
        assert a.upper < b.lower

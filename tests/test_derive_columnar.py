"""The derivations of cohort.derive against the plain-pandas reference (tests/derive_reference.py)
on random cohorts: same frames (values, dtypes, order) and the same errors (issue 16 item 1).

The cohorts are built to hit what a fast rewrite gets wrong: records equally near a visit's
nominal day on both sides, several records in one window, missing values and days, subjects
without a baseline or outside the universe, records not analysed, unsorted tables, ids as
Python strings or pandas' string dtype, duplicate records (an error)."""

from __future__ import annotations

from dataclasses import dataclass

import derive_reference as ref
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohort.analysis._common import prepare_changes
from cohort.analysis.responder_status import medication_reduction, responder_flags
from cohort.derive.baseline import baseline_values
from cohort.derive.change import change_from_baseline, usable_changes
from cohort.derive.insulin import _nearest_hba1c
from cohort.derive.remission import RemissionRule, _marker_status
from cohort.derive.universe import subject_universe, with_subject_columns
from cohort.derive.visit_values import last_followup, values_at_visits
from cohort.derive.visit_windows import Visit, make_visits
from cohort.errors import AnalysisError

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
POOL = ["S1", "S2", "S3", "S4", "S5", "S10"]
NOMINAL = (30, 84, 182)


@st.composite
def days(draw: st.DrawFn) -> int:
    """Study days clustered where the rules decide: around day 0, the baseline window's
    start, and on both sides of the nominal visit days (ties in distance)."""
    centre = draw(st.sampled_from([0, -90, -30, *NOMINAL, 400]))
    return centre + draw(st.integers(-12, 12))


@st.composite
def measurements(draw: st.DrawFn) -> pd.DataFrame:
    values = st.one_of(st.floats(0.0, 14.0, allow_nan=False), st.just(float("nan")),
                       st.just(0.0))
    flags = st.sampled_from([True, True, True, False, None])
    rows = []
    # several records per subject and parameter, so that windows hold more than one
    for sid in draw(st.lists(st.sampled_from(POOL), unique=True, min_size=1, max_size=4)):
        for param in ("HBA1C", "FPG"):
            for d in draw(st.lists(days(), unique=True, max_size=8)):
                rows.append((sid, d, param, draw(values), draw(flags)))
    # records equally near a nominal day on both sides (the earlier one counts)
    for sid, centre, k, param in draw(st.lists(st.tuples(
            st.sampled_from(POOL), st.sampled_from(NOMINAL), st.integers(1, 10),
            st.sampled_from(["HBA1C", "FPG"])), max_size=4)):
        taken = {(r[0], r[1], r[2]) for r in rows}
        for d in (centre - k, centre + k):
            if (sid, d, param) not in taken:
                rows.append((sid, d, param, draw(st.floats(4.0, 14.0)), True))
    if not rows:
        rows.append(("S1", 0, "HBA1C", 8.0, True))
    if draw(st.integers(0, 4)) == 0:  # one duplicate record: an error
        dup = draw(st.sampled_from(rows))
        rows.append((dup[0], dup[1], dup[2], 7.5, True))
    frame = pd.DataFrame(rows, columns=["subject_id", "day", "param", "value",
                                        "analysis_flag"])
    frame = frame.sample(frac=1.0, random_state=draw(st.integers(0, 2**16)))
    frame = frame.reset_index(drop=True) if draw(st.booleans()) else frame
    if draw(st.booleans()):
        frame["subject_id"] = frame["subject_id"].astype("string[pyarrow]")
    if draw(st.booleans()):
        day = frame["day"].astype("Int64")
        if draw(st.booleans()) and len(day):
            day.iloc[draw(st.integers(0, len(day) - 1))] = pd.NA
        frame["day"] = day
    flag = draw(st.sampled_from(["none", "boolean", "bool"]))
    if flag == "none":
        frame = frame.drop(columns="analysis_flag")
    elif flag == "boolean":
        frame["analysis_flag"] = frame["analysis_flag"].astype("boolean")
    else:
        frame["analysis_flag"] = np.array([f is not False for f in frame["analysis_flag"]])
    return frame


@st.composite
def universes(draw: st.DrawFn):
    kind = draw(st.sampled_from(["none", "list", "frame", "index"]))
    if kind == "none":
        return None
    ids = draw(st.lists(st.sampled_from([*POOL, "S99", "X"]), unique=True, max_size=8))
    if kind == "list":
        return ids
    if kind == "index":
        return pd.Index(ids, dtype=object)
    frame = pd.DataFrame({"subject_id": pd.Series(ids, dtype=object)})
    if draw(st.booleans()):
        frame["subject_id"] = frame["subject_id"].astype("string[pyarrow]")
    return frame


@st.composite
def visit_lists(draw: st.DrawFn) -> list[Visit]:
    if draw(st.booleans()):
        nominal = draw(st.lists(st.sampled_from(NOMINAL), min_size=1, max_size=3,
                                unique=True))
        half = draw(st.none() | st.integers(0, 12))
        try:
            return make_visits(nominal, half_width=half)
        except AnalysisError:
            return make_visits(nominal)
    # explicit windows, which may reach back before day 0
    out = []
    for i, d in enumerate(draw(st.lists(st.sampled_from(NOMINAL), min_size=1, max_size=2,
                                        unique=True))):
        lo = d - draw(st.integers(0, 120))
        out.append(Visit(f"v{i}", d, lo, d + draw(st.integers(0, 15))))
    return out


@dataclass(frozen=True)
class Raised:
    """The error a call raised: its type and message."""

    kind: str
    message: str


def outcome(fn, *args, **kwargs):
    """What a call returns, or the error it raises."""
    try:
        if getattr(fn, "__module__", "") == ref.__name__:
            # the reference's percent change from a baseline of 1e-307 overflows, and numpy
            # says so; the library gives the same inf silently
            with np.errstate(over="ignore"):
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)
    except (AnalysisError, ValueError, TypeError, KeyError) as exc:
        return Raised(type(exc).__name__, str(exc))


def assert_same(got, want) -> None:
    if isinstance(want, Raised) or isinstance(got, Raised):
        assert got == want
        return
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same(g, w)
        return
    pd.testing.assert_frame_equal(got, want, check_dtype=True, check_exact=True)


@SETTINGS
@given(m=measurements(), subjects=universes(), visits=visit_lists(),
       window=st.tuples(st.integers(-120, -1), st.integers(-40, 0)),
       rule=st.sampled_from(["nearest", "last", "first"]), last=st.booleans(),
       max_day=st.none() | st.integers(1, 420), param=st.sampled_from(["HBA1C", "FPG"]))
def test_change_from_baseline_equals_reference(m, subjects, visits, window, rule, last,
                                               max_day, param):
    before = m.copy()
    kw = dict(baseline_window=window, rule=rule, last=last, max_followup_day=max_day,
              subjects=subjects)
    assert_same(outcome(change_from_baseline, m, param, visits, **kw),
                outcome(ref.change_from_baseline, m, param, visits, **kw))
    pd.testing.assert_frame_equal(m, before)  # the input is never modified


@SETTINGS
@given(m=measurements(), subjects=universes(), visits=visit_lists(),
       window=st.tuples(st.integers(-120, -1), st.integers(-40, 0)),
       rule=st.sampled_from(["nearest", "last", "first"]),
       min_day=st.integers(1, 200), max_day=st.none() | st.integers(1, 420))
def test_baseline_visits_last_equal_reference(m, subjects, visits, window, rule, min_day,
                                              max_day):
    assert_same(outcome(baseline_values, m, "HBA1C", window=window, subjects=subjects),
                outcome(ref.baseline_values, m, "HBA1C", window=window, subjects=subjects))
    assert_same(outcome(values_at_visits, m, "HBA1C", visits, rule=rule, subjects=subjects),
                outcome(ref.values_at_visits, m, "HBA1C", visits, rule=rule,
                        subjects=subjects))
    assert_same(outcome(last_followup, m, "HBA1C", min_day=min_day, max_day=max_day,
                        subjects=subjects),
                outcome(ref.last_followup, m, "HBA1C", min_day=min_day, max_day=max_day,
                        subjects=subjects))
    got = outcome(subject_universe, m, subjects)
    want = outcome(ref.subject_universe, m, subjects)
    if isinstance(want, Raised):
        assert got == want
    else:
        pd.testing.assert_index_equal(got, want, exact=True)


@st.composite
def subject_tables(draw: st.DrawFn) -> pd.DataFrame:
    ids = draw(st.lists(st.sampled_from([*POOL, "S99"]), unique=True, min_size=1, max_size=7))
    n = len(ids)
    frame = pd.DataFrame({
        "subject_id": ids,
        "arm": np.resize(draw(st.permutations(["MSC", "placebo", "high"])), n),
        "age_years": [draw(st.none() | st.floats(18, 80)) for _ in range(n)],
        "sex": pd.Series(np.resize(["F", "M"], n), dtype="string[pyarrow]"),
    })
    if draw(st.booleans()):
        frame["subject_id"] = frame["subject_id"].astype("string[pyarrow]")
        frame["arm"] = frame["arm"].astype("string[pyarrow]")
    return frame


@SETTINGS
@given(m=measurements(), subjects=subject_tables(), visits=visit_lists(),
       window=st.tuples(st.integers(-120, -1), st.integers(-40, 0)), last=st.booleans(),
       covariates=st.lists(st.sampled_from(["age_years", "sex", "visit"]), unique=True))
def test_usable_changes_and_prepare_changes_equal_reference(m, subjects, visits, window,
                                                            last, covariates):
    kw = dict(visit_list=visits, last=last, baseline_window=window,
              subject_columns=["arm", *covariates])
    assert_same(outcome(prepare_changes, m, subjects, param="HBA1C", visit_labels=None, **kw),
                outcome(ref.prepare_changes, m, subjects, param="HBA1C", **kw))

    def composed():
        with np.errstate(over="ignore"):
            return ref.split_exclusions(ref.with_subject_columns(ref.change_from_baseline(
                m, "HBA1C", visits, last=last, baseline_window=window, subjects=subjects),
                subjects, ["arm"]))

    assert_same(outcome(usable_changes, m, subjects, "HBA1C", visits, last=last,
                        baseline_window=window, subject_columns=["arm"]), outcome(composed))


SUBJECT_COLUMNS = {
    "arm": lambda n: pd.Series(np.resize(["MSC", "placebo"], n), dtype=object),
    "arm_text": lambda n: pd.Series(np.resize(["MSC", "placebo"], n), dtype="string[pyarrow]"),
    "age_years": lambda n: pd.Series(np.arange(n, dtype=np.float64) + 20.5),
    "n": lambda n: pd.Series(np.arange(n, dtype=np.int64)),
    "control": lambda n: pd.Series(np.arange(n) % 2 == 0),
    "flag": lambda n: pd.Series(np.resize([True, None, False], n), dtype="boolean"),
    "site": lambda n: pd.Series(np.resize(["A", "B"], n), dtype="category"),
}


@SETTINGS
@given(ids=st.lists(st.sampled_from(POOL), unique=True, min_size=1),
       picks=st.lists(st.integers(0, 20)), unknown=st.booleans(),
       columns=st.lists(st.sampled_from(sorted(SUBJECT_COLUMNS)), unique=True),
       arrow=st.booleans())
def test_with_subject_columns_equals_reference(ids, picks, unknown, columns, arrow):
    subjects = pd.DataFrame({"subject_id": ids, **{c: SUBJECT_COLUMNS[c](len(ids))
                                                   for c in columns}})
    if arrow:
        subjects["subject_id"] = subjects["subject_id"].astype("string[pyarrow]")
    sid = [ids[i % len(ids)] for i in picks] + (["S99"] if unknown else [])
    frame = pd.DataFrame({"subject_id": sid, "visit": "day 84",
                          "value": np.arange(len(sid), dtype=float)},
                         index=np.arange(len(sid)) * 3)
    assert_same(with_subject_columns(frame, subjects, columns),
                ref.with_subject_columns(frame, subjects, columns))


def test_reference_and_library_agree_on_a_hand_made_tie():
    # S1 has day 79 and day 89 around day 84 (equally near): the earlier counts
    m = pd.DataFrame({"subject_id": ["S1"] * 3, "day": [0, 89, 79], "param": "HBA1C",
                      "value": [8.0, 7.0, 7.5]})
    got = change_from_baseline(m, "HBA1C", make_visits([84]))
    assert got["day"].iloc[0] == 79 and got["change"].iloc[0] == pytest.approx(-0.5)
    assert_same(got, ref.change_from_baseline(m, "HBA1C", make_visits([84])))


@st.composite
def medication_cases(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    day = draw(st.sampled_from([84, 182, 365]))
    min_day = draw(st.sampled_from([None, day - 30]))
    ids = draw(st.lists(st.sampled_from(POOL), unique=True, min_size=1, max_size=5))
    if draw(st.integers(0, 5)) == 0:
        ids.append(ids[0])  # a subject listed twice gets the same periods twice
    # last contact before, on and after the follow-up day and its window
    last = [draw(st.sampled_from([None, day - 40, day - 30, day - 10, day, day + 10, 400]))
            for _ in ids]
    subjects = pd.DataFrame({"subject_id": ids,
                             "last_contact_day": pd.array(last, dtype="Int64")})
    if draw(st.booleans()):
        subjects["subject_id"] = subjects["subject_id"].astype("string[pyarrow]")
    # at most 8 periods, so that sums of doses add in the same order either way
    unit = draw(st.sampled_from(["IU/day", "IU/kg/day"]))
    rows = draw(st.lists(st.tuples(
        st.sampled_from([*ids, *ids, "S99"]),
        st.sampled_from(["insulin", "insulin", "metformin"]),
        st.sampled_from([-30, -7, 0, 0, 1, 60, day - 10]),
        st.sampled_from([None, None, -1, 0, 30, day - 30, day - 10, day, day + 10]),
        st.sampled_from([24.0, 10.5, 0.35, 48.0, 0.0, float("nan")]),
        st.sampled_from([unit, unit, unit, unit, "mg/day", None])),
        min_size=3, max_size=8))
    meds = pd.DataFrame(rows, columns=["subject_id", "drug_class", "start_day", "end_day",
                                       "daily_dose", "unit"])
    meds["end_day"] = meds["end_day"].astype("Int64")
    meds["start_day"] = meds["start_day"].astype(np.int64)
    kw = dict(drug_class="insulin", day=day, min_day=min_day,
              baseline_day=draw(st.sampled_from([0, 0, -7])))
    return meds, subjects, kw


@settings(SETTINGS, max_examples=150)
@given(case=medication_cases())
def test_medication_reduction_equals_reference(case):
    meds, subjects, kw = case
    assert_same(outcome(medication_reduction, meds, subjects, **kw),
                outcome(ref.medication_reduction, meds, subjects, **kw))


@settings(SETTINGS, max_examples=80)
@given(m=measurements(), case=medication_cases(),
       criteria=st.lists(st.sampled_from(["HBA1C < 7", "HBA1C change <= -0.5",
                                          "FPG pct_change <= -10", "med:insulin >= 50",
                                          "med:metformin >= 50"]),
                         unique=True, min_size=1, max_size=3),
       combine=st.sampled_from(["all", "any"]),
       missing=st.sampled_from(["exclude", "nonresponder"]))
def test_responder_flags_equal_reference(m, case, criteria, combine, missing):
    meds, subjects, _ = case
    subjects = subjects.drop_duplicates("subject_id")
    kw = dict(visit=make_visits([84])[0], criteria=criteria, combine=combine,
              missing=missing)
    assert_same(outcome(responder_flags, m, subjects, meds, **kw),
                outcome(ref.responder_flags, m, subjects, meds, **kw))


@settings(SETTINGS, max_examples=100)
@given(m=measurements(), window=st.integers(0, 20),
       runs=st.lists(st.tuples(st.sampled_from([*POOL, "S99"]),
                               st.sampled_from(NOMINAL) | days()), max_size=6),
       tie=st.none() | st.tuples(st.sampled_from(POOL), st.sampled_from(NOMINAL),
                                 st.integers(1, 10)))
def test_nearest_hba1c_equals_reference(m, window, runs, tie):
    """The HbA1c at entry into insulin independence (insulin_episodes' HbA1c condition):
    nearest the run's first day within the window, the earlier of two equally near."""
    m = m.drop_duplicates(["subject_id", "day", "param"])  # the contract's one value per day
    if m["day"].isna().any():
        m = m.loc[m["day"].notna()]
    if tie is not None:  # two records equally near a run's first day, none nearer
        sid, centre, k = tie
        near = ((m["subject_id"].astype(str) == sid) & (m["param"] == "HBA1C")
                & ((m["day"] - centre).abs() <= k)).to_numpy(dtype=bool)
        m = pd.concat([m.loc[~near], pd.DataFrame({
            "subject_id": [sid, sid], "day": [centre + k, centre - k], "param": "HBA1C",
            "value": [7.9, 6.1]})], ignore_index=True)
        runs = [*runs, (sid, centre)]
        window = max(window, k)
    frame = pd.DataFrame(runs, columns=["subject_id", "first_day"]).astype(
        {"first_day": float})
    got = _nearest_hba1c(m, frame, window)
    want = ref.nearest_hba1c(m, frame, window)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


@settings(SETTINGS, max_examples=40)
@given(m=measurements(), subjects=subject_tables(),
       covariates=st.lists(st.sampled_from(["age_years", "sex"]), unique=True))
def test_prepare_changes_by_label_equals_reference(m, subjects, covariates):
    """Visits by label (ADaM AVISIT/ABLFL/ANL01FL): the same usable rows and exclusions."""
    m = m.drop_duplicates(["subject_id", "day", "param"])
    m = m.loc[m["day"].notna()].copy()
    day = m["day"].to_numpy(dtype=float)
    m["visit"] = np.select([day <= 0, np.abs(day - 84) <= 14, np.abs(day - 182) <= 20],
                           ["Baseline", "Week 12", "Week 26"], "Unscheduled")
    m["visit"] = m["visit"].astype(object)
    # the last record on or before day 0 of each subject and parameter is the baseline
    before = m.loc[day <= 0].sort_values("day")
    flagged = before.groupby(["subject_id", "param"], observed=True).tail(1).index
    m["baseline_flag"] = m.index.isin(flagged)
    kw = dict(param="HBA1C", subject_columns=["arm", *covariates])
    assert_same(outcome(prepare_changes, m, subjects, visit_list=[], last=False,
                        baseline_window=(-90, 0), visit_labels=["Week 12", "Week 26"], **kw),
                outcome(ref.prepare_changes_by_label, m, subjects,
                        visit_labels=["Week 12", "Week 26"], **kw))


@settings(SETTINGS, max_examples=100)
@given(rows=st.lists(st.tuples(
           st.sampled_from([0.0, 0.002, 0.003, 0.1, 0.3, 0.33, 0.5]),
           st.sampled_from([0.0, 0.002, 0.1, 0.3, 0.33, 0.4, 0.45]),
           st.sampled_from([None, None, None, "no baseline CPEP_FAST in days [-90, 0]"])),
           max_size=12),
       limit=st.sampled_from([0.0, 0.003]), below=st.sampled_from(["exclude", "rise"]),
       inclusive=st.booleans(), threshold=st.sampled_from([10.0, 50.0]))
def test_remission_marker_status_equals_reference(rows, limit, below, inclusive, threshold):
    """C-peptide remission per marker: rise, no rise, undetectable baseline, not judged
    (0.30 -> 0.33 nmol/L is exactly +10%: on the threshold)."""
    frame = pd.DataFrame(rows, columns=["baseline", "value", "reason"])
    frame["reason"] = frame["reason"].astype("string")
    rule = RemissionRule(detection_limit=limit, below_limit=below, inclusive=inclusive,
                         threshold_pct=threshold)
    rise, status = _marker_status(rule, frame, "CPEP_FAST")
    rise_ref, status_ref = ref.marker_status(rule, frame, "CPEP_FAST")
    np.testing.assert_array_equal(rise, rise_ref)
    assert status.tolist() == status_ref.tolist()


@pytest.mark.parametrize(("inclusive", "expected"), [(True, 1.0), (False, 0.0)])
def test_remission_rise_on_the_threshold(inclusive, expected):
    # 0.30 -> 0.33 nmol/L is +10% (10.000000000000009 in binary floating point)
    frame = pd.DataFrame({"baseline": [0.30], "value": [0.33],
                          "reason": pd.array([None], dtype="string")})
    rule = RemissionRule(inclusive=inclusive)
    rise, status = _marker_status(rule, frame, "CPEP_FAST")
    assert rise[0] == expected
    assert status[0] == f"{'rise' if expected else 'no rise'} (+10.0%)"
    assert status.tolist() == ref.marker_status(rule, frame, "CPEP_FAST")[1].tolist()

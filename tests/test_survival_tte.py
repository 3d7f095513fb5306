"""Time-to-event tables: CDISC ADTTE with explicit event codes, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.analysis.survival import analyze_survival, cox_ph, kaplan_meier, log_rank
from cohort.analysis.time_to_event import (
    EventCodes,
    check_tte,
    parse_event_codes,
    tte_from_adtte,
)
from cohort.errors import AnalysisError


def adtte(**overrides) -> pd.DataFrame:
    base = pd.DataFrame({
        "USUBJID": ["S1", "S2", "S3", "S4", "S1", "S2"],
        "PARAMCD": ["INSRES", "INSRES", "INSRES", "INSRES", "DEATH", "DEATH"],
        "AVAL": [100.0, 250.0, 400.0, 90.0, 800.0, 700.0],
        "AVALU": "DAYS",
        "CNSR": [0, 1, 0, 2, 1, 1],
        "CNSDTDSC": [None, "last contact", None, "withdrew", "last contact", "last contact"],
        "TRT01P": ["MSC", "MSC", "placebo", "placebo", "MSC", "MSC"],
    })
    for k, v in overrides.items():
        base[k] = v
    return base


def test_cnsr_zero_is_an_event_by_explicit_mapping():
    tte = tte_from_adtte(adtte(), event_codes="CNSR:0=event,1=censored,2=censored",
                         param="INSRES", columns=["TRT01P"])
    assert tte[["subject_id", "start", "stop", "event", "censor_reason", "TRT01P"]].to_dict(
        "records") == [
        {"subject_id": "S1", "start": 0.0, "stop": 100.0, "event": True, "censor_reason": None,
         "TRT01P": "MSC"},
        {"subject_id": "S2", "start": 0.0, "stop": 250.0, "event": False,
         "censor_reason": "last contact", "TRT01P": "MSC"},
        {"subject_id": "S3", "start": 0.0, "stop": 400.0, "event": True, "censor_reason": None,
         "TRT01P": "placebo"},
        {"subject_id": "S4", "start": 0.0, "stop": 90.0, "event": False,
         "censor_reason": "withdrew", "TRT01P": "placebo"}]


def test_undeclared_codes_are_named():
    with pytest.raises(AnalysisError, match=r"CNSR has codes the event mapping does not declare:"
                                            r" '2' \(1 rows\); declared: 0=event, 1=censored"):
        tte_from_adtte(adtte(), event_codes="CNSR:0=event,1=censored", param="INSRES")


def test_read_sas_zeros_are_not_silently_zero():
    # pandas.read_sas can read CNSR 0 as 5e-79 (pandas issue 50670)
    data = adtte(CNSR=[5e-79, 1.0, 5e-79, 1.0, 1.0, 1.0])
    with pytest.raises(AnalysisError, match=r"'5e-79' \(2 rows\).*pyreadstat"):
        tte_from_adtte(data, event_codes="CNSR:0=event,1=censored", param="INSRES")


def test_codes_compare_as_numbers_written_any_way():
    data = adtte(CNSR=["0", "1.0", " 0 ", "1", "1", "1"])
    tte = tte_from_adtte(data, event_codes=EventCodes("CNSR", {0: "event", "1": "censored"}),
                         param="INSRES")
    assert tte["event"].tolist() == [True, False, True, False]


@pytest.mark.parametrize("text, message", [
    ("CNSR", "expected 'COLUMN:code=event,code=censored'"),
    ("CNSR:0=event,1=dead", "'1=dead' is not 'code=event' or 'code=censored'"),
    ("CNSR:0=event,0=censored", "code '0' is declared twice"),
    ("CNSR:1=censored", "declare no code meaning 'event'"),
    (":0=event", "expected 'COLUMN:code=event"),
])
def test_bad_event_code_strings(text, message):
    with pytest.raises(AnalysisError, match=message):
        parse_event_codes(text)


def test_adtte_problems_are_clear():
    with pytest.raises(AnalysisError, match="holds 2 parameters \\(DEATH, INSRES\\); choose one"):
        tte_from_adtte(adtte(), event_codes="CNSR:0=event,1=censored,2=censored")
    with pytest.raises(AnalysisError, match="PARAMCD 'OS' not in the dataset"):
        tte_from_adtte(adtte(), event_codes="CNSR:0=event,1=censored,2=censored", param="OS")
    with pytest.raises(AnalysisError, match="AVALU says \\['MONTHS'\\] but the times are "
                       "declared in days"):
        tte_from_adtte(adtte(AVALU="MONTHS"), event_codes="CNSR:0=event,1=censored,2=censored",
                       param="INSRES")
    # declared: converted to days
    months = tte_from_adtte(adtte(AVALU="MONTHS"), param="INSRES", time_unit="months",
                            event_codes="CNSR:0=event,1=censored,2=censored")
    days = tte_from_adtte(adtte(), param="INSRES",
                          event_codes="CNSR:0=event,1=censored,2=censored")
    np.testing.assert_allclose(months["stop"], days["stop"] * 30.4375, rtol=1e-15)
    with pytest.raises(AnalysisError, match="no column\\(s\\) STATUS"):
        tte_from_adtte(adtte(), event_codes="STATUS:1=event,0=censored", param="INSRES")
    missing = adtte(CNSR=[0, None, 0, 1, 1, 1])
    with pytest.raises(AnalysisError, match="1 rows have no CNSR value \\(rows 2\\)"):
        tte_from_adtte(missing, event_codes="CNSR:0=event,1=censored", param="INSRES")


def test_time_from_dates_is_explicit():
    data = adtte(STARTDT=["2020-01-01"] * 6,
                 ADT=["2020-04-10", "2020-09-07", "2021-02-04", "2020-03-31", "2022-03-11",
                      "2021-12-01"]).drop(columns="AVAL")
    tte = tte_from_adtte(data, event_codes="CNSR:0=event,1=censored,2=censored",
                         param="INSRES", time_col=None)
    assert tte["stop"].tolist() == [100.0, 250.0, 400.0, 90.0]


def frame(**cols) -> pd.DataFrame:
    n = len(next(iter(cols.values())))
    base = {"subject_id": [f"S{i}" for i in range(n)], "start": [0.0] * n}
    base.update(cols)
    return pd.DataFrame(base)


@pytest.mark.parametrize("data, message", [
    (frame(stop=[10.0, -5.0], event=[1, 0]), "negative times in stop for 1 rows \\(subjects "
                                             "S1\\)"),
    (frame(start=[50.0, 0.0], stop=[20.0, 30.0], event=[1, 0]),
     "stop is before start for 1 rows \\(subjects S0\\).*a resumption before independence"),
    (frame(stop=[10.0, np.nan], event=[1, 0]), "stop is missing or infinite for 1 rows"),
    (frame(stop=[10.0, 20.0], event=[0, 2]), "event must be 0/1 or True/False; got \\['2'\\]"),
    (frame(stop=["10", "20"], event=[0, 1]), "stop must be numeric \\(days\\)"),
    (frame(stop=[10.0], event=[1]).iloc[:0], "the time-to-event table is empty"),
    (frame(stop=[10.0, 20.0], event=[1, 0]).assign(subject_id=["A", "A"]),
     "duplicate \\(subject_id, episode\\) rows for subjects A"),
    (frame(stop=[10.0]).assign(event=[True]).drop(columns="start"),
     "has no column\\(s\\) start"),
])
def test_bad_tables_are_clear_errors(data, message):
    with pytest.raises(AnalysisError, match=message):
        check_tte(data)


def test_all_censored():
    data = frame(stop=[10.0, 20.0, 30.0, 40.0], event=[0, 0, 0, 0], arm=["a", "b", "a", "b"])
    km = kaplan_meier(data, group="arm")
    assert (km.curve["estimate"] == 1.0).all()
    assert km.summary["estimate"].isna().all()
    assert km.notes[0].startswith("no events in a, b")
    with pytest.raises(AnalysisError, match="no events \\(every row is censored\\): the "
                                            "log-rank test is undefined"):
        log_rank(data, group="arm")
    with pytest.raises(AnalysisError, match=r"no events.*Cox model cannot be estimated"):
        cox_ph(data, covariates=["arm"])
    res = analyze_survival(data, group="arm")
    assert res.logrank is None and res.cox is None
    assert any(n.startswith("log-rank not run: no events") for n in res.notes)
    assert any(n.startswith("Cox model not run: no events") for n in res.notes)


def test_single_group_and_missing_groups_are_reported():
    data = frame(stop=[10.0, 20.0, 30.0], event=[1, 0, 1], arm=["a", "a", None])
    with pytest.raises(AnalysisError, match="needs at least 2 groups in 'arm'; found 1 \\(a\\)"):
        log_rank(data, group="arm")
    km = kaplan_meier(data, group="arm")
    assert km.exclusions.to_dict("records") == [{"subject_id": "S2", "reason": "missing arm"}]
    assert km.summary["n"].tolist() == [2]
    with pytest.raises(AnalysisError, match="no column 'site'"):
        kaplan_meier(data, group="site")


def test_delayed_entry_row_never_at_risk_is_excluded():
    data = frame(start=[0.0, 40.0, 10.0], stop=[30.0, 40.0, 50.0], event=[1, 1, 0])
    km = kaplan_meier(data)
    assert km.exclusions["reason"].tolist() == ["never at risk: stop equals its delayed entry "
                                                "time"]
    assert km.summary["n"].tolist() == [2]


def test_bad_options():
    data = frame(stop=[10.0, 20.0], event=[1, 0])
    with pytest.raises(AnalysisError, match="conf_type must be 'log', 'log-log' or 'plain'"):
        kaplan_meier(data, conf_type="arcsine")  # type: ignore[arg-type]
    with pytest.raises(AnalysisError, match="landmarks must be >= 0 months"):
        kaplan_meier(data, landmarks_months=[-6])
    with pytest.raises(AnalysisError, match="covariate 'x' is constant"):
        cox_ph(data.assign(x=1.0), covariates=["x"])
    with pytest.raises(AnalysisError, match="at least one covariate"):
        cox_ph(data, covariates=[])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["0", "1", "2", "0.0", "x", ""]),
                          st.sampled_from(["event", "censored", "dead", ""])),
                min_size=0, max_size=4),
       st.text(max_size=8))
def test_event_code_parser_accepts_or_raises_analysis_error(items, column):
    text = column + ":" + ",".join(f"{c}={k}" for c, k in items)
    try:
        codes = parse_event_codes(text)
    except AnalysisError:
        return
    assert "event" in codes.codes.values()
    assert set(codes.codes.values()) <= {"event", "censored"}
    assert codes.column == column.strip()


def test_separation_is_a_convergence_warning_not_a_crash():
    from cohort.errors import ConvergenceWarning, SmallSampleWarning

    data = frame(stop=[1.0, 2, 3, 4, 5, 6, 7, 8], event=[1, 1, 1, 1, 0, 0, 0, 0],
                 x=[1.0, 1, 1, 1, 0, 0, 0, 0])
    with pytest.warns(SmallSampleWarning), pytest.warns(
            ConvergenceWarning, match="complete separation"):
        res = cox_ph(data, covariates=["x"])
    assert res.summary["ci_upper"].iloc[0] == np.inf
    assert any("complete separation" in n for n in res.notes)


def test_subjects_never_insulin_independent_are_listed_in_the_exclusions():
    # issue 13: they appeared only in the counts; the analysis of time to resumption leaves
    # them out, so the exclusions list them with the reason
    from cohort.derive.insulin import insulin_episodes

    rows = [("A", 90, 0.3), ("A", 180, 0.0), ("A", 270, 0.0),   # independent from day 180
            ("B", 90, 0.3), ("B", 180, 0.2),                    # never insulin-free
            ("C", 90, 0.3), ("C", 180, 0.0)]                    # one zero dose: too short
    m = pd.DataFrame([{"subject_id": s, "day": d, "param": "INSULIN_DOSE", "value": v,
                       "unit": "IU/kg/day"} for s, d, v in rows])
    subjects = pd.DataFrame({"subject_id": ["A", "B", "C"], "last_contact_day": [300] * 3})
    res = insulin_episodes(m, subjects)
    assert res.counts()["n_independent"] == 1
    assert res.exclusions.to_dict("records") == [
        {"subject_id": "B", "reason": "never insulin-independent (never insulin-free): no time "
                                      "to insulin resumption"},
        {"subject_id": "C", "reason": "never insulin-independent (insulin-free run too short "
                                      "for the definition): no time to insulin resumption"}]

"""Kaplan-Meier, log-rank, Cox and the interval-censored Weibull fit against R's `survival`.

The numbers come from tests/fixtures/survival/reference.R (R 4.2.2, survival 3.5.3), which
wrote them at full double precision (%.17g) next to the data it read.

Tolerances, from the precision of each reference:
- Kaplan-Meier estimates, Greenwood CIs, log-rank statistics: closed-form products and sums
  of the same numbers, so only rounding differs: rtol 1e-12.
- medians and their CIs, numbers at risk: observed times and counts, compared exactly.
- Cox coefficients, SEs, CIs, p values and cox.zph: both sides are Newton iterations; ours
  stops at the maximum (Newton step < 1e-10 relative), R's default stop (relative change in
  log-likelihood below 1e-9) leaves its coefficients up to 3.3e-9 (relative) from the maximum
  (lung's age coefficient; R with eps = 1e-14 agrees with ours to 1e-12, see
  test_survival_robust.py), so rtol 5e-9 here, 2e-8 for what is derived from them (p values
  triple a relative difference); lifelines' default stop was 7e-6 off: it fails this.
- Weibull (interval-censored): lifelines and R's survreg use different optimisers with
  gradient tolerances near 1e-7 relative; rtol 1e-5.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohort.analysis.survival import (
    MONTH_DAYS,
    at_risk_table,
    cox_ph,
    kaplan_meier,
    log_rank,
    weibull_interval,
)
from cohort.errors import SmallSampleWarning

FIX = Path(__file__).parent / "fixtures" / "survival"
KM_RTOL = 1e-12
COX_RTOL = 5e-9
R_TIMES_MONTHS = (0, 6, 12, 24, 36)


def r(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"r_{name}.csv", keep_default_na=True, na_values=["NA"])


@pytest.fixture(scope="module")
def insulin_free() -> pd.DataFrame:
    d = pd.read_csv(FIX / "insulin_free.csv")
    return d.rename(columns={"id": "subject_id", "time": "stop", "status": "event"}).assign(
        start=0.0)


@pytest.fixture(scope="module")
def delayed() -> pd.DataFrame:
    d = pd.read_csv(FIX / "delayed_entry.csv")
    return d.rename(columns={"id": "subject_id", "time": "stop", "status": "event",
                             "entry": "start"})


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = pd.read_csv(FIX / "lung.csv")
    d = d.rename(columns={"time": "stop", "status": "event"})
    return d.assign(subject_id=[f"L{i:03d}" for i in range(len(d))], start=0.0)


def assert_curve(curve: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert curve["group"].astype(str).tolist() == ref["group"].astype(str).tolist()
    np.testing.assert_array_equal(curve["time"], ref["time"])
    for col in ("n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(curve[col], ref[col], err_msg=col)
    np.testing.assert_allclose(curve["estimate"], ref["surv"], rtol=KM_RTOL, atol=1e-15)
    # reference.R's std_err is survfit's $std.err: the SE of log S
    np.testing.assert_allclose(curve["se_log_surv"], ref["std_err"], rtol=KM_RTOL)
    np.testing.assert_allclose(curve["std_err"], ref["std_err"] * ref["surv"], rtol=KM_RTOL)
    np.testing.assert_allclose(curve["ci_lower"], ref["lower"], rtol=KM_RTOL)
    np.testing.assert_allclose(curve["ci_upper"], ref["upper"], rtol=KM_RTOL)


def assert_medians(summary: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert summary["group"].astype(str).tolist() == ref["group"].astype(str).tolist()
    np.testing.assert_array_equal(summary["n"], ref["n"])
    np.testing.assert_array_equal(summary["n_events"], ref["events"])
    # observed times (or R's midpoint of a flat stretch at 0.5): exact
    np.testing.assert_array_equal(summary["estimate"], ref["median"])
    np.testing.assert_array_equal(summary["ci_lower"], ref["lower"])
    np.testing.assert_array_equal(summary["ci_upper"], ref["upper"])


@pytest.mark.parametrize("conf_type, name", [("log", "insulin_free"),
                                             ("log-log", "insulin_free_loglog"),
                                             ("plain", "insulin_free_plain")])
def test_km_by_group_against_R(insulin_free, conf_type, name):
    km = kaplan_meier(insulin_free, group="group", conf_type=conf_type)
    assert_curve(km.curve, r(f"km_{name}"))
    assert_medians(km.summary, r(f"median_{name}"))


def test_median_on_a_flat_stretch_is_the_midpoint_as_in_R(insulin_free):
    # group A is exactly 0.5 from day 365 to day 400: R reports 382.5, lifelines 365
    km = kaplan_meier(insulin_free, group="group")
    a = km.summary.set_index("group").loc["A"]
    assert a["estimate"] == 382.5
    assert a["estimate_months"] == pytest.approx(382.5 / MONTH_DAYS, rel=1e-15)


def test_km_pooled_against_R(insulin_free):
    km = kaplan_meier(insulin_free)
    assert_curve(km.curve, r("km_insulin_free_pooled").assign(group="all"))
    assert_medians(km.summary, r("median_insulin_free_pooled"))


def test_landmarks_and_at_risk_equal_R_summary_times(insulin_free):
    km = kaplan_meier(insulin_free, group="group", landmarks_months=R_TIMES_MONTHS,
                      at_risk_months=R_TIMES_MONTHS)
    ref = r("times_insulin_free")
    # R's summary(times=) drops times after a group's last observation
    land = km.landmarks[km.landmarks["note"].isna()].reset_index(drop=True)
    assert land["group"].tolist() == ref["group"].tolist()
    np.testing.assert_allclose(land["time"], ref["time"], rtol=1e-15)
    np.testing.assert_array_equal(land["n_risk"], ref["n_risk"])
    for ours, theirs in (("estimate", "surv"), ("ci_lower", "lower"), ("ci_upper", "upper")):
        np.testing.assert_allclose(land[ours], ref[theirs], rtol=KM_RTOL)
    beyond = km.landmarks[km.landmarks["note"].notna()]
    assert beyond["estimate"].isna().all()
    assert set(zip(beyond["group"], beyond["months"], strict=True)) == {
        ("A", 24.0), ("A", 36.0), ("B", 36.0), ("C", 24.0), ("C", 36.0)}
    risk = km.at_risk.merge(ref, on=["group", "time"], suffixes=("", "_r"))
    assert len(risk) == len(ref)
    for col in ("n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(risk[col], risk[f"{col}_r"], err_msg=col)
    # after the last observation nobody is at risk
    assert (km.at_risk.merge(beyond[["group", "time"]])["n_risk"] == 0).all()


@pytest.mark.parametrize("data, name", [("insulin_free", "insulin_free"), ("lung", "lung"),
                                        ("delayed", "delayed_entry")])
def test_at_risk_table_equals_R_n_risk(request, data, name):
    frame = request.getfixturevalue(data)
    group = "sex" if data == "lung" else "group"
    ref = r(f"times_{name}")
    table = at_risk_table(frame, [m * MONTH_DAYS for m in R_TIMES_MONTHS], group=group)
    merged = table.merge(ref, on=["group", "time"], suffixes=("", "_r"), validate="one_to_one")
    assert len(merged) == len(ref)
    np.testing.assert_array_equal(merged["n_risk"], merged["n_risk_r"])
    np.testing.assert_array_equal(merged["n_event"], merged["n_event_r"])
    np.testing.assert_array_equal(merged["n_censor"], merged["n_censor_r"])


def test_km_delayed_entry_against_R(delayed):
    km = kaplan_meier(delayed, group="group", landmarks_months=R_TIMES_MONTHS)
    assert_curve(km.curve, r("km_delayed_entry"))
    assert_medians(km.summary, r("median_delayed_entry"))
    ref = r("times_delayed_entry")
    land = km.landmarks[km.landmarks["note"].isna()].reset_index(drop=True)
    np.testing.assert_array_equal(land["n_risk"], ref["n_risk"])
    np.testing.assert_allclose(land["estimate"], ref["surv"], rtol=KM_RTOL)


def test_entry_on_an_event_day_is_not_at_risk_that_day():
    # lifelines would count the two rows entering on day 100 as at risk on day 100; R does not
    et = pd.read_csv(FIX / "entry_ties.csv").rename(
        columns={"id": "subject_id", "entry": "start", "time": "stop", "status": "event"})
    km = kaplan_meier(et, landmarks_months=(0, 3, 5, 6, 8))
    assert_curve(km.curve, r("km_entry_ties").assign(group="all"))
    ref = r("times_entry_ties")
    np.testing.assert_array_equal(km.at_risk["n_risk"], ref["n_risk"])
    np.testing.assert_array_equal(km.at_risk["n_event"], ref["n_event"])


def test_km_lung_against_R(lung):
    km = kaplan_meier(lung, group="sex")
    assert_curve(km.curve, r("km_lung"))
    assert_medians(km.summary, r("median_lung"))


def test_logrank_against_R_survdiff(insulin_free, lung):
    lr = log_rank(insulin_free, group="group")
    ref = r("survdiff_insulin_free")
    overall = lr.summary.iloc[0]
    assert overall["comparison"] == "overall"
    assert overall["df"] == ref["df"][0]
    np.testing.assert_allclose(overall["statistic"], ref["chisq"][0], rtol=1e-10)
    np.testing.assert_allclose(overall["p"], ref["p"][0], rtol=1e-10)
    pw = lr.summary.iloc[1:].reset_index(drop=True)
    ref_pw = r("survdiff_pairwise_insulin_free")
    assert pw["group1"].tolist() == ref_pw["group1"].tolist()
    assert pw["group2"].tolist() == ref_pw["group2"].tolist()
    np.testing.assert_allclose(pw["statistic"], ref_pw["chisq"], rtol=1e-10)
    np.testing.assert_allclose(pw["p"], ref_pw["p"], rtol=1e-10)
    # Holm over 3 pairs, by hand from R's p values
    p = ref_pw["p"].to_numpy()
    order = np.argsort(p)
    holm = np.empty(3)
    holm[order] = np.minimum(np.maximum.accumulate(p[order] * [3, 2, 1]), 1)
    np.testing.assert_allclose(pw["p_holm"], holm, rtol=1e-10)
    two = log_rank(lung, group="sex").summary
    assert len(two) == 1  # no pairwise rows for two groups
    np.testing.assert_allclose(two["statistic"], r("survdiff_lung")["chisq"], rtol=1e-10)
    ecog = lung[lung["ph_ecog"] < 3]
    three = log_rank(ecog, group="ph_ecog", pairwise=False).summary
    np.testing.assert_allclose(three["statistic"], r("survdiff_lung_ecog")["chisq"], rtol=1e-10)
    np.testing.assert_allclose(three["p"], r("survdiff_lung_ecog")["p"], rtol=1e-10)


def test_logrank_delayed_entry_equals_cox_score_test(delayed):
    # survdiff has no counting-process form; without tied event times the log-rank test is
    # the Cox score test, which R computes on (start, stop] data
    lr = log_rank(delayed, group="group", pairwise=False)
    ref = r("logrank_delayed_entry")
    np.testing.assert_allclose(lr.summary["statistic"], ref["chisq"], rtol=1e-10)
    np.testing.assert_allclose(lr.summary["p"], ref["p"], rtol=1e-10)
    assert lr.summary["df"].tolist() == ref["df"].tolist()


def test_counting_process_logrank_equals_survdiff_without_delayed_entry(insulin_free):
    from cohort.analysis.logrank import _logrank_counting

    d = insulin_free
    chisq, df, table = _logrank_counting(d["start"].to_numpy(), d["stop"].to_numpy(float),
                                         d["event"].to_numpy(bool), d["group"].to_numpy())
    np.testing.assert_allclose(chisq, r("survdiff_insulin_free")["chisq"][0], rtol=1e-10)
    assert df == 2
    assert table["observed"].sum() == d["event"].sum()


def assert_cox(res, ref: pd.DataFrame) -> None:
    s = res.summary
    assert s["term"].tolist() == ref["term"].tolist()
    for ours, theirs in (("coef", "coef"), ("se", "se"), ("estimate", "hr"),
                         ("ci_lower", "hr_lower"), ("ci_upper", "hr_upper"), ("z", "z"),
                         ("p", "p")):
        np.testing.assert_allclose(s[ours], ref[theirs], rtol=COX_RTOL if ours == "coef"
                                   else 4 * COX_RTOL, err_msg=ours)
    assert (s["n"] == ref["n"]).all()
    assert (s["n_events"] == ref["nevent"]).all()
    np.testing.assert_allclose(res.loglik, ref["loglik"][0], rtol=1e-10)


def assert_zph(ph: pd.DataFrame, ref: pd.DataFrame) -> None:
    assert ph["term"].tolist() == ref["term"].tolist()
    assert ph["df"].tolist() == ref["df"].tolist()
    np.testing.assert_allclose(ph["chisq"], ref["chisq"], rtol=1e-6)
    np.testing.assert_allclose(ph["p"], ref["p"], rtol=1e-6)


def test_cox_efron_and_zph_against_R(insulin_free):
    with pytest.warns(SmallSampleWarning, match="20 events for 3 Cox coefficient"):
        res = cox_ph(insulin_free, covariates=["group", "age"])
    assert_cox(res, r("coxph_insulin_free"))
    assert_zph(res.ph_test, r("coxzph_insulin_free"))
    assert res.params["ties"] == "efron"


def test_cox_lung_with_missing_covariate_against_R(lung):
    res = cox_ph(lung, covariates=["age", "sex", "ph_ecog"])
    assert_cox(res, r("coxph_lung"))
    assert_zph(res.ph_test, r("coxzph_lung"))
    # R drops the row with a missing ph.ecog silently; we count it
    assert res.exclusions.to_dict("records") == [{"subject_id": "L013",
                                                  "reason": "missing ph_ecog"}]


def test_cox_delayed_entry_and_zph_against_R(delayed):
    with pytest.warns(SmallSampleWarning):
        res = cox_ph(delayed, covariates=["group", "age"])
    assert_cox(res, r("coxph_delayed_entry"))
    assert_zph(res.ph_test, r("coxzph_delayed_entry"))


def test_weibull_interval_censored_against_R_survreg(insulin_free):
    res = weibull_interval(insulin_free)
    ref = r("survreg_weibull_interval").iloc[0]
    s = res.summary.set_index("parameter")
    np.testing.assert_allclose(s.loc["lambda", "estimate"], ref["lambda"], rtol=1e-5)
    np.testing.assert_allclose(s.loc["rho", "estimate"], ref["rho"], rtol=1e-5)
    np.testing.assert_allclose(s.loc["median", "estimate"], ref["median"], rtol=1e-5)
    # delta method from R's (log lambda, log scale) parametrisation
    np.testing.assert_allclose(s.loc["lambda", "se"], ref["lambda"] * ref["se_intercept"],
                               rtol=1e-4)
    np.testing.assert_allclose(s.loc["rho", "se"], ref["rho"] * ref["se_log_scale"], rtol=1e-4)
    np.testing.assert_allclose(s.loc["lambda", "loglik"], ref["loglik"], rtol=1e-8)
    land = res.landmarks.set_index("months")["estimate"]
    np.testing.assert_allclose(land[12.0], np.exp(-(12 * MONTH_DAYS / ref["lambda"])
                                                  ** ref["rho"]), rtol=1e-5)


def test_lifelines_warnings_do_not_escape(insulin_free):
    # pytest turns warnings into errors: a clean fit must not leak any lifelines warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kaplan_meier(insulin_free, group="group")
        log_rank(insulin_free, group="group")
        weibull_interval(insulin_free, group="group")

"""ANCOVA per visit against R's lm + emmeans (its MMRM option: tests/test_mmrm_analysis.py).

Reference: tests/fixtures/regression/regression.R (datasets ancova_week8/12, ancova_cov_*,
mixed). Tolerance 1e-6 relative (R printed 17 digits; both sides solve the same least-squares
problem).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_regression_data import ancova_cohort, measurement_rows, r_value

from cohort.analysis.ancova import ancova_analysis, poly_linear
from cohort.errors import AnalysisError

RTOL = 1e-6
ARMS = ["placebo", "low", "mid", "high"]
VISIT = {"day 56": "week8", "day 84": "week12"}


@pytest.fixture(scope="module")
def anc():
    return ancova_cohort()


@pytest.fixture(scope="module")
def result(anc):
    return ancova_analysis(anc.measurements, anc.subjects, anc.infusions,
                           visit_days=[56, 84], adjust="holm")


def close(a, b, rtol=RTOL):
    assert a == pytest.approx(b, rel=rtol, abs=1e-12)


def test_coefficients_match_lm(result):
    for visit, wk in VISIT.items():
        co = result.coefficients[result.coefficients.visit == visit].set_index("term")
        assert list(co.index) == ["(Intercept)", "armlow", "armmid", "armhigh", "baseline"]
        for term in co.index:
            for col, q in (("estimate", "estimate"), ("se", "se"), ("t", "t"), ("p", "p")):
                close(co.loc[term, col], r_value(f"ancova_{wk}", f"coef:{term}:{q}"))


def test_lsmeans_contrasts_trend_match_emmeans(result):
    s = result.summary
    for visit, wk in VISIT.items():
        ds = f"ancova_{wk}"
        ls = s[(s.visit == visit) & (s.kind == "lsmean")].set_index("arm")
        assert list(ls.index) == ARMS
        for arm in ARMS:
            close(ls.loc[arm, "estimate"], r_value(ds, f"lsmean:{arm}:estimate"))
            close(ls.loc[arm, "se"], r_value(ds, f"lsmean:{arm}:se"))
            close(ls.loc[arm, "ci_lower"], r_value(ds, f"lsmean:{arm}:lower"))
            close(ls.loc[arm, "ci_upper"], r_value(ds, f"lsmean:{arm}:upper"))
        vs = s[(s.visit == visit) & (s.kind == "vs_reference")].set_index("arm")
        assert (vs["reference"] == "placebo").all()
        for arm in ARMS[1:]:
            lab = f"vs:{arm} - placebo"
            for col, q in (("estimate", "estimate"), ("se", "se"), ("ci_lower", "lower"),
                           ("ci_upper", "upper"), ("statistic", "t"), ("p", "p")):
                close(vs.loc[arm, col], r_value(ds, f"{lab}:{q}"))
            close(vs.loc[arm, "p_adjusted"], r_value(ds, f"vs_holm:{arm} - placebo:p"))
        tr = s[(s.visit == visit) & (s.kind == "trend")].iloc[0]
        for col, q in (("estimate", "estimate"), ("se", "se"), ("ci_lower", "lower"),
                       ("ci_upper", "upper"), ("statistic", "t"), ("p", "p")):
            close(tr[col], r_value(ds, f"trend:linear:{q}"))
        assert tr["arm"] == "placebo < low < mid < high"


def test_covariates_numeric_and_categorical(anc):
    res = ancova_analysis(anc.measurements, anc.subjects, anc.infusions, visit_days=[56, 84],
                          covariates=["age_years", "sex"], trend=False)
    for visit, wk in VISIT.items():
        ds = f"ancova_cov_{wk}"
        co = res.coefficients[res.coefficients.visit == visit].set_index("term")
        names = {"age_years": "age", "sexM": "sexM"}
        for term in co.index:
            rterm = names.get(term, term)
            close(co.loc[term, "estimate"], r_value(ds, f"coef:{rterm}:estimate"))
            close(co.loc[term, "se"], r_value(ds, f"coef:{rterm}:se"))
        s = res.summary
        ls = s[(s.visit == visit) & (s.kind == "lsmean")].set_index("arm")
        for arm in ARMS:
            # emmeans: age at its mean, sex averaged with equal weights (not by frequency)
            close(ls.loc[arm, "estimate"], r_value(ds, f"lsmean:{arm}:estimate"))
            close(ls.loc[arm, "se"], r_value(ds, f"lsmean:{arm}:se"))
        vs = s[(s.visit == visit) & (s.kind == "vs_reference")].set_index("arm")
        for arm in ARMS[1:]:
            close(vs.loc[arm, "estimate"], r_value(ds, f"vs:{arm} - placebo:estimate"))
            close(vs.loc[arm, "p"], r_value(ds, f"vs:{arm} - placebo:p"))


def test_poly_coefficients_match_emmeans():
    assert poly_linear(2).tolist() == [-1, 1]
    assert poly_linear(3).tolist() == [-1, 0, 1]
    assert poly_linear(4).tolist() == [-3, -1, 1, 3]
    assert poly_linear(5).tolist() == [-2, -1, 0, 1, 2]


def test_exclusions_are_counted(anc):
    # A01 loses its week-8 value window: move it to day 70 (outside 56 +/- 8)
    meas = anc.measurements.copy()
    sel = (meas.subject_id == "A01") & (meas.day == 56)
    meas.loc[sel, "day"] = 70
    meas = meas[~((meas.subject_id == "A02") & (meas.day == -3))]
    res = ancova_analysis(meas, anc.subjects, anc.infusions, visit_days=[56, 84])
    ex = res.exclusions
    assert set(map(tuple, ex[["subject_id", "visit"]].to_numpy())) == {
        ("A01", "day 56"), ("A02", "day 56"), ("A02", "day 84")}
    assert ex.set_index(["subject_id", "visit"]).loc[("A02", "day 84"), "reason"] == \
        "no baseline HBA1C in days [-90, 0]"
    s = res.summary
    assert (s.loc[s.visit == "day 56", "n_excluded"] == 2).all()
    assert s.loc[(s.visit == "day 56") & (s.kind == "lsmean") & (s.arm == "placebo"),
                 "n"].iloc[0] == 5


def test_single_arm_is_a_clear_error(anc):
    subj = anc.subjects.copy()
    subj["arm"] = "MSC"
    with pytest.raises(AnalysisError, match=r"needs at least two arms.*cohort analyze paired"):
        ancova_analysis(anc.measurements, subj, None, visit_days=[84])


def test_missing_parameter_and_visit(anc):
    with pytest.raises(AnalysisError, match="no FPG measurements"):
        ancova_analysis(anc.measurements, anc.subjects, param="FPG", visit_days=[84])
    with pytest.raises(AnalysisError, match="no subject has both a baseline"):
        ancova_analysis(anc.measurements, anc.subjects, visit_days=[365])


def test_identical_values_are_a_clear_error(anc):
    meas = anc.measurements.copy()
    meas["value"] = 7.0
    with pytest.raises(AnalysisError, match="same response"):
        ancova_analysis(meas, anc.subjects, visit_days=[84])


def test_constant_covariate_is_named(anc):
    with pytest.raises(AnalysisError, match=r"covariate .diabetes_type. has only one level"):
        ancova_analysis(anc.measurements, anc.subjects, visit_days=[84],
                        covariates=["diabetes_type"])


def test_missing_covariate_rows_are_excluded(anc):
    subj = anc.subjects.copy()
    subj.loc[subj.subject_id == "A05", "age_years"] = np.nan
    res = ancova_analysis(anc.measurements, subj, visit_days=[84], covariates=["age_years"])
    row = res.exclusions.set_index("subject_id").loc["A05"]
    assert row["reason"] == "age_years missing"


def test_bad_adjust_and_reference(anc):
    with pytest.raises(AnalysisError, match="unknown multiplicity adjustment"):
        ancova_analysis(anc.measurements, anc.subjects, visit_days=[84], adjust="magic")
    with pytest.raises(AnalysisError, match="reference arm 'nope'"):
        ancova_analysis(anc.measurements, anc.subjects, visit_days=[84], reference="nope")


def test_json_round_trip(result):
    import json
    d = json.loads(json.dumps(result.to_dict()))
    assert d["analysis"] == "Ancova"
    assert {"visit", "kind", "arm", "estimate", "p"} <= set(d["summary"][0])
    assert d["coefficients"][0]["term"] == "(Intercept)"


def test_arm_without_subjects_at_visit(anc):
    # only placebo keeps a week-12 value: the comparison is impossible at that visit
    meas = anc.measurements
    keep = ~((meas.day == 84) & ~meas.subject_id.isin(
        anc.subjects.loc[anc.subjects.arm == "placebo", "subject_id"]))
    extra = measurement_rows(["A01"], 200, [7.0])
    with pytest.raises(AnalysisError, match="only arm"):
        ancova_analysis(pd.concat([meas[keep], extra]), anc.subjects, visit_days=[84])

"""Responder endpoints: criteria parsing, flags, medication dose reduction, and rates and
comparisons against R (binom.test, fisher.test, prop.test numbers in proportions_r.csv)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_proportions import r_value as r_prop
from test_regression_data import measurement_rows, subjects_frame

import cohort
from cohort.analysis.responders import (
    Criterion,
    MedicationCriterion,
    medication_reduction,
    parse_criterion,
    responder_analysis,
    responder_flags,
)
from cohort.derive.visits import Visit
from cohort.errors import AnalysisError


def skyler_cohort():
    """Week-12 HbA1c < 7% in 5/15 on the top dose and 0/16 on placebo (Skyler 2015)."""
    ids_p = [f"P{i:02d}" for i in range(16)]
    ids_h = [f"H{i:02d}" for i in range(15)]
    ids_x = ["X01"]  # top dose, no week-12 value
    wk12_p = np.linspace(7.2, 9.0, 16)
    wk12_h = np.r_[np.linspace(6.4, 6.9, 5), np.linspace(7.1, 8.8, 10)]
    subj = pd.concat([
        subjects_frame(ids_p, ["placebo"] * 16, control=[True] * 16),
        subjects_frame(ids_h + ids_x, ["2.0e6/kg"] * 16, control=[False] * 16)])
    meas = pd.concat([
        measurement_rows(ids_p + ids_h + ids_x, -7, np.full(32, 8.2)),
        measurement_rows(ids_p, 84, wk12_p), measurement_rows(ids_h, 85, wk12_h),
        measurement_rows(ids_x, 30, [7.9])])
    ids_t = ids_h + ids_x
    inf = pd.DataFrame({
        "subject_id": ids_p + ids_t, "infusion_number": 1, "day": 0,
        "source": ["placebo"] * 16 + ["bone_marrow"] * 16,
        "donor": ["none"] * 16 + ["allogeneic"] * 16, "route": "intravenous",
        "dose_cells_per_kg": [0.0] * 16 + [2e6] * 16, "dose_cells_total": np.nan})
    return cohort.from_frames({"subjects": subj, "measurements": meas, "infusions": inf})


@pytest.fixture(scope="module")
def sky():
    return skyler_cohort()


def test_skyler_week12_responders(sky):
    res = responder_analysis(sky.measurements, sky.subjects, visit_days=[84])
    s = res.summary
    rate = s[s.kind == "rate"].set_index("arm")
    assert rate.loc["2.0e6/kg", ["x", "n"]].tolist() == [5, 15]
    assert rate.loc["placebo", ["x", "n"]].tolist() == [0, 16]
    assert rate.loc["2.0e6/kg", "n_excluded"] == 1
    # Clopper-Pearson = binom.test; Wilson = prop.test(correct=FALSE)
    assert rate.loc["2.0e6/kg", "ci_lower"] == pytest.approx(
        r_prop("skyler_wk12", "binom_lower"), rel=1e-6)
    assert rate.loc["2.0e6/kg", "wilson_upper"] == pytest.approx(
        r_prop("skyler_wk12", "prop1_nocc_upper"), rel=1e-6)
    fisher = s[s.kind == "fisher_exact"].iloc[0]
    assert fisher["p"] == pytest.approx(r_prop("skyler_wk12", "fisher_p"), rel=1e-6)
    assert fisher["arm"] == "2.0e6/kg" and fisher["reference"] == "placebo"
    chi = s[(s.kind == "chi_square") & s.method.str.startswith("Pearson,")].iloc[0]
    assert chi["p"] == pytest.approx(r_prop("skyler_wk12", "chisq_cc_p"), rel=1e-6)
    newc = s[(s.kind == "risk_difference") & (s.method == "Newcombe hybrid score")].iloc[0]
    assert newc["ci_lower"] == pytest.approx(r_prop("skyler_wk12", "newcombe_lower"),
                                             rel=1e-6)
    ex = res.exclusions.set_index("subject_id")
    assert ex.loc["X01", "reason"].startswith("HBA1C < 7: no HBA1C in days")


def test_missing_as_nonresponder(sky):
    res = responder_analysis(sky.measurements, sky.subjects, visit_days=[84],
                             missing="nonresponder")
    rate = res.summary[res.summary.kind == "rate"].set_index("arm")
    assert rate.loc["2.0e6/kg", ["x", "n"]].tolist() == [5, 16]
    assert "counted as non-responder" in res.exclusions["reason"].iloc[0]


def test_composite_with_insulin_and_medications():
    ids = ["A", "B", "C", "D", "E"]
    subj = subjects_frame(ids, ["MSC"] * 5, control=[False] * 5)
    subj.loc[subj.subject_id == "E", "last_contact_day"] = 200
    meas = pd.concat([
        measurement_rows(ids, -1, [8.0, 8.0, 8.0, 8.0, 8.0]),
        measurement_rows(ids[:4], 365, [6.8, 6.9, 7.4, 6.5]),
        measurement_rows(ids, -1, [0.6, 0.5, 0.5, 0.0, 0.4], "INSULIN_DOSE", "IU/kg/day"),
        measurement_rows(ids[:4], 360, [0.2, 0.3, 0.1, 0.0], "INSULIN_DOSE", "IU/kg/day")])
    meds = pd.DataFrame({
        "subject_id": ["A", "A", "B", "C", "E"], "drug_class": "insulin",
        "start_day": [-300, 101, -300, -300, -300], "end_day": [100, None, None, 50, None],
        "daily_dose": [40.0, 18.0, 30.0, 30.0, 20.0], "unit": "IU/day"})
    inf = pd.DataFrame({"subject_id": ids, "infusion_number": 1, "day": 0,
                        "source": "bone_marrow", "donor": "autologous",
                        "route": "intravenous", "dose_cells_per_kg": 1e6,
                        "dose_cells_total": np.nan})
    c = cohort.from_frames({"subjects": subj, "measurements": meas, "medications": meds,
                            "infusions": inf})
    visit = Visit("month 12", 365, 320, 410)
    red = medication_reduction(c.medications, c.subjects, drug_class="insulin", day=365,
                               min_day=320).set_index("subject_id")
    assert red.loc["A", "reduction_pct"] == pytest.approx(55.0)
    assert red.loc["C", "reduction_pct"] == pytest.approx(100.0)
    assert red.loc["D", "reason"] == "not on insulin on day 0"
    assert red.loc["E", "reason"] == "last contact on day 200, before day 320"
    flags = responder_flags(c.measurements, c.subjects, c.medications, visit=visit, criteria=[
        "HBA1C < 7", "INSULIN_DOSE pct_change <= -50", "med:insulin >= 50"]).set_index(
        "subject_id")
    assert bool(flags.loc["A", "responder"])  # 6.8%, insulin -67%, medication -55%
    assert not bool(flags.loc["B", "responder"])  # insulin only -40%
    assert not bool(flags.loc["C", "responder"])  # HbA1c 7.4
    # D: insulin 0 at baseline -> percent change undefined, explained
    assert flags.loc["D", "reason"].startswith(
        "INSULIN_DOSE pct_change <= -50: baseline is 0")
    assert pd.isna(flags.loc["D", "responder"])
    assert flags.loc["E", "reason"].startswith("HBA1C < 7: no HBA1C in days [320, 410]")
    anyof = responder_flags(c.measurements, c.subjects, c.medications, visit=visit,
                            criteria=["HBA1C < 7", "med:insulin >= 50"], combine="any")
    assert bool(anyof.set_index("subject_id").loc["C", "responder"])
    res = responder_analysis(c.measurements, c.subjects, c.medications, visit_days=[365],
                             criteria=["med:insulin >= 50"])
    assert any("one arm" in n for n in res.notes)
    rate = res.summary.iloc[0]
    assert (rate["x"], rate["n"]) == (2, 3)


def test_medication_criterion_needs_table(sky):
    with pytest.raises(AnalysisError, match="needs the medications table"):
        responder_analysis(sky.measurements, sky.subjects, None, visit_days=[84],
                           criteria=["med:insulin >= 50"])


def test_parse_criterion_forms():
    assert parse_criterion("HBA1C<7") == Criterion("HBA1C", "value", "<", 7.0)
    assert parse_criterion(" hba1c value <= 6.5 ") == Criterion("HBA1C", "value", "<=", 6.5)
    assert parse_criterion("INSULIN_DOSE pct_change <= -50") == Criterion(
        "INSULIN_DOSE", "pct_change", "<=", -50.0)
    assert parse_criterion("CPEP_FAST:change>0.1") == Criterion("CPEP_FAST", "change", ">",
                                                                0.1)
    assert parse_criterion("med:insulin >= 50%") == MedicationCriterion("insulin", 50.0)
    for bad in ("HBA1C == 7", "__import__('os') < 1", "HBA1C < seven", "med:insulin <= 50",
                "", "HBA1C pct < 5", "med:insulin >= 150"):
        with pytest.raises(AnalysisError):
            parse_criterion(bad)


@given(st.text(max_size=40))
def test_parse_criterion_never_crashes(text):
    try:
        crit = parse_criterion(text)
    except AnalysisError:
        return
    assert crit.label


@given(param=st.sampled_from(["HBA1C", "FPG", "INSULIN_DOSE"]),
       measure=st.sampled_from(["value", "change", "pct_change"]),
       op=st.sampled_from(["<", "<=", ">", ">="]),
       num=st.floats(-1e6, 1e6, allow_nan=False))
def test_parse_round_trip(param, measure, op, num):
    crit = Criterion(param, measure, op, num)
    text = f"{param} {measure} {op} {num!r}"
    assert parse_criterion(text) == crit

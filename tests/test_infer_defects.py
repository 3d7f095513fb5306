"""Regression tests for defects that looked right (issue 13), each failing before its fix.

* responder ``change`` criteria compared values with their threshold without a tolerance:
  HbA1c 8.2 -> 7.7 (a change of -0.4999999999999991 in binary floating point) was "not <=
  -0.5"; responders and C-peptide remission now share one comparison
  (:func:`cohort.derive.thresholds.meets_threshold`);
* ``predict --external ... --population treated`` validated the stored model on every
  subject: a maximum-likelihood model fitted on the treated subjects has observed/expected
  exactly 1 on those subjects (the score equation of the intercept), which only holds if
  the validation uses the same subjects.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import cohort
from cohort.analysis.responder_status import responder_flags
from cohort.analysis.responders import responder_analysis
from cohort.cli.app import app
from cohort.derive.thresholds import meets_threshold, tie_tolerance
from cohort.derive.visit_windows import make_visits

FIX = Path(__file__).parent / "fixtures" / "reproduce"


def test_threshold_ties_hand_derived():
    change = 7.7 - 8.2
    assert change != -0.5  # the floating-point trap itself
    assert meets_threshold(change, "<=", -0.5)
    assert not meets_threshold(change, "<", -0.5)
    pct = 100 * (0.33 - 0.30) / 0.30
    assert meets_threshold(pct, ">=", 10) and not meets_threshold(pct, ">", 10)
    # real differences are never absorbed: 1e-6 is far above the tolerance
    assert not meets_threshold(-0.5 + 1e-6, "<=", -0.5)
    assert meets_threshold(-0.5 - 1e-6, "<", -0.5)
    assert tie_tolerance(-0.5) == 1e-9 and tie_tolerance(200.0) == pytest.approx(2e-7)
    np.testing.assert_array_equal(meets_threshold(np.array([np.nan, 6.9, 7.0]), "<", 7),
                                  [False, True, False])


def test_responder_change_criterion_counts_the_tie_on_nguyen2021():
    """NG-020: HbA1c 8.2 at baseline, 7.7 on day 35: a fall of 0.5, so a responder for
    "HBA1C change <= -0.5" at the month-1 visit; the pancreatic-artery arm has 6/15
    responders (5/15 before the fix)."""
    c = cohort.load_cohort(FIX / "nguyen2021")
    visit = make_visits([30])[0]
    flags = responder_flags(c.measurements, c.subjects, visit=visit,
                            criteria=["HBA1C change <= -0.5"]).set_index("subject_id")
    assert bool(flags.loc["NG-020", "responder"]) is True
    res = responder_analysis(c.measurements, c.subjects, criteria=["HBA1C change <= -0.5"],
                             visit_days=[30])
    rates = res.summary[res.summary["kind"] == "rate"].set_index("arm")
    assert (rates.loc["pancreatic artery", "x"], rates.loc["pancreatic artery", "n"]) == (6, 15)
    assert (rates.loc["intravenous", "x"], rates.loc["intravenous", "n"]) == (7, 15)


def test_remission_uses_the_same_comparison():
    """+10% exactly (0.30 -> 0.33 nmol/L) is a rise under the inclusive rule, not under the
    exclusive one: the remission rule goes through meets_threshold too."""
    from cohort.derive.remission import RemissionRule, derive_remission

    m = pd.DataFrame({"subject_id": ["S1", "S1"], "day": [0, 365], "param": "CPEP_FAST",
                      "value": [0.30, 0.33], "unit": "nmol/L"})
    incl = derive_remission(m, rule=RemissionRule(markers=("CPEP_FAST",)))
    excl = derive_remission(m, rule=RemissionRule(markers=("CPEP_FAST",), inclusive=False))
    assert bool(incl["remission"].iloc[0]) is True
    assert bool(excl["remission"].iloc[0]) is False


@pytest.fixture(scope="module")
def treated_model(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "model.json"
    res = CliRunner().invoke(app, ["analyze", "remission", str(FIX / "lu2021"),
                                   "-p", "adult_onset", "-p", "baseline_cpep_fast_nmol_l",
                                   "--method", "ml", "--population", "treated",
                                   "--save-model", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    return out


def test_external_validation_honours_population(treated_model):
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", "predict", str(FIX / "lu2021"), "--external",
                              str(treated_model), "--population", "treated",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    ext = json.loads(res.stdout)["external"]
    summary = {r["metric"]: r for r in ext["summary"]}
    assert summary["auc"]["n"] == 27  # the treated subjects, not all 53
    assert ext["params"]["population"] == "treated"
    # ML with an intercept reproduces the event count on its own data: O/E = 1
    assert summary["observed_expected"]["estimate"] == pytest.approx(1.0, abs=1e-6)
    controls = [e for e in ext["exclusions"] if e["reason"].startswith("control arm")]
    assert len(controls) == 26
    # and the AUC equals the one computed by hand on the treated rows
    from sklearn.metrics import roc_auc_score

    from cohort.analysis.external import external_validation
    from cohort.derive.remission_dataset import remission_dataset

    c = cohort.load_cohort(FIX / "lu2021")
    table = remission_dataset(c.measurements, c.subjects, c.infusions)
    api = external_validation(treated_model, table, population="treated")
    preds = api.predictions
    assert set(preds["subject_id"]) == set(table.loc[~table["control"], "subject_id"])
    assert summary["auc"]["estimate"] == pytest.approx(
        roc_auc_score(preds["outcome"], preds["predicted"]), rel=1e-12)
    everyone = json.loads(runner.invoke(app, [
        "analyze", "predict", str(FIX / "lu2021"), "--external", str(treated_model),
        "--format", "json"]).stdout)["external"]
    assert {r["metric"]: r for r in everyone["summary"]}["auc"]["n"] == 53


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(v=st.floats(-1e6, 1e6, allow_nan=False), t=st.floats(-1e6, 1e6, allow_nan=False))
def test_threshold_operators_are_complementary(v, t):
    """Whatever the values: <= and > (and >= and <) partition the line, a value on the
    threshold meets <= and >=, and the tolerance never exceeds 1e-9 of the threshold's size."""
    assert meets_threshold(v, "<=", t) != meets_threshold(v, ">", t)
    assert meets_threshold(v, ">=", t) != meets_threshold(v, "<", t)
    assert meets_threshold(t, "<=", t) and meets_threshold(t, ">=", t)
    if abs(v - t) > tie_tolerance(t):
        assert meets_threshold(v, "<=", t) == (v <= t)

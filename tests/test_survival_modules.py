"""The survival package layout: names importable from cohort.analysis.survival, warnings that
point at the caller's line whichever module raises them."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import cohort.analysis.survival as survival
from cohort.analysis import (
    concordance,
    cox,
    interval_censored,
    kaplan_meier,
    logrank,
    ph_test,
    risk_sets,
)
from cohort.errors import SmallSampleWarning

FIX = Path(__file__).parent / "fixtures" / "survival"

PUBLIC = {
    kaplan_meier: ["ConfType", "KaplanMeierResult", "kaplan_meier"],
    risk_sets: ["DEFAULT_LANDMARKS_MONTHS", "MONTH_DAYS", "at_risk_table"],
    logrank: ["LogRankResult", "log_rank"],
    cox: ["MIN_EVENTS_PER_PARAMETER", "CoxResult", "cox_ph"],
    concordance: ["Concordance", "concordance"],
    ph_test: ["ph_test"],
    interval_censored: ["IntervalCensoredResult", "weibull_interval"],
}


def test_every_public_name_is_reexported():
    for module, names in PUBLIC.items():
        assert set(names) <= set(module.__all__)
        for name in names:
            assert getattr(survival, name) is getattr(module, name), name
            assert name in survival.__all__


def test_small_sample_warning_points_at_the_caller():
    data = pd.read_csv(FIX / "insulin_free.csv").rename(
        columns={"id": "subject_id", "time": "stop", "status": "event"}).assign(start=0.0)
    with pytest.warns(SmallSampleWarning) as direct:
        survival.cox_ph(data, covariates=["group", "age"])
    with warnings.catch_warnings(record=True) as nested:
        warnings.simplefilter("always")
        survival.analyze_survival(data, group="group", covariates=["age"])
    assert [w.filename for w in direct] == [__file__]
    assert [w.filename for w in nested if w.category is SmallSampleWarning] == [__file__]

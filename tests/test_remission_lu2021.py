"""Acceptance on the synthetic lu2021 cohort (synthetic/lu2021/cohort, seed 340): the published
remission count in the MSC arm (Lu 2021 abstract: 40.7% of 27 = 11) and the direction of both
published predictors of remission (lower baseline fasting C-peptide, higher UC-MSC dose) in the
multivariable model fitted within the treated arm (dose is 0 for every control)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import cohort
from cohort.analysis.remission import remission_analysis
from cohort.errors import SmallSampleWarning

LU = Path(__file__).resolve().parents[1] / "synthetic" / "lu2021" / "cohort"
PREDICTORS = ["baseline_cpep_fast_nmol_l", "dose_1e6_cells_per_kg"]


@pytest.fixture(scope="module")
def lu():
    if not LU.is_dir():
        pytest.skip("synthetic/lu2021/cohort is not in this checkout")
    return cohort.load_cohort(LU)


@pytest.fixture(scope="module", params=["ml", "firth"])
def result(lu, request):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # 11 events, 2 predictors
        return remission_analysis(lu.measurements, lu.subjects, lu.infusions,
                                  predictors=PREDICTORS, population="treated",
                                  method=request.param)


def test_msc_remission_is_11_of_27(result):
    s = result.summary
    overall = s.loc[s["subgroup_by"] == "all"].set_index("arm")
    assert overall.loc["UC-MSC", ["x", "n"]].tolist() == [11, 27]
    assert overall.loc["standard care", "n"] == 26
    assert len(result.exclusions) == 0
    fisher = result.comparisons.query("subgroup_by == 'all' and measure == 'fisher_exact'")
    assert fisher["p"].iloc[0] < 0.05


def test_model_recovers_both_published_directions(result):
    m = result.model
    assert m.model["n"] == 27 and m.model["n_events"] == 11
    coef = m.summary.set_index("term")["estimate"]
    assert coef["baseline_cpep_fast_nmol_l"] < 0   # lower baseline C-peptide -> remission
    assert coef["dose_1e6_cells_per_kg"] > 0       # higher dose -> remission

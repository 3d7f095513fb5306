"""The report's prediction part says when the data are too few to judge a model (events per
variable, the DeLong CI of the cross-validated AUC covering 0.5) instead of presenting it as a
result; the DeLong interval against R pROC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_helpers import Page, fast_resampling

from cohort.analysis.auc_ci import auc_delong
from cohort.errors import AnalysisError
from cohort.report import cpeptide
from cohort.report.context import ReportContext, run_section
from cohort.report.html import HtmlReport

FIXTURES = Path(__file__).parent / "fixtures" / "report"


def test_auc_delong_against_r_proc() -> None:
    data = pd.read_csv(FIXTURES / "auc_delong_data.csv")
    want = pd.read_csv(FIXTURES / "auc_delong.csv").set_index("case")
    for case, g in data.groupby("case"):
        got = auc_delong(g["y"].to_numpy(), g["score"].to_numpy())
        ref = want.loc[case]
        # R printed 15 significant digits
        np.testing.assert_allclose([got.auc, got.se, got.ci_lower, got.ci_upper],
                                   ref[["auc", "se", "ci_lower", "ci_upper"]].to_numpy(float),
                                   rtol=1e-12, atol=1e-14)
    # case 1 is the hand-checkable one: 8 of 9 event/non-event pairs ordered right
    assert auc_delong([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9]).auc == 8 / 9


def test_auc_delong_refuses_what_it_cannot_compute() -> None:
    with pytest.raises(AnalysisError, match="1 events and 0 non-events"):
        auc_delong([1], [0.3])
    with pytest.raises(AnalysisError, match="one length"):
        auc_delong([1, 0], [0.3])
    with pytest.raises(AnalysisError, match="missing"):
        auc_delong([1, 0], [0.3, np.nan])


@pytest.mark.parametrize(("events", "n", "k", "too_few"), [
    (11, 53, 2, "11 remissions for 2 predictors: 5.5 events per variable"),
    (20, 53, 2, None),                   # 20 of the rarer outcome for 2 predictors: EPV 10
    (45, 53, 1, "8 non-remissions for 1 predictor: 8.0 events per variable"),
    (19, 53, 2, "19 remissions for 2 predictors: 9.5 events per variable"),
])
def test_events_per_variable(events: int, n: int, k: int, too_few: str | None) -> None:
    got = cpeptide.judge_epv(events, n, k)
    assert (got is None) if too_few is None else got.startswith(too_few)


def _data(n: int, *, signal: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cpep = rng.lognormal(-1.0, 0.5, n)
    dose = rng.choice([1.0, 2.0, 3.0], n)
    logit = -0.3 + signal * (np.log(cpep) + 1.0) / 0.5
    remission = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"subject_id": [f"S{i:03d}" for i in range(n)],
                         "remission": remission, "control": False,
                         "baseline_cpep_fast_nmol_l": cpep, "dose_1e6_cells_per_kg": dose})


def _section(data: pd.DataFrame) -> tuple[object, Page]:
    ctx = ReportContext(cohort=None, html=HtmlReport("t"))  # type: ignore[arg-type]
    with fast_resampling():
        status = run_section(ctx, "Prediction", lambda c: cpeptide._prediction(c, data))
    return status, Page(ctx.html.render())


@pytest.mark.slow
def test_enough_data_and_a_real_signal_is_a_result() -> None:
    data = _data(160, signal=1.5, seed=1)
    status, page = _section(data)
    assert status.status == "ok" and status.parts == ()
    aucs = page.table("Cross-validated AUC with DeLong 95% CI")
    assert not page.in_details("Cross-validated AUC")
    assert set(aucs["covers_0.5"]) == {"False"}
    assert all(float(v) > 0.5 for v in aucs["ci_lower"])
    assert len(page.images) == 1 and page.details == []


@pytest.mark.slow
def test_enough_events_but_no_signal_is_shown_as_not_a_result() -> None:
    data = _data(160, signal=0.0, seed=2)
    assert min(data["remission"].sum(), (~data["remission"]).sum()) >= 20
    status, page = _section(data)
    (part,) = status.parts
    assert part.startswith("prediction: too few data to judge a model: the 95% CI of the "
                           "cross-validated AUC includes 0.5 (no better than chance)")
    # the estimates are there, under details only
    assert page.details == ["Details: the estimates, which are not a result at this size"]
    assert page.in_details("Cross-validated AUC with DeLong 95% CI")
    assert page.in_details("Performance: AUC, Brier score")


def test_too_few_events_per_variable_fits_no_model() -> None:
    data = _data(40, signal=1.5, seed=3)
    events = int(data["remission"].sum())
    status, page = _section(data)
    (part,) = status.parts
    rarest = min(events, 40 - events)
    assert f"{rarest / 2:.1f} events per variable, fewer than the 10" in part
    assert page.tables == [] and page.images == []

"""Forest plots of rates (%) and ratios (log scale), and the plot methods that draw them;
checked through their artists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohort.analysis.responders import ResponderResult
from cohort.analysis.result import NothingToPlotError
from cohort.analysis.survival import cox_ph
from cohort.analysis.table1 import Table1Result
from cohort.report.figures.rates import rate_forest, ratio_forest

FIX = Path(__file__).parent / "fixtures" / "survival"


def _points(ax):
    line = ax.containers[0].lines[0]
    return line.get_xdata(), [t.get_text() for t in ax.get_yticklabels()]


def test_rates_in_percent_with_counts_in_the_labels():
    rows = pd.DataFrame({"visit": ["day 84", "day 84"], "kind": "rate",
                         "arm": ["placebo", "MSC"], "x": [1, 5], "n": [16, 15],
                         "estimate": [1 / 16, 5 / 15], "ci_lower": [0.0016, 0.1182],
                         "ci_upper": [0.3023, 0.6162]})
    res = ResponderResult(summary=rows)
    ax = res.plot()
    x, labels = _points(ax)
    np.testing.assert_allclose(x, [6.25, 100 / 3])
    assert labels == ["placebo (1/16)", "MSC (5/15)"]
    assert ax.get_xlabel() == "Responders, % (95% CI, Clopper-Pearson)"
    assert ax.get_xlim() == (-2, 102)
    seg = ax.containers[0].lines[2][0].get_segments()[1]
    np.testing.assert_allclose(seg[:, 0], [11.82, 61.62])
    with pytest.raises(NothingToPlotError, match="no remission rate to plot"):
        rate_forest(rows.assign(estimate=np.nan), what="Remission")


def test_cox_hazard_ratios_on_a_log_axis():
    d = pd.read_csv(FIX / "insulin_free.csv").rename(
        columns={"id": "subject_id", "time": "stop", "status": "event"}).assign(start=0.0)
    cox = cox_ph(d, covariates=["group"])
    ax = cox.plot()
    x, labels = _points(ax)
    np.testing.assert_allclose(x, cox.summary["estimate"])
    assert labels == cox.summary["term"].tolist()
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "Hazard ratio (95% CI, log scale)"
    (ref,) = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    np.testing.assert_allclose(ref.get_xdata(), [1, 1])


def test_infinite_ratios_are_left_out_and_said():
    rows = pd.DataFrame({"term": ["age", "sexM"], "estimate": [1.5, np.inf],
                         "ci_lower": [1.1, 2.0], "ci_upper": [2.1, np.inf]})
    ax = ratio_forest(rows, what="Odds ratio")
    assert _points(ax)[1] == ["age"]
    assert ax.get_xlabel() == "Odds ratio (95% CI, log scale); 1 not finite, not shown"


def test_a_result_without_a_figure():
    with pytest.raises(NothingToPlotError, match="Table1 results have no figure to plot"):
        Table1Result(summary=pd.DataFrame()).plot()

"""Figures of the regression analyses: inspect the artists, not the pixels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cohort.analysis.result import NothingToPlotError
from cohort.errors import AnalysisError
from cohort.report.figures import regression as fig

DATA = pd.DataFrame({
    "subject_id": ["a", "b", "c", "a", "b", "c", "d", "d"],
    "arm": ["x", "x", "y", "x", "x", "y", "y", "y"],
    "visit_day": [56, 56, 56, 84, 84, 84, 56, 84],
    "day": [56, 57, 55, 84, 85, 83, 56, 84],
    "value": [7.0, 7.4, 8.0, 6.8, 7.2, 8.1, 7.9, 7.7],
    "change": [-0.5, -0.1, 0.2, -0.7, -0.3, 0.3, -0.2, -0.4],
})


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_change_by_visit_means_cis_and_visit_axis():
    data = DATA.assign(visit=DATA["visit_day"].map({56: "week 8", 84: "week 12"}))
    ax = fig.change_by_visit_plot(data, dodge=0.0, param="HBA1C")
    assert len(ax.containers) == 2
    line = ax.containers[0].lines[0]  # arm x
    np.testing.assert_allclose(line.get_ydata(), [-0.3, -0.5])
    np.testing.assert_allclose(line.get_xdata(), [56, 84])
    # t-based half-width for n = 2: t(0.975, 1) * sd / sqrt(2)
    seg = ax.containers[0].lines[2][0].get_segments()[0]
    from scipy import stats
    half = stats.t.ppf(0.975, 1) * np.std([-0.5, -0.1], ddof=1) / np.sqrt(2)
    np.testing.assert_allclose(seg[:, 1], [-0.3 - half, -0.3 + half])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y"]
    # ticks at the nominal days, labelled with the visits; units in the labels
    np.testing.assert_allclose(ax.get_xticks(), [56, 84])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["week 8\nday 56", "week 12\nday 84"]
    assert ax.get_xlabel() == "Visit (nominal study day)"
    assert ax.get_ylabel() == "Mean change in HbA1c (% points, 95% CI)"
    # the default dodge keeps the two arms' bars apart by 1.5% of the 28-day span
    dodged = fig.change_by_visit_plot(data)
    np.testing.assert_allclose(dodged.containers[0].lines[0].get_xdata(),
                               [56 - 0.21, 84 - 0.21])


def test_visits_labelled_by_day_show_study_days():
    ax = fig.change_by_visit_plot(DATA.assign(visit=DATA["visit_day"].map("day {}".format)),
                                  dodge=0.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["56", "84"]
    assert ax.get_xlabel() == "Study day (days)"


def test_waterfall_at_one_visit_with_threshold():
    data = DATA.assign(visit=DATA["visit_day"].map({56: "week 8", 84: "week 12"}))
    # two visits: mixing them is refused
    with pytest.raises(AnalysisError, match="hold 2 visits \\(week 8, week 12\\); choose one"):
        fig.waterfall_plot(data)
    with pytest.raises(AnalysisError, match="visit 'week 4' is not in the data"):
        fig.waterfall_plot(data, visit="week 4")
    ax = fig.waterfall_plot(data, visit="week 12", threshold=-0.3, param="HBA1C")
    bars = sorted(ax.patches, key=lambda p: p.get_x())
    heights = [p.get_height() for p in bars]
    np.testing.assert_allclose(heights, [0.3, -0.3, -0.4, -0.7])
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "threshold"]
    np.testing.assert_allclose(line.get_ydata(), [-0.3, -0.3])
    # -0.3, -0.4 and -0.7 reach a reduction of 0.3
    assert line.get_label() == "-0.3: 3 of 4 at or below"
    assert ax.get_xlabel() == "Subjects at week 12, sorted by change (n = 4)"
    assert ax.get_ylabel() == "Change in HbA1c (% points)"
    one_visit = DATA[DATA.visit_day == 84]
    _, ax2 = plt.subplots()
    assert fig.waterfall_plot(one_visit, ax=ax2) is ax2


def test_forest_rows_top_to_bottom():
    summary = pd.DataFrame({"visit": ["month 6", "month 6"], "subgroup": ["BMI < 23", "BMI >= 23"],
                            "estimate": [-0.6, 0.1], "ci_lower": [-1.0, -0.3],
                            "ci_upper": [-0.2, 0.5]})
    ax = fig.forest_plot(summary, label=["visit", "subgroup"],
                         xlabel="Difference in HbA1c change (% points, 95% CI)")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["month 6, BMI < 23",
                                                            "month 6, BMI >= 23"]
    assert ax.get_xlabel() == "Difference in HbA1c change (% points, 95% CI)"
    pts = ax.containers[0].lines[0]
    np.testing.assert_allclose(pts.get_xdata(), [-0.6, 0.1])
    np.testing.assert_allclose(pts.get_ydata(), [1, 0])


def test_dose_response_fit_line():
    d = pd.DataFrame({"dose_cells_total": [1e8, 1e9, 1e10], "change": [0.0, -0.5, -1.0]})
    ax = fig.dose_response_plot(d)
    fit = next(ln for ln in ax.lines if ln.get_label() == "fit")
    # exactly -0.5 per tenfold dose
    x, y = fit.get_xdata(), fit.get_ydata()
    np.testing.assert_allclose(y, -0.5 * (np.log10(x) - 8), atol=1e-12)
    assert ax.get_xscale() == "log"


def test_missing_columns_and_empty():
    with pytest.raises(AnalysisError, match="no column"):
        fig.waterfall_plot(DATA, y="pct")
    with pytest.raises(NothingToPlotError, match="nothing to plot: the data are empty"):
        fig.change_by_visit_plot(DATA.iloc[:0])

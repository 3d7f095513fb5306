"""ROC, calibration and decision-curve figures: artists, not pixels. The figure functions draw
on a matplotlib Figure without pyplot, so no GUI backend is involved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cohort.analysis.prediction import calibration_table, decision_curve, roc_table
from cohort.errors import AnalysisError
from cohort.report.figures.prediction import (
    plot_calibration,
    plot_decision_curve,
    plot_roc,
)


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(4)
    p = rng.random(40)
    y = (rng.random(40) < p).astype(float)
    q = np.clip(p + rng.normal(0, 0.3, 40), 0, 1)
    out = {}
    for name, fn in (("roc", roc_table), ("decision", decision_curve)):
        out[name] = pd.concat([fn(y, p).assign(model="a"), fn(y, q).assign(model="b")])
    out["calibration"] = pd.concat([calibration_table(y, p, 4).assign(model="a"),
                                    calibration_table(y, q, 4).assign(model="b")])
    return out


def test_roc_lines_per_model(tables):
    ax = plot_roc(tables["roc"], auc={"a": 0.81, "b": 0.7})
    labels = [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert labels == ["a (AUC 0.81)", "b (AUC 0.70)"]
    line = ax.get_lines()[0]
    a = tables["roc"].query("model == 'a'").sort_values(["fpr", "tpr"])
    np.testing.assert_allclose(line.get_xdata(), a["fpr"])
    assert any(ln.get_gid() == "chance" for ln in ax.get_lines())
    assert ax.get_xlabel() == "1 - specificity"


def test_calibration_points_and_intervals(tables):
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_calibration(tables["calibration"], ax=ax)
    assert out is ax
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("a", "b")]
    assert len(lines) == 2
    a = tables["calibration"].query("model == 'a'").sort_values("predicted")
    np.testing.assert_allclose(lines[0].get_ydata(), a["observed"])
    assert len(ax.collections) == 2  # one set of error bars per model
    assert any(ln.get_gid() == "ideal" for ln in ax.get_lines())


def test_decision_curve_references(tables):
    ax = plot_decision_curve(tables["decision"], max_threshold=0.6)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["a", "b", "treat all", "treat none"]
    assert max(ax.get_lines()[0].get_xdata()) <= 0.6
    assert ax.get_ylabel() == "Net benefit"


def test_missing_table_is_a_clear_error():
    with pytest.raises(AnalysisError, match="cross-validation skipped"):
        plot_roc(pd.DataFrame())
    with pytest.raises(AnalysisError, match="expected a DataFrame or a result"):
        plot_roc(42)


def test_a_result_plots_the_figure_its_kind_names(tables):
    from cohort.analysis.prediction import PredictionResult

    res = PredictionResult(summary=pd.DataFrame(), roc=tables["roc"],
                           calibration=tables["calibration"], decision=tables["decision"])
    roc = res.plot()
    a = tables["roc"].query("model == 'a'").sort_values(["fpr", "tpr"])
    np.testing.assert_allclose(roc.get_lines()[0].get_xdata(), a["fpr"])
    dec = res.plot(kind="decision")
    direct = plot_decision_curve(tables["decision"])
    assert [ln.get_label() for ln in dec.get_lines()] == \
        [ln.get_label() for ln in direct.get_lines()]
    np.testing.assert_allclose(dec.get_lines()[0].get_ydata(), direct.get_lines()[0].get_ydata())
    with pytest.raises(AnalysisError, match="kind must be 'roc', 'calibration' or 'decision'"):
        res.plot(kind="forest")

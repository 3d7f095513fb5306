"""Figures over visits, checked through their artists: the ANCOVA's and MMRM's LS means and
differences, trajectories faceted by arm with the mean and CI, and the analyze commands'
``--plot`` drawing the result's own figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from test_regression_data import ancova_cohort
from typer.testing import CliRunner

from cohort import write_cohort
from cohort.analysis.ancova import ancova_analysis
from cohort.analysis.mmrm.analysis import mmrm_analysis
from cohort.analysis.paired import paired_analysis
from cohort.analysis.result import NothingToPlotError
from cohort.cli.app import app
from cohort.errors import AnalysisError
from cohort.report.figures.trajectories import spaghetti_plot, trajectory_frame
from cohort.report.figures.visits import lsmeans_plot

TABLES = ("subjects", "measurements", "infusions")


@pytest.fixture(scope="module")
def anc():
    return ancova_cohort()


@pytest.fixture(scope="module")
def ancova(anc):
    return ancova_analysis(anc.measurements, anc.subjects, anc.infusions, visit_days=[56, 84])


def _series(ax):
    """Per error-bar container: label, x, y, lower and upper ends of its bars."""
    out = {}
    for c in ax.containers:
        line, _, (bars,) = c.lines
        seg = np.array([s[:, 1] for s in bars.get_segments()])
        out[c.get_label()] = (line.get_xdata(), line.get_ydata(), seg[:, 0], seg[:, 1])
    return out


def test_ancova_plot_draws_the_models_lsmeans(ancova):
    ax = ancova.plot(dodge=0.0)
    lsm = ancova.summary.loc[ancova.summary["kind"] == "lsmean"]
    drawn = _series(ax)
    assert list(drawn) == list(pd.unique(lsm["arm"]))
    for arm, (x, y, lo, hi) in drawn.items():
        rows = lsm.loc[lsm["arm"] == arm].sort_values("visit_day")
        np.testing.assert_allclose(x, rows["visit_day"])
        np.testing.assert_allclose(y, rows["estimate"])
        np.testing.assert_allclose(lo, rows["ci_lower"])
        np.testing.assert_allclose(hi, rows["ci_upper"])
    np.testing.assert_allclose(ax.get_xticks(), [56, 84])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["56", "84"]
    assert ax.get_xlabel() == "Study day (days)"
    assert ax.get_ylabel() == "LS mean change in HbA1c (% points, 95% CI)"


def test_ancova_plot_of_differences(ancova):
    ax = ancova.plot(kind="difference", dodge=0.0)
    vs = ancova.summary.loc[ancova.summary["kind"] == "vs_reference"]
    drawn = _series(ax)
    assert list(drawn) == [f"{a} - placebo" for a in pd.unique(vs["arm"])]
    high = vs.loc[vs["arm"] == "high"].sort_values("visit_day")
    np.testing.assert_allclose(drawn["high - placebo"][1], high["estimate"])
    np.testing.assert_allclose(drawn["high - placebo"][3], high["ci_upper"])
    assert ax.get_ylabel() == "Difference in HbA1c change vs placebo (% points, 95% CI)"
    (zero,) = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    np.testing.assert_allclose(zero.get_ydata(), [0, 0])
    with pytest.raises(AnalysisError, match="kind must be 'lsmean' or 'difference'"):
        ancova.plot(kind="spaghetti")


def test_mmrm_plot_and_visit_labels(anc):
    m = anc.measurements.copy()
    m["visit"] = m["day"].map({-3: "baseline", 56: "week 8", 84: "week 12"})
    res = mmrm_analysis(m, anc.subjects, visit_days=[56, 84])
    ax = res.plot(ax=Figure(figsize=(6, 4)).add_subplot(), dodge=0.0)
    lsm = res.summary.loc[res.summary["kind"] == "lsmean"]
    drawn = _series(ax)
    placebo = lsm.loc[lsm["arm"] == "placebo"].sort_values("visit_day")
    np.testing.assert_allclose(drawn["placebo"][1], placebo["estimate"])
    assert ax.get_xlabel() in ("Study day (days)", "Visit (nominal study day)")


def test_nothing_to_plot_is_said():
    empty = pd.DataFrame({"visit": ["day 84"], "visit_day": [84], "kind": ["lsmean"],
                          "arm": ["A"], "reference": [None], "estimate": [np.nan],
                          "ci_lower": [np.nan], "ci_upper": [np.nan]})
    with pytest.raises(NothingToPlotError, match="no LS means to plot"):
        lsmeans_plot(empty)


def _paired_rows() -> pd.DataFrame:
    # two arms; subject a3 misses week 12, so the week-12 mean of A is a1 and a2's
    rows = [("a1", "A", 7.9, [(56, 55, 7.0), (84, 85, 6.8)]),
            ("a2", "A", 8.1, [(56, 57, 7.4), (84, 83, 7.2)]),
            ("a3", "A", 8.6, [(56, 56, 8.0)]),
            ("b1", "B", 8.0, [(56, 56, 8.0), (84, 84, 8.1)]),
            ("b2", "B", 7.6, [(56, 58, 7.9), (84, 86, 7.7)])]
    out = []
    for sid, arm, base, visits in rows:
        for vday, day, value in visits:
            out.append({"subject_id": sid, "group": arm, "visit": f"week {vday // 7}",
                        "visit_day": vday, "day": day, "value": value, "baseline_day": -2,
                        "baseline": base, "change": value - base})
    return pd.DataFrame(out)


def test_trajectories_faceted_by_arm_with_mean_and_ci():
    frame = trajectory_frame(_paired_rows())
    assert frame.loc[frame["visit"] == "Baseline", "visit_day"].eq(0).all()
    fig = Figure(figsize=(8, 4))
    axes = spaghetti_plot(frame, param="HBA1C", ax=fig.add_subplot())
    assert len(axes) == len(fig.axes) == 2
    assert [a.get_title() for a in axes] == ["A (n = 3)", "B (n = 2)"]
    subjects = [[ln for ln in a.lines if ln.get_gid() == "subject"] for a in axes]
    assert [len(s) for s in subjects] == [3, 2]
    (mean_a,) = [ln for ln in axes[0].lines if ln.get_gid() == "mean"]
    np.testing.assert_allclose(mean_a.get_xdata(), [0, 56, 84])
    np.testing.assert_allclose(mean_a.get_ydata(), [(7.9 + 8.1 + 8.6) / 3,
                                                    (7.0 + 7.4 + 8.0) / 3, (6.8 + 7.2) / 2])
    # the band is the t interval of the mean: at week 12, n = 2
    from scipy import stats
    (band,) = [c for c in axes[0].collections if c.get_gid() == "mean_ci"]
    at_84 = {round(y, 9) for x, y in band.get_paths()[0].vertices if x == 84}
    half = stats.t.ppf(0.975, 1) * np.std([6.8, 7.2], ddof=1) / np.sqrt(2)
    assert at_84 == {round(7.0 - half, 9), round(7.0 + half, 9)}
    assert axes[0].get_ylabel() == "HbA1c (%)"
    assert axes[0].get_xticklabels()[0].get_text() == "Baseline"
    # panels share the y axis
    assert axes[0].get_ylim() == axes[1].get_ylim()


def test_paired_result_plots_agree_with_its_summary(anc):
    res = paired_analysis(anc.measurements, anc.subjects, visit_days=[56, 84], by="arm")
    axes = res.plot(kind="trajectories")
    summ = res.summary.set_index(["group", "visit"])
    arms = sorted(res.data["group"].unique())
    assert len(axes) == len(arms)
    for a, arm in zip(axes, arms, strict=True):
        (mean,) = [ln for ln in a.lines if ln.get_gid() == "mean"]
        # the means drawn at the visits are the analysis's mean_after
        np.testing.assert_allclose(mean.get_ydata()[1:],
                                   [summ.loc[(arm, v), "mean_after"] for v in ("day 56",
                                                                               "day 84")])
    change = res.plot()
    assert len(change.containers) == len(arms)
    with pytest.raises(AnalysisError, match="choose one with visit="):
        res.plot(kind="waterfall")
    water = res.plot(kind="waterfall", visit="day 84", threshold=-0.5)
    assert len(water.patches) == sum(int(summ.loc[(arm, "day 84"), "n"]) for arm in arms)


@pytest.fixture(scope="module")
def anc_dir(anc, tmp_path_factory) -> Path:
    tables = {t: anc.tables[t].drop(columns=["value_original", "unit_original"],
                                    errors="ignore") for t in TABLES}
    return write_cohort(tables, tmp_path_factory.mktemp("figs") / "ancova")


def test_cli_plot_is_the_results_figure(anc_dir, tmp_path, monkeypatch):
    drawn = []
    from cohort.analysis.mmrm.analysis import MmrmResult

    original = MmrmResult.plot

    def spy(self, **kwargs):
        ax = original(self, **kwargs)
        drawn.append(ax)
        return ax

    monkeypatch.setattr(MmrmResult, "plot", spy)
    out = tmp_path / "mmrm.png"
    res = CliRunner().invoke(app, ["analyze", "mmrm", str(anc_dir), "--visit-days", "56,84",
                                   "--plot", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (ax,) = drawn
    assert ax.get_ylabel() == "LS mean change in HbA1c (% points, 95% CI)"
    res = CliRunner().invoke(app, ["analyze", "mmrm", str(anc_dir), "--visit-days", "56,84",
                                   "--plot", str(out), "--plot-kind", "difference",
                                   "--overwrite"])
    assert res.exit_code == 0, res.output
    assert drawn[1].get_ylabel() == "Difference in HbA1c change vs placebo (% points, 95% CI)"


def test_cli_plot_of_last_follow_up_and_nothing_to_plot(anc_dir, tmp_path, monkeypatch):
    from cohort.analysis.paired import PairedResult

    out = tmp_path / "change.png"
    # only each subject's last follow-up (different days): the waterfall, not a visit axis
    drawn = []
    original = PairedResult.plot

    def spy(self, **kwargs):
        ax = original(self, **kwargs)
        drawn.append(ax)
        return ax

    monkeypatch.setattr(PairedResult, "plot", spy)
    res = CliRunner().invoke(app, ["analyze", "paired", str(anc_dir), "--last", "--plot",
                                   str(out)])
    assert res.exit_code == 0, res.output
    (ax,) = drawn
    assert ax.get_xlabel() == "Subjects at their last follow-up, sorted by change (n = 25)"
    assert len(ax.patches) == 25
    # a result with nothing to draw: the message, exit 2, no file
    with pytest.raises(NothingToPlotError, match="needs nominal visits"):
        original(res_last(anc_dir), kind="change")
    monkeypatch.setattr(PairedResult, "plot", lambda self, **kw: original(self, kind="change"))
    out2 = tmp_path / "none.png"
    res = CliRunner().invoke(app, ["analyze", "paired", str(anc_dir), "--last", "--plot",
                                   str(out2)])
    assert res.exit_code == 2, res.output
    assert "nothing to plot" in res.output and "Traceback" not in res.output
    assert not out2.exists()


def res_last(anc_dir):
    from cohort import load_cohort

    c = load_cohort(anc_dir)
    return paired_analysis(c.measurements, c.subjects, last=True)


def test_dose_response_plot_of_one_visit(anc):
    from cohort.analysis.dose_response import dose_response_analysis

    res = dose_response_analysis(anc.measurements, anc.subjects, anc.infusions,
                                 visit_days=[56, 84])
    ax = res.plot(visit="day 84", dose="per_kg")
    at = res.data.loc[(res.data["visit"] == "day 84") & (res.data["dose_cells_per_kg"] > 0)]
    xs = np.concatenate([c.get_offsets()[:, 0] for c in ax.collections])
    np.testing.assert_allclose(np.sort(xs), np.sort(at["dose_cells_per_kg"]))
    assert ax.get_xlabel() == "Dose (cells/kg, log scale)"
    assert ax.get_ylabel() == "Change in HbA1c at day 84 (% points)"
    with pytest.raises(AnalysisError, match="visit 'day 7' was not analysed"):
        res.plot(visit="day 7")

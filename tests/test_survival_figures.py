"""Kaplan-Meier and swimmer figures, tested through their artists."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from cohort import load_cohort
from cohort.analysis.endpoint import endpoint_from_param, insulin_resumption
from cohort.analysis.survival import MONTH_DAYS, analyze_survival, kaplan_meier
from cohort.analysis.time_to_event import tte_from_episodes
from cohort.derive.insulin import insulin_episodes
from cohort.errors import AnalysisError
from cohort.report.figures.survival import plot_km, plot_swimmer

ROOT = Path(__file__).parent.parent
FIX = ROOT / "tests" / "fixtures" / "survival"


def _tte(d: pd.DataFrame) -> pd.DataFrame:
    return d.rename(columns={"id": "subject_id", "time": "stop", "status": "event"}).assign(
        start=0.0)


@pytest.fixture(scope="module")
def km():
    d = _tte(pd.read_csv(FIX / "insulin_free.csv"))
    return kaplan_meier(d, group="group", endpoint=insulin_resumption())


def _curves(ax):
    return [ln for ln in ax.get_lines() if ln.get_gid() not in ("censor", "median")]


def _risk_table(ax):
    (table,) = [a for a in ax.child_axes if a.get_gid() == "risk_table"]
    return table


def test_km_curves_bands_and_our_at_risk_numbers(km):
    before = dict(mpl.rcParams)
    ax = Figure().add_subplot()
    out = km.plot(ax=ax)
    assert out is ax
    steps = _curves(ax)
    assert [ln.get_label() for ln in steps] == ["A", "B", "C"]
    # each curve starts at (0, 1) and ends at the group's last time, in months
    a = steps[0]
    assert a.get_xydata()[0].tolist() == [0.0, 1.0]
    assert a.get_xdata()[-1] == pytest.approx(730 / MONTH_DAYS)
    np.testing.assert_allclose(a.get_ydata()[1:],
                               km.curve.loc[km.curve["group"] == "A", "estimate"])
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3
    # follow-up to day 1095 (35.97 months): ticks every 6 months to 36, covering the curves
    np.testing.assert_allclose(ax.get_xticks(), [0, 6, 12, 18, 24, 30, 36])
    assert ax.get_xlim() == (0.0, 36.0)
    # the risk table: one row per group, its numbers those of km.at_risk, under the ticks
    table = _risk_table(ax)
    assert [t.get_text() for t in table.get_yticklabels()] == ["A", "B", "C"]
    texts = [t for t in table.texts if t.get_gid() == "at_risk"]
    assert [int(t.get_text()) for t in texts] == km.at_risk["n_risk"].tolist()
    assert [int(t.get_text()) for t in texts][:7] == [10, 7, 4, 3, 0, 0, 0]
    np.testing.assert_allclose([t.get_position()[0] for t in texts[:7]], ax.get_xticks())
    assert table.get_xlim() == ax.get_xlim()
    censor = [ln for ln in ax.get_lines() if ln.get_gid() == "censor"]
    assert sum(len(ln.get_xdata()) for ln in censor) == int((km.curve["n_censor"] > 0).sum())
    assert dict(mpl.rcParams) == before


def test_km_labels_percent_scale_and_median_lines(km):
    ax = km.plot()
    assert ax.get_ylabel() == "Insulin-free (%)"
    assert ax.get_xlabel() == "Time since insulin stop (months)"
    assert ax.yaxis.get_major_formatter()(0.5, 0) == "50%"
    medians = [ln for ln in ax.get_lines() if ln.get_gid() == "median"]
    reached = km.summary.dropna(subset=["estimate"])
    assert len(medians) == len(reached) == 3
    for line, days in zip(medians, reached["estimate"], strict=True):
        # from (0, 50%) to the median time, then down to the axis
        np.testing.assert_allclose(line.get_xydata(),
                                   [[0, 0.5], [days / MONTH_DAYS, 0.5], [days / MONTH_DAYS, 0]])
    assert not [ln for ln in km.plot(median=False).get_lines() if ln.get_gid() == "median"]
    assert km.plot(percent=False).get_ylabel() == "Insulin-free (proportion)"


def test_twelve_month_trial_gets_a_twelve_month_axis():
    # follow-up ends at day 365: no 24-48 month axis, no landmark beyond follow-up
    d = pd.DataFrame({"subject_id": [f"S{i}" for i in range(6)],
                      "stop": [40.0, 100.0, 150.0, 200.0, 300.0, 365.0],
                      "event": [True, False, True, True, False, False], "start": 0.0})
    km = kaplan_meier(d)
    np.testing.assert_allclose(km.landmarks["months"], [3, 6, 9])
    assert km.landmarks["note"].isna().all()
    np.testing.assert_allclose(km.at_risk["months"], [0, 3, 6, 9, 12])
    # at risk at the first observed time >= t: 6 at 0; 5 at 91 d; 3 at 183 d (200, 300, 365);
    # 2 at 274 d; 0 at 365.25 d
    assert km.at_risk["n_risk"].tolist() == [6, 5, 3, 2, 0]
    ax = km.plot()
    np.testing.assert_allclose(ax.get_xticks(), [0, 3, 6, 9, 12])
    assert ax.get_xlim() == (0.0, 12.0)
    table = _risk_table(ax)
    assert [int(t.get_text()) for t in table.texts] == [6, 5, 3, 2, 0]
    # no group column: the row is not "all"; a one-arm cohort passes its arm's name
    assert [t.get_text() for t in table.get_yticklabels()] == ["All subjects"]
    named = km.plot(labels={"all": "AHSCT"})
    assert [t.get_text() for t in _risk_table(named).get_yticklabels()] == ["AHSCT"]
    assert _curves(named)[0].get_label() == "AHSCT"
    # no endpoint given: generic labels, the time unit still said
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("Event-free (%)", "Time (months)")


def test_endpoint_labels_from_an_adtte_param():
    d = pd.DataFrame({"subject_id": ["a", "b", "c"], "stop": [10.0, 20.0, 30.0],
                      "event": [True, False, True], "start": 0.0})
    end = endpoint_from_param("Time to First Severe Hypoglycaemia (days)", "TTHYPO")
    ax = kaplan_meier(d, endpoint=end, time_unit="days").plot()
    assert ax.get_ylabel() == "Without first severe hypoglycaemia (%)"
    assert ax.get_xlabel() == "Time (days)"
    np.testing.assert_allclose(ax.get_xticks(), [0, 5, 10, 15, 20, 25, 30])


def test_km_without_extras_and_in_other_units(km):
    ax = plot_km(km, ci=False, at_risk=False, censor_marks=False, median=False,
                 time_unit="days")
    assert not ax.collections and not ax.child_axes
    assert max(ln.get_xdata()[-1] for ln in ax.get_lines()) == 1095.0
    # the ticks are round days (the result's at-risk times are months)
    np.testing.assert_allclose(ax.get_xticks(), [0, 365, 730, 1095])
    weeks = plot_km(km, ci=False, censor_marks=False, time_unit="weeks")
    assert max(ln.get_xdata()[-1] for ln in weeks.get_lines()) == pytest.approx(1095.0 / 7)
    assert weeks.get_xlabel() == "Time since insulin stop (weeks)"
    # at-risk numbers at the week ticks, counted as R's summary(survfit, times=)
    ticks = weeks.get_xticks()
    assert ticks[-1] >= 1095.0 / 7
    texts = [int(t.get_text()) for t in _risk_table(weeks).texts]
    a = km.curve.loc[km.curve["group"] == "A"]
    expect = [int(a.loc[a["time"] >= t * 7, "n_risk"].iloc[0]) if (a["time"] >= t * 7).any()
              else 0 for t in ticks]
    assert texts[:len(ticks)] == expect
    with pytest.raises(AnalysisError, match="time_unit must be one of days, weeks, months, "
                       "years, got 'fortnights'"):
        plot_km(km, time_unit="fortnights")  # type: ignore[arg-type]


def test_bundled_couri2009_km_covers_the_follow_up():
    c = load_cohort(ROOT / "synthetic" / "couri2009" / "cohort")
    ins = insulin_episodes(c.measurements, c.subjects, c.adverse_events)
    tte = tte_from_episodes(ins.episodes, c.subjects, columns=["arm"])
    res = analyze_survival(tte, endpoint=insulin_resumption())
    ax = res.plot()
    last = res.km.curve["time"].max() / MONTH_DAYS
    ticks = ax.get_xticks()
    assert ticks[0] == 0 and ticks[-1] >= last and ticks[-1] - last < np.diff(ticks)[0]
    assert 3 <= len(ticks) - 1 <= 6
    assert (res.km.landmarks["time"] <= res.km.curve["time"].max()).all()
    texts = [int(t.get_text()) for t in _risk_table(ax).texts]
    assert texts == res.km.at_risk["n_risk"].tolist()
    assert texts[0] == len(tte)


def test_results_without_a_figure_say_so():
    from cohort.analysis.result import AnalysisResult, NothingToPlotError

    res = AnalysisResult(summary=pd.DataFrame({"x": [1]}))
    with pytest.raises(NothingToPlotError, match="Analysis results have no figure to plot"):
        res.plot()
    assert issubclass(NothingToPlotError, AnalysisError)


def test_swimmer_bars_and_markers():
    m = pd.DataFrame({
        "subject_id": ["P1"] * 6 + ["P2"] * 3 + ["P3"] * 2,
        "day": [90, 180, 270, 360, 450, 540, 90, 180, 270, 90, 180],
        "param": "INSULIN_DOSE",
        "value": [0.3, 0.0, 0.0, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.4]})
    s = pd.DataFrame({"subject_id": ["P1", "P2", "P3"], "last_contact_day": [600, 300, 200]})
    ae = pd.DataFrame({"subject_id": ["P2"], "term": ["Death"], "onset_day": [290]})
    res = insulin_episodes(m, s, ae)
    assert len(res.episodes) == 3
    ax = plot_swimmer(res.episodes, follow_up=res.subjects.set_index("subject_id")["end_day"])
    bars = [p for p in ax.patches if p.get_gid() == "episode"]
    assert len(bars) == 3
    # P1's first episode: solid from entry (180) to the last free record (270), then the
    # interval (270, 360] where the resumption happened
    p1 = sorted((p for p in bars if p.get_y() + p.get_height() / 2
                 == ax.get_yticks()[[t.get_text() for t in ax.get_yticklabels()].index("P1")]),
                key=lambda p: p.get_x())
    assert p1[0].get_x() == pytest.approx(180 / MONTH_DAYS)
    assert p1[0].get_width() == pytest.approx(90 / MONTH_DAYS)
    interval = [p for p in ax.patches if p.get_gid() == "interval"]
    assert len(interval) == 1 and interval[0].get_width() == pytest.approx(90 / MONTH_DAYS)
    gids = [ln.get_gid() for ln in ax.get_lines()]
    assert gids.count("resumed") == 1 and gids.count("censored") == 1
    assert gids.count("death") == 1 and gids.count("follow_up") == 2
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["P1", "P2"]
    with pytest.raises(AnalysisError, match="episodes lack column\\(s\\) status"):
        plot_swimmer(res.episodes.drop(columns="status"))

"""Kaplan-Meier and swimmer figures, tested through their artists."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from cohort.analysis.survival import MONTH_DAYS, kaplan_meier
from cohort.derive.insulin import insulin_episodes
from cohort.errors import AnalysisError
from cohort.report.figures.survival import plot_km, plot_swimmer

FIX = Path(__file__).parent / "fixtures" / "survival"


@pytest.fixture(scope="module")
def km():
    d = pd.read_csv(FIX / "insulin_free.csv").rename(
        columns={"id": "subject_id", "time": "stop", "status": "event"}).assign(start=0.0)
    return kaplan_meier(d, group="group", landmarks_months=(6, 12, 24))


def test_km_curves_bands_and_our_at_risk_numbers(km):
    before = dict(mpl.rcParams)
    ax = Figure().add_subplot()
    out = plot_km(km, ax=ax)
    assert out is ax
    steps = [ln for ln in ax.get_lines() if ln.get_gid() != "censor"]
    assert [ln.get_label() for ln in steps] == ["A", "B", "C"]
    # each curve starts at (0, 1) and ends at the group's last time, in months
    a = steps[0]
    assert a.get_xydata()[0].tolist() == [0.0, 1.0]
    assert a.get_xdata()[-1] == pytest.approx(730 / MONTH_DAYS)
    np.testing.assert_allclose(a.get_ydata()[1:],
                               km.curve.loc[km.curve["group"] == "A", "estimate"])
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 3
    texts = [t for t in ax.texts if t.get_gid() == "at_risk"]
    assert [int(t.get_text()) for t in texts] == km.at_risk["n_risk"].tolist()
    assert [int(t.get_text()) for t in texts][:4] == [10, 7, 4, 0]
    np.testing.assert_allclose(ax.get_xticks(), [0, 6, 12, 24])
    censor = [ln for ln in ax.get_lines() if ln.get_gid() == "censor"]
    assert sum(len(ln.get_xdata()) for ln in censor) == int((km.curve["n_censor"] > 0).sum())
    assert dict(mpl.rcParams) == before


def test_km_without_extras_and_in_days(km):
    ax = plot_km(km, ci=False, at_risk=False, censor_marks=False, time_unit="days")
    assert not ax.collections
    assert not [t for t in ax.texts if t.get_gid() == "at_risk"]
    assert max(ln.get_xdata()[-1] for ln in ax.get_lines()) == 1095.0
    weeks = plot_km(km, ci=False, at_risk=False, censor_marks=False, time_unit="weeks")
    assert max(ln.get_xdata()[-1] for ln in weeks.get_lines()) == pytest.approx(1095.0 / 7)
    assert weeks.get_xlabel() == "Time since origin (weeks)"
    with pytest.raises(AnalysisError, match="time_unit must be one of days, weeks, months, "
                       "years, got 'fortnights'"):
        plot_km(km, time_unit="fortnights")  # type: ignore[arg-type]


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

"""Table 1 against R (mean, sd, type-7 quantiles, SMD formulas in regression.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_regression_data import ancova_cohort, r_value

from cohort.analysis.table1 import smd_categorical, smd_numeric, table1
from cohort.errors import AnalysisError

RTOL = 1e-6
ARMS = ["placebo", "low", "mid", "high"]


@pytest.fixture(scope="module")
def res():
    c = ancova_cohort()
    return table1(c.subjects, c.measurements, variables=["age_years", "sex"],
                  baseline_params=("HBA1C", "FPG"))


def test_numeric_summaries_against_R(res):
    s = res.summary
    age = s[s.variable == "age_years"].set_index("group")
    assert list(age.index) == ["placebo", "high", "low", "mid", "overall"]  # control first
    for arm in ARMS:
        for col, q in (("mean", "mean"), ("sd", "sd"), ("q1", "q1"), ("median", "median"),
                       ("q3", "q3")):
            assert age.loc[arm, col] == pytest.approx(r_value("table1", f"age:{arm}:{q}"),
                                                      rel=RTOL)
    for arm in ARMS[1:]:
        assert age.loc[arm, "smd"] == pytest.approx(abs(r_value("table1", f"smd:age:{arm}")),
                                                    rel=RTOL)
    assert np.isnan(age.loc["placebo", "smd"]) and np.isnan(age.loc["overall", "smd"])


def test_categorical_against_R(res):
    s = res.summary
    sex = s[(s.variable == "sex")]
    assert set(sex.level) == {"F", "M"}
    first = sex[sex.level == "F"].set_index("group")
    for arm in ARMS[1:]:
        assert first.loc[arm, "smd"] == pytest.approx(abs(r_value("table1", f"smd:sex:{arm}")),
                                                      rel=RTOL)
    tot = sex[sex.group == "overall"]
    assert tot["count"].sum() == 25 and tot["percent"].sum() == pytest.approx(100)


def test_baseline_and_notes(res):
    s = res.summary
    hb = s[(s.variable == "baseline HBA1C") & (s.group == "overall")].iloc[0]
    d = pd.read_csv("tests/fixtures/regression/ancova_data.csv")
    assert hb["mean"] == pytest.approx(d.baseline.mean(), rel=1e-12)
    assert hb["unit"] == "%"
    assert res.notes == ["baseline FPG: no FPG measurements in the cohort"]
    wide = res.to_wide()
    n = res.params["group_n"]
    assert {"Characteristic", f"placebo (N = {n['placebo']})", f"overall (N = {n['overall']})",
            "SMD high vs placebo"} <= set(wide.columns)
    assert wide.iloc[0]["Characteristic"] == "Age at day 0 (years), mean (SD)"


def test_missing_counted():
    c = ancova_cohort()
    subj = c.subjects.copy()
    subj.loc[subj.index[:3], "age_years"] = np.nan
    r = table1(subj, variables=["age_years"])
    age = r.summary.set_index("group")
    assert age.loc["overall", "missing"] == 3 and age.loc["overall", "n"] == 22
    assert "    Missing" in r.to_wide()["Characteristic"].tolist()


def test_smd_helpers():
    # binary: the multivariate SMD equals the two-proportion formula
    p1, p2 = 0.3, 0.55
    binary = abs(p1 - p2) / np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / 2)
    assert smd_categorical(np.array([1 - p1, p1]), np.array([1 - p2, p2])) == pytest.approx(
        binary)
    assert smd_categorical(np.array([0.2, 0.3, 0.5]), np.array([0.2, 0.3, 0.5])) == 0
    assert smd_numeric(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])) == pytest.approx(1)


def test_bad_inputs():
    c = ancova_cohort()
    with pytest.raises(AnalysisError, match="no column 'colour'"):
        table1(c.subjects, by="colour")
    with pytest.raises(AnalysisError, match="no column"):
        table1(c.subjects, variables=["shoe_size"])

"""Dose-response against R's cor.test, lm, t.test (Welch) and wilcox.test.

Reference: tests/fixtures/regression/regression.R (datasets dose_*, ranksum_exact).
Tolerance 1e-6 relative.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from test_regression_data import FIX, measurement_rows, r_value, subjects_frame

import cohort
from cohort.analysis import dose_response as dr
from cohort.analysis.correlation import correlation
from cohort.errors import AnalysisError

RTOL = 1e-6
DOSE = pd.read_csv(FIX / "dose_data.csv")


def close(a, b, rtol=RTOL):
    assert a == pytest.approx(b, rel=rtol, abs=1e-14)


@pytest.mark.parametrize("col", ["dose_cells_total", "dose_cells_per_kg"])
def test_correlations_against_cor_test(col):
    ds = f"dose_{col}"
    x, y = DOSE[col].to_numpy(), DOSE["change"].to_numpy()
    p = correlation(x, y, method="pearson")
    close(p["estimate"], r_value(ds, "pearson_r"))
    close(p["p"], r_value(ds, "pearson_p"))
    close(p["ci_lower"], r_value(ds, "pearson_lower"))
    close(p["ci_upper"], r_value(ds, "pearson_upper"))
    s = correlation(x, y, method="spearman")
    close(s["estimate"], r_value(ds, "spearman_rho"))
    close(s["statistic"], r_value(ds, "spearman_S"))
    close(s["p"], r_value(ds, "spearman_p"))
    # R gives no Spearman interval: the R script computes the Fieller-Hartley-Pearson one
    close(s["ci_lower"], r_value(ds, "spearman_lower"))
    close(s["ci_upper"], r_value(ds, "spearman_upper"))


def test_spearman_method_matches_R_rule():
    x, y = DOSE["dose_cells_total"].to_numpy(), DOSE["change"].to_numpy()
    assert not DOSE["change"].duplicated().any()
    s = correlation(x, y, method="spearman")
    assert "Edgeworth series (AS 89)" in s["method"]
    # with ties R switches to the t approximation
    tied = correlation(x, np.round(y, 1), method="spearman")
    assert "t approximation (ties)" in tied["method"]
    rho = stats.spearmanr(x, np.round(y, 1)).statistic
    assert tied["p"] == pytest.approx(stats.spearmanr(x, np.round(y, 1)).pvalue, rel=1e-12)
    assert tied["estimate"] == pytest.approx(rho, rel=1e-12)


def test_spearman_exact_small_n():
    small = DOSE.iloc[:8]
    s = correlation(small["dose_cells_total"], small["change"], method="spearman")
    assert "exact" in s["method"]
    close(s["estimate"], r_value("dose_small", "spearman_rho"))
    close(s["p"], r_value("dose_small", "spearman_p"))


@pytest.mark.parametrize("col", ["dose_cells_total", "dose_cells_per_kg"])
def test_log_dose_regression_against_lm(col):
    ds = f"dose_{col}"
    reg = dr.log_dose_regression(DOSE[col], DOSE["change"])
    close(reg["estimate"], r_value(ds, "lm_slope"))
    close(reg["se"], r_value(ds, "lm_slope_se"))
    close(reg["p"], r_value(ds, "lm_slope_p"))
    close(reg["ci_lower"], r_value(ds, "lm_slope_lower"))
    close(reg["ci_upper"], r_value(ds, "lm_slope_upper"))
    close(reg["intercept"], r_value(ds, "lm_intercept"))
    close(reg["intercept_se"], r_value(ds, "lm_intercept_se"))


def test_threshold_against_t_test_and_wilcox():
    welch, rank = dr.threshold_comparison(DOSE["dose_cells_total"], DOSE["change"],
                                          threshold=1e8)
    assert welch["n_high"] == r_value("dose_threshold", "n_high")
    close(welch["statistic"], r_value("dose_threshold", "welch_t"))
    close(welch["df"], r_value("dose_threshold", "welch_df"))
    close(welch["p"], r_value("dose_threshold", "welch_p"))
    close(welch["ci_lower"], r_value("dose_threshold", "welch_lower"))
    close(welch["ci_upper"], r_value("dose_threshold", "welch_upper"))
    close(rank["statistic"], r_value("dose_threshold", "wilcox_w"))
    close(rank["p"], r_value("dose_threshold", "wilcox_p"))
    assert rank["method"].endswith("exact")


def test_rank_sum_exact():
    res = dr.rank_sum_test([0.11, -0.52, 0.33, -0.91, 0.05],
                           [-1.2, -0.4, -0.77, 0.21, -1.5, -0.03])
    assert res["method"] == "exact"
    close(res["statistic"], r_value("ranksum_exact", "w"))
    close(res["p"], r_value("ranksum_exact", "p"))


def dose_cohort(*, drop_total=False):
    d = DOSE
    subj = subjects_frame(d.subject_id, ["MSC"] * len(d), control=[False] * len(d),
                          weight_kg=d.weight_kg)
    ctrl = subjects_frame(["C1"], ["placebo"], control=[True])
    meas = pd.concat([measurement_rows(d.subject_id, -1, np.full(len(d), 8.0)),
                      measurement_rows(d.subject_id, 365, 8.0 + d.change),
                      measurement_rows(["C1", "C1"], [-1, 365], [8.0, 8.1])])
    inf = pd.DataFrame({"subject_id": d.subject_id, "infusion_number": 1, "day": 0,
                        "source": "umbilical_cord", "donor": "allogeneic",
                        "route": "intravenous", "dose_cells_per_kg": d.dose_cells_per_kg,
                        "dose_cells_total": np.nan if drop_total else d.dose_cells_total})
    return cohort.from_frames({"subjects": pd.concat([subj, ctrl]), "measurements": meas,
                               "infusions": inf})


def test_cohort_level_analysis():
    c = dose_cohort()
    res = dr.dose_response_analysis(c.measurements, c.subjects, c.infusions, last=True,
                                    threshold=1e8)
    s = res.summary.set_index(["dose", "analysis"])
    # change recomputed as (8 + change) - 8 differs from R's change in the last bits only
    assert s.loc[("total", "pearson"), "estimate"] == pytest.approx(
        r_value("dose_dose_cells_total", "pearson_r"), rel=1e-9)
    assert s.loc[("per_kg", "log10_regression"), "estimate"] == pytest.approx(
        r_value("dose_dose_cells_per_kg", "lm_slope"), rel=1e-9)
    assert s.loc[("total", "threshold_welch_t"), "p"] == pytest.approx(
        r_value("dose_threshold", "welch_p"), rel=1e-9)
    assert ("per_kg", "threshold_welch_t") not in s.index
    assert res.exclusions.set_index("subject_id").loc["C1", "reason"] == \
        "control subject: no cells given"
    assert (res.summary["n"].dropna() == 22).all()


def test_total_dose_derived_from_weight():
    c = dose_cohort(drop_total=True)
    res = dr.dose_response_analysis(c.measurements, c.subjects, c.infusions, last=True)
    assert any("derived from body weight" in n for n in res.notes)
    s = res.summary.set_index(["dose", "analysis"])
    assert s.loc[("total", "pearson"), "estimate"] == pytest.approx(
        r_value("dose_dose_cells_total", "pearson_r"), rel=1e-9)
    row = s.loc[("total", "threshold_welch_t")]
    assert row["n_high"] + row["n_low"] == 22
    assert row["n_high"] == (DOSE.dose_cells_per_kg * DOSE.weight_kg >= 1e9).sum()


def test_no_infusions_is_a_clear_error():
    c = dose_cohort()
    with pytest.raises(AnalysisError, match="no infusions table"):
        dr.dose_response_analysis(c.measurements, c.subjects, None, last=True)


def test_threshold_with_one_side_empty_is_explained():
    welch, rank = dr.threshold_comparison([1e8, 2e8, 3e8], [0.1, -0.2, 0.3])
    assert welch["n_high"] == 0 and math.isnan(welch["p"])
    assert "each side needs at least 2" in welch["note"] == rank["note"]


def test_identical_doses_explained():
    res = correlation([1e6] * 5, [0.1, 0.2, -0.3, 0.0, 0.4])
    assert math.isnan(res["estimate"]) and "same dose" in res["note"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=4, max_size=40))
def test_correlation_bounds(pairs):
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    for method in ("pearson", "spearman"):
        r = correlation(x, y, method=method)
        if np.isnan(r["estimate"]):
            assert r["note"]
            continue
        assert -1 - 1e-12 <= r["estimate"] <= 1 + 1e-12
        assert 0 <= r["p"] <= 1
        if not np.isnan(r["ci_lower"]):
            assert r["ci_lower"] <= r["estimate"] + 1e-12 <= r["ci_upper"] + 2e-12

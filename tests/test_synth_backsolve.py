"""Back-solving helpers against R, published numbers and hand-derived cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from cohort.errors import SpecError
from cohort.spec import backsolve
from cohort.spec.values import parse_value

FIXTURES = Path(__file__).parent / "fixtures" / "synth"


@pytest.mark.parametrize("row", pd.read_csv(FIXTURES / "backsolve.csv").to_dict("records"))
def test_sd_from_paired_p_against_R(row):
    # backsolve.R: qt(1 - p/2, n - 1) and |mean| sqrt(n) / t; R prints 15 significant digits and
    # its qt agrees with scipy's t.isf to ~1e-10 relative in the far tail (p = 2e-7)
    t = backsolve.t_from_p(row["p"], int(row["n"]) - 1)
    assert t == pytest.approx(row["t"], rel=1e-9)
    sd = backsolve.sd_from_paired_p(row["mean"], int(row["n"]), row["p"])
    assert sd == pytest.approx(row["sd"], rel=1e-9)


def test_matsuoka_strata_back_solved():
    # Matsuoka 2025: the overall fall 0.79 = (n_mod * 0.58 + n_sev * 1.55) / 61 -> n_sev = 13
    assert backsolve.n_from_weighted_mean(61, 0.79, 0.58, 1.55) == 13
    # (48 * 0.58 + 13 * 1.55) / 61 = 0.7867, which prints as 0.79
    assert round((48 * 0.58 + 13 * 1.55) / 61, 2) == 0.79
    # the moderate baseline mean that keeps the overall 7.49 with a severe mean of 9.0
    assert backsolve.mean_from_overall(7.49, 61, 9.0, 13) == pytest.approx(
        (61 * 7.49 - 13 * 9.0) / 48, rel=1e-15)


def test_round_trip_through_a_paired_t_test():
    # changes with exactly the back-solved SD give the published p-value back
    rng = np.random.default_rng(0)
    mean, n, p = 1.55, 13, 0.0122
    sd = backsolve.sd_from_paired_p(mean, n, p)
    z = rng.standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    changes = -mean + sd * z
    result = stats.ttest_1samp(changes, 0.0)
    assert result.pvalue == pytest.approx(p, rel=1e-9)


def test_sd_from_sem_and_se_of_a_difference():
    assert backsolve.sd_from_sem(0.2, 16) == pytest.approx(0.8, rel=1e-15)
    # Skyler 2015: SE 0.2 of a difference between arms of 15 and 16 -> SD 0.556
    sd = backsolve.sd_from_se_diff(0.2, 15, 16)
    assert sd == pytest.approx(0.2 / math.sqrt(1 / 15 + 1 / 16), rel=1e-15)
    assert round(sd, 3) == 0.556
    assert backsolve.sd_from_iqr(-0.6744897501960817, 0.6744897501960817) == pytest.approx(1.0)


def test_count_from_percent_checks_the_printed_precision():
    assert backsolve.count_from_percent(40.7, 27) == 11  # Lu 2021: 11/27 = 40.74%
    assert backsolve.count_from_percent(33.3, 15) == 5
    assert backsolve.count_from_percent(0, 16) == 0
    with pytest.raises(ValueError, match=r"no count out of 26 gives 40.7%"):
        backsolve.count_from_percent(40.7, 26)  # 10/26 = 38.5%, 11/26 = 42.3%
    with pytest.raises(ValueError, match="between 0 and 100"):
        backsolve.count_from_percent(140, 26)


def test_corr_from_bmi_sd_gives_the_bmi_spread():
    # Skyler 2015 placebo arm: weight 95.9 +- 20.2, height 171.5 +- 9.3, BMI 32.6 +- 6.2
    rho = backsolve.corr_from_bmi_sd(95.9, 20.2, 171.5, 9.3, 6.2, bmi_mean=32.6)
    cv_w, cv_h = 20.2 / 95.9, 9.3 / 171.5
    assert cv_w ** 2 + 4 * cv_h ** 2 - 4 * rho * cv_w * cv_h == pytest.approx((6.2 / 32.6) ** 2)
    assert 0.4 < rho < 0.5
    with pytest.raises(ValueError, match="not consistent"):
        backsolve.corr_from_bmi_sd(95.9, 20.2, 171.5, 9.3, 30.0)


@pytest.mark.parametrize(("value", "expected"), [(8.2, 1), (40, 0), (0.0122, 4), (2e-7, 7),
                                                 (10.0, 1), (7.49, 2)])
def test_decimals_of(value, expected):
    assert backsolve.decimals_of(value) == expected


def test_parse_value_shows_its_derivation():
    v = parse_value({"backsolve": "sd_from_paired_p", "mean": 0.58, "n": 48, "p": 2e-7})
    assert float(v) == pytest.approx(0.660349305654038, rel=1e-9)
    assert v.derivation == "sd_from_paired_p(mean=0.58, n=48, p=2e-07)"
    marked = parse_value({"value": 3, "assumed": "not published"})
    assert float(marked) == 3 and marked.assumed == "not published"


@pytest.mark.parametrize(("raw", "match"), [
    ({"backsolve": "sd_from_magic", "x": 1}, "unknown backsolve helper 'sd_from_magic'"),
    ({"backsolve": "sd_from_sem", "sem": 0.2}, "missing argument"),
    ({"backsolve": "sd_from_sem", "sem": 0.2, "n": 16, "k": 1}, "unknown argument"),
    ({"backsolve": "sd_from_paired_p", "mean": 0.5, "n": 10, "p": 1.5}, "strictly between"),
    ({"backsolve": "sd_from_sem", "sem": 0.2, "n": 16.5}, "whole number"),
    ("8.2", "must be a number"),
    (True, "must be a number"),
])
def test_parse_value_rejects_bad_input(raw, match):
    with pytest.raises(ValueError, match=match):
        parse_value(raw)


@settings(max_examples=60, deadline=None)
@given(mean=st.floats(0.05, 5), n=st.integers(3, 200), p=st.floats(1e-8, 0.5))
def test_back_solved_sd_reproduces_p(mean, n, p):
    sd = backsolve.sd_from_paired_p(mean, n, p)
    t = mean / (sd / math.sqrt(n))
    assert 2 * stats.t.sf(t, n - 1) == pytest.approx(p, rel=1e-6)


def test_backsolve_errors_reach_users_as_spec_errors():
    import yaml

    from cohort.spec import spec_from_dict

    raw = yaml.safe_load((FIXTURES / "new_study.yaml").read_text(encoding="utf-8"))
    raw["baseline"]["variables"]["HBA1C"]["dist"]["placebo"]["sd"] = {
        "backsolve": "sd_from_paired_p", "mean": 0.5, "n": 1, "p": 0.01}
    with pytest.raises(SpecError, match=r"baseline\.variables\.HBA1C\.dist\.placebo.*n >= 2"):
        spec_from_dict(raw)

"""External validation of a stored model against R (pROC for the AUC and its DeLong interval,
glm for calibration-in-the-large and slope): tests/fixtures/remission/external_reference.R
applied tests/fixtures/remission/external_model.yaml (C-peptide in pmol/L) to glm_data.csv
(C-peptide in nmol/L). Plus model files, units and bad specs."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cohort.analysis.external import (
    ModelSpec,
    convert_unit,
    external_validation,
    linear_predictor,
    load_model,
    save_model,
)
from cohort.analysis.logistic import logistic_regression
from cohort.errors import AnalysisError, SmallSampleWarning, SpecError

FIX = Path(__file__).parent / "fixtures" / "remission"
REF = json.loads((FIX / "external_reference.json").read_text())
UNITS = {"cpep_fast": "nmol/L", "dose": "10^6 cells/kg"}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(FIX / "glm_data.csv")


@pytest.fixture(scope="module")
def validated(data):
    return external_validation(FIX / "external_model.yaml", data, outcome="remission",
                               units=UNITS)


def test_matches_proc_and_glm(validated):
    s = validated.summary.set_index("metric")
    assert s["n"].iloc[0] == REF["n"] and s["n_events"].iloc[0] == REF["n_events"]
    # all quantities are closed-form or converged glm fits (epsilon 1e-14) on both sides
    for metric, est, lo, hi in [("auc", "auc", "auc_lower", "auc_upper"),
                                ("calibration_intercept", "citl", "citl_lower", "citl_upper"),
                                ("calibration_slope", "slope", "slope_lower", "slope_upper")]:
        np.testing.assert_allclose(s.loc[metric, ["estimate", "ci_lower", "ci_upper"]]
                                   .astype(float), [REF[est], REF[lo], REF[hi]], rtol=1e-8,
                                   err_msg=metric)
    np.testing.assert_allclose(s.loc["brier", "estimate"], REF["brier"], rtol=1e-12)
    np.testing.assert_allclose(s.loc["observed_expected", "estimate"],
                               REF["observed_expected"], rtol=1e-12)
    np.testing.assert_allclose(s.loc["mean_predicted", "estimate"], REF["mean_predicted"],
                               rtol=1e-12)


def test_recalibration_in_the_large_restores_the_event_rate(validated):
    r = validated.recalibrated.set_index("method")
    np.testing.assert_allclose(r.loc["recalibration in the large", "intercept"],
                               1.5 + REF["citl"], rtol=1e-8)
    rate = REF["n_events"] / REF["n"]
    np.testing.assert_allclose(r.loc["recalibration in the large", "mean_predicted"], rate,
                               rtol=1e-8)
    np.testing.assert_allclose(r.loc["logistic recalibration", "slope"], REF["slope"],
                               rtol=1e-8)
    np.testing.assert_allclose(r.loc["logistic recalibration", "intercept"],
                               REF["slope_intercept"] + REF["slope"] * 1.5, rtol=1e-8)
    np.testing.assert_allclose(validated.predictions["predicted_recalibrated"].mean(), rate)


def test_units_are_converted_not_assumed(data):
    spec = load_model(FIX / "external_model.yaml")
    lp = linear_predictor(spec, data, units=UNITS)
    np.testing.assert_allclose(lp, 1.5 - 0.009 * data["cpep_fast"] * 1000 + 0.6 * data["dose"])
    # the same model written per nmol/L gives the same linear predictor
    per_nmol = spec.model_copy(deep=True)
    per_nmol.predictors[0].unit = "nmol/L"
    per_nmol.predictors[0].coefficient = -9.0
    np.testing.assert_allclose(linear_predictor(per_nmol, data, units=UNITS), lp)
    np.testing.assert_allclose(convert_unit(np.array([0.331]), "nmol/L", "ng/mL"), [1.0])
    np.testing.assert_allclose(convert_unit(np.array([53.0]), "mmol/mol", "%"),
                               [53 / 10.929 + 2.15])
    np.testing.assert_allclose(convert_unit(np.array([2.0]), "10^6 cells/kg", "cells/kg"),
                               [2e6])
    with pytest.raises(SpecError, match="cannot convert 'nmol/L' to 'cells/kg'"):
        convert_unit(np.array([1.0]), "nmol/L", "cells/kg")


def test_save_and_load_round_trip(tmp_path, data):
    d = data.assign(control=data["treated"] == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        fit = logistic_regression(d, "remission", ["cpep_fast", "dose"], population="treated")
    spec = fit.to_model_spec(name="dev", units={"cpep_fast": "nmol/L",
                                                "dose": "10^6 cells/kg"})
    for suffix in (".json", ".yaml"):
        path = save_model(spec, tmp_path / f"model{suffix}")
        back = load_model(path)
        assert isinstance(back, ModelSpec)
        np.testing.assert_allclose(linear_predictor(back, d, units=UNITS),
                                   np.log(fit.predict_proba(d) / (1 - fit.predict_proba(d))))
    with pytest.raises(SpecError, match="never pickle"):
        save_model(spec, tmp_path / "model.pkl")


@pytest.mark.parametrize(("text", "suffix", "match"), [
    ("name: m\nintercept: 1\npredictors: []\n", ".yaml", "predictors: List should have at"),
    ("name: m\npredictors:\n  - {name: a, column: a, coefficient: 1}\n", ".yaml",
     "intercept: Field required"),
    ("name: m\nintercept: 1\npredictors:\n  - {name: a, column: a, coefficient: 1, "
     "transform: exp}\n", ".yaml", r"predictors.0.transform"),
    ("name: m\nintercept: 1\nformula: y ~ x\npredictors:\n  - {name: a, column: a, "
     "coefficient: 1}\n", ".yaml", "formula: Extra inputs are not permitted"),
    ("[1, 2]", ".json", "a model must be a mapping"),
    ("{", ".json", "not valid JSON"),
    ("x", ".pkl", "use a .json, .yaml or .yml file"),
])
def test_bad_model_files(tmp_path, text, suffix, match):
    path = tmp_path / f"model{suffix}"
    path.write_text(text)
    with pytest.raises(SpecError, match=match):
        load_model(path)


def test_bad_data(data):
    spec = load_model(FIX / "external_model.yaml")
    with pytest.raises(AnalysisError, match="needs column 'cpep_fast'"):
        external_validation(spec, data.drop(columns="cpep_fast"), outcome="remission")
    with pytest.raises(AnalysisError, match="every subject has the event"):
        external_validation(spec, data.assign(remission=1), outcome="remission", units=UNITS)
    d = data.copy()
    d.loc[[0, 1], "dose"] = np.nan
    res = external_validation(spec, d, outcome="remission", units=UNITS)
    assert res.summary["n"].iloc[0] == 51
    assert res.exclusions["subject_id"].tolist() == ["S01", "S02"]

"""The remission model's small-sample default (issue 13, item 5).

Below 10 events per variable the default (``method="auto"``) is Firth's penalised likelihood
with penalised profile-likelihood intervals, stated in the output with the EPV; ML on request.
The Firth and ML numbers themselves are checked against R (logistf, glm + confint) in
tests/test_logistic_firth.py and tests/test_logistic_glm.py; here: which one is chosen, that
the choice is exactly that estimator, and that the output says so.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cohort
from cohort.analysis.logistic import choose_method, logistic_regression
from cohort.analysis.remission import remission_analysis
from cohort.cli.app import app
from cohort.derive.remission_dataset import remission_dataset
from cohort.errors import AnalysisError, SmallSampleWarning

LU = Path(__file__).parent / "fixtures" / "reproduce" / "lu2021"
PREDICTORS = ["baseline_cpep_fast_nmol_l", "dose_1e6_cells_per_kg"]


@pytest.fixture(scope="module")
def data():
    c = cohort.load_cohort(LU)
    d = remission_dataset(c.measurements, c.subjects, c.infusions)
    d = d.loc[d["remission"].notna()].copy()
    d["remission"] = d["remission"].astype(bool)
    return d


def fit(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        return logistic_regression(data, "remission", PREDICTORS, population="treated", **kw)


def test_auto_is_firth_below_ten_events_per_variable(data):
    auto = fit(data, method="auto")
    firth = fit(data, method="firth")
    m = auto.model
    assert (m["n"], m["n_events"], m["events_per_variable"]) == (27, 11, 5.5)
    assert m["method"] == "firth" and m["method_requested"] == "auto"
    assert "penalised profile-likelihood" in m["method_reason"] and "(5.5)" in m["method_reason"]
    assert any("chosen because the events per variable (5.5) are below 10" in n
               for n in auto.notes)
    np.testing.assert_array_equal(auto.summary["estimate"], firth.summary["estimate"])
    np.testing.assert_array_equal(auto.summary["ci_lower"], firth.summary["ci_lower_profile"])
    ml = fit(data, method="ml")
    assert ml.model["method"] == "ml" and ml.model["method_requested"] == "ml"
    assert not np.allclose(ml.summary["estimate"], firth.summary["estimate"])


def test_auto_is_ml_from_ten_events_per_variable(data):
    # all 53 subjects, one predictor: 14 events per variable
    res = logistic_regression(data, "remission", ["treated"], method="auto")
    assert res.model["method"] == "ml"
    assert res.model["events_per_variable"] == 14.0
    assert choose_method(10.0)[0] == "ml" and choose_method(9.99)[0] == "firth"


def test_small_sample_warning_names_the_estimator(data):
    with pytest.warns(SmallSampleWarning, match="Firth's estimates reduce"):
        logistic_regression(data, "remission", PREDICTORS, population="treated",
                            method="auto")
    with pytest.warns(SmallSampleWarning, match="the default 'auto' chooses it"):
        logistic_regression(data, "remission", PREDICTORS, population="treated", method="ml")
    with pytest.raises(AnalysisError, match="'auto', 'ml' or 'firth'"):
        logistic_regression(data, "remission", PREDICTORS, method="exact")


def test_remission_analysis_default_is_auto():
    c = cohort.load_cohort(LU)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)
        res = remission_analysis(c.measurements, c.subjects, c.infusions,
                                 predictors=PREDICTORS, population="treated")
    assert res.params["method"] == "auto"
    assert res.model.model["method"] == "firth"


def test_cli_states_the_method_and_epv():
    runner = CliRunner()
    res = runner.invoke(app, ["analyze", "remission", str(LU), "-p", PREDICTORS[0], "-p",
                              PREDICTORS[1], "--population", "treated", "--format", "json"])
    assert res.exit_code == 0, res.output
    model = json.loads(res.stdout)["model"]["model"]
    assert model["method"] == "firth" and model["events_per_variable"] == 5.5
    text = runner.invoke(app, ["analyze", "remission", str(LU), "-p", PREDICTORS[0], "-p",
                               PREDICTORS[1], "--population", "treated"])
    assert text.exit_code == 0
    assert "Logistic regression (Firth, population treated)" in text.stdout
    assert "EPV 5.5" in text.stdout and "penalised profile" in text.stdout
    ml = runner.invoke(app, ["analyze", "remission", str(LU), "-p", PREDICTORS[0], "-p",
                             PREDICTORS[1], "--population", "treated", "--method", "ml",
                             "--format", "json"])
    assert json.loads(ml.stdout)["model"]["model"]["method"] == "ml"


def test_profile_interval_survives_complete_separation(data):
    """A replicate of bench/bench_logistic_coverage.py: these outcomes on the treated design
    are completely separated; the ML profile search started far out in the separated
    direction overflowed to a NaN objective and brentq raised (a traceback for the user)."""
    from cohort.analysis.logistic_design import build_design, select_population
    from cohort.analysis.logistic_fit import fit_ml
    from cohort.analysis.logistic_profile import profile_interval

    frame, _ = select_population(data, "treated")
    x = build_design(frame, "remission", PREDICTORS).x
    y = np.array([int(c) for c in "000001111000011000000100100"], dtype=float)
    with np.errstate(over="ignore"):  # statsmodels' logit link at the separated estimate
        fit = fit_ml(x, y, warn=False)
    lo, hi = profile_interval(x, y, fit, 2, firth=False)  # the dose: where it broke
    assert not (np.isnan(lo) or np.isnan(hi)) and lo <= fit.coef[2] + 1e-6

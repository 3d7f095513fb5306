"""Prediction of a binary outcome (remission) with honest small-sample evaluation.

Trials here have 11-30 events, so a model's apparent performance on its own data is optimistic.
This module measures how optimistic, in two ways, and reports both next to the apparent numbers:

* **repeated stratified cross-validation**: predictions for each subject from models that did
  not see that subject, pooled per repeat, over many random partitions;
* **bootstrap optimism correction** (Harrell; Steyerberg, *Clinical Prediction Models*, 2019,
  ch. 17): refit on each bootstrap sample, measure performance on that sample and on the
  original data; the mean difference is the optimism, subtracted from the apparent value.

Every model is a scikit-learn pipeline with median imputation and standardisation *inside* the
resampling (refitted on every training set): ``logistic`` (unpenalised, ``C=inf``: scikit-learn's
default is an L2 penalty, which biases coefficients at n = 53), ``ridge`` (L2-penalised),
``firth`` (Firth's penalised likelihood, :class:`FirthLogisticRegression`) and ``forest`` (a
random forest). Metrics: AUC (c-statistic), Brier score, calibration intercept
(calibration-in-the-large: ``logit P(y) = a + offset(logit p)``) and calibration slope
(``logit P(y) = a + b logit p``). The cross-validated predictions also give a ROC curve, a binned
calibration curve, a decision curve (net benefit) and permutation importance (loss of
cross-validated AUC when one predictor is shuffled, measured on held-out subjects only).

All randomness derives from one ``random_state`` through :class:`numpy.random.SeedSequence`.

The pieces live in :mod:`~cohort.analysis.prediction_models` (the pipelines),
:mod:`~cohort.analysis.prediction_metrics` (AUC, Brier, calibration, curves) and
:mod:`~cohort.analysis.prediction_resampling` (bootstrap and cross-validation); this module runs
them as one analysis and re-exports their public names.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cohort.analysis._common import catch_only
from cohort.analysis.logistic_design import build_design, select_population
from cohort.analysis.prediction_metrics import (
    METRICS,
    calibration_intercept_slope,
    calibration_table,
    decision_curve,
    performance,
    roc_table,
)
from cohort.analysis.prediction_models import (
    MODELS,
    REFIT_WARNINGS,
    FirthLogisticRegression,
    make_model,
)
from cohort.analysis.prediction_resampling import bootstrap_optimism, check_folds, repeated_cv
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.errors import AnalysisError, SmallSampleWarning

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "METRICS",
    "MODELS",
    "FirthLogisticRegression",
    "PredictionResult",
    "bootstrap_optimism",
    "calibration_table",
    "calibration_intercept_slope",
    "decision_curve",
    "evaluate_prediction",
    "make_model",
    "performance",
    "repeated_cv",
    "roc_table",
]


# --------------------------------------------------------------------------------------------
# the analysis


@dataclass
class PredictionResult(AnalysisResult):
    """Cross-validated and bootstrap-corrected performance of prediction models.

    ``summary``: one row per model and metric (``auc``, ``brier``, ``calibration_intercept``,
    ``calibration_slope``) with ``model``, ``metric``, ``apparent`` (fitted and evaluated on
    all subjects), ``optimism`` and ``corrected`` (bootstrap, Harrell), ``cv_mean``,
    ``cv_lower``, ``cv_upper`` (mean and 2.5-97.5 percentiles over cross-validation repeats:
    the spread due to partitioning, not a confidence interval), ``n``, ``n_events``,
    ``n_bootstrap_used``, ``n_bootstrap_not_converged``, ``n_excluded``.

    Other tables (each with a ``model`` column): ``roc`` (``threshold``, ``fpr``, ``tpr``),
    ``calibration`` (binned, see :func:`calibration_table`), ``decision`` (see
    :func:`decision_curve`), ``importance`` (``predictor``, ``importance`` = mean drop in
    cross-validated AUC, ``sd``), ``predictions`` (``subject_id``, ``outcome``, and per model
    the cross-validated probability averaged over repeats). The curves use the cross-validated
    probabilities, never the apparent ones.
    """

    roc: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    decision: pd.DataFrame = field(default_factory=pd.DataFrame)
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: base keys plus ``roc``, ``calibration``, ``decision``,
        ``importance`` and ``predictions``."""
        out = super().to_dict()
        for key in ("roc", "calibration", "decision", "importance", "predictions"):
            out[key] = json_safe(getattr(self, key))
        return out

    def plot(self, *, ax: Axes | None = None, kind: str = "roc", **kwargs: Any) -> Axes:
        """ROC curves (``kind="roc"``), calibration (``"calibration"``) or, for
        cross-validated models, decision curves (``"decision"``)
        (:mod:`cohort.report.figures.prediction`)."""
        from cohort.report.figures.prediction import plot_prediction

        return plot_prediction(self, kind=kind, ax=ax, **kwargs)


def evaluate_prediction(frame: pd.DataFrame, outcome: str, predictors: list[str], *,
                        models: tuple[str, ...] | list[str] = ("logistic", "ridge", "firth"),
                        n_splits: int = 5, n_repeats: int = 20, n_bootstrap: int = 200,
                        random_state: int = 0, n_permutations: int = 5,
                        population: Literal["all", "treated"] = "all",
                        id_col: str = "subject_id", control_col: str = "control",
                        ridge_c: float = 1.0, n_estimators: int = 100, n_bins: int = 5,
                        ) -> PredictionResult:
    """Develop and evaluate prediction models for a binary outcome on one cohort.

    Parameters
    ----------
    frame : DataFrame
        One row per subject: outcome, predictors (units as their names state), and
        ``control_col`` when ``population="treated"``.
    outcome : str
        Binary outcome column (1 = event).
    predictors : list of str
        Numeric or boolean columns; missing values are imputed inside every refit.
    models : sequence of str
        Any of ``logistic``, ``ridge``, ``firth``, ``forest`` (see :func:`make_model`). The
        logistic models bootstrap in one vectorised pass; a forest is refitted
        ``n_bootstrap + n_splits * n_repeats + 1`` times (minutes at the defaults).
    n_splits, n_repeats : int
        Repeated stratified k-fold cross-validation (``n_splits=0`` skips it). Every fold
        must hold at least 2 events and 2 non-events.
    n_bootstrap : int
        Bootstrap samples for the optimism correction (0 skips it).
    random_state : int
        The one seed all randomness derives from.
    n_permutations : int
        Permutations per repeat for permutation importance.
    population : {"all", "treated"}
        ``"treated"`` keeps subjects whose ``control_col`` is False.
    n_bins : int
        Bins of the calibration curve.
    """
    models = list(models)
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise AnalysisError(f"unknown model(s) {bad or models}; choose from {', '.join(MODELS)}")
    if n_splits == 0 and n_bootstrap == 0:
        raise AnalysisError("with n_splits=0 and n_bootstrap=0 nothing is evaluated")
    frame, excluded = select_population(frame, population, id_col=id_col,
                                        control_col=control_col)
    design = build_design(frame, outcome, list(predictors), id_col=id_col, missing="keep")
    exclusions = pd.concat([excluded, design.exclusions], ignore_index=True) \
        if len(excluded) else design.exclusions
    x, y = design.x[:, 1:], design.y
    n, n_events = design.n, design.n_events
    if n_splits:
        check_folds(y, n_splits)
    notes: list[str] = []
    n_missing = int(np.isnan(x).any(axis=1).sum())
    if n_missing:
        notes.append(f"{n_missing} subject(s) have a missing predictor; values are imputed "
                     "(median of the training data) inside every refit")
    rarest = min(n_events, n - n_events)
    if rarest / len(predictors) < 10:
        msg = (f"{rarest} {'events' if n_events <= n - n_events else 'non-events'} for "
               f"{len(predictors)} predictor(s) ({rarest / len(predictors):.1f} per predictor):"
               " expect optimism; read the corrected and cross-validated values, not the "
               "apparent ones")
        notes.append(msg)
        warnings.warn(msg, SmallSampleWarning, stacklevel=2)
    seeds = np.random.SeedSequence(random_state).generate_state(2 * len(models))
    rows, roc, cal, dec, imp = [], [], [], [], []
    predictions = pd.DataFrame({"subject_id": design.ids, "outcome": y.astype(int)})
    for i, name in enumerate(models):
        boot = None
        if n_bootstrap:
            boot = bootstrap_optimism(x, y, name, n_bootstrap=n_bootstrap,
                                      random_state=int(seeds[2 * i]), ridge_c=ridge_c,
                                      n_estimators=n_estimators).set_index("metric")
            if boot["n_not_converged"].iloc[0]:
                why = (" (separation in the sample: some estimates are infinite)"
                       if name == "logistic" else "")
                notes.append(f"{name}: {boot['n_not_converged'].iloc[0]} of {n_bootstrap} "
                             f"bootstrap refits did not converge{why}; they are kept")
        cvo = None
        if n_splits:
            cvo = repeated_cv(x, y, name, n_splits=n_splits, n_repeats=n_repeats,
                              random_state=int(seeds[2 * i + 1]),
                              n_permutations=n_permutations, ridge_c=ridge_c,
                              n_estimators=n_estimators)
        if boot is None:
            with catch_only(*REFIT_WARNINGS):
                fitted = make_model(name, random_state=int(seeds[2 * i]), ridge_c=ridge_c,
                                    n_estimators=n_estimators).fit(x, y)
            apparent = performance(y, fitted.predict_proba(x)[:, 1])
        for m in METRICS:
            row: dict[str, Any] = {"model": name, "metric": m}
            if boot is not None:
                row.update(apparent=boot.loc[m, "apparent"], optimism=boot.loc[m, "optimism"],
                           corrected=boot.loc[m, "corrected"])
            else:
                row.update(apparent=apparent[m], optimism=np.nan, corrected=np.nan)
            if cvo is not None:
                vals = cvo.per_repeat[m].to_numpy()
                vals = vals[np.isfinite(vals)]
                row.update(cv_mean=float(vals.mean()) if vals.size else np.nan,
                           cv_lower=float(np.percentile(vals, 2.5)) if vals.size else np.nan,
                           cv_upper=float(np.percentile(vals, 97.5)) if vals.size else np.nan)
            else:
                row.update(cv_mean=np.nan, cv_lower=np.nan, cv_upper=np.nan)
            row.update(n=n, n_events=n_events,
                       n_bootstrap_used=int(boot.loc[m, "n_used"]) if boot is not None else 0,
                       n_bootstrap_not_converged=int(boot.loc[m, "n_not_converged"])
                       if boot is not None else 0,
                       n_excluded=len(exclusions))
            rows.append(row)
        if cvo is not None:
            p_cv = cvo.oof.mean(axis=0)
            predictions[name] = p_cv
            roc.append(roc_table(y, p_cv).assign(model=name))
            cal.append(calibration_table(y, p_cv, n_bins).assign(model=name))
            dec.append(decision_curve(y, p_cv).assign(model=name))
            drops = cvo.importance.reshape(-1, len(predictors))
            imp.append(pd.DataFrame({"model": name, "predictor": list(predictors),
                                     "importance": drops.mean(axis=0),
                                     "sd": drops.std(axis=0, ddof=1)}))

    def _frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
        if not parts:
            return pd.DataFrame()
        out = pd.concat(parts, ignore_index=True)
        return out[["model", *[c for c in out.columns if c != "model"]]]

    params = {"outcome": outcome, "predictors": list(predictors), "models": models,
              "n_splits": n_splits, "n_repeats": n_repeats, "n_bootstrap": n_bootstrap,
              "random_state": random_state, "n_permutations": n_permutations,
              "population": population, "ridge_c": ridge_c, "n_estimators": n_estimators}
    return PredictionResult(
        summary=pd.DataFrame(rows), exclusions=exclusions.reset_index(drop=True),
        params=params, notes=notes, roc=_frame(roc), calibration=_frame(cal),
        decision=_frame(dec), importance=_frame(imp), predictions=predictions)


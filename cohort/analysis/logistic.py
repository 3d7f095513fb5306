"""Inferential logistic regression for a binary outcome (e.g. C-peptide remission).

Two estimators share one design-matrix builder, one profile-likelihood routine and one result:

* ``method="ml"``: ordinary (unpenalised) maximum likelihood, fitted with statsmodels' GLM
  (binomial family, IRLS), as R's ``glm(family = binomial)``;
* ``method="firth"``: Firth's penalised likelihood, ``l(b) + 0.5 log|I(b)|`` (the Jeffreys
  prior), fitted by Newton-Raphson on the modified score with step halving, as R's ``logistf``.
  Estimates are finite under separation and less biased with few events.

``method="auto"`` chooses between them by the events per variable (EPV: events or non-events,
whichever is rarer, per predictor): below :data:`EPV_MIN` (10) Firth, with penalised
profile-likelihood intervals, else maximum likelihood; the result says which and why. At
Lu 2021's size (27 treated, about 11 events, 2 predictors) the ML profile intervals covered
0.917-0.930 where 0.95 is claimed, Firth's penalised profile intervals 0.932-0.947
(``bench/bench_logistic_coverage.py``, 2000 replicates).

Both report odds ratios with Wald **and** profile-likelihood intervals (R's ``confint()`` on a
``glm`` is profile likelihood; statsmodels' ``conf_int()`` is Wald; they differ noticeably at
n = 53) and a likelihood-ratio test of each coefficient (penalised for Firth, as ``logistf``:
the restricted fit keeps the full model's penalty). Small-sample hazards are warned about, never
hidden: events per variable below 10 (:class:`~cohort.errors.SmallSampleWarning`), separation
(:class:`~cohort.errors.SeparationWarning`) and a cell dose that is zero for every control and so
confounded with the arm (:class:`~cohort.errors.CollinearityWarning`).

This module holds the analysis (:func:`logistic_regression`, :func:`choose_method`) and its
result (:class:`LogisticResult`). The parts live in their own modules and are re-exported here:
design matrices in :mod:`cohort.analysis.logistic_design` (built from column lists, never from
formula strings, by :func:`cohort.analysis.linear_model.build_design`), the ML and Firth fits in
:mod:`cohort.analysis.logistic_fit` (the maximum-likelihood fit's Wald statistics are
statsmodels' own; Firth's are computed from the inverse information, as ``logistf`` reports
them), profile-likelihood intervals and likelihood-ratio tests in
:mod:`cohort.analysis.logistic_profile`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from cohort.analysis.linear_model import INTERCEPT
from cohort.analysis.linear_model import build_design as build_linear_design
from cohort.analysis.logistic_design import (
    Design,
    binary_outcome,
    build_design,
    numeric_column,
    select_population,
    subject_ids,
)
from cohort.analysis.logistic_fit import LogisticFit, detect_separation, fit_firth, fit_ml
from cohort.analysis.logistic_profile import _lr_test, profile_interval
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.errors import (
    AnalysisError,
    CollinearityWarning,
    ConvergenceWarning,
    SeparationWarning,
    SmallSampleWarning,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "EPV_MIN",
    "INTERCEPT",
    "Design",
    "LogisticFit",
    "LogisticResult",
    "binary_outcome",
    "build_design",
    "choose_method",
    "detect_separation",
    "fit_firth",
    "fit_ml",
    "logistic_regression",
    "numeric_column",
    "profile_interval",
    "select_population",
    "subject_ids",
]

EPV_MIN = 10
"""Events per variable below which a model is flagged (Peduzzi et al. 1996)."""

Method = Literal["auto", "ml", "firth"]


@dataclass
class LogisticResult(AnalysisResult):
    """A fitted logistic model.

    ``summary`` has one row per term (``(Intercept)`` first) with columns

    ``term``; ``estimate`` (log odds ratio, per unit of the predictor as its column name
    states), ``std_error``, ``z``, ``p_wald``; ``ci_lower``, ``ci_upper`` (interval of the
    coefficient by ``ci_method``); ``ci_lower_wald``, ``ci_upper_wald``,
    ``ci_lower_profile``, ``ci_upper_profile`` (both kinds, always); ``odds_ratio``,
    ``or_ci_lower``, ``or_ci_upper`` (exponentiated, by ``ci_method``); ``lr_chi2``, ``lr_df``,
    ``p_lr`` (likelihood-ratio test of the coefficient being 0; penalised for Firth); ``p``
    (the p-value to report: ``p_lr``); ``n``, ``n_events``, ``n_excluded``.

    ``model`` holds the fit statistics: ``method``, ``ci_method``, ``alpha``, ``population``,
    ``n``, ``n_events``, ``n_nonevents``, ``n_predictors``, ``events_per_variable``,
    ``loglik``, ``loglik_null``, ``objective`` (penalised log-likelihood for Firth),
    ``lr_chi2``, ``lr_df``, ``lr_p`` (all predictors together), ``aic``, ``converged``,
    ``n_iter``, ``separation`` (terms involved, or None).
    """

    model: dict[str, Any] = field(default_factory=dict)
    coef: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    cov: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the base keys plus ``model`` (fit statistics)."""
        out = super().to_dict()
        out["model"] = json_safe(self.model)
        return out

    def plot(self, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Forest plot of the odds ratios (intercept left out) with their CIs, on a log axis
        (:func:`cohort.report.figures.rates.ratio_forest`)."""
        from cohort.report.figures.rates import ratio_forest

        rows = self.summary.loc[self.summary["term"] != "(Intercept)"].rename(
            columns={"estimate": "log_or", "odds_ratio": "estimate",
                     "ci_lower": "log_ci_lower", "ci_upper": "log_ci_upper",
                     "or_ci_lower": "ci_lower", "or_ci_upper": "ci_upper"})
        how = self.model.get("ci_method", "")
        interval = "95% CI" + (f", {how}" if how else "")
        return ratio_forest(rows, label="term", what="Odds ratio", interval=interval, ax=ax,
                            **kwargs)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted probability of the event for each row of ``frame`` (NaN if incomplete)."""
        terms = [t for t in self.coef.index if t != INTERCEPT]
        columns = pd.DataFrame({t: numeric_column(frame[t], t) for t in terms},
                               index=pd.RangeIndex(len(frame)))
        x = build_linear_design(columns, factors={}, numeric=terms).X
        return special.expit(x @ self.coef.to_numpy())

    def to_model_spec(self, *, name: str, outcome_definition: str = "",
                      units: dict[str, str] | None = None,
                      citation: str = "") -> dict[str, Any]:
        """The model as a plain dict for :func:`cohort.analysis.external.save_model`.

        ``units`` gives the unit of each predictor (e.g. ``{"baseline_cpep_fast": "nmol/L"}``);
        predictors without one are recorded as unit ``"1"`` (dimensionless).
        """
        units = units or {}
        preds = [
            {"name": t, "column": t, "coefficient": float(self.coef[t]),
             "unit": units.get(t, "1")}
            for t in self.coef.index if t != INTERCEPT
        ]
        return {
            "name": name,
            "citation": citation,
            "outcome": outcome_definition,
            "method": self.model.get("method", ""),
            "n_development": self.model.get("n"),
            "n_events_development": self.model.get("n_events"),
            "intercept": float(self.coef[INTERCEPT]),
            "predictors": preds,
        }


def _exp(v: float) -> float:
    """exp without overflow warnings: inf beyond the float range."""
    return math.exp(v) if v < 709.0 else math.inf


def _warn(notes: list[str], message: str, category: type[Warning]) -> None:
    notes.append(message)
    warnings.warn(message, category, stacklevel=3)


def _dose_confounded(frame: pd.DataFrame, predictors: list[str], control_col: str
                     ) -> list[tuple[str, int]]:
    """Predictors that are 0 for every control but vary among treated subjects."""
    if control_col not in frame.columns:
        return []
    control = frame[control_col].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if not control.any() or control.all():
        return []
    out = []
    for p in predictors:
        if p == control_col or p not in frame.columns \
                or not pd.api.types.is_numeric_dtype(frame[p].dtype) \
                or pd.api.types.is_bool_dtype(frame[p].dtype):
            continue
        vals = frame[p].astype("float64").to_numpy(na_value=np.nan)
        ctl = vals[control & ~np.isnan(vals)]
        trt = vals[~control & ~np.isnan(vals)]
        if set(np.unique(trt).tolist()) == {1.0}:
            continue  # the treatment indicator itself, not a dose
        if ctl.size and (ctl == 0).all() and trt.size and (trt != 0).any():
            out.append((p, int(ctl.size)))
    return out


def choose_method(epv: float) -> tuple[Literal["ml", "firth"], str]:
    """The estimator ``method="auto"`` uses at ``epv`` events per variable, and why.

    Below :data:`EPV_MIN` (10) events per variable Firth's penalised likelihood, whose
    penalised profile-likelihood intervals keep their coverage there, else maximum
    likelihood (as R's ``glm``).
    """
    if epv < EPV_MIN:
        return "firth", (f"Firth's penalised likelihood with penalised profile-likelihood "
                         f"intervals, chosen because the events per variable ({epv:.1f}) are "
                         f"below {EPV_MIN}; maximum likelihood on request (method='ml', "
                         "--method ml)")
    return "ml", (f"maximum likelihood (as R glm), chosen because the events per variable "
                  f"({epv:.1f}) are at least {EPV_MIN}; Firth on request (method='firth')")


def logistic_regression(frame: pd.DataFrame, outcome: str, predictors: list[str], *,
                        method: Method = "ml", ci_method: Literal["profile", "wald"] = "profile",
                        alpha: float = 0.05, population: Literal["all", "treated"] = "all",
                        id_col: str = "subject_id", control_col: str = "control",
                        ) -> LogisticResult:
    """Multivariable logistic regression with odds ratios, Wald and profile CIs and LR tests.

    Parameters
    ----------
    frame : DataFrame
        One row per subject with the outcome and predictor columns (units as the column names
        state, e.g. ``baseline_cpep_fast`` in nmol/L, ``dose_1e6_cells_per_kg`` in 10^6 cells
        per kg body weight) and, for ``population="treated"`` and the dose check, a boolean
        ``control_col``.
    outcome : str
        Binary outcome column (1 = event, e.g. remission).
    predictors : list of str
        Numeric or boolean columns; an intercept is always added.
    method : {"ml", "firth", "auto"}
        Unpenalised maximum likelihood (statsmodels GLM, as R's ``glm``) or Firth's penalised
        likelihood (as R's ``logistf``), the better choice with few events or separation;
        ``"auto"``: Firth when the events per variable are below 10, else ML (the choice,
        the EPV and the reason are in ``model`` and ``notes``). This function defaults to
        ML (as R's ``glm``); the remission analysis (``remission_analysis``, ``cohort
        analyze remission``) defaults to ``"auto"``.
    ci_method : {"profile", "wald"}
        Which interval fills ``ci_lower``/``ci_upper`` and the odds-ratio interval (both are
        always reported in their own columns). Profile is R's ``confint()`` default for glm.
    alpha : float
        1 - confidence level.
    population : {"all", "treated"}
        ``"treated"`` fits the model within the treated arm (rows with ``control_col`` True
        are listed in ``exclusions``): the way to estimate a dose effect, since a cell dose is
        0 for every control.
    id_col, control_col : str
        Subject identifier and control-arm indicator columns.

    Warns
    -----
    SmallSampleWarning
        Fewer than 10 events (or non-events, whichever is rarer) per predictor.
    SeparationWarning
        (Quasi-)complete separation with ``method="ml"``: some estimates are infinite.
    ConvergenceWarning
        The fit did not converge (without separation).
    CollinearityWarning
        A predictor is 0 for every control but not for treated subjects (a cell dose) while
        controls are in the model: its effect is confounded with the arm.
    """
    if method not in ("auto", "ml", "firth"):
        raise AnalysisError(f"method must be 'auto', 'ml' or 'firth', got {method!r}")
    if ci_method not in ("profile", "wald"):
        raise AnalysisError(f"ci_method must be 'profile' or 'wald', got {ci_method!r}")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be between 0 and 1, got {alpha!r}")
    predictors = list(predictors)
    if not predictors:
        raise AnalysisError("no predictors given; name at least one predictor column")
    notes: list[str] = []
    frame, pre_excluded = select_population(frame, population, id_col=id_col,
                                            control_col=control_col)
    if population == "all":
        for p, n_ctl in _dose_confounded(frame, predictors, control_col):
            _warn(notes,
                  f"{p!r} is 0 for all {n_ctl} controls, so it is collinear with the arm: "
                  "its odds ratio mixes the effect of being treated with the effect of dose. "
                  "Fit the model within the treated arm (population='treated', CLI "
                  "--population treated) to estimate a dose effect.", CollinearityWarning)
    design = build_design(frame, outcome, predictors, id_col=id_col)
    exclusions = pd.concat([pre_excluded, design.exclusions], ignore_index=True) \
        if len(pre_excluded) else design.exclusions
    x, y, terms = design.x, design.y, design.terms
    n, n_events = design.n, design.n_events
    n_pred = len(predictors)
    epv = min(n_events, n - n_events) / n_pred
    requested = method
    if method == "auto":
        method, reason = choose_method(epv)
        notes.append(reason)
    else:
        reason = f"{'Firth' if method == 'firth' else 'maximum likelihood'} as requested " \
                 f"(events per variable {epv:.1f})"
    if epv < EPV_MIN:
        rarer = "events" if n_events <= n - n_events else "non-events"
        _warn(notes,
              f"{min(n_events, n - n_events)} {rarer} for {n_pred} predictor(s): "
              f"{epv:.1f} events per variable, below {EPV_MIN}; "
              + ("maximum-likelihood estimates are biased away from 0 and their profile "
                 "intervals cover less than claimed; consider method='firth' (the default "
                 "'auto' chooses it) and fewer predictors" if method == "ml" else
                 "Firth's estimates reduce the small-sample bias, but every estimate is "
                 "imprecise"),
              SmallSampleWarning)
    separated = detect_separation(x, y, terms)
    firth = method == "firth"
    if separated is not None:
        msg = (f"(quasi-)complete separation: a combination of {separated} predicts the "
               "outcome perfectly for some subjects")
        if firth:
            notes.append(msg + "; Firth's estimates remain finite")
        else:
            _warn(notes, msg + "; maximum-likelihood estimates, standard errors and Wald "
                  "tests are not finite or meaningless: use method='firth'", SeparationWarning)

    # statsmodels' own separation and convergence warnings are reported here, with notes
    fit = fit_firth(x, y) if firth else fit_ml(x, y, warn=False)
    if fit.perfect_prediction and separated is None:
        _warn(notes, "perfect separation: the fitted probabilities are all 0 or 1; "
              "maximum-likelihood estimates, standard errors and Wald tests are not finite or "
              "meaningless: use method='firth'", SeparationWarning)
    if not fit.converged and separated is None and not fit.perfect_prediction:
        _warn(notes, f"the {method} fit did not converge in {fit.n_iter} iterations",
              ConvergenceWarning)

    wald = fit.wald(alpha)
    rows = []
    for j, term in enumerate(terms):
        lo_p, hi_p = profile_interval(x, y, fit, j, firth=firth, alpha=alpha)
        free = np.ones(len(terms), dtype=bool)
        free[j] = False
        lr, df = _lr_test(x, y, fit, free, firth=firth)
        est = fit.coef[j]
        lo_w, hi_w = wald["ci_lower_wald"][j], wald["ci_upper_wald"][j]
        lo, hi = (lo_p, hi_p) if ci_method == "profile" else (lo_w, hi_w)
        rows.append({
            "term": term, "estimate": est, "std_error": wald["std_error"][j],
            "z": wald["z"][j], "p_wald": wald["p_wald"][j],
            "ci_lower": lo, "ci_upper": hi,
            "ci_lower_wald": lo_w, "ci_upper_wald": hi_w,
            "ci_lower_profile": lo_p, "ci_upper_profile": hi_p,
            "odds_ratio": _exp(est), "or_ci_lower": _exp(lo), "or_ci_upper": _exp(hi),
            "lr_chi2": lr, "lr_df": df, "p_lr": stats.chi2.sf(lr, df),
        })
    summary = pd.DataFrame(rows)
    summary["p"] = summary["p_lr"]
    summary["n"] = n
    summary["n_events"] = n_events
    summary["n_excluded"] = len(exclusions)

    only_intercept = np.zeros(len(terms), dtype=bool)
    only_intercept[0] = True
    lr_all, df_all = _lr_test(x, y, fit, only_intercept, firth=firth)
    p0 = n_events / n
    loglik_null = n_events * math.log(p0) + (n - n_events) * math.log(1 - p0)
    model = {
        "method": method, "method_requested": requested, "method_reason": reason,
        "ci_method": ci_method, "alpha": alpha, "population": population,
        "outcome": outcome, "n": n, "n_events": n_events, "n_nonevents": n - n_events,
        "n_predictors": n_pred, "events_per_variable": epv,
        "loglik": fit.loglik, "loglik_null": loglik_null, "objective": fit.objective,
        "lr_chi2": lr_all, "lr_df": df_all, "lr_p": stats.chi2.sf(lr_all, df_all),
        "aic": -2 * fit.loglik + 2 * len(terms), "converged": fit.converged,
        "n_iter": fit.n_iter, "separation": separated,
    }
    params = {"outcome": outcome, "predictors": predictors, "method": requested,
              "ci_method": ci_method, "alpha": alpha, "population": population}
    return LogisticResult(
        summary=summary, exclusions=exclusions.reset_index(drop=True), params=params,
        notes=notes, model=model, coef=pd.Series(fit.coef, index=terms),
        cov=pd.DataFrame(fit.cov, index=terms, columns=terms))

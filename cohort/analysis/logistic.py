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

Design matrices are built from column lists, never from formula strings, by the linear models'
builder (:func:`cohort.analysis.linear_model.build_design`). The maximum-likelihood fit's Wald
statistics (standard errors, z, p, intervals) are statsmodels' own; Firth's are computed here
from the inverse information, as ``logistf`` reports them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from cohort.analysis._common import catch_only
from cohort.analysis.linear_model import INTERCEPT, first_dependent_column
from cohort.analysis.linear_model import Design as LinearDesign
from cohort.analysis.linear_model import build_design as build_linear_design
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.errors import (
    AnalysisError,
    CollinearityWarning,
    ConvergenceWarning,
    SeparationWarning,
    SmallSampleWarning,
)

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


# --------------------------------------------------------------------------------------------
# design matrix


@dataclass(frozen=True)
class Design(LinearDesign):
    """A validated design for a logistic model: the linear models' design matrix
    (:class:`cohort.analysis.linear_model.Design`, numeric columns only) with the outcome and
    the subjects used and left out.

    Attributes
    ----------
    X, x : ndarray, shape (n, p)
        Design matrix; column 0 is the intercept (all ones). ``x`` is an alias of ``X``.
    names, terms : list of str
        Column names of ``X``: ``"(Intercept)"`` then the predictors (``terms`` is an alias).
    y : ndarray, shape (n,)
        Outcome, 0.0 or 1.0.
    ids : ndarray
        Subject identifiers of the rows used.
    exclusions : DataFrame
        Rows left out: ``subject_id``, ``reason``.

    ``factors`` and ``interactions`` are empty; ``numeric`` lists the predictors and ``means``
    their means (NaN for a predictor with missing values kept, ``missing="keep"``).
    """

    y: np.ndarray
    ids: np.ndarray
    exclusions: pd.DataFrame

    @property
    def x(self) -> np.ndarray:
        """The design matrix (``X``)."""
        return self.X

    @property
    def terms(self) -> list[str]:
        """Column names of the design matrix (``names``)."""
        return self.names

    @property
    def n(self) -> int:
        """Number of subjects used."""
        return int(self.y.size)

    @property
    def n_events(self) -> int:
        """Number of subjects with outcome 1."""
        return int(self.y.sum())


def binary_outcome(values: pd.Series, name: str) -> np.ndarray:
    """A 0/1 or boolean outcome column as floats 0.0/1.0 (NaN where missing).

    Any other value (text, 2, 0.5) raises :class:`~cohort.errors.AnalysisError`.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64").to_numpy(na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(values.dtype):
        raise AnalysisError(
            f"outcome {name!r} must be 0/1 or true/false; got values of type {values.dtype} "
            f"(e.g. {values.dropna().unique()[:3].tolist()}). Recode it as 0/1.")
    out = values.astype("float64").to_numpy(na_value=np.nan)
    bad = ~np.isnan(out) & (out != 0) & (out != 1)
    if bad.any():
        raise AnalysisError(
            f"outcome {name!r} must be 0 or 1; got {sorted(set(out[bad].tolist()))[:5]}. "
            "Recode it as 0/1 (1 = event, e.g. remission).")
    return out


def numeric_column(values: pd.Series, name: str) -> np.ndarray:
    """A numeric or boolean predictor column as floats (NaN where missing; True -> 1).

    Text columns raise :class:`~cohort.errors.AnalysisError` asking for a 0/1 encoding.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        # booleans are indicators by definition: True -> 1, False -> 0
        return values.astype("float64").to_numpy(na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(values.dtype):
        example = values.dropna().unique()[:3].tolist()
        raise AnalysisError(
            f"predictor {name!r} is not numeric (values such as {example}); encode it as a "
            f"0/1 indicator column (e.g. male = sex == 'M') and pass that column instead.")
    return values.astype("float64").to_numpy(na_value=np.nan)


def subject_ids(frame: pd.DataFrame, id_col: str = "subject_id") -> np.ndarray:
    """Subject identifiers as text: the ``id_col`` column, or the row index when absent."""
    ids = frame[id_col] if id_col in frame.columns else frame.index.to_series()
    return ids.astype(str).to_numpy()


def select_population(frame: pd.DataFrame, population: Literal["all", "treated"], *,
                      id_col: str = "subject_id", control_col: str = "control"
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows a model is fitted on, and the subjects left out with the reason.

    Parameters
    ----------
    frame : DataFrame
        One row per subject.
    population : {"all", "treated"}
        ``"treated"`` drops the rows whose ``control_col`` is True (missing counts as not a
        control), e.g. to estimate a dose effect; ``"all"`` keeps every row.
    id_col, control_col : str
        Subject identifier (the row index when absent) and control-arm indicator columns.

    Returns
    -------
    (frame, exclusions) : (DataFrame, DataFrame)
        ``exclusions`` has ``subject_id`` and ``reason`` (empty for ``"all"``).

    Raises
    ------
    AnalysisError
        An unknown ``population``, no ``control_col`` column, or only controls.
    """
    none = pd.DataFrame(columns=["subject_id", "reason"])
    if population not in ("all", "treated"):
        raise AnalysisError(f"population must be 'all' or 'treated', got {population!r}")
    if population == "all":
        return frame, none
    if control_col not in frame.columns:
        raise AnalysisError(f"population='treated' needs the control-arm column "
                            f"{control_col!r}, which is not in the data")
    control = frame[control_col].astype("boolean").fillna(False).to_numpy(dtype=bool)
    excluded = pd.DataFrame({"subject_id": subject_ids(frame, id_col)[control],
                             "reason": "control arm (population='treated')"})
    if control.all():
        raise AnalysisError("population='treated' leaves no subjects: every row is a control")
    return frame.loc[~control], excluded


def _dependent_column(x: np.ndarray, terms: list[str]) -> tuple[str, list[str]] | None:
    """The first column that is a linear combination of earlier ones, with those columns."""
    # scaled to a common size so that the rank tolerance does not depend on the units
    scaled = x / np.maximum(np.abs(x).max(axis=0), 1e-300)
    k = first_dependent_column(scaled, tol=1e-9 * x.shape[0])
    if k is None:
        return None
    coef, *_ = np.linalg.lstsq(scaled[:, :k], scaled[:, k], rcond=None)
    return terms[k], [terms[i] for i in range(k) if abs(coef[i]) > 1e-8]


def build_design(frame: pd.DataFrame, outcome: str, predictors: list[str], *,
                 id_col: str = "subject_id",
                 missing: Literal["exclude", "keep"] = "exclude") -> Design:
    """Build and check the design of a logistic model from column names.

    Rows with a missing outcome are excluded; so are rows with a missing predictor unless
    ``missing="keep"`` (for prediction pipelines, which impute inside resampling). Each
    excluded row is listed with its reason. The checks raise
    :class:`~cohort.errors.AnalysisError` with a message naming the problem: unknown or
    non-numeric columns, a predictor missing for everyone, no events or only events, a
    constant predictor, predictors that are linear combinations of others, or no more
    subjects than coefficients.

    Parameters
    ----------
    frame : DataFrame
        One row per subject.
    outcome : str
        Binary outcome column (0/1 or bool; 1 = event).
    predictors : list of str
        Numeric or boolean predictor columns, each in the unit its name states.
    id_col : str
        Subject identifier column (the row index is used when absent).
    missing : {"exclude", "keep"}
        What to do with rows whose predictors are incomplete (outcome missing: always
        excluded). With ``"keep"``, ``x`` holds NaN for the missing values.
    """
    predictors = list(predictors)
    missing_cols = [c for c in [outcome, *predictors] if c not in frame.columns]
    if missing_cols:
        raise AnalysisError(
            f"column(s) {missing_cols} not found; available: {sorted(map(str, frame.columns))}")
    if len(set(predictors)) != len(predictors):
        raise AnalysisError(f"predictors are listed twice: {predictors}")
    if outcome in predictors:
        raise AnalysisError(f"the outcome {outcome!r} is also listed as a predictor")
    if INTERCEPT in predictors:
        raise AnalysisError(f"{INTERCEPT!r} is added automatically; do not list it")
    ids = subject_ids(frame, id_col)
    y = binary_outcome(frame[outcome], outcome)
    cols = {p: numeric_column(frame[p], p) for p in predictors}
    for p, v in cols.items():
        if np.isnan(v).all():
            raise AnalysisError(
                f"predictor {p!r} is missing for all {len(v)} subjects; drop it from the "
                "model or check how it was derived")
    reasons = np.full(len(frame), "", dtype=object)
    reasons[np.isnan(y)] = f"outcome {outcome} missing"
    if missing == "exclude":
        for p, v in cols.items():
            todo = (reasons == "") & np.isnan(v)
            reasons[todo] = f"predictor {p} missing"
    keep = reasons == ""
    exclusions = pd.DataFrame({"subject_id": ids[~keep], "reason": reasons[~keep]})
    y = y[keep]
    n = int(keep.sum())
    n_events = int(y.sum()) if n else 0
    if n == 0:
        raise AnalysisError(f"no subject has a complete outcome and predictors "
                            f"({len(frame)} rows, all excluded); check the inputs")
    if n_events == 0:
        raise AnalysisError(
            f"no events: all {n} subjects have {outcome} = 0, so there is nothing to model; "
            "check the outcome definition (e.g. the remission threshold or visit window)")
    if n_events == n:
        raise AnalysisError(
            f"all {n} subjects have {outcome} = 1 (no non-events), so there is nothing to "
            "model; check the outcome definition")
    base = build_linear_design(
        pd.DataFrame({p: cols[p][keep] for p in predictors}, index=pd.RangeIndex(n)),
        factors={}, numeric=predictors)
    x, terms = base.X, base.names
    for k, p in enumerate(predictors, start=1):
        observed = x[~np.isnan(x[:, k]), k]
        if observed.size == 0:
            raise AnalysisError(
                f"predictor {p!r} is missing for every subject with a known outcome; drop it")
        if np.ptp(observed) == 0:
            raise AnalysisError(
                f"predictor {p!r} is constant ({observed[0]:g} for all {observed.size} "
                "subjects analysed); it carries no information: drop it")
    if n <= len(terms):
        raise AnalysisError(
            f"{n} subjects for {len(terms)} coefficients: a model needs more subjects than "
            "coefficients; use fewer predictors")
    complete = ~np.isnan(x).any(axis=1)
    dep = _dependent_column(x[complete], terms) if complete.sum() > len(terms) else None
    if dep is not None:
        raise AnalysisError(
            f"predictor {dep[0]!r} is a linear combination of {dep[1]} (collinear); its "
            "effect cannot be separated from theirs: drop one of them")
    return Design(**vars(base), y=y, ids=ids[keep], exclusions=exclusions)


# --------------------------------------------------------------------------------------------
# fitting


@dataclass(frozen=True)
class LogisticFit:
    """Estimates of one (possibly constrained) logistic fit.

    ``objective`` is the maximised function: the log-likelihood (ML) or the penalised
    log-likelihood ``loglik + 0.5 log|I|`` (Firth). ``results`` holds statsmodels' GLM results
    of a maximum-likelihood fit (:func:`fit_ml`; None otherwise), and ``perfect_prediction``
    whether statsmodels reported perfect separation during that fit.
    """

    coef: np.ndarray
    cov: np.ndarray
    loglik: float
    objective: float
    converged: bool
    n_iter: int
    results: Any = None
    perfect_prediction: bool = False

    def wald(self, alpha: float = 0.05) -> dict[str, np.ndarray]:
        """Wald standard errors, z statistics, two-sided p-values and ``1 - alpha`` intervals.

        Read from statsmodels' results (``bse``, ``tvalues``, ``pvalues``, ``conf_int``) for a
        maximum-likelihood fit; for Firth, which statsmodels does not fit, from the inverse
        information at the estimate (as ``logistf``).

        Returns
        -------
        dict of str to ndarray
            ``std_error``, ``z``, ``p_wald``, ``ci_lower_wald``, ``ci_upper_wald`` (log odds
            ratio scale), one value per coefficient.
        """
        if self.results is not None:
            r = self.results
            ci = np.asarray(r.conf_int(alpha=alpha), dtype=float)
            return {"std_error": np.asarray(r.bse, dtype=float),
                    "z": np.asarray(r.tvalues, dtype=float),
                    "p_wald": np.asarray(r.pvalues, dtype=float),
                    "ci_lower_wald": ci[:, 0], "ci_upper_wald": ci[:, 1]}
        se = np.sqrt(np.clip(np.diag(self.cov), 0, None))
        z = self.coef / se
        q = stats.norm.ppf(1 - alpha / 2)
        return {"std_error": se, "z": z, "p_wald": 2 * stats.norm.sf(np.abs(z)),
                "ci_lower_wald": self.coef - q * se, "ci_upper_wald": self.coef + q * se}


def _evaluate(beta: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray,
              offset: np.ndarray, firth: bool
              ) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray | None]:
    """Objective, log-likelihood, working score vector, information and its inverse."""
    eta = x @ beta + offset
    pi = special.expit(eta)
    # log(1 + exp(eta)) computed without overflow
    loglik = float(np.sum(w * (y * eta - np.logaddexp(0.0, eta))))
    v = w * pi * (1.0 - pi)
    info = (x * v[:, None]).T @ x
    resid = w * (y - pi)
    objective = loglik
    inv = None
    if firth:
        logdet, inv = _logdet_pinv(info)
        objective = loglik + 0.5 * logdet
        h = v * np.einsum("ij,jk,ik->i", x, inv, x)
        resid = resid + h * (0.5 - pi)
    return objective, loglik, resid, info, inv


def _logdet_pinv(info: np.ndarray) -> tuple[float, np.ndarray]:
    """log det and inverse of the information; pseudo-determinant and pseudo-inverse when it
    is singular (a column constant within a resample), so the penalty acts on the identified
    directions only."""
    sign, logdet = np.linalg.slogdet(info)
    if sign > 0 and np.isfinite(logdet):
        try:
            return float(logdet), np.linalg.inv(info)
        except np.linalg.LinAlgError:
            pass
    vals, vecs = np.linalg.eigh(info)
    keep = vals > vals.max(initial=0.0) * info.shape[0] * np.finfo(float).eps
    if not keep.any():
        return -np.inf, np.zeros_like(info)
    inv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
    return float(np.sum(np.log(vals[keep]))), inv


def _newton(x: np.ndarray, y: np.ndarray, *, firth: bool, weights: np.ndarray | None = None,
            beta0: np.ndarray | None = None, free: np.ndarray | None = None,
            max_iter: int = 100, tol: float = 1e-10, max_step: float = 5.0,
            max_halving: int = 30) -> LogisticFit:
    """Newton-Raphson (Fisher scoring) with step halving on the (penalised) log-likelihood.

    Coefficients outside ``free`` stay at their value in ``beta0`` (a profile fit). For Firth
    the penalty always uses the information of the *full* design, as ``logistf`` does, so a
    constrained fit maximises the full model's penalised likelihood over the free coefficients.
    """
    n, p = x.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    beta = np.zeros(p) if beta0 is None else np.array(beta0, dtype=float)
    free = np.ones(p, dtype=bool) if free is None else np.asarray(free, dtype=bool)
    offset = np.zeros(n)
    obj, loglik, resid, info, _ = _evaluate(beta, x, y, w, offset, firth)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        score = x[:, free].T @ resid
        sub = info[np.ix_(free, free)]
        try:
            step = np.linalg.solve(sub, score)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(sub, score, rcond=None)[0]
        if not np.all(np.isfinite(step)):
            break  # overflowed far out in a separated direction: not converged, say so
        biggest = np.max(np.abs(step)) if step.size else 0.0
        if biggest > max_step:
            step *= max_step / biggest
        for _ in range(max_halving):
            trial = beta.copy()
            trial[free] += step
            t_obj, t_loglik, t_resid, t_info, _ = _evaluate(trial, x, y, w, offset, firth)
            if t_obj >= obj - 1e-12 * max(1.0, abs(obj)):
                break
            step /= 2.0
        beta, obj, loglik, resid, info = trial, t_obj, t_loglik, t_resid, t_info
        if np.max(np.abs(step), initial=0.0) < tol:
            converged = True
            break
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.full((p, p), np.nan)
    return LogisticFit(coef=beta, cov=cov, loglik=loglik, objective=obj, converged=converged,
                       n_iter=it)


def fit_firth(x: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None,
              max_iter: int = 300, tol: float = 1e-10) -> LogisticFit:
    """Firth's penalised-likelihood logistic fit (Jeffreys prior).

    Maximises ``l(b) + 0.5 log|x' W x|`` by solving the modified score equations
    ``sum_i x_i (y_i - pi_i + h_i (1/2 - pi_i)) = 0`` (``h_i``: hat values) with Fisher scoring
    and step halving. The covariance is the inverse Fisher information at the estimate (as
    ``logistf`` reports it). ``weights`` are frequency weights.
    """
    fit = _newton(x, y, firth=True, weights=weights, max_iter=max_iter, tol=tol)
    return fit


def fit_ml(x: np.ndarray, y: np.ndarray, *, offset: np.ndarray | None = None,
           max_iter: int = 100, tol: float = 1e-12, warn: bool = True) -> LogisticFit:
    """Unpenalised maximum-likelihood fit with statsmodels' GLM (binomial, IRLS), as R's glm.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Design matrix (with its intercept column).
    y : ndarray, shape (n,)
        Outcome, 0.0 or 1.0.
    offset : ndarray, shape (n,), optional
        Known part of the linear predictor (log odds), e.g. a model's linear predictor for
        calibration-in-the-large.
    max_iter, tol : int, float
        IRLS iterations and convergence tolerance.
    warn : bool
        Issue our warnings for what statsmodels reports: perfect separation as
        :class:`~cohort.errors.SeparationWarning`, non-convergence as
        :class:`~cohort.errors.ConvergenceWarning`. With False they are only recorded in
        ``perfect_prediction`` and ``converged`` (for callers that report them themselves).

    Notes
    -----
    Only statsmodels' ``PerfectSeparationWarning`` and ``ConvergenceWarning`` are caught (and
    turned into the above); any other warning raised during the fit passes through unchanged.
    """
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning as SMConvergenceWarning
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    with catch_only(PerfectSeparationWarning, SMConvergenceWarning) as caught:
        res = GLM(y, x, family=Binomial(), offset=offset).fit(maxiter=max_iter, tol=tol)
    perfect = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
    converged = bool(res.converged) and not any(
        issubclass(w.category, SMConvergenceWarning) for w in caught)
    if warn and perfect:
        warnings.warn("perfect separation: the fitted probabilities are all 0 or 1, so the "
                      "maximum-likelihood estimates are infinite and their standard errors "
                      "and Wald tests meaningless; use method='firth' (fit_firth)",
                      SeparationWarning, stacklevel=2)
    elif warn and not converged:
        warnings.warn(f"the maximum-likelihood fit did not converge in {max_iter} iterations; "
                      "check the predictors for extreme values or separation",
                      ConvergenceWarning, stacklevel=2)
    loglik = float(res.llf)
    return LogisticFit(coef=np.asarray(res.params, dtype=float),
                       cov=np.asarray(res.cov_params(), dtype=float), loglik=loglik,
                       objective=loglik, converged=converged,
                       n_iter=int(res.fit_history["iteration"]), results=res,
                       perfect_prediction=perfect)


def detect_separation(x: np.ndarray, y: np.ndarray, terms: list[str] | None = None
                      ) -> list[str] | None:
    """Detect complete or quasi-complete separation by linear programming.

    Separation exists when some direction ``b != 0`` has ``(2 y_i - 1) x_i' b >= 0`` for every
    subject (Albert & Anderson 1984); the maximum-likelihood estimate is then infinite along
    ``b``. The linear program maximises the sum of those margins within ``|b_k| <= 1``
    (Konis 2007). Returns None without separation, else the terms involved in the direction.
    """
    terms = terms or [f"x{k}" for k in range(x.shape[1])]
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    margins = (2.0 * y - 1.0)[:, None] * (x / scale)
    res = optimize.linprog(-margins.sum(axis=0), A_ub=-margins, b_ub=np.zeros(len(y)),
                           bounds=[(-1.0, 1.0)] * x.shape[1], method="highs")
    if res.status != 0 or -res.fun <= 1e-7 * len(y):
        return None
    direction = res.x
    return [t for t, b in zip(terms, direction, strict=True) if abs(b) > 1e-7]


def _objective_at(x: np.ndarray, y: np.ndarray, j: int, value: float, start: np.ndarray,
                  firth: bool, fallback: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Maximised objective with coefficient ``j`` fixed at ``value``.

    The fit starts from ``start``; when it does not converge it is repeated from ``fallback``
    and the higher objective kept, so that the profile does not depend on where a warm start
    happened to stall (far out in a nearly separated direction).
    """
    free = np.ones(x.shape[1], dtype=bool)
    free[j] = False
    best = None
    # last resort: the other coefficients at 0 (a start far out in a separated direction can
    # overflow to a NaN objective)
    for origin in (start, fallback, np.zeros(x.shape[1])):
        if origin is None:
            continue
        beta0 = origin.copy()
        beta0[j] = value
        fit = _newton(x, y, firth=firth, beta0=beta0, free=free, max_iter=200)
        if best is None or not np.isfinite(best.objective) or fit.objective > best.objective:
            best = fit
        if fit.converged and np.isfinite(fit.objective):
            break
    return best.objective, best.coef


def profile_interval(x: np.ndarray, y: np.ndarray, fit: LogisticFit, j: int, *,
                     firth: bool, alpha: float = 0.05, max_doublings: int = 40
                     ) -> tuple[float, float]:
    """Profile (penalised) likelihood interval of coefficient ``j``.

    The interval holds every ``b`` with ``2 (max objective - max objective given b_j = b)``
    at most the ``1 - alpha`` quantile of chi-square(1): R's ``confint()`` for ``glm`` (MASS
    profiling) and ``logistf``'s default intervals. Bounds are found by root finding (to
    1e-9), not by interpolating a grid. A bound that does not exist (separation) is infinite.
    """
    crit = stats.chi2.ppf(1.0 - alpha, 1)
    target = fit.objective - crit / 2.0
    est = fit.coef[j]
    se = math.sqrt(fit.cov[j, j]) if np.isfinite(fit.cov[j, j]) and fit.cov[j, j] > 0 else 1.0
    se = min(max(se, 1e-6), 1e3)
    last = [fit.coef]  # warm start: each constrained fit starts from the previous one

    def gap(b: float) -> float:
        obj, coef = _objective_at(x, y, j, b, last[0], firth, fallback=fit.coef)
        last[0] = coef
        return obj - target

    bounds = []
    for direction in (-1.0, 1.0):
        last[0] = fit.coef
        inner = est
        outer = None
        step = se
        previous = math.inf
        for _ in range(max_doublings):
            b = est + direction * step
            g = gap(b)
            if g < 0:
                outer = b
                break
            if abs(previous - g) < 1e-9:
                break  # the profile has flattened out: this side never closes (separation)
            previous = g
            inner = b
            step *= 2.0
        if outer is None:
            bounds.append(direction * math.inf)
            continue
        lo, hi = sorted((inner, outer))
        try:
            bounds.append(optimize.brentq(gap, lo, hi, xtol=1e-10, rtol=1e-12))
        except ValueError:
            # a warm start stalled differently on a re-evaluation, so the bracket no longer
            # changes sign; re-bracket from the estimate (where the gap is crit / 2 > 0) with
            # every constrained fit started from the full fit: deterministic, slower
            def cold(b: float) -> float:
                return _objective_at(x, y, j, b, fit.coef, firth)[0] - target

            lo, hi = sorted((est, outer))
            bounds.append(optimize.brentq(cold, lo, hi, xtol=1e-10, rtol=1e-12))
    return bounds[0], bounds[1]


def _lr_test(x: np.ndarray, y: np.ndarray, fit: LogisticFit, free: np.ndarray, *,
             firth: bool) -> tuple[float, int]:
    """Likelihood-ratio statistic for setting the coefficients outside ``free`` to zero."""
    beta0 = np.where(free, fit.coef, 0.0)
    restricted = _newton(x, y, firth=firth, beta0=beta0, free=free, max_iter=200)
    stat = max(2.0 * (fit.objective - restricted.objective), 0.0)
    return stat, int((~free).sum())


# --------------------------------------------------------------------------------------------
# the analysis


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

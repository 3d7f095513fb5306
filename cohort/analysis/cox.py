"""Cox proportional-hazards model with hazard ratios, global tests and the PH test.

Fitted by :mod:`cohort.analysis.cox_fit` (Efron ties, R's ``coxph`` formulas, numpy only) on a
design matrix built from column lists (treatment coding, reference level as given or the first
in sorted order, columns named as R does, e.g. ``groupB``; no formula string).

* **Variance**: when a subject contributes several rows (``--episodes all``, two eyes of one
  patient) the rows are not independent, and the cluster-robust (sandwich) variance of
  ``coxph(..., cluster = id)`` is used by default, clustered on ``subject_id`` (or the
  ``cluster`` column given); the naive (model-based) SEs are kept beside it in ``se_naive``.
* **Intervals and tests**: hazard-ratio CIs are Wald, ``exp(coef +- z * se)``; the global
  likelihood-ratio, Wald and score tests are R's (the Wald test with the variance in use, the
  LR and score tests assume independent rows, and a robust score test is added when robust, as
  R's ``summary.coxph``).
* **Concordance**: Harrell's C of the linear predictor at any n
  (:mod:`cohort.analysis.concordance`, as R's ``concordance``).
* The proportional-hazards test is R's ``cox.zph`` (:func:`cohort.analysis.ph_test.ph_test`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis._lifelines import warn_at_caller
from cohort.analysis.concordance import concordance as concordance_index
from cohort.analysis.cox_fit import RiskSets, fit_cox, robust_variance
from cohort.analysis.ph_test import ph_test
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.analysis.risk_sets import prepare_tte
from cohort.errors import AnalysisError, ConvergenceWarning, SmallSampleWarning

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MIN_EVENTS_PER_PARAMETER", "CoxOptionError", "CoxResult", "cox_ph"]


class CoxOptionError(AnalysisError):
    """An option of the Cox model that does not fit the data (a reference level that is not
    there, a cluster column with one cluster): the caller's error, never skipped as a note."""

MIN_EVENTS_PER_PARAMETER = 10
"""Below this many events per Cox coefficient a SmallSampleWarning is raised."""


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


def _design(data: pd.DataFrame, covariates: Sequence[str],
            reference: Mapping[str, Any]) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    columns: dict[str, np.ndarray] = {}
    terms: dict[str, list[int]] = {}
    for cov in covariates:
        s = data[cov]
        if _is_categorical(s):
            levels = sorted(s.unique(), key=lambda v: (str(type(v)), v))
            if len(levels) < 2:
                raise AnalysisError(f"covariate {cov!r} has a single value ({levels[0]!r}); "
                                    "it cannot be estimated")
            ref = reference.get(cov, levels[0])
            if ref not in levels:
                # a level given on the command line is text: match it by its text
                ref = next((lvl for lvl in levels if str(lvl) == str(ref)), ref)
            if ref not in levels:
                raise CoxOptionError(f"reference level {ref!r} of {cov!r} is not among its "
                                    f"values: {', '.join(map(str, levels))}")
            idx = []
            for lvl in levels:
                if lvl == ref:
                    continue
                name = f"{cov}{'TRUE' if lvl is True else lvl}"
                idx.append(len(columns))
                columns[name] = (s == lvl).to_numpy(dtype=float)
            terms[cov] = idx
        else:
            arr = s.to_numpy(dtype=float)
            if np.nanstd(arr) == 0:
                raise AnalysisError(f"covariate {cov!r} is constant ({arr[0]:g}); it cannot "
                                    "be estimated")
            terms[cov] = [len(columns)]
            columns[cov] = arr
    return pd.DataFrame(columns, index=data.index), terms



@dataclass
class CoxResult(AnalysisResult):
    """A Cox proportional-hazards fit.

    Attributes
    ----------
    summary : DataFrame
        One row per coefficient: ``term`` (e.g. ``groupB``, ``age_years``), ``covariate``,
        ``coef`` (log hazard ratio), ``se`` (the SE in use: robust when ``variance`` is
        ``"robust"``), ``se_naive`` (model-based, R's ``se(coef)``), ``se_robust`` (R's
        ``robust se``; NaN when naive), ``estimate`` (hazard ratio), ``ci_lower``, ``ci_upper``
        (Wald CI of the HR from ``se``), ``z``, ``p``, ``variance``, ``n``, ``n_events``.
    tests : DataFrame
        Global tests that every coefficient is 0: ``test`` (``likelihood_ratio``, ``wald``,
        ``score``, and ``robust_score`` when robust), ``statistic`` (chi-square), ``df``,
        ``p``, ``assumes_independence`` (True for the LR and score tests: with several rows
        per subject only the Wald and robust score tests allow for it, as R notes).
    ph_test : DataFrame
        :func:`ph_test`: ``term``, ``chisq``, ``df``, ``p`` (last row ``GLOBAL``).
    loglik : float
        Partial log-likelihood at the fit (``loglik_null`` at coefficients 0).
    concordance : float
        Harrell's C of the linear predictor (R's ``concordance``); counts and ``std_err`` (R's
        infinitesimal jackknife, summed per cluster when robust) in ``concordance_counts``.
    """

    tests: pd.DataFrame = field(default_factory=pd.DataFrame)
    ph_test: pd.DataFrame = field(default_factory=pd.DataFrame)
    loglik: float = np.nan
    loglik_null: float = np.nan
    concordance: float = np.nan
    concordance_counts: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Base keys plus ``tests``, ``ph_test``, ``loglik``, ``loglik_null``, ``concordance``,
        ``concordance_counts``."""
        out = super().to_dict()
        out.update(json_safe({"tests": self.tests, "ph_test": self.ph_test,
                              "loglik": self.loglik, "loglik_null": self.loglik_null,
                              "concordance": self.concordance,
                              "concordance_counts": self.concordance_counts}))
        return out

    def plot(self, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Forest plot of the hazard ratios with their CIs, on a log axis
        (:func:`cohort.report.figures.rates.ratio_forest`)."""
        from cohort.report.figures.rates import ratio_forest

        level = self.params.get("conf_level") or 0.95
        return ratio_forest(self.summary, label="term", what="Hazard ratio",
                            interval=f"{level:.0%} CI", ax=ax, **kwargs)


def _cluster_codes(data: pd.DataFrame, cluster: str | None, robust: bool | None,
                   notes: list[str]) -> tuple[np.ndarray | None, str | None]:
    """The cluster of each row when the variance is robust (None: naive)."""
    if cluster is not None:
        if robust is False:
            raise CoxOptionError(f"cluster={cluster!r} asks for the robust variance; it cannot "
                                "be combined with robust=False (--naive-se)")
        ids = data[cluster]
        if ids.isna().any():
            raise CoxOptionError(f"cluster column {cluster!r} is missing for "
                                f"{int(ids.isna().sum())} rows")
        n_clusters = ids.nunique()
        if n_clusters < 2:
            raise CoxOptionError(f"cluster column {cluster!r} has a single cluster "
                                f"({ids.iloc[0]!r}): a cluster-robust variance needs at "
                                "least 2 clusters (and many more to be reliable)")
        notes.append(f"robust (sandwich) SEs clustered on {cluster} ({n_clusters} clusters, "
                     f"{len(ids)} rows), as R's coxph(..., cluster = {cluster})")
        return ids.astype(str).to_numpy(), cluster
    # (subject_id, episode) is unique in a checked table: with every episode 1, no subject
    # repeats (and the costly check of a million subject IDs is not needed)
    repeated = (0 if (data["episode"].to_numpy() == 1).all()
                else int(data["subject_id"].duplicated().sum()))
    if robust is None:
        robust = repeated > 0
        if robust:
            n_subj = int(data["subject_id"].nunique())
            notes.append(f"robust (sandwich) SEs clustered on subject_id: {n_subj} subjects "
                         f"contribute {len(data)} rows (rows of one subject are not "
                         "independent); naive SEs in se_naive")
            return data["subject_id"].to_numpy(), "subject_id"
        return None, None
    if not robust:
        if repeated:
            notes.append(f"naive SEs on request although {repeated} rows repeat a subject: "
                         "rows of one subject are treated as independent")
        return None, None
    return _cluster_codes(data, "subject_id", True, notes)


def _global_tests(fit: Any, beta: np.ndarray, var: np.ndarray, rscore: float | None,
                  robust: bool) -> pd.DataFrame:
    p = len(beta)
    try:
        wald = float(beta @ np.linalg.solve(var, beta))
    except np.linalg.LinAlgError:
        wald = np.nan
    rows = [("likelihood_ratio", 2 * (fit.loglik - fit.loglik0), True),
            ("wald", wald, False), ("score", fit.score0, True)]
    if robust:
        rows.append(("robust_score", rscore, False))
    return pd.DataFrame({
        "test": [r[0] for r in rows], "statistic": [float(r[1]) for r in rows], "df": p,
        "p": [float(stats.chi2.sf(r[1], p)) if np.isfinite(r[1]) else np.nan for r in rows],
        "assumes_independence": [bool(r[2] and robust) for r in rows]})


def cox_ph(tte: pd.DataFrame, *, covariates: Sequence[str],
           reference: Mapping[str, Any] | None = None, conf_level: float = 0.95,
           cluster: str | None = None, robust: bool | None = None) -> CoxResult:
    """Cox proportional-hazards model (Efron ties) with hazard ratios, global and PH tests.

    Parameters
    ----------
    tte : DataFrame
        A time-to-event table with the covariate columns (coefficients do not depend on the
        time unit).
    covariates : sequence of str, keyword-only
        Columns: numeric ones enter as they are (per unit of the column, e.g. per year of
        ``age_years``), text/boolean ones as treatment-coded dummies.
    reference : mapping, keyword-only
        Reference level per categorical covariate (default: the first in sorted order).
    conf_level : float, keyword-only
        Level of the HR confidence intervals (default 0.95).
    cluster : str, optional, keyword-only
        Column whose values identify clusters of dependent rows (e.g. a patient of two eyes):
        the cluster-robust variance of ``coxph(..., cluster = ...)``.
    robust : bool, optional, keyword-only
        ``None`` (default): robust, clustered on ``subject_id``, whenever a subject contributes
        several rows; naive otherwise. ``False``: naive SEs (said in the notes when rows repeat
        a subject). ``True``: robust even with one row per subject.

    Returns
    -------
    CoxResult
    """
    covariates = list(covariates)
    if not covariates:
        raise AnalysisError("a Cox model needs at least one covariate (e.g. the group column)")
    if len(set(covariates)) != len(covariates):
        raise AnalysisError(f"covariates listed twice: {covariates}")
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    data, exclusions = prepare_tte(tte, None, covariates + ([cluster] if cluster else []))
    na = data[covariates].isna()
    if na.any(axis=None):
        bad = na.any(axis=1).to_numpy()
        reasons = na[bad].apply(lambda r: "missing " + ", ".join(r.index[r]), axis=1)
        exclusions = pd.concat([exclusions, pd.DataFrame(
            {"subject_id": data.loc[bad, "subject_id"].to_numpy(),
             "reason": reasons.to_numpy()})], ignore_index=True)
        data = data.loc[~bad].reset_index(drop=True)
    if not data["event"].any():
        raise AnalysisError("no events (every row is censored): a Cox model cannot be "
                            "estimated")
    for cov in reference or {}:
        if cov not in covariates or not _is_categorical(data[cov]):
            raise CoxOptionError(f"a reference level is given for {cov!r}, which is not a "
                                 "categorical covariate of the model (covariates: "
                                 f"{', '.join(covariates)})")
    x, terms = _design(data, covariates, dict(reference or {}))
    _check_aliased(x)
    n_events = int(data["event"].sum())
    notes: list[str] = []
    if n_events < MIN_EVENTS_PER_PARAMETER * x.shape[1]:
        msg = (f"{n_events} events for {x.shape[1]} Cox coefficient(s) (fewer than "
               f"{MIN_EVENTS_PER_PARAMETER} per coefficient): estimates may be unstable and "
               "the Wald CIs too narrow")
        warn_at_caller(msg, SmallSampleWarning)
        notes.append(msg)
    codes, cluster_col = _cluster_codes(data, cluster, robust, notes)
    # rows sorted by stop time once: every risk-set sum is then a plain cumulative sum (the
    # results do not depend on the order of the rows)
    order = np.argsort(data["stop"].to_numpy(), kind="stable")
    start, stop = data["start"].to_numpy()[order], data["stop"].to_numpy()[order]
    event = data["event"].to_numpy(dtype=bool)[order]
    xm = x.to_numpy(dtype=float)[order]
    if codes is not None:
        codes = codes[order]
    fit, rs = fit_cox(start, stop, event, xm, risk_sets=RiskSets.build(start, stop, event))
    _convergence_notes(fit, list(x.columns), notes)
    coef = fit.beta
    se_naive = np.sqrt(np.diag(fit.var))
    var, rscore = fit.var, None
    if codes is not None:
        var, rscore = robust_variance(rs, xm, fit, codes)
    se = np.sqrt(np.diag(var))
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    term_of = {x.columns[j]: cov for cov, idx in terms.items() for j in idx}
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        # a separated covariate: HR and CI are inf, not a crash
        summary = pd.DataFrame({
            "term": list(x.columns), "covariate": [term_of[c] for c in x.columns],
            "coef": coef, "se": se, "se_naive": se_naive,
            "se_robust": se if codes is not None else np.nan,
            "estimate": np.exp(coef), "ci_lower": np.exp(coef - z * se),
            "ci_upper": np.exp(coef + z * se), "z": coef / se,
            "p": 2 * stats.norm.sf(np.abs(coef / se)),
            "variance": "robust" if codes is not None else "naive",
            "n": len(data), "n_events": n_events})
    zph = ph_test(start, stop, event, xm, coef, terms)
    bad_ph = zph.loc[(zph["term"] != "GLOBAL") & (zph["p"] < 0.05), "term"].tolist()
    if bad_ph:
        notes.append(f"proportional hazards doubtful for {', '.join(bad_ph)} (cox.zph p < "
                     "0.05)")
    conc = concordance_index(start, stop, event, xm @ coef, cluster=codes)
    return CoxResult(
        summary=summary, exclusions=exclusions,
        params={"covariates": covariates, "reference": _references(data, terms, reference),
                "conf_level": conf_level, "ties": "efron", "delayed_entry": bool(
                    (start > 0).any()), "variance": summary["variance"].iloc[0],
                "cluster": cluster_col,
                "n_clusters": len(np.unique(codes)) if codes is not None else None,
                "iterations": fit.iterations},
        notes=notes, tests=_global_tests(fit, coef, var, rscore, codes is not None),
        ph_test=zph, loglik=fit.loglik, loglik_null=fit.loglik0,
        concordance=conc.c_index, concordance_counts=conc.to_dict())


def _check_aliased(x: pd.DataFrame) -> None:
    """Refuse a design whose columns are collinear (R's coxph would report NA for the aliased
    coefficient; a Newton fit would wander on a flat ridge)."""
    z = x.to_numpy(dtype=float)
    z = z - z.mean(0)
    sd = z.std(0)
    z = z / np.where(sd > 0, sd, 1.0)
    gram = z.T @ z / max(1, len(z))    # correlations of the columns (p x p)
    kept: list[int] = []
    for j in range(z.shape[1]):
        idx = [*kept, j]
        if np.linalg.eigvalsh(gram[np.ix_(idx, idx)]).min() > 1e-10:
            kept.append(j)
            continue
        others = ", ".join(str(x.columns[k]) for k in kept)
        raise AnalysisError(f"Cox covariates are collinear: {x.columns[j]} is a linear "
                            f"combination of {others} in these rows; drop one of them")


def _references(data: pd.DataFrame, terms: Mapping[str, Sequence[int]],
                reference: Mapping[str, Any] | None) -> dict[str, Any]:
    """The reference level in use per categorical covariate (given or first sorted)."""
    out = {}
    for cov in terms:
        s = data[cov]
        if _is_categorical(s):
            levels = sorted(s.unique(), key=lambda v: (str(type(v)), v))
            ref = (reference or {}).get(cov, levels[0])
            out[cov] = next((lvl for lvl in levels if str(lvl) == str(ref)), ref)
    return out


def _convergence_notes(fit: Any, names: list[str], notes: list[str]) -> None:
    if fit.infinite:
        msg = ("the log-likelihood converged before the coefficient of "
               f"{', '.join(names[j] for j in fit.infinite)}: it may be infinite (complete "
               "separation: the covariate separates events from censorings); its HR and CI "
               "are not meaningful")
    elif not fit.converged:
        msg = (f"the Cox fit did not converge in {fit.iterations} Newton steps (largest "
               f"score component {fit.gradient_norm:.3g}): the estimates are not reliable")
    else:
        return
    warn_at_caller(msg, ConvergenceWarning)
    notes.append(msg)

"""Cox proportional-hazards model with hazard ratios and the proportional-hazards test.

lifelines' ``CoxPHFitter`` (Efron ties, like R's ``coxph``) on a design matrix built from column
lists (treatment coding, first level as reference, columns named as R does, e.g. ``groupB``;
no formula string), ``batch_mode=True`` from 5,000 rows (lifelines picked its slow path at 1M
rows), with tighter convergence limits than lifelines' defaults (see ``_COX_FIT_OPTIONS``).
Hazard-ratio CIs are Wald: ``exp(coef +- z * se)``. The proportional-hazards test is R's
``cox.zph`` (:func:`cohort.analysis.ph_test.ph_test`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis._lifelines import call_lifelines, warn_at_caller
from cohort.analysis.ph_test import ph_test
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.analysis.risk_sets import prepare_tte
from cohort.errors import AnalysisError, SmallSampleWarning

__all__ = ["BATCH_MODE_ROWS", "CONCORDANCE_MAX_ROWS", "MIN_EVENTS_PER_PARAMETER", "CoxResult",
           "cox_ph"]

BATCH_MODE_ROWS = 5_000
"""From this many rows the Cox fit uses lifelines' batch mode."""

CONCORDANCE_MAX_ROWS = 20_000
"""lifelines' concordance index is pure Python (12 s of a 14 s Cox fit at 200,000 rows): it
is reported up to this many rows only (NaN above)."""

MIN_EVENTS_PER_PARAMETER = 10
"""Below this many events per Cox coefficient a SmallSampleWarning is raised."""

_COX_FIT_OPTIONS = {"precision": 1e-12, "r_precision": 1e-14}
"""lifelines' default stop (relative log-likelihood change < 1e-9 after damped Newton steps) left
coefficients 7e-6 (relative) from the maximum (its Newton-decrement stop fires early too);
with these limits they agree with R's coxph to 1e-11."""


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
                raise AnalysisError(f"reference level {ref!r} of {cov!r} is not among its "
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
        ``coef`` (log hazard ratio), ``se``, ``estimate`` (hazard ratio), ``ci_lower``,
        ``ci_upper`` (Wald CI of the HR), ``z``, ``p``, ``n``, ``n_events``.
    ph_test : DataFrame
        :func:`ph_test`: ``term``, ``chisq``, ``df``, ``p`` (last row ``GLOBAL``).
    loglik : float
        Partial log-likelihood at the fit.
    concordance : float
        Harrell's C of the fitted linear predictor (NaN above 20,000 rows).
    """

    ph_test: pd.DataFrame = field(default_factory=pd.DataFrame)
    loglik: float = np.nan
    concordance: float = np.nan

    def to_dict(self) -> dict[str, Any]:
        """Base keys plus ``ph_test``, ``loglik``, ``concordance``."""
        out = super().to_dict()
        out.update(json_safe({"ph_test": self.ph_test, "loglik": self.loglik,
                              "concordance": self.concordance}))
        return out


def cox_ph(tte: pd.DataFrame, *, covariates: Sequence[str],
           reference: Mapping[str, Any] | None = None, conf_level: float = 0.95,
           batch_mode: bool | None = None) -> CoxResult:
    """Cox proportional-hazards model (Efron ties) with hazard ratios and the PH test.

    Parameters
    ----------
    tte : DataFrame
        A time-to-event table (times in days) with the covariate columns.
    covariates : sequence of str, keyword-only
        Columns: numeric ones enter as they are (per unit of the column, e.g. per year of
        ``age_years``), text/boolean ones as treatment-coded dummies.
    reference : mapping, keyword-only
        Reference level per categorical covariate (default: the first in sorted order).
    conf_level : float, keyword-only
        Level of the HR confidence intervals (default 0.95).
    batch_mode : bool, optional, keyword-only
        lifelines' batch mode; default: on from 5,000 rows.

    Returns
    -------
    CoxResult
    """
    covariates = list(covariates)
    if not covariates:
        raise AnalysisError("a Cox model needs at least one covariate (e.g. the group column)")
    if len(set(covariates)) != len(covariates):
        raise AnalysisError(f"covariates listed twice: {covariates}")
    data, exclusions = prepare_tte(tte, None, covariates)
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
    x, terms = _design(data, covariates, dict(reference or {}))
    n_events = int(data["event"].sum())
    notes = []
    if n_events < MIN_EVENTS_PER_PARAMETER * x.shape[1]:
        msg = (f"{n_events} events for {x.shape[1]} Cox coefficient(s) (fewer than "
               f"{MIN_EVENTS_PER_PARAMETER} per coefficient): estimates may be unstable and "
               "the Wald CIs too narrow")
        warn_at_caller(msg, SmallSampleWarning)
        notes.append(msg)
    delayed = bool((data["start"] > 0).any())
    frame = x.copy()
    frame["__stop"] = data["stop"].to_numpy()
    frame["__event"] = data["event"].to_numpy(dtype=int)
    if delayed:
        frame["__start"] = data["start"].to_numpy()
    batch = len(frame) >= BATCH_MODE_ROWS if batch_mode is None else batch_mode

    from lifelines import CoxPHFitter

    fitter = call_lifelines("the Cox model", lambda: CoxPHFitter(alpha=1 - conf_level).fit(
        frame, duration_col="__stop", event_col="__event",
        entry_col="__start" if delayed else None, batch_mode=batch,
        fit_options=_COX_FIT_OPTIONS), notes)
    coef = fitter.params_.reindex(x.columns).to_numpy(dtype=float)
    se = fitter.standard_errors_.reindex(x.columns).to_numpy(dtype=float)
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    term_of = {x.columns[j]: cov for cov, idx in terms.items() for j in idx}
    with np.errstate(over="ignore"):  # a separated covariate: HR and CI are inf, not a crash
        summary = pd.DataFrame({
            "term": list(x.columns), "covariate": [term_of[c] for c in x.columns],
            "coef": coef, "se": se, "estimate": np.exp(coef),
            "ci_lower": np.exp(coef - z * se), "ci_upper": np.exp(coef + z * se),
            "z": coef / se, "p": 2 * stats.norm.sf(np.abs(coef / se)),
            "n": len(data), "n_events": n_events})
    zph = ph_test(data["start"].to_numpy(), data["stop"].to_numpy(),
                  data["event"].to_numpy(), x.to_numpy(), coef, terms)
    bad_ph = zph.loc[(zph["term"] != "GLOBAL") & (zph["p"] < 0.05), "term"].tolist()
    if bad_ph:
        notes.append(f"proportional hazards doubtful for {', '.join(bad_ph)} (cox.zph p < "
                     "0.05)")
    return CoxResult(
        summary=summary, exclusions=exclusions,
        params={"covariates": covariates, "reference": dict(reference or {}),
                "conf_level": conf_level, "ties": "efron", "batch_mode": batch,
                "delayed_entry": delayed},
        notes=notes, ph_test=zph, loglik=float(fitter.log_likelihood_),
        concordance=(float(fitter.concordance_index_) if len(data) <= CONCORDANCE_MAX_ROWS
                     else np.nan))


"""ANCOVA of one visit's rows, the functional core of :mod:`cohort.analysis.ancova`.

``change ~ arm + baseline (+ covariates)`` by ordinary least squares
(:mod:`cohort.analysis.linear_model`, statsmodels' ``OLS``), LS means per arm, each arm minus
the reference with the family's multiplicity adjustment, and a linear dose-trend contrast.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cohort.analysis._common import split_covariates
from cohort.analysis.linear_model import LinearFit, build_design, check_ci, fit_ols
from cohort.analysis.multiplicity import adjust_comparisons, check_adjust

__all__ = ["VisitFit", "fit_ancova", "poly_linear"]


def poly_linear(k: int) -> np.ndarray:
    """Integer linear orthogonal-polynomial coefficients for ``k`` equally spaced levels.

    The coefficients R's ``emmeans`` uses for ``contrast(..., "poly")``: ``-1, 1`` (k = 2),
    ``-1, 0, 1`` (k = 3), ``-3, -1, 1, 3`` (k = 4), ...
    """
    c = np.arange(k, dtype=float) - (k - 1) / 2
    return c * 2 if k % 2 == 0 else c


@dataclass(frozen=True)
class VisitFit:
    """One visit's ANCOVA: the fit, LS means per arm, arms vs the reference, dose trend."""

    fit: LinearFit
    lsmeans: pd.DataFrame
    contrasts: pd.DataFrame
    trend: pd.DataFrame


def fit_ancova(data: pd.DataFrame, *, response: str = "change", arm: str = "arm",
               baseline: str | None = "baseline", covariates: Sequence[str] = (),
               arm_levels: Sequence[Any], conf_level: float = 0.95,
               adjust: str | None = None, trend_scores: Sequence[float] | None = None,
               trend_arms: Sequence[Any] | None = None, ci: str = "t") -> VisitFit:
    """ANCOVA on one visit's rows (functional core; see :func:`ancova_analysis`).

    Parameters
    ----------
    data : DataFrame
        One row per subject without missing values in the columns used.
    response, arm, baseline : str
        Columns: response (change, canonical unit), arm label, baseline value (None: no
        baseline term).
    covariates : sequence of str
        Extra columns: numeric ones linear, text/boolean ones as factors (first sorted level
        is the reference).
    arm_levels : sequence
        Arms, reference first.
    conf_level : float
    adjust : str or None
        Multiplicity adjustment of the arm-vs-reference family (``"none"``, ``"dunnett"``,
        ``"holm"``, ``"hochberg"``, ``"bonferroni"``, ``"sidak"``; None: ``"none"``).
    trend_scores : sequence of float or None
        Scores of ``trend_arms`` for the trend contrast (centred); None: ``poly_linear``.
    trend_arms : sequence or None
        Arms in dose order for the trend; None: no trend.
    ci : {"t", "normal"}
        t on the residual df, or normal (z) p-values and intervals.
    """
    adjust = check_adjust(adjust)
    check_ci(ci)
    cov_numeric, cov_factors = split_covariates(data, covariates)
    factors: dict[str, list[Any]] = {arm: list(arm_levels), **cov_factors}
    numeric = ([baseline] if baseline else []) + cov_numeric
    design = build_design(data, factors=factors, numeric=numeric)
    fit = fit_ols(data[response].to_numpy(dtype=float), design)
    counts = data[arm].value_counts()
    ls_rows = []
    for a in arm_levels:
        res = fit.contrast(design.row({arm: a}), conf_level, ci)
        ls_rows.append({"arm": a, "n": int(counts.get(a, 0)), **res})
    lsmeans = pd.DataFrame(ls_rows)
    ref = arm_levels[0]
    c_rows, lvecs = [], []
    for a in arm_levels[1:]:
        lvec = design.row({arm: a}) - design.row({arm: ref})
        lvecs.append(lvec)
        c_rows.append({"arm": a, "reference": ref,
                       "n": int(counts.get(a, 0) + counts.get(ref, 0)),
                       **fit.contrast(lvec, conf_level, ci)})
    contrasts = pd.DataFrame(c_rows)
    if len(contrasts):
        lmat = np.asarray(lvecs)
        fam = adjust_comparisons(lmat @ fit.coef, lmat @ fit.cov @ lmat.T,
                                 df=None if ci == "normal" else float(fit.df_resid),
                                 method=adjust, conf_level=conf_level)
        contrasts = pd.concat([contrasts, fam.frame()], axis=1)
    trend = pd.DataFrame()
    if trend_arms is not None and len(trend_arms) >= 3:
        k = len(trend_arms)
        if trend_scores is None:
            coefs = poly_linear(k)
        else:
            s = np.asarray(trend_scores, dtype=float)
            coefs = s - s.mean()
        lvec = sum(c * design.row({arm: a}) for c, a in zip(coefs, trend_arms, strict=True))
        res = fit.contrast(np.asarray(lvec), conf_level, ci)
        trend = pd.DataFrame([{"arm": " < ".join(map(str, trend_arms)),
                               "coefficients": ", ".join(f"{c:g}" for c in coefs),
                               "n": int(sum(counts.get(a, 0) for a in trend_arms)), **res}])
    return VisitFit(fit, lsmeans, contrasts, trend)

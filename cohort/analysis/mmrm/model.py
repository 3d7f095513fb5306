"""The MMRM on a data frame: design from column lists, fit, coefficients, LS means, contrasts.

:func:`mmrm` is the functional core that :func:`cohort.analysis.mmrm.mmrm_analysis` (change
from baseline per visit on a cohort) and the tests on R mmrm's ``fev_data`` call. The design
matrix comes from :func:`cohort.analysis.linear_model.build_design` (R's treatment contrasts,
no formula strings), the contrasts from :meth:`Design.row` as for the ANCOVA: LS means average
the factors not named with equal weights and set numeric covariates at their means over the
records analysed (R ``emmeans`` and SAS ``LSMEANS`` defaults).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis.linear_model import Design, build_design
from cohort.analysis.mmrm.covariance import STRUCTURES, GroupedStructure, make_structure
from cohort.analysis.mmrm.dof import (
    DF_METHODS,
    between_within_df,
    kenward_roger,
    kr_df,
    satterthwaite_df,
)
from cohort.analysis.mmrm.fit import MmrmFit, fit_covariance
from cohort.analysis.mmrm.robust import empirical_vcov
from cohort.errors import AnalysisError

__all__ = ["MmrmModel", "mmrm"]


@dataclass
class MmrmModel:
    """A fitted MMRM with its design and df method (see :func:`mmrm`).

    Attributes
    ----------
    fit : MmrmFit
        Covariance parameters, fixed effects, optimiser history.
    design : Design
    visits : list
        Visit levels in the covariance's order.
    df_method : str
    vcov : ndarray
        Covariance of the fixed effects used for inference (Kenward-Roger adjusted for
        ``kr``/``kr-linear``, the sandwich for ``vcov_type == "empirical"``, else
        model-based).
    vcov_type : str
        ``"model"`` or ``"empirical"``.
    """

    fit: MmrmFit
    design: Design
    visits: list[Any]
    df_method: str
    vcov: np.ndarray
    _w: np.ndarray | None = None
    _bw: np.ndarray | None = None
    vcov_type: str = "model"

    @property
    def beta(self) -> np.ndarray:
        """Fixed-effect estimates, in the order of ``design.names``."""
        return self.fit.beta

    def contrast(self, lvec: np.ndarray, conf_level: float = 0.95, *,
                 ci: str = "t") -> dict[str, float]:
        """Estimate, SE, df, t, p and CI of ``lvec @ beta`` under the model's df method.

        ``ci="normal"`` gives Wald z tests and estimate +- z x SE intervals (``df`` is then
        infinite, as SAS ``ddfm=none``); ``"t"`` uses the model's df method.

        Returns
        -------
        dict
            ``estimate``, ``se``, ``df``, ``statistic`` (t), ``p``, ``ci_lower``,
            ``ci_upper``.
        """
        lvec = np.asarray(lvec, dtype=float)
        est = float(lvec @ self.beta)
        se = float(np.sqrt(max(lvec @ self.vcov @ lvec, 0.0)))
        if ci not in ("t", "normal"):
            raise AnalysisError(f"unknown interval method {ci!r}; use t or normal")
        df = self._df(lvec) if ci == "t" else float("inf")
        nan = float("nan")
        if se <= 0:
            return {"estimate": est, "se": se, "df": df, "statistic": nan, "p": nan,
                    "ci_lower": nan, "ci_upper": nan}
        t = est / se
        dist = stats.t(df) if ci == "t" else stats.norm()
        q = dist.ppf(0.5 + conf_level / 2)
        return {"estimate": est, "se": se, "df": df, "statistic": t,
                "p": float(2 * dist.sf(abs(t))), "ci_lower": est - q * se,
                "ci_upper": est + q * se}

    def _df(self, lvec: np.ndarray) -> float:
        m = self.df_method
        if m == "satterthwaite":
            return satterthwaite_df(self.fit, lvec)
        if m in ("kr", "kr-linear"):
            return kr_df(self.fit, lvec, self._w)[0]
        if m == "residual":
            return float(self.fit.n_obs - len(self.beta))
        used = np.abs(lvec) > 0
        return float(self._bw[used].min()) if used.any() else float("nan")

    def coefficients(self, conf_level: float = 0.95) -> pd.DataFrame:
        """``term``, ``estimate``, ``se``, ``df``, ``statistic``, ``p``, ``ci_lower``,
        ``ci_upper`` of every fixed effect."""
        eye = np.eye(len(self.beta))
        rows = [{"term": n, **self.contrast(eye[j], conf_level)}
                for j, n in enumerate(self.design.names)]
        return pd.DataFrame(rows)

    def lsmean(self, levels: Mapping[str, Any], conf_level: float = 0.95, *,
               ci: str = "t") -> dict[str, float]:
        """LS mean at the given factor levels (others averaged, numerics at their means)."""
        return self.contrast(self.design.row(levels), conf_level, ci=ci)

    def difference(self, levels: Mapping[str, Any], reference: Mapping[str, Any],
                   conf_level: float = 0.95, *, ci: str = "t") -> dict[str, float]:
        """LS-mean difference ``levels - reference``."""
        return self.contrast(self.design.row(levels) - self.design.row(reference), conf_level,
                             ci=ci)


def mmrm(data: pd.DataFrame, *, response: str, subject: str, visit: str,
         visit_levels: Sequence[Any], factors: Mapping[str, Sequence[Any]] | None = None,
         numeric: Sequence[str] = (), interactions: Sequence[tuple[str, str]] = (),
         covariance: str = "us", method: str = "reml", df: str = "satterthwaite",
         vcov: str = "model", weights: str | None = None, group: str | None = None,
         theta: np.ndarray | None = None) -> MmrmModel:
    """Fit a mixed model for repeated measures (functional core).

    Parameters
    ----------
    data : DataFrame
        One row per subject and visit with a response; no missing values in the columns
        used (the caller reports what it excluded).
    response, subject, visit : str
        Columns: response (in its own unit), subject id, visit label.
    visit_levels : sequence
        Visits in order (the covariance's order, and the ``visit`` factor's levels with the
        first as reference when ``visit`` is in ``factors``).
    factors : mapping of column to levels (reference first)
        Categorical terms (``visit`` may be one of them).
    numeric : sequence of str
        Numeric terms (e.g. the baseline value).
    interactions : sequence of (str, str)
        Factor x factor or factor x numeric interactions.
    covariance : {"us", "cs", "csh", "ar1", "ar1h", "toep", "toeph"}
    method : {"reml", "ml"}
    df : {"satterthwaite", "kr", "kr-linear", "residual", "between-within"}
    vcov : {"model", "empirical"}
        Covariance of the fixed effects: model-based, or the empirical sandwich (SAS
        ``EMPIRICAL``, :mod:`.robust`; with ``df`` residual or between-within, SAS's default
        for it being between-within).
    weights : str or None
        Column of positive record weights (SAS ``WEIGHT``, R mmrm ``weights =``): a record's
        covariance row and column are divided by the square root of its weight,
        ``V_i = W_i^-1/2 Sigma W_i^-1/2``.
    group : str or None
        Column (constant within subject, e.g. the arm) whose groups get separate covariance
        parameters of the same structure (SAS ``REPEATED / GROUP=``, R mmrm
        ``us(visit | group / subject)``); parameters are named ``<SAS name> <group>``.
    theta : ndarray or None
        Fixed covariance parameters (SAS ``PARMS / NOITER``); None: estimated.

    Returns
    -------
    MmrmModel

    Raises
    ------
    AnalysisError
        Unknown options, a single visit, a rank-deficient design, a covariance structure
        with more parameters than the data can estimate, non-convergence.
    """
    if covariance not in STRUCTURES:
        raise AnalysisError(f"unknown covariance structure {covariance!r}; use one of "
                            + ", ".join(STRUCTURES))
    if method not in ("reml", "ml"):
        raise AnalysisError(f"method must be 'reml' or 'ml', got {method!r}")
    if df not in DF_METHODS:
        raise AnalysisError(f"unknown df method {df!r}; use one of " + ", ".join(DF_METHODS))
    if vcov not in ("model", "empirical"):
        raise AnalysisError(f"vcov must be 'model' or 'empirical', got {vcov!r}")
    if vcov == "empirical" and df not in ("residual", "between-within"):
        raise AnalysisError("empirical (sandwich) SEs go with residual or between-within "
                            f"degrees of freedom (SAS's default: between-within), not {df!r}")
    if df in ("kr", "kr-linear") and method != "reml":
        raise AnalysisError("Kenward-Roger degrees of freedom need REML (method='reml'), as "
                            "in SAS and R mmrm")
    used = [response, subject, visit, *(factors or {}), *numeric,
            *([weights] if weights else []), *([group] if group else [])]
    for col in dict.fromkeys(used):
        if col not in data.columns:
            raise AnalysisError(f"column {col!r} is not in the data; columns: "
                                f"{list(data.columns)}")
        n_na = int(data[col].isna().sum())
        if n_na:
            raise AnalysisError(f"{n_na} record(s) with a missing {col!r}: drop (and report) "
                                "them before the MMRM, which uses every record it is given")
    visit_levels = list(visit_levels)
    if len(visit_levels) < 2:
        raise AnalysisError(f"an MMRM needs at least two visits; got {visit_levels}: for one "
                            "visit use the ANCOVA (`cohort analyze ancova`)")
    vmap = {v: i for i, v in enumerate(visit_levels)}
    vis = data[visit].map(vmap)
    if vis.isna().any():
        bad = sorted(set(data.loc[vis.isna(), visit].astype(str)))
        raise AnalysisError(f"visit(s) {bad} are not among the visit levels {visit_levels}")
    vis = vis.to_numpy(dtype=int)
    subj, _ = pd.factorize(data[subject], sort=False)
    dup = pd.Series(subj * len(visit_levels) + vis).duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise AnalysisError(f"subject {data[subject].iloc[i]!r} has more than one record at "
                            f"visit {data[visit].iloc[i]!r}")
    design = build_design(data, factors=dict(factors or {}), numeric=list(numeric),
                          interactions=list(interactions))
    x = design.X
    n_obs, p = x.shape
    j = _first_dependent(x)
    if j is not None:
        bad = design.names[j]
        raise AnalysisError(f"the MMRM cannot estimate {bad!r}: it is constant or a "
                            "combination of the other terms in the records analysed (e.g. a "
                            "visit with no subject in an arm)")
    structure: Any = make_structure(covariance, len(visit_levels))
    if group is None:
        _check_estimable(structure, subj, vis, n_obs, p, method, visit_levels)
    else:
        # groups in the factor's level order when the column is a factor (reference first)
        order = [str(v) for v in (factors or {}).get(group, [])] or sorted(
            set(data[group].astype(str)))
        gcodes = data[group].astype(str).map({g: i for i, g in enumerate(order)}).to_numpy()
        glevels = [g for i, g in enumerate(order) if (gcodes == i).any()]
        gcodes = pd.Series(gcodes).map({order.index(g): i for i, g in enumerate(glevels)}
                                        ).to_numpy(dtype=int)
        per_subject = pd.Series(gcodes).groupby(subj).nunique()
        if (per_subject > 1).any():
            bad = data[subject].iloc[int(np.flatnonzero(subj == per_subject.idxmax())[0])]
            raise AnalysisError(f"covariance group {group!r} changes within subject {bad!r}; "
                                "it must be constant within each subject")
        for gi, gname in enumerate(glevels):
            sel = gcodes == gi
            sub, _ = pd.factorize(subj[sel])
            try:
                _check_estimable(structure, sub, vis[sel], int(sel.sum()), 0, "ml",
                                 visit_levels)
            except AnalysisError as exc:
                raise AnalysisError(f"covariance group {gname!r}: {exc}") from None
        structure = GroupedStructure(structure, tuple(glevels))
        _check_estimable(structure, subj, gcodes * len(visit_levels) + vis, n_obs, p,
                         method, visit_levels, pairs=False)
        vis = gcodes * len(visit_levels) + vis
    y = data[response].to_numpy(dtype=float)
    if weights is None:
        fit = fit_covariance(y, x, subj, vis, structure, reml=method == "reml", theta=theta)
    else:
        w = data[weights].to_numpy(dtype=float)
        if not np.all(np.isfinite(w) & (w > 0)):
            raise AnalysisError(f"weights {weights!r} must be positive and finite; "
                                f"{int((~(np.isfinite(w) & (w > 0))).sum())} record(s) are not")
        # V_i = W^-1/2 Sigma W^-1/2: fit sqrt(w) y on sqrt(w) X with Sigma, and add the
        # Jacobian term -sum(log w) to -2 log L
        root = np.sqrt(w)
        fit = fit_covariance(y * root, x * root[:, None], subj, vis, structure,
                             reml=method == "reml", theta=theta)
        shift = -float(np.log(w).sum())
        fit.minus2ll += shift
        fit.history["minus2ll"] += shift
        y, x_fit = y * root, x * root[:, None]
    vcov_beta, w, bw = fit.vcov, None, None
    if df in ("kr", "kr-linear"):
        vcov_beta, w = kenward_roger(fit, linear=df == "kr-linear")
    elif df == "between-within":
        bw = between_within_df(x, subj)
    if vcov == "empirical":
        vcov_beta = empirical_vcov(fit, y, x if weights is None else x_fit, subj, vis)
    return MmrmModel(fit, design, visit_levels, df, vcov_beta, w, bw, vcov)


def _first_dependent(x: np.ndarray) -> int | None:
    """First column that is (numerically) a combination of the ones before it.

    A Cholesky factorisation of ``X'X`` column by column (cheaper than the SVD of
    ``matrix_rank`` or a QR of the N x p design when N is large): column ``j`` is dependent
    when its squared residual norm after the earlier columns is below 1e-10 of its squared
    norm (the column is within 1e-5 relative of their span: not estimable in practice).
    """
    g = x.T @ x
    p = g.shape[0]
    lo = np.zeros((p, p))
    kept: list[int] = []
    for j in range(p):
        v = g[j, j]
        if v <= 0:
            return j
        if kept:
            lj = np.linalg.solve(lo[np.ix_(kept, kept)], g[kept, j])
            resid = v - float(lj @ lj)
        else:
            lj, resid = np.zeros(0), v
        if resid <= 1e-10 * v:
            return j
        lo[j, kept] = lj
        lo[j, j] = np.sqrt(resid)
        kept.append(j)
    return None


def _check_estimable(structure: Any, subj: np.ndarray, vis: np.ndarray, n_obs: int, p: int,
                     method: str, visits: list[Any], pairs: bool = True) -> None:
    q = structure.n_params
    avail = n_obs - p if method == "reml" else n_obs
    name = STRUCTURES[structure.code]
    if q >= avail:
        raise AnalysisError(
            f"the {name} covariance has {q} parameters but the data allow at most "
            f"{avail - 1} ({n_obs} records"
            + (f" - {p} fixed effects under REML" if method == "reml" else "")
            + " - 1); use a structure with fewer parameters (e.g. cs or ar1) or more data")
    if not pairs:
        return
    t = structure.n_visits
    n_sub = int(subj.max()) + 1
    mask = np.zeros((n_sub, t), dtype=bool)
    mask[subj, vis] = True
    pairs = mask.T.astype(int) @ mask.astype(int)
    if structure.code == "us":
        for i in range(t):
            for j in range(i):
                if pairs[i, j] == 0:
                    raise AnalysisError(
                        f"the unstructured covariance of visits {visits[j]!r} and "
                        f"{visits[i]!r} cannot be estimated: no subject has a value at both; "
                        "use a structured covariance (e.g. toep or ar1)")
    if structure.code in ("toep", "toeph"):
        lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
        for k in range(1, t):
            if pairs[lag == k].sum() == 0:
                raise AnalysisError(f"the Toeplitz covariance at lag {k} cannot be estimated: "
                                    f"no subject has values {k} visit(s) apart")
    if (pairs.diagonal() < 1).any():
        empty = [visits[i] for i in range(t) if pairs[i, i] == 0]
        raise AnalysisError(f"no record at visit(s) {empty}; drop them from the visits")

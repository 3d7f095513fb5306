"""Linear models from column lists: R-style design matrices and statsmodels' OLS.

:func:`build_design` turns named columns into a design matrix with R's ``lm``
parameterisation (treatment contrasts, the first level of each factor as reference, columns
named as R names them: ``armlow``, ``armlow:subgroupBMI >= 23``); no formula string is ever
built or parsed. :func:`fit_ols` fits it with statsmodels'
``OLS(y, X).fit()`` (:class:`statsmodels.regression.linear_model.OLS`, the class
``statsmodels.api.OLS`` names; imported from its module so that importing this one does not
load all of ``statsmodels.api``) after checks that turn the usual ways a small cohort breaks a
model into messages (no variation in the response, fewer subjects than coefficients, a term
that is constant or a combination of the others).

:class:`LinearFit` keeps the statsmodels results and reads everything from them: the
coefficient table (``params``, ``bse``, ``tvalues``, ``pvalues``, ``conf_int``), linear
contrasts such as LS means and arm differences (``t_test``) and joint tests of several
coefficients (``f_test``, R's ``anova(reduced, full)`` for nested models).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from statsmodels.regression.linear_model import RegressionResultsWrapper

__all__ = ["CI_METHODS", "INTERCEPT", "Design", "LinearFit", "build_design", "check_ci",
           "first_dependent_column", "fit_ols"]

INTERCEPT = "(Intercept)"
#: interval methods of the linear-model analyses: t on the residual df, or normal (z)
CI_METHODS = ("t", "normal")


def check_ci(ci: str) -> str:
    """The interval method, checked: ``"t"`` or ``"normal"`` (raises AnalysisError)."""
    if ci not in CI_METHODS:
        raise AnalysisError(f"unknown interval method {ci!r}; choose t (the t distribution on "
                            "the residual degrees of freedom) or normal (estimate +- z x SE)")
    return ci


def _z_quantile(conf_level: float) -> float:
    from scipy import stats

    return float(stats.norm.isf((1 - conf_level) / 2))


def _z_p(z: np.ndarray) -> np.ndarray:
    from scipy import stats

    return 2 * stats.norm.sf(np.abs(np.asarray(z, dtype=float)))


@dataclass(frozen=True)
class Design:
    """A design matrix built from column lists, with R's ``lm`` column names.

    Attributes
    ----------
    X : ndarray, shape (n, p)
    names : list of str
        ``"(Intercept)"``, ``"<factor><level>"`` dummies (treatment contrasts, first level
        is the reference), numeric column names, ``"<f1><l1>:<f2><l2>"`` interactions.
    factors : dict of str to list
        Levels of every factor, reference first.
    numeric : list of str
        Numeric columns.
    interactions : list of (str, str)
        Factor pairs with an interaction, or (factor, numeric column) pairs.
    means : dict of str to float
        Mean of every numeric column over the rows fitted.
    """

    X: np.ndarray
    names: list[str]
    factors: dict[str, list[Any]]
    numeric: list[str]
    interactions: list[tuple[str, str]]
    means: dict[str, float]

    def row(self, levels: Mapping[str, Any] | None = None,
            numeric: Mapping[str, float] | None = None) -> np.ndarray:
        """A row of the design (a contrast vector) at given factor levels and numeric values.

        Parameters
        ----------
        levels : mapping of factor to level, or to a dict ``{level: weight}``
            Factors not given are averaged with equal weights over their levels (as
            ``emmeans``).
        numeric : mapping of column to value
            Numeric columns not given are set to their means.
        """
        levels = dict(levels or {})
        numeric = dict(numeric or {})
        weights: dict[str, dict[Any, float]] = {}
        for f, lv in self.factors.items():
            given = levels.get(f)
            if given is None:
                weights[f] = {v: 1 / len(lv) for v in lv}
            elif isinstance(given, Mapping):
                weights[f] = {v: float(given.get(v, 0.0)) for v in lv}
            else:
                if given not in lv:
                    raise AnalysisError(f"{f} has no level {given!r}; levels: {lv}")
                weights[f] = {v: float(v == given) for v in lv}
        out = np.zeros(len(self.names))
        for j, name in enumerate(self.names):
            out[j] = self._value(name, weights, numeric)
        return out

    def _value(self, name: str, weights: dict[str, dict[Any, float]],
               numeric: dict[str, float]) -> float:
        if name == INTERCEPT:
            return 1.0
        if name in self.numeric:
            return float(numeric.get(name, self.means[name]))
        spec = self._columns[name]
        value = 1.0
        for f, lv in spec:
            value *= (float(numeric.get(f, self.means[f])) if f in self.numeric
                      else weights[f][lv])
        return value

    @property
    def _columns(self) -> dict[str, list[tuple[str, Any]]]:
        cols: dict[str, list[tuple[str, Any]]] = {}
        for f, lv in self.factors.items():
            for v in lv[1:]:
                cols[f"{f}{v}"] = [(f, v)]
        for f1, f2 in self.interactions:
            if f2 in self.numeric:
                for v1 in self.factors[f1][1:]:
                    cols[f"{f1}{v1}:{f2}"] = [(f1, v1), (f2, None)]
                continue
            for v1 in self.factors[f1][1:]:
                for v2 in self.factors[f2][1:]:
                    cols[f"{f1}{v1}:{f2}{v2}"] = [(f1, v1), (f2, v2)]
        return cols


def build_design(frame: pd.DataFrame, *, factors: Mapping[str, Sequence[Any]],
                 numeric: Sequence[str] = (),
                 interactions: Sequence[tuple[str, str]] = ()) -> Design:
    """Build a design matrix (treatment contrasts) from column lists.

    Parameters
    ----------
    frame : DataFrame
        The rows to fit, without missing values in the columns used.
    factors : mapping of column to levels
        Categorical columns and their levels, reference level first. Levels without rows are
        an error (their coefficient would not be estimable).
    numeric : sequence of str
        Numeric columns, entered linearly (in their own units).
    interactions : sequence of (str, str)
        Pairs of factors whose interaction is added, or (factor, numeric column): one slope
        per non-reference level (R's ``factor:x``; e.g. baseline by visit).

    Returns
    -------
    Design
    """
    n = len(frame)
    cols = [np.ones(n)]
    names = [INTERCEPT]
    dummies: dict[tuple[str, Any], np.ndarray] = {}
    for f, levels in factors.items():
        values = frame[f].to_numpy(dtype=object)
        levels = list(levels)
        present = set(values.tolist())
        absent = [lv for lv in levels if lv not in present]
        if absent:
            raise AnalysisError(f"{f}: no subject with level(s) {absent} among the rows "
                                "analysed; drop the level or check the data")
        for lv in levels[1:]:
            d = (values == lv).astype(float)
            dummies[(f, lv)] = d
            cols.append(d)
            names.append(f"{f}{lv}")
    means = {}
    for c in numeric:
        x = frame[c].to_numpy(dtype=float)
        means[c] = float(x.mean())
        cols.append(x)
        names.append(c)
    for f1, f2 in interactions:
        if f2 in means:  # factor x numeric: a slope per level (R's `f:x` columns)
            x = frame[f2].to_numpy(dtype=float)
            for v1 in list(factors[f1])[1:]:
                cols.append(dummies[(f1, v1)] * x)
                names.append(f"{f1}{v1}:{f2}")
            continue
        for v1 in list(factors[f1])[1:]:
            for v2 in list(factors[f2])[1:]:
                cols.append(dummies[(f1, v1)] * dummies[(f2, v2)])
                names.append(f"{f1}{v1}:{f2}{v2}")
    return Design(np.column_stack(cols), names, {f: list(v) for f, v in factors.items()},
                  list(numeric), list(interactions), means)


@dataclass(frozen=True)
class LinearFit:
    """An ordinary least-squares fit (as R's ``lm``): a design and statsmodels' results.

    Attributes
    ----------
    design : Design
    results : statsmodels ``RegressionResultsWrapper``
        ``OLS(y, design.X).fit()``; everything below is read from it.
    coef : ndarray
        Coefficients (in the response's unit per unit of each column).
    cov : ndarray
        Their covariance matrix (sigma^2 (X'X)^-1).
    df_resid : int
        Residual degrees of freedom.
    sigma : float
        Residual standard error.
    rss : float
        Residual sum of squares.
    n : int
        Rows fitted.
    """

    design: Design
    results: RegressionResultsWrapper

    @property
    def coef(self) -> np.ndarray:
        """Coefficients, in the order of ``design.names``."""
        return np.asarray(self.results.params, dtype=float)

    @property
    def cov(self) -> np.ndarray:
        """Covariance matrix of the coefficients."""
        return np.asarray(self.results.cov_params(), dtype=float)

    @property
    def df_resid(self) -> int:
        """Residual degrees of freedom."""
        return round(float(self.results.df_resid))

    @property
    def sigma(self) -> float:
        """Residual standard error."""
        return float(np.sqrt(self.results.scale))

    @property
    def rss(self) -> float:
        """Residual sum of squares."""
        return float(self.results.ssr)

    @property
    def n(self) -> int:
        """Rows fitted."""
        return int(self.results.nobs)

    def coefficients(self, conf_level: float = 0.95, ci: str = "t") -> pd.DataFrame:
        """``term``, ``estimate``, ``se``, ``t``, ``p``, ``ci_lower``, ``ci_upper``.

        With ``ci="normal"`` the p-values and intervals use the standard normal (Wald z, the
        ``1.96 x SE`` intervals) instead of the t distribution on the residual df; the
        ``t`` column then holds z.
        """
        r = self.results
        if check_ci(ci) == "normal":
            est = self.coef
            se = np.asarray(r.bse, dtype=float)
            z = est / se
            zq = _z_quantile(conf_level)
            return pd.DataFrame({"term": self.design.names, "estimate": est, "se": se, "t": z,
                                 "p": _z_p(z), "ci_lower": est - zq * se,
                                 "ci_upper": est + zq * se})
        cint = np.asarray(r.conf_int(alpha=1 - conf_level), dtype=float)
        return pd.DataFrame({"term": self.design.names, "estimate": self.coef,
                             "se": np.asarray(r.bse, dtype=float),
                             "t": np.asarray(r.tvalues, dtype=float),
                             "p": np.asarray(r.pvalues, dtype=float),
                             "ci_lower": cint[:, 0], "ci_upper": cint[:, 1]})

    def contrast(self, weights: np.ndarray, conf_level: float = 0.95,
                 ci: str = "t") -> dict[str, float]:
        """Estimate, SE, CI, t and p of the linear combination ``weights @ coef``.

        Parameters
        ----------
        weights : ndarray, shape (p,)
            One weight per column of the design (e.g. :meth:`Design.row` differences).
        conf_level : float
        ci : {"t", "normal"}
            t distribution on the residual df (R ``lm``/``emmeans``), or the standard
            normal (Wald z; ``emmeans(..., df = Inf)``); ``df`` is then NaN.

        Returns
        -------
        dict
            ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``statistic`` (t or z),
            ``p``; the statistic and p are NaN when the combination has no variance.
        """
        if check_ci(ci) == "normal":
            w = np.asarray(weights, dtype=float)
            est = float(w @ self.coef)
            se = float(np.sqrt(max(w @ self.cov @ w, 0.0)))
            zq = _z_quantile(conf_level)
            ok = se > 0
            z = est / se if ok else np.nan
            return {"estimate": est, "se": se, "ci_lower": est - zq * se,
                    "ci_upper": est + zq * se, "df": np.nan,
                    "statistic": z, "p": float(_z_p(np.array([z]))[0]) if ok else np.nan}
        w = np.atleast_2d(np.asarray(weights, dtype=float))
        # a zero-variance combination (weights all 0) has no t statistic: NaN, not a warning
        with np.errstate(divide="ignore", invalid="ignore"):
            tt = self.results.t_test(w)
            lo, hi = np.asarray(tt.conf_int(alpha=1 - conf_level), dtype=float)[0]
        est = float(np.ravel(tt.effect)[0])
        se = float(np.ravel(tt.sd)[0])
        ok = se > 0
        return {"estimate": est, "se": se, "ci_lower": float(lo), "ci_upper": float(hi),
                "df": float(self.df_resid),
                "statistic": float(np.ravel(tt.tvalue)[0]) if ok else np.nan,
                "p": float(np.ravel(tt.pvalue)[0]) if ok else np.nan}

    def f_test(self, columns: Sequence[str]) -> dict[str, float]:
        """F test that the coefficients ``columns`` are all 0 (R ``anova(reduced, full)``).

        Returns
        -------
        dict
            ``statistic`` (F), ``df_num``, ``df_den``, ``p``.
        """
        names = self.design.names
        unknown = [c for c in columns if c not in names]
        if unknown or not columns:
            raise AnalysisError(f"F test of {list(columns)}: give model terms from {names}")
        restriction = np.eye(len(names))[[names.index(c) for c in columns]]
        ft = self.results.f_test(restriction)
        return {"statistic": float(np.squeeze(ft.fvalue)), "df_num": float(ft.df_num),
                "df_den": float(ft.df_denom), "p": float(np.squeeze(ft.pvalue))}


def first_dependent_column(xmat: np.ndarray, *, tol: float | None = None) -> int | None:
    """Index of the first column that is a combination of the ones before it.

    Parameters
    ----------
    xmat : ndarray, shape (n, p)
        A design matrix (e.g. ``Design.X``).
    tol : float, optional
        Singular-value threshold of :func:`numpy.linalg.matrix_rank` (its default when None).

    Returns
    -------
    int or None
        The column index, or None when the columns are linearly independent.
    """
    for j in range(1, xmat.shape[1] + 1):
        if np.linalg.matrix_rank(xmat[:, :j], tol=tol) < j:
            return j - 1
    return None


def fit_ols(y: np.ndarray, design: Design) -> LinearFit:
    """Least squares of ``y`` on ``design`` (statsmodels ``OLS``), with checks first.

    Parameters
    ----------
    y : ndarray
        Response (e.g. change in HbA1c, percentage points).
    design : Design

    Returns
    -------
    LinearFit

    Raises
    ------
    AnalysisError
        When every response is the same, when there are no more subjects than coefficients,
        or when a column is constant or a combination of the others (the message names it).
    """
    from statsmodels.regression.linear_model import OLS

    y = np.asarray(y, dtype=float)
    xmat = design.X
    n, p = xmat.shape
    if np.ptp(y) == 0:
        raise AnalysisError(f"every subject has the same response ({y[0]:.6g}): there is "
                            "nothing to model")
    if n <= p:
        raise AnalysisError(f"{n} subjects for {p} model coefficients ({', '.join(design.names)})"
                            ": the model needs more subjects than coefficients")
    # statsmodels would fit a rank-deficient design silently through the pseudo-inverse
    if np.linalg.matrix_rank(xmat) < p:
        j = first_dependent_column(xmat)
        bad = design.names[xmat.shape[1] - 1 if j is None else j]
        raise AnalysisError(
            f"the model cannot separate {bad!r} from the other terms (it is constant or a "
            "combination of them in the subjects analysed); drop that covariate or check the "
            "data")
    return LinearFit(design, OLS(y, xmat).fit())

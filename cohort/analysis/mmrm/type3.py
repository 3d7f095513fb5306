"""F tests of linear hypotheses and SAS's Type 3 tests of the MMRM's terms.

:func:`f_test` tests ``L beta = 0`` for a ``q x p`` matrix ``L``:

* **Satterthwaite** (SAS ``ddfm=satterthwaite``, R mmrm): ``F = (L b)'(L Phi L')^-1 (L b) / q``;
  the denominator df by Fai and Cornelius (1996), as SAS: ``L Phi L' = P D P'``, each
  ``P_m' L`` gets its one-dimensional Satterthwaite df ``nu_m``, ``E = sum nu_m / (nu_m - 2)``
  and ``df = 2 E / (E - q)`` (all ``nu_m`` equal: that value; one ``nu_m <= 2``: 2).
* **Kenward-Roger** (``kr``, ``kr-linear``): ``F`` from the adjusted covariance ``Phi_A``,
  scaled by K&R's ``lambda``, with their denominator df (:func:`.dof.kr_df`).
* **residual**, **between-within**: the same df as a one-dimensional contrast of those rows.

:func:`type3_tests` builds SAS's Type 3 hypotheses from the design: for a factor, its levels'
means are equal, the other factors averaged with equal weights (:meth:`Design.row`) and numeric
covariates at **0** (SAS's Type 3 convention: with an ``arm * baseline`` interaction the arm
test is at baseline 0, unlike the LS means, which use the mean; checked against SAS's
``anova/test3_1.csv``); for an interaction, its coefficients are 0; for a numeric covariate,
its slope averaged with equal weights over the levels of the factors it interacts with is 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis.mmrm.dof import kr_df, satterthwaite_df

if TYPE_CHECKING:
    from cohort.analysis.mmrm.model import MmrmModel

__all__ = ["f_test", "type3_tests"]


def f_test(model: MmrmModel, lmat: np.ndarray) -> dict[str, float]:
    """F test of ``lmat @ beta = 0`` under the model's df method.

    Returns
    -------
    dict
        ``num_df``, ``den_df``, ``statistic`` (F), ``p``.
    """
    lmat = np.atleast_2d(np.asarray(lmat, dtype=float))
    q = lmat.shape[0]
    lb = lmat @ model.beta
    method = model.df_method
    if method in ("kr", "kr-linear"):
        m, lam = kr_df(model.fit, lmat, model._w)
        f = lam * float(lb @ np.linalg.solve(lmat @ model.vcov @ lmat.T, lb)) / q
        den = m
    else:
        f = float(lb @ np.linalg.solve(lmat @ model.vcov @ lmat.T, lb)) / q
        if method == "satterthwaite":
            _, p_vec = np.linalg.eigh(lmat @ model.fit.vcov @ lmat.T)
            nus = np.array([satterthwaite_df(model.fit, p_vec[:, j] @ lmat)
                            for j in range(q)])
            den = _fai_cornelius(nus)
        else:
            den = min(model._df(row) for row in lmat)
    return {"num_df": float(q), "den_df": float(den), "statistic": f,
            "p": float(stats.f.sf(f, q, den))}


def _fai_cornelius(nus: np.ndarray) -> float:
    if np.all(np.abs(np.diff(nus)) < np.sqrt(np.finfo(float).eps)):
        return float(nus[0])
    if np.any(nus <= 2):
        return 2.0
    e = float(np.sum(nus / (nus - 2)))
    return 2 * e / (e - len(nus))


def type3_tests(model: MmrmModel) -> pd.DataFrame:
    """SAS's Type 3 tests of every term of the model (see the module docstring).

    Returns
    -------
    DataFrame
        ``effect`` (``"arm"``, ``"arm:visit"``, ...), ``num_df``, ``den_df``, ``statistic``
        (F), ``p``.
    """
    des = model.design
    names = des.names
    rows = []
    terms: list[tuple[str, np.ndarray]] = []
    at_zero = {x: 0.0 for x in des.numeric}
    for f, levels in des.factors.items():
        lmat = np.array([des.row({f: lv}, at_zero) - des.row({f: levels[0]}, at_zero)
                         for lv in levels[1:]])
        terms.append((f, lmat))
    for x in des.numeric:
        partners = [f for f, g in des.interactions if g == x]
        e = np.zeros(len(names))
        e[names.index(x)] = 1.0
        for f in partners:
            levels = des.factors[f]
            for lv in levels[1:]:
                e[names.index(f"{f}{lv}:{x}")] = 1.0 / len(levels)
        terms.append((x, e[None, :]))
    for f1, f2 in des.interactions:
        if f2 in des.numeric:
            cols = [f"{f1}{v}:{f2}" for v in des.factors[f1][1:]]
        else:
            cols = [f"{f1}{v1}:{f2}{v2}" for v1 in des.factors[f1][1:]
                    for v2 in des.factors[f2][1:]]
        terms.append((f"{f1}:{f2}", np.eye(len(names))[[names.index(c) for c in cols]]))
    for effect, lmat in terms:
        rows.append({"effect": effect, **f_test(model, lmat)})
    return pd.DataFrame(rows, columns=["effect", "num_df", "den_df", "statistic", "p"])

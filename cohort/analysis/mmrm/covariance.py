"""Covariance structures of the MMRM, in SAS PROC MIXED's parametrisation.

Each structure maps its parameter vector ``theta`` (in SAS's order and units, as PROC MIXED
prints them in "Covariance Parameter Estimates") to the ``T x T`` covariance matrix of one
subject's responses over the ``T`` visits, with the first and second derivatives of that matrix
with respect to ``theta``. The likelihood, the Satterthwaite and Kenward-Roger degrees of
freedom all read those derivatives; Kenward-Roger's full form uses the second derivatives *in
this parametrisation*, which is why it equals SAS ``ddfm=kr`` (and R mmrm's full form, computed
in mmrm's own log/Cholesky parametrisation, does not).

Visits are indexed ``1..T`` in the order given (SAS's ``REPEATED`` order); the structures
depend on the visit index, not on the time between visits (as SAS's ``type=AR(1)``/``TOEP``).

========  ===========================================  ==========================================
code      SAS ``type=``, parameters (SAS names)         covariance ``Sigma[i, j]``
========  ===========================================  ==========================================
``us``    ``UN``: ``UN(i,j)``, ``i >= j``, by rows      ``UN(i,j)`` (linear in theta)
``cs``    ``CS``: ``CS``, ``Residual``                  ``CS + Residual * [i == j]`` (linear)
``csh``   ``CSH``: ``Var(1..T)``, ``CSH`` (rho)         ``s_i s_j (rho + (1 - rho) [i == j])``
``ar1``   ``AR(1)``: ``AR(1)`` (rho), ``Residual``      ``Residual * rho^|i-j|``
``ar1h``  ``ARH(1)``: ``Var(1..T)``, ``ARH(1)`` (rho)    ``s_i s_j rho^|i-j|``
``toep``  ``TOEP``: ``TOEP(2..T)``, ``Residual``        ``TOEP(|i-j|+1)``; ``Residual`` on the
                                                        diagonal (linear)
``toeph`` ``TOEPH``: ``Var(1..T)``, ``TOEPH(1..T-1)``   ``s_i s_j rho_|i-j|`` (``rho_0 = 1``)
========  ===========================================  ==========================================

``s_i = sqrt(Var(i))``: the heterogeneous structures are parametrised by variances, as SAS
prints them, not by standard deviations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["STRUCTURES", "CovarianceStructure", "GroupedStructure", "make_structure"]

STRUCTURES = {
    "us": "unstructured (SAS type=UN)",
    "cs": "compound symmetry (SAS type=CS)",
    "csh": "heterogeneous compound symmetry (SAS type=CSH)",
    "ar1": "first-order autoregressive (SAS type=AR(1))",
    "ar1h": "heterogeneous first-order autoregressive (SAS type=ARH(1))",
    "toep": "Toeplitz (SAS type=TOEP)",
    "toeph": "heterogeneous Toeplitz (SAS type=TOEPH)",
}


@dataclass(frozen=True)
class CovarianceStructure:
    """A covariance structure over ``n_visits`` visits (see the module docstring).

    Attributes
    ----------
    code : str
        ``us``, ``cs``, ``csh``, ``ar1``, ``ar1h``, ``toep`` or ``toeph``.
    n_visits : int
    names : list of str
        SAS's names of the parameters, in order.
    linear : bool
        Whether ``Sigma`` is linear in ``theta`` (second derivatives all zero; SAS's ``kr``
        and ``kr(linear)`` then coincide).
    """

    code: str
    n_visits: int
    names: tuple[str, ...]
    linear: bool

    @property
    def n_params(self) -> int:
        """Number of covariance parameters."""
        return len(self.names)

    # -------------------------------------------------------------- the matrix and derivatives

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        """The ``T x T`` covariance matrix at ``theta``."""
        return self.derivatives(theta, order=0)[0]

    def derivatives(self, theta: np.ndarray, order: int = 2
                    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``Sigma``, ``dSigma/dtheta`` (q, T, T) and ``d2Sigma/dtheta2`` (q, q, T, T).

        Derivatives above ``order`` are None.
        """
        theta = np.asarray(theta, dtype=float)
        t = self.n_visits
        if self.code in ("us", "cs", "toep"):
            basis = self._linear_basis()
            sig = np.einsum("k,kab->ab", theta, basis)
            d2 = np.zeros((len(theta), len(theta), t, t)) if order >= 2 else None
            return sig, (basis if order >= 1 else None), d2
        return self._scaled(theta, order)

    def _linear_basis(self) -> np.ndarray:
        t = self.n_visits
        if self.code == "us":
            out = []
            for i in range(t):
                for j in range(i + 1):
                    b = np.zeros((t, t))
                    b[i, j] = b[j, i] = 1.0
                    out.append(b)
            return np.array(out)
        if self.code == "cs":
            return np.array([np.ones((t, t)), np.eye(t)])
        lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
        bands = [(lag == k).astype(float) for k in range(1, t)]
        return np.array([*bands, np.eye(t)])

    def _scaled(self, theta: np.ndarray, order: int
                ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """``Sigma = S R(rho) S`` with ``S = diag(sqrt(var))`` (one common variance or T)."""
        t = self.n_visits
        hetero = self.code in ("csh", "ar1h", "toeph")
        if hetero:
            var, rho = theta[:t], theta[t:]
        elif self.code == "ar1":  # SAS order: AR(1), Residual
            var, rho = theta[1:2], theta[:1]
        else:
            raise ValueError(self.code)
        r, dr, d2r = self._correlation(rho)
        nv = len(var)
        s = np.sqrt(np.maximum(var, 0.0)) if hetero else np.full(t, np.sqrt(max(var[0], 0.0)))
        sig = s[:, None] * r * s[None, :]
        if order == 0:
            return sig, None, None
        q = len(theta)
        iv = list(range(t)) if hetero else [1]
        ir = list(range(t, q)) if hetero else [0]
        d1 = np.zeros((q, t, t))
        # d s_k / d var_k = 1 / (2 s_k)
        with np.errstate(divide="ignore", invalid="ignore"):
            ds = 1.0 / (2.0 * s)
            d2s = -1.0 / (4.0 * s ** 3)
        dvar = []
        for k in range(nv):
            e = np.zeros(t)
            if hetero:
                e[k] = ds[k]
            else:
                e[:] = ds[0]
            dvar.append(e)
        for k in range(nv):
            e = dvar[k]
            d1[iv[k]] = e[:, None] * r * s[None, :] + s[:, None] * r * e[None, :]
        for a in range(len(rho)):
            d1[ir[a]] = s[:, None] * dr[a] * s[None, :]
        if order == 1:
            return sig, d1, None
        d2 = np.zeros((q, q, t, t))
        for k in range(nv):
            for m in range(nv):
                ek, em = dvar[k], dvar[m]
                block = ek[:, None] * r * em[None, :] + em[:, None] * r * ek[None, :]
                if k == m:
                    f = np.zeros(t)
                    if hetero:
                        f[k] = d2s[k]
                    else:
                        f[:] = d2s[0]
                    block = block + f[:, None] * r * s[None, :] + s[:, None] * r * f[None, :]
                d2[iv[k], iv[m]] = block
            for a in range(len(rho)):
                ek = dvar[k]
                block = ek[:, None] * dr[a] * s[None, :] + s[:, None] * dr[a] * ek[None, :]
                d2[iv[k], ir[a]] = block
                d2[ir[a], iv[k]] = block
        for a in range(len(rho)):
            for b in range(len(rho)):
                d2[ir[a], ir[b]] = s[:, None] * d2r[a, b] * s[None, :]
        return sig, d1, d2

    def _correlation(self, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = self.n_visits
        lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
        na = len(rho)
        d2r = np.zeros((na, na, t, t))
        if self.code == "csh":
            p = rho[0]
            r = np.where(lag == 0, 1.0, p)
            dr = np.array([(lag > 0).astype(float)])
            return r, dr, d2r
        if self.code in ("ar1", "ar1h"):
            p = rho[0]
            r = p ** lag
            with np.errstate(divide="ignore", invalid="ignore"):
                dr = np.where(lag >= 1, lag * p ** np.maximum(lag - 1, 0), 0.0)
                d2r[0, 0] = np.where(lag >= 2, lag * (lag - 1) * p ** np.maximum(lag - 2, 0),
                                     0.0)
            return r, dr[None], d2r
        # toeph: R = I + sum_a rho_a * band_a
        bands = np.array([(lag == k).astype(float) for k in range(1, t)])
        r = np.eye(t) + np.einsum("a,aij->ij", rho, bands)
        return r, bands, d2r

    # -------------------------------------------------------------- starting values and checks

    def start(self, cov: np.ndarray) -> np.ndarray:
        """Starting values from a (pairwise, possibly not positive definite) ``T x T``
        covariance of OLS residuals; correlations are shrunk until ``Sigma`` is positive
        definite."""
        t = self.n_visits
        var = np.clip(np.diag(cov).copy(), 1e-8 * max(1.0, float(np.nanmax(np.diag(cov)))),
                      None)
        sd = np.sqrt(var)
        corr = cov / np.outer(sd, sd)
        corr = np.where(np.isfinite(corr), corr, 0.0)
        lag = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
        off = lag > 0
        mean_corr = float(np.clip(corr[off].mean(), -0.5 / max(t - 1, 1), 0.9)) if t > 1 else 0.0
        lag_corr = np.array([np.clip(corr[lag == k].mean(), -0.9, 0.9) for k in range(1, t)])
        for shrink in (1.0, 0.5, 0.25, 0.0):
            if self.code == "us":
                c = np.where(off, corr * shrink, 1.0)
                theta = self._from_matrix(np.outer(sd, sd) * c)
            elif self.code == "cs":
                v = float(var.mean())
                theta = np.array([mean_corr * shrink * v, (1 - mean_corr * shrink) * v])
            elif self.code == "csh":
                theta = np.r_[var, mean_corr * shrink]
            elif self.code == "ar1":
                theta = np.array([lag_corr[0] * shrink if t > 1 else 0.0, float(var.mean())])
            elif self.code == "ar1h":
                theta = np.r_[var, lag_corr[0] * shrink if t > 1 else 0.0]
            elif self.code == "toep":
                v = float(var.mean())
                theta = np.r_[lag_corr * shrink * v, v]
            else:
                theta = np.r_[var, lag_corr * shrink]
            if self.feasible(theta):
                return theta
        raise AssertionError("unreachable: zero correlations are always feasible")

    def _from_matrix(self, sig: np.ndarray) -> np.ndarray:
        t = self.n_visits
        return np.array([sig[i, j] for i in range(t) for j in range(i + 1)])

    def feasible(self, theta: np.ndarray) -> bool:
        """Whether ``theta`` gives a positive-definite covariance (and valid parameters)."""
        theta = np.asarray(theta, dtype=float)
        if not np.all(np.isfinite(theta)):
            return False
        t = self.n_visits
        if self.code in ("csh", "ar1h", "toeph") and np.any(theta[:t] <= 0):
            return False
        if self.code == "ar1" and (theta[1] <= 0 or abs(theta[0]) >= 1):
            return False
        if self.code in ("csh", "ar1h") and abs(theta[t]) >= 1:
            return False
        try:
            np.linalg.cholesky(self.sigma(theta))
        except np.linalg.LinAlgError:
            return False
        return True


def make_structure(code: str, n_visits: int) -> CovarianceStructure:
    """The structure ``code`` over ``n_visits`` visits (SAS names of its parameters).

    Raises
    ------
    ValueError
        For an unknown code (the caller turns it into a user message).
    """
    t = n_visits
    var = tuple(f"Var({i})" for i in range(1, t + 1))
    if code == "us":
        names = tuple(f"UN({i},{j})" for i in range(1, t + 1) for j in range(1, i + 1))
    elif code == "cs":
        names = ("CS", "Residual")
    elif code == "csh":
        names = (*var, "CSH")
    elif code == "ar1":
        names = ("AR(1)", "Residual")
    elif code == "ar1h":
        names = (*var, "ARH(1)")
    elif code == "toep":
        names = (*(f"TOEP({k})" for k in range(2, t + 1)), "Residual")
    elif code == "toeph":
        names = (*var, *(f"TOEPH({k})" for k in range(1, t)))
    else:
        raise ValueError(f"unknown covariance structure {code!r}; use one of "
                         + ", ".join(STRUCTURES))
    return CovarianceStructure(code, t, names, code in ("us", "cs", "toep"))


@dataclass(frozen=True)
class GroupedStructure:
    """One covariance structure per group (SAS ``REPEATED / GROUP=``, R mmrm
    ``us(visit | group / subject)``): the parameters of group 1, then group 2, ...

    The fit sees ``n_groups x n_visits`` "visits" with a block-diagonal covariance: a subject
    of group ``g`` has its visits in block ``g``, so every pattern of visits lies in one block
    and nothing else in the likelihood changes.
    """

    base: CovarianceStructure
    groups: tuple[str, ...]

    @property
    def code(self) -> str:
        """The base structure's code."""
        return self.base.code

    @property
    def n_visits(self) -> int:
        """Size of the block-diagonal matrix: groups x visits."""
        return self.base.n_visits * len(self.groups)

    @property
    def names(self) -> tuple[str, ...]:
        """SAS's parameter names followed by the group, e.g. ``UN(1,1) TRT``."""
        return tuple(f"{n} {g}" for g in self.groups for n in self.base.names)

    @property
    def linear(self) -> bool:
        """Whether the base structure is linear in its parameters."""
        return self.base.linear

    @property
    def n_params(self) -> int:
        """Number of covariance parameters over all groups."""
        return self.base.n_params * len(self.groups)

    def _blocks(self, theta: np.ndarray) -> list[np.ndarray]:
        q = self.base.n_params
        return [np.asarray(theta[i * q:(i + 1) * q], dtype=float)
                for i in range(len(self.groups))]

    def sigma(self, theta: np.ndarray) -> np.ndarray:
        """The block-diagonal covariance."""
        return self.derivatives(theta, order=0)[0]

    def derivatives(self, theta: np.ndarray, order: int = 2
                    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """As :meth:`CovarianceStructure.derivatives`, block by block."""
        t, q, ng = self.base.n_visits, self.base.n_params, len(self.groups)
        big = t * ng
        sig = np.zeros((big, big))
        d1 = np.zeros((q * ng, big, big)) if order >= 1 else None
        d2 = np.zeros((q * ng, q * ng, big, big)) if order >= 2 else None
        for i, th in enumerate(self._blocks(theta)):
            s, a, b = self.base.derivatives(th, order=order)
            blk = slice(i * t, (i + 1) * t)
            par = slice(i * q, (i + 1) * q)
            sig[blk, blk] = s
            if d1 is not None:
                d1[par, blk, blk] = a
            if d2 is not None:
                d2[par, par, blk, blk] = b
        return sig, d1, d2

    def start(self, cov: np.ndarray) -> np.ndarray:
        """Starting values from the block-diagonal residual covariance, group by group."""
        t = self.base.n_visits
        return np.concatenate([self.base.start(cov[i * t:(i + 1) * t, i * t:(i + 1) * t])
                               for i in range(len(self.groups))])

    def feasible(self, theta: np.ndarray) -> bool:
        """Whether every group's covariance is positive definite."""
        return all(self.base.feasible(th) for th in self._blocks(theta))

"""``P(max_j |T_j| >= c)`` for correlated t (or normal) statistics, by randomised quasi-Monte Carlo.

The integration of Genz and Bretz (2002), used by :mod:`cohort.analysis.multiplicity` for
Dunnett's single-step test and its simultaneous intervals; the method and its accuracy are
described there.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_SEED", "MaxAbsT", "max_abs_exceedance"]

DEFAULT_SEED = 20150901


class MaxAbsT:
    """``P(max_j |T_j| >= c)`` by randomised quasi-Monte Carlo, with reusable points.

    The Sobol points (``shifts`` independent Owen scramblings from ``random_state``) and the
    chi quantiles of the t's denominator are computed once per point-set size and reused for
    every threshold ``c`` (common random numbers: the estimate is then a smooth, monotone
    function of ``c``, which the critical-value search needs).
    """

    def __init__(self, corr: np.ndarray, df: float | None, *, random_state: int,
                 shifts: int = 8, max_log2: int = 16) -> None:
        self.chol = np.linalg.cholesky(np.asarray(corr, dtype=float))
        self.df = df
        self.k = self.chol.shape[0]
        self.dim = max(self.k - 1 + (df is not None), 1)
        self.random_state = random_state
        self.shifts = shifts
        self.max_log2 = max_log2
        self._sets: dict[str, list[np.ndarray]] = {}
        self._start = 11

    def _points(self, log2n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The first ``2**log2n`` points of each scrambled Sobol sequence (extended on demand:
        a Sobol sequence's first 2^m points are the same whatever its final length)."""
        from scipy import special
        from scipy.stats import qmc

        if not self._sets:
            rng = np.random.default_rng(self.random_state)
            self._engines = [qmc.Sobol(self.dim, scramble=True, seed=rng)
                             for _ in range(self.shifts)]
            self._sets = {"scale": [np.zeros(0)] * self.shifts,
                          "cols": [np.zeros((0, self.k - 1))] * self.shifts}
        n = 2 ** log2n
        have = len(self._sets["scale"][0])
        if n > have:
            for j, engine in enumerate(self._engines):
                w = engine.random(n - have)
                if self.df is None:
                    scale = np.ones(len(w))
                    cols = w
                else:
                    # T = Z / S with S = sqrt(chi2_df / df), integrated by its quantile
                    u = np.clip(w[:, 0], 1e-300, 1 - 1e-16)
                    scale = np.sqrt(2.0 * special.gammaincinv(self.df / 2.0, u) / self.df)
                    cols = w[:, 1:]
                self._sets["scale"][j] = np.concatenate([self._sets["scale"][j], scale])
                self._sets["cols"][j] = np.concatenate([self._sets["cols"][j], cols])
        return [(sc[:n], co[:n]) for sc, co in zip(self._sets["scale"], self._sets["cols"],
                                                    strict=True)]

    def _integrand(self, c: float, scale: np.ndarray, cols: np.ndarray) -> np.ndarray:
        from scipy import special

        chol, k = self.chol, self.k
        b = c * scale
        y = np.zeros((len(scale), k))
        log_inside = np.zeros(len(scale))
        for i in range(k):
            shift = y[:, :i] @ chol[i, :i] if i else 0.0
            lo = (-b - shift) / chol[i, i]
            hi = (b - shift) / chol[i, i]
            d = special.ndtr(lo)
            above = special.ndtr(-hi)  # 1 - ndtr(hi), accurate when small
            # probability of leaving the band in this coordinate, accurate when small
            log_inside += np.log1p(-np.minimum(d + above, 1.0))
            if i < k - 1:
                e = special.ndtr(hi)
                p = np.clip(d + cols[:, i] * (e - d), 1e-300, 1 - 1e-16)
                y[:, i] = special.ndtri(p)
        return -np.expm1(log_inside)

    def estimate(self, c: float, log2n: int) -> tuple[float, float]:
        """Estimate and three standard errors at a fixed point-set size."""
        means = np.array([self._integrand(c, scale, cols).mean()
                          for scale, cols in self._points(log2n)])
        return float(means.mean()), float(3.0 * means.std(ddof=1) / np.sqrt(self.shifts))

    def __call__(self, c: float, *, abseps: float, releps: float) -> tuple[float, float, int]:
        """Estimate, error bound and the point-set size (log2) that reached the target.

        The search starts at the size the previous threshold needed (the thresholds of one
        family need similar sizes), so a family costs little more than its hardest member.
        """
        if not np.isfinite(c):
            return (0.0, 0.0, 0) if c > 0 else (1.0, 0.0, 0)
        if c <= 0:
            return 1.0, 0.0, 0
        log2n = self._start
        while True:
            value, error = self.estimate(c, log2n)
            if error <= min(abseps, max(releps * value, 1e-12)) or log2n >= self.max_log2:
                self._start = log2n
                return value, error, log2n
            log2n += 1


def max_abs_exceedance(c: float, corr: np.ndarray, df: float | None, *,
                       random_state: int = DEFAULT_SEED, abseps: float = 1e-5,
                       releps: float = 1e-2) -> tuple[float, float]:
    """``P(max_j |T_j| >= c)`` for ``T`` multivariate t (normal when ``df`` is None).

    Parameters
    ----------
    c : float
        The threshold (e.g. an observed |t|).
    corr : ndarray, shape (k, k)
        Correlation matrix of ``T`` (positive definite).
    df : float or None
        Degrees of freedom; None for the multivariate normal.
    random_state : int, keyword-only
        Seed of the Sobol scramblings (fixed default: results are reproducible).
    abseps, releps : float, keyword-only
        Stop when three standard errors are below ``abseps`` and below ``releps`` times the
        value (small probabilities keep their relative accuracy).

    Returns
    -------
    (probability, error) : (float, float)
        The estimate and three standard errors of it.
    """
    corr = np.asarray(corr, dtype=float)
    if corr.shape[0] == 1:
        from scipy import stats

        p = 2 * (stats.norm.sf(c) if df is None else stats.t.sf(c, df))
        return float(p), 0.0
    value, error, _ = MaxAbsT(corr, df, random_state=random_state)(
        c, abseps=abseps, releps=releps)
    return value, error

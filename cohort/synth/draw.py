"""Drawing from spec distributions, exact count allocation and seeded sub-generators.

Every random number comes from :func:`rng_for`, a generator derived from the run's seed and a
stable name (``"baseline", "HBA1C"``), so changing one part of a spec does not reshuffle the
draws of the others, and the same seed always gives the same cohort.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping

import numpy as np
from scipy import special

from cohort.spec.blocks import Constant, LogUniform, MedianIQR, Normal, Quantiles, Uniform

__all__ = [
    "allocate",
    "normal_params",
    "pick_by_score",
    "rng_for",
    "sample",
    "scale_count",
]

_IQR_Z = 0.6744897501960817  # standard-normal quartile


def rng_for(seed: int, *names: str | int) -> np.random.Generator:
    """A generator for one named part of a run: same seed and names, same numbers."""
    keys = [int(seed)] + [zlib.crc32(str(n).encode("utf-8")) for n in names]
    return np.random.default_rng(keys)


def scale_count(count: int, n_published: int, n: int) -> int:
    """A published count out of ``n_published`` scaled to ``n`` (rounded half up)."""
    if n == n_published:
        return int(count)
    return int(min(n, max(0, math.floor(count * n / n_published + 0.5))))


def allocate(weights: Mapping[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` labels in random order with counts proportional to ``weights`` (exact).

    Counts use the largest-remainder method, so published counts at the published n come back
    exactly, and proportions are as close as whole numbers allow.
    """
    labels = list(weights)
    w = np.array([float(weights[k]) for k in labels], dtype=float)
    if n == 0:
        return np.array([], dtype=object)
    if w.sum() <= 0:
        raise ValueError("allocation weights sum to 0")
    raw = w / w.sum() * n
    counts = np.floor(raw).astype(int)
    short = n - counts.sum()
    if short:
        # ties are broken by order so the allocation is deterministic
        order = np.argsort(-(raw - counts), kind="stable")
        counts[order[:short]] += 1
    codes = np.repeat(np.arange(len(labels)), counts)
    return np.array(labels, dtype=object)[codes[rng.permutation(n)]]


def normal_params(dist: Normal, n_published: int | None) -> tuple[float, float]:
    """(mean, SD) of a normal spec; an SEM becomes an SD with the n it was computed on
    (``sem_n``, else the group's published n)."""
    if dist.sd is not None:
        return float(dist.mean), float(dist.sd)
    n = dist.sem_n if dist.sem_n is not None else n_published
    assert dist.sem is not None and n is not None
    return float(dist.mean), float(dist.sem) * math.sqrt(n)


def _quantile(dist: object, u: np.ndarray) -> np.ndarray:
    if isinstance(dist, Constant):
        return np.full(u.shape, float(dist.value))
    if isinstance(dist, LogUniform):
        lo, hi = math.log(float(dist.low)), math.log(float(dist.high))
        return np.exp(lo + u * (hi - lo))
    if isinstance(dist, Uniform):
        lo, hi = float(dist.low), float(dist.high)
        return lo + u * (hi - lo)
    if isinstance(dist, Quantiles):
        probs = sorted(dist.knots)
        vals = [float(dist.knots[p]) for p in probs]
        return np.interp(u, probs, vals)
    if isinstance(dist, MedianIQR):
        med, q1, q3 = float(dist.median), float(dist.q1), float(dist.q3)
        z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
        skew = abs((q3 - med) - (med - q1)) / max(q3 - q1, 1e-12)
        if q1 > 0 and skew > 0.1:
            sigma = (math.log(q3) - math.log(q1)) / (2 * _IQR_Z)
            return np.exp(math.log(med) + sigma * z)
        return med + (q3 - q1) / (2 * _IQR_Z) * z
    raise TypeError(f"not a quantile distribution: {type(dist).__name__}")


def sample(dist: object, z: np.ndarray, *, n_published: int | None = None,
           exact: bool = False) -> np.ndarray:
    """Values of ``dist`` driven by standard-normal scores ``z`` (a Gaussian copula).

    Parameters
    ----------
    dist : distribution model
        A spec distribution.
    z : ndarray
        Standard-normal scores, one per value; they carry the correlations between variables.
    n_published : int, optional
        The group's published n (to turn an SEM into an SD).
    exact : bool
        For non-normal distributions: put the values at evenly spaced quantiles (by the rank
        of ``z``), so a sample's median and range are those of the distribution. A
        ``quantiles`` distribution then reproduces its knots at 0, 0.5 and 1 exactly (odd n).
    """
    z = np.asarray(z, dtype=float)
    n = z.size
    if isinstance(dist, Normal):
        mean, sd = normal_params(dist, n_published)
        return mean + sd * z
    if exact and n > 0 and not isinstance(dist, Constant):
        if isinstance(dist, Quantiles):
            grid = np.linspace(0, 1, n) if n > 1 else np.array([0.5])
        else:
            grid = (np.arange(n) + 0.5) / n
        ranks = np.empty(n, dtype=int)
        ranks[np.argsort(z, kind="stable")] = np.arange(n)
        return _quantile(dist, grid[ranks])
    return _quantile(dist, special.ndtr(z))


def pick_by_score(score: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` highest scores."""
    mask = np.zeros(score.size, dtype=bool)
    if k > 0:
        mask[np.argsort(-score, kind="stable")[:k]] = True
    return mask


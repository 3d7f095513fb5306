"""Exact moment matching under bounds.

Given a random draw, :func:`match_moments` returns the nearest-in-shape vector whose sample
mean and SD (n - 1) are exactly the targets, optionally with an exact least-squares slope on a
covariate (so an ANCOVA recovers a planned adjusted difference), while every value stays
inside its own bounds. Per-value bounds carry truncation (entry criteria, physiology) and
count constraints (exactly k values below a cut), so bounded variables still match.

The algorithm is an active set: standardise the draw onto the constraint set; values that
leave their bounds are fixed just inside them; the free values are re-solved so the linear
constraints and the sum of squares still hold; repeat (at most n rounds).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MomentMatchError", "clip_inside", "match_moments", "round_keeping_mean",
           "round_keeping_moments"]


class MomentMatchError(ValueError):
    """The targets cannot be met inside the bounds (or n is too small)."""


def clip_inside(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, inset: np.ndarray,
                scale: float) -> np.ndarray:
    """Clip ``x`` into ``[lower, upper]``, placing clipped values a little inside the bound.

    A clipped value lands ``inset * min(scale, width / 2)`` inside its bound (``inset`` in
    [0, 1)), so truncated values do not pile up on the bound itself.
    """
    width = np.where(np.isfinite(upper - lower), upper - lower, np.inf)
    step = inset * np.minimum(scale, width / 2)
    out = np.where(x < lower, lower + step, x)
    out = np.where(out > upper, upper - step, out)
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum's own loop: BLAS dot products on long vectors stall when the machine is busy
    return float(np.einsum("i,i->", a, b))


class _Columns:
    """The constraint design (a column of ones, maybe a centred covariate), as 1-D columns."""

    def __init__(self, cols: list[np.ndarray]) -> None:
        self.cols = cols

    @property
    def p(self) -> int:
        return len(self.cols)

    def t_dot(self, v: np.ndarray) -> np.ndarray:
        """A^T v."""
        return np.array([_dot(c, v) for c in self.cols])

    def times(self, coef: np.ndarray) -> np.ndarray:
        """A coef."""
        out = self.cols[0] * coef[0]
        for c, k in zip(self.cols[1:], coef[1:], strict=True):
            out = out + c * k
        return out

    def gram(self) -> np.ndarray:
        return np.array([[_dot(a, b) for b in self.cols] for a in self.cols])

    def rows(self, mask: np.ndarray) -> _Columns:
        return _Columns([c[mask] for c in self.cols])


def _standardise(x: np.ndarray, a: _Columns, gram: np.ndarray, y_a: np.ndarray,
                 s_r: float) -> np.ndarray:
    z = x - a.times(np.linalg.solve(gram, a.t_dot(x)))
    nz = float(np.sqrt(_dot(z, z)))
    return y_a + (np.sqrt(s_r) * z / nz if nz > 0 else 0.0)


def _alternate(x: np.ndarray, a: _Columns, gram: np.ndarray, y_a: np.ndarray, s_r: float,
               lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Alternate between the moment constraints and the bounds (a feasible starting shape)."""
    y = x
    for _ in range(500 if x.size <= 10_000 else 100):
        y = np.clip(_standardise(y, a, gram, y_a, s_r), lo, hi)
    return y


def match_moments(x: np.ndarray, mean: float, sd: float, *,
                  lower: np.ndarray | float | None = None,
                  upper: np.ndarray | float | None = None,
                  covariate: np.ndarray | None = None, slope: float = 0.0,
                  residual: bool = False, inset: np.ndarray | None = None) -> np.ndarray:
    """Values shaped like ``x`` with exactly the given mean and SD, inside bounds.

    Parameters
    ----------
    x : ndarray
        The draw (n values); its pattern (ranks, correlations) is kept as far as possible.
    mean, sd : float
        Target sample mean and SD (ddof=1), in the unit of ``x``.
    lower, upper : float or ndarray, optional
        Inclusive bounds, scalar or one per value.
    covariate : ndarray, optional
        With ``covariate``, the least-squares slope of the result on it is exactly ``slope``.
    slope : float
        Target slope (unit of x per unit of the covariate).
    residual : bool
        If True, ``sd`` is the SD of the residuals around the fitted line (n - 2 degrees of
        freedom); otherwise it is the SD of the values themselves.
    inset : ndarray, optional
        Uniform numbers in [0, 1), one per value, placing clipped values inside their bounds.

    Returns
    -------
    ndarray
        The matched values.

    Raises
    ------
    MomentMatchError
        If n is too small for the constraints or the targets cannot be met inside the bounds.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    cols = [np.ones(n)]
    targets = [n * mean]
    ss = 0.0
    if covariate is not None:
        c = np.asarray(covariate, dtype=float)
        cc = c - c.mean()
        ss = _dot(cc, cc)
        if ss > 0:
            cols.append(cc)
            targets.append(slope * ss)
        elif slope != 0:
            raise MomentMatchError("the covariate is constant: no slope can be imposed")
    a = _Columns(cols)
    a_vec = np.asarray(targets)
    p = a.p
    if n <= p:
        raise MomentMatchError(f"n = {n} is too small to match {p + 1} moments")
    if sd < 0:
        raise MomentMatchError(f"sd must be >= 0, got {sd}")
    if residual:
        s_r = (n - p) * sd ** 2
    else:
        s_r = (n - 1) * sd ** 2 - (slope ** 2 * ss if p == 2 else 0.0)
        if s_r < -1e-12:
            raise MomentMatchError(f"sd {sd} is below what the slope {slope} alone implies")
        s_r = max(s_r, 0.0)
    lo = np.broadcast_to(-np.inf if lower is None else np.asarray(lower, float), (n,)).copy()
    hi = np.broadcast_to(np.inf if upper is None else np.asarray(upper, float), (n,)).copy()
    if np.any(lo > hi):
        raise MomentMatchError("a lower bound is above its upper bound")
    ins = np.zeros(n) if inset is None else np.asarray(inset, float)
    gram = a.gram()
    y_a = a.times(np.linalg.solve(gram, a_vec))
    try:
        return _active_set(x, a, a_vec, y_a, s_r, lo, hi, ins, sd)
    except MomentMatchError:
        # targets near the edge of what the bounds allow: start again from a shape that
        # alternating projections brought close to feasible, holding values on the bounds
        start = _alternate(x, a, gram, y_a, s_r, lo, hi)
        return _active_set(start, a, a_vec, y_a, s_r, lo, hi, np.zeros(n), sd)


def _active_set(x: np.ndarray, a: _Columns, a_vec: np.ndarray, y_a: np.ndarray, s_r: float,
                lo: np.ndarray, hi: np.ndarray, ins: np.ndarray, sd: float) -> np.ndarray:
    n, p = x.size, a.p
    total = _dot(y_a, y_a) + s_r  # ||y||^2 once the linear constraints hold
    fixed = np.zeros(n, dtype=bool)
    vals = np.zeros(n)
    scale = max(sd, 1e-9) * 0.25
    # sufficient statistics of the free values, updated as values get fixed, so that each
    # round costs one pass over the data
    gram = a.gram()
    ax = a.t_dot(x)
    xx = _dot(x, x)
    rhs = a_vec.astype(float).copy()
    vv = 0.0
    n_free = n
    for _ in range(n + 1):
        if n_free <= p:
            raise MomentMatchError("too many values are held at their bounds to match the "
                                   "moments")
        try:
            c0 = np.linalg.solve(gram, rhs)  # min-norm solution of the linear constraints
            cz = np.linalg.solve(gram, ax)  # projection of the free draw on the constraints
        except np.linalg.LinAlgError:
            raise MomentMatchError("the free values cannot satisfy the constraints") from None
        t2 = total - vv - float(c0 @ gram @ c0)
        if t2 < -1e-9 * max(total, 1.0):
            raise MomentMatchError("the targets cannot be met inside the bounds")
        zz = xx - float(ax @ cz)
        if zz <= 1e-12 * max(xx, 1.0):
            if t2 > 1e-12 * max(total, 1.0):
                raise MomentMatchError("the draw has no spread to rescale")
            k = 0.0
        else:
            k = float(np.sqrt(max(t2, 0.0) / zz))
        # free values: y0 + k z = A (c0 - k cz) + k x (in place: this loop is the hot path)
        out = a.times(c0 - k * cz)
        out += k * x
        bad = out < lo
        bad |= out > hi
        bad &= ~fixed
        if not bad.any():
            out[fixed] = vals[fixed]
            return out
        vals[bad] = clip_inside(out[bad], lo[bad], hi[bad], ins[bad], scale)
        sub = a.rows(bad)
        gram -= sub.gram()
        ax -= sub.t_dot(x[bad])
        xx -= _dot(x[bad], x[bad])
        rhs -= sub.t_dot(vals[bad])
        vv += _dot(vals[bad], vals[bad])
        n_free -= int(bad.sum())
        fixed |= bad
    raise MomentMatchError("moment matching did not converge")  # pragma: no cover


def round_keeping_mean(x: np.ndarray, decimals: int, lower: np.ndarray | float,
                       upper: np.ndarray | float, mean: float | None = None) -> np.ndarray:
    """Round to ``decimals`` (inside the bounds) and, given ``mean``, keep the mean.

    Rounding n values shifts their mean by up to half a step; here the values whose rounding
    went furthest the wrong way are moved one step back until the rounded mean is as close to
    ``mean`` as whole steps allow (within ``step / (2 n)``), never across a bound.
    """
    x = np.asarray(x, dtype=float)
    step = 10.0 ** -decimals
    lo = np.broadcast_to(np.asarray(lower, float), x.shape)
    hi = np.broadcast_to(np.asarray(upper, float), x.shape)
    r = np.round(x, decimals)
    with np.errstate(invalid="ignore"):
        r = np.where(r < lo - 1e-9, np.round(np.ceil(lo / step - 1e-9) * step, decimals), r)
        r = np.where(r > hi + 1e-9, np.round(np.floor(hi / step + 1e-9) * step, decimals), r)
    if mean is None or x.size == 0:
        return r
    k = int(np.round((mean * x.size - r.sum()) / step))
    if k == 0:
        return r
    room = np.flatnonzero(r + step <= hi + 1e-9) if k > 0 else np.flatnonzero(
        r - step >= lo - 1e-9)
    key = -(x[room] - r[room]) if k > 0 else x[room] - r[room]
    m = min(abs(k), room.size)
    if m == 0:
        return r
    # the values whose rounding went furthest the wrong way (ties by position)
    pick = room[np.argpartition(key, m - 1)[:m]] if m < room.size else room
    r[pick] += step if k > 0 else -step
    return np.round(r, decimals)


ROUNDING_MAX_N = 5000
"""Above this n the rounding error of an SD is negligible (Sheppard: step^2 / 12 in variance)."""


def round_keeping_moments(x: np.ndarray, decimals: int, lower: np.ndarray | float,
                          upper: np.ndarray | float, mean: float, sd: float) -> np.ndarray:
    """Round to ``decimals`` keeping the mean (see :func:`round_keeping_mean`) and the SD.

    After the mean is restored, pairs of values move one step in opposite directions (which
    keeps the sum) while that brings the SD closer to ``sd``; each move is the one that
    brings it closest.
    """
    r = round_keeping_mean(x, decimals, lower, upper, mean)
    n = r.size
    if n < 3 or n > ROUNDING_MAX_N:
        return r
    x = np.asarray(x, dtype=float)
    step = 10.0 ** -decimals
    lo = np.broadcast_to(np.asarray(lower, float), x.shape)
    hi = np.broadcast_to(np.asarray(upper, float), x.shape)
    target = (n - 1) * sd ** 2
    centre = r.mean()
    for _ in range(n):
        d = r - centre
        squares = float(d @ d)
        gap = target - squares
        ups = np.flatnonzero(r + step <= hi + 1e-9)
        downs = np.flatnonzero(r - step >= lo - 1e-9)
        if ups.size == 0 or downs.size == 0:
            break
        # moving r_i up and r_j down one step changes the sum of squares by
        # 2 step (d_i - d_j) + 2 step^2: pick the pair that lands closest to the target
        order = downs[np.argsort(d[downs], kind="stable")]
        want = d[ups] + step - gap / (2 * step)
        pos = np.clip(np.searchsorted(d[order], want), 0, order.size - 1)
        # the two candidates either side of the target sum of squares are the two either
        # side of the target SD too; between them, the SD decides (the square root is not
        # symmetric: the closer sum of squares can be the farther SD)
        best_miss, best = abs(np.sqrt(squares / (n - 1)) - sd), None
        for shift in (0, -1):
            cand = order[np.clip(pos + shift, 0, order.size - 1)]
            delta = 2 * step * (d[ups] - d[cand]) + 2 * step ** 2
            miss = np.abs(np.sqrt(np.maximum(squares + delta, 0.0) / (n - 1)) - sd)
            miss[ups == cand] = np.inf
            k = int(np.argmin(miss))
            if miss[k] < best_miss - 1e-12:
                best_miss, best = float(miss[k]), (ups[k], cand[k])
        if best is None:
            break
        r[best[0]] += step
        r[best[1]] -= step
    return np.round(r, decimals)

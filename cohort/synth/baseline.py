"""Baseline generation: categories, continuous variables (copula, bounds, exact moments),
derived variables and treatment doses (internal step of :mod:`cohort.synth.generate`)."""

from __future__ import annotations

import numpy as np

from cohort.errors import SpecError
from cohort.spec.blocks import Bounds, Normal
from cohort.spec.model import Treatment, Variable
from cohort.spec.vocabulary import DEFAULT_BOUNDS
from cohort.synth.draw import allocate, normal_params, sample, scale_count
from cohort.synth.moments import (
    MomentMatchError,
    clip_inside,
    match_moments,
    round_keeping_mean,
    round_keeping_moments,
)
from cohort.synth.state import SynthState

__all__ = ["generate_baseline", "generate_treatment"]

MIN_MATCH_N = 3
"""Groups smaller than this are drawn without moment matching."""

_REPAIR = {"age_at_diagnosis": ("age_years", "diabetes_duration_years"),
           "duration": ("age_years", "age_at_diagnosis_years")}
"""Derived ages out of bounds: (source variable, drawn variable adjusted to keep consistency)."""


def _bounds_for(st: SynthState, name: str, var: Variable,
                idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo = np.full(idx.size, DEFAULT_BOUNDS.get(name, (-np.inf, np.inf))[0])
    hi = np.full(idx.size, DEFAULT_BOUNDS.get(name, (-np.inf, np.inf))[1])
    b = var.bounds
    if isinstance(b, Bounds):
        if b.low is not None:
            lo[:] = np.maximum(lo, float(b.low))
        if b.high is not None:
            hi[:] = np.minimum(hi, float(b.high))
    elif isinstance(b, dict):
        for key, sub in st.groups(b).items():
            member = np.zeros(st.n, dtype=bool)
            member[sub] = True
            pos = member[idx]
            bb = b[key]
            if bb.low is not None:
                lo[pos] = np.maximum(lo[pos], float(bb.low))
            if bb.high is not None:
                hi[pos] = np.minimum(hi[pos], float(bb.high))
    return lo, hi


def _categories(st: SynthState) -> None:
    for name, cat in st.spec.baseline.categories.items():
        out = np.full(st.n, None, dtype=object)
        table = cat.counts if cat.counts is not None else cat.proportions
        assert table is not None
        for key, idx in st.groups(table).items():
            weights = {lvl: float(table[key].get(lvl, 0)) for lvl in cat.levels}
            weights = {k: v for k, v in weights.items() if v > 0}
            if not weights:
                raise SpecError(f"baseline.categories.{name}.{key}: every level has weight 0")
            out[idx] = allocate(weights, idx.size, st.rng("category", name, key))
        declared = st.spec.extras.subjects.get(name)
        # a declared subject variable holds typed values, as the loaded cohort will
        if declared is not None and declared.type == "boolean":
            out = out == "true"
        elif declared is not None and declared.type in ("integer", "number"):
            out = out.astype(float)
        st.cols[name] = out


def _derived_range(st: SynthState, target: str) -> tuple[np.ndarray, np.ndarray, float] | None:
    var = st.spec.baseline.variables.get(target)
    if var is None or var.derive is None or var.bounds is None:
        return None
    every = np.arange(st.n)
    lo, hi = _bounds_for(st, target, var, every)
    return lo, hi, var.tolerance


def _implied_bounds(st: SynthState, name: str, lo: np.ndarray, hi: np.ndarray) -> None:
    """Narrow the bounds of a drawn variable so a variable derived from it (and from one drawn
    earlier) can respect its own bounds: weight from the BMI range given height, diabetes
    duration from the range of age at diagnosis given age, and so on."""
    c = st.cols
    cand: list[tuple[np.ndarray, np.ndarray]] = []
    bmi = _derived_range(st, "bmi_kg_m2")
    if bmi is not None:
        b_lo, b_hi, tol = bmi
        if name == "weight_kg" and "height_cm" in c:
            h2 = (c["height_cm"] / 100) ** 2
            cand.append(((b_lo - tol) * h2, (b_hi + tol) * h2))
        if name == "height_cm" and "weight_kg" in c:
            w = c["weight_kg"]
            with np.errstate(divide="ignore", invalid="ignore"):
                cand.append((100 * np.sqrt(w / (b_hi + tol)), 100 * np.sqrt(w / (b_lo - tol))))
    weight = _derived_range(st, "weight_kg")
    if weight is not None and name == "bmi_kg_m2" and "height_cm" in c:
        h2 = (c["height_cm"] / 100) ** 2
        cand.append((weight[0] / h2, weight[1] / h2))
    pairs = {"age_at_diagnosis_years": ("age_years", "diabetes_duration_years", -1),
             "diabetes_duration_years": ("age_years", "age_at_diagnosis_years", -1),
             "age_years": ("age_at_diagnosis_years", "diabetes_duration_years", 1)}
    for target, (a, b, sign) in pairs.items():
        rng_ = _derived_range(st, target)
        if rng_ is None:
            continue
        t_lo, t_hi, _tol = rng_
        if sign < 0:  # target = a - b
            if name == b and a in c:
                cand.append((c[a] - t_hi, c[a] - t_lo))
            if name == a and b in c:
                cand.append((c[b] + t_lo, c[b] + t_hi))
        else:  # target = a + b
            for x, y in ((a, b), (b, a)):
                if name == x and y in c:
                    cand.append((t_lo - c[y], t_hi - c[y]))
    for c_lo, c_hi in cand:
        new_lo = np.fmax(lo, c_lo)
        new_hi = np.fmin(hi, c_hi)
        ok = ~(new_lo > new_hi)
        lo[ok], hi[ok] = new_lo[ok], new_hi[ok]


def _correlated_scores(st: SynthState, drawn: list[str]) -> np.ndarray:
    k = len(drawn)
    z = np.zeros((st.n, k))
    pos = {v: i for i, v in enumerate(drawn)}
    for cell in st.cells:
        corr = np.eye(k)
        for c in st.spec.baseline.correlations:
            key = st.resolve(cell, c.rho)
            if key is None:
                continue
            i, j = pos[c.between[0]], pos[c.between[1]]
            corr[i, j] = corr[j, i] = float(c.rho[key])
        try:
            chol = np.linalg.cholesky(corr)
        except np.linalg.LinAlgError:
            raise SpecError(f"baseline.correlations: the correlations for {cell.key!r} do not "
                            "form a valid correlation matrix (not positive definite)") from None
        names = ("baseline-z", cell.key) + ((st.attempt,) if st.attempt else ())
        draws = st.rng(*names).standard_normal((cell.idx.size, k))
        if st.exact and cell.idx.size > k + 2:
            draws = _whiten(draws)
        z[cell.idx] = np.einsum("ij,kj->ik", draws, chol)  # draws @ chol.T without BLAS
    return z


def _whiten(draws: np.ndarray) -> np.ndarray:
    """Make the sample correlation of the columns exactly the identity (so the target
    correlations hold in the sample, not only in expectation)."""
    centred = draws - draws.mean(axis=0)
    cov = np.einsum("ij,ik->jk", centred, centred) / (draws.shape[0] - 1)
    try:
        inv = np.linalg.inv(np.linalg.cholesky(cov))
    except np.linalg.LinAlgError:
        return draws
    return np.einsum("ij,kj->ik", centred, inv)


def _target_moments(st: SynthState, dist: object, key: str) -> tuple[float, float] | None:
    if isinstance(dist, Normal):
        return normal_params(dist, st.published_n(key))
    return None


def _fit(st: SynthState, name: str, x: np.ndarray, moments: tuple[float, float] | None,
         lo: np.ndarray, hi: np.ndarray, inset: np.ndarray, where: str) -> np.ndarray:
    """Match moments inside bounds where possible, otherwise clip into the bounds."""
    if moments is not None and st.exact and x.size >= MIN_MATCH_N:
        try:
            return match_moments(x, moments[0], moments[1], lower=lo, upper=hi, inset=inset)
        except MomentMatchError as exc:
            st.match_failures += 1
            st.note(f"{name} ({where}): exact mean/SD not reachable at n={x.size} ({exc}); "
                    "values drawn and kept inside bounds instead")
    scale = moments[1] if moments is not None else float(np.nanstd(x) or 1.0)
    return clip_inside(x, lo, hi, inset, 0.25 * scale)


def _drawn_variable(st: SynthState, name: str, var: Variable, z: np.ndarray) -> None:
    out = np.full(st.n, np.nan)
    applies = st.mask(var.among)
    step = 10.0 ** -var.decimals
    groups = {k: idx[applies[idx]] for k, idx in st.groups(var.dist).items()}
    x0 = np.full(st.n, np.nan)
    for key, idx in groups.items():
        x0[idx] = sample(var.dist[key], z[idx], n_published=st.published_n(key),
                         exact=st.exact)
    lo_all = np.full(st.n, -np.inf)
    hi_all = np.full(st.n, np.inf)
    every = np.flatnonzero(applies)
    lo_all[every], hi_all[every] = _bounds_for(st, name, var, every)
    _implied_bounds(st, name, lo_all, hi_all)
    if var.count_below is not None:
        thr = var.count_below.threshold
        for key, idx in st.groups(var.count_below.counts).items():
            idx = idx[applies[idx]]
            k = scale_count(int(var.count_below.counts[key]), st.published_n(key), idx.size)
            k = min(k, idx.size)
            order = idx[np.argsort(x0[idx], kind="stable")]
            below, above = order[:k], order[k:]
            hi_all[below] = np.minimum(hi_all[below], thr - step)
            lo_all[above] = np.maximum(lo_all[above], thr)
            bad = below[lo_all[below] > hi_all[below]]
            if bad.size:
                raise SpecError(f"baseline.variables.{name}.count_below: subjects of {key!r} "
                                f"below {thr} conflict with the bounds")
    rng = st.rng("baseline-inset", name)
    inset = rng.uniform(0.05, 0.95, st.n)
    for key, idx in groups.items():
        if idx.size == 0:
            continue
        moments = _target_moments(st, var.dist[key], key) if var.exact else None
        fitted = _fit(st, name, x0[idx], moments, lo_all[idx], hi_all[idx], inset[idx], key)
        if moments is not None and st.exact:
            out[idx] = round_keeping_moments(fitted, var.decimals, lo_all[idx], hi_all[idx],
                                             *moments)
        else:
            out[idx] = round_keeping_mean(fitted, var.decimals, lo_all[idx], hi_all[idx])
    st.cols[name] = out


def _formula(st: SynthState, formula: str) -> np.ndarray:
    c = st.cols
    if formula == "bmi":
        return c["weight_kg"] / (c["height_cm"] / 100) ** 2
    if formula == "weight":
        return c["bmi_kg_m2"] * (c["height_cm"] / 100) ** 2
    if formula == "age":
        return c["age_at_diagnosis_years"] + c["diabetes_duration_years"]
    if formula == "age_at_diagnosis":
        return c["age_years"] - c["diabetes_duration_years"]
    if formula == "duration":
        return c["age_years"] - c["age_at_diagnosis_years"]
    raise AssertionError(formula)  # pragma: no cover (validated by the spec)


def _derived_variable(st: SynthState, name: str, var: Variable) -> None:
    assert var.derive is not None
    f = _formula(st, var.derive)
    tol = var.tolerance
    ok = ~np.isnan(f)
    lo_all = np.full(st.n, -np.inf)
    hi_all = np.full(st.n, np.inf)
    every = np.flatnonzero(ok)
    lo_all[every], hi_all[every] = _bounds_for(st, name, var, every)
    outside = ok & ((f < lo_all) | (f > hi_all))
    if outside.any() and var.derive in _REPAIR:
        # an age at diagnosis below its bound (a long duration in a young subject) is
        # repaired by shortening the duration, so the three ages stay consistent
        src, other = _REPAIR[var.derive]
        f = np.clip(f, lo_all, hi_all)
        fixed = np.round(st.cols[src] - f, st.spec.baseline.variables[other].decimals)
        st.cols[other] = np.where(outside, fixed, st.cols[other])
        f = _formula(st, var.derive)
        st.note(f"{name}: {int(outside.sum())} subject(s) fell outside the bounds; their "
                f"{other} was adjusted to keep the ages consistent")
    out = f.copy()
    if var.dist and tol > 0:
        rng = st.rng("derived", name)
        noise = rng.uniform(-0.5, 0.5, st.n) * tol
        inset = rng.uniform(0.05, 0.95, st.n)
        for key, idx in st.groups(var.dist).items():
            idx = idx[ok[idx]]
            if idx.size == 0:
                continue
            lo = np.maximum(f[idx] - tol, lo_all[idx])
            hi = np.minimum(f[idx] + tol, hi_all[idx])
            clash = lo > hi
            if clash.any():
                # consistency with the formula wins over the variable's own bounds
                lo[clash], hi[clash] = f[idx][clash] - tol, f[idx][clash] + tol
                st.note(f"{name} ({key}): {int(clash.sum())} value(s) of the formula fall "
                        "outside the bounds; they keep the formula value")
            moments = _target_moments(st, var.dist[key], key) if var.exact else None
            if moments is None or idx.size < MIN_MATCH_N:
                out[idx] = f[idx]
                continue
            try:
                fitted = match_moments(f[idx] + noise[idx], moments[0], moments[1],
                                       lower=lo, upper=hi, inset=inset[idx])
                # rounding must keep each value within the tolerance of its formula
                step = 10.0 ** -var.decimals
                out[idx] = round_keeping_moments(fitted, var.decimals, f[idx] - tol + step / 2,
                                                 f[idx] + tol - step / 2, *moments)
            except MomentMatchError as exc:
                st.match_failures += 1
                st.note(f"{name} ({key}): published mean/SD not reachable within "
                        f"{tol} of the formula at n={idx.size} ({exc}); the formula is used")
                out[idx] = f[idx]
    # rounding must not push a derived value further than the contract allows
    st.cols[name] = np.round(out, var.decimals)


MAX_ATTEMPTS_SMALL = 25
"""Redraws of the baseline scores when a group's published moments cannot be met (small n)."""
SMALL_N = 5000


def generate_baseline(st: SynthState) -> None:
    """Categories, drawn and derived continuous variables, in dependency order.

    If a group's published mean and SD cannot be met inside its bounds (a derived BMI whose
    inputs landed too far from it, say), the correlated scores are drawn again, up to
    :data:`MAX_ATTEMPTS_SMALL` times for small cohorts; the run stays deterministic.
    """
    attempts = MAX_ATTEMPTS_SMALL if st.n <= SMALL_N else 2
    notes = list(st.notes)
    for attempt in range(attempts):
        st.attempt, st.match_failures, st.notes = attempt, 0, list(notes)
        for name in list(st.cols):
            del st.cols[name]
        _baseline_once(st)
        if not st.exact or st.match_failures == 0:
            break
    if st.attempt:
        st.note(f"baseline scores drawn {st.attempt + 1} times to meet the published moments")


def _baseline_once(st: SynthState) -> None:
    _categories(st)
    variables = st.spec.baseline.variables
    drawn = [v for v, s in variables.items() if s.derive is None]
    z = _correlated_scores(st, drawn)
    for j, name in enumerate(drawn):
        _drawn_variable(st, name, variables[name], z[:, j])
    for name, var in variables.items():
        if var.derive is not None:
            _derived_variable(st, name, var)
    for name in ("age_years", "age_at_diagnosis_years", "diabetes_duration_years",
                 "weight_kg", "height_cm", "bmi_kg_m2"):
        st.cols.setdefault(name, np.full(st.n, np.nan))


def _round_dose(x: np.ndarray, step: float) -> np.ndarray:
    return np.round(x / step) * step


def generate_treatment(st: SynthState) -> None:
    """Per-subject cell source, donor, doses and infusion days of every treated arm."""
    per_kg = np.full(st.n, np.nan)
    total = np.full(st.n, np.nan)
    source = np.full(st.n, None, dtype=object)
    donor = np.full(st.n, None, dtype=object)
    route = np.full(st.n, None, dtype=object)
    weight = st.cols.get("weight_kg", np.full(st.n, np.nan))
    for arm in st.spec.arms:
        tr = arm.treatment
        if tr is None:
            continue
        idx = st.members(arm.name)
        if idx.size == 0:
            continue
        rng = st.rng("treatment", arm.name)
        _treat_arm(tr, idx, rng, per_kg, total, source, donor, route, weight)
        days = np.zeros((idx.size, len(tr.infusion_days)), dtype=np.int64)
        for k, d in enumerate(tr.infusion_days):
            jitter = (rng.integers(-tr.day_jitter, tr.day_jitter + 1, idx.size)
                      if k > 0 and tr.day_jitter else 0)
            days[:, k] = d + jitter
        st.infusion_days[arm.name] = days
    st.cols["dose_cells_per_kg"] = per_kg
    st.cols["dose_cells_total"] = total
    st.cols["source"] = source
    st.cols["donor"] = donor
    st.cols["route"] = route


def _treat_arm(tr: Treatment, idx: np.ndarray, rng: np.random.Generator, per_kg: np.ndarray,
               total: np.ndarray, source: np.ndarray, donor: np.ndarray, route: np.ndarray,
               weight: np.ndarray) -> None:
    if isinstance(tr.source, str):
        source[idx] = tr.source
    else:
        source[idx] = allocate({k: float(v) for k, v in tr.source.items()}, idx.size, rng)
    if isinstance(tr.donor, str):
        donor[idx] = tr.donor
    else:
        donor[idx] = np.array([tr.donor[s] for s in source[idx]], dtype=object)
    route[idx] = tr.route
    if tr.is_placebo:
        per_kg[idx] = 0.0 if tr.dose_cells_per_kg is not None else np.nan
        total[idx] = 0.0 if tr.dose_cells_total is not None else np.nan
        return
    w = weight[idx]
    if tr.dose_cells_per_kg is not None:
        pk = sample(tr.dose_cells_per_kg, rng.standard_normal(idx.size))
        pk = np.maximum(_round_dose(pk, min(tr.dose_unit_round, 1e3)), 1e3)
        per_kg[idx] = pk
        if tr.dose_cells_total is None:
            total[idx] = np.where(np.isnan(w), np.nan,
                                  np.maximum(_round_dose(pk * w, tr.dose_unit_round),
                                             tr.dose_unit_round))
    if tr.dose_cells_total is not None:
        tot = sample(tr.dose_cells_total, rng.standard_normal(idx.size))
        tot = np.maximum(_round_dose(tot, tr.dose_unit_round), tr.dose_unit_round)
        total[idx] = tot
        if tr.dose_cells_per_kg is None:
            with np.errstate(invalid="ignore"):
                per_kg[idx] = np.where(np.isnan(w), np.nan,
                                       np.maximum(_round_dose(tot / w, 1e3), 1e3))

"""Coverage of the remission model's default intervals at Lu 2021's size (issue 13, item 5).

A plasmode simulation: the design is fixed at the 27 treated subjects of the bundled lu2021
cohort (baseline fasting C-peptide in nmol/L and cumulative dose in 10^6 cells/kg, as
``cohort analyze remission -p baseline_cpep_fast_nmol_l -p dose_1e6_cells_per_kg --population
treated`` fits them), the true coefficients are the cohort's own Firth estimates (about 11
expected events, 5.5 events per variable), and each replicate draws the outcomes anew from
``Bernoulli(expit(X beta))``. Each replicate is fitted by

* maximum likelihood with profile-likelihood intervals (R ``glm`` + ``confint``), the default
  before issue 13, and
* Firth's penalised likelihood with penalised profile-likelihood intervals (R ``logistf``),
  the default now below 10 events per variable (``method="auto"``),

through :func:`cohort.analysis.logistic_fit.fit_ml`,
:func:`~cohort.analysis.logistic_fit.fit_firth` and
:func:`~cohort.analysis.logistic_profile.profile_interval`, the code the analysis uses. Reported:
the coverage of the nominal 95% intervals for each coefficient, with its Monte Carlo standard
error, and the replicates with (quasi-)separation (an infinite ML bound covers by
construction: such replicates are counted, not dropped). Replicates with no events or only
events are redrawn (the analysis refuses them), and counted.

Usage: ``python bench/bench_logistic_coverage.py [--reps 1000] [--seed 13] [--quick]
[--json-out FILE]``. One core, about 2-4 minutes for 1000 replicates.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PREDICTORS = ["baseline_cpep_fast_nmol_l", "dose_1e6_cells_per_kg"]


def design() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The treated subjects' design matrix and the Firth coefficients used as the truth."""
    import cohort
    from cohort.analysis.logistic_design import build_design, select_population
    from cohort.analysis.logistic_fit import fit_firth
    from cohort.derive.remission_dataset import remission_dataset

    c = cohort.load_cohort(ROOT / "synthetic" / "lu2021" / "cohort")
    data = remission_dataset(c.measurements, c.subjects, c.infusions)
    data = data.loc[data["remission"].notna()].assign(
        remission=lambda f: f["remission"].astype(bool))
    frame, _ = select_population(data, "treated")
    d = build_design(frame, "remission", PREDICTORS)
    return d.x, fit_firth(d.x, d.y).coef, d.terms


def replicate(x: np.ndarray, beta: np.ndarray, rng: np.random.Generator
              ) -> tuple[dict[str, np.ndarray], bool, int]:
    """One replicate: coverage flags per method and coefficient, separation, redraws."""
    from scipy import special

    from cohort.analysis.logistic_fit import detect_separation, fit_firth, fit_ml
    from cohort.analysis.logistic_profile import profile_interval

    p = special.expit(x @ beta)
    redraws = 0
    while True:
        y = (rng.random(len(p)) < p).astype(float)
        if 0 < y.sum() < len(y):
            break
        redraws += 1
    separated = detect_separation(x, y) is not None
    out = {}
    for method, fit in (("ml", fit_ml(x, y, warn=False)), ("firth", fit_firth(x, y))):
        firth = method == "firth"
        cover = np.zeros(len(beta), dtype=bool)
        for j in range(len(beta)):
            lo, hi = profile_interval(x, y, fit, j, firth=firth, alpha=0.05)
            cover[j] = lo <= beta[j] <= hi
        out[method] = cover
    return out, separated, redraws


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--quick", action="store_true", help="100 replicates")
    ap.add_argument("--json-out", type=Path)
    args = ap.parse_args(argv)
    reps = 100 if args.quick else args.reps
    warnings.simplefilter("ignore")  # separation/convergence warnings are counted instead
    x, beta, terms = design()
    rng = np.random.default_rng(args.seed)
    t0, c0 = time.perf_counter(), time.process_time()
    hits = {"ml": np.zeros(len(beta)), "firth": np.zeros(len(beta))}
    n_sep = n_redraw = 0
    events = []
    for _ in range(reps):
        cov, sep, redraws = replicate(x, beta, rng)
        for m in hits:
            hits[m] += cov[m]
        n_sep += sep
        n_redraw += redraws
    from scipy import special

    events = float(special.expit(x @ beta).sum())
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"plasmode: n = {len(x)} treated subjects of synthetic/lu2021, expected events "
          f"{events:.1f}, {reps} replicates, seed {args.seed}")
    print("true coefficients (Firth on the cohort): "
          + ", ".join(f"{t} {b:.3f}" for t, b in zip(terms, beta, strict=True)))
    results: dict = {"n": len(x), "expected_events": events, "reps": reps, "seed": args.seed,
                     "separated_replicates": n_sep, "redraws": n_redraw,
                     "seconds": wall, "cpu_seconds": cpu, "load": os.getloadavg()[0],
                     "coverage": {}}
    mcse = math.sqrt(0.95 * 0.05 / reps)
    print(f"{'interval':40s} " + " ".join(f"{t[:26]:>27s}" for t in terms))
    for m, label in (("ml", "ML profile likelihood (R confint)"),
                     ("firth", "Firth penalised profile (R logistf)")):
        cov = hits[m] / reps
        results["coverage"][m] = dict(zip(terms, cov.tolist(), strict=True))
        print(f"{label:40s} " + " ".join(f"{c:27.3f}" for c in cov))
    print(f"Monte Carlo SE of a coverage near 0.95: {mcse:.4f}; replicates with "
          f"(quasi-)separation: {n_sep}; redrawn all-or-none outcomes: {n_redraw}")
    print(f"{wall:.1f} s wall, {cpu:.1f} s CPU (load {os.getloadavg()[0]:.1f})")
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""MMRM fits: cohort's numpy/scipy MMRM against R nlme::gls with corSymm, in the same run.

Times, with the median of several repeats (wall and CPU seconds):

* **fev_data** (R mmrm's example data, tests/fixtures/mmrm/fev_data.csv: 200 subjects, 4 visits,
  537 values): ``FEV1 ~ RACE + SEX + ARMCD * AVISIT``, unstructured covariance, REML,
  Satterthwaite df for the 11 coefficients and the 8 TRT - PBO / LS-mean contrasts. Target
  <= 0.2 s.
* **100,000 subjects x 6 visits** (generated here with a fixed seed: two arms, a baseline, an
  unstructured covariance, monotone dropout of 3% per visit): the default change model
  ``change ~ arm * visit + baseline * visit``, unstructured, REML, Satterthwaite, the six
  per-visit arm differences. Target <= 10 s.

R's ``nlme::gls(..., correlation = corSymm(), weights = varIdent(), method = "REML")`` fits the
same models (the time of the ``gls`` call only, R's start-up and the CSV read excluded), when
``Rscript`` with nlme is installed: on fev_data, and on the first ``--r-subjects`` subjects
(default 2,000) of the large data set; gls's cost grows with the number of subjects (about
125 CPU s at 10,000 subjects here), so it is not run at 100,000. Both sides must reach the same
-2 REML log-likelihood (within 1e-4) or the script exits 1.

Usage: ``python bench/bench_mmrm.py [--quick] [--repeats 5] [--r-subjects 2000]
[--json-out FILE]`` (``--quick``: 20,000 subjects, R on 500).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cohort.analysis.mmrm import mmrm

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240601
FEV = ROOT / "tests" / "fixtures" / "mmrm" / "fev_data.csv"
TARGET_FEV = 0.2
TARGET_LARGE = 10.0
VISITS6 = [f"V{i}" for i in range(1, 7)]

R_SCRIPT = r"""
suppressPackageStartupMessages(library(nlme))
args <- commandArgs(TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE)
kind <- args[2]; reps <- as.integer(args[3])
if (kind == "fev") {
  d <- d[!is.na(d$FEV1), ]
  d$AVISIT <- factor(d$AVISIT, levels = c("VIS1", "VIS2", "VIS3", "VIS4"))
  d$ARMCD <- factor(d$ARMCD, levels = c("PBO", "TRT"))
  d$RACE <- factor(d$RACE, levels = c("Asian", "Black or African American", "White"))
  d$SEX <- factor(d$SEX, levels = c("Male", "Female"))
  d$vn <- as.integer(d$AVISIT)
  fit_it <- function() gls(FEV1 ~ RACE + SEX + ARMCD * AVISIT, data = d,
    correlation = corSymm(form = ~ vn | USUBJID), weights = varIdent(form = ~ 1 | AVISIT),
    method = "REML")
} else {
  d$visit <- factor(d$visit, levels = paste0("V", 1:6))
  d$arm <- factor(d$arm, levels = c("PBO", "TRT"))
  d$vn <- as.integer(d$visit)
  fit_it <- function() gls(change ~ arm * visit + baseline * visit, data = d,
    correlation = corSymm(form = ~ vn | subject), weights = varIdent(form = ~ 1 | visit),
    method = "REML")
}
wall <- cpu <- numeric(reps)
for (i in seq_len(reps)) {
  t <- system.time(f <- fit_it())
  wall[i] <- t[["elapsed"]]; cpu[i] <- t[["user.self"]] + t[["sys.self"]]
}
cat(sprintf("RESULT %.6f %.6f %.10f\n", median(wall), median(cpu), -2 * as.numeric(logLik(f))))
"""


def make_large(n: int, seed: int = SEED) -> pd.DataFrame:
    """``n`` subjects x 6 visits: change from baseline (% points), arm, baseline (%)."""
    rng = np.random.default_rng(seed)
    t = len(VISITS6)
    arm = rng.integers(0, 2, n)
    base = rng.normal(8.0, 1.0, n)
    a = rng.normal(size=(t, t))
    sigma = 0.3 * (a @ a.T / t + np.eye(t))
    e = rng.normal(size=(n, t)) @ np.linalg.cholesky(sigma).T
    vis = np.arange(t)
    mu = 0.02 * vis[None, :] - 0.05 * vis[None, :] * arm[:, None] + 0.1 * (base[:, None] - 8)
    y = mu + e
    dropout = np.argmax(np.c_[rng.random((n, t - 1)) < 0.03, np.ones((n, 1), bool)], axis=1) + 1
    observed = (vis[None, :] < dropout[:, None]).ravel()
    d = pd.DataFrame({"subject": np.repeat(np.arange(n), t),
                      "visit": np.tile(np.array(VISITS6, dtype=object), n),
                      "arm": np.where(np.repeat(arm, t) == 1, "TRT", "PBO"),
                      "baseline": np.repeat(base, t), "change": y.ravel()})
    return d[observed].reset_index(drop=True)


def fit_fev(d: pd.DataFrame):
    levels = {"RACE": ["Asian", "Black or African American", "White"],
              "SEX": ["Male", "Female"], "ARMCD": ["PBO", "TRT"],
              "AVISIT": ["VIS1", "VIS2", "VIS3", "VIS4"]}
    m = mmrm(d, response="FEV1", subject="USUBJID", visit="AVISIT",
             visit_levels=levels["AVISIT"], factors=levels, interactions=[("ARMCD", "AVISIT")])
    m.coefficients()
    for v in levels["AVISIT"]:
        m.difference({"ARMCD": "TRT", "AVISIT": v}, {"ARMCD": "PBO", "AVISIT": v})
        m.lsmean({"ARMCD": "TRT", "AVISIT": v})
    return m


def fit_large(d: pd.DataFrame):
    m = mmrm(d, response="change", subject="subject", visit="visit", visit_levels=VISITS6,
             factors={"arm": ["PBO", "TRT"], "visit": VISITS6}, numeric=["baseline"],
             interactions=[("arm", "visit"), ("visit", "baseline")])
    for v in VISITS6:
        m.difference({"arm": "TRT", "visit": v}, {"arm": "PBO", "visit": v})
    return m


def timed(fn, repeats: int) -> tuple[float, float, object]:
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def run_r(csv: Path, kind: str, repeats: int, timeout: float) -> dict | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory(prefix="cohort-bench-mmrm-") as tmp:
        script = Path(tmp) / "gls.R"
        script.write_text(R_SCRIPT)
        try:
            out = subprocess.run([rscript, str(script), str(csv), kind, str(repeats)],
                                 capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:g} s"}
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT")), None)
    if line is None:
        return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
    wall, cpu, m2ll = (float(v) for v in line.split()[1:])
    return {"wall": wall, "cpu": cpu, "minus2ll": m2ll}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--subjects", type=int, default=None)
    parser.add_argument("--r-subjects", type=int, default=None)
    parser.add_argument("--r-timeout", type=float, default=900.0)
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (3 if args.quick else 5)
    n_large = args.subjects or (20_000 if args.quick else 100_000)
    n_r = args.r_subjects or (500 if args.quick else 2_000)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f}; median of {repeats} repeat(s)", flush=True)
    results, failed = [], False

    fev = pd.read_csv(FEV).dropna(subset=["FEV1"]).reset_index(drop=True)
    fit_fev(fev)  # warm-up: imports and first calls
    wall, cpu, m = timed(lambda: fit_fev(fev), repeats)
    r = run_r(FEV, "fev", repeats, args.r_timeout)
    failed |= _report(results, "fev_data (200 x 4, us, REML, Satterthwaite)", wall, cpu,
                      m.fit.minus2ll, r, TARGET_FEV)

    large = make_large(n_large)
    wall, cpu, m = timed(lambda: fit_large(large), max(1, repeats // 2))
    failed |= _report(results, f"{n_large:,} subjects x 6 visits ({len(large):,} records)",
                      wall, cpu, m.fit.minus2ll, None, TARGET_LARGE if n_large >= 100_000
                      else None)

    small = large[large["subject"] < n_r].reset_index(drop=True)
    wall, cpu, m = timed(lambda: fit_large(small), repeats)
    with tempfile.TemporaryDirectory(prefix="cohort-bench-mmrm-") as tmp:
        csv = Path(tmp) / "large.csv"
        small.to_csv(csv, index=False)
        r = run_r(csv, "large", 1, args.r_timeout)
    failed |= _report(results, f"{n_r:,} subjects x 6 visits ({len(small):,} records)", wall,
                      cpu, m.fit.minus2ll, r, None)
    if args.json_out:
        args.json_out.write_text(json.dumps({"benchmark": "mmrm", "load_average": load,
                                             "results": results}, indent=2))
    return 1 if failed else 0


def _report(results: list, label: str, wall: float, cpu: float, m2ll: float,
            r: dict | None, target: float | None) -> bool:
    row = {"data": label, "seconds": round(wall, 4), "cpu_seconds": round(cpu, 4),
           "minus2ll": m2ll, "target_seconds": target}
    text = f"{label}: cohort {wall:.3f} s (CPU {cpu:.3f} s)"
    failed = False
    if r is None:
        text += ("; R gls not run at this size (see --r-subjects)" if shutil.which("Rscript")
                 else "; R not installed")
    elif "error" in r:
        text += f"; R gls: {r['error']}"
        row["r_error"] = r["error"]
    else:
        diff = abs(r["minus2ll"] - m2ll)
        failed = diff > 1e-4
        row.update(r_seconds=r["wall"], r_cpu_seconds=r["cpu"], r_minus2ll=r["minus2ll"],
                   ratio_wall=round(r["wall"] / wall, 1), ratio_cpu=round(r["cpu"] / cpu, 1),
                   minus2ll_difference=diff)
        text += (f"; R nlme::gls {r['wall']:.3f} s (CPU {r['cpu']:.3f} s): {r['wall'] / wall:.1f}x"
                 f" wall, {r['cpu'] / cpu:.1f}x CPU; |-2 REML log L difference| {diff:.1e}"
                 f"{' FAIL' if failed else ''}")
    if target is not None:
        ok = wall <= target
        row["target_met"] = ok
        text += f"; target <= {target:g} s: {'PASS' if ok else 'FAIL (timing; not an error)'}"
    print(text, flush=True)
    results.append(row)
    return failed


if __name__ == "__main__":
    sys.exit(main())

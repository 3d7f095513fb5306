"""Kaplan-Meier + log-rank + Cox (with concordance) on a large cohort, against R in the same run.

Issue 16, item 4: survival at scale, "KM + log-rank + Cox on 1M subjects <= 1/2 of R's time",
with the concordance at any n and each statistic computed once.

One synthetic data set (seeded; two arms, age, integer-day times with ties, ~30% censored) is
written to a temporary CSV. Each repeat runs, interleaved, two whole processes:

* ``python bench_survival.py --worker CSV``: reads the CSV with pandas, then times
  ``analyze_survival`` (what ``cohort analyze survival`` runs: Kaplan-Meier with landmarks and
  at-risk table, log-rank, ``cox_ph(arm, age)`` with the concordance and the PH test);
* ``Rscript`` with the same steps in R's survival: ``read.csv``, then ``survfit`` + ``survdiff``
  + ``coxph`` (whose fit includes the concordance) + ``cox.zph``.

Each prints its analysis time (data in memory) and its numbers; this script prints both times,
the whole-process times, the ratios (target: cohort's analysis <= 1/2 of R's) and the largest
relative difference between the two sets of numbers. Without Rscript (or R's survival) R is
skipped with a message.

Usage: ``python bench/bench_survival.py [--n 1000000] [--repeats 3] [--quick] [--json-out F]``
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
from typing import Any

import numpy as np

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
cpu <- function() { p <- proc.time(); p[["user.self"]] + p[["sys.self"]] }
t0 <- proc.time()[["elapsed"]]
d <- read.csv(args[1])
t1 <- proc.time()[["elapsed"]]
c1 <- cpu()
km <- survfit(Surv(time, status) ~ arm, data = d)
med <- unname(summary(km)$table[, "median"])
lr <- survdiff(Surv(time, status) ~ arm, data = d)
fit <- coxph(Surv(time, status) ~ arm + age, data = d)
zph <- cox.zph(fit)
t2 <- proc.time()[["elapsed"]]
c2 <- cpu()
cat(sprintf(paste0('{"read": %.17g, "analysis": %.17g, "analysis_cpu": %.17g, ',
                   '"median": [%.17g, %.17g], ',
                   '"logrank": %.17g, "coef": [%.17g, %.17g], "se": [%.17g, %.17g], ',
                   '"concordance": %.17g, "concordance_se": %.17g, "zph_global": %.17g}\n'),
    t1 - t0, t2 - t1, c2 - c1, med[1], med[2], lr$chisq, coef(fit)[1], coef(fit)[2],
    sqrt(diag(fit$var))[1], sqrt(diag(fit$var))[2], fit$concordance[["concordance"]],
    fit$concordance[["std"]],
    zph$table["GLOBAL", "chisq"]))
"""


def make_data(n: int, seed: int, path: Path) -> None:
    """Two arms (HR 0.8), age 18-80, exponential times in whole days, ~30% censored."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    age = rng.integers(18, 81, n)
    rate = 1 / 900 * np.exp(np.log(0.8) * arm + 0.01 * (age - 50))
    event_time = rng.exponential(1 / rate)
    censor = rng.uniform(0, 2500, n)
    time_ = np.maximum(1, np.ceil(np.minimum(event_time, censor))).astype(int)
    status = (event_time <= censor).astype(int)
    import pandas as pd

    pd.DataFrame({"id": np.arange(n), "arm": np.where(arm == 1, "B", "A"), "age": age,
                  "time": time_, "status": status}).to_csv(path, index=False)


def worker(csv: Path) -> dict[str, Any]:
    """One whole cohort process: read, then time the three analyses."""
    import warnings

    import pandas as pd

    from cohort.analysis.survival import analyze_survival

    t0 = time.perf_counter()
    d = pd.read_csv(csv, engine="pyarrow")
    tte = pd.DataFrame({"subject_id": d["id"].astype(str), "start": 0.0,
                        "stop": d["time"].astype(float), "event": d["status"] == 1,
                        "arm": d["arm"], "age": d["age"].astype(float)})
    t1 = time.perf_counter()
    c1 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # what `cohort analyze survival` runs: KM, log-rank, Cox (+ concordance, PH test)
        res = analyze_survival(tte, group="arm", covariates=["age"],
                               landmarks_months=(12, 24))
    t2 = time.perf_counter()
    c2 = time.process_time()
    km, lr, cox = res.km, res.logrank, res.cox
    s = cox.summary
    return {"read": t1 - t0, "analysis": t2 - t1, "analysis_cpu": c2 - c1,
            "median": km.summary["estimate"].tolist(),
            "logrank": float(lr.summary["statistic"].iloc[0]),
            "coef": s["coef"].tolist(), "se": s["se"].tolist(),
            "concordance": cox.concordance,
            "concordance_se": cox.concordance_counts["std_err"],
            "zph_global": float(cox.ph_test["chisq"].iloc[-1])}


def _run(cmd: list[str]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:2])} failed:\n{out.stderr[-2000:]}")
    return wall, json.loads(out.stdout.strip().splitlines()[-1])


def _r_available() -> str | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    ok = subprocess.run([rscript, "-e", "library(survival)"], capture_output=True,
                        check=False).returncode == 0
    return rscript if ok else None


def _max_rel(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key in ("median", "logrank", "coef", "se", "concordance", "concordance_se",
                "zph_global"):
        a = np.atleast_1d(np.asarray(ours[key], dtype=float))
        b = np.atleast_1d(np.asarray(theirs[key], dtype=float))
        out[key] = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--quick", action="store_true", help="50,000 subjects, 1 repeat")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return 0
    n, repeats = (50_000, 1) if args.quick else (args.n, args.repeats)
    rscript = _r_available()
    if rscript is None:
        print("R (Rscript with the survival package) not found: R is skipped")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)
           + os.pathsep + os.environ.get("PYTHONPATH", "")}
    ours: list[tuple[float, dict[str, Any]]] = []
    theirs: list[tuple[float, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="cohort-bench-survival-") as tmp:
        csv = Path(tmp) / "survival.csv"
        make_data(n, args.seed, csv)
        r_file = Path(tmp) / "survival.R"
        r_file.write_text(R_SCRIPT)
        print(f"{n:,} subjects, {repeats} interleaved repeat(s); load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        for i in range(repeats):
            os.environ.update(env)
            ours.append(_run([sys.executable, __file__, "--worker", str(csv)]))
            print(f"  repeat {i + 1}: cohort analysis {ours[-1][1]['analysis']:.2f} s, CPU "
                  f"{ours[-1][1]['analysis_cpu']:.2f} s (process {ours[-1][0]:.2f} s)", end="",
                  flush=True)
            if rscript:
                theirs.append(_run([rscript, str(r_file), str(csv)]))
                print(f"; R analysis {theirs[-1][1]['analysis']:.2f} s, CPU "
                      f"{theirs[-1][1]['analysis_cpu']:.2f} s (process {theirs[-1][0]:.2f} s)",
                      end="")
            print(flush=True)
    result: dict[str, Any] = {
        "n": n, "repeats": repeats, "load_average": os.getloadavg()[0],
        "cohort_analysis_s": statistics.median(r["analysis"] for _, r in ours),
        "cohort_analysis_cpu_s": statistics.median(r["analysis_cpu"] for _, r in ours),
        "cohort_process_s": statistics.median(w for w, _ in ours)}
    print(f"cohort: KM + log-rank + Cox (+ concordance, PH test) {result['cohort_analysis_s']:.2f}"
          f" s (CPU {result['cohort_analysis_cpu_s']:.2f} s); whole process "
          f"{result['cohort_process_s']:.2f} s (medians)")
    status = 0
    if theirs:
        result["r_analysis_s"] = statistics.median(r["analysis"] for _, r in theirs)
        result["r_analysis_cpu_s"] = statistics.median(r["analysis_cpu"] for _, r in theirs)
        result["ratio_analysis_cpu"] = (result["cohort_analysis_cpu_s"]
                                        / result["r_analysis_cpu_s"])
        result["r_process_s"] = statistics.median(w for w, _ in theirs)
        result["ratio_analysis"] = result["cohort_analysis_s"] / result["r_analysis_s"]
        result["ratio_process"] = result["cohort_process_s"] / result["r_process_s"]
        result["max_rel_diff"] = _max_rel(ours[-1][1], theirs[-1][1])
        print(f"R:      survfit + survdiff + coxph (+ concordance) + cox.zph "
              f"{result['r_analysis_s']:.2f} s (CPU {result['r_analysis_cpu_s']:.2f} s); whole "
              f"process {result['r_process_s']:.2f} s")
        print(f"ratio cohort / R: analysis {result['ratio_analysis']:.2f} (CPU "
              f"{result['ratio_analysis_cpu']:.2f}), whole process "
              f"{result['ratio_process']:.2f}")
        print("largest relative difference from R: " + ", ".join(
            f"{k} {v:.1e}" for k, v in result["max_rel_diff"].items()))
        for what, key in (("wall", "ratio_analysis"), ("CPU", "ratio_analysis_cpu")):
            ok = result[key] <= 0.5
            print(f"{'PASS' if ok else 'FAIL'}: analysis <= 1/2 of R's time ({what}; issue 16 "
                  "item 4)")
        if max(result["max_rel_diff"].values()) > 1e-6:
            print("FAIL: the numbers differ from R's by more than 1e-6")
            status = 1
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())

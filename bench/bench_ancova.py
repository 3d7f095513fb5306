"""ANCOVA of HbA1c change from baseline on a large cohort, against R in the same run.

Issue 16, item 1: "ANCOVA on 1M subjects end to end <= R's time in the same run, analysis
step <= 1/2 of R's" (at issue time: cohort 21.1 s vs R 15.6 s end to end; analysis 14.3 s vs
4.3 s, 10.5 s of it the pandas change-from-baseline derivation).

One seeded cohort folder (three arms, a control arm; HbA1c and FPG records around screening,
baseline and two follow-up visits, with several records in some windows, ties in distance to
the nominal day, missing records and subjects without a baseline) is written as CSV. Each
repeat runs, interleaved, two whole processes:

* ``python bench_ancova.py --worker DIR``: reads ``subjects.csv`` and ``measurements.csv``
  with pandas (pyarrow engine, the dtypes a loaded cohort has), then times
  :func:`cohort.analysis.ancova.ancova_analysis` at days 84 and 182 (baseline: the last value
  in days [-90, 0]; visit value: the nearest the nominal day in the default window, the
  earlier of two equally near; ``change ~ arm + baseline``; LS means and each arm vs the
  control);
* ``Rscript``: ``read.csv`` of the same files, the same derivation in base R (integer subject
  codes, ``order`` + ``!duplicated``), then ``lm`` + ``emmeans`` + ``contrast(trt.vs.ctrl)``.

Each side reports its analysis time (data in memory; wall and CPU) and its numbers; this script
prints both, the whole-process times, the ratios and the largest relative difference between
the two sets of numbers (above 1e-9 fails the run). ``--cli`` also times ``cohort analyze
ancova DIR`` (validation included) as a whole process. Without Rscript and emmeans, R is
skipped with a message.

Usage: ``python bench/bench_ancova.py [--n 1000000] [--repeats 3] [--quick] [--cli]
[--data-dir DIR] [--json-out F]``
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

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = 1  # bump when the generated data change (a --data-dir is then regenerated)
ARMS = ("placebo", "low", "high")
VISIT_DAYS = (84, 182)
# make_visits' default windows for days 84 and 182: 15% of the day, at least 7 days
WINDOWS = ((71, 97), (155, 209))
BASELINE_WINDOW = (-90, 0)

R_SCRIPT = r"""
suppressPackageStartupMessages(library(emmeans))
args <- commandArgs(trailingOnly = TRUE)
cpu <- function() { p <- proc.time(); p[["user.self"]] + p[["sys.self"]] }
t0 <- proc.time()[["elapsed"]]
m <- read.csv(file.path(args[1], "measurements.csv"))
s <- read.csv(file.path(args[1], "subjects.csv"))
t1 <- proc.time()[["elapsed"]]
c1 <- cpu()
h <- m[m$param == "HBA1C", c("subject_id", "day", "value")]
h$sid <- match(h$subject_id, s$subject_id)
# baseline: the last value in days [-90, 0]
b <- h[h$day >= -90 & h$day <= 0, ]
b <- b[order(b$sid, -b$day), ]
b <- b[!duplicated(b$sid), ]
base <- rep(NA_real_, nrow(s))
base[b$sid] <- b$value
arm <- factor(s$arm, levels = c("placebo", "low", "high"))
days <- c(84, 182); lower <- c(71, 155); upper <- c(97, 209)
out <- list()
for (k in seq_along(days)) {
  # visit value: nearest the nominal day inside the window, the earlier of two equally near
  w <- h[h$day >= lower[k] & h$day <= upper[k], ]
  w <- w[order(w$sid, abs(w$day - days[k]), w$day), ]
  w <- w[!duplicated(w$sid), ]
  value <- rep(NA_real_, nrow(s))
  value[w$sid] <- w$value
  d <- data.frame(arm = arm, baseline = base, change = value - base)
  d <- d[!is.na(d$change), ]
  fit <- lm(change ~ arm + baseline, data = d)
  emm <- emmeans(fit, ~ arm)
  es <- summary(emm)
  cs <- summary(contrast(emm, "trt.vs.ctrl", adjust = "none"))
  out[[k]] <- list(n = nrow(d), lsmean = es$emmean, lsmean_se = es$SE,
                   diff = cs$estimate, diff_se = cs$SE, p = cs$p.value)
}
t2 <- proc.time()[["elapsed"]]
c2 <- cpu()
num <- function(x) paste0("[", paste(sprintf("%.17g", x), collapse = ", "), "]")
cat(sprintf('{"read": %.17g, "analysis": %.17g, "analysis_cpu": %.17g, ', t1 - t0, t2 - t1,
            c2 - c1),
    sprintf('"n": %s, "lsmean": %s, "lsmean_se": %s, "diff": %s, "diff_se": %s, "p": %s}\n',
            num(sapply(out, `[[`, "n")), num(unlist(lapply(out, `[[`, "lsmean"))),
            num(unlist(lapply(out, `[[`, "lsmean_se"))), num(unlist(lapply(out, `[[`, "diff"))),
            num(unlist(lapply(out, `[[`, "diff_se"))), num(unlist(lapply(out, `[[`, "p")))),
    sep = "")
"""


def make_data(n: int, seed: int, folder: Path) -> dict[str, int]:
    """Write a valid cohort folder of ``n`` subjects (subjects, infusions, measurements).

    Three arms (``placebo`` the control arm, ``low``, ``high``); HbA1c (%) at screening
    (days -60..-20, 80% of subjects), baseline (days -7..0, 92%; a second record in 10%),
    and visits near days 84 (+-16 days, 90%; a second record in the window for 15%, a tenth
    of them equally near the other side) and 182 (+-30, 85%); FPG (mmol/L) on half of the
    same days. Values have one decimal, as laboratories report them.
    """
    import polars as pl

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arm = rng.integers(0, 3, n)
    age = rng.integers(18, 70, n)
    duration = rng.integers(0, np.minimum(age - 1, 30) + 1)
    weight = np.round(rng.normal(74, 12, n).clip(45, 150), 1)
    height = np.round(rng.normal(170, 9, n).clip(145, 205), 0)
    ids = np.char.add("S", np.char.zfill(np.arange(n).astype(str), 7))
    pl.DataFrame({
        "subject_id": ids, "study_id": "BENCH", "site_id": np.array(["A", "B", "C"])[
            rng.integers(0, 3, n)],
        "arm": np.array(ARMS)[arm], "control": np.where(arm == 0, "true", "false"),
        "diabetes_type": "T2D", "sex": np.array(["F", "M"])[rng.integers(0, 2, n)],
        "age_years": age, "age_at_diagnosis_years": age - duration,
        "diabetes_duration_years": duration, "weight_kg": weight, "height_cm": height,
        "bmi_kg_m2": np.round(weight / (height / 100) ** 2, 1),
        "last_contact_day": np.full(n, 240),
    }).write_csv(folder / "subjects.csv")
    treated = np.flatnonzero(arm > 0)
    pl.DataFrame({
        "subject_id": ids[treated], "infusion_number": 1, "day": 0, "source": "umbilical_cord",
        "donor": "allogeneic", "route": "intravenous",
        "dose_cells_per_kg": np.where(arm[treated] == 1, 1_000_000, 2_000_000),
        "dose_cells_total": np.round(weight[treated] * np.where(arm[treated] == 1, 1e6, 2e6)
                                     ).astype(np.int64),
    }).write_csv(folder / "infusions.csv")

    base = rng.normal(8.2, 1.0, n).clip(5.5, 13)
    effect = np.array([0.0, -0.3, -0.6])[arm]
    subj, day, value = [], [], []

    def add(who: np.ndarray, d: np.ndarray, v: np.ndarray) -> None:
        subj.append(who)
        day.append(d)
        value.append(v)

    def draw(p: float) -> np.ndarray:
        return np.flatnonzero(rng.random(n) < p)

    s = draw(0.8)
    add(s, rng.integers(-60, -20, len(s)), base[s] + rng.normal(0.1, 0.3, len(s)))
    s = draw(0.92)
    d0 = rng.integers(-7, 1, len(s))
    add(s, d0, base[s])
    s2 = s[rng.random(len(s)) < 0.1]
    add(s2, rng.integers(-14, -7, len(s2)), base[s2] + rng.normal(0, 0.2, len(s2)))
    for nominal, spread, frac, p in ((84, 16, 0.5, 0.9), (182, 30, 1.0, 0.85)):
        s = draw(p)
        d = nominal + rng.integers(-spread, spread + 1, len(s))
        add(s, d, base[s] + frac * effect[s] + rng.normal(-0.2, 0.6, len(s)))
        if nominal == 84:
            # a second record in the window: a tenth of them equally near on the other side
            s2 = draw(0.15)
            d2 = nominal + rng.integers(-13, 14, len(s2))
            own = dict(zip(s.tolist(), d.tolist(), strict=True))
            mirror = rng.random(len(s2)) < 0.1
            for i, who in enumerate(s2):
                if mirror[i] and who in own and own[who] != nominal:
                    d2[i] = 2 * nominal - own[who]
            clash = np.array([own.get(who) == dd for who, dd in zip(s2.tolist(), d2.tolist(),
                                                                     strict=True)])
            s2, d2 = s2[~clash], d2[~clash]
            add(s2, d2, base[s2] + frac * effect[s2] + rng.normal(-0.2, 0.6, len(s2)))
    sid = np.concatenate(subj)
    dd = np.concatenate(day)
    hba1c = np.round(np.concatenate(value).clip(4.0, 16.0), 1)
    # one record per subject, day and parameter (the contract): keep the first
    order = np.lexsort((dd, sid))
    sid, dd, hba1c = sid[order], dd[order], hba1c[order]
    keep = np.ones(len(sid), dtype=bool)
    keep[1:] = (sid[1:] != sid[:-1]) | (dd[1:] != dd[:-1])
    sid, dd, hba1c = sid[keep], dd[keep], hba1c[keep]
    fpg_rows = np.flatnonzero(rng.random(len(sid)) < 0.5)
    fpg = np.round((1.6 * hba1c[fpg_rows] - 3.5 + rng.normal(0, 1, len(fpg_rows))).clip(
        3.0, 25.0), 1)
    m = pl.DataFrame({
        "subject_id": np.concatenate([ids[sid], ids[sid[fpg_rows]]]),
        "day": np.concatenate([dd, dd[fpg_rows]]),
        "param": np.repeat(["HBA1C", "FPG"], [len(sid), len(fpg_rows)]),
        "value": np.concatenate([hba1c, fpg]),
        "unit": np.repeat(["%", "mmol/L"], [len(sid), len(fpg_rows)]),
    }).sort(["subject_id", "day", "param"])
    m.write_csv(folder / "measurements.csv")
    return {"subjects": n, "measurement_rows": m.height, "hba1c_rows": len(sid)}


def read_cohort_frames(folder: Path) -> tuple[Any, Any]:
    """subjects and measurements as pandas frames with a loaded cohort's dtypes."""
    import pandas as pd

    text = "string[pyarrow]"
    meas = pd.read_csv(folder / "measurements.csv", engine="pyarrow", dtype={
        "subject_id": text, "day": "Int64", "param": text, "value": "float64", "unit": text})
    subj = pd.read_csv(folder / "subjects.csv", engine="pyarrow", dtype={
        "subject_id": text, "arm": text, "control": "boolean"})
    return meas, subj


def summary_numbers(result: Any) -> dict[str, list[float]]:
    """The numbers R reports, in R's order (visits, then arms)."""
    s = result.summary
    ls = s[s["kind"] == "lsmean"]
    vs = s[s["kind"] == "vs_reference"]
    n = [float((result.data["visit"] == v).sum()) for v in s["visit"].drop_duplicates()]
    return {"n": n, "lsmean": ls["estimate"].tolist(), "lsmean_se": ls["se"].tolist(),
            "diff": vs["estimate"].tolist(), "diff_se": vs["se"].tolist(),
            "p": vs["p"].tolist()}


def worker(folder: Path) -> dict[str, Any]:
    """One whole cohort process: read, then time the ANCOVA with its derivation."""
    t0 = time.perf_counter()
    # the model's library is loaded before the clock starts, as R loads emmeans (both are in
    # the whole-process time)
    import statsmodels.regression.linear_model  # noqa: F401

    from cohort.analysis.ancova import ancova_analysis

    meas, subj = read_cohort_frames(folder)
    t1 = time.perf_counter()
    c1 = time.process_time()
    res = ancova_analysis(meas, subj, visit_days=list(VISIT_DAYS),
                          baseline_window=BASELINE_WINDOW, arm_order=list(ARMS), trend=False)
    t2 = time.perf_counter()
    c2 = time.process_time()
    return {"read": t1 - t0, "analysis": t2 - t1, "analysis_cpu": c2 - c1,
            **summary_numbers(res)}


def _run(cmd: list[str]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{out.stderr[-2000:]}")
    return wall, json.loads(out.stdout.strip().splitlines()[-1])


def _run_cli(folder: Path) -> float:
    exe = Path(sys.executable).with_name("cohort")
    cmd = ([str(exe)] if exe.exists() else [sys.executable, "-m", "cohort"]) + [
        "analyze", "ancova", str(folder), "--visit-days", ",".join(map(str, VISIT_DAYS)),
        "--format", "json"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"cohort analyze ancova failed:\n{out.stderr[-2000:]}")
    return time.perf_counter() - t0


def _r_available() -> str | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    ok = subprocess.run([rscript, "-e", "library(emmeans)"], capture_output=True,
                        check=False).returncode == 0
    return rscript if ok else None


def _max_rel(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key in ("n", "lsmean", "lsmean_se", "diff", "diff_se", "p"):
        a = np.asarray(ours[key], dtype=float)
        b = np.asarray(theirs[key], dtype=float)
        if a.shape != b.shape:
            out[key] = float("inf")
            continue
        out[key] = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
    return out


def ensure_data(root: Path, n: int, seed: int) -> Path:
    folder = root / f"ancova_{n}_{seed}"
    stamp = root / f"ancova_{n}_{seed}.generator"
    if stamp.exists() and stamp.read_text() == str(GENERATOR):
        return folder
    t0 = time.perf_counter()
    facts = make_data(n, seed, folder)
    stamp.write_text(str(GENERATOR))
    print(f"  generated {facts['subjects']:,} subjects, {facts['measurement_rows']:,} "
          f"measurement rows ({facts['hba1c_rows']:,} HbA1c) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--quick", action="store_true", help="50,000 subjects, 1 repeat")
    parser.add_argument("--cli", action="store_true",
                        help="also time `cohort analyze ancova DIR` (validation included)")
    parser.add_argument("--data-dir", type=Path, help="keep the generated data here (reused)")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return 0
    n, repeats = (50_000, 1) if args.quick else (args.n, args.repeats)
    rscript = _r_available()
    if rscript is None:
        print("R (Rscript with the emmeans package) not found: R is skipped")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    ours: list[tuple[float, dict[str, Any]]] = []
    theirs: list[tuple[float, dict[str, Any]]] = []
    cli: list[float] = []
    tmp = tempfile.mkdtemp(prefix="cohort-bench-ancova-")
    try:
        root = args.data_dir or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        folder = ensure_data(root, n, args.seed)
        r_file = Path(tmp) / "ancova.R"
        r_file.write_text(R_SCRIPT)
        load0 = os.getloadavg()
        print(f"{n:,} subjects, {repeats} interleaved repeat(s); load average "
              f"{load0[0]:.2f}", flush=True)
        for i in range(repeats):
            ours.append(_run([sys.executable, __file__, "--worker", str(folder)]))
            print(f"  repeat {i + 1}: cohort analysis {ours[-1][1]['analysis']:.2f} s, CPU "
                  f"{ours[-1][1]['analysis_cpu']:.2f} s (process {ours[-1][0]:.2f} s)", end="",
                  flush=True)
            if rscript:
                theirs.append(_run([rscript, str(r_file), str(folder)]))
                print(f"; R analysis {theirs[-1][1]['analysis']:.2f} s, CPU "
                      f"{theirs[-1][1]['analysis_cpu']:.2f} s (process {theirs[-1][0]:.2f} s)",
                      end="", flush=True)
            if args.cli:
                cli.append(_run_cli(folder))
                print(f"; cohort CLI {cli[-1]:.2f} s", end="")
            print(flush=True)
        load1 = os.getloadavg()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result: dict[str, Any] = {
        "n": n, "repeats": repeats, "load_average_start": load0[0],
        "load_average_end": load1[0], "cpus": os.cpu_count(),
        "cohort_analysis_s": statistics.median(r["analysis"] for _, r in ours),
        "cohort_analysis_cpu_s": statistics.median(r["analysis_cpu"] for _, r in ours),
        "cohort_process_s": statistics.median(w for w, _ in ours)}
    if cli:
        result["cohort_cli_s"] = statistics.median(cli)
    print(f"cohort: derivation + ANCOVA {result['cohort_analysis_s']:.2f} s (CPU "
          f"{result['cohort_analysis_cpu_s']:.2f} s); whole process "
          f"{result['cohort_process_s']:.2f} s (medians; load average {load0[0]:.1f} -> "
          f"{load1[0]:.1f} on {os.cpu_count()} CPUs)")
    if cli:
        print(f"cohort analyze ancova (validation included): {result['cohort_cli_s']:.2f} s")
    status = 0
    if theirs:
        result["r_analysis_s"] = statistics.median(r["analysis"] for _, r in theirs)
        result["r_analysis_cpu_s"] = statistics.median(r["analysis_cpu"] for _, r in theirs)
        result["r_process_s"] = statistics.median(w for w, _ in theirs)
        result["ratio_analysis"] = result["cohort_analysis_s"] / result["r_analysis_s"]
        result["ratio_analysis_cpu"] = (result["cohort_analysis_cpu_s"]
                                        / result["r_analysis_cpu_s"])
        result["ratio_process"] = result["cohort_process_s"] / result["r_process_s"]
        if cli:
            result["ratio_cli_process"] = result["cohort_cli_s"] / result["r_process_s"]
        result["max_rel_diff"] = _max_rel(ours[-1][1], theirs[-1][1])
        print(f"R:      derivation + lm + emmeans {result['r_analysis_s']:.2f} s (CPU "
              f"{result['r_analysis_cpu_s']:.2f} s); whole process "
              f"{result['r_process_s']:.2f} s")
        print(f"ratio cohort / R: analysis {result['ratio_analysis']:.2f} (CPU "
              f"{result['ratio_analysis_cpu']:.2f}), whole process "
              f"{result['ratio_process']:.2f}"
              + (f", CLI with validation {result['ratio_cli_process']:.2f}" if cli else ""))
        print("largest relative difference from R: " + ", ".join(
            f"{k} {v:.1e}" for k, v in result["max_rel_diff"].items()))
        print(f"{'PASS' if result['ratio_process'] <= 1 else 'FAIL'}: end to end <= R's time "
              "(issue 16 item 1)")
        print(f"{'PASS' if result['ratio_analysis'] <= 0.5 else 'FAIL'}: analysis step <= 1/2 "
              "of R's (issue 16 item 1)")
        if max(result["max_rel_diff"].values()) > 1e-9:
            print("FAIL: the numbers differ from R's by more than 1e-9")
            status = 1
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=2))
    return status


if __name__ == "__main__":
    sys.exit(main())

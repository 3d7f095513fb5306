"""Memory benchmark: peak memory of validating and analysing N measurement rows (issue 16).

A valid cohort (``bench_validate``'s generator without bad rows: 10,000 subjects, 8 parameters
measured weekly from day -14, a tenth of the values in another accepted unit, so that units
are converted) is written for each size, then each command runs in its own process and its
peak resident memory (``ru_maxrss`` from ``os.wait4``), wall and CPU seconds are recorded:

* ``polars read``: ``pl.read_csv`` of measurements.csv, all columns as text (the baseline: what
  holding the file's cells costs);
* ``cohort validate``: ``cohort validate DIR --format json`` (every check, JSON written);
* ``validate + analyse``: ``cohort analyze ancova DIR --visit-days 28,56 --format json``: the
  cohort validated and loaded, baseline and visit windows derived, change from baseline at
  days 28 and 56, the ANCOVA against the control arm.

Rows grow with visits per subject (10,000 subjects throughout), as in a long registry
follow-up. The growth of memory with rows is reported as MiB per million rows between sizes.
Targets (issue 16, item 6): validating 10M rows within 2.5 GiB, and validating + analysing them
within 2.5 GiB.

Usage: ``python bench/bench_memory.py [--quick] [--sizes 1000000,10000000,30000000]
[--data-dir DIR] [--json-out FILE]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
FULL_SIZES = (1_000_000, 10_000_000)
QUICK_SIZES = (1_000_000,)
TARGET_ROWS = 10_000_000
TARGET_GIB = 2.5
GENERATOR = 1  # bump when the generated data change, so that --data-dir is regenerated
VISIT_DAYS = "28,56"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


def _cohort_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("cohort")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cohort"]


def _process(cmd: list[str], out: Path, ok: tuple[int, ...] = (0,)) -> dict[str, float]:
    """Run ``cmd`` (stdout to ``out``); its wall and CPU seconds and peak RSS (MiB)."""
    with open(out, "wb") as stdout, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=err, env=_env())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} exited {code}: {err.read().decode()[-2000:]}")
    return {"seconds": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mib": round(usage.ru_maxrss / 1024)}


def _generate(folder: Path, n_rows: int) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH))
    import bench_validate

    return bench_validate.generate(folder, n_rows, bad_fraction=0.0)


def ensure_data(root: Path, n_rows: int) -> Path:
    """A valid cohort folder with ``n_rows`` measurements under ``root`` (reused if there)."""
    folder = root / f"valid_{n_rows}"
    stamp = root / f"valid_{n_rows}.generator"
    if stamp.exists() and stamp.read_text() == str(GENERATOR):
        return folder
    t0 = time.perf_counter()
    # in a child: this process stays small (a child's ru_maxrss starts from its parent's RSS)
    subprocess.run([sys.executable, __file__, "--generate", str(n_rows), str(folder)],
                   check=True, env=_env())
    stamp.write_text(str(GENERATOR))
    size = (folder / "measurements.csv").stat().st_size
    print(f"  generated {n_rows:,} valid rows ({size / 2**20:.0f} MiB) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    return folder


def measure(folder: Path, scratch: Path) -> dict[str, Any]:
    """Peak memory, wall and CPU seconds of each command on one folder."""
    polars_read = [sys.executable, str(BENCH / "bench_validate.py"), "--worker", "polars_read",
                   str(folder)]
    commands = {
        "polars_read": (polars_read, (0,)),
        "cohort_validate": ([*_cohort_cmd(), "validate", str(folder), "--format", "json"],
                            (0,)),
        "validate_analyse": ([*_cohort_cmd(), "analyze", "ancova", str(folder), "--visit-days",
                              VISIT_DAYS, "--format", "json"], (0,)),
    }
    out: dict[str, Any] = {}
    for name, (cmd, ok) in commands.items():
        out[name] = _process(cmd, scratch / f"{name}.out", ok)
        print(f"    {name:18} {out[name]['peak_rss_mib']:7,} MiB  {out[name]['seconds']:7.2f} s"
              f"  {out[name]['cpu_s']:7.2f} cpu s", flush=True)
    doc = json.loads((scratch / "validate_analyse.out").read_text())
    out["analysis_rows"] = len(doc.get("summary", doc.get("results", [])) or [])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000,000 rows only")
    parser.add_argument("--sizes", help="comma-separated row counts (default 1M and 10M; "
                        "30M needs about 8 GiB free)")
    parser.add_argument("--data-dir", type=Path, help="keep generated data here (reused)")
    parser.add_argument("--json-out", type=Path, help="write the results as JSON here")
    parser.add_argument("--generate", nargs=2, metavar=("ROWS", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.generate:
        _generate(Path(args.generate[1]), int(args.generate[0]))
        return 0
    sizes = ([int(x) for x in args.sizes.split(",")] if args.sizes else
             list(QUICK_SIZES if args.quick else FULL_SIZES))
    tmp = None
    if args.data_dir is not None:
        root = args.data_dir
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="cohort-bench-memory-")
        root = Path(tmp)
    load0 = os.getloadavg()
    results: dict[str, Any] = {}
    try:
        scratch = root / "scratch"
        scratch.mkdir(exist_ok=True)
        for size in sizes:
            print(f"{size:,} measurement rows", flush=True)
            folder = ensure_data(root, size)
            results[str(size)] = measure(folder, scratch)
            if tmp is not None and size != sizes[-1]:
                shutil.rmtree(folder, ignore_errors=True)  # disk: 30M rows are 1 GiB
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()
    print(f"\n  peak resident memory (MiB) by rows; load average {load0[0]:.1f} -> {load1[0]:.1f}"
          f" on {os.cpu_count()} CPUs")
    names = ("polars_read", "cohort_validate", "validate_analyse")
    print(f"  {'rows':>12} " + " ".join(f"{n:>18}" for n in names)
          + f" {'analyse / read':>15}")
    for size in sizes:
        r = results[str(size)]
        ratio = r["validate_analyse"]["peak_rss_mib"] / r["polars_read"]["peak_rss_mib"]
        print(f"  {size:12,} " + " ".join(f"{r[n]['peak_rss_mib']:18,}" for n in names)
              + f" {ratio:15.2f}")
    growth = {}
    for a, b in itertools.pairwise(sizes):
        per = {n: (results[str(b)][n]["peak_rss_mib"] - results[str(a)][n]["peak_rss_mib"])
               / ((b - a) / 1e6) for n in names}
        growth[f"{a}-{b}"] = per
        print(f"  growth {a / 1e6:g}M -> {b / 1e6:g}M rows, MiB per million rows: "
              + ", ".join(f"{n} {v:.0f}" for n, v in per.items()))
    passed = None
    if str(TARGET_ROWS) in results:
        verdicts = []
        for name, label in (("cohort_validate", "cohort validate"),
                            ("validate_analyse", "validate + analyse")):
            peak = results[str(TARGET_ROWS)][name]["peak_rss_mib"] / 1024
            verdicts.append(peak <= TARGET_GIB)
            print(f"target: {label} of {TARGET_ROWS:,} rows within {TARGET_GIB:g} GiB: "
                  f"{'PASS' if verdicts[-1] else 'FAIL'} ({peak:.2f} GiB)")
        passed = all(verdicts)
    if args.json_out:
        args.json_out.write_text(json.dumps(
            {"sizes": results, "growth_mib_per_million_rows": growth, "load_average_start":
             load0, "load_average_end": load1, "cpus": os.cpu_count(),
             "target_gib": TARGET_GIB, "within_target": passed}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

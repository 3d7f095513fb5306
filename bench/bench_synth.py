"""Synthesis benchmark: ``cohort.synth.synthesize`` on a million subjects with full visit tables.

The bundled skyler2015 spec (four arms, baseline table with exact moments, HbA1c and fasting
glucose at four visits, medications, adverse events) is scaled with ``n`` to 1,000,000
subjects and synthesised in memory: subjects, infusions, measurements (8 rows per subject),
adverse events and medications as contract-shaped pandas frames. Timed in the same run, as
baselines:

* ``numpy draw``: ``np.random.default_rng(seed).standard_normal(k)`` for as many numbers as the
  cohort holds (measurement values plus subjects' numeric columns): the floor of any generator;
* ``write`` (with ``--write``): writing the same tables as CSV through
  ``cohort.io.write.write_cohort`` (atomic, pandas ``to_csv``).

Each timing is the median of ``--repeats`` runs (imports and the spec load excluded), as wall
clock and as CPU time of this (single-threaded) process, with the load average: on a busy
machine the wall clock overstates the cost and the CPU time is the better guide. Peak memory is
the process's ``ru_maxrss``. Target (issue 3): under 10 s for 1,000,000 subjects.

Usage: ``python bench/bench_synth.py [--quick] [--n N] [--study NAME] [--repeats R] [--write]
[--json-out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FULL_N = 1_000_000
QUICK_N = 100_000
TARGET_SECONDS = 10.0
SEED = 20150707


def _median_time(func: Any, repeats: int) -> tuple[float, float, Any]:
    """Median wall-clock and CPU seconds of ``func()`` and its last result."""
    wall, cpu, result = [], [], None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        result = func()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu), result


def run(n: int, study: str, repeats: int, write: bool) -> dict[str, Any]:
    """Time the synthesis and its baselines; return the results."""
    import numpy as np

    from cohort.spec.registry import resolve_spec
    from cohort.synth import load_spec, synthesize

    spec = resolve_spec(study)[0] if "/" not in study else load_spec(study)
    synthesize(spec, seed=SEED, n=max(len(spec.arms), 1000))  # warm caches and lazy imports
    seconds, cpu, result = _median_time(lambda: synthesize(spec, seed=SEED, n=n), repeats)
    tables = result.tables
    rows = {name: len(frame) for name, frame in tables.items()}
    numbers = int(rows["measurements"] + sum(
        frame.select_dtypes("number").shape[1] * len(frame) for frame in tables.values()
        if frame is not tables["measurements"]))
    draw_seconds, draw_cpu, _ = _median_time(
        lambda: np.random.default_rng(SEED).standard_normal(numbers), max(repeats, 3))
    out: dict[str, Any] = {
        "study": spec.study.id, "n_subjects": result.n, "rows": rows, "numbers": numbers,
        "synth_seconds": round(seconds, 3), "synth_cpu_seconds": round(cpu, 3),
        "numpy_draw_seconds": round(draw_seconds, 4),
        "numpy_draw_cpu_seconds": round(draw_cpu, 4),
        "ratio_vs_numpy_draw": round(seconds / draw_seconds, 1),
        "load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count(),
        "target_seconds": TARGET_SECONDS if n >= FULL_N else None,
        "within_target": seconds < TARGET_SECONDS if n >= FULL_N else None,
        "within_target_cpu": cpu < TARGET_SECONDS if n >= FULL_N else None,
        "notes": result.notes,
    }
    if write:
        with tempfile.TemporaryDirectory(prefix="cohort-bench-synth-") as tmp:
            write_seconds, _, _ = _median_time(
                lambda: result.write(Path(tmp) / "cohort", readme=False), 1)
            size = sum(p.stat().st_size for p in (Path(tmp) / "cohort").iterdir())
        out.update({"write_seconds": round(write_seconds, 3), "csv_bytes": size,
                    "ratio_synth_vs_write": round(seconds / write_seconds, 2)})
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} subjects, 1 repeat")
    parser.add_argument("--n", type=int, default=None, help=f"subjects (default {FULL_N:,})")
    parser.add_argument("--study", default="skyler2015", help="registered study or spec path")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs (median)")
    parser.add_argument("--write", action="store_true", help="also time writing the CSVs")
    parser.add_argument("--json-out", type=Path, default=None, help="write results as JSON")
    args = parser.parse_args(argv)
    n = args.n or (QUICK_N if args.quick else FULL_N)
    repeats = args.repeats or (1 if args.quick else 2)
    res = run(n, args.study, repeats, args.write)
    print(f"synthesise {res['study']} at n = {res['n_subjects']:,}: "
          f"{res['synth_seconds']:.2f} s wall, {res['synth_cpu_seconds']:.2f} s CPU (median of "
          f"{repeats}; load average {res['load_average_1min']:.1f} on {res['cpus']} CPUs); rows "
          + ", ".join(f"{k} {v:,}" for k, v in res["rows"].items()))
    print(f"baseline numpy draw of {res['numbers']:,} normals: {res['numpy_draw_seconds']:.3f} s"
          f" -> synthesis takes {res['ratio_vs_numpy_draw']:.0f}x the raw draw")
    if "write_seconds" in res:
        print(f"writing the CSVs ({res['csv_bytes'] / 2**20:.0f} MiB): {res['write_seconds']:.2f}"
              f" s -> synthesis is {res['ratio_synth_vs_write']:.2f}x the write time")
    if res["target_seconds"] is not None:
        wall = "within" if res["within_target"] else "OVER"
        cpu = "within" if res["within_target_cpu"] else "OVER"
        print(f"target: under {TARGET_SECONDS:.0f} s for 1,000,000 subjects: wall clock {wall}, "
              f"CPU time {cpu}")
    print(f"peak memory: {res['peak_rss_mib']:,} MiB")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Write benchmark: ``cohort synth --n 1000000 --out DIR`` and the CSV engine under it (issue 16).

Two parts, each timed in the same run against baselines, repeats interleaved (every method
once, then again) so that the load of a shared machine affects all alike:

1. **Whole processes** (imports included; wall seconds, CPU seconds and peak RSS of the child):

   * ``cohort synth``: ``cohort synth skyler2015 --n N --out DIR`` end to end (synthesis, then
     the folder written atomically);
   * ``synthesis only``: a Python process that imports ``cohort.synth`` and synthesises the same
     cohort in memory, writing nothing: the floor of the command.

2. **Writing in one process** (imports and synthesis excluded), the same tables:

   * ``cohort write``: ``write_cohort(tables, DIR)`` (polars, ``cohort.io.serialise``);
   * ``plain polars``: ``pl.from_pandas(frame).write_csv(path)`` per table, with polars' own
     number formats (not the files cohort writes, which keep pandas' formats; the floor);
   * ``pandas to_csv`` (with ``--pandas``, one run, about 25 s at 1M subjects): the engine used
     before, whose bytes cohort's files must equal; they are compared file by file.

Target (issue 16, item 2): ``cohort synth --n 1000000 --out DIR`` within 8 s.

Usage: ``python bench/bench_write.py [--quick] [--n N] [--repeats R] [--pandas]
[--json-out FILE]``.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FULL_N = 1_000_000
QUICK_N = 100_000
TARGET_SECONDS = 8.0
STUDY = "skyler2015"
SEED = 20150707


def _cohort_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("cohort")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cohort"]


def _env() -> dict[str, str]:
    # the benchmark measures the code beside it, not whatever is installed
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


SYNTH_ONLY = """
import sys
from cohort.synth.generate import synthesize
from cohort.synth.registry import resolve_spec
spec, _ = resolve_spec(sys.argv[1])
synthesize(spec, seed=int(sys.argv[2]), n=int(sys.argv[3]))
"""


def _process(cmd: list[str]) -> dict[str, float]:
    """Run ``cmd``; its wall seconds, CPU seconds and peak RSS (MiB)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=_env())
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read().decode()[-2000:]}")
    return {"seconds": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024}


def _summary(runs: list[dict[str, float]]) -> dict[str, Any]:
    return {"median_s": round(statistics.median(r["seconds"] for r in runs), 3),
            "runs_s": [round(r["seconds"], 3) for r in runs],
            "median_cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 3),
            "peak_rss_mib": round(max(r["rss_mib"] for r in runs))}


def whole_processes(n: int, repeats: int, tmp: Path) -> dict[str, Any]:
    """Part 1: the command against synthesis alone, both as whole processes."""
    methods = {
        "cohort_synth": [*_cohort_cmd(), "synth", STUDY, "--n", str(n), "--seed", str(SEED),
                         "--out", str(tmp / "cli")],
        "synthesis_only": [sys.executable, "-c", SYNTH_ONLY, STUDY, str(SEED), str(n)],
    }
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in methods}
    for _ in range(repeats):
        for kind, cmd in methods.items():
            runs[kind].append(_process(cmd))
    return {kind: _summary(r) for kind, r in runs.items()}


def _timed(func: Any) -> dict[str, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    func()
    return {"seconds": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
            "rss_mib": 0.0}


def in_process(n: int, repeats: int, pandas: bool, tmp: Path) -> dict[str, Any]:
    """Part 2: writing the same tables three ways, in this process."""
    sys.path.insert(0, str(ROOT))
    import polars as pl

    from cohort.io.write import write_cohort
    from cohort.synth.generate import _for_file, synthesize
    from cohort.synth.registry import resolve_spec

    spec, _ = resolve_spec(STUDY)
    tables = {k: _for_file(v) for k, v in synthesize(spec, seed=SEED, n=n).tables.items()}

    def plain_polars() -> None:
        (tmp / "polars").mkdir(exist_ok=True)
        for name, frame in tables.items():
            pl.from_pandas(frame).write_csv(tmp / "polars" / f"{name}.csv")

    def pandas_csv() -> None:
        (tmp / "pandas").mkdir(exist_ok=True)
        for name, frame in tables.items():
            frame.to_csv(tmp / "pandas" / f"{name}.csv", index=False, lineterminator="\n",
                         float_format="%.10g")

    methods: dict[str, Any] = {"cohort_write": lambda: write_cohort(tables, tmp / "cohort"),
                               "plain_polars": plain_polars}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in methods}
    for _ in range(repeats):
        for kind, func in methods.items():
            runs[kind].append(_timed(func))
    out: dict[str, Any] = {kind: _summary(r) for kind, r in runs.items()}
    out["rows"] = {k: len(v) for k, v in tables.items()}
    out["csv_mib"] = round(sum(p.stat().st_size for p in (tmp / "cohort").iterdir()) / 2**20)
    if pandas:
        out["pandas_to_csv"] = _summary([_timed(pandas_csv)])
        out["identical_to_pandas"] = all(
            filecmp.cmp(tmp / "cohort" / f"{k}.csv", tmp / "pandas" / f"{k}.csv", shallow=False)
            for k in tables)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N:,} subjects")
    parser.add_argument("--n", type=int, default=None, help=f"subjects (default {FULL_N:,})")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats")
    parser.add_argument("--pandas", action="store_true",
                        help="also time pandas.to_csv (once) and compare the bytes")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    n = args.n or (QUICK_N if args.quick else FULL_N)
    repeats = args.repeats or (2 if args.quick else 3)
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cohort-bench-write-") as tmp:
        procs = whole_processes(n, repeats, Path(tmp))
        writes = in_process(n, repeats, args.pandas or args.quick, Path(tmp))
    load1 = os.getloadavg()
    cli, floor = procs["cohort_synth"], procs["synthesis_only"]
    print(f"{STUDY} at n = {n:,} ({', '.join(f'{k} {v:,}' for k, v in writes['rows'].items())};"
          f" {writes['csv_mib']} MiB of CSV); load average {load0[0]:.1f} -> {load1[0]:.1f} on "
          f"{os.cpu_count()} CPUs; medians of {repeats}, interleaved")
    print(f"  {'whole process':28} {'median s':>9} {'cpu s':>7} {'peak MiB':>9}   runs")
    for kind, label in (("cohort_synth", "cohort synth --out"),
                        ("synthesis_only", "synthesis only (no write)")):
        r = procs[kind]
        print(f"  {label:28} {r['median_s']:9.2f} {r['median_cpu_s']:7.2f} "
              f"{r['peak_rss_mib']:9,}   {', '.join(f'{x:.2f}' for x in r['runs_s'])}")
    print(f"  writing costs the command {cli['median_s'] - floor['median_s']:.2f} s "
          f"({cli['median_s'] / floor['median_s']:.2f}x synthesis alone)")
    print(f"  {'writing in one process':28} {'median s':>9} {'cpu s':>7}")
    for kind, label in (("cohort_write", "cohort write_cohort"),
                        ("plain_polars", "plain polars write_csv"),
                        ("pandas_to_csv", "pandas to_csv (before)")):
        if kind in writes:
            r = writes[kind]
            print(f"  {label:28} {r['median_s']:9.2f} {r['median_cpu_s']:7.2f}   "
                  f"{r['median_s'] / writes['plain_polars']['median_s']:.2f}x plain polars")
    ok = True
    if "identical_to_pandas" in writes:
        ok = writes["identical_to_pandas"]
        print(f"  cohort's files byte for byte pandas': {'yes' if ok else 'NO'}")
    passed = cli["median_s"] <= TARGET_SECONDS
    if n == FULL_N:
        print(f"target: cohort synth --n 1,000,000 --out within {TARGET_SECONDS:g} s: "
              f"{'PASS' if passed else 'FAIL'} ({cli['median_s']:.2f} s)")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(
            {"n": n, "repeats": repeats, "load_average_start": load0, "load_average_end": load1,
             "cpus": os.cpu_count(), "processes": procs, "writes": writes,
             "target_seconds": TARGET_SECONDS, "within_target": passed if n == FULL_N else None},
            indent=2) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

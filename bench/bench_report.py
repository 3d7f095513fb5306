"""Start-up, report and reproduce benchmark: the commands a user runs on the bundled cohorts
(issue 16, item 5).

Each command runs as a whole process (start, imports, work, exit), all from this one process,
repeated interleaved (every command of every checkout once, then again), so that the load of
other processes on a shared machine falls on all of them alike. Reported per command: median
wall and CPU seconds (user + system of the child), peak memory, and ratios against baselines
measured in the same run:

* ``python -c pass`` (the interpreter) and ``python -c "import <libraries>"`` (the libraries a
  command needs: its floor);
* with ``--compare ROOT``, the same commands run on another checkout (``PYTHONPATH=ROOT``),
  e.g. the code before a change (``git archive <commit> | tar -x -C ROOT``): ``now/before``.

Commands:

* ``cohort --help``;
* ``cohort validate synthetic/lu2021/cohort`` (53 subjects);
* ``cohort report synthetic/lu2021/cohort --out FILE`` (the HTML report: 8 figures, paired
  change, ANCOVA, remission, Kaplan-Meier);
* ``cohort report synthetic/lu2021/cohort --study lu2021 --out FILE`` (the same with the study
  reproduced on the cohort and shown side by side);
* ``cohort reproduce --all --out DIR`` (every registered study reproduced, and each study's
  report built from that run's results).

Targets (issue 16, item 5): reproduce --all <= 5 s, report <= 2.5 s, validate <= 0.8 s (wall,
median); judged here, never in the tests.

Usage: ``python bench/bench_report.py [--quick] [--repeats R] [--compare ROOT]
[--json-out FILE]``.
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

ROOT = Path(__file__).resolve().parent.parent
COHORT = ROOT / "synthetic" / "lu2021" / "cohort"
TARGETS = {"validate": 0.8, "report": 2.5, "reproduce_all": 5.0}
LIBRARIES = {
    "validate": "pandas, polars",
    # what a report on a bundled cohort imports: the ANCOVA's OLS (statsmodels), the tests
    # (scipy.stats) and the figures (matplotlib's Agg); no scikit-learn unless a prediction
    # model is evaluated, no lifelines, seaborn or pyplot
    "report": "pandas, polars, scipy.stats, statsmodels.regression.linear_model, "
              "matplotlib.figure, matplotlib.backends.backend_agg",
}
FLOORS = {
    "python": [sys.executable, "-c", "pass"],
    "imports_validate": [sys.executable, "-c", f"import {LIBRARIES['validate']}"],
    "imports_report": [sys.executable, "-c", f"import {LIBRARIES['report']}"],
}
FLOOR_OF = {"validate": "imports_validate", "report": "imports_report",
            "report_study": "imports_report", "reproduce_all": "imports_report"}


def _cohort_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("cohort")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cohort"]


def _commands(tmp: Path, tag: str) -> dict[str, list[str]]:
    cohort = _cohort_cmd()
    return {
        "help": [*cohort, "--help"],
        "validate": [*cohort, "validate", str(COHORT)],
        "report": [*cohort, "report", str(COHORT), "--out", str(tmp / f"report-{tag}.html")],
        "report_study": [*cohort, "report", str(COHORT), "--study", "lu2021", "--out",
                         str(tmp / f"study-{tag}.html")],
        "reproduce_all": [*cohort, "reproduce", "--all", "--out", str(tmp / f"all-{tag}")],
    }


def _process(cmd: list[str], root: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=root)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed: {err.read().decode()[-2000:]}")
    return {"seconds": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "rss_mib": usage.ru_maxrss / 1024}


def _clean(tmp: Path) -> None:
    # a report or folder written by the previous repeat: each run writes anew
    for p in tmp.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def run(repeats: int, compare: Path | None, quick: bool) -> dict[str, Any]:
    roots = {"now": ROOT, **({"before": compare} if compare else {})}
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="cohort-bench-report-") as tmp_name:
        tmp = Path(tmp_name)
        for _ in range(repeats):
            for name, cmd in FLOORS.items():
                runs.setdefault(name, []).append(_process(cmd, ROOT))
            for name in _commands(tmp, "x"):
                if quick and name in ("reproduce_all", "report_study"):
                    continue
                for tag, root in roots.items():  # the checkouts back to back, per command
                    _clean(tmp)
                    runs.setdefault(f"{name}:{tag}", []).append(
                        _process(_commands(tmp, tag)[name], root))
    return {key: {"median_s": round(statistics.median(r["seconds"] for r in rs), 3),
                  "runs_s": [round(r["seconds"], 3) for r in rs],
                  "median_cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 3),
                  "peak_rss_mib": round(max(r["rss_mib"] for r in rs))}
            for key, rs in runs.items()}


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 repeats, no reproduce --all and no --study report")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (5)")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another checkout: its commands run beside these, interleaved")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    load0 = os.getloadavg()
    res = run(repeats, args.compare, args.quick)
    load1 = os.getloadavg()
    print(f"whole processes, medians of {repeats} interleaved runs; load average "
          f"{load0[0]:.1f} -> {load1[0]:.1f} on {os.cpu_count()} CPUs")
    head = f"  {'command':22} {'wall s':>7} {'cpu s':>7} {'MiB':>5} {'x floor':>8}"
    if args.compare:
        head += f" {'before s':>9} {'cpu s':>7} {'now/before wall':>16} {'cpu':>6}"
    print(head)
    for key, r in res.items():
        if key.endswith(":before"):
            continue
        name = key.removesuffix(":now")
        floor = res.get(FLOOR_OF.get(name, ""))
        line = (f"  {name:22} {r['median_s']:7.2f} {r['median_cpu_s']:7.2f} "
                f"{r['peak_rss_mib']:5,} "
                f"{_ratio(r['median_cpu_s'], floor['median_cpu_s']) if floor else '':>8}")
        before = res.get(f"{name}:before")
        if before is not None:
            line += (f" {before['median_s']:9.2f} {before['median_cpu_s']:7.2f} "
                     f"{_ratio(r['median_s'], before['median_s']):>16} "
                     f"{_ratio(r['median_cpu_s'], before['median_cpu_s']):>6}")
        print(line)
    print("  (x floor: CPU seconds over those of importing the libraries the command needs)")
    for name, target in TARGETS.items():
        r = res.get(f"{name}:now")
        if r is not None:
            verdict = "PASS" if r["median_s"] <= target else "FAIL"
            print(f"target: {name} within {target:g} s: {verdict} ({r['median_s']:.2f} s wall, "
                  f"{r['median_cpu_s']:.2f} s CPU)")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(
            {"repeats": repeats, "load_average_start": load0, "load_average_end": load1,
             "cpus": os.cpu_count(), "compare": str(args.compare) if args.compare else None,
             "results": res, "targets_s": TARGETS}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

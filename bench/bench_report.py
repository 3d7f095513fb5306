"""Start-up and report benchmark: the commands a user runs on the bundled cohorts (issue 16).

Each command runs as a whole process (start, imports, work, exit), repeats interleaved (every
command once, then again), wall and CPU seconds (user + system of the child) and peak memory:

* ``cohort --help``;
* ``cohort validate synthetic/lu2021/cohort`` (53 subjects);
* ``cohort report synthetic/lu2021/cohort --out FILE`` (the HTML report: 8 figures,
  ANCOVA, remission prediction with cross-validation, Kaplan-Meier);
* ``cohort reproduce --all --out DIR`` (five studies, each reproduced and reported);

with two floors measured in the same run: ``python -c pass`` (the interpreter) and
``python -c "import pandas, pandera.pandas, polars, ..."`` (the libraries each command
needs). ``--compare ROOT`` runs every command a second time with ``PYTHONPATH=ROOT``
(another checkout, e.g. ``git archive <commit> | tar -x -C ROOT``), interleaved, for a
before/after ratio measured under the same load.

Targets (issue 16, item 5): reproduce --all <= 5 s, report <= 2.5 s, validate <= 0.8 s.

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
    "validate": "pandas, pandera.pandas, polars",
    "report": "pandas, pandera.pandas, polars, matplotlib.figure, sklearn.linear_model, "
              "sklearn.ensemble, statsmodels.api, lifelines, scipy.stats",
}


def _cohort_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("cohort")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cohort"]


def _commands(tmp: Path, tag: str) -> dict[str, list[str]]:
    cohort = _cohort_cmd()
    return {
        "help": [*cohort, "--help"],
        "validate": [*cohort, "validate", str(COHORT)],
        "report": [*cohort, "report", str(COHORT), "--out", str(tmp / f"report-{tag}.html")],
        "reproduce_all": [*cohort, "reproduce", "--all", "--out", str(tmp / f"all-{tag}")],
    }


FLOORS = {
    "python": [sys.executable, "-c", "pass"],
    "imports_validate": [sys.executable, "-c", f"import {LIBRARIES['validate']}"],
    "imports_report": [sys.executable, "-c", f"import {LIBRARIES['report']}"],
}


def _process(cmd: list[str], root: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
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
            for tag, root in roots.items():
                for name, cmd in _commands(tmp, tag).items():
                    if quick and name == "reproduce_all":
                        continue
                    _clean(tmp)
                    runs.setdefault(f"{name}:{tag}", []).append(_process(cmd, root))
    return {key: {"median_s": round(statistics.median(r["seconds"] for r in rs), 3),
                  "runs_s": [round(r["seconds"], 3) for r in rs],
                  "median_cpu_s": round(statistics.median(r["cpu_s"] for r in rs), 3),
                  "peak_rss_mib": round(max(r["rss_mib"] for r in rs))}
            for key, rs in runs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats, no reproduce --all")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved repeats (5)")
    parser.add_argument("--compare", type=Path, default=None,
                        help="another checkout: its commands run beside these")
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args(argv)
    repeats = args.repeats or (2 if args.quick else 5)
    load0 = os.getloadavg()
    res = run(repeats, args.compare, args.quick)
    load1 = os.getloadavg()
    print(f"whole processes, medians of {repeats} interleaved runs; load average "
          f"{load0[0]:.1f} -> {load1[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  {'command':28} {'wall s':>7} {'cpu s':>7} {'peak MiB':>9}" +
          (f" {'before s':>9} {'cpu s':>7} {'now/before':>10}" if args.compare else ""))
    for key, r in res.items():
        if key.endswith(":before"):
            continue
        line = (f"  {key.removesuffix(':now'):28} {r['median_s']:7.2f} {r['median_cpu_s']:7.2f} "
                f"{r['peak_rss_mib']:9,}")
        before = res.get(key.replace(":now", ":before"))
        if before is not None and key.endswith(":now"):
            line += (f" {before['median_s']:9.2f} {before['median_cpu_s']:7.2f} "
                     f"{r['median_cpu_s'] / before['median_cpu_s']:10.2f}")
        print(line)
    for name, target in TARGETS.items():
        r = res.get(f"{name}:now")
        if r is not None:
            verdict = "PASS" if r["median_s"] <= target else "FAIL"
            print(f"target: {name} within {target:g} s: {verdict} ({r['median_s']:.2f} s wall, "
                  f"{r['median_cpu_s']:.2f} s CPU)")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(
            {"repeats": repeats, "load_average_start": load0, "load_average_end": load1,
             "cpus": os.cpu_count(), "results": res, "targets_s": TARGETS}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

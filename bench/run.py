"""Run every benchmark script (``bench/bench_*.py``), one after the other.

Each script is standalone: it runs its own comparison interleaved (every method once, then
again, so that the load of a shared machine affects all alike), prints its numbers beside the
baseline measured in the same run with a PASS/FAIL line per target, and accepts ``--quick``
(smaller sizes, for a smoke run) and ``--json-out FILE`` (its results as JSON). This runner
forwards each script's output as it comes, writes ``bench/results/<name>.json`` (the runner's
record: exit code, seconds, command, load average, and the script's own results under
``results``), ends with a summary of every target line (PASS/FAIL, with the measured ratio)
and the load average, and exits non-zero if any script failed.

Usage: ``python bench/run.py [--only NAME] [--quick]`` (``make bench`` runs it with no options).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def discover(only: list[str] | None = None) -> list[Path]:
    """The benchmark scripts, sorted by name; ``only`` selects by name (``validate`` or
    ``bench_validate`` or ``bench_validate.py``)."""
    scripts = sorted(BENCH.glob("bench_*.py"))
    if not only:
        return scripts
    wanted = {n.removesuffix(".py").removeprefix("bench_") for n in only}
    return [s for s in scripts if s.stem.removeprefix("bench_") in wanted]


def run_one(script: Path, *, quick: bool) -> dict[str, Any]:
    """Run one script with its output forwarded; return the runner's record of it."""
    name = script.stem.removeprefix("bench_")
    with tempfile.TemporaryDirectory(prefix="cohort-bench-run-") as tmp:
        json_out = Path(tmp) / "results.json"
        cmd = [sys.executable, str(script), "--json-out", str(json_out)]
        if quick:
            cmd.append("--quick")
        print(f"=== {script.name}{' --quick' if quick else ''}", flush=True)
        started = datetime.now(UTC).isoformat(timespec="seconds")
        t0 = time.perf_counter()
        load0 = os.getloadavg()
        # stdout is forwarded line by line as it comes (stderr is inherited); the target
        # lines are kept for the summary
        targets = []
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                print(line, end="", flush=True)
                if TARGET_LINE.search(line):
                    targets.append(line.strip())
        returncode = proc.returncode
        seconds = time.perf_counter() - t0
        load1 = os.getloadavg()
        results = json.loads(json_out.read_text()) if json_out.exists() else None
    status = "ok" if returncode == 0 else f"FAILED (exit {returncode})"
    print(f"=== {script.name}: {status} in {seconds:.1f} s", flush=True)
    return {"name": name, "script": script.name, "quick": quick, "started": started,
            "seconds": round(seconds, 3), "returncode": returncode,
            "load_average": [round(load0[0], 2), round(load1[0], 2)], "targets": targets,
            "command": [Path(cmd[0]).name, *cmd[1:2], *cmd[4:]], "results": results}


TARGET_LINE = re.compile(r"\b(PASS|FAIL)\b|^\s*targets?\b", re.IGNORECASE)
"""A line of a script's output that states a target met or not."""


def summary(records: list[dict[str, Any]]) -> str:
    """Every target line of the run, by script, with the load average during each."""
    lines = [f"summary ({os.cpu_count()} CPUs; compare ratios, not wall times, between "
             "machines):"]
    for r in records:
        lo, hi = r["load_average"]
        lines.append(f"  {r['script']} ({r['seconds']:.0f} s, load average {lo:.1f} -> "
                     f"{hi:.1f}){'' if r['returncode'] == 0 else ': FAILED'}")
        lines += [f"    {t}" for t in r["targets"]] or ["    (no target line)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks in bench/.")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this benchmark (e.g. validate); may be repeated")
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes: a smoke run of every benchmark")
    args = parser.parse_args(argv)
    scripts = discover(args.only)
    if not scripts:
        known = ", ".join(s.stem.removeprefix("bench_") for s in discover()) or "none"
        print(f"run.py: no benchmark named {', '.join(args.only or [])}; known: {known}",
              file=sys.stderr)
        return 2
    RESULTS.mkdir(exist_ok=True)
    failed = []
    records = []
    for script in scripts:
        record = run_one(script, quick=args.quick)
        records.append(record)
        path = RESULTS / f"{record['name']}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(path)  # atomic: a half-written results file never replaces a good one
        if record["returncode"] != 0:
            failed.append(script.name)
    print("\n" + summary(records), flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

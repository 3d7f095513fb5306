"""Run every benchmark script (``bench/bench_*.py``), one after the other.

Each script is standalone: it prints its own results and accepts ``--quick`` (smaller sizes,
for a smoke run) and ``--json-out FILE`` (its results as JSON). This runner forwards each
script's output as it comes, writes ``bench/results/<name>.json`` (the runner's record: exit
code, seconds, command, and the script's own results under ``results``), and exits non-zero if
any script failed.

Usage: ``python bench/run.py [--only NAME] [--quick]`` (``make bench`` runs it with no options).
"""

from __future__ import annotations

import argparse
import json
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
        # stdout and stderr are inherited: the script's output appears as it is printed
        returncode = subprocess.run(cmd, check=False).returncode
        seconds = time.perf_counter() - t0
        results = json.loads(json_out.read_text()) if json_out.exists() else None
    status = "ok" if returncode == 0 else f"FAILED (exit {returncode})"
    print(f"=== {script.name}: {status} in {seconds:.1f} s", flush=True)
    return {"name": name, "script": script.name, "quick": quick, "started": started,
            "seconds": round(seconds, 3), "returncode": returncode,
            "command": [Path(cmd[0]).name, *cmd[1:2], *cmd[4:]], "results": results}


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
    for script in scripts:
        record = run_one(script, quick=args.quick)
        path = RESULTS / f"{record['name']}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record, indent=2) + "\n")
        tmp.replace(path)  # atomic: a half-written results file never replaces a good one
        if record["returncode"] != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

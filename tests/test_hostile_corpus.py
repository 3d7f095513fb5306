"""The hostile-input corpus (tests/corpus/make_corpus.py): every case gives its exit code and
findings, never a crash, a hang, exit 3 or a silent pass; no input or user file is changed, and
every finding carries its file, and its row and column where a row exists.

Cases run in this process through the typer app (with an alarm as a guard against hangs);
those that could block the process that runs them (FIFOs) run as a separate process with a
timeout.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "corpus"))
import make_corpus

from cohort.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 60
"""Seconds any case may take (the slowest takes a few seconds; a hang would take forever)."""

ROW_RULES = {
    "type", "date_in_day_column", "date", "not_null", "allowed_values", "range",
    "duplicate_key", "unknown_param", "unknown_unit", "unit_not_accepted", "unit_mismatch",
    "plausible_range", "conversion_needs_weight", "unknown_subject", "after_last_contact",
    "first_infusion_day", "control_with_active_infusion", "infusion_order", "dose_missing",
    "placebo_dose", "placebo_donor", "active_zero_dose", "end_before_start", "bmi_inconsistent",
    "age_inconsistent", "similar_id",
}
"""Rules about a cell: their findings must name file, row and column."""

FILELESS = {"missing_table", "treated_without_infusion"}
"""Rules about a table that may have no file at all."""


def _snapshot(folder: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``folder`` (links and special files not followed)."""
    out = {}
    for dirpath, _dirs, files in os.walk(folder, followlinks=False):
        for name in files:
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            try:
                out[path.relative_to(folder).as_posix()] = hashlib.sha256(
                    path.read_bytes()).hexdigest()
            except OSError:
                continue
    return out


class _TimeoutError(BaseException):  # not caught by the CLI's error boundary
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _TimeoutError(f"no answer within {TIMEOUT} s")


def _run(case: make_corpus.Case, folder: Path) -> tuple[int, str, str]:
    """(exit code, stdout, stdout + stderr) of the case's command."""
    args = make_corpus.args_for(case, folder)
    if case.subprocess:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
        try:
            proc = subprocess.run([sys.executable, "-m", "cohort", *args], capture_output=True,
                                  text=True, timeout=TIMEOUT, env=env, cwd=folder)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{case.name}: hung (no answer within {TIMEOUT} s)")
        return proc.returncode, proc.stdout, proc.stdout + proc.stderr
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT)
    try:
        result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    except _TimeoutError:
        pytest.fail(f"{case.name}: hung (no answer within {TIMEOUT} s)")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    if isinstance(result.exception, _TimeoutError):
        pytest.fail(f"{case.name}: hung (no answer within {TIMEOUT} s)")
    return result.exit_code, result.stdout, result.output


def _changed_ok(path: str, allowed: tuple[str, ...]) -> bool:
    return any(path == a or path.startswith(a.rstrip("/") + "/") for a in allowed)


@pytest.mark.parametrize("case", make_corpus.CASES, ids=[c.name for c in make_corpus.CASES])
def test_corpus_case(case: make_corpus.Case, tmp_path: Path) -> None:
    folder = tmp_path / case.name
    make_corpus.materialise(case, folder)
    before = _snapshot(folder)

    code, stdout, output = _run(case, folder)

    assert "Traceback" not in output, output
    assert code != 3 and "internal error" not in output, f"{case.name}: exit 3 (a bug)\n{output}"
    assert code == case.exit, f"{case.name}: exit {code}, expected {case.exit}\n{output[-3000:]}"
    if case.output is not None:
        assert case.output in output, f"{case.name}: {case.output!r} not in\n{output[-3000:]}"

    after = _snapshot(folder)
    touched = sorted(p for p in set(before) | set(after)
                     if before.get(p) != after.get(p) and not _changed_ok(p, case.changed))
    assert touched == [], f"{case.name}: files changed or created: {touched}"

    if "--format" in case.args and "json" in case.args and case.args[0] == "validate":
        doc = json.loads(stdout)
        findings = doc["findings"]
        assert doc["exit_code"] == case.exit
        rules = Counter(f["rule"] for f in findings)
        for rule in case.rules:
            assert rule in rules, f"{case.name}: no {rule} finding; got {dict(rules)}"
        for f in findings:
            if f["rule"] not in FILELESS:
                assert f["file"], f"{case.name}: finding without a file: {f}"
            if f["rule"] in ROW_RULES:
                assert f["row"] is not None and f["column"], \
                    f"{case.name}: finding without row or column: {f}"
        for rule, (row, column) in case.located.items():
            first = next(f for f in findings if f["rule"] == rule)
            assert (first["row"], first["column"]) == (row, column), \
                f"{case.name}: {rule} at {(first['row'], first['column'])}, expected " \
                f"{(row, column)}"
    elif case.rules:
        pytest.fail(f"{case.name}: rules can only be checked on validate --format json")


def test_corpus_is_broad():
    """At least 60 cases, in every category the issue names."""
    cases = make_corpus.CASES
    assert len(cases) >= 60
    assert len({c.name for c in cases}) == len(cases)
    categories = Counter(c.category for c in cases)
    for needed in ("encodings", "delimiters", "quoting", "excel", "parquet", "units",
                   "time order", "file system", "hostile yaml", "output locations",
                   "markup and control"):
        assert categories[needed] >= 2, (needed, categories)

"""The package's docstring examples are real: they run under ``pytest --doctest-modules
cohort`` and show the output they produce.

The test suite runs that command (so ``make test`` and every full run of ``pytest`` catch an
example that a change broke; ``make doctest`` runs it alone), and checks that no example
escapes it (``+SKIP``) or shows nothing.
"""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cohort"


def _docstring_examples() -> list[tuple[str, doctest.Example]]:
    finder = doctest.DocTestParser()
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if ">>>" not in text:
            continue
        for example in finder.get_examples(text, str(path)):
            out.append((f"{path.relative_to(ROOT)}:{example.lineno + 1}", example))
    return out


DOCTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--doctest-modules",
           "cohort"]


def test_make_doctest_is_the_command_run_here() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^doctest:.*\n((?:\t.*\n)+)", makefile, flags=re.M)
    assert recipe is not None
    assert re.search(r"pytest .*--doctest-modules cohort\b", recipe.group(1))


@pytest.mark.slow
def test_docstring_examples_pass() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(DOCTEST, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    ran = re.search(r"(\d+) passed", proc.stdout)
    assert ran is not None and int(ran.group(1)) >= 20, proc.stdout[-2000:]


def test_no_docstring_example_is_skipped() -> None:
    skipped = [where for where, ex in _docstring_examples()
               if ex.options.get(doctest.SKIP)]
    assert skipped == [], "an example that does not run is not an example"


def test_the_key_entry_points_have_examples_with_output() -> None:
    examples = _docstring_examples()
    files = {where.split(":")[0] for where, _ in examples}
    for module in ("cohort/datasets.py", "cohort/studies/reproduce.py",
                   "cohort/synth/generate.py", "cohort/validation/pipeline.py",
                   "cohort/analysis/ancova.py", "cohort/analysis/paired.py",
                   "cohort/analysis/responders.py", "cohort/analysis/remission.py",
                   "cohort/analysis/kaplan_meier.py", "cohort/analysis/table1.py",
                   "cohort/derive/visit_windows.py", "cohort/derive/baseline.py",
                   "cohort/derive/insulin.py", "cohort/spec/readme.py"):
        assert module in files, f"{module} has no docstring example"
    with_output = [where for where, ex in examples if ex.want.strip()]
    assert len(with_output) >= 30

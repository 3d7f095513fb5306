"""The package's docstring examples are real: they run under ``pytest --doctest-modules
cohort`` (the ``doctest`` step of ``make test``) and show the output they produce.

The examples themselves are executed by that step, not here; these tests check that the step
is wired into ``make test`` and that no example escapes it (``+SKIP``) or shows nothing.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

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


def test_make_test_runs_the_docstring_examples() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, flags=re.M)
    assert test_recipe is not None and "doctest" in test_recipe.group(1)
    doctest_recipe = re.search(r"^doctest:.*\n((?:\t.*\n)+)", makefile, flags=re.M)
    assert doctest_recipe is not None
    assert re.search(r"pytest .*--doctest-modules cohort\b", doctest_recipe.group(1))


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

"""The study notebooks: ``notebooks/<study>.py`` (jupytext percent scripts, the source) paired
with the executed ``notebooks/<study>.ipynb``.

Checked here, cheaply: one notebook per registered study; each ``.ipynb`` holds exactly the
cells of its script and was executed top to bottom without an error or a warning; the scripts
import only the public API and change no global state; and every script runs. The scripts run
as plain Python in one subprocess (imports paid once, matplotlib's Agg backend, each script in
a fresh namespace), not in a kernel: a kernel run of all nine is ``make notebooks``.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STUDIES = tuple(sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")))
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# What a notebook must not do, as (pattern, reason). Checked on the code cells' text.
FORBIDDEN = [
    (r"np\.random\.(?!default_rng\b)\w+", "the global numpy random generator"),
    (r"^\s*(import random|from random import)", "the global random module"),
    (r"\bsns\.set\w*\(|\bset_theme\(", "a global seaborn style"),
    (r"\bplt\.|matplotlib\.pyplot", "pyplot's global state (draw on Figure objects)"),
    (r"rcParams|\bmatplotlib\.use\(|\bstyle\.use\(", "global matplotlib settings"),
    (r"pd\.set_option|pd\.options\.", "global pandas options (use pd.option_context)"),
    (r"\b(urllib|requests|http\.client|socket)\b", "network access"),
    (r"\bopen\(|\.write\(|to_csv|to_excel|to_parquet|savefig", "writing files"),
]


def _script(study: str) -> Path:
    return NOTEBOOKS / f"{study}.py"


def _code(study: str) -> list[str]:
    return [c.source for c in jupytext.read(_script(study)).cells if c.cell_type == "code"]


# ---------------------------------------------------------------------------------------------
# what "public" means


def documented_modules() -> set[str]:
    """Modules that README.md or docs/*.md name (``cohort.x.y``): the documented API."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)
    named = set(re.findall(r"\b(cohort(?:\.[a-z_][a-z0-9_]*)+)", text))
    out = set()
    for name in named:
        # `cohort.derive.baseline.baseline_values` names a module and a function in it
        parts = name.split(".")
        for i in range(len(parts), 1, -1):
            if _is_module(".".join(parts[:i])):
                out.add(".".join(parts[:i]))
                break
    return out


def _exports(module: str) -> set[str] | None:
    """``__all__`` of a module, or None when it defines none."""
    names = getattr(importlib.import_module(module), "__all__", None)
    return None if names is None else set(names)


def private_uses(source: str, documented: set[str]) -> list[str]:
    """Every use of ``cohort`` in ``source`` that is not public.

    Public: ``cohort`` and its ``__all__``; a package that re-exports its API (defines
    ``__all__``: ``cohort.spec``, ``cohort.studies``, ``cohort.synth``, ...) and the names in
    it, never its submodules; in a package that re-exports nothing (``cohort.analysis``,
    ``cohort.derive``, ``cohort.report.figures``), a module the docs name, and its names
    (its ``__all__`` when it has one). A leading underscore is private everywhere.
    """
    problems: list[str] = []

    def check_module(module: str) -> bool:
        parts = module.split(".")
        if any(p.startswith("_") for p in parts):
            return False
        if module == "cohort":
            return True
        # below a package that re-exports its API, the submodules are its implementation
        for i in range(2, len(parts)):
            if _exports(".".join(parts[:i])) is not None:
                return False
        return module in documented

    def check_name(module: str, name: str) -> bool:
        if name.startswith("_"):
            return False
        exported = _exports(module)
        if exported is not None:
            return name in exported
        return not _is_module(f"{module}.{name}") or f"{module}.{name}" in documented

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "cohort" and not check_module(alias.name):
                    problems.append(f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "cohort":
            if not check_module(node.module):
                problems.append(f"from {node.module} import ...")
                continue
            problems += [f"from {node.module} import {a.name}" for a in node.names
                         if not check_name(node.module, a.name)]
        elif isinstance(node, ast.Attribute):
            chain = []
            inner: ast.AST = node
            while isinstance(inner, ast.Attribute):
                chain.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id == "cohort":
                path = ["cohort", *reversed(chain)]
                # cohort.X.Y...: X must be in cohort.__all__ and each module step public
                if path[1] not in (_exports("cohort") or set()):
                    problems.append(".".join(path[:2]))  # one entry per chain
    return sorted(set(problems))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


# ---------------------------------------------------------------------------------------------
# the notebooks as stored


def test_one_notebook_per_registered_study() -> None:
    from cohort.spec import registered_studies

    assert set(STUDIES) == {e.id for e in registered_studies()}
    scripts = {p.stem for p in NOTEBOOKS.glob("*.py")} - {"execute"}
    assert scripts == set(STUDIES), "each notebook is a .py script paired with its .ipynb"
    assert not (NOTEBOOKS / "build_notebooks.py").exists()


@pytest.mark.parametrize("study", STUDIES)
def test_ipynb_holds_the_cells_of_its_script(study: str) -> None:
    script = jupytext.read(_script(study))
    stored = nbformat.read(NOTEBOOKS / f"{study}.ipynb", as_version=4)
    nbformat.validate(stored)
    assert [(c.cell_type, c.source) for c in stored.cells] == [
        (c.cell_type, c.source) for c in script.cells], (
        f"notebooks/{study}.ipynb is out of step with its script: run `make notebooks`")
    assert stored.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert stored.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("study", STUDIES)
def test_ipynb_was_executed_cleanly(study: str) -> None:
    stored = nbformat.read(NOTEBOOKS / f"{study}.ipynb", as_version=4)
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), (
        "every cell executed once, top to bottom, in one kernel")
    outputs = [(c.id, out) for c in code for out in c.outputs]
    assert [cid for cid, out in outputs if out.output_type == "error"] == []
    stderr = [f"{cid}: {out.text[:200]}" for cid, out in outputs
              if out.output_type == "stream" and out.name == "stderr"]
    assert stderr == [], "a cell wrote to stderr (an unhandled warning?)"
    images = [cid for cid, out in outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 2, "every notebook shows its figures"
    assert all("execution" not in c.metadata for c in code), "timings make every run a diff"
    text = json.dumps([out for _, out in outputs])
    assert str(ROOT) not in text, "an output shows this machine's path"


@pytest.mark.parametrize("study", STUDIES)
def test_notebook_uses_only_the_public_api(study: str) -> None:
    documented = documented_modules()
    # jupytext turns the commented magics of the script (`# %matplotlib inline`) into magics
    sources = ["\n".join(line for line in src.splitlines() if not line.startswith("%"))
               for src in _code(study)]
    assert [p for src in sources for p in private_uses(src, documented)] == []


def test_the_public_api_rule_catches_internal_imports() -> None:
    documented = documented_modules()
    assert {"cohort.analysis.ancova", "cohort.derive.visit_windows",
            "cohort.report.figures.survival"} <= documented
    internal = """
from cohort.studies.display import published_text
from cohort.spec.readme import provenance_rows
from cohort.studies.agreement import judge
from cohort.synth.generate import synthesize
from cohort.analysis._common import arm_levels
from cohort.analysis.responder_status import medication_reduction
from cohort.studies import open_study_cohort
import cohort.studies.recipes
x = cohort.io.read.read_table
"""
    assert private_uses(internal, documented) == [
        "cohort.io", "from cohort.analysis._common import ...",
        "from cohort.analysis.responder_status import ...", "from cohort.spec.readme import ...",
        "from cohort.studies import open_study_cohort", "from cohort.studies.agreement import ...",
        "from cohort.studies.display import ...", "from cohort.synth.generate import ...",
        "import cohort.studies.recipes"]
    public = """
import cohort
from cohort.spec import provenance_rows, resolve_spec
from cohort.studies import reproduce_cohort
from cohort.synth import scorecard
from cohort.analysis.ancova import ancova_analysis
from cohort.derive.visit_windows import make_visits
from cohort.report.figures.survival import plot_km
c = cohort.datasets.load("lu2021")
"""
    assert private_uses(public, documented) == []


@pytest.mark.parametrize("study", STUDIES)
def test_notebook_changes_no_global_state(study: str) -> None:
    problems = [f"{match.group(0).strip()!r} ({reason})"
                for src in _code(study) for pattern, reason in FORBIDDEN
                for match in re.finditer(pattern, src, flags=re.MULTILINE)]
    assert problems == []


def test_forbidden_patterns_catch_what_they_name() -> None:
    hits = {reason for src in ("np.random.seed(1)", "import random", "sns.set_theme()",
                               "import matplotlib.pyplot as plt", "plt.rcParams['x'] = 1",
                               "pd.set_option('display.width', 1)", "import urllib",
                               "fig.savefig('x.png')")
            for pattern, reason in FORBIDDEN if re.search(pattern, src, flags=re.MULTILINE)}
    assert hits == {reason for _, reason in FORBIDDEN}
    allowed = "rng = np.random.default_rng(1)\nwith pd.option_context('a', 1): pass"
    assert not [p for p, _ in FORBIDDEN if re.search(p, allowed, flags=re.MULTILINE)]


# ---------------------------------------------------------------------------------------------
# the scripts run

RUNNER = r"""
import contextlib, io, json, runpy, sys, traceback, warnings
warnings.simplefilter("error")  # as in the test suite: a warning is a failure
report = {}
for path in sys.argv[1:]:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            runpy.run_path(path, run_name="__main__")
        report[path] = {"error": None, "output": out.getvalue()}
    except BaseException:
        report[path] = {"error": traceback.format_exc()[-3000:] + "\n--- output:\n"
                        + out.getvalue()[-2000:], "output": out.getvalue()}
print(json.dumps(report))
"""


def run_scripts(scripts: list[Path], tmp: Path) -> dict[str, dict]:
    """Run ``scripts`` in one subprocess (cwd notebooks/, Agg backend, warnings as errors);
    by script name: ``error`` (None for a clean run, else the traceback and the end of the
    output) and ``output`` (what the script printed)."""
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    proc = subprocess.run([sys.executable, "-c", RUNNER, *map(str, scripts)], cwd=NOTEBOOKS,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {Path(k).stem: v for k, v in json.loads(proc.stdout.splitlines()[-1]).items()}


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def printed_in_order(stored: list[str], fresh: list[str]) -> list[str]:
    """The lines of ``stored`` that ``fresh`` does not print in the same order (``fresh``
    may print more: a script also prints the tables a notebook renders as HTML)."""
    missing, i = [], 0
    for line in stored:
        j = i
        while j < len(fresh) and fresh[j] != line:
            j += 1
        if j == len(fresh):
            missing.append(line)
        else:
            i = j + 1
    return missing


@pytest.fixture(scope="module")
def script_runs(tmp_path_factory) -> dict[str, dict]:
    """Every notebook script, run once; nothing may be written into the repository."""
    listing = {p for p in NOTEBOOKS.rglob("*") if "__pycache__" not in p.parts}
    runs = run_scripts([_script(s) for s in STUDIES], tmp_path_factory.mktemp("notebook-tmp"))
    after = {p for p in NOTEBOOKS.rglob("*") if "__pycache__" not in p.parts}
    assert after == listing, "a notebook wrote into the repository"
    return runs


def test_the_runner_reports_errors_and_warnings(tmp_path) -> None:
    good, bad, noisy = (tmp_path / f"{n}.py" for n in ("good", "bad", "noisy"))
    good.write_text("print('fine')\n", encoding="utf-8")
    bad.write_text("print('before')\nraise KeyError('no such target')\n", encoding="utf-8")
    noisy.write_text("import warnings\nwarnings.warn('careful', UserWarning)\n",
                     encoding="utf-8")
    runs = run_scripts([good, bad, noisy], tmp_path)
    assert runs["good"] == {"error": None, "output": "fine\n"}
    assert "KeyError: 'no such target'" in runs["bad"]["error"]
    assert "before" in runs["bad"]["error"]
    assert "UserWarning: careful" in runs["noisy"]["error"]


def test_printed_in_order_finds_stale_lines() -> None:
    fresh = ["a", "table row", "b 0.41", "c"]
    assert printed_in_order(["a", "b 0.41", "c"], fresh) == []
    assert printed_in_order(["a", "b 0.40", "c"], fresh) == ["b 0.40"]
    assert printed_in_order(["c", "a"], fresh) == ["a"]  # order matters


@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES)
def test_notebook_script_runs(script_runs, study: str) -> None:
    assert script_runs[study]["error"] is None, script_runs[study]["error"]


@pytest.mark.slow
@pytest.mark.parametrize("study", STUDIES)
def test_stored_outputs_are_current(script_runs, study: str) -> None:
    """What the stored notebook printed (counts, verdicts, headlines) is what its script
    prints now: a changed spec, cohort or analysis needs `make notebooks`."""
    stored = nbformat.read(NOTEBOOKS / f"{study}.ipynb", as_version=4)
    printed = [line for cell in stored.cells if cell.cell_type == "code"
               for out in cell.outputs if out.output_type == "stream" and out.name == "stdout"
               for line in _lines(out.text)]
    assert printed, "the notebook prints nothing to compare"
    stale = printed_in_order(printed, _lines(script_runs[study]["output"]))
    assert stale == [], (f"notebooks/{study}.ipynb shows outputs its script no longer "
                         "prints: run `make notebooks`")

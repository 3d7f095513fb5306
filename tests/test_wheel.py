"""The wheel works outside the source tree: built, installed into a fresh virtual environment
in a temporary folder, and run from there on a cohort folder copied out of the checkout.

The fresh environment does not download anything: a ``.pth`` file points it at this
environment's site-packages for the dependencies, after its own site-packages, so that
``import cohort`` finds the installed wheel and never the checkout (whose editable install
is a ``.pth`` file in this environment's site-packages, which a path added by a ``.pth`` line
does not process).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLE = Path(__file__).parent / "data" / "example"

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "COHORT"))}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                          check=False, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    built = _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                  str(dist), str(ROOT)], cwd=tmp)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("cohort-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                      "['purelib'])"], cwd=tmp).stdout.strip())
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n",
                                              encoding="utf-8")
    pip = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                "--no-index", "--quiet", str(wheel)], cwd=tmp)
    assert pip.returncode == 0, pip.stderr[-3000:]
    work = tmp / "elsewhere"
    work.mkdir()
    shutil.copytree(EXAMPLE, work / "my_cohort")
    return {"wheel": wheel, "python": python, "site": site, "bin": env_dir / "bin",
            "work": work}


def test_wheel_holds_the_contract_and_presets(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    for table in ("subjects", "infusions", "measurements", "adverse_events", "medications",
                  "time_to_event"):
        assert f"cohort/schemas/{table}.yaml" in names
    assert "cohort/presets/adam.yaml" in names
    # the study spec's JSON Schema, for editors, and the nine bundled specs
    assert "cohort/spec/study_spec.schema.json" in names
    assert "cohort/spec/analyze_commands.json" in names  # what a request target may name
    assert sum(n.endswith("/spec.yaml") and n.startswith("cohort/synthetic/") for n in names) == 9
    assert not any(n.startswith(("tests/", "schemas/")) for n in names)


def test_import_resolves_to_the_installed_copy(installed):
    done = _run([str(installed["python"]), "-I", "-c",
                 "import cohort, cohort.contract as c; from cohort._resources import data_path;"
                 "print(cohort.__file__); print(data_path('schemas'));"
                 "print(len(c.load_contract().names))"], cwd=installed["work"])
    assert done.returncode == 0, done.stderr
    module, schemas, n_tables = done.stdout.split()
    assert Path(module).is_relative_to(installed["site"])
    assert Path(schemas) == installed["site"] / "cohort" / "schemas"
    assert int(n_tables) == 6  # subjects ... medications, time_to_event
    assert not Path(module).is_relative_to(ROOT)


def test_installed_cli_validates_a_cohort_outside_the_tree(installed):
    done = _run([str(installed["bin"] / "cohort"), "validate", "my_cohort", "--format", "json"],
                cwd=installed["work"])
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    assert doc["valid"] is True
    assert {c["from_unit"] for c in doc["conversions"]} == {"mmol/mol", "pmol/L", "IU/day"}
    # and through the installed package, not the checkout
    where = _run([str(installed["bin"] / "cohort"), "dictionary"], cwd=installed["work"])
    assert where.returncode == 0 and where.stdout.startswith("# Data dictionary")

"""Start-up stays fast: ``cohort --help`` imports none of the heavy libraries, and
``cohort validate`` only those validation needs (an import-graph test, not a timing test)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ["pandas", "pandera", "polars", "pyarrow", "numpy", "scipy", "seaborn", "matplotlib",
         "lifelines", "sklearn", "statsmodels", "openpyxl"]

PROBE = """
import json, sys
from cohort.cli import main
sys.argv = ["cohort", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = {heavy!r}
print(json.dumps(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
"""


def _loaded(*args: str, modules: list[str] = HEAVY) -> tuple[list[str], str]:
    """Which of ``modules`` a ``cohort`` command run in a fresh interpreter imported, and its
    output."""
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=modules), *args],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


def test_help_imports_no_heavy_library():
    loaded, out = _loaded("--help")
    assert "validate" in out
    assert loaded == []


def test_subcommand_help_imports_no_heavy_library():
    loaded, out = _loaded("validate", "--help")
    assert "--mapping" in out
    assert loaded == []


# `cohort validate` needs polars, pandas (the report's tables) and numpy; not the checks'
# pandera (the contract's checks run as polars expressions), nor what analyses, figures and
# reports need
NOT_FOR_VALIDATE = ["pandera", "scipy", "seaborn", "matplotlib", "lifelines", "sklearn",
                    "statsmodels", "openpyxl", "hypothesis"]
BUNDLED = Path(__file__).resolve().parent.parent / "synthetic" / "lu2021" / "cohort"


def test_validate_imports_only_what_it_needs():
    loaded, out = _loaded("validate", str(BUNDLED), modules=[*NOT_FOR_VALIDATE, "polars"])
    assert "valid - 0 errors" in out
    assert loaded == ["polars"]  # the probe sees what was imported: polars was


def test_validate_json_imports_only_what_it_needs():
    loaded, out = _loaded("validate", str(BUNDLED), "--format", "json", modules=NOT_FOR_VALIDATE)
    assert json.loads(out)["engine"] == "native"
    assert loaded == []


def test_pandera_engine_still_imports_pandera():
    loaded, out = _loaded("validate", str(BUNDLED), "--engine", "pandas", modules=["pandera"])
    assert "valid - 0 errors" in out
    assert loaded == ["pandera"]


def test_dictionary_imports_no_table_library():
    loaded, out = _loaded("dictionary", modules=["pandas", "pyarrow", "pandera", "scipy"])
    assert "# Data dictionary" in out
    assert loaded == []

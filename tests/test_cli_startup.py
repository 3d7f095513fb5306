"""``cohort --help`` stays fast: it imports none of the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

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


def _loaded(*args: str) -> tuple[list[str], str]:
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
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

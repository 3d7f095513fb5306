"""Heavy libraries are imported only on the report paths that need them (issue 16 item 5):
the report of a cohort whose prediction model cannot be judged fits no model, so it imports
no scikit-learn; no report imports lifelines, seaborn, pyplot or pandera."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sklearn", "lifelines", "seaborn", "matplotlib.pyplot", "pandera")


@pytest.mark.slow
def test_lu2021_report_imports_only_what_it_uses() -> None:
    code = ("import json, sys\n"
            "from cohort.report.study import build_report\n"
            "r = build_report('synthetic/lu2021/cohort')\n"
            f"print(json.dumps({{'loaded': [m for m in {HEAVY!r} if m in sys.modules],\n"
            "                  'figures': r.render().count('<img ')}))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.splitlines()[-1])
    # the report was really built (eight figures), without any of the heavy libraries
    assert got == {"loaded": [], "figures": 8}

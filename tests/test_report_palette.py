"""The report's colours are seaborn's, without importing seaborn for the default palette."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cohort.report.figures.palette import colors


@pytest.mark.parametrize("n", [1, 3, 10, 13])
def test_default_colours_are_seaborns(n):
    sns = pytest.importorskip("seaborn")
    assert colors(n) == list(sns.color_palette(None, n))


def test_a_named_palette_is_seaborns():
    sns = pytest.importorskip("seaborn")
    assert colors(4, "colorblind") == list(sns.color_palette("colorblind", 4))


def test_default_colours_do_not_import_seaborn():
    code = ("import sys; from cohort.report.figures.palette import colors; colors(5); "
            "print('seaborn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=120)
    assert done.stdout.strip() == "False"

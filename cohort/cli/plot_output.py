"""``--plot FILE`` of the analyze commands: the result's own figure (``result.plot()``, the
function the report uses), written atomically as PNG, PDF or SVG.

A result with nothing to draw raises :class:`~cohort.analysis.result.NothingToPlotError`, an
:class:`~cohort.errors.AnalysisError`: the CLI prints the message and exits 2, no traceback.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cohort.errors import AnalysisError

__all__ = ["FORMATS", "check_plot_path", "write_figure"]

FORMATS = ("png", "pdf", "svg")
"""Figure formats, chosen by the file's extension."""


def check_plot_path(out: Path) -> str:
    """The format of ``--plot out`` from its extension; anything else is an error (exit 2)."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise AnalysisError(f"--plot: the plot file must end in .png, .pdf or .svg, got {out}")
    return fmt


def write_figure(what: Any, out: Path, *, inputs: Sequence[Any] = (), overwrite: bool = False,
                 dpi: int = 150, **plot_options: Any) -> Path:
    """Draw ``what`` (a result, drawn by its ``plot(**plot_options)``, or an Axes) and write its
    figure to ``out`` atomically, with the output manifest of ``inputs``.

    Parameters
    ----------
    what : AnalysisResult or Axes
        The result to draw, or an Axes already drawn.
    out : Path
        ``.png``, ``.pdf`` or ``.svg``.
    inputs : sequence, keyword-only
        Input paths recorded for the overwrite guard (None entries are skipped).
    overwrite : bool, keyword-only
        Replace a file that is not an earlier figure of cohort.
    dpi : int, keyword-only
        Resolution of PNG output.
    **plot_options
        Passed to ``what.plot``.

    Returns
    -------
    Path
        ``out``.
    """
    from cohort.io.outputs import input_files
    from cohort.io.write import write_output_file

    fmt = check_plot_path(out)
    ax = what if hasattr(what, "get_figure") else what.plot(**plot_options)
    fig = ax.get_figure(root=True)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=dpi)
    write_output_file(out, buf.getvalue(), kind="figure",
                      inputs=input_files(*inputs),
                      overwrite=overwrite)
    print(f"wrote {out}", file=sys.stderr)
    return out

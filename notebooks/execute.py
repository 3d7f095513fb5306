"""Execute the study notebooks and write each beside its source: ``make notebooks``.

``notebooks/<study>.py`` (a jupytext percent script) is the source you edit; this runs its
cells in a fresh ``python3`` kernel and writes ``notebooks/<study>.ipynb``, the same cells with
their outputs, paired with the script (``jupytext: formats: ipynb,py:percent``, so Jupyter
with the jupytext extension keeps both in step as you edit either). Cells run with
``notebooks/`` as the working directory; execution times are not recorded, so re-running an
unchanged notebook changes nothing but what its cells print.

Usage (from the repository root)::

    .venv/bin/python notebooks/execute.py              # every notebook
    .venv/bin/python notebooks/execute.py lu2021       # one
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CELL_TIMEOUT = 600  # seconds; a whole notebook takes 5-15 s


def sources() -> dict[str, Path]:
    """The notebooks' percent scripts, by study id."""
    return {p.stem: p for p in sorted(HERE.glob("*.py")) if p.name != Path(__file__).name}


def execute(script: Path) -> Path:
    """Run ``script``'s cells in a kernel and write the executed ``.ipynb`` beside it."""
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(script)
    for i, cell in enumerate(nb.cells):
        cell.id = f"{script.stem}-{i:02d}"  # stable ids: an unchanged cell gives no diff
    NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT, record_timing=False,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    out = script.with_suffix(".ipynb")
    jupytext.write(nb, out)
    return out


def main(argv: list[str] | None = None) -> int:
    known = sources()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("studies", nargs="*", metavar="STUDY",
                        help=f"notebooks to execute (default: all): {', '.join(known)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.studies) - set(known))
    if unknown:
        parser.error(f"no notebook for {', '.join(unknown)}; notebooks: {', '.join(known)}")
    for study in args.studies or list(known):
        print(f"executed {execute(known[study]).relative_to(HERE.parent)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Output plumbing shared by the commands: the ``--overwrite`` option and terminal-safe text.

Where a command may write is decided in :mod:`cohort.io.outputs`; this module only gives the
CLI one spelling of the option and one way to print values read from a user's files.
"""

from __future__ import annotations

import typer

__all__ = ["OVERWRITE", "OVERWRITE_HELP"]

OVERWRITE_HELP = ("Replace an existing output that cohort did not write (a non-empty folder "
                  "without cohort's manifest, a file of another kind). Inputs of the run are "
                  "never written over, even with this option.")

OVERWRITE = typer.Option(False, "--overwrite", help=OVERWRITE_HELP)

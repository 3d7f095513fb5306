"""``cohort analyze ANALYSIS PATH``: one analysis on any cohort folder.

Each analysis registers its subcommand on :data:`analyze_app` from its own module
(``cohort/cli/analyze_<topic>.py``), imported in :func:`cohort.cli.app._register`.
"""

from __future__ import annotations

import typer

from cohort.cli.app import app
from cohort.cli.examples import epilog
from cohort.cli.group import AnalyzeGroup

analyze_app = typer.Typer(
    cls=AnalyzeGroup,
    epilog=epilog("analyze"),
    help="Run one analysis on a cohort folder (yours or a synthetic one).",
    no_args_is_help=True,
)
app.add_typer(analyze_app, name="analyze")

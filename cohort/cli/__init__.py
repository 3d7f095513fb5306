"""The ``cohort`` command. Each subcommand lives in its own module and imports its heavy
dependencies inside the command function, so ``cohort --help`` stays fast."""

from cohort.cli.app import app, entry, main

__all__ = ["app", "entry", "main"]

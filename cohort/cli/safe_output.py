"""Output plumbing shared by the commands: the ``--overwrite`` option and terminal safety.

Where a command may write files is decided in :mod:`cohort.io.outputs`; this module gives the
CLI one spelling of ``--overwrite``, and makes sure that what a user's files hold can never
drive their terminal. A subject id of ``\\x1b]0;pwned\\x07`` or ``\\x1b[2J`` printed raw would
retitle or clear the terminal: every command's text output goes through :func:`term_safe`,
which shows control characters as escapes (``\\x1b``). JSON output is unchanged by it: JSON
escapes control characters itself (``\\u001b``) and cohort writes it as ASCII.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Iterable, Iterator
from typing import IO

import typer
from rich.console import Console
from rich.segment import Segment

__all__ = ["OVERWRITE", "OVERWRITE_HELP", "SafeConsole", "term_safe", "terminal_safe_streams"]

OVERWRITE_HELP = ("Replace an existing output that cohort did not write (a non-empty folder "
                  "without cohort's manifest, a file of another kind). Inputs of the run are "
                  "never written over, even with this option.")

OVERWRITE = typer.Option(False, "--overwrite", help=OVERWRITE_HELP)

# C0 controls but tab and line feed, DEL, C1 controls, and the invisible bidirectional
# formatting characters that reorder what a terminal shows ("Trojan source")
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def term_safe(text: str) -> str:
    """``text`` with every character that could control a terminal shown as an escape.

    >>> term_safe("LU-001\\x1b[2J")
    'LU-001\\\\x1b[2J'
    """
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


class _SafeStream(io.TextIOBase):
    """A text stream that writes everything through :func:`term_safe`."""

    def __init__(self, raw: IO[str]) -> None:
        self._cohort_raw = raw
        self.cohort_written = 0  # characters written: has a command printed its output?

    def write(self, text: str) -> int:
        self._cohort_raw.write(term_safe(text))
        self.cohort_written += len(text)
        return len(text)

    def flush(self) -> None:
        self._cohort_raw.flush()

    def isatty(self) -> bool:
        return self._cohort_raw.isatty()

    def fileno(self) -> int:
        return self._cohort_raw.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._cohort_raw, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._cohort_raw, "errors", None)


@contextlib.contextmanager
def terminal_safe_streams() -> Iterator[None]:
    """Route ``sys.stdout`` and ``sys.stderr`` through :func:`term_safe` while a command runs."""
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, _SafeStream):
        sys.stdout = _SafeStream(sys.stdout)  # type: ignore[assignment]
    if not isinstance(sys.stderr, _SafeStream):
        sys.stderr = _SafeStream(sys.stderr)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


class SafeConsole(Console):
    """A rich Console that escapes control characters in the text it prints but keeps its own
    styles (colours) and cursor controls: use it for every table of values from data."""

    @property  # type: ignore[override]
    def file(self) -> IO[str]:
        file = Console.file.fget(self)  # type: ignore[attr-defined]
        return getattr(file, "_cohort_raw", file)

    @file.setter
    def file(self, new_file: IO[str]) -> None:
        Console.file.fset(self, new_file)  # type: ignore[attr-defined]

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        safe = (seg if seg.control else Segment(term_safe(seg.text), seg.style, seg.control)
                for seg in buffer)
        return super()._render_buffer(safe)



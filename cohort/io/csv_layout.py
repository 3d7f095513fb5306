"""Where each record of a CSV file starts, and how many fields it has.

polars reads CSV files fast but does not say on which line a record started (a quoted field may
span lines) and silently pads a line with too few fields with nulls. Both matter to a user who
is told "line 57": this module finds the physical line and field count of every record with a
vectorised (numpy) pass over the bytes, for RFC 4180 quoting (``"`` quotes, ``""`` escapes).
It is only run when a cheap check (a count of line breaks and, when a row may be short, the
file's size, see :func:`simple_layout`) shows that a file is not laid out one record per line
with every field present.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ByteCounts", "CsvLayout", "byte_counts", "header_line",
           "one_record_per_line", "scan_layout", "simple_layout"]

_BLOCK = 1 << 23
_QUOTE = ord('"')
_NEWLINE = ord("\n")
_CR = ord("\r")


@dataclass(frozen=True)
class CsvLayout:
    """The records of a CSV file, header included.

    Attributes
    ----------
    line : numpy.ndarray of int64
        Physical (editor) line on which each record starts, 1-based.
    fields : numpy.ndarray of int64
        Number of fields of each record (delimiters outside quotes, plus one).
    blank : numpy.ndarray of bool
        True for empty lines (polars reads them as rows of nulls).
    """

    line: np.ndarray
    fields: np.ndarray
    blank: np.ndarray


def header_line(data: bytes, limit: int = 1 << 20) -> tuple[bytes, int]:
    """The first line of ``data`` without its line ending (at most ``limit`` bytes), and the
    length of that line ending (0, 1 for ``\\n`` or 2 for ``\\r\\n``)."""
    end = data.find(b"\n", 0, limit)
    first = data[:limit] if end < 0 else data[:end + 1]
    line = first.rstrip(b"\r\n")
    return line, len(first) - len(line)


@dataclass(frozen=True)
class ByteCounts:
    """The bytes of a CSV file that decide its layout (see :func:`byte_counts`)."""

    line_feeds: int
    carriage_returns: int


def byte_counts(data: bytes) -> ByteCounts:
    """Count the line feeds and carriage returns of a file's bytes."""
    return ByteCounts(data.count(b"\n"), data.count(b"\r"))


def one_record_per_line(height: int, eol: int, final_eol: bool, counts: ByteCounts) -> bool:
    """True when a file with a header and ``height`` records has exactly one line per record.

    Records are separated by line feeds outside quotes; a line feed inside a quoted field, or
    a blank line that the reader skipped, makes one more. Carriage returns must be exactly
    those of the line endings. (Blank lines that the reader keeps are rows of empty cells,
    and short lines have empty trailing cells: see :func:`simple_layout`.)
    """
    lines = height + 1 if final_eol else height
    return counts.line_feeds == lines and counts.carriage_returns == (lines if eol == 2 else 0)


def simple_layout(size: int, header: bytes, eol: int, cell_bytes: int, width: int,
                  height: int, final_eol: bool, counts: ByteCounts,
                  quotes: int, cell_quotes: int = 0) -> bool:
    """True when a file of ``size`` bytes must be one record per line, every field present.

    The file then consists of the header line and ``height`` lines of ``width`` fields holding
    ``cell_bytes`` bytes in all, separated by ``width - 1`` delimiters, each line ended by
    ``eol`` bytes (the last one only if ``final_eol``), plus the bytes quoting adds: the quotes
    of the file (``quotes``) outside the header that no cell holds (the cells hold
    ``cell_quotes``). A short line or a blank line makes the file smaller, and nothing else can
    make up for it: quoting is counted exactly, the line feeds are exactly one per line (a line
    break inside a quoted field adds one), and carriage returns are exactly those of the line
    endings.
    """
    if not one_record_per_line(height, eol, final_eol, counts):
        return False
    quoting = quotes - header.count(b'"') - cell_quotes
    expected = len(header) + eol + cell_bytes + quoting + height * (width - 1 + eol)
    if not final_eol:
        expected -= eol
    return size == expected


def _blocks(source: Path | bytes) -> Iterable[bytes]:
    if isinstance(source, bytes):
        for start in range(0, len(source), _BLOCK):
            yield source[start:start + _BLOCK]
        return
    with open(source, "rb") as fh:
        while block := fh.read(_BLOCK):
            yield block


def scan_layout(source: Path | bytes, delimiter: str) -> CsvLayout:
    """Find the start line and field count of every record of a CSV file (path or bytes).

    Quotes toggle a "inside a field" state, so delimiters and line breaks count only where
    the number of quotes before them is even (an escaped ``""`` toggles twice). Blocks without
    quotes (most of a large file, usually) skip the quote bookkeeping.
    """
    sep = delimiter.encode()[0]
    lines: list[np.ndarray] = []
    fields: list[np.ndarray] = []
    blanks: list[np.ndarray] = []
    quotes = 0          # parity of the quotes seen so far (1 = inside a quoted field)
    newlines = 0        # physical line breaks seen so far
    start_line = 1      # line on which the current (unfinished) record started
    delims = 0          # delimiters of the current record so far
    length = 0          # bytes of the current record so far (without \r)
    for block in _blocks(source):
        b = np.frombuffer(block, dtype=np.uint8)
        nl_all = np.flatnonzero(b == _NEWLINE)
        is_sep = b == sep
        if quotes == 0 and block.count(b'"') == 0:
            nl = nl_all
            nl_index = np.arange(nl_all.size)
        else:
            # parity only: a uint8 running count wraps, but keeps its parity
            inside = ((np.cumsum(b == _QUOTE, dtype=np.uint8) + quotes) & 1).astype(bool)
            outside_nl = ~inside[nl_all]
            nl = nl_all[outside_nl]
            nl_index = np.flatnonzero(outside_nl)
            is_sep &= ~inside
            quotes = int(inside[-1])
        if nl.size:
            # delimiters per record: sums over [start of record, its line break]
            bounds = np.concatenate(([0], nl + 1))
            if bounds[-1] < b.size:
                counts = np.add.reduceat(is_sep, bounds, dtype=np.int64)
                per_record, tail_delims = counts[:-1], int(counts[-1])
            else:
                per_record, tail_delims = np.add.reduceat(is_sep, bounds[:-1],
                                                          dtype=np.int64), 0
            per_record[0] += delims
            nl_line = newlines + nl_index + 1      # the line each record ends on
            starts = np.concatenate(([start_line], nl_line[:-1] + 1))
            begin = np.concatenate(([0], nl[:-1] + 1))
            size = nl - begin
            cr = np.zeros(nl.size, dtype=bool)
            cr[size > 0] = b[nl[size > 0] - 1] == _CR
            size = size - cr
            size[0] += length
            lines.append(starts.astype(np.int64))
            fields.append(per_record + 1)
            blanks.append((size == 0) & (per_record == 0))
            start_line = int(nl_line[-1]) + 1
            delims = tail_delims
            tail = b[nl[-1] + 1:]
            length = 0
        else:
            delims += int(np.count_nonzero(is_sep))
            tail = b
        length += int(tail.size) - int(tail.size > 0 and tail[-1] == _CR)
        newlines += int(nl_all.size)
    if length or delims:  # a last record without a final line break
        lines.append(np.array([start_line], dtype=np.int64))
        fields.append(np.array([delims + 1], dtype=np.int64))
        blanks.append(np.array([False]))
    if not lines:
        empty = np.array([], dtype=np.int64)
        return CsvLayout(empty, empty, np.array([], dtype=bool))
    return CsvLayout(np.concatenate(lines), np.concatenate(fields), np.concatenate(blanks))

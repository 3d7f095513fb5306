"""Read one CSV file into text cells, and the findings for a file that cannot be read.

Cells stay text, so that the parser (:mod:`cohort.io.parse`) can report every cell that is not
what the contract expects. Covers the checks a CSV file must pass before and after polars splits
it (encoding, NUL bytes, blank leading lines, delimiter, quoting, ragged lines, duplicated
columns) and the editor line of each row when it is not row + 2. The file is only ever opened
for reading.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cohort.findings import Findings
from cohort.io.csv_layout import (
    ByteCounts,
    CsvLayout,
    byte_counts,
    header_line,
    one_record_per_line,
    scan_layout,
    simple_layout,
)
from cohort.io.files import UnreadableFileError, read_file_bytes
from cohort.io.mapping import CsvOptions

__all__ = ["read_csv"]


def _digest_and_counts(data: bytes) -> tuple[str, ByteCounts]:
    return hashlib.sha256(data).hexdigest(), byte_counts(data)


_LEADING_BLANK = re.compile(rb"(?:[ \t\r]*\n)+")
"""Blank lines at the top of a CSV file (polars would skip them and number every row wrong)."""

_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32 (with a byte-order mark)", "utf-32"),
         (codecs.BOM_UTF32_BE, "UTF-32 (with a byte-order mark)", "utf-32"),
         (codecs.BOM_UTF16_LE, "UTF-16 (with a byte-order mark)", "utf-16"),
         (codecs.BOM_UTF16_BE, "UTF-16 (with a byte-order mark)", "utf-16"))

_NUL_PATTERNS = (((1, 2, 3), "UTF-32 little-endian (no byte-order mark)", "utf-32-le"),
                 ((0, 1, 2), "UTF-32 big-endian (no byte-order mark)", "utf-32-be"),
                 ((1, 3), "UTF-16 little-endian (no byte-order mark)", "utf-16-le"),
                 ((0, 2), "UTF-16 big-endian (no byte-order mark)", "utf-16-be"))


def _wide_encoding(data: bytes) -> tuple[str, str] | None:
    """(what, codec) when the bytes are text in UTF-16 or UTF-32, else None.

    With a byte-order mark the mark says it; without one, text in UTF-16 has a NUL byte in
    every other position for each ASCII character (UTF-32: three of every four), which no CSV
    file in UTF-8 or a single-byte encoding has.
    """
    for bom, what, codec in _BOMS:
        if data.startswith(bom):
            return what, codec
    head = data[:4096]
    if len(head) < 8 or head.count(0) < len(head) // 4:
        return None
    share = [head[i::4].count(0) / len(head[i::4]) for i in range(4)]
    for positions, what, codec in _NUL_PATTERNS:
        if all(share[i] > 0.8 for i in positions):
            return what, codec
    return None


def _first_bad_utf8(data: bytes) -> tuple[int, int, int]:
    """(line, byte, offset of the byte within its line) of the first invalid UTF-8 byte."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        return data.count(b"\n", 0, exc.start) + 1, data[exc.start], exc.start - line_start
    return 0, 0, 0


_QUOTE_PROBLEMS = {
    "inside": "a double quote (\") inside a field that does not start with one; quote the "
              "whole field and double the quote inside it (e.g. \"5\"\" tall\"), or remove "
              "the quote",
    "after": "text after the closing quote of a quoted field; put the whole field in quotes "
             "and double the quotes inside it, or remove them",
    "unclosed": "a double quote (\") that opens a quoted field which never closes, so the rest "
                "of the file reads as one cell; close it, or double a quote meant as text",
}


def _quote_problem(data: bytes, delimiter: str) -> tuple[int, int, int | None, str] | None:
    """(line, its first byte, field number on it, kind) of the first quote that breaks CSV
    quoting.

    RFC 4180: a quote opens a field only at the field's start; inside a quoted field ``""`` is
    a quote and a single ``"`` closes the field, which must then end. ``kind`` is a key of
    :data:`_QUOTE_PROBLEMS`. Only the quotes are visited, so a file with few quotes (the usual
    reason for a parse failure is one stray quote) is checked fast.
    """
    quotes = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord('"'))
    sep = delimiter.encode()[0]
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    bounds = (sep, ord("\n"), ord("\r"))
    opened, i, problem = -1, 0, None
    last = (-1, -1)  # the last quoted field closed so far
    while i < quotes.size and problem is None:
        p = int(quotes[i])
        if opened < 0:
            if p > start and data[p - 1] not in bounds:
                problem = p, "inside"
            opened = p
        elif i + 1 < quotes.size and quotes[i + 1] == p + 1:
            i += 1  # "" inside a quoted field
        elif p + 1 < len(data) and data[p + 1] not in bounds:
            problem = p, "after"
        else:
            last, opened = (opened, p), -1
        i += 1
    if problem is None:
        if opened < 0:
            return None
        problem = opened, "unclosed"
    position, kind = problem
    line_start = data.rfind(b"\n", 0, position) + 1
    field = None
    field_open = opened if kind == "after" else -1
    if not (0 <= field_open < line_start or last[0] < line_start <= last[1]):
        # the line starts outside quotes: its delimiters count between pairs of quotes only
        parts = data[line_start:position].split(b'"')
        field = sum(part.count(sep) for part in parts[::2])
    return data.count(b"\n", 0, position) + 1, line_start, field, kind


def _quote_finding(data: bytes, opts: CsvOptions, header_text: str, name: str, table: str,
                   findings: Findings) -> bool:
    """Report the first quote that breaks CSV quoting, if there is one (then True)."""
    found = _quote_problem(data, opts.delimiter)
    if found is None:
        return False
    line, start, field, kind = found
    columns = [c.strip('"') for c in header_text.split(opts.delimiter)]
    column = columns[field] if line > 1 and field is not None and field < len(columns) else None
    findings.add(rule="file_unreadable", table=table, file=name, row=line, column=column,
                 value=_line_text(data, start)[:80],
                 message=f"line {line} of {name} has {_QUOTE_PROBLEMS[kind]}")
    return True


def _line_text(data: bytes, start: int) -> str:
    """The line that starts at byte ``start``, as text."""
    end = data.find(b"\n", start)
    return data[start:None if end < 0 else end].rstrip(b"\r").decode("utf-8", "replace")


def _column_at(data: bytes, line: int, offset: int, delimiter: str,
               header: list[str]) -> str | None:
    """The header name of the field at byte ``offset`` of ``line`` (None when unsure)."""
    start = 0
    for _ in range(line - 1):
        start = data.index(b"\n", start) + 1
    prefix = data[start:start + offset]
    if b'"' in prefix:
        return None  # quoted fields may hold delimiters: do not guess
    k = prefix.count(delimiter.encode())
    return header[k] if k < len(header) else None


_OTHER_DELIMITERS = ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"),
                     (",", "commas"))


def _wrong_delimiter(header: str, delimiter: str) -> tuple[str, str] | None:
    """(delimiter, its name) the header line seems to use instead of ``delimiter``."""
    if delimiter in header:
        return None
    for sep, label in _OTHER_DELIMITERS:
        if sep != delimiter and sep in header:
            return sep, label
    return None


def _ragged_findings(layout: CsvLayout, width: int, name: str, table: str,
                     findings: Findings) -> bool:
    """Report every non-blank record whose field count differs from the header's."""
    bad = (layout.fields[1:] != width) & ~layout.blank[1:]
    if not bad.any():
        return False
    lines = layout.line[1:][bad]
    got = layout.fields[1:][bad]
    got_text = pl.col("value")
    hint = (pl.when(pl.col("value").cast(pl.Int64) > width).then(pl.lit("an unquoted delimiter"))
            .otherwise(pl.lit("a missing field")))
    findings.add_frame(pl.DataFrame({"row": lines, "value": got.astype(str)}).select(
        pl.lit("error").alias("severity"), pl.lit(table).alias("table"),
        pl.lit(name).alias("file"), pl.col("row"), pl.lit(None, pl.String).alias("column"),
        pl.lit("file_unreadable").alias("rule"), got_text,
        pl.format(f"line {{}} of {name} has {{}} fields but the header has {width}; check for "
                  "{} (the table is not read until every line has as many fields as the "
                  "header)", pl.col("row"), got_text, hint).alias("message")))
    return True


def read_csv(path: Path, name: str, table: str, opts: CsvOptions,
              findings: Findings) -> tuple[pl.DataFrame, np.ndarray | None, str] | None:
    """Read a CSV as text cells, with the editor line of each row when it is not row + 1, and
    the SHA-256 of the file.

    Adds a finding and returns None when the file cannot be read: empty, undecodable, another
    delimiter, or a line with more or fewer fields than the header (polars would fail on the
    first and silently pad the second with nulls).
    """
    where = {"table": table, "file": name}
    try:
        data = read_file_bytes(path, name)  # a regular file, never a blocking read
    except UnreadableFileError as exc:
        findings.add(rule="file_unreadable", message=str(exc), **where)
        return None
    if not data:
        findings.add(rule="empty_file", message=f"{name} is empty: expected a header line with "
                     "the column names", **where)
        return None
    encoding = opts.encoding.lower().replace("_", "-")
    utf8 = encoding in ("utf-8", "utf8", "utf-8-sig")
    wide = _wide_encoding(data)
    if wide is not None and not encoding.startswith(("utf-16", "utf-32", "utf16", "utf32")):
        findings.add(rule="encoding", value=wide[1],
                     message=f"{name} is {wide[0]} text, not {opts.encoding}: save it as UTF-8, "
                     f"or set csv.encoding: {wide[1]} in a mapping file", **where)
        return None
    if encoding.startswith(("utf-16", "utf-32", "utf16", "utf32")):
        # polars reads UTF-8 only, and the line scanner counts single-byte line feeds: decode
        # here (the lines stay the lines), then read as UTF-8
        try:
            data = data.decode(opts.encoding).encode("utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            findings.add(rule="encoding", message=f"{name} cannot be decoded as "
                         f"{opts.encoding}: {exc}", **where)
            return None
        utf8 = True
    nul = data.find(b"\x00")
    if nul >= 0 and utf8:
        # no text file holds NUL bytes: a binary file, or a cell pasted with one
        line = data.count(b"\n", 0, nul) + 1
        start = data.rfind(b"\n", 0, nul) + 1
        header_cells = [c.strip('"') for c in header_line(data)[0].decode(
            "utf-8", errors="replace").split(opts.delimiter)]
        column = _column_at(data, line, nul - start, opts.delimiter, header_cells) \
            if line > 1 else None
        findings.add(rule="encoding", row=line, column=column, value="0x00",
                     message=f"{name} holds a NUL byte (line {line}): not a text file, or a "
                     "cell with a NUL character in it; is it a binary or a spreadsheet saved "
                     "with a .csv name?", **where)
        return None
    blank = _LEADING_BLANK.match(data)
    if blank is not None:
        n = blank.group().count(b"\n")
        lines_text = "line 1 is" if n == 1 else f"lines 1-{n} are"
        findings.add(rule="missing_header", row=1,
                     message=f"{lines_text} blank in {name}: the header (the column names) must "
                     "be on line 1; delete the blank line(s) above it", **where)
        return None
    header, eol = header_line(data)
    try:
        header_text = header.decode("utf-8-sig" if utf8 else opts.encoding)
    except LookupError:
        findings.add(rule="encoding", value=opts.encoding,
                     message=f"{name}: csv.encoding {opts.encoding!r} is not an encoding Python "
                     "knows; use e.g. utf-8, latin-1 or cp1252", **where)
        return None
    except UnicodeDecodeError:
        header_text = header.decode("utf-8", errors="replace")
    wrong = _wrong_delimiter(header_text, opts.delimiter)
    if wrong is not None:
        sep, label = wrong
        findings.add(rule="delimiter", row=1, value=header_text[:80],
                     message=f"{name} seems to be separated by {label}, not "
                     f"{opts.delimiter!r}; set csv.delimiter: {sep!r} in a mapping file",
                     **where)
        return None
    # hashing and counting run while polars parses (polars and hashlib release the
    # interpreter's lock)
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(_digest_and_counts, data)
        frame = _parse_csv(data, utf8, opts, name, table, header_text, findings)
        hashed, counts = digest.result()
    if frame is None:
        return None
    if frame.width == 0:
        findings.add(rule="empty_file", message=f"{name} has no header line", **where)
        return None
    lines = None
    if not utf8 or not _simple(data, header, eol, frame, counts):
        layout = scan_layout(data, opts.delimiter)
        ragged = layout.line.size != frame.height + 1 or bool(
            ((layout.fields[1:] != frame.width) & ~layout.blank[1:]).any())
        if ragged and utf8 and b'"' in data \
                and _quote_finding(data, opts, header_text, name, table, findings):
            # a stray quote shifts the fields of every line up to the next one
            return None
        if layout.line.size == frame.height + 1:
            if _ragged_findings(layout, frame.width, name, table, findings):
                return None
            lines = layout.line[1:]
    duplicated = [c for c in frame.columns if "_duplicated_" in c]
    if duplicated:
        originals = sorted({c.split("_duplicated_")[0] for c in duplicated})
        for col in originals:
            findings.add(rule="duplicate_column", row=1, column=col,
                         message=f"column {col!r} appears more than once in the header of {name}",
                         **where)
        frame = frame.drop(duplicated)
    return frame, lines, hashed


def _parse_csv(data: bytes, utf8: bool, opts: CsvOptions, name: str, table: str,
               header_text: str, findings: Findings) -> pl.DataFrame | None:
    """Split the file into text cells with polars; None (and a finding) when it cannot."""
    where = {"table": table, "file": name}
    source: Any = data
    try:
        if not utf8:
            # polars only decodes UTF-8; other encodings are decoded here, explicitly (with
            # universal newlines, as a text file is read)
            source = io.StringIO(io.TextIOWrapper(io.BytesIO(data),
                                                  encoding=opts.encoding).read())
        return pl.read_csv(source, separator=opts.delimiter, infer_schema=False,
                           raise_if_empty=False)
    except UnicodeDecodeError as exc:
        findings.add(rule="encoding", message=f"{name} cannot be decoded as {opts.encoding}: "
                     f"{exc}", **where)
        return None
    except pl.exceptions.PolarsError as exc:
        text = str(exc)
        if "utf-8" in text.lower() or "utf8" in text.lower():
            line, byte, offset = _first_bad_utf8(data)
            columns = [c.strip('"') for c in header_text.split(opts.delimiter)]
            column = _column_at(data, line, offset, opts.delimiter, columns) if line > 1 \
                else None
            findings.add(rule="encoding", row=line or None, column=column,
                         value=f"0x{byte:02X}",
                         message=f"{name} is not valid UTF-8 (byte 0x{byte:02X} on line "
                         f"{line}); save it as UTF-8, or set csv.encoding (e.g. latin-1 or "
                         "cp1252) in a mapping file", **where)
            return None
        if utf8 and _quote_finding(data, opts, header_text, name, table, findings):
            return None
        layout = scan_layout(data, opts.delimiter)
        width = int(layout.fields[0]) if layout.fields.size else 0
        if not _ragged_findings(layout, width, name, table, findings):
            findings.add(rule="file_unreadable", message=f"{name} cannot be parsed as CSV: "
                         f"{text.splitlines()[0]}", **where)
        return None


def _simple(data: bytes, header: bytes, eol: int, frame: pl.DataFrame,
            counts: ByteCounts) -> bool:
    """True when the CSV file is one record per line with every field present (line = row + 2).

    polars fills the missing fields of a short line with nulls from the right: when the last
    column has no empty cell, no line was short, and counting line breaks is enough. Otherwise
    the file's size must add up (:func:`simple_layout`); cells hold ``"`` only where the file
    escapes them (``""``) or where a field is not quoted (``5"``), and are counted only when
    the file has quotes at all.
    """
    final_eol = data.endswith(b"\n")
    if not one_record_per_line(frame.height, eol, final_eol, counts):
        return False
    if not frame.height or not frame.get_column(frame.columns[-1]).null_count():
        return True

    def total(expr: pl.Expr) -> int:
        return int(frame.select(expr.sum()).sum_horizontal().item() or 0)

    quotes = data.count(b'"')
    in_cells = total(pl.all().str.count_matches('"', literal=True)) if quotes else 0
    return simple_layout(len(data), header, eol, total(pl.all().str.len_bytes()), frame.width,
                         frame.height, final_eol, counts, quotes, in_cells)

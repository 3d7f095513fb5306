"""Read a cohort folder (CSV, Parquet, Excel) into raw polars frames with provenance.

Nothing is interpreted here beyond splitting files into cells: CSV cells stay text, so that
the parser (:mod:`cohort.io.parse`) can report every cell that is not what the contract
expects, with its line. Each frame gets two private columns, ``__file`` (the file a user would
open) and ``__line`` (the line or row they would look at). Input files are only ever opened for
reading.
"""

from __future__ import annotations

import codecs
import errno
import fnmatch
import hashlib
import io
import math
import os
import re
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time
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
from cohort.io.dataset_json import looks_like_dataset_json, read_dataset_json
from cohort.io.files import UnreadableFileError, file_kind, read_file_bytes
from cohort.io.mapping import CsvOptions, Mapping
from cohort.io.sas import read_sas

__all__ = ["RawTable", "SourceFile", "read_folder", "sha256"]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx",
           ".xpt": "xpt", ".sas7bdat": "sas7bdat", ".json": "dataset-json"}
UNSUPPORTED = {".xls": "old Excel (.xls) files are not supported: save the workbook as .xlsx",
               ".tsv": "tab-separated files: rename to .csv and set csv.delimiter in a mapping"}


@dataclass(frozen=True)
class SourceFile:
    """One file (or one sheet of a workbook) that a table was read from.

    Attributes
    ----------
    path : str
        Absolute path of the file.
    name : str
        What a user sees in findings: the file name, with ``[sheet]`` for workbook sheets.
    format : str
        ``csv``, ``parquet`` or ``xlsx``.
    sheet : str or None
        Sheet name for workbooks.
    sha256 : str
        Hash of the file's bytes, for run manifests.
    n_rows : int
        Data rows read.
    """

    path: str
    name: str
    format: str
    sheet: str | None
    sha256: str
    n_rows: int


@dataclass
class RawTable:
    """A table as read: text (CSV) or typed (Parquet, Excel-as-text) cells plus provenance."""

    name: str
    frame: pl.DataFrame
    sources: list[SourceFile]


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 8 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 23):
            digest.update(block)
    return digest.hexdigest()


def _digest_and_counts(data: bytes) -> tuple[str, ByteCounts]:
    return hashlib.sha256(data).hexdigest(), byte_counts(data)


def _with_provenance(frame: pl.DataFrame, name: str, first_line: int,
                     lines: np.ndarray | None = None) -> pl.DataFrame:
    line = (pl.Series("__line", lines, dtype=pl.Int64) if lines is not None
            else (pl.int_range(pl.len(), dtype=pl.Int64) + first_line).alias("__line"))
    # one chunk per column: the CSV reader returns many chunks and the provenance columns one,
    # and polars would realign (copy) the chunks in every later operation that uses both
    return frame.rechunk().with_columns(pl.lit(name, dtype=pl.Categorical).alias("__file"),
                                        line)


def _drop_blank_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop rows whose cells are all empty: blank lines of a CSV, empty rows of a sheet.

    They hold no data (a spreadsheet program writes them as ``,,,,``); the rows around them
    keep their own line numbers.
    """
    data = [c for c in frame.columns if c not in ("__file", "__line")]
    if not data or not frame.height:
        return frame
    blank = pl.all_horizontal([pl.col(c).is_null() for c in data])
    if not frame.select(blank.any()).item():
        return frame
    return frame.filter(~blank)


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


def _read_csv(path: Path, name: str, table: str, opts: CsvOptions,
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


def _cell_text(value: Any) -> str | None:
    """Excel cell value as the text a user sees; dates as ISO 8601."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text if text.strip() else None


def _sheet_frame(ws: Any, name: str, table: str,
                 findings: Findings) -> tuple[pl.DataFrame, int] | None:
    """Read a sheet as text cells; return it with the sheet row of its first data row."""
    # the dimension a file declares may be wrong (some writers put A1): read every row
    ws.reset_dimensions()
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    # rows start at sheet row 1; a table may start lower, below empty rows or a title (one
    # cell): its header is the first row with two or more cells
    filled = [sum(v is not None for v in r) for r in rows]
    top = next((i for i, n in enumerate(filled) if n >= 2),
               next((i for i, n in enumerate(filled) if n), None))
    if top is None:
        findings.add(rule="empty_file", table=table, file=name,
                     message=f"{name} is empty: expected a header row with the column names")
        return None
    header, body = rows[top], rows[top + 1:]
    header_row = top + 1
    width = max(len(r) for r in rows[top:])
    keep = [i for i in range(width) if (i < len(header) and header[i] is not None)
            or any(i < len(r) and r[i] is not None for r in body)]
    columns: dict[str, list[str | None]] = {}
    for i in keep:
        label = _cell_text(header[i]) if i < len(header) else None
        if label is None:
            findings.add(rule="missing_header", table=table, file=name, row=header_row,
                         column=f"#{i + 1}", message=f"column {i + 1} of {name} has values but "
                         "no header; add one or delete the column")
            continue
        if label in columns:
            findings.add(rule="duplicate_column", table=table, file=name, row=header_row,
                         column=label, message=f"column {label!r} appears more than once in "
                         f"the header of {name}")
            continue
        columns[label] = [_cell_text(r[i]) if i < len(r) else None for r in body]
    return pl.DataFrame(columns, schema={c: pl.String for c in columns}), header_row + 1


@dataclass(frozen=True)
class _Candidate:
    path: Path
    format: str
    sheet: str | None
    key: str  # file stem or sheet name, lower-case, matched against mapping/table names

    @property
    def label(self) -> str:
        return self.path.name if self.sheet is None else f"{self.path.name}[{self.sheet}]"


def _regular_files(root: Path, findings: Findings) -> list[Path]:
    """The regular files of ``root`` (not hidden), and a finding for each entry named like a
    table file that is not one: a folder, FIFO, device or link loop named ``subjects.csv``
    cannot be read (and a read of it could block or never end)."""
    files = []
    for p in sorted(root.iterdir()):
        if p.name.startswith((".", "~$")):
            continue
        try:
            mode = os.stat(p).st_mode
        except OSError as exc:
            mode, problem = None, ("is a symbolic link loop" if exc.errno == errno.ELOOP else
                                   "is a symbolic link to nothing" if p.is_symlink() else
                                   f"cannot be read ({exc.strerror})")
        else:
            problem = None if stat.S_ISREG(mode) else f"is {file_kind(mode)}, not a regular file"
        if problem is None:
            files.append(p)
        elif p.suffix.lower() in FORMATS or p.suffix.lower() in UNSUPPORTED:
            findings.add(rule="file_unreadable", file=p.name, message=f"{p.name} {problem}")
    return files


def _unreadable_entry(root: Path, keys: list[str]) -> bool:
    """True when ``root`` has an entry named like one of the table's files that is not a
    regular file (already reported as ``file_unreadable``: no ``missing_table`` on top)."""
    if not root.is_dir():
        return False
    return any(p.stem.lower() in keys and p.suffix.lower() in FORMATS and not p.is_file()
               for p in root.iterdir() if not p.name.startswith("."))


def _candidates(root: Path, keys: set[str], findings: Findings) -> list[_Candidate]:
    """Every file or sheet that could hold a table.

    A workbook whose name is a table key is that table (its sheet of the same name, else its
    first sheet); any other workbook holds one table per sheet.
    """
    files = [root] if root.is_file() else _regular_files(root, findings)
    out: list[_Candidate] = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix in UNSUPPORTED:
            findings.add(rule="file_unreadable", file=path.name,
                         message=f"{path.name}: {UNSUPPORTED[suffix]}")
            continue
        fmt = FORMATS.get(suffix)
        if fmt is None or (fmt == "dataset-json" and not looks_like_dataset_json(path)):
            continue  # README, notes, mapping files, other JSON: not tables
        stem = path.stem.lower()
        if fmt != "xlsx":
            out.append(_Candidate(path, fmt, None, stem))
            continue
        try:
            import openpyxl

            wb = openpyxl.load_workbook(path, read_only=True)
            sheets = list(wb.sheetnames)
            wb.close()
        except Exception as exc:  # openpyxl raises many types for a damaged file
            findings.add(rule="file_unreadable", file=path.name,
                         message=f"{path.name} cannot be opened as an Excel workbook: {exc}")
            continue
        if stem in keys and root.is_dir():
            named = [s for s in sheets if s.lower() == stem]
            out.append(_Candidate(path, fmt, (named or sheets)[0], stem))
        else:
            out += [_Candidate(path, fmt, s, s.lower()) for s in sheets]
    return out


def _read_candidate(cand: _Candidate, table: str, opts: CsvOptions,
                    findings: Findings) -> tuple[pl.DataFrame, str | None] | None:
    """Read one file or sheet, with ``__file`` and ``__line`` (None if unreadable), and the
    file's SHA-256 when it was computed on the way."""
    if cand.format == "csv":
        read = _read_csv(cand.path, cand.label, table, opts, findings)
        if read is None:
            return None
        frame, lines, digest = read
        return _drop_blank_rows(_with_provenance(frame, cand.label, 2, lines)), digest
    if cand.format in ("xpt", "sas7bdat", "dataset-json"):
        reader = read_dataset_json if cand.format == "dataset-json" else read_sas
        frame, problem = reader(cand.path, cand.label)
        if frame is None:
            findings.add(rule="file_unreadable", table=table, file=cand.label, message=problem
                         or f"{cand.label} cannot be read")
            return None
        # records are numbered 1, 2, ... as in Parquet
        return _with_provenance(frame, cand.label, 1), None
    if cand.format == "parquet":
        try:
            frame = pl.read_parquet(cand.path)
        except Exception as exc:  # pyarrow/polars raise several types for damaged files
            findings.add(rule="file_unreadable", table=table, file=cand.label,
                         message=f"{cand.label} cannot be read as Parquet: {exc}")
            return None
        # a Parquet file has no header line: rows are numbered 1, 2, ... as records
        return _with_provenance(frame, cand.label, 1), None
    import openpyxl

    try:
        wb = openpyxl.load_workbook(cand.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        findings.add(rule="file_unreadable", table=table, file=cand.label,
                     message=f"{cand.label} cannot be opened as an Excel workbook: {exc}")
        return None
    try:
        sheet = _sheet_frame(wb[cand.sheet], cand.label, table, findings)
    finally:
        wb.close()
    if sheet is None:
        return None
    frame, first_row = sheet
    return _drop_blank_rows(_with_provenance(frame, cand.label, first_row)), None


def read_folder(root: Path, mapping: Mapping, table_names: list[str],
                required: set[str], findings: Findings) -> dict[str, RawTable]:
    """Find and read every table of a cohort folder (or a single workbook).

    Parameters
    ----------
    root : Path
        A folder with one file per table, or one ``.xlsx`` workbook with a sheet per table.
    mapping : Mapping
        Which files or sheets hold which table, and CSV options.
    table_names : list of str
        The contract's tables.
    required : set of str
        Tables that must be present.
    findings : Findings
        Where problems are reported; unreadable files are skipped after a finding.
    """
    try:
        mode = os.stat(root).st_mode
    except FileNotFoundError:
        findings.add(rule="folder_missing", file=str(root),
                     message=f"{root} does not exist: expected a cohort folder or workbook")
        return {}
    except OSError as exc:
        what = "is a symbolic link loop" if exc.errno == errno.ELOOP else \
            f"cannot be read ({exc.strerror})"
        findings.add(rule="file_unreadable", file=str(root), message=f"{root} {what}")
        return {}
    if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):
        findings.add(rule="file_unreadable", file=str(root),
                     message=f"{root} is {file_kind(mode)}: expected a cohort folder or an "
                     ".xlsx workbook")
        return {}
    if root.is_file() and FORMATS.get(root.suffix.lower()) != "xlsx":
        findings.add(rule="file_unreadable", file=root.name,
                     message=f"{root} is a file, not a cohort folder or an .xlsx workbook with "
                     "a sheet per table: pass the folder that holds the table files")
        return {}
    keys_of = {t: [k.lower() for k in (mapping.table(t).files or [t])] for t in table_names}
    cands = _candidates(root, {k for ks in keys_of.values() for k in ks}, findings)
    claimed: set[_Candidate] = set()
    wanted: dict[str, list[_Candidate]] = {}
    ambiguous: set[str] = set()
    named_missing: set[str] = set()
    for table in table_names:
        sheet = mapping.table(table).sheet
        hits = []
        for key in keys_of[table]:
            # a pattern (adlb*) names every dataset it matches: adlbc, adlbh, ...
            found = [c for c in cands if fnmatch.fnmatchcase(c.key, key)
                     and (sheet is None or c.sheet == sheet)]
            claimed.update(found)
            for stem in dict.fromkeys(c.key for c in found):
                same = [c for c in found if c.key == stem]
                if len(same) > 1:
                    findings.add(rule="duplicate_table", table=table,
                                 file=", ".join(c.label for c in same),
                                 message=f"table {table} is given by {len(same)} files or "
                                 f"sheets ({', '.join(c.label for c in same)}); keep one")
                    ambiguous.add(table)
                elif same[0] not in hits:
                    hits.append(same[0])
            if not found and mapping.table(table).files is not None \
                    and mapping.table(table).missing_file == "error" \
                    and not _unreadable_entry(root, [key]):
                # a file the mapping names is never skipped silently
                named_missing.add(table)
                findings.add(rule="missing_table", table=table, file=key,
                             message=f"{mapping.source or 'the mapping'}: tables.{table}.file "
                             f"names {key!r}, but {root.name} has no file or sheet {key} "
                             "(.csv, .parquet, .xlsx); correct the name, or set "
                             f"tables.{table}.missing_file: skip if it may be absent")
        wanted[table] = hits
    ignore = {i.lower() for i in mapping.ignore}
    for cand in cands:
        if cand not in claimed and not any(fnmatch.fnmatchcase(cand.key, i) for i in ignore):
            findings.add(rule="unknown_table", file=cand.label,
                         message=f"{cand.label} is not a table of the contract (tables: "
                         f"{', '.join(table_names)}); map it with tables.<table>.file or list "
                         "it under ignore: in a mapping file")

    tables: dict[str, RawTable] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        # CSV files are hashed from the bytes read; other formats are hashed alongside
        hashes = {c.path.resolve(): pool.submit(sha256, c.path)
                  for hits in wanted.values() for c in hits if c.format != "csv"}
        for table, hits in wanted.items():
            if not hits and table in ambiguous:
                tables[table] = RawTable(table, pl.DataFrame(), [])
                continue
            if not hits:
                if table in required and table not in named_missing \
                        and not _unreadable_entry(root, keys_of[table]):
                    findings.add(rule="missing_table", table=table,
                                 message=f"required table {table} is missing: expected "
                                 f"{table}.csv, {table}.parquet or {table}.xlsx (or a sheet "
                                 f"named {table})")
                continue
            frames, sources = [], []
            for cand in hits:
                read = _read_candidate(cand, table, mapping.csv, findings)
                if read is None:
                    continue
                frame, digest = read
                frames.append(frame)
                sources.append(SourceFile(str(cand.path.resolve()), cand.label, cand.format,
                                          cand.sheet, digest or "", frame.height))
            if not frames:
                tables[table] = RawTable(table, pl.DataFrame(), [])
                continue
            frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
            tables[table] = RawTable(table, frame, sources)
        for raw in tables.values():
            raw.sources = [s if s.sha256 else
                           SourceFile(s.path, s.name, s.format, s.sheet,
                                      hashes[Path(s.path)].result(), s.n_rows)
                           for s in raw.sources]
    return tables

"""Read a cohort folder (CSV, Parquet, Excel) into raw polars frames with provenance.

Nothing is interpreted here beyond splitting files into cells: CSV cells stay text, so that
the parser (:mod:`cohort.io.parse`) can report every cell that is not what the contract
expects, with its line. Each frame gets two private columns, ``__file`` (the file a user would
open) and ``__line`` (the line or row they would look at). Input files are only ever opened for
reading.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl

from cohort.findings import Findings
from cohort.io.mapping import CsvOptions, Mapping

__all__ = ["RawTable", "SourceFile", "read_folder", "sha256"]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".xlsx": "xlsx", ".xlsm": "xlsx"}
UNSUPPORTED = {".xls": "old Excel (.xls) files are not supported: save the workbook as .xlsx",
               ".tsv": "tab-separated files: rename to .csv and set csv.delimiter in a mapping",
               ".sas7bdat": "SAS datasets: export them to CSV or Parquet",
               ".xpt": "SAS transport files: export them to CSV or Parquet (pyreadstat reads "
                       "them exactly)"}


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


def _with_provenance(frame: pl.DataFrame, name: str, first_line: int) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(name, dtype=pl.Categorical).alias("__file"),
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_line).alias("__line"),
    )


def _first_bad_utf8(data: bytes) -> tuple[int, int]:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1, data[exc.start]
    return 0, 0


def _first_ragged_line(text: str, delimiter: str) -> tuple[int, int, int] | None:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    width = None
    for fields in reader:
        if width is None:
            width = len(fields)
        elif fields and len(fields) != width:
            return reader.line_num, len(fields), width
    return None


def _read_csv(path: Path, name: str, table: str, opts: CsvOptions,
              findings: Findings) -> pl.DataFrame | None:
    """Read a CSV as text cells; add a finding and return None when it cannot be read."""
    where = {"table": table, "file": name}
    if path.stat().st_size == 0:
        findings.add(rule="empty_file", message=f"{name} is empty: expected a header line with "
                     "the column names", **where)
        return None
    encoding = opts.encoding.lower().replace("_", "-")
    source: Any = path
    try:
        if encoding not in ("utf-8", "utf8"):
            # polars only decodes UTF-8; other encodings are decoded here, explicitly
            source = io.StringIO(path.read_text(encoding=opts.encoding))
        frame = pl.read_csv(source, separator=opts.delimiter, infer_schema=False,
                            raise_if_empty=False)
    except (LookupError, UnicodeDecodeError) as exc:
        findings.add(rule="encoding", message=f"{name} cannot be decoded as {opts.encoding}: "
                     f"{exc}", **where)
        return None
    except pl.exceptions.PolarsError as exc:
        text = str(exc)
        data = path.read_bytes()
        if "utf-8" in text.lower() or "utf8" in text.lower():
            line, byte = _first_bad_utf8(data)
            findings.add(rule="encoding", row=line, value=f"0x{byte:02X}",
                         message=f"{name} is not valid UTF-8 (byte 0x{byte:02X} on line {line}); "
                         "save it as UTF-8, or set csv.encoding (e.g. latin-1 or cp1252) in a "
                         "mapping file", **where)
            return None
        ragged = _first_ragged_line(data.decode("utf-8", errors="replace"), opts.delimiter)
        if ragged is not None:
            line, got, want = ragged
            findings.add(rule="file_unreadable", row=line, value=str(got),
                         message=f"line {line} of {name} has {got} fields but the header has "
                         f"{want}; check for an unquoted delimiter or a missing field", **where)
        else:
            findings.add(rule="file_unreadable", message=f"{name} cannot be parsed as CSV: "
                         f"{text.splitlines()[0]}", **where)
        return None
    if frame.width == 0:
        findings.add(rule="empty_file", message=f"{name} has no header line", **where)
        return None
    if frame.width == 1:
        header = frame.columns[0]
        for sep, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars"),
                           (",", "commas")):
            if sep != opts.delimiter and sep in header:
                findings.add(rule="delimiter", row=1, value=header[:80],
                             message=f"{name} seems to be separated by {label}, not "
                             f"{opts.delimiter!r}; set csv.delimiter: {sep!r} in a mapping file",
                             **where)
                return None
    duplicated = [c for c in frame.columns if "_duplicated_" in c]
    if duplicated:
        originals = sorted({c.split("_duplicated_")[0] for c in duplicated})
        for col in originals:
            findings.add(rule="duplicate_column", row=1, column=col,
                         message=f"column {col!r} appears more than once in the header of {name}",
                         **where)
        frame = frame.drop(duplicated)
    return frame


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


def _sheet_frame(ws: Any, name: str, table: str, findings: Findings) -> pl.DataFrame | None:
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    if not rows:
        findings.add(rule="empty_file", table=table, file=name,
                     message=f"{name} is empty: expected a header row with the column names")
        return None
    header = rows[0]
    keep = [i for i, h in enumerate(header) if h is not None
            or any(i < len(r) and r[i] is not None for r in rows[1:])]
    columns: dict[str, list[str | None]] = {}
    for i in keep:
        label = _cell_text(header[i])
        if label is None:
            findings.add(rule="missing_header", table=table, file=name, row=1,
                         column=f"#{i + 1}", message=f"column {i + 1} of {name} has values but "
                         "no header")
            continue
        if label in columns:
            findings.add(rule="duplicate_column", table=table, file=name, row=1, column=label,
                         message=f"column {label!r} appears more than once in the header of "
                         f"{name}")
            continue
        columns[label] = [_cell_text(r[i]) if i < len(r) else None for r in rows[1:]]
    return pl.DataFrame(columns, schema={c: pl.String for c in columns})


@dataclass(frozen=True)
class _Candidate:
    path: Path
    format: str
    sheet: str | None
    key: str  # file stem or sheet name, lower-case, matched against mapping/table names

    @property
    def label(self) -> str:
        return self.path.name if self.sheet is None else f"{self.path.name}[{self.sheet}]"


def _candidates(root: Path, keys: set[str], findings: Findings) -> list[_Candidate]:
    """Every file or sheet that could hold a table.

    A workbook whose name is a table key is that table (its sheet of the same name, else its
    first sheet); any other workbook holds one table per sheet.
    """
    files = [root] if root.is_file() else sorted(
        p for p in root.iterdir() if p.is_file() and not p.name.startswith((".", "~$")))
    out: list[_Candidate] = []
    for path in files:
        suffix = path.suffix.lower()
        if suffix in UNSUPPORTED:
            findings.add(rule="file_unreadable", file=path.name,
                         message=f"{path.name}: {UNSUPPORTED[suffix]}")
            continue
        fmt = FORMATS.get(suffix)
        if fmt is None:
            continue  # README, notes, mapping files: not tables
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
                    findings: Findings) -> tuple[pl.DataFrame | None, int]:
    if cand.format == "csv":
        return _read_csv(cand.path, cand.label, table, opts, findings), 2
    if cand.format == "parquet":
        try:
            return pl.read_parquet(cand.path), 1
        except Exception as exc:  # pyarrow/polars raise several types for damaged files
            findings.add(rule="file_unreadable", table=table, file=cand.label,
                         message=f"{cand.label} cannot be read as Parquet: {exc}")
            return None, 1
    import openpyxl

    wb = openpyxl.load_workbook(cand.path, read_only=True, data_only=True)
    try:
        return _sheet_frame(wb[cand.sheet], cand.label, table, findings), 2
    finally:
        wb.close()


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
    if not root.exists():
        findings.add(rule="folder_missing", file=str(root),
                     message=f"{root} does not exist: expected a cohort folder or workbook")
        return {}
    keys_of = {t: [k.lower() for k in (mapping.table(t).files or [t])] for t in table_names}
    cands = _candidates(root, {k for ks in keys_of.values() for k in ks}, findings)
    claimed: set[_Candidate] = set()
    wanted: dict[str, list[_Candidate]] = {}
    for table in table_names:
        sheet = mapping.table(table).sheet
        hits = []
        for key in keys_of[table]:
            found = [c for c in cands if c.key == key and (sheet is None or c.sheet == sheet)]
            claimed.update(found)
            if len(found) > 1:
                findings.add(rule="duplicate_table", table=table,
                             file=", ".join(c.label for c in found),
                             message=f"table {table} is given by {len(found)} files or sheets "
                             f"({', '.join(c.label for c in found)}); keep one")
            elif found:
                hits.append(found[0])
        wanted[table] = hits
    ignore = {i.lower() for i in mapping.ignore}
    for cand in cands:
        if cand not in claimed and cand.key not in ignore:
            findings.add(rule="unknown_table", file=cand.label,
                         message=f"{cand.label} is not a table of the contract (tables: "
                         f"{', '.join(table_names)}); map it with tables.<table>.file or list "
                         "it under ignore: in a mapping file")

    tables: dict[str, RawTable] = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashes = {c.path.resolve(): pool.submit(sha256, c.path)
                  for hits in wanted.values() for c in hits}
        for table, hits in wanted.items():
            if not hits:
                if table in required:
                    findings.add(rule="missing_table", table=table,
                                 message=f"required table {table} is missing: expected "
                                 f"{table}.csv, {table}.parquet or {table}.xlsx (or a sheet "
                                 f"named {table})")
                continue
            frames, sources = [], []
            for cand in hits:
                frame, first_line = _read_candidate(cand, table, mapping.csv, findings)
                if frame is None:
                    continue
                frames.append(_with_provenance(frame, cand.label, first_line))
                sources.append(SourceFile(str(cand.path.resolve()), cand.label, cand.format,
                                          cand.sheet, "", frame.height))
            if not frames:
                tables[table] = RawTable(table, pl.DataFrame(), [])
                continue
            frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
            tables[table] = RawTable(table, frame, sources)
        for raw in tables.values():
            raw.sources = [SourceFile(s.path, s.name, s.format, s.sheet,
                                      hashes[Path(s.path)].result(), s.n_rows)
                           for s in raw.sources]
    return tables

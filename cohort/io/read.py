"""Find and read the tables of a cohort folder (CSV, Parquet, Excel, SAS, Dataset-JSON)
into raw polars frames with provenance.

This module holds the dispatch: which files or sheets hold which table, reading each with the
reader for its format (CSV: :mod:`cohort.io.csv_read`; Excel sheets: :mod:`cohort.io.sheet`),
and the :class:`RawTable` and :class:`SourceFile` records. Nothing is interpreted here beyond
splitting files into cells: CSV cells stay text, so that the parser (:mod:`cohort.io.parse`)
can report every cell that is not what the contract expects, with its line. Each frame gets two
private columns, ``__file`` (the file a user would open) and ``__line`` (the line or row they
would look at). Input files are only ever opened for reading.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from cohort.findings import Findings
from cohort.io.csv_read import read_csv
from cohort.io.dataset_json import looks_like_dataset_json, read_dataset_json
from cohort.io.files import file_kind
from cohort.io.mapping import CsvOptions, Mapping
from cohort.io.sas import read_sas
from cohort.io.sheet import sheet_frame

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
        read = read_csv(cand.path, cand.label, table, opts, findings)
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
        sheet = sheet_frame(wb[cand.sheet], cand.label, table, findings)
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

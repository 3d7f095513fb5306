"""Atomic writes: a failure never leaves a half-written file or folder behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from cohort.errors import CohortError

__all__ = ["atomic_write_bytes", "atomic_write_text", "write_cohort", "write_folder_atomically"]


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place.

    The file gets the permissions of the file it replaces, or ``rw-r--r--`` when new
    (``mkstemp`` alone would leave it readable by its owner only).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_folder_atomically(out: Path | str, fill: Callable[[Path], None]) -> None:
    """Build a folder with ``fill(tmpdir)`` and move it to ``out`` only when complete.

    An existing ``out`` is replaced as a whole; if ``fill`` fails, ``out`` is untouched.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        fill(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            old.rmdir()
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_table(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "csv":
        frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")
    elif fmt == "parquet":
        frame.to_parquet(path, index=False)
    else:
        raise ValueError(f"unknown table format {fmt!r}; use csv, parquet or xlsx")


REPLACEABLE_SUFFIXES = (".csv", ".parquet", ".xlsx", ".md", ".json", ".yaml", ".yml", ".txt")
"""An existing folder is replaced only if it holds nothing but files like these."""


def _check_replaceable(out: Path) -> None:
    """Refuse to replace a folder that does not look like a cohort folder.

    Writing a cohort replaces ``out`` as a whole; pointed by mistake at a project or home
    folder, that would delete it. A cohort folder holds only table files and notes.
    """
    if out.exists() and not out.is_dir():
        raise CohortError(f"{out} exists and is a file; the output must be a folder")
    if not out.is_dir():
        return
    foreign = sorted(p.name + ("/" if p.is_dir() else "") for p in out.iterdir()
                     if p.is_dir() or p.suffix.lower() not in REPLACEABLE_SUFFIXES)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise CohortError(
            f"{out} exists and holds more than a cohort ({shown}); writing a cohort replaces "
            "the whole folder, so choose a new or empty folder, or remove it first")


def write_cohort(tables: Mapping[str, pd.DataFrame], out: Path | str, *,
                 fmt: str = "csv", extra_files: Mapping[str, str] | None = None) -> Path:
    """Write a cohort folder (one file per table) atomically.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Table name to contract-shaped frame.
    out : path
        Destination folder; replaced as a whole if it exists and holds only table files and
        notes (``.csv``, ``.parquet``, ``.xlsx``, ``.md``, ``.json``, ``.yaml``, ``.txt``).

    Raises
    ------
    CohortError
        If ``out`` exists and holds anything else (sub-folders, other files): it is left as it
        is.
    fmt : {"csv", "parquet", "xlsx"}
        File format; ``xlsx`` writes one workbook ``cohort.xlsx`` with a sheet per table.
    extra_files : mapping of str to str, optional
        Further text files (name to content), such as a README.
    """
    if fmt not in ("csv", "parquet", "xlsx"):
        raise ValueError(f"unknown table format {fmt!r}; use csv, parquet or xlsx")
    _check_replaceable(Path(out))

    def fill(tmp: Path) -> None:
        if fmt == "xlsx":
            with pd.ExcelWriter(tmp / "cohort.xlsx", engine="openpyxl") as xl:
                for name, frame in tables.items():
                    frame.to_excel(xl, sheet_name=name, index=False)
        else:
            for name, frame in tables.items():
                _write_table(frame, tmp / f"{name}.{fmt}", fmt)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")

    write_folder_atomically(out, fill)
    return Path(out)

"""Atomic writes: a failure never leaves a half-written file or folder behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

__all__ = ["atomic_write_bytes", "atomic_write_text", "write_cohort", "write_folder_atomically"]


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
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


def write_cohort(tables: Mapping[str, pd.DataFrame], out: Path | str, *,
                 fmt: str = "csv", extra_files: Mapping[str, str] | None = None) -> Path:
    """Write a cohort folder (one file per table) atomically.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Table name to contract-shaped frame.
    out : path
        Destination folder; replaced as a whole if it exists.
    fmt : {"csv", "parquet", "xlsx"}
        File format; ``xlsx`` writes one workbook ``cohort.xlsx`` with a sheet per table.
    extra_files : mapping of str to str, optional
        Further text files (name to content), such as a README.
    """
    if fmt not in ("csv", "parquet", "xlsx"):
        raise ValueError(f"unknown table format {fmt!r}; use csv, parquet or xlsx")

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

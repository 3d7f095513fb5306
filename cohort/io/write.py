"""Atomic writes: a failure never leaves a half-written file or folder behind."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cohort.io.outputs import (
    MANIFEST,
    OutputError,
    check_output_file,
    check_output_folder,
    folder_manifest,
)

if TYPE_CHECKING:  # pandas is imported where tables are written: `cohort dictionary` and
    import pandas as pd  # other text outputs need none of it

__all__ = ["atomic_write_bytes", "atomic_write_text", "write_cohort", "write_folder_atomically",
           "write_output_file", "write_output_folder"]


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created (deepest last)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _output_error(folder, exc) from None
    return missing


def _remove_empty(created: list[Path]) -> None:
    """Remove the folders a failed write created (only while empty): nothing is left behind."""
    for p in reversed(created):
        try:
            p.rmdir()
        except OSError:
            return


def _output_error(path: Path, exc: OSError) -> OutputError:
    return OutputError(f"cannot write {path}: {exc.strerror or exc}")


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place.

    The file gets the permissions of the file it replaces, or ``rw-r--r--`` when new
    (``mkstemp`` alone would leave it readable by its owner only). A failure (a full or
    read-only disk) leaves neither a temporary file nor a folder created for it.

    Raises
    ------
    OutputError
        If the file cannot be written (the message gives the system's reason).
    """
    path = Path(path)
    created = _make_parents(path.parent)
    tmp: str | None = None
    try:
        mode = path.stat().st_mode & 0o777 if path.is_file() else 0o644
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        _remove_empty(created)
        if isinstance(exc, OSError):
            raise _output_error(path, exc) from None
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_folder_atomically(out: Path | str, fill: Callable[[Path], None]) -> None:
    """Build a folder with ``fill(tmpdir)`` beside ``out`` and swap it in only when complete.

    An existing ``out`` is replaced as a whole (check first with
    :func:`cohort.io.outputs.check_output_folder`); if ``fill`` fails, ``out`` is untouched
    and nothing is left behind (no temporary folder, no empty ``out``, no created parents).

    Raises
    ------
    OutputError
        If writing fails for a reason of the file system (full, read-only, permissions).
    """
    out = Path(out)
    created = _make_parents(out.parent)
    tmp: Path | None = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        fill(tmp)
        tmp.chmod(0o755)  # mkdtemp makes 0700 folders; an output is shared like any other
        if out.exists() or out.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            old.rmdir()
            os.replace(out, old)
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old, out)
                raise
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
        else:
            os.replace(tmp, out)
    except BaseException as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(created)
        if isinstance(exc, OSError):
            raise _output_error(out, exc) from None
        raise


def write_output_folder(out: Path | str, fill: Callable[[Path], None], *, kind: str,
                        command: str | None = None, inputs: Iterable[str | Path] = (),
                        overwrite: bool = False) -> Path:
    """Check ``out`` (:func:`~cohort.io.outputs.check_output_folder`), then write it
    atomically with ``fill`` and a manifest, so the next run recognises its own output."""
    out = Path(out)
    check_output_folder(out, kind=kind, inputs=inputs, overwrite=overwrite)

    def fill_with_manifest(tmp: Path) -> None:
        fill(tmp)
        doc = folder_manifest(tmp, kind=kind, command=command)
        (tmp / MANIFEST).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")

    write_folder_atomically(out, fill_with_manifest)
    return out


def write_output_file(path: Path | str, data: bytes | str, *, kind: str,
                      inputs: Iterable[str | Path] = (), overwrite: bool = False) -> Path:
    """Check ``path`` (:func:`~cohort.io.outputs.check_output_file`), then write it atomically."""
    path = Path(path)
    check_output_file(path, kind=kind, inputs=inputs, overwrite=overwrite)
    atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _write_tables(files: Mapping[Path, pd.DataFrame], fmt: str) -> None:
    from cohort.io import serialise  # polars: imported only when a table is written

    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown table format {fmt!r}; use csv, parquet or xlsx")
    serialise.write_tables(files, fmt=fmt)


def write_cohort(tables: Mapping[str, pd.DataFrame], out: Path | str, *,
                 fmt: str = "csv", extra_files: Mapping[str, str] | None = None,
                 overwrite: bool = False, inputs: Iterable[str | Path] = (),
                 command: str | None = None) -> Path:
    """Write a cohort folder (one file per table) atomically.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Table name to contract-shaped frame.
    out : path
        Destination folder. It is written beside and swapped in when complete, with a
        manifest (``.cohort-output.json``) of its files; an existing folder is replaced only
        when empty or an unchanged earlier output of this function (see
        :mod:`cohort.io.outputs`).
    fmt : {"csv", "parquet", "xlsx"}
        File format; ``xlsx`` writes one workbook ``cohort.xlsx`` with a sheet per table.
    extra_files : mapping of str to str, optional
        Further text files (name to content), such as a README.
    overwrite : bool
        Replace an existing non-empty folder even if cohort did not write it.
    inputs : paths
        Inputs of the run: ``out`` is never one of them nor holds one.
    command : str, optional
        The command that wrote the folder, kept in the manifest.

    Raises
    ------
    OutputError
        If ``out`` must not be replaced (it is left as it is) or cannot be written.
    """
    if fmt not in ("csv", "parquet", "xlsx"):
        raise ValueError(f"unknown table format {fmt!r}; use csv, parquet or xlsx")
    def fill(tmp: Path) -> None:
        if fmt == "xlsx":
            import pandas as pd

            with pd.ExcelWriter(tmp / "cohort.xlsx", engine="openpyxl") as xl:
                for name, frame in tables.items():
                    frame.to_excel(xl, sheet_name=name, index=False)
        else:
            _write_tables({tmp / f"{name}.{fmt}": frame for name, frame in tables.items()},
                          fmt)
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")

    return write_output_folder(out, fill, kind="cohort", command=command, inputs=inputs,
                               overwrite=overwrite)

"""Where cohort may write: outputs never destroy a user's files.

Every file or folder a command writes goes through the checks here first:

- an output is never an input of the same run (``cohort report PATH --out PATH/subjects.csv``),
  and a folder output never holds one (``cohort reproduce S --data D --out D``), whatever the
  options;
- a folder is written only when it is new, empty, or a previous output of the same kind: cohort
  leaves a manifest (:data:`MANIFEST`) in every folder it writes, listing each file with its
  SHA-256, and replaces the folder only while it holds exactly those files, unchanged.
  Anything else (a user's ``notes.txt``, an edited table) needs ``overwrite=True``
  (``--overwrite``);
- a file is replaced only when it carries the mark of the same kind of cohort output (the
  report's ``<meta name="generator" content="cohort">``, a figure made by matplotlib, the data
  dictionary's header), or with ``overwrite=True``;
- the home folder, the file-system root and the current folder (or one above it) are never
  replaced as a whole.

Writes themselves are atomic (:mod:`cohort.io.write`).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cohort.errors import CohortError
from cohort.io.files import file_kind

__all__ = ["MANIFEST", "OutputError", "check_output_file", "check_output_folder",
           "folder_manifest", "input_files"]

MANIFEST = ".cohort-output.json"
"""The manifest file cohort writes into every output folder."""

_MARKS: dict[str, tuple[bytes, ...]] = {
    "html": (b'<meta name="generator" content="cohort',),
    "figure": (b"Matplotlib", b"matplotlib"),
    "dictionary": (b"by `cohort dictionary`",),
    "json": (b'"cohort_version"',),
    "model": (b'"intercept"', b"intercept:"),
    "export": (b"cohort-export",),
}
"""What a file written by cohort holds, by kind, within its first or last 64 kB."""

_WHAT = {"html": "an HTML report", "figure": "a figure", "dictionary": "a data dictionary",
         "json": "a JSON result", "model": "a model file", "export": "a table",
         "cohort": "a cohort folder",
         "reproduce": "a reproduction folder"}

TABLE_SUFFIXES = frozenset({".csv", ".parquet", ".xlsx", ".xlsm", ".xls", ".tsv", ".txt",
                            ".xpt", ".sas7bdat", ".yaml", ".yml", ".json"})
"""Files of an input folder that count as inputs (tables a reader may open, mappings)."""


class OutputError(CohortError):
    """An output path cannot or must not be written (the message says why and what to do)."""


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(path))


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def input_files(*paths: str | Path | None) -> list[Path]:
    """The inputs of a run: each given file, and the table files of each given folder.

    Missing paths and preset names (``--mapping adam``) are left out.
    """
    found: list[Path] = []
    for p in paths:
        if p is None:
            continue
        path = Path(p)
        try:
            if path.is_dir():
                found.append(path)
                found += [c for c in path.iterdir()
                          if c.suffix.lower() in TABLE_SUFFIXES and c.is_file()]
            elif path.exists():
                found.append(path)
        except OSError:
            continue  # unreadable: the run itself will say so
    return found


def _check_parent(path: Path) -> None:
    """The nearest existing ancestor must be a folder (``--out file.txt/report.html``)."""
    for parent in path.absolute().parents:
        try:
            st = os.stat(parent)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {parent}: {exc.strerror}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise OutputError(f"cannot write {path}: {parent} is {file_kind(st.st_mode)}, not "
                              "a folder")
        return


def _lstat_target(path: Path) -> os.stat_result | None:
    """``stat`` of what ``path`` names (following links); None when nothing is there (or a
    dangling link, whose replacement loses nothing)."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OutputError(f"cannot write {path}: it is a symbolic link loop") from None
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None


def _marked(path: Path, kind: str) -> bool:
    marks = _MARKS.get(kind, ())
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
            size = os.fstat(fh.fileno()).st_size
            tail = b""
            if size > 1 << 16:
                fh.seek(max(size - (1 << 16), 1 << 16))
                tail = fh.read()
    except OSError:
        return False
    return any(m in head or m in tail for m in marks)


def _refuse_input(path: Path, inputs: Iterable[str | Path], *, folder: bool) -> None:
    real = _real(path)
    for inp in inputs:
        r = _real(inp)
        if r == real or (folder and _within(r, real)):
            what = "is" if r == real else f"holds {inp}, which is"
            raise OutputError(f"will not write {path}: it {what} an input of this run; "
                              "choose another output location")


def check_output_file(path: str | Path, *, kind: str, inputs: Iterable[str | Path] = (),
                      overwrite: bool = False) -> None:
    """Check that ``path`` may be written as an output file of ``kind``.

    Parameters
    ----------
    path : path
        The file to write.
    kind : {"html", "figure", "dictionary", "json", "model"}
        What is written; an existing file is replaced without ``overwrite`` only when it is
        this kind of cohort output.
    inputs : paths
        The inputs of the run (files and folders); never written over.
    overwrite : bool
        Replace an existing regular file that cohort did not write.

    Raises
    ------
    OutputError
        With what is wrong and what to do.
    """
    path = Path(path)
    inputs = list(inputs)
    _check_parent(path)
    _refuse_input(path, inputs, folder=False)
    st = _lstat_target(path)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{path} is a folder; give the name of the file to write")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"will not write {path}: it is {file_kind(st.st_mode)}, not a "
                          "regular file")
    if overwrite or _marked(path, kind):
        return
    raise OutputError(f"{path} exists and is not {_WHAT.get(kind, 'an output')} written by "
                      "cohort; give --overwrite to replace it, or choose another file name")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def folder_manifest(folder: Path, *, kind: str, command: str | None = None) -> dict[str, Any]:
    """The manifest of a folder just written: every file (relative path) with size and hash."""
    from cohort import __version__

    files = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != MANIFEST:
            rel = p.relative_to(folder).as_posix()
            files[rel] = {"bytes": p.stat().st_size, "sha256": _sha256(p)}
    return {"written_by": "cohort", "cohort_version": __version__, "kind": kind,
            "command": command, "files": files}


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    from cohort.io.files import UnreadableFileError, read_file_bytes

    path = folder / MANIFEST
    try:
        doc = json.loads(read_file_bytes(path, "manifest", max_bytes=16 << 20))
    except (UnreadableFileError, ValueError):
        return None
    ok = (isinstance(doc, dict) and doc.get("written_by") == "cohort"
          and isinstance(doc.get("files"), dict))
    return doc if ok else None


def _unlisted(folder: Path, manifest: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Entries of ``folder`` the manifest does not list, and listed files changed since."""
    listed = manifest["files"]
    foreign, changed = [], []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if rel == MANIFEST:
            continue
        if p.is_symlink() or not (p.is_file() or p.is_dir()):
            foreign.append(rel)
        elif p.is_dir():
            if not any(k.startswith(rel + "/") for k in listed):
                foreign.append(rel + "/")
        elif rel not in listed:
            foreign.append(rel)
        else:
            entry = listed[rel]
            if not isinstance(entry, dict) or entry.get("bytes") != p.stat().st_size \
                    or entry.get("sha256") != _sha256(p):
                changed.append(rel)
    return foreign, changed


def _shown(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f", ... ({len(names)} in all)" if len(names) > 5 else "")


def check_output_folder(out: str | Path, *, kind: str, inputs: Iterable[str | Path] = (),
                        overwrite: bool = False) -> None:
    """Check that folder ``out`` may be written (replaced as a whole) as an output of ``kind``.

    Parameters
    ----------
    out : path
        The folder.
    kind : {"cohort", "reproduce"}
        What is written; an existing folder is replaced without ``overwrite`` only when its
        manifest says it is this kind of output and it holds nothing else, unchanged.
    inputs : paths
        The run's inputs; a folder that is or holds one is never replaced.
    overwrite : bool
        Replace a non-empty folder cohort did not write (or whose files were changed).

    Raises
    ------
    OutputError
        With what is wrong and what to do.
    """
    out = Path(out)
    _check_parent(out)
    _refuse_input(out, list(inputs), folder=True)
    st = _lstat_target(out)
    if st is None:
        return
    if not stat.S_ISDIR(st.st_mode):
        raise OutputError(f"{out} exists and is {file_kind(st.st_mode)}; the output must be a "
                          "folder")
    real = _real(out)
    here = _real(Path.cwd())
    if real == _real(Path.home()) or real == Path(real.anchor) or _within(here, real):
        raise OutputError(f"will not replace {out}: it is the home folder, the root or the "
                          "current folder (or holds it); give a new folder")
    try:
        empty = not any(out.iterdir())
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror}") from None
    if empty or overwrite:
        return
    manifest = _read_manifest(out)
    what = _WHAT.get(kind, "an output")
    if manifest is None:
        raise OutputError(f"{out} exists, is not empty and is not {what} written by cohort "
                          f"(no {MANIFEST}); writing replaces the whole folder: give a new "
                          "or empty folder, or --overwrite to replace it")
    if manifest.get("kind") != kind:
        raise OutputError(f"{out} holds {_WHAT.get(str(manifest.get('kind')), 'another output')}"
                          f", not {what}; give another folder, or --overwrite to replace it")
    foreign, changed = _unlisted(out, manifest)
    if foreign:
        raise OutputError(f"{out} holds files cohort did not write ({_shown(foreign)}); writing "
                          "replaces the whole folder: move them, give another folder, or "
                          "--overwrite to replace it")
    if changed:
        raise OutputError(f"{out}: {_shown(changed)} changed since cohort wrote it; writing "
                          "replaces the whole folder: give another folder, or --overwrite")

"""Open input files safely: only regular files, never blocking, never unbounded.

A path a user gives can be anything: a folder, a FIFO (a read blocks until a writer comes),
``/dev/zero`` (a read never ends), a symbolic link loop. Every input file (cohort tables,
mapping files, study specs, model files) is checked here before a byte is read, and opened
with ``O_NONBLOCK`` so that a file swapped for a FIFO between the check and the open still
cannot block.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from cohort.errors import CohortError

__all__ = ["UnreadableFileError", "file_kind", "check_regular_file", "read_file_bytes"]


class UnreadableFileError(CohortError):
    """An input path is not a regular readable file (or is larger than allowed)."""


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words (``"a regular file"``, ``"a FIFO"``...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "a special file"


def _stat(path: Path, what: str) -> os.stat_result:
    try:
        return os.stat(path)  # follows links: a link to /dev/zero is a device
    except FileNotFoundError:
        if os.path.islink(path):
            raise UnreadableFileError(f"{what} {path} is a symbolic link to a file that does "
                                      "not exist") from None
        raise UnreadableFileError(f"{what} {path} does not exist") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableFileError(f"{what} {path} is a symbolic link loop") from None
        raise UnreadableFileError(f"cannot read {what} {path}: {exc.strerror}") from None


def check_regular_file(path: str | Path, what: str = "file") -> os.stat_result:
    """Check that ``path`` is a regular file (following links); return its ``stat``.

    Raises
    ------
    UnreadableFileError
        If the path does not exist, is a link loop, or is a folder, FIFO, device or socket;
        the message names what it is.
    """
    path = Path(path)
    st = _stat(path, what)
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableFileError(f"{what} {path} is {file_kind(st.st_mode)}, not a regular "
                                  "file; give the path of a file")
    return st


def read_file_bytes(path: str | Path, what: str = "file", *,
                    max_bytes: int | None = None) -> bytes:
    """All bytes of a regular file, read without ever blocking.

    Parameters
    ----------
    path : path
        The file.
    what : str
        What the file is, for messages (``"mapping file"``).
    max_bytes : int, optional
        Refuse files larger than this (the message names the limit).

    Raises
    ------
    UnreadableFileError
        Not a regular file, larger than ``max_bytes``, or unreadable (permissions, I/O error).
    """
    path = Path(path)
    st = check_regular_file(path, what)
    if max_bytes is not None and st.st_size > max_bytes:
        raise UnreadableFileError(
            f"{what} {path} is {st.st_size:,} bytes; the limit is {max_bytes:,} bytes")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise UnreadableFileError(f"cannot read {what} {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced between the check and the open
            raise UnreadableFileError(f"{what} {path} is {file_kind(st.st_mode)}, not a "
                                      "regular file")
        limit = st.st_size if max_bytes is None else max_bytes
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if max_bytes is not None and total > limit:
                raise UnreadableFileError(
                    f"{what} {path} is larger than the limit of {max_bytes:,} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise UnreadableFileError(f"cannot read {what} {path}: {exc.strerror}") from None
    finally:
        os.close(fd)

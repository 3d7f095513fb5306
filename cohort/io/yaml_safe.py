"""The one YAML loader of cohort: mappings, study specs, model files, the contract.

``yaml.safe_load`` builds no Python objects, but it still trusts the document's shape: nine
lines of nested aliases (the "billion laughs") expand to billions of nodes in whatever walks the
result, a file nested ten thousand levels deep exhausts the stack, and explicit tags
(``!!binary``, ``!!set``, ``!!omap``) produce types no reader of ours expects. Every YAML
document is therefore first walked as a stream of parser events, which costs a few
milliseconds and never expands anything, and refused (with the limit named) when it is:

- larger than :data:`MAX_BYTES`,
- nested deeper than :data:`MAX_DEPTH`,
- larger than :data:`MAX_NODES` nodes once its aliases are expanded (aliases themselves are
  allowed: the bundled specs share blocks with ``&anchor`` / ``<<: *anchor``),
- tagged with anything but the plain YAML types (string, number, boolean, null, list, map),
- not UTF-8 text, or more than one document.

Only then is it loaded with the safe loader (libyaml's when installed).
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml

from cohort.errors import CohortError
from cohort.io.files import UnreadableFileError, read_file_bytes

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "decode_text", "load_yaml_file",
           "load_yaml_text"]

MAX_BYTES = 4 * 1024 * 1024
"""Largest YAML file read (bytes); the largest bundled spec is under 30 kB."""

MAX_DEPTH = 64
"""Deepest nesting of lists and maps."""

MAX_NODES = 200_000
"""Most nodes (scalars, lists, maps) a document may hold with every alias expanded."""

_PLAIN_TAGS = frozenset({None, "!"} | {f"tag:yaml.org,2002:{t}" for t in
                                        ("str", "int", "float", "bool", "null", "seq", "map")})

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
         (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"))


def decode_text(data: bytes, source: str, error: type[CohortError]) -> str:
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise error(f"{source} is {name} text; save it as UTF-8")
    if len(data) >= 2 and (data[0] == 0) != (data[1] == 0):
        raise error(f"{source} looks like UTF-16 or UTF-32 text (NUL bytes); save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(f"{source} is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, "
                    f"column {col} (a latin-1 or Windows-1252 file?); save it as UTF-8") from None


def _where(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _check_events(text: str, source: str, error: type[CohortError]) -> None:
    """Walk the parser's events: depth, expanded size and tags, without building anything."""
    sizes: dict[str, int] = {}
    stack: list[tuple[str | None, int]] = []
    nodes = documents = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise error(f"{source} holds more than one YAML document{_where(event)}; "
                            "give one")
            continue
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                raise error(f"{source}: alias *{event.anchor}{_where(event)} refers to no "
                            "complete anchor before it")
            nodes += sizes[event.anchor]
        elif isinstance(event, yaml.NodeEvent):  # scalar or collection start
            if event.tag not in _PLAIN_TAGS:
                raise error(f"{source}: tag {event.tag}{_where(event)} is not allowed; only "
                            "plain YAML (strings, numbers, booleans, null, lists, maps)")
            nodes += 1
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append((event.anchor, nodes - 1))
                if len(stack) > MAX_DEPTH:
                    raise error(f"{source} is nested more than {MAX_DEPTH} levels "
                                f"deep{_where(event)} (limit MAX_DEPTH = {MAX_DEPTH})")
            elif event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, start = stack.pop()
            if anchor is not None:
                sizes[anchor] = nodes - start
        if nodes > MAX_NODES:
            raise error(f"{source} expands to more than {MAX_NODES:,} YAML nodes{_where(event)} "
                        f"(limit MAX_NODES = {MAX_NODES:,}); aliases (*name) nested in "
                        "aliases multiply: is it a \"billion laughs\" document?")


def load_yaml_text(text: str, *, source: str = "YAML document",
                   error: type[CohortError] = CohortError) -> Any:
    """Parse one YAML document under the limits of this module.

    Parameters
    ----------
    text : str
        The document.
    source : str
        What it is, for messages (``"mapping file m.yaml"``).
    error : type
        The :class:`~cohort.errors.CohortError` subclass to raise.

    Raises
    ------
    error
        If the document breaks a limit or is not valid YAML; the message names the limit or
        the line and column.
    """
    try:
        _check_events(text, source, error)
        return yaml.load(text, Loader=_LOADER)  # a safe loader (SafeLoader or CSafeLoader)
    except yaml.YAMLError as exc:
        raise error(f"{source} is not valid YAML: {exc}") from None
    except RecursionError:  # cannot happen under MAX_DEPTH; never a traceback if it does
        raise error(f"{source} is nested too deeply (limit MAX_DEPTH = {MAX_DEPTH})") from None


def load_yaml_file(path: str | Path, *, what: str = "YAML file",
                   error: type[CohortError] = CohortError,
                   max_bytes: int = MAX_BYTES) -> Any:
    """Read and parse a YAML file safely (regular file, size, encoding, shape).

    Parameters
    ----------
    path : path
        The file; a FIFO, device, folder or link loop is refused before any read.
    what : str
        What the file is, for messages (``"mapping file"``, ``"study spec"``).
    error : type
        The :class:`~cohort.errors.CohortError` subclass to raise.
    max_bytes : int
        Largest file accepted.
    """
    path = Path(path)
    try:
        data = read_file_bytes(path, what, max_bytes=max_bytes)
    except UnreadableFileError as exc:
        raise error(str(exc)) from None
    source = f"{what} {path}"
    return load_yaml_text(decode_text(data, source, error), source=source, error=error)

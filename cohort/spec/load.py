"""Reading a study spec: YAML text -> validated :class:`~cohort.spec.model.StudySpec`, with
every problem named by its key path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cohort.errors import SpecError
from cohort.spec.blocks import _DISTS
from cohort.spec.model import StudySpec

__all__ = ["format_validation_error", "load_spec", "spec_from_dict"]


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _DISTS or part in ("function-plain", "function-after", "function-before"):
            continue  # union / validator branch names are noise for a user
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _cut_at_comma(err: Mapping[str, Any]) -> bool:
    """An unknown key that is really the tail of a text cut by YAML at an unquoted comma
    inside a ``{...}`` flow mapping: it has spaces or brackets and no value."""
    loc = err.get("loc") or ()
    key = loc[-1] if loc else None
    return (err.get("type") == "extra_forbidden" and isinstance(key, str)
            and err.get("input") is None and any(c in key for c in " ()[];"))


def _message(err: Mapping[str, Any]) -> str:
    if _cut_at_comma(err):
        key = err["loc"][-1]
        return (f"{key!r} is not a key: it looks like the rest of a text cut at an unquoted "
                "comma inside a {...} flow mapping (YAML splits there); put that value in "
                "quotes, e.g. source: \"Author 2007 (first patient, 1 year later)\"")
    msg = str(err.get("msg", ""))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if err.get("type") == "missing":
        msg = "required key is missing"
    elif err.get("type") == "extra_forbidden":
        msg = "unknown key (not part of the spec format; check the spelling)"
    if err.get("type") == "unknown_distribution":
        got = err.get("input", {})
        got = got.get("dist") if isinstance(got, dict) else got
        msg = f"unknown distribution {got!r}; expected one of {', '.join(_DISTS)}"
    return msg


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: ``source: key.path: message``."""
    lines = []
    seen = set()
    for err in exc.errors():
        loc = tuple(err["loc"])
        if _cut_at_comma(err):
            loc = loc[:-1]  # the mapping the text was cut in
        for msg in _message(err).split("\n"):
            # cross-part checks name their own key path
            line = f"  {_loc(loc)}: {msg}" if loc else f"  {msg}"
            if line not in seen:
                seen.add(line)
                lines.append(line)
    n = len(lines)
    head = f"invalid study spec {source} ({n} problem{'s' if n != 1 else ''}):"
    return "\n".join([head, *lines[:20]] + ([f"  ... {n - 20} more"] if n > 20 else []))


def spec_from_dict(raw: Any, *, source: str = "<dict>") -> StudySpec:
    """Validate a parsed spec (a dict as read from YAML).

    Raises
    ------
    SpecError
        Naming the key path and the problem, one line each.
    """
    if not isinstance(raw, dict):
        raise SpecError(f"invalid study spec {source}: expected a mapping at the top level, "
                        f"got {type(raw).__name__}")
    try:
        return StudySpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_validation_error(exc, source)) from None


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a study spec file (YAML).

    Raises
    ------
    SpecError
        If the file cannot be read or parsed, or the spec is invalid (the message names the
        key path of every problem).
    """
    from cohort.io.yaml_safe import load_yaml_file

    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise SpecError(f"study spec {path} does not exist; give a registered study name "
                        "(see `cohort studies`) or the path of a spec file")
    raw = load_yaml_file(path, what="study spec", error=SpecError)
    return spec_from_dict(raw, source=str(path))

"""Provenance: every number of a spec with its key path and its published/assumed mark."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from cohort.spec.values import Value

__all__ = ["iter_values"]


def iter_values(obj: Any, path: str = "") -> Iterator[tuple[str, Value]]:
    """Every :class:`Value` in a spec with its key path (for READMEs and audits)."""
    if isinstance(obj, Value):
        yield path, obj
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from iter_values(getattr(obj, name), f"{path}.{name}" if path else name)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from iter_values(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            yield from iter_values(v, f"{path}[{i}]")

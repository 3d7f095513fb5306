"""The JSON Schema of a study spec, generated from the pydantic models.

``cohort/spec/study_spec.schema.json`` is this schema, committed and shipped in the wheel, so
an editor (VS Code's YAML extension, JetBrains IDEs) can check a spec while it is written: put
``# yaml-language-server: $schema=<path to study_spec.schema.json>`` on the first line. The
schema checks the shape (keys, types, allowed words); the checks across parts (group keys,
visit labels, variables, primary endpoints) run when the spec is loaded. A test regenerates
the file and compares.

Regenerate it with ``python -m cohort.spec.schema``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_FILE", "spec_json_schema", "schema_text"]

SCHEMA_FILE = Path(__file__).with_name("study_spec.schema.json")
"""The committed schema (package data)."""


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :class:`cohort.spec.model.StudySpec`."""
    from cohort.spec.model import StudySpec

    schema = _shorthands(StudySpec.model_json_schema(mode="validation"))
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://cohort.invalid/study_spec.schema.json",
            "title": "cohort study spec",
            "description": "A published study described as data (docs/spec.md): design, "
                           "visits, baseline distributions, outcome models and the published "
                           "targets. Every parameter block is marked published or assumed.",
            **{k: v for k, v in schema.items() if k != "title"}}


def _is_dist_union(node: Any) -> bool:
    return isinstance(node, dict) and "oneOf" in node and any(
        alt.get("$ref") == "#/$defs/Normal" for alt in node["oneOf"])


def _shorthands(node: Any) -> Any:
    """What the models accept before validation, stated in the schema too: a bare number for
    a distribution (a constant) and for a correlation (every group)."""
    if isinstance(node, list):
        return [_shorthands(x) for x in node]
    if not isinstance(node, dict):
        return node
    if _is_dist_union(node):
        # the dists differ by their `dist` key, so several may match a loose draft checker:
        # anyOf, not oneOf
        return {"anyOf": [*node["oneOf"], {"type": "number",
                                            "description": "a constant"}]}
    out = {k: _shorthands(v) for k, v in node.items()}
    props = out.get("properties")
    if out.get("title") == "Correlation" and isinstance(props, dict) and "rho" in props:
        props["rho"] = {"anyOf": [props["rho"], {"type": "number"}],
                        "description": "Correlation per group key, or one for every group."}
    return out


def schema_text() -> str:
    """The schema as written to :data:`SCHEMA_FILE` (sorted keys, two-space indent)."""
    return json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")

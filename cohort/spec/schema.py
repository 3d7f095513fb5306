"""The JSON Schema of a study spec, generated from the pydantic models.

``cohort/spec/study_spec.schema.json`` is this schema, committed and shipped in the wheel, so
an editor (VS Code's YAML extension, JetBrains IDEs) can check a spec while it is written: put
``# yaml-language-server: $schema=<path to study_spec.schema.json>`` on the first line. The
schema checks the shape (keys, types, allowed words); the checks across parts (group keys,
visit labels, variables, primary endpoints) run when the spec is loaded. A test regenerates
the file and compares.

Regenerate it with ``python -m cohort.spec.schema``, which also regenerates the catalogue of
``cohort analyze`` commands a target may name (``analyze_commands.json``, read by
:mod:`cohort.spec.requests`) from the command line itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_FILE", "catalogue_text", "live_catalogue", "schema_text", "spec_json_schema"]

SCHEMA_FILE = Path(__file__).with_name("study_spec.schema.json")
"""The committed schema (package data)."""


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :class:`cohort.spec.model.StudySpec`."""
    from cohort.spec.model import StudySpec

    schema = _shorthands(StudySpec.model_json_schema(mode="validation"))
    _target_vocabulary(schema["$defs"]["Target"])
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


def _target_vocabulary(target: dict[str, Any]) -> None:
    """The analyses a target may name and, per `cohort analyze` command, the options its
    params may give, so an editor completes and checks them (the models check the same when
    the spec is read)."""
    from cohort.spec.analyses import ANALYSES
    from cohort.spec.requests import ANALYZE_PREFIX, SPEC_VISIT, analyze_commands

    commands = analyze_commands()
    props = target["properties"]
    props["analysis"] = {
        "title": "Analysis", "type": "string",
        "description": "An analysis of the catalogue (docs/spec.md), or `analyze <command>` "
                       "for any `cohort analyze` command.",
        "enum": sorted(ANALYSES) + [f"{ANALYZE_PREFIX}{c}" for c in sorted(commands)]}
    rules = []
    for name, options in sorted(commands.items()):
        allowed = sorted({*options, SPEC_VISIT} if any(
            o in options for o in ("visit", "visit-days", "visit-day")) else set(options))
        rules.append({"if": {"properties": {"analysis": {"const": f"{ANALYZE_PREFIX}{name}"}},
                             "required": ["analysis"]},
                      "then": {"properties": {"params": {"propertyNames": {"enum": allowed}}}}})
    target["allOf"] = rules


def schema_text() -> str:
    """The schema as written to :data:`SCHEMA_FILE` (sorted keys, two-space indent)."""
    return json.dumps(spec_json_schema(), indent=2, sort_keys=True) + "\n"


def live_catalogue() -> dict[str, Any]:
    """The ``cohort analyze`` commands and the options a target may give, read from the
    command line (imports it: a generator, never called when a spec is loaded)."""
    import typer

    from cohort.cli.app import app
    from cohort.spec.requests import EXCLUDED_OPTIONS

    group = typer.main.get_command(app).commands["analyze"]  # type: ignore[attr-defined]
    commands: dict[str, Any] = {}
    for name in sorted(group.commands):
        cmd = group.commands[name]
        options: dict[str, Any] = {}
        for p in cmd.params:
            longs = [o for o in getattr(p, "opts", []) if o.startswith("--")]
            if type(p).__name__.endswith("Argument") or not longs:
                continue
            opt = longs[0][2:]
            if opt in EXCLUDED_OPTIONS or opt.startswith("plot-"):
                continue
            negation = [o[2:] for o in getattr(p, "secondary_opts", []) if o.startswith("--")]
            options[opt] = {"flag": bool(getattr(p, "is_flag", False)),
                            "negation": negation[0] if negation else None,
                            "multiple": bool(getattr(p, "multiple", False)),
                            "hidden": bool(getattr(p, "hidden", False))}
        commands[name] = {"options": options}
    return {"generated_by": "python -m cohort.spec.schema", "commands": commands}


def catalogue_text() -> str:
    """The catalogue as written to :data:`cohort.spec.requests.CATALOGUE_FILE`."""
    return json.dumps(live_catalogue(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # pragma: no cover
    from cohort.spec.requests import CATALOGUE_FILE

    # the catalogue first: the schema lists its commands
    CATALOGUE_FILE.write_text(catalogue_text(), encoding="utf-8")
    print(f"wrote {CATALOGUE_FILE}")
    SCHEMA_FILE.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {SCHEMA_FILE}")

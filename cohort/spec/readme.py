"""Render a study's README from its spec: what is published, what is assumed, what is derived.

The README of every bundled study is generated from its spec (and checked by a test), so the
provenance a reader sees cannot drift from the numbers the generator uses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from cohort.spec.blocks import Marked, MaybeMarked
from cohort.spec.model import StudySpec
from cohort.spec.provenance import iter_values

__all__ = ["provenance_rows", "render_readme"]


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _what(path: str, obj: BaseModel) -> str:
    for attr in ("name", "term", "label", "arm"):
        val = getattr(obj, attr, None)
        if isinstance(val, str):
            return f"{path} ({val})"
    return path


def provenance_rows(spec: StudySpec) -> list[dict[str, str]]:
    """One row per marked block or entry: ``where``, ``basis`` and ``text`` (source/reason).

    Examples
    --------
    >>> from collections import Counter
    >>> from cohort.spec import provenance_rows, resolve_spec
    >>> spec, _ = resolve_spec("lu2021")
    >>> rows = provenance_rows(spec)
    >>> rows[0]  # doctest: +NORMALIZE_WHITESPACE
    {'where': 'design.arms[0] (msc)', 'basis': 'published',
     'text': 'Lu 2021 abstract (MSC-treated group n = 27)'}
    >>> sorted(Counter(r["basis"] for r in rows))
    ['assumed', 'published']
    """
    rows: list[dict[str, str]] = []

    def walk(obj: Any, path: str) -> None:
        if isinstance(obj, BaseModel):
            if isinstance(obj, Marked | MaybeMarked):
                pub, ass = getattr(obj, "published", None), getattr(obj, "assumed", None)
                if pub is not None or ass is not None:
                    rows.append({"where": _what(path, obj),
                                 "basis": "published" if pub is not None else "assumed",
                                 "text": pub if pub is not None else str(ass)})
            for name in type(obj).model_fields:
                if name in ("published", "assumed", "targets", "study"):
                    continue
                walk(getattr(obj, name), f"{path}.{name}" if path else name)
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}")
        elif isinstance(obj, list | tuple):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]")

    walk(spec, "")
    for path, value in iter_values(spec):
        if value.published is not None or value.assumed is not None:
            basis = "published" if value.published is not None else "assumed"
            rows.append({"where": f"{path} = {value.value:g}", "basis": basis,
                         "text": value.published or str(value.assumed)})
    return rows


def render_readme(spec: StudySpec) -> str:
    """The Markdown README of a study (``synthetic/<study>/README.md``)."""
    s = spec.study
    arms = ", ".join(f"{a.arm_label} {int(a.n)}" for a in spec.arms)
    links = [x for x in (f"doi:{s.doi}" if s.doi else None, f"PMID {s.pmid}" if s.pmid else None,
                         s.pmcid, s.registry) if x]
    visits = ", ".join(spec.visits.labels())
    out = [
        f"# {s.id}: {s.title}",
        "",
        f"> {_cell(s.citation)}" + (f" ({', '.join(links)})" if links else ""),
        "",
        "Synthetic patient-level cohort modelled on what the paper reports. These are not real "
        "patients: every number below is either **published** (with its source) or "
        "**assumed** (with the reason), and back-solved numbers show their derivation. This "
        "README is generated from `spec.yaml`.",
        "",
    ]
    if s.summary:
        out += [_cell(s.summary), ""]
    out += [
        "| dataset | subjects | arms | diabetes | visits | seed | files |",
        "|---|---|---|---|---|---|---|",
        f"| {s.id} | {sum(int(a.n) for a in spec.arms)} | {_cell(arms)} | {s.diabetes_type} | "
        f"{_cell(visits)} | {s.seed} | `cohort/*.csv` |",
        "",
        "Regenerate the committed cohort (byte for byte):",
        "",
        "```",
        f"cohort synth {s.id} --out synthetic/{s.id}/cohort --seed {s.seed}",
        "```",
        "",
        f"`cohort synth {s.id} --check` prints the fidelity scorecard (published vs generated "
        f"baseline numbers); `cohort synth {s.id} --out DIR --n N` scales every arm.",
        "",
    ]
    if s.conflicts:
        out += ["## Conflicts in the sources", ""]
        out += [f"- {_cell(c)}" for c in s.conflicts] + [""]
    rows = provenance_rows(spec)
    n_pub = sum(r["basis"] == "published" for r in rows)
    out += [
        "## Published and assumed",
        "",
        f"{n_pub} entries published, {len(rows) - n_pub} assumed.",
        "",
        "| spec entry | basis | source or reason |",
        "|---|---|---|",
    ]
    out += [f"| `{_cell(r['where'])}` | {r['basis']} | {_cell(r['text'])} |" for r in rows]
    derived = [(p, v) for p, v in iter_values(spec) if v.derivation]
    if derived:
        out += ["", "## Back-solved numbers", "", "| spec entry | value | derivation |",
                "|---|---|---|"]
        out += [f"| `{p}` | {v.value:.4g} | `{_cell(v.derivation)}` |" for p, v in derived]
    out += ["", "## Published targets", "",
            "Each target names the analysis that reproduces it (`cohort reproduce`). "
            "*Calibrated*: the generator is built to hit it at the published n.", "",
            "| target | analysis | published | source | calibrated |", "|---|---|---|---|---|"]
    for t in spec.targets:
        shown = _target_value(t)
        out.append(f"| {_cell(t.description)} | `{t.analysis}` | {_cell(shown)} | "
                   f"{_cell(t.source)}{'; ' + _cell(t.note) if t.note else ''} | "
                   f"{'yes' if t.calibrated else 'no'} |")
    return "\n".join(out) + "\n"


def _target_value(t: Any) -> str:
    parts = []
    if t.value is not None:
        parts.append(f"{'' if t.comparison == '=' else t.comparison + ' '}{t.value:g}")
    if t.values is not None:
        parts.append(", ".join(f"{v:g}" for v in t.values))
    if t.se is not None:
        parts.append(f"SE {t.se:g}")
    if t.ci is not None:
        parts.append(f"CI {t.ci[0]:g} to {t.ci[1]:g}")
    if t.p is not None:
        parts.append(f"p {'' if t.p_comparison == '=' else t.p_comparison + ' '}{t.p:g}")
    return "; ".join(parts)

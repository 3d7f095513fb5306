"""Report section: published numbers next to the reproduced ones, for a registered study.

Takes the result of :func:`cohort.studies.reproduce.reproduce` (any object with a ``summary``
DataFrame and a ``manifest`` dict). ``summary`` columns used: ``target``, ``description``,
``analysis``, ``source``, ``published`` (the number as printed), ``published_value``,
``published_ci_lower``, ``published_ci_upper``, ``published_p``, ``reproduced`` (as text,
optional), ``reproduced_value``, ``ci_lower``, ``ci_upper``, ``p``, ``n``, ``agreement``
(``agrees``, ``compatible``, ``differs``, ``not computable``), ``agreement_rule``, ``inputs``
(``published``, ``assumed`` or ``mixed``), ``assumed_inputs`` (optional), ``calibrated``,
``status``, ``reason``, ``note`` (the spec's note), ``primary``; missing columns are shown
empty. A result with ``headline()`` (primary endpoint and independent/calibrated counts) and a
``study`` spec (its ``conflicts``) gets those shown above the table.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from cohort.report.context import NotComputableError, ReportContext

__all__ = ["AGREE", "DISAGREE", "WEAK", "agreement_class", "comparison_table", "rests_on_assumed",
           "reproduction_section"]

AGREE = frozenset({"agrees", "agree", "yes", "true", "pass", "ok", "within"})
"""Normalised ``agreement`` values shown as agreeing (green)."""
DISAGREE = frozenset({"differs", "differ", "disagrees", "disagree", "no", "false", "fail",
                      "outside"})
"""Normalised ``agreement`` values shown as not agreeing (red)."""
WEAK = frozenset({"compatible"})
"""Normalised ``agreement`` values of the weaker verdict (published value inside the reproduced
CI only), shown as a warning: never counted as agreement."""

COLUMNS = ["target", "description", "analysis", "source", "published", "published_value",
           "published_ci_lower", "published_ci_upper", "published_p", "reproduced",
           "reproduced_value", "ci_lower", "ci_upper", "p", "n", "agreement", "agreement_rule",
           "inputs", "assumed_inputs", "calibrated", "status", "reason", "note", "primary"]


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _text(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _estimate(value: Any, lower: Any, upper: Any, p: Any) -> str:
    text = _text(value)
    if not _missing(lower) or not _missing(upper):
        text += f" [{_text(lower)}, {_text(upper)}]"
    if not _missing(p):
        text += f"; p = {_text(p)}"
    return text.strip()


def agreement_class(agreement: Any, status: Any = None) -> str | None:
    """CSS class of an agreement cell: ``"ok"`` (agrees), ``"bad"`` (does not agree) or
    ``"muted"`` (not judged, e.g. not computable)."""
    if isinstance(agreement, bool):
        return "ok" if agreement else "bad"
    word = _text(agreement).strip().casefold()
    if word in AGREE:
        return "ok"
    if word in DISAGREE:
        return "bad"
    if word in WEAK:
        return "warn"
    return "muted"


def rests_on_assumed(inputs: Any) -> bool:
    """True when a target's ``inputs`` say that some of them were assumed, not published
    (``"assumed"`` or ``"mixed"``)."""
    word = _text(inputs).casefold()
    return "assum" in word or word == "mixed"


def comparison_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The side-by-side table as shown: published and reproduced as text with their CIs.

    Columns: ``target``, ``description``, ``published``, ``source``, ``reproduced [95% CI]``,
    ``n``, ``agreement`` (the status when not judged), ``rule``, ``inputs``, ``calibrated``
    (``yes`` when the synthetic cohort was built to hit the target), ``reason`` (why not
    computable), ``note`` (the spec's note on the target).
    """
    s = summary.reindex(columns=COLUMNS)
    rows = []
    for r in s.to_dict("records"):
        published = _text(r["published"]) or _estimate(
            r["published_value"], r["published_ci_lower"], r["published_ci_upper"],
            r["published_p"])
        calibrated = _text(r["calibrated"])
        primary = not _missing(r["primary"]) and bool(r["primary"])
        rows.append({
            "target": _text(r["target"]) + (" (primary)" if primary else ""),
            "description": _text(r["description"]),
            "published": published,
            "source": _text(r["source"]),
            "reproduced [95% CI]": _text(r["reproduced"]) or _estimate(
                r["reproduced_value"], r["ci_lower"], r["ci_upper"], r["p"]),
            "n": _text(r["n"]),
            "agreement": _text(r["agreement"]) or _text(r["status"]),
            "rule": _text(r["agreement_rule"]),
            "inputs": _text(r["inputs"]),
            "calibrated": "yes" if calibrated.casefold() in ("yes", "true", "1") else "",
            "reason": _text(r["reason"]),
            "note": _text(r["note"]),
        })
    return pd.DataFrame(rows, columns=["target", "description", "published", "source",
                                       "reproduced [95% CI]", "n", "agreement", "rule",
                                       "inputs", "calibrated", "reason", "note"])


def reproduction_section(ctx: ReportContext, reproduction: Any) -> None:
    """The published-vs-reproduced table with coloured agreement, the targets that rest on
    assumed inputs named plainly, and the reproduction's manifest."""
    if reproduction is None:
        raise NotComputableError("no registered study was reproduced for this report (run "
                                 "`cohort report PATH --study STUDY` or `cohort reproduce STUDY "
                                 "--out DIR`)")
    summary = getattr(reproduction, "summary", None)
    if not isinstance(summary, pd.DataFrame):
        raise NotComputableError(f"the reproduction result has no summary table (got "
                                 f"{type(reproduction).__name__})")
    if summary.empty:
        raise NotComputableError("the reproduction has no targets")
    s = summary.reindex(columns=COLUMNS).reset_index(drop=True)
    table = comparison_table(s)
    agree_css = [agreement_class(a, st) for a, st in zip(s["agreement"], s["status"],
                                                          strict=True)]
    assumed = [rests_on_assumed(v) for v in s["inputs"]]
    headline = getattr(reproduction, "headline", None)
    if callable(headline):
        for line in headline():
            if "NOT COMPUTABLE" in line:
                ctx.html.note(line)
            else:
                ctx.html.paragraph(line)
    else:
        n_ok, n_bad = agree_css.count("ok"), agree_css.count("bad")
        ctx.html.paragraph(f"{len(s)} published targets: {n_ok} agree, {n_bad} differ, "
                           f"{len(s) - n_ok - n_bad} not judged (not computable, compatible "
                           "only, or no rule).")
    ctx.html.paragraph(
        "A point estimate agrees when it matches the published number at its printed "
        "precision (or within a tolerance the spec states with its reason); counts must be "
        "equal. 'compatible' is weaker and is not agreement: the published value lies inside "
        "the reproduced 95% CI only. Calibrated targets are numbers the synthetic cohort was "
        "built to hit: on it they are read back, not reproduced independently.")
    spec = getattr(reproduction, "study", None)
    for text in getattr(getattr(spec, "study", None), "conflicts", None) or []:
        ctx.html.note("Conflict in the sources: " + " ".join(str(text).split()))
    names = [t for t, a in zip(table["target"], assumed, strict=True) if a]
    line = getattr(reproduction, "assumed_line", None)
    if names:
        ctx.html.note(line() if callable(line) else
                      f"{len(names)} of {len(s)} targets rest on assumed inputs (numbers the "
                      f"paper did not publish, chosen to build the synthetic cohort): "
                      f"{', '.join(names)}. Agreement on these shows what the analysis gives "
                      "on a cohort built partly from assumptions, not what the study found.")
    else:
        ctx.html.paragraph("Every target rests on published inputs only.")
    calibrated = s["calibrated"].map(lambda v: (not _missing(v)) and bool(v) and
                                     _text(v).casefold() not in ("no", "false", "0"))
    if calibrated.any():
        ctx.html.paragraph(
            f"{int(calibrated.sum())} target(s) were used to calibrate the synthetic cohort "
            "(column 'calibrated'): on the synthetic data they agree by construction.",
            css="muted")
    for col in ("reason", "note"):
        if not table[col].astype(bool).any():
            table = table.drop(columns=col)
    ctx.html.table(table, max_rows=None, caption="Published vs reproduced (inputs: whether the "
                   "spec values a target rests on were published, assumed, or both ('mixed'))",
                   cell_css={"agreement": agree_css,
                             "inputs": ["warn" if a else None for a in assumed]})
    detail = pd.DataFrame({"target": table["target"],
                           "assumed inputs (spec entries)": s["assumed_inputs"].map(_text)})
    detail = detail.loc[[a and bool(t) for a, t in zip(
        assumed, detail["assumed inputs (spec entries)"], strict=True)]]
    if len(detail):
        ctx.html.table(detail.reset_index(drop=True), max_rows=None,
                       caption="The assumed inputs of each target (entries of the study spec "
                       "marked 'assumed')")
    manifest = getattr(reproduction, "manifest", None)
    if manifest:
        ctx.html.json_block(manifest, caption="Reproduction manifest")

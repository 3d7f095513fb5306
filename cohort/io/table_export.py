"""Publication tables to Word, Excel, LaTeX, HTML or CSV, chosen by the file's extension.

What is exported is the table as printed (``result.formatted()``: Table 1 in gtsummary's
layout, a results table with ``estimate (95% CI)`` and p-values as ``<0.001``), so the
numbers in a manuscript are the ones the terminal showed. The tidy numbers are in
``--format json`` and ``result.to_frame()``.

Writing goes through :mod:`cohort.io.outputs` (never over an input; an existing file is
replaced only when it is a cohort export, or with ``overwrite``) and is atomic: the whole file
is rendered in memory first, so a failure leaves nothing half-written. Every export carries
the mark :data:`MARK` (a ZIP comment in .docx/.xlsx, a comment in .html/.tex) by which a later
run recognises its own file; CSV has no room for one, so replacing a CSV needs
``--overwrite``.

HTML and LaTeX are written here (a plain table, LaTeX with booktabs) rather than with
great-tables: the cells are already formatted text, and great-tables 1.1.0 would bring 13
packages (babel, htmltools, websockets, cffi, click, ...) for what 40 lines do.
"""

from __future__ import annotations

import html as _html
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from cohort.io.outputs import OutputError, check_output_file
from cohort.io.write import atomic_write_bytes

__all__ = ["EXPORT_SUFFIXES", "MARK", "check_export_path", "export_table", "render_table"]

EXPORT_SUFFIXES = (".docx", ".xlsx", ".tex", ".html", ".csv")
MARK = "cohort-export"
"""The mark of a table exported by cohort (see :data:`cohort.io.outputs._MARKS`)."""


def check_export_path(path: str | Path) -> Path:
    """Refuse an export path before any work: unknown extension or missing folder.

    Raises
    ------
    OutputError
        Naming the problem and the accepted extensions.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise OutputError(f"cannot export to {path}: unknown extension {suffix or '(none)'!r}; "
                          f"use one of {', '.join(EXPORT_SUFFIXES)}")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise OutputError(f"cannot export to {path}: the folder {parent} does not exist")
    return path


def _zip_marked(data: bytes) -> bytes:
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as z:
        z.comment = MARK.encode("ascii")
    return buf.getvalue()


def _docx(frame: pd.DataFrame, title: str | None, notes: Sequence[str]) -> bytes:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.core_properties.author = "cohort"
    if title:
        doc.add_paragraph().add_run(title).bold = True
    table = doc.add_table(rows=1, cols=len(frame.columns))
    table.style = "Table Grid"
    for cell, name in zip(table.rows[0].cells, frame.columns, strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(str(name)).bold = True
    for rec in frame.itertuples(index=False):
        cells = table.add_row().cells
        for cell, value in zip(cells, rec, strict=True):
            cell.text = str(value)
    for row in table.rows:
        for cell in row.cells:
            for par in cell.paragraphs:
                for run in par.runs:
                    run.font.size = Pt(9)
    for note in notes:
        doc.add_paragraph(note).runs[0].font.size = Pt(8)
    buf = io.BytesIO()
    doc.save(buf)
    return _zip_marked(buf.getvalue())


def _xlsx(frame: pd.DataFrame, title: str | None, notes: Sequence[str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "Table"
    ws.append([str(c) for c in frame.columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for rec in frame.itertuples(index=False):
        # text, as printed: Excel must not turn "<0.001" or "3 (21%)" into something else
        ws.append([str(v) for v in rec])
    if title or notes:
        ws.append([])
        for line in ([title] if title else []) + list(notes):
            ws.append([line])
    for i, col in enumerate(frame.columns, start=1):
        width = max([len(str(col)), *(len(str(v)) for v in frame.iloc[:, i - 1])])
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(width + 2, 80)
    buf = io.BytesIO()
    wb.save(buf)
    return _zip_marked(buf.getvalue())


def _html_doc(frame: pd.DataFrame, title: str | None, notes: Sequence[str]) -> bytes:
    esc = _html.escape
    head = "".join(f"<th>{esc(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in rec) + "</tr>"
                   for rec in frame.itertuples(index=False))
    cap = f"<caption>{esc(title)}</caption>" if title else ""
    foot = "".join(f"<p class=\"note\">{esc(n)}</p>" for n in notes)
    text = (f"<!DOCTYPE html>\n<!-- {MARK} -->\n<html><head><meta charset=\"utf-8\">"
            f"<title>{esc(title or 'table')}</title><style>"
            "table{border-collapse:collapse;font:13px sans-serif}"
            "th,td{padding:2px 8px;text-align:right;white-space:pre}"
            "th:first-child,td:first-child{text-align:left}"
            "thead th{border-top:1px solid;border-bottom:1px solid}"
            "tbody tr:last-child td{border-bottom:1px solid}.note{font:11px sans-serif}"
            f"</style></head><body><table>{cap}<thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{foot}</body></html>\n")
    return text.encode("utf-8")


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
        "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def _tex_escape(text: str) -> str:
    out = "".join(_TEX.get(ch, ch) for ch in text)
    # an indented level keeps its indent
    stripped = out.lstrip(" ")
    return (r"\quad " + stripped) if len(stripped) < len(out) else out


def _tex(frame: pd.DataFrame, title: str | None, notes: Sequence[str]) -> bytes:
    spec = "l" + "r" * (len(frame.columns) - 1)
    lines = [f"% {MARK} (needs \\usepackage{{booktabs}})", r"\begin{table}[ht]", r"\centering"]
    if title:
        lines.append(rf"\caption{{{_tex_escape(title)}}}")
    lines += [rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
              " & ".join(_tex_escape(str(c)) for c in frame.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(_tex_escape(str(v)) for v in rec) + r" \\"
              for rec in frame.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [rf"\par\footnotesize {_tex_escape(n)}" for n in notes]
    lines.append(r"\end{table}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _csv(frame: pd.DataFrame, title: str | None, notes: Sequence[str]) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


_RENDER = {".docx": _docx, ".xlsx": _xlsx, ".html": _html_doc, ".tex": _tex, ".csv": _csv}


def render_table(frame: pd.DataFrame, suffix: str, *, title: str | None = None,
                 notes: Sequence[str] = ()) -> bytes:
    """The bytes of ``frame`` as a ``suffix`` file (one of :data:`EXPORT_SUFFIXES`)."""
    return _RENDER[suffix.lower()](frame.astype(str), title, list(notes))


def export_table(frame: pd.DataFrame, path: str | Path, *, title: str | None = None,
                 notes: Sequence[str] = (), inputs: Iterable[str | Path] = (),
                 overwrite: bool = False) -> Path:
    """Write a formatted table to ``path``, its format chosen by the extension.

    Parameters
    ----------
    frame : DataFrame
        The table as printed (strings).
    path : path
        ``.docx`` (Word), ``.xlsx`` (Excel), ``.tex`` (LaTeX, booktabs), ``.html`` or ``.csv``.
    title : str or None, keyword-only
        Caption.
    notes : sequence of str, keyword-only
        Footnotes (the result's notes).
    inputs : paths, keyword-only
        Inputs of the run, never written over.
    overwrite : bool, keyword-only
        Replace an existing file that is not a cohort export.

    Raises
    ------
    OutputError
        Unknown extension, missing folder, or a file that must not be replaced; nothing is
        written.
    """
    path = check_export_path(path)
    check_output_file(path, kind="export", inputs=inputs, overwrite=overwrite)
    atomic_write_bytes(path, render_table(frame, path.suffix, title=title, notes=notes))
    return path

"""How a result prints: its default columns, formatted by :mod:`cohort.analysis.format`.

:class:`~cohort.analysis.result.AnalysisResult` calls :func:`formatted_summary` for
``print_summary()``, ``_repr_html_`` and the CLI's text output, so a result reads the same
in a notebook, the terminal and an exported table. The tidy numbers stay in ``summary``
(``to_frame()``); this module only chooses columns and turns numbers into text:

- ``estimate`` with ``ci_lower``/``ci_upper`` becomes one column ``estimate (95% CI)``
  (likewise ``ci_lower_adjusted``/``ci_upper_adjusted``, shown only when an adjustment was
  made);
- p-values (``p``, ``p_*``, ``*_p``) print as journals print them;
- counts (``n``, ``x``, ``n_*``) as integers;
- other numbers to decimals chosen from the parameter's unit (for quantities in that unit:
  estimates, means, SDs of a change) or else from the magnitude of the column, separately
  for each ``kind`` of row (an odds ratio and a risk difference in one column get their own
  decimals);
- columns with no value at all are left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from cohort.analysis.format import (
    decimals_for,
    format_ci,
    format_estimate_ci,
    format_number,
    format_p,
)

if TYPE_CHECKING:
    from cohort.analysis.result import AnalysisResult

__all__ = ["DEFAULT_COLUMNS", "formatted_summary", "html", "one_line", "summary_text",
           "to_text"]

DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "Ancova": ("visit", "kind", "arm", "reference", "n", "estimate", "se", "p",
               "p_adjusted", "ci_lower_adjusted", "adjust", "n_excluded"),
    "Mmrm": ("visit", "kind", "arm", "reference", "n", "estimate", "se", "df", "p",
             "p_adjusted", "ci_lower_adjusted", "adjust", "n_excluded"),
    "Paired": ("visit", "group", "n", "mean_before", "mean_after", "estimate", "sd_change",
               "p", "effect_size", "wilcoxon_p", "n_excluded"),
    "Responder": ("visit", "kind", "arm", "reference", "method", "x", "n", "estimate", "p",
                  "p_adjusted", "adjust", "n_excluded"),
    "EffectModification": ("visit", "kind", "subgroup", "arm", "reference", "n", "estimate",
                           "statistic", "p", "n_excluded"),
    "Remission": ("subgroup_by", "subgroup", "arm", "x", "n", "estimate", "n_excluded"),
    "KaplanMeier": ("group", "n", "n_events", "n_censored", "estimate", "estimate_months"),
    "Cox": ("term", "estimate", "p", "n", "n_events"),
    "LogRank": ("comparison", "statistic", "df", "p", "p_holm", "n", "n_events"),
    "Survival": ("group", "n", "n_events", "n_censored", "estimate", "estimate_months"),
    "Prediction": ("model", "metric", "apparent", "optimism", "corrected", "cv_mean", "n",
                   "n_events"),
}
"""Default columns of ``print_summary()`` per analysis (others: every column with a value)."""

CAPTIONS: dict[str, str] = {
    "Table1": "Baseline characteristics", "Ancova": "ANCOVA of change from baseline",
    "Mmrm": "MMRM of change from baseline", "Paired": "Change from baseline (paired)",
    "Responder": "Responders", "EffectModification": "Effect modification",
    "DoseResponse": "Dose-response", "Remission": "Remission",
}
"""Captions of exported tables per analysis (others: the analysis name)."""

_UNIT_COLUMNS = {"estimate", "se", "mean_before", "mean_after", "sd_change", "se_change"}
"""Columns holding the analysed parameter in its unit (when the result names a ``param``)."""

_UNITLESS_KINDS = {"odds_ratio", "risk_ratio", "hazard_ratio", "trend_test", "rate",
                   "risk_difference", "fisher_exact", "chi_square"}

_COUNTS = {"n", "x", "count", "missing", "df_int"}


def _is_p(col: str) -> bool:
    return col == "p" or col.startswith("p_") or col.endswith("_p")


def _is_count(col: str, s: pd.Series) -> bool:
    if col in _COUNTS or col.startswith("n_"):
        vals = pd.to_numeric(s, errors="coerce").dropna()
        return bool(((vals % 1) == 0).all())
    return False


def _param_unit(result: AnalysisResult) -> str | None:
    param = result.params.get("param")
    if not isinstance(param, str):
        return None
    from cohort.contract import load_contract

    spec = load_contract().parameters.get(param.upper())
    return spec.unit if spec is not None else None


def _decimals(result: AnalysisResult, frame: pd.DataFrame, cols: Sequence[str],
              unit: str | None) -> pd.Series:
    """Decimals per row for a group of columns printed alike (an estimate and its CI)."""
    values = pd.concat([pd.to_numeric(frame[c], errors="coerce") for c in cols], axis=1)
    kinds = frame["kind"] if "kind" in frame else pd.Series("", index=frame.index)
    out = pd.Series(0, index=frame.index, dtype=int)
    for kind, idx in kinds.fillna("").groupby(kinds.fillna("")).groups.items():
        if unit is not None and kind not in _UNITLESS_KINDS and set(cols) & _UNIT_COLUMNS:
            d = decimals_for(unit=unit)
        else:
            d = decimals_for(values.loc[idx].to_numpy().ravel())
        out.loc[idx] = d
    return out


def _conf_label(result: AnalysisResult, frame: pd.DataFrame) -> str:
    level = result.params.get("conf_level")
    if level is None and "conf_level" in frame:
        vals = pd.to_numeric(frame["conf_level"], errors="coerce").dropna().unique()
        level = vals[0] if len(vals) == 1 else None
    level = 0.95 if level is None else float(level)
    pct = 100 * level if level <= 1 else level
    return f"{pct:g}% CI"


def formatted_summary(result: AnalysisResult,
                      columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The summary's columns as text, as :meth:`AnalysisResult.print_summary` shows them.

    Parameters
    ----------
    result : AnalysisResult
    columns : sequence of str or None
        Summary columns to show (``ci_lower``/``ci_upper`` join ``estimate`` when both are
        present); default :data:`DEFAULT_COLUMNS` of the analysis, else every column.

    Returns
    -------
    DataFrame
        One column of strings per shown quantity; a cell without a value is empty (not
        applicable, e.g. the p-value of a rate), an infinite one ``Inf``.
    """
    s = result.summary.reset_index(drop=True)
    if columns is None:
        columns = DEFAULT_COLUMNS.get(result.analysis, tuple(s.columns))
    wanted = [c for c in columns if c in s.columns]
    if "adjust" in s and not (s["adjust"].notna() & (s["adjust"] != "none")).any():
        # nothing was adjusted: the adjusted columns would repeat the unadjusted ones
        wanted = [c for c in wanted if not (c.endswith("_adjusted") or c == "adjust")]
    unit = _param_unit(result)
    ci_label = _conf_label(result, s)
    out: dict[str, pd.Series] = {}
    for col in wanted:
        x = s[col]
        if x.isna().all() or (col in ("ci_lower", "ci_upper", "ci_upper_adjusted") and \
                "estimate" in wanted):
            continue
        if col == "ci_lower_adjusted" and "ci_upper_adjusted" in s:
            lo, hi = x, s["ci_upper_adjusted"]
            d = _decimals(result, s, ["estimate", col, "ci_upper_adjusted"], unit)
            out[f"adjusted {ci_label}"] = pd.Series(
                ["" if pd.isna(a) and pd.isna(b) else format_ci(a, b, k)
                 for a, b, k in zip(lo, hi, d, strict=True)])
        elif col == "estimate" and "ci_lower" in s and "ci_upper" in s \
                and s[["ci_lower", "ci_upper"]].notna().any().any():
            d = _decimals(result, s, ["estimate", "ci_lower", "ci_upper"], unit)
            out[f"estimate ({ci_label})"] = pd.Series(
                ["" if pd.isna(e) and pd.isna(lo) and pd.isna(hi) else
                 format_estimate_ci(e, lo, hi, k) for e, lo, hi, k in
                 zip(x, s["ci_lower"], s["ci_upper"], d, strict=True)])
        elif _is_p(col) and pd.api.types.is_numeric_dtype(x):
            out[col] = x.map(lambda v: "" if pd.isna(v) else format_p(v))
        elif _is_count(col, x):
            out[col] = x.map(lambda v: "" if pd.isna(v) else str(int(v)))
        elif pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            d = _decimals(result, s, [col], unit)
            out[col] = pd.Series(["" if pd.isna(v) else format_number(v, k)
                                  for v, k in zip(x, d, strict=True)])
        else:
            out[col] = x.map(lambda v: "" if v is None or (isinstance(v, float) and
                                                          math.isnan(v)) else str(v))
    return pd.DataFrame(out)


def summary_text(result: AnalysisResult, columns: Sequence[str] | None = None, *,
                 title: str | None = None, max_exclusions: int = 20) -> str:
    """The text ``print_summary()`` prints: title, formatted table, exclusions and notes.

    Results with several tables (remission, survival, prediction) print each of their
    sections (:func:`cohort.analysis.display_parts.sections`) unless ``columns`` are given.
    """
    from cohort.analysis.display_parts import sections

    lines = [title if title is not None else result.analysis]
    parts = sections(result) if columns is None else None
    if parts is None:
        table = result.formatted(columns)
        lines.append(to_text(table) if len(table) else "(no rows)")
    for heading, part in parts or []:
        if part is None:
            lines.append(heading)
        else:
            lines += ["", heading, to_text(part) if len(part) else "(no rows)"]
    ex = result.exclusions
    if len(ex):
        lines.append(f"\n{len(ex)} exclusion(s):")
        lines.append(ex.head(max_exclusions).to_string(index=False))
        if len(ex) > max_exclusions:
            lines.append(f"... ({len(ex) - max_exclusions} more; --format json lists all)")
    return "\n".join(lines)


def to_text(table: pd.DataFrame) -> str:
    """A formatted table as plain text: the first (label) column left-aligned, so that
    indented rows (levels under a variable) read as such, the others right-aligned."""
    cols = [str(c) for c in table.columns]
    cells = [[str(v) for v in row] for row in table.itertuples(index=False)]
    widths = [max([len(c), *(len(r[k]) for r in cells)]) for k, c in enumerate(cols)]

    def line(values: list[str]) -> str:
        parts = [values[0].ljust(widths[0])]
        parts += [v.rjust(w) for v, w in zip(values[1:], widths[1:], strict=True)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(cols), *(line(r) for r in cells)])


def one_line(result: AnalysisResult) -> str:
    """``<AncovaResult: param=HBA1C, 16 rows, 0 excluded, 1 note>``."""
    keys = [k for k in ("param", "by", "endpoint", "adjust", "ci") if k in result.params]
    bits = [f"{k}={result.params[k]!s}" for k in keys if result.params[k] not in (None, "")]
    rows = len(result.summary)
    bits += [f"{rows} row{'' if rows == 1 else 's'}", f"{len(result.exclusions)} excluded"]
    if result.notes:
        bits.append(f"{len(result.notes)} note{'s' if len(result.notes) > 1 else ''}")
    return f"<{type(result).__name__}: {', '.join(bits)}>"


def html(result: AnalysisResult, columns: Sequence[str] | None = None) -> str:
    """The formatted summary as an HTML table with its notes (for notebooks)."""
    import html as _html

    table = result.formatted(columns).to_html(index=False, escape=True, border=0)
    notes = "".join(f"<p><em>note:</em> {_html.escape(n)}</p>" for n in result.notes)
    return (f"<div><strong>{_html.escape(type(result).__name__)}</strong> "
            f"({len(result.exclusions)} excluded){table}{notes}</div>")


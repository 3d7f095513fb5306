"""Table 1 as a paper prints it (gtsummary's layout), from a :class:`Table1Result`.

One row per numeric variable (``Age (years), mean (SD)``), a header row per categorical
variable with its levels indented beneath (``n (%)``), an indented ``Missing`` row where
values are missing, one column per group headed with its size (``placebo (N = 16)``) and
the SMD of each group against the reference. Numbers go through
:mod:`cohort.analysis.format`: each variable to its own decimals, percentages at the
precision of the group's size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cohort.analysis.format import format_count, format_number

if TYPE_CHECKING:
    from cohort.analysis.table1 import Table1Result

__all__ = ["INDENT", "STATISTIC_LABELS", "wide_table"]

INDENT = "    "
STATISTIC_LABELS = {"mean_sd": "mean (SD)", "median_iqr": "median [IQR]", "n_pct": "n (%)"}
SMD_DIGITS = 2


def _headers(res: Table1Result, groups: list[str]) -> dict[str, str]:
    sizes = res.params.get("group_n", {})
    return {g: f"{g} (N = {sizes[g]})" if g in sizes else g for g in groups}


def _smd_columns(res: Table1Result, groups: list[str]) -> dict[str, str]:
    ref = res.params.get("reference")
    others = [g for g in groups if g not in (ref, "overall")]
    if len(others) == 1:
        return {others[0]: "SMD"}
    return {g: f"SMD {g} vs {ref}" for g in others}


def wide_table(res: Table1Result, *, digits: int | None = None) -> pd.DataFrame:
    """The formatted Table 1 (see the module docstring).

    Parameters
    ----------
    res : Table1Result
    digits : int or None, keyword-only
        Decimals of every numeric statistic; default each variable's ``digits``.

    Returns
    -------
    DataFrame
        Strings: ``Characteristic``, one column per group, then the SMD column(s).
    """
    s = res.summary
    groups = list(dict.fromkeys(s["group"]))
    head = _headers(res, groups)
    smd_cols = _smd_columns(res, groups)
    rows: list[dict[str, str]] = []
    for _var, v in s.groupby("variable", sort=False):
        first = v.iloc[0]
        unit = first["unit"] if isinstance(first["unit"], str) and first["unit"] else ""
        label = first["label"] if isinstance(first.get("label"), str) else first["variable"]
        stat = first.get("statistic") if isinstance(first.get("statistic"), str) else (
            "n_pct" if first["level"] != "" else "mean_sd")
        d = int(first["digits"]) if digits is None and pd.notna(first.get("digits")) \
            else (1 if digits is None else digits)
        name = f"{label} ({unit})" if unit else label
        lead = v.drop_duplicates("group").set_index("group")
        smd = {col: format_number(lead.loc[g, "smd"], SMD_DIGITS) for g, col in smd_cols.items()
               if g in lead.index}
        title = f"{name}, {STATISTIC_LABELS[stat]}"
        if stat == "n_pct":
            rows.append({"Characteristic": title, **smd})
            for level, lv in v.groupby("level", sort=False):
                lv = lv.set_index("group")
                rows.append({"Characteristic": INDENT + str(level),
                             **{head[g]: format_count(lv.loc[g, "count"], lv.loc[g, "n"])
                                for g in groups}})
        else:
            cells = {}
            for g in groups:
                x = lead.loc[g]
                if x["n"] == 0:
                    cells[head[g]] = "NA"
                elif stat == "median_iqr":
                    cells[head[g]] = (f"{format_number(x['median'], d)} "
                                      f"[{format_number(x['q1'], d)}, "
                                      f"{format_number(x['q3'], d)}]")
                else:
                    cells[head[g]] = (f"{format_number(x['mean'], d)} "
                                      f"({format_number(x['sd'], d)})")
            rows.append({"Characteristic": title, **cells, **smd})
        if lead["missing"].sum() > 0:
            rows.append({"Characteristic": INDENT + "Missing",
                         **{head[g]: str(int(lead.loc[g, "missing"])) for g in groups}})
    columns = ["Characteristic", *head.values(), *smd_cols.values()]
    return pd.DataFrame(rows).reindex(columns=columns).fillna("")

"""Recipes of design and baseline targets: arm sizes, baseline means, SDs, ranges and counts.

Descriptive statistics come from :func:`cohort.analysis.table1.table1` (R's ``mean``, ``sd``,
``quantile`` type 7) and proportions with their Clopper-Pearson interval from
:func:`cohort.analysis.proportions.proportion`; baseline values are those of
:meth:`cohort.studies.context.StudyContext.subject_frame`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cohort.spec.model import Target
from cohort.studies.base import NotComputable, Reproduced
from cohort.studies.context import StudyContext

__all__ = ["arm_size", "baseline_count", "baseline_stat"]

_STAT = {"baseline_mean": "mean", "baseline_sd": "sd", "baseline_median": "median",
         "baseline_min": "min", "baseline_max": "max"}


def _scope(ctx: StudyContext, p: dict[str, Any]) -> tuple[pd.DataFrame, str]:
    rows = ctx.select(arm=p.get("arm"), among=p.get("among"))
    where = f"arm {ctx.arm_label(p['arm'])}" if p.get("arm") else "all subjects"
    return rows, where + (" in the subgroup" if p.get("among") else "")


def _variable(ctx: StudyContext, rows: pd.DataFrame, variable: str) -> pd.Series:
    if variable not in rows.columns:
        raise NotComputable(f"the cohort does not record {variable!r} (not a subjects "
                            "column, a measured parameter, a dose or follow_up_months)")
    x = rows[variable]
    if x.isna().all():
        raise NotComputable(f"{variable} is missing for every subject in scope")
    n_missing = int(x.isna().sum())
    if n_missing:
        ctx.notes.append(f"{n_missing} subject(s) without {variable} left out")
    return x


def _numeric(x: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)


def arm_size(ctx: StudyContext, target: Target) -> Reproduced:
    """Subjects in the arm (and subgroup)."""
    rows, where = _scope(ctx, target.params)
    return Reproduced(value=float(len(rows)), n=len(rows), method=f"subjects in {where}")


def baseline_stat(ctx: StudyContext, target: Target) -> Reproduced:
    """Mean, SD (n - 1), median, minimum or maximum of a baseline variable."""
    from cohort.analysis.table1 import table1

    rows, where = _scope(ctx, target.params)
    variable = str(target.params["variable"])
    x = _variable(ctx, rows, variable)
    if not _numeric(x):
        raise NotComputable(f"{variable} is not numeric; {target.analysis} needs numbers")
    if target.params.get("unit") is not None:
        return _stat_in_unit(target, rows, x, variable, where)
    # one Table 1 per scope serves every baseline target of that arm and subgroup
    key = ("table1", repr(target.params.get("arm")), repr(target.params.get("among")))

    def describe() -> pd.DataFrame:
        numeric = [c for c in rows.columns if c not in ("subject_id", "last_contact_day")
                   and _numeric(rows[c]) and rows[c].notna().any()]
        return table1(rows.assign(scope="all"), by="scope", variables=numeric,
                      overall=False).summary

    summary = ctx.memo(key, describe)
    row = summary[summary["variable"] == variable].iloc[0]
    stat = _STAT[target.analysis]
    return Reproduced(value=float(row[stat]), n=int(row["n"]),
                      method=f"{stat} of {variable} over {where} (Table 1)")


def _stat_in_unit(target: Target, rows: pd.DataFrame, x: pd.Series, variable: str,
                  where: str) -> Reproduced:
    from cohort.studies.published_units import to_published_unit

    unit = str(target.params["unit"])
    weight = rows["weight_kg"] if "weight_kg" in rows.columns else None
    y, rule = to_published_unit(x, variable, unit, weight_kg=weight)
    y = y.dropna()
    if y.empty:
        raise NotComputable(f"no {variable} value in {unit} in scope")
    stat = _STAT[target.analysis]
    value = {"mean": y.mean(), "sd": y.std(ddof=1), "median": y.median(), "min": y.min(),
             "max": y.max()}[stat]
    return Reproduced(value=float(value), n=len(y),
                      method=f"{stat} of {variable} in {unit} over {where} ({rule})")


def baseline_count(ctx: StudyContext, target: Target) -> Reproduced:
    """Subjects (or their proportion) with a level, or below / at least a threshold."""
    from cohort.analysis.proportions import proportion
    from cohort.analysis.table1 import table1

    p = target.params
    rows, where = _scope(ctx, p)
    variable = str(p["variable"])
    x = _variable(ctx, rows, variable).dropna()
    if "level" in p:
        level = str(p["level"])
        frame = pd.DataFrame({"subject_id": rows.loc[x.index, "subject_id"], "scope": "all",
                              variable: x.astype(str)})
        summary = table1(frame, by="scope", variables=[variable], overall=False).summary
        hit = summary[summary["level"] == level]
        count, n = (int(hit["count"].iloc[0]) if len(hit) else 0), len(x)
        what = f"{variable} = {level}"
    elif "below" in p or "at_least" in p:
        vals = pd.to_numeric(x, errors="coerce")
        if vals.isna().any():
            raise NotComputable(f"{variable} is not numeric; a threshold needs numbers")
        if "below" in p:
            count, what = int((vals < float(p["below"])).sum()), f"{variable} < {p['below']:g}"
        else:
            count = int((vals >= float(p["at_least"])).sum())
            what = f"{variable} >= {p['at_least']:g}"
        n = len(vals)
    else:
        raise NotComputable("the target gives no level, below or at_least to count")
    method = f"subjects with {what} among {n} of {where}"
    if target.analysis == "baseline_count":
        return Reproduced(value=float(count), n=n, method=method)
    pr = proportion(count, n)
    return Reproduced(value=float(pr["estimate"]), ci_lower=float(pr["cp_lower"]),
                      ci_upper=float(pr["cp_upper"]), n=n,
                      method=method + "; Clopper-Pearson 95% CI")


"""Recipes of distribution-free targets: medians and quartiles at a visit, the Wilcoxon
signed-rank test of change from baseline, and the Mann-Whitney test of change between two
arms.

Changes come from :func:`cohort.derive.change.change_from_baseline` (the visit's window, the
baseline on or before day 0), absolute in the parameter's canonical unit or percent of
baseline (``scale: percent``). The tests are scipy's two-sided ``wilcoxon`` and
``mannwhitneyu`` with their default ``method="auto"`` (exact for small samples without ties,
normal approximation otherwise), as R's ``wilcox.test`` chooses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cohort.spec.targets import Target
from cohort.studies.base import NotComputable, Reproduced
from cohort.studies.context import StudyContext
from cohort.studies.recipes_change import _changes, _when, in_unit

__all__ = ["mannwhitney_change", "quantile_by_visit", "signed_rank", "two_sample_rank",
           "wilcoxon_change"]


def signed_rank(change: np.ndarray) -> tuple[float, float]:
    """(median change, two-sided Wilcoxon signed-rank p) of paired changes."""
    from scipy import stats

    change = np.asarray(change, dtype=float)
    change = change[~np.isnan(change)]
    if change.size < 2 or np.all(change == 0):
        raise NotComputable(f"{change.size} non-zero change(s): a signed-rank test needs more")
    return float(np.median(change)), float(stats.wilcoxon(change).pvalue)


def two_sample_rank(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(median of x - median of y, two-sided Mann-Whitney p)."""
    from scipy import stats

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if x.size < 1 or y.size < 1:
        raise NotComputable("a Mann-Whitney test needs values in both groups")
    return (float(np.median(x) - np.median(y)),
            float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue))


def _change_values(ctx: StudyContext, p: dict[str, Any], arm: Any) -> tuple[np.ndarray, str]:
    param = str(p["param"])
    ctx.require_param(param)
    kw, _, when = _when(ctx, str(p["visit"]))
    rows = ctx.select(arm=arm, among=p.get("among"))
    usable = _changes(ctx, param, kw, rows)
    col = "pct_change" if p.get("scale", "absolute") == "percent" else "change"
    return usable[col].to_numpy(dtype=float), when


def wilcoxon_change(ctx: StudyContext, target: Target) -> Reproduced:
    """Median change from baseline with the Wilcoxon signed-rank p."""
    p = target.params
    change, when = _change_values(ctx, p, p.get("arm"))
    med, pval = signed_rank(change)
    n = int((~np.isnan(change)).sum())
    unit = "%" if p.get("scale") == "percent" else "(canonical unit)"
    return Reproduced(value=med, p=pval, n=n,
                      method=f"median {p['param']} change {unit} from baseline to {when} over "
                             f"{n} subjects; Wilcoxon signed-rank test, two-sided (scipy, "
                             "method auto)")


def mannwhitney_change(ctx: StudyContext, target: Target) -> Reproduced:
    """Difference in median change between two arms with the Mann-Whitney p."""
    p = target.params
    x, when = _change_values(ctx, p, p["arm"])
    y, _ = _change_values(ctx, p, p["reference"])
    diff, pval = two_sample_rank(x, y)
    nx, ny = int((~np.isnan(x)).sum()), int((~np.isnan(y)).sum())
    return Reproduced(value=diff, p=pval, n=nx + ny,
                      method=f"median {p['param']} change to {when}, {ctx.arm_label(p['arm'])} "
                             f"({nx}) minus {ctx.arm_label(p['reference'])} ({ny}); "
                             "Mann-Whitney U test, two-sided (scipy, method auto)")


def quantile_by_visit(ctx: StudyContext, target: Target) -> Reproduced:
    """Median (or quartile: ``quantile`` 0.25 / 0.75) of a parameter at a visit, R's type 7."""
    from cohort.derive.visit_values import last_followup, values_at_visits

    p = target.params
    param = str(p["param"])
    q = float(p.get("quantile", 0.5))
    if not 0 <= q <= 1:
        raise NotComputable(f"quantile {q:g} is not between 0 and 1")
    ctx.require_param(param)
    kw, _, when = _when(ctx, str(p["visit"]))
    rows = ctx.select(arm=p.get("arm"), among=p.get("among"))
    if "last" in kw:
        vals = last_followup(ctx.measurements, param, subjects=rows)
    else:
        vals = values_at_visits(ctx.measurements, param, kw["visits"], subjects=rows)
    vals = vals[pd.to_numeric(vals["value"], errors="coerce").notna()]
    vals, rule = in_unit(ctx, vals, param, p.get("unit"))
    x = vals["value"].to_numpy(dtype=float)
    if x.size == 0:
        raise NotComputable(f"no subject has a {param} value at {when}")
    q1, med, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    value = float(np.quantile(x, q))
    return Reproduced(value=value, n=int(x.size),
                      method=f"{param} at {when}: quantile {q:g} of {x.size} values (R type 7);"
                             f" median {med:.4g}, IQR {q1:.4g} to {q3:.4g}"
                             + (f"; {rule}" if rule else ""))

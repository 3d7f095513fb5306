"""Recipes of outcome targets on a measured parameter: change from baseline, ANCOVA,
responders, subgroups, effect modification and dose-response.

Every number comes from the analysis modules (:mod:`cohort.analysis.ancova`,
:mod:`~cohort.analysis.paired`, :mod:`~cohort.analysis.responders`,
:mod:`~cohort.analysis.effect_modification`, :mod:`~cohort.analysis.dose_response`,
:mod:`~cohort.analysis.table1`) and the derivations of :mod:`cohort.derive.baseline`,
:mod:`cohort.derive.change`; values are
in the parameter's canonical unit (HbA1c %, changes in percentage points; C-peptide nmol/L).
A two-group comparison of change (within a subgroup, between subgroups) is Welch's t-test as
implemented by :func:`cohort.analysis.dose_response.threshold_comparison` (R's ``t.test``),
with the group indicator as the "dose" and 0.5 as the threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cohort.derive.visit_values import LAST_VISIT_LABEL
from cohort.spec.model import Target
from cohort.studies.base import NotComputable, Reproduced, num
from cohort.studies.context import StudyContext

__all__ = [
    "ancova_diff",
    "dose_correlation",
    "dose_subgroup_diff",
    "interaction_p",
    "mean_by_visit",
    "mixed_model_diff",
    "paired_change",
    "responder_count",
    "responder_fisher",
    "subgroup_change",
    "subgroup_diff",
]

_DOSES = {"total": "total", "dose_cells_total": "total", "per_kg": "per_kg",
          "dose_cells_per_kg": "per_kg"}


def _when(ctx: StudyContext, label: str) -> tuple[dict[str, Any], str, str]:
    """Keyword arguments selecting the visit, the label results carry, and a description."""
    v = ctx.visit(label)
    if v is None:
        return {"last": True}, LAST_VISIT_LABEL, "the last follow-up"
    return {"visits": [v]}, v.label, f"{v.label} (days {v.lower}-{v.upper})"


def _one(frame: pd.DataFrame, what: str) -> pd.Series:
    if frame.empty:
        raise NotComputable(f"the analysis gives no {what} (too few subjects with a baseline "
                            "and a value)")
    return frame.iloc[0]


def _from_row(row: pd.Series, method: str, *, value: str = "estimate",
              n: str = "n") -> Reproduced:
    return Reproduced(value=num(row.get(value)), ci_lower=num(row.get("ci_lower")),
                      ci_upper=num(row.get("ci_upper")), p=num(row.get("p")),
                      n=None if pd.isna(row.get(n)) else int(row[n]), method=method)


def _welch(group: np.ndarray, y: np.ndarray, what: str, names: tuple[str, str]) -> Reproduced:
    """Welch t-test of ``y``, ``group`` True minus False (threshold_comparison)."""
    from cohort.analysis.dose_response import threshold_comparison

    n1, n2 = int(group.sum()), int((~group).sum())
    if n1 < 2 or n2 < 2:
        raise NotComputable(f"{what}: {n1} subject(s) in {names[0]} and {n2} in {names[1]} "
                            "with a value; each group needs at least 2")
    welch = threshold_comparison(group.astype(float), y, threshold=0.5)[0]
    if welch["note"]:
        raise NotComputable(f"{what}: {welch['note']}")
    return Reproduced(value=num(welch["estimate"]), ci_lower=num(welch["ci_lower"]),
                      ci_upper=num(welch["ci_upper"]), p=num(welch["p"]), n=n1 + n2,
                      method=f"{what}; Welch two-sample t-test (n = {n1} vs {n2})")


# ---------------------------------------------------------------------------- ANCOVA


def _ancova(ctx: StudyContext, target: Target, *, mixed: bool) -> Reproduced:
    from cohort.analysis.ancova import ancova_analysis

    p = target.params
    param = str(p["param"])
    ctx.require_param(param)
    arm, ref = ctx.arm_label(p["arm"]), ctx.arm_label(p["reference"])
    kw, label, when = _when(ctx, str(p["visit"]))
    infusions = ctx.cohort.infusions
    if mixed:
        if "last" in kw:
            raise NotComputable("the mixed model runs over the scheduled visits; the last "
                                "follow-up is not one of them")
        visits = ctx.visits()
        res = ctx.memo(("mixed", param, ref), lambda: ancova_analysis(
            ctx.measurements, ctx.subjects, infusions, param=param, visits=visits,
            reference=ref, trend=False, mixed=True))
        method = (f"MMRM over all visits (change ~ arm * visit + baseline * visit, "
                  f"unstructured, REML, Satterthwaite), {arm} minus {ref} at {when}")
    else:
        res = ctx.memo(("ancova", param, label, ref), lambda: ancova_analysis(
            ctx.measurements, ctx.subjects, infusions, param=param, reference=ref,
            trend=False, **kw))
        method = (f"ANCOVA of {param} change at {when}: lm(change ~ arm + baseline) over all "
                  f"arms, least-squares mean difference {arm} minus {ref}")
    s = res.summary
    row = _one(s[(s["model"] == ("mmrm" if mixed else "ancova"))
                 & (s["kind"] == "vs_reference") & (s["arm"] == arm) & (s["visit"] == label)],
               f"estimate of {arm} vs {ref} at {label}")
    return _from_row(row, method)


def ancova_diff(ctx: StudyContext, target: Target) -> Reproduced:
    """Baseline-adjusted least-squares mean difference in change (ANCOVA per visit)."""
    return _ancova(ctx, target, mixed=False)


def mixed_model_diff(ctx: StudyContext, target: Target) -> Reproduced:
    """Difference in change from the repeated-measures (mixed) model."""
    return _ancova(ctx, target, mixed=True)


# ---------------------------------------------------------------------------- responders


def _responders(ctx: StudyContext, target: Target, arms: list[str],
                reference: str | None) -> tuple[pd.DataFrame, str]:
    from cohort.analysis.responder_criteria import Criterion
    from cohort.analysis.responders import responder_analysis

    p = target.params
    param = str(p["param"])
    ctx.require_param(param)
    kw, _, when = _when(ctx, str(p["visit"]))
    if "last" in kw:
        raise NotComputable("a responder endpoint needs a scheduled visit, not the last "
                            "follow-up")
    rows = ctx.select(arms=arms, among=p.get("among"))
    crit = Criterion(param, "value", "<", float(p["below"]))
    res = responder_analysis(ctx.measurements, rows, criteria=[crit], visits=kw["visits"],
                             reference=reference)
    ctx.notes.extend(n for n in res.notes if not n.startswith("one arm"))
    return res.summary, f"{crit.label} at {when}"


def responder_count(ctx: StudyContext, target: Target) -> Reproduced:
    """Subjects of an arm below a threshold at a visit."""
    arm = ctx.arm_label(target.params["arm"])
    s, what = _responders(ctx, target, [target.params["arm"]], None)
    row = _one(s[(s["kind"] == "rate") & (s["arm"] == arm)], f"responder rate of {arm}")
    x, n = int(row["x"]), int(row["n"])
    pct = (f" ({100 * row['estimate']:.0f}%, Clopper-Pearson 95% CI "
           f"{100 * row['ci_lower']:.0f}% to {100 * row['ci_upper']:.0f}%)" if n else "")
    return Reproduced(value=float(x), n=n, method=f"{arm}: {x}/{n} with {what}{pct}")


def responder_fisher(ctx: StudyContext, target: Target) -> Reproduced:
    """Fisher's exact test of the responder proportion, arm vs reference."""
    p = target.params
    arm, ref = ctx.arm_label(p["arm"]), ctx.arm_label(p["reference"])
    s, what = _responders(ctx, target, [p["arm"], p["reference"]], ref)
    row = _one(s[(s["kind"] == "fisher_exact") & (s["arm"] == arm)],
               f"Fisher test of {arm} vs {ref}")
    rates = s[s["kind"] == "rate"].set_index("arm")
    counts = "; ".join(f"{a} {int(rates.loc[a, 'x'])}/{int(rates.loc[a, 'n'])}"
                       for a in (arm, ref) if a in rates.index)
    return Reproduced(value=num(row["estimate"]), ci_lower=num(row["ci_lower"]),
                      ci_upper=num(row["ci_upper"]), p=num(row["p"]), n=int(row["n"]),
                      method=f"{what}: {counts}; Fisher's exact test, two-sided (estimate: "
                             "conditional MLE odds ratio)")


# ---------------------------------------------------------------------------- change


def paired_change(ctx: StudyContext, target: Target) -> Reproduced:
    """Mean change from baseline with the paired t-test."""
    from cohort.analysis.paired import paired_analysis

    p = target.params
    param = str(p["param"])
    ctx.require_param(param)
    kw, label, when = _when(ctx, str(p["visit"]))
    rows = ctx.select(arm=p.get("arm"), among=p.get("among"))
    res = paired_analysis(ctx.measurements, rows, param=param, **kw)
    s = res.summary
    row = _one(s[(s["visit"] == label) & (s["group"] == "all")], f"change at {label}")
    if isinstance(row.get("note"), str) and row["note"]:
        ctx.notes.append(row["note"])
    return _from_row(row, f"mean {param} change from baseline to {when} "
                          f"({num(row['mean_before']):.3g} -> {num(row['mean_after']):.3g}); "
                          "paired t-test")


def mean_by_visit(ctx: StudyContext, target: Target) -> Reproduced:
    """Mean value of a parameter at a visit (subjects with a value there)."""
    from cohort.analysis.table1 import table1
    from cohort.derive.visit_values import last_followup, values_at_visits

    p = target.params
    param = str(p["param"])
    ctx.require_param(param)
    kw, _, when = _when(ctx, str(p["visit"]))
    rows = ctx.select(arm=p.get("arm"), among=p.get("among"))
    if "last" in kw:
        vals = last_followup(ctx.measurements, param, subjects=rows)
    else:
        vals = values_at_visits(ctx.measurements, param, kw["visits"], subjects=rows)
    vals = vals[vals["value"].notna()]
    if vals.empty:
        raise NotComputable(f"no subject has a {param} value at {when}")
    vals, rule = in_unit(ctx, vals, param, p.get("unit"))
    frame = pd.DataFrame({"subject_id": vals["subject_id"], "scope": "all",
                          "value": vals["value"].to_numpy(dtype=float)})
    row = table1(frame, by="scope", variables=["value"], overall=False).summary.iloc[0]
    n_without = len(rows) - len(vals)
    if n_without:
        ctx.notes.append(f"{n_without} subject(s) without a {param} value at {when}")
    return Reproduced(value=num(row["mean"]), n=int(row["n"]),
                      method=f"mean {param} at {when} (Table 1), SD {num(row['sd']):.3g}"
                             + (f"; {rule}" if rule else ""))


def in_unit(ctx: StudyContext, vals: pd.DataFrame, param: str, unit: Any
            ) -> tuple[pd.DataFrame, str]:
    """Values at a visit (``subject_id``, ``value``) in a target's published ``unit``."""
    if unit is None:
        return vals, ""
    from cohort.studies.published_units import to_published_unit

    frame = ctx.subject_frame().set_index("subject_id")
    weight = (vals["subject_id"].astype(str).map(frame["weight_kg"])
              if "weight_kg" in frame.columns else None)
    converted, rule = to_published_unit(vals["value"], param, str(unit), weight_kg=weight)
    return vals.assign(value=converted.to_numpy()), rule


def subgroup_change(ctx: StudyContext, target: Target) -> Reproduced:
    """Mean (absolute or percent) change from baseline within a subgroup."""
    p = target.params
    if p.get("scale", "absolute") == "absolute":
        return paired_change(ctx, target)
    from cohort.analysis.paired import paired_stats
    from cohort.derive.change import change_from_baseline
    from cohort.derive.universe import split_exclusions

    param = str(p["param"])
    ctx.require_param(param)
    kw, _, when = _when(ctx, str(p["visit"]))
    rows = ctx.select(arm=p.get("arm"), among=p.get("among"))
    usable, _ = split_exclusions(change_from_baseline(
        ctx.measurements, param, kw.get("visits", ()), last="last" in kw, subjects=rows))
    pct = usable["pct_change"].to_numpy(dtype=float)
    pct = pct[~np.isnan(pct)]
    if len(pct) < 2:
        raise NotComputable(f"{len(pct)} subject(s) with a percent change of {param} at {when}")
    # a one-sample t-test of the percent changes is the paired t-test against 0
    res = paired_stats(np.zeros(len(pct)), pct)
    return Reproduced(value=num(res["mean_change"]), ci_lower=num(res["ci_lower"]),
                      ci_upper=num(res["ci_upper"]), p=num(res["p"]), n=int(res["n"]),
                      method=f"mean percent change of {param} to {when}; one-sample t-test")


def _changes(ctx: StudyContext, param: str, kw: dict[str, Any],
             rows: pd.DataFrame) -> pd.DataFrame:
    from cohort.derive.change import change_from_baseline
    from cohort.derive.universe import split_exclusions

    usable, excl = split_exclusions(change_from_baseline(
        ctx.measurements, param, kw.get("visits", ()), last="last" in kw, subjects=rows))
    if len(excl):
        ctx.notes.append(f"{len(excl)} subject(s) without a baseline and a {param} value left "
                         "out")
    return usable


def subgroup_diff(ctx: StudyContext, target: Target) -> Reproduced:
    """Difference in change between two arms, whole arms or within a subgroup (Welch)."""
    p = target.params
    param = str(p["param"])
    ctx.require_param(param)
    arm, ref = ctx.arm_label(p["arm"]), ctx.arm_label(p["reference"])
    kw, _, when = _when(ctx, str(p["visit"]))
    rows = ctx.select(arms=[p["arm"], p["reference"]], among=p.get("among"))
    usable = _changes(ctx, param, kw, rows)
    percent = p.get("scale", "absolute") == "percent"
    y = usable["pct_change" if percent else "change"].to_numpy(dtype=float)
    arm_of = ctx.arm_of()
    group = (usable["subject_id"].astype(str).map(arm_of) == arm).to_numpy()
    keep = ~np.isnan(y)
    if not keep.all():
        ctx.notes.append(f"{int((~keep).sum())} subject(s) with a baseline of 0: percent "
                         "change undefined, left out")
    scale = "percent change" if percent else "change"
    where = " in the subgroup" if p.get("among") is not None else ""
    return _welch(group[keep], y[keep], f"{param} {scale} to {when}{where}, {arm} minus {ref}",
                  (arm, ref))


def interaction_p(ctx: StudyContext, target: Target) -> Reproduced:
    """Effect modification of the treatment effect by a subgroup.

    With control subjects: the F test of the arm x subgroup terms in the ANCOVA of change
    (:func:`cohort.analysis.effect_modification.effect_modification_analysis`). Without a
    control arm (every arm treated, e.g. two routes) the treatment effect is the change from
    baseline itself, so effect modification is the difference in change between the
    subgroups (Welch t-test).
    """
    from cohort.derive.strata import subgroup

    p = target.params
    param = str(p["param"])
    ctx.require_param(param)
    modifier = str(p["modifier"])
    cut = None if p.get("threshold") is None else float(p["threshold"])
    kw, label, when = _when(ctx, str(p["visit"]))
    frame = ctx.subject_frame()
    control = frame["control"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    if control.any() and not control.all():
        from cohort.analysis.effect_modification import effect_modification_analysis

        if p.get("arm") is not None:
            keep = control | (frame["arm"].astype(str) == ctx.arm_label(p["arm"])).to_numpy()
            frame = frame[keep].reset_index(drop=True)
        res = effect_modification_analysis(ctx.measurements, frame, subgroup=modifier,
                                           cut=cut, param=param, **kw)
        ctx.notes.extend(res.notes)
        s = res.summary
        row = _one(s[(s["kind"] == "interaction") & (s["visit"] == label)],
                   f"interaction test at {label}")
        return Reproduced(p=num(row["p"]), n=int(row["n"]),
                          method=f"F test of arm x {modifier} subgroup terms in the ANCOVA of "
                                 f"{param} change at {when} (F = {num(row['statistic']):.3g})")
    groups = subgroup(frame, modifier, cut=cut)
    low, high = _two_levels(frame, groups, modifier)
    usable = _changes(ctx, param, kw, frame)
    group_of = pd.Series(groups["subgroup"].to_numpy(), index=groups["subject_id"])
    g = usable["subject_id"].astype(str).map(group_of)
    known = g.notna().to_numpy()
    res = _welch((g[known] == high).to_numpy(), usable.loc[known, "change"].to_numpy(float),
                 f"no control arm: {param} change to {when}, {high} minus {low}", (high, low))
    res.notes.append("every arm is treated, so the effect is the change from baseline and its "
                     "modification the difference in change between the subgroups")
    return res


def _two_levels(frame: pd.DataFrame, groups: pd.DataFrame, modifier: str) -> tuple[str, str]:
    """The two subgroup labels, the one of the lower values first (for a numeric cut)."""
    from cohort.derive.strata import SUBGROUPS

    labels = groups["subgroup"]
    levels = sorted(pd.unique(labels.dropna()).tolist(), key=str)
    if len(levels) != 2:
        raise NotComputable(f"subgroup {modifier!r} has {len(levels)} level(s) in this cohort; "
                            "the comparison needs two")
    column = SUBGROUPS[modifier].column if modifier in SUBGROUPS else modifier
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    known = labels.notna().to_numpy() & ~np.isnan(values)
    if known.any():
        first = labels.to_numpy()[known][int(np.argmin(values[known]))]
        return str(first), str(next(lv for lv in levels if lv != first))
    return str(levels[0]), str(levels[1])


# ---------------------------------------------------------------------------- dose


def _dose_run(ctx: StudyContext, target: Target, **options: Any) -> tuple[Any, str, str, str]:
    from cohort.analysis.dose_response import dose_response_analysis

    p = target.params
    param = str(p["param"])
    ctx.require_param(param)
    dose = _DOSES.get(str(p.get("dose", "total")))
    if dose is None:
        raise NotComputable(f"dose {p.get('dose')!r} is not one of {sorted(_DOSES)}")
    kw, label, when = _when(ctx, str(p["visit"]))
    rows = ctx.select(arm=p.get("arm"))
    infusions = ctx.table("infusions", needed_for="a dose-response analysis")
    res = dose_response_analysis(ctx.measurements, rows, infusions, param=param,
                                 doses=[dose], **kw, **options)
    return res, dose, label, when


def dose_correlation(ctx: StudyContext, target: Target) -> Reproduced:
    """Correlation between cell dose and change from baseline (Pearson or Spearman)."""
    method = str(target.params.get("method", "pearson"))
    if method not in ("pearson", "spearman"):
        raise NotComputable(f"correlation method {method!r} is not pearson or spearman")
    res, dose, label, when = _dose_run(ctx, target)
    s = res.summary
    row = _one(s[(s["analysis"] == method) & (s["dose"] == dose) & (s["visit"] == label)],
               f"{method} correlation at {label}")
    return _from_row(row, f"{method} correlation of {dose} dose with "
                          f"{target.params['param']} change to {when}")


def dose_subgroup_diff(ctx: StudyContext, target: Target) -> Reproduced:
    """Difference in change between dose subgroups (>= threshold vs below; Welch t-test)."""
    threshold = float(target.params["threshold"])
    res, dose, label, when = _dose_run(ctx, target, threshold=threshold)
    what = (f"{target.params['param']} change to {when}, dose ({dose}) >= {threshold:g} minus "
            "below")
    if dose == "total":
        s = res.summary
        row = _one(s[(s["analysis"] == "threshold_welch_t") & (s["visit"] == label)],
                   f"dose threshold comparison at {label}")
        if isinstance(row.get("note"), str) and row["note"]:
            raise NotComputable(row["note"])
        return _from_row(row, f"{what}; Welch two-sample t-test (n = {int(row['n_high'])} vs "
                              f"{int(row['n_low'])})")
    data = res.data[res.data["visit"] == label]
    per_kg = data["dose_cells_per_kg"].to_numpy(dtype=float)
    ok = ~np.isnan(per_kg)
    return _welch(per_kg[ok] >= threshold, data["change"].to_numpy(dtype=float)[ok], what,
                  (f">= {threshold:g} cells/kg", f"< {threshold:g} cells/kg"))


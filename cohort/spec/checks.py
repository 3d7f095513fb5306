"""Checks across the parts of a study spec: group keys, visit labels, variables (internal).

Each check yields a message naming the key path; :class:`cohort.spec.model.StudySpec` joins
them into one validation error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from cohort.spec.blocks import Condition, Normal
from cohort.spec.vocabulary import CANONICAL_UNITS, COHORT_ONLY_VARIABLES, OTHER_VARIABLES

if TYPE_CHECKING:
    from cohort.spec.model import Predictor, StudySpec

__all__ = ["cross_checks", "key_size"]


def _known_variables(spec: StudySpec) -> set[str]:
    return (set(spec.baseline.variables) | set(spec.baseline.categories) | {"arm"}
            | set(OTHER_VARIABLES) | set(spec.extras.subjects))


def _check_extras(spec: StudySpec) -> Iterator[str]:
    cats = spec.baseline.categories
    for name, var in spec.extras.subjects.items():
        where = f"extras.subjects.{name}"
        cat = cats.get(name)
        if cat is None:
            yield (f"{where}: a declared subject variable is generated from the baseline "
                   f"category of the same name: add baseline.categories.{name}")
            continue
        if var.type == "boolean" and sorted(cat.levels) != ["false", "true"]:
            yield (f"baseline.categories.{name}.levels: a boolean variable has the levels "
                   f"\"true\" and \"false\" (quoted), got {cat.levels}")
        if var.type in ("integer", "number"):
            bad = [lvl for lvl in cat.levels if not _is_number(lvl)]
            if bad:
                yield f"baseline.categories.{name}.levels: {var.type} levels, got {bad}"
        if var.allowed is not None:
            bad = [lvl for lvl in cat.levels if lvl not in var.allowed]
            if bad:
                yield (f"baseline.categories.{name}.levels: {bad} not among the allowed "
                       f"codes of {where} ({', '.join(var.allowed)})")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_keys(keys: Mapping[str, Any] | list[str], valid: list[str], where: str) -> Iterator[
        str]:
    for key in keys:
        if key not in valid:
            yield (f"{where}: unknown group key {key!r}; expected all, an arm or arm/stratum "
                   f"({', '.join(valid[1:])})")


def _check_condition(cond: Condition | None, known: set[str], where: str) -> Iterator[str]:
    if cond is None:
        return
    for v in cond.variables():
        if v not in known:
            yield (f"{where}: condition on undeclared variable {v!r} (declare a study-specific "
                   "variable under extras.subjects with a baseline category of the same name, "
                   "or use a baseline variable, a category, arm, a dose, follow_up_months, "
                   "remission or insulin_free)")


def _check_predictors(preds: list[Predictor], known: set[str], where: str) -> Iterator[str]:
    for i, p in enumerate(preds):
        if p.variable is not None and p.variable not in known:
            yield f"{where}[{i}]: unknown variable {p.variable!r}"
        yield from _check_condition(p.when, known, f"{where}[{i}].when")


def _covers_arms(keys: Mapping[str, Any], spec: StudySpec, where: str) -> Iterator[str]:
    if "all" in keys:
        return
    for arm in spec.design.arms:
        strata = arm.strata or {}
        if arm.name in keys:
            continue
        if strata and all(f"{arm.name}/{s}" in keys for s in strata):
            continue
        yield f"{where}: no entry for arm {arm.name!r} (give it, its strata, or all)"


def cross_checks(spec: StudySpec) -> Iterator[str]:
    """Every problem across parts of ``spec``, one message each, naming the key path."""
    keys = spec.group_keys()
    if spec.design.follow_up.after_last_visit is not None and not spec.visits.schedule:
        yield ("design.follow_up.after_last_visit: needs a fixed visit schedule (visits."
               "schedule); with a grid, give the follow-up as days or months")
    arms = [a.name for a in spec.design.arms]
    labels = spec.visits.labels()
    known = _known_variables(spec)
    yield from _check_extras(spec)
    base = spec.baseline
    for name, cat in base.categories.items():
        table = cat.counts if cat.counts is not None else cat.proportions
        assert table is not None
        yield from _check_keys(table, keys, f"baseline.categories.{name}")
        yield from _covers_arms(table, spec, f"baseline.categories.{name}")
        if cat.counts is not None:
            for key, per_level in cat.counts.items():
                size = key_size(spec, key)
                total = sum(int(v) for v in per_level.values())
                if size is not None and total != size:
                    yield (f"baseline.categories.{name}.counts.{key}: counts sum to {total}, "
                           f"but the group has n = {size}")
    for name, var in base.variables.items():
        where = f"baseline.variables.{name}"
        yield from _check_keys(var.dist, keys, where + ".dist")
        if var.derive is None:
            yield from _covers_arms(var.dist, spec, where + ".dist")
        yield from _check_condition(var.among, known, where + ".among")
        if var.count_below is not None:
            yield from _check_keys(var.count_below.counts, keys, where + ".count_below")
            for key, c in var.count_below.counts.items():
                size = key_size(spec, key)
                if size is not None and int(c) > size:
                    yield (f"{where}.count_below.counts.{key}: {int(c)} is more than the "
                           f"group's n = {size}")
        for key, d in var.dist.items():
            if isinstance(d, Normal) and d.sem is not None and key_size(spec, key) is None:
                yield f"{where}.dist.{key}: an SEM needs a group with a published n"
            size = key_size(spec, key)
            if isinstance(d, Normal) and d.sem_n is not None and size is not None \
                    and d.sem_n > size:
                yield (f"{where}.dist.{key}.sem_n: the SEM was computed on {d.sem_n} "
                       f"subjects, more than the group's n = {size}")
    for i, corr in enumerate(base.correlations):
        yield from _check_keys(corr.rho, keys, f"baseline.correlations[{i}].rho")
    traj = spec.outcomes.trajectories
    for param, t in traj.items():
        where = f"outcomes.trajectories.{param}"
        yield from _check_keys(t.anchors(), keys, where + (".change" if t.change else ".level"))
        yield from _covers_arms(t.anchors(), spec, where)
        for per_visit in t.anchors().values():
            for v in per_visit:
                if v not in labels:
                    yield f"{where}: unknown visit {v!r}; visits are {', '.join(labels)}"
        spread = t.sd if t.sd is not None else t.residual_sd
        assert spread is not None
        for v, s in spread.items():
            if v not in labels and v != "all":
                yield f"{where}.sd: unknown visit {v!r}"
            if isinstance(s, dict):
                yield from _check_keys(s, keys, f"{where}.sd.{v}")
        for visit in t.anchor_visits():
            if visit not in spread and "all" not in spread:
                yield f"{where}: no sd for visit {visit!r}"
        if param not in base.variables:
            yield f"{where}: {param} has no baseline distribution under baseline.variables"
        for j, m in enumerate(t.modifiers):
            yield from _check_condition(m.when, known, f"{where}.modifiers[{j}].when")
            yield from _check_keys(m.arms or [], keys, f"{where}.modifiers[{j}].arms")
            for v in m.shift:
                if v not in labels:
                    yield f"{where}.modifiers[{j}]: unknown visit {v!r}"
        for j, c in enumerate(t.constraints):
            if c.visit not in labels:
                yield f"{where}.constraints[{j}]: unknown visit {c.visit!r}"
            if c.arm not in keys:
                yield f"{where}.constraints[{j}]: unknown group key {c.arm!r}"
            yield from _check_condition(c.among, known, f"{where}.constraints[{j}].among")
        for v in t.measured_at or []:
            if v not in labels:
                yield f"{where}.measured_at: unknown visit {v!r}"
        yield from _check_condition(t.among, known, where + ".among")
    for p, g in spec.outcomes.glucose.items():
        for v in g.measured_at or []:
            if v not in labels:
                yield f"outcomes.glucose.{p}.measured_at: unknown visit {v!r}"
    rem = spec.outcomes.remission
    if rem is not None:
        if rem.visit not in labels:
            yield f"outcomes.remission.visit: unknown visit {rem.visit!r}"
        yield from _check_keys(rem.counts, keys, "outcomes.remission.counts")
        yield from _covers_arms(rem.counts, spec, "outcomes.remission.counts")
        yield from _check_predictors(rem.predictors, known, "outcomes.remission.predictors")
        for param in rem.params:
            t = traj.get(param)
            if t is not None and t.scale != "percent":
                yield f"outcomes.remission: the {param} trajectory must use the percent scale"
            if t is not None and rem.visit not in t.anchor_visits():
                yield (f"outcomes.remission: the {param} trajectory has no mean change at "
                       f"{rem.visit!r}")
    for i, ins in enumerate(spec.outcomes.insulin_free):
        where = f"outcomes.insulin_free[{i}]"
        if ins.arm not in arms:
            yield f"{where}.arm: unknown arm {ins.arm!r}"
        yield from _check_condition(ins.among, known, where + ".among")
        yield from _check_predictors(ins.select, known, where + ".select")
        if "INSULIN_DOSE" not in base.variables:
            yield f"{where}: insulin independence needs an INSULIN_DOSE baseline distribution"
    meds = spec.outcomes.medications
    if meds is not None:
        if meds.by is not None and meds.by not in base.categories:
            yield f"outcomes.medications.by: unknown category {meds.by!r}"
        levels = base.categories[meds.by].levels if meds.by in base.categories else []
        for lvl in meds.regimens:
            if lvl != "all" and lvl not in levels:
                yield f"outcomes.medications.regimens: unknown level {lvl!r}"
        yield from _check_condition(meds.insulin_among, known,
                                    "outcomes.medications.insulin_among")
        if meds.reduction is not None:
            yield from _check_keys(meds.reduction.counts, keys,
                                   "outcomes.medications.reduction.counts")
            yield from _check_predictors(meds.reduction.select, known,
                                         "outcomes.medications.reduction.select")
    for i, ae in enumerate(spec.outcomes.adverse_events):
        yield from _check_keys(ae.counts, keys, f"outcomes.adverse_events[{i}].counts")
    ids = [t.id for t in spec.targets]
    dupes = sorted({x for x in ids if ids.count(x) > 1})
    if dupes:
        yield f"targets: duplicated ids {dupes}"
    for i, pid in enumerate(spec.study.primary):
        if pid not in ids:
            yield (f"study.primary[{i}]: {pid!r} is not the id of a target (targets: "
                   f"{', '.join(ids) or 'none'})")
    for i, t in enumerate(spec.targets):
        if t.command is not None:
            # a `cohort analyze` request: its options are the command's (checked by the
            # target); only the visit is a spec label here
            if "visit" in t.params and t.params["visit"] not in labels:
                yield (f"targets[{i}] ({t.id}).params.visit: unknown visit "
                       f"{t.params['visit']!r} (spec visits: {', '.join(labels)})")
            continue
        for key in ("arm", "reference"):
            if key in t.params and t.params[key] not in keys:
                yield f"targets[{i}] ({t.id}).params.{key}: unknown group key {t.params[key]!r}"
        if "visit" in t.params and t.params["visit"] not in labels:
            yield f"targets[{i}] ({t.id}).params.visit: unknown visit {t.params['visit']!r}"
        if "unit" in t.params:
            yield from _check_unit(t.params, f"targets[{i}] ({t.id}).params.unit")
        among = t.params.get("among")
        if among is not None:
            try:
                cond = Condition.model_validate(among)
            except ValueError as exc:
                yield (f"targets[{i}] ({t.id}).params.among: not a condition "
                       f"({str(exc).splitlines()[-1].strip()})")
            else:
                yield from _check_condition(cond, known | set(COHORT_ONLY_VARIABLES),
                                            f"targets[{i}] ({t.id}).params.among")
        if "variable" in t.params and t.params["variable"] not in known:
            yield (f"targets[{i}] ({t.id}).params.variable: unknown variable "
                   f"{t.params['variable']!r}")


def _check_unit(params: Mapping[str, Any], where: str) -> Iterator[str]:
    from cohort.units import CONVERSIONS, canonical_spelling

    what = params.get("variable", params.get("param"))
    canonical = CANONICAL_UNITS.get(str(what))
    unit = canonical_spelling(str(params["unit"]))
    known = sorted(f for f, t in CONVERSIONS if t == canonical)
    if canonical is None:
        yield f"{where}: a published unit applies to a measured parameter, not {what!r}"
    elif unit is None or unit not in known:
        yield (f"{where}: {what} cannot be given in {params['unit']!r}; its units are "
               f"{', '.join(known)}")


def key_size(spec: StudySpec, key: str) -> int | None:
    """Published n of a group key (None for ``all``)."""
    if key == "all":
        return sum(int(a.n) for a in spec.design.arms)
    arm_name, _, stratum = key.partition("/")
    for a in spec.design.arms:
        if a.name == arm_name:
            if not stratum:
                return int(a.n)
            if a.strata and stratum in a.strata:
                return int(a.strata[stratum].n)
    return None

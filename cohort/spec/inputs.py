"""Whether a target's numbers rest on published or on assumed spec parameters.

Every block of a study spec is marked ``published: <source>`` or ``assumed: <reason>``, and an
entry or a single value inside it may carry its own mark, which then wins (see
:mod:`cohort.spec.blocks`). For a target, :func:`target_inputs` collects the spec entries its
reproduced number rests on and the *effective* mark of every number in them (the nearest mark
on the way down from the spec's top):

==========================  =========================================================
analysis                    spec entries it rests on
==========================  =========================================================
``arm_size``                the arm's ``n`` (or the stratum's)
``baseline_*``              the variable's distribution for the arms in scope (its
                            ``count_below`` when the threshold matches; its ``bounds``
                            too for a minimum or maximum); a category's counts; the
                            treatment for a dose; ``design.follow_up`` for follow-up
outcome analyses of a       the trajectory's change (or level) at the visit for the arms
parameter                   in scope (all anchors when the visit is interpolated), its
                            SD at the visit, the baseline slope, the modifiers that shift
                            that visit, the constraints at the visit (responders); the
                            baseline distribution too when the number is a value rather
                            than a change (its mean only, and no SD, for a mean)
remission                   the remission rule and its counts for the arms in scope (and
                            the predictor, for a model coefficient)
insulin-free, survival      the insulin-free models of the arms in scope
``med_reduction_rate``      ``outcomes.medications.reduction``
``adverse_event_*``         the adverse-event entries of the term
``analyze <command>``       as the analysis the command runs: the trajectory of its
                            ``param`` (HbA1c by default) for ancova, mmrm, paired,
                            dose-response and effect-modification, the criteria's
                            trajectories for responders, the remission rule for
                            remission and predict, the variables for table1, the
                            insulin-free models for survival; arms from ``row``
==========================  =========================================================

A derived parameter (HOMA-beta) rests on the parameters it is computed from.

plus, for a target restricted to a subgroup (``among``), the baseline entries of the
subgroup's variables, and, when distributions are given per stratum, the stratum sizes. A
mean rests on the means of its distributions only, an SD on their SDs. The visit a target
names is part of the published target, not an input.

``inputs`` is ``"published"`` when every mark found is published, ``"assumed"`` when every
one is assumed and ``"mixed"`` otherwise. When nothing in the spec models the number (e.g. no
insulin-free model for a control arm: the published count 0 follows from the design), the
arms in scope stand in. The rule is conservative: a target is called published only when no
assumed number it rests on was found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from cohort.spec.model import StudySpec, Target
from cohort.spec.values import Value

__all__ = ["Inputs", "target_inputs"]

Path = tuple[Any, ...]

_VALUE_ANALYSES = {"mean_by_visit", "responder_count", "responder_fisher", "responders",
                   "quantile_by_visit"}
_SKIP_FIELDS = {"published", "assumed"}
_DERIVED = {"HOMA_B": ("FPG", "INSULIN_FAST"), "HOMA_B_CP": ("FPG", "CPEP_FAST")}
"""Derived parameters (cohort.derive.homa) and the parameters they are computed from."""
_AE_ANALYSES = ("adverse_event_count", "adverse_event_subjects", "adverse_event_proportion",
                "km_event")
_TRAJECTORY_COMMANDS = ("ancova", "mmrm", "paired", "dose-response", "effect-modification")


def _request(spec: StudySpec, target: Target) -> tuple[str, dict[str, Any]]:
    """A `cohort analyze` request read as the analysis whose inputs it rests on: its params
    with the arm(s) its row names and the command's default parameter."""
    p = dict(target.params)
    row = target.row or {}
    for key in ("arm", "reference"):
        if key in row and key not in p:
            p[key] = row[key]
    if row.get("group") in {a.name for a in spec.arms}:
        p.setdefault("arm", row["group"])
    command = str(target.command)
    if command in _TRAJECTORY_COMMANDS:
        p.setdefault("param", "HBA1C")
        return "request_trajectory", p
    if command == "responders":
        p.setdefault("criterion", "HBA1C < 7")
        return "responders", p
    if command in ("remission", "predict"):
        return "remission_request", p
    if command == "table1":
        return "table1", p
    return "insulin_free", p


@dataclass(frozen=True)
class Inputs:
    """What a target's numbers rest on.

    Attributes
    ----------
    basis : str
        ``"published"``, ``"assumed"`` or ``"mixed"``.
    published, assumed : tuple of str
        Key paths of the spec entries with each effective mark.
    """

    basis: str
    published: tuple[str, ...]
    assumed: tuple[str, ...]


def _own_mark(obj: Any) -> str | None:
    pub, ass = getattr(obj, "published", None), getattr(obj, "assumed", None)
    if pub is not None:
        return "published"
    if ass is not None:
        return "assumed"
    return None


def _step(obj: Any, key: Any) -> Any:
    if isinstance(obj, dict):
        return obj.get(key)
    if isinstance(obj, list | tuple):
        return obj[key] if isinstance(key, int) and 0 <= key < len(obj) else None
    return getattr(obj, key, None)


def _descend(spec: StudySpec, path: Path) -> tuple[Any, str | None]:
    """The object at ``path`` and the mark it inherits (including its own)."""
    obj: Any = spec
    mark = None
    for key in path:
        obj = _step(obj, key)
        if obj is None:
            return None, mark
        mark = _own_mark(obj) or mark
    return obj, mark


def _leaves(obj: Any, mark: str | None, where: str, deep: bool) -> Iterator[tuple[str, str]]:
    """(where, effective mark) of every number in ``obj``."""
    mark = _own_mark(obj) or mark
    children: list[tuple[str, Any]] = []
    if deep and isinstance(obj, BaseModel) and not isinstance(obj, Value):
        children = [(n, getattr(obj, n)) for n in type(obj).model_fields if n not in _SKIP_FIELDS]
    elif deep and isinstance(obj, dict):
        children = [(str(k), v) for k, v in obj.items()]
    elif deep and isinstance(obj, list | tuple):
        children = [(f"[{i}]", v) for i, v in enumerate(obj)]
    found = False
    for name, child in children:
        if child is None or isinstance(child, str | bool):
            continue
        found = True
        sub = f"{where}{name}" if name.startswith("[") else f"{where}.{name}"
        yield from _leaves(child, mark, sub, deep)
    if not found:
        yield where, mark or "assumed"


def _keys(spec: StudySpec, arms: list[str], table: dict[str, Any] | None) -> list[str]:
    """Keys of a per-group table that apply to the subjects of ``arms``."""
    if not table:
        return []
    out: list[str] = []
    for arm in arms:
        strata = [k for k in table if k.startswith(f"{arm}/")]
        pick = strata or ([arm] if arm in table else (["all"] if "all" in table else []))
        out += [k for k in pick if k not in out]
    return out


def _arm_index(spec: StudySpec, name: str) -> int | None:
    for i, a in enumerate(spec.arms):
        if a.name == name:
            return i
    return None


def _scope(spec: StudySpec, p: dict[str, Any]) -> list[str]:
    # `arm: all` (the whole cohort) and no arm at all are every arm
    names = [str(p[k]).partition("/")[0] for k in ("arm", "reference")
             if p.get(k) and p[k] != "all"]
    return names or [a.name for a in spec.arms]


def _arm_paths(spec: StudySpec, arms: list[str]) -> list[tuple[Path, bool]]:
    out = []
    for a in arms:
        i = _arm_index(spec, a)
        if i is not None:
            out.append((("design", "arms", i, "n"), True))
    return out


def _strata_paths(spec: StudySpec, keys: list[str]) -> list[tuple[Path, bool]]:
    out = []
    for k in keys:
        arm, _, stratum = k.partition("/")
        i = _arm_index(spec, arm)
        if stratum and i is not None:
            out.append((("design", "arms", i, "strata", stratum, "n"), True))
    return out


def _variable_paths(spec: StudySpec, variable: str, arms: list[str], *, analysis: str = "",
                    threshold: float | None = None) -> list[tuple[Path, bool]]:
    base = spec.baseline
    out: list[tuple[Path, bool]] = []
    if variable in base.variables:
        var = base.variables[variable]
        root: Path = ("baseline", "variables", variable)
        cb = var.count_below
        if threshold is not None and cb is not None and abs(cb.threshold - threshold) < 1e-12:
            keys = _keys(spec, arms, dict(cb.counts))
            out += [((*root, "count_below", "counts", k), True) for k in keys] or [
                ((*root, "count_below"), False)]
        else:
            keys = _keys(spec, arms, var.dist)
            # a mean rests on the distributions' means, an SD on their SDs
            field = {"baseline_mean": "mean", "baseline_sd": "sd"}.get(analysis)
            for k in keys:
                dist = var.dist[k]
                part = field if field and getattr(dist, field, None) is not None else None
                if field == "sd" and part is None and getattr(dist, "sem", None) is not None:
                    part = "sem"
                out.append(((*root, "dist", k, part) if part else (*root, "dist", k), True))
            if not keys:
                out.append((root, False))
            out += _strata_paths(spec, keys)
        if analysis in ("baseline_min", "baseline_max") and var.bounds is not None:
            out.append(((*root, "bounds"), True))
    elif variable in base.categories:
        cat = base.categories[variable]
        part = "counts" if cat.counts is not None else "proportions"
        keys = _keys(spec, arms, getattr(cat, part))
        out += [(("baseline", "categories", variable, part, k), True) for k in keys]
    elif variable in ("dose_cells_total", "dose_cells_per_kg"):
        for a in arms:
            i = _arm_index(spec, a)
            if i is not None and spec.arms[i].treatment is not None:
                out.append((("design", "arms", i, "treatment"), True))
    elif variable == "follow_up_months":
        out.append((("design", "follow_up"), True))
    return out


def _among_paths(spec: StudySpec, among: Any, arms: list[str]) -> list[tuple[Path, bool]]:
    if among is None:
        return []
    from cohort.spec.blocks import Condition

    cond = Condition.model_validate(among) if isinstance(among, dict) else among
    out = []
    for c in ([cond] if cond.all_of is None else list(cond.all_of)):
        for var in c.variables():
            cut = c.below if c.below is not None else c.at_least
            out += _variable_paths(spec, var, arms, threshold=cut)
    return out


def _trajectory_paths(spec: StudySpec, target: Target, arms: list[str]) -> list[tuple[Path,
                                                                                      bool]]:
    p = target.params
    param, visit = str(p["param"]), str(p["visit"])
    out: list[tuple[Path, bool]] = []
    if param in _DERIVED:  # HOMA-beta rests on its glucose and secretion parameters
        for part in _DERIVED[param]:
            one = target.model_copy(update={"params": {**p, "param": part}})
            out += _trajectory_paths(spec, one, arms)
        return out
    traj = spec.outcomes.trajectories.get(param)
    if traj is None:
        if param in spec.outcomes.glucose:
            out.append((("outcomes", "glucose", param), True))
        return out
    root: Path = ("outcomes", "trajectories", param)
    part = "change" if traj.change is not None else "level"
    anchors = traj.anchors()
    keys = _keys(spec, arms, anchors)
    for k in keys:
        if visit in anchors[k]:
            out.append(((*root, part, k, visit), True))
        else:  # interpolated between anchors
            out.append(((*root, part, k), True))
    out += _strata_paths(spec, keys)
    mean_only = target.analysis == "mean_by_visit"
    spread = "sd" if traj.sd is not None else "residual_sd"
    table = getattr(traj, spread) or {}
    if not mean_only:  # a mean does not rest on the spread
        out.append(((*root, spread, visit) if visit in table else (*root, spread), True))
    if traj.baseline_slope is not None:
        out.append(((*root, "baseline_slope"), True))
    for i, m in enumerate(traj.modifiers):
        applies = m.arms is None or any(a in arms for a in m.arms)
        if applies and visit in m.shift:
            out.append(((*root, "modifiers", i), True))
    if target.analysis in ("responder_count", "responder_fisher"):
        for i, c in enumerate(traj.constraints):
            if c.visit == visit and c.arm in arms:
                out.append(((*root, "constraints", i), True))
    if target.analysis in _VALUE_ANALYSES and part == "change":  # value = baseline + change
        out += _variable_paths(spec, param, arms,
                               analysis="baseline_mean" if mean_only else "")
    return out


def _remission_paths(spec: StudySpec, target: Target, arms: list[str]) -> list[tuple[Path,
                                                                                     bool]]:
    rem = spec.outcomes.remission
    if rem is None:
        return []
    root: Path = ("outcomes", "remission")
    out: list[tuple[Path, bool]] = [(root, False)]
    out += [((*root, "counts", k), True) for k in _keys(spec, arms, dict(rem.counts))]
    if target.analysis == "logistic_or_direction":
        wanted = str(target.params["predictor"])
        out += [((*root, "predictors", i), True) for i, pr in enumerate(rem.predictors)
                if pr.variable == wanted]
    return out


def _paths(spec: StudySpec, target: Target) -> list[tuple[Path, bool]]:
    a, p = target.analysis, target.params
    if target.command is not None:
        a, p = _request(spec, target)
        target = target.model_copy(update={"params": p})
        if a == "table1":
            variables = p.get("variable") or []
            variables = variables if isinstance(variables, list) else [variables]
            out_t: list[tuple[Path, bool]] = []
            for v in variables:
                out_t += _variable_paths(spec, str(v), _scope(spec, p))
            return out_t
    arms = _scope(spec, p)
    if a == "arm_size":
        arm, _, stratum = str(p["arm"]).partition("/")
        i = _arm_index(spec, arm)
        if i is None:
            return []
        return [(("design", "arms", i, "strata", stratum, "n") if stratum
                 else ("design", "arms", i, "n"), True)]
    if a.startswith("baseline_"):
        cut = p.get("below", p.get("at_least"))
        return _variable_paths(spec, str(p["variable"]), arms, analysis=a,
                               threshold=None if cut is None else float(cut))
    if a == "responders":
        texts = p["criterion"] if isinstance(p["criterion"], list) else [p["criterion"]]
        out: list[tuple[Path, bool]] = []
        for text in texts:
            first = str(text).split()[0] if str(text).split() else ""
            if first.startswith("med:"):
                med = spec.outcomes.medications
                if med is not None and med.reduction is not None:
                    out.append((("outcomes", "medications", "reduction"), True))
            else:
                one = target.model_copy(update={"params": {**p, "param": first}})
                out += _trajectory_paths(spec, one, arms)
        return out
    if "param" in p and "visit" in p:
        return _trajectory_paths(spec, target, arms)
    if a == "request_trajectory":  # visits by day: the parameter's whole trajectory
        param = str(p["param"])
        if param in spec.outcomes.trajectories:
            return [(("outcomes", "trajectories", param), True)]
        return [(("outcomes", "glucose", param), True)] if param in spec.outcomes.glucose \
            else []
    if a.startswith("remission_") or a == "logistic_or_direction":
        return _remission_paths(spec, target, arms)
    if a == "med_reduction_rate":
        med = spec.outcomes.medications
        return [(("outcomes", "medications", "reduction"), True)] if (
            med is not None and med.reduction is not None) else []
    if a in _AE_ANALYSES:
        terms = p.get("term", "")
        terms = [str(t).casefold() for t in (terms if isinstance(terms, list) else [terms])]
        return [(("outcomes", "adverse_events", i), True)
                for i, ae in enumerate(spec.outcomes.adverse_events)
                if (terms == [""] or ae.term.casefold() in terms)
                and (p.get("arm") in (None, "all") or _keys(spec, arms, dict(ae.counts)))]
    # insulin-free episodes and times to resumption
    return [(("outcomes", "insulin_free", i), True)
            for i, block in enumerate(spec.outcomes.insulin_free) if block.arm in arms]


def _where(path: Path) -> str:
    out = ""
    for k in path:
        out += f"[{k}]" if isinstance(k, int) else ("." if out else "") + str(k)
    return out


def target_inputs(spec: StudySpec, target: Target) -> Inputs:
    """The spec entries a target rests on, with their published/assumed marks.

    Parameters
    ----------
    spec : StudySpec
        The study spec.
    target : Target
        One of its targets.

    Returns
    -------
    Inputs
        ``basis`` (``published``, ``assumed`` or ``mixed``) and the key paths per mark.
    """
    paths = _paths(spec, target)
    paths += _among_paths(spec, target.params.get("among"), _scope(spec, target.params))
    if not paths:
        paths = _arm_paths(spec, _scope(spec, target.params))
    marks: dict[str, list[str]] = {"published": [], "assumed": []}
    for path, deep in paths:
        obj, inherited = _descend(spec, path)
        if obj is None:
            continue
        for where, mark in _leaves(obj, inherited, _where(path), deep):
            if where not in marks[mark]:
                marks[mark].append(where)
    pub, ass = tuple(marks["published"]), tuple(marks["assumed"])
    basis = "mixed" if pub and ass else ("published" if pub else "assumed")
    return Inputs(basis=basis, published=pub, assumed=ass)

"""The fidelity scorecard: published baseline numbers against a generated (or any) cohort.

Baseline targets (arm sizes, means, SDs, medians, ranges, counts and proportions) are computed
directly from the cohort tables, so the scorecard works on a freshly generated cohort and on a
folder read from disk alike. A target passes when the generated number is within half a unit
of the precision the published number was printed with (``8.2`` -> 0.05; counts exactly).
Outcome targets (ANCOVA, remission, Kaplan-Meier...) are listed as ``not_checked``: they are
reproduced by the analyses (``cohort reproduce``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cohort.synth.analyses import ANALYSES
from cohort.synth.blocks import Condition
from cohort.synth.spec import StudySpec, Target
from cohort.synth.vocabulary import BASELINE_VARIABLES, DAYS_PER_MONTH, SUBJECT_COLUMNS

__all__ = ["TOLERANCE_RULE", "Scorecard", "baseline_frame", "baseline_table", "scorecard"]

TOLERANCE_RULE = ("pass when |generated - published| <= half a unit of the published number's "
                  "printed precision (8.2 -> 0.05; counts exactly, scaled with --n); for "
                  "<, <=, >, >= targets the comparison must hold within that tolerance")

SCORE_COLUMNS = ["id", "analysis", "description", "published", "comparison", "generated",
                 "tolerance", "status", "source", "note"]


def baseline_frame(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per subject: subjects columns, baseline measurements, first dose, follow-up.

    The baseline of a measurement is its last value on or before day 0 (the contract's
    definition); ``follow_up_months`` is ``last_contact_day / 30.4375``.
    """
    subjects = tables["subjects"]
    frame = subjects.set_index("subject_id", drop=False).copy()
    frame.index.name = None
    meas = tables.get("measurements")
    if meas is not None and len(meas):
        pre = meas[meas["day"] <= 0]
        pre = pre.sort_values(["subject_id", "day"], kind="stable")
        last = pre.groupby(["subject_id", "param"], observed=True)["value"].last().unstack()
        last.columns = [str(c) for c in last.columns]
        last.index = last.index.astype(str)
        frame = frame.join(last, how="left")
    inf = tables.get("infusions")
    if inf is not None and len(inf):
        first = inf.sort_values(["subject_id", "infusion_number"], kind="stable").groupby(
            "subject_id", observed=True)[["dose_cells_per_kg", "dose_cells_total"]].first()
        first.index = first.index.astype(str)
        frame = frame.join(first, how="left")
    frame["follow_up_months"] = frame["last_contact_day"].astype(float) / DAYS_PER_MONTH
    return frame


def _condition_mask(frame: pd.DataFrame, cond: Condition) -> pd.Series:
    if cond.all_of is not None:
        mask = pd.Series(True, index=frame.index)
        for c in cond.all_of:
            mask &= _condition_mask(frame, c)
        return mask
    assert cond.variable is not None
    if cond.variable not in frame.columns:
        raise KeyError(cond.variable)
    x = frame[cond.variable]
    mask = x.notna()
    for attr, op in (("below", "__lt__"), ("at_least", "__ge__"), ("above", "__gt__"),
                     ("at_most", "__le__")):
        v = getattr(cond, attr)
        if v is not None:
            mask &= getattr(x.astype(float), op)(v)
    if cond.equals is not None:
        mask &= x.astype(str) == str(cond.equals)
    if cond.in_ is not None:
        mask &= x.astype(str).isin(cond.in_)
    return mask.fillna(False).astype(bool)


@dataclass
class Scorecard:
    """Published vs generated for every target of a spec.

    Attributes
    ----------
    table : DataFrame
        One row per target: ``id``, ``analysis``, ``description``, ``published``,
        ``comparison``, ``generated``, ``tolerance``, ``status`` (``pass``, ``fail`` or
        ``not_checked``), ``source``, ``note``.
    """

    table: pd.DataFrame

    @property
    def checked(self) -> pd.DataFrame:
        """Rows that were checked (pass or fail)."""
        return self.table[self.table["status"] != "not_checked"]

    @property
    def passed(self) -> bool:
        """True when no checked target failed."""
        return bool((self.table["status"] != "fail").all())

    def counts(self) -> dict[str, int]:
        """Number of targets per status."""
        return {s: int((self.table["status"] == s).sum())
                for s in ("pass", "fail", "not_checked")}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``tolerance_rule``, ``counts``, ``passed``, ``targets``."""
        from cohort.analysis.result import json_safe

        return json_safe({"tolerance_rule": TOLERANCE_RULE, "counts": self.counts(),
                          "passed": self.passed, "targets": self.table})


def _printed_tolerance(target: Target) -> float:
    return target.tolerance if target.value is not None else 0.0


def _arm_label(spec: StudySpec, key: str) -> str | None:
    if key == "all":
        return None
    arm_name = key.partition("/")[0]
    return spec.arm(arm_name).arm_label


def _statistic(analysis: str, x: pd.Series) -> float:
    x = x.dropna().astype(float)
    if x.empty:
        return math.nan
    if analysis == "baseline_mean":
        return float(x.mean())
    if analysis == "baseline_sd":
        return float(x.std(ddof=1)) if x.size > 1 else math.nan
    if analysis == "baseline_median":
        return float(x.median())
    if analysis == "baseline_min":
        return float(x.min())
    if analysis == "baseline_max":
        return float(x.max())
    raise AssertionError(analysis)  # pragma: no cover


def _passes(generated: float, target: Target, tol: float, scaled: bool) -> bool:
    if generated is None or (isinstance(generated, float) and math.isnan(generated)):
        return False
    value = float(target.value)  # type: ignore[arg-type]
    slack = max(tol, 1.0 if scaled else 0.0) + 1e-9
    return {
        "=": abs(generated - value) <= slack,
        "<=": generated <= value + slack,
        ">=": generated >= value - slack,
        "<": generated < value + (slack if scaled else 0.0),
        ">": generated > value - (slack if scaled else 0.0),
    }[target.comparison]


def _evaluate(target: Target, spec: StudySpec, frame: pd.DataFrame,
              published_n: dict[str, int]) -> tuple[Any, float, bool, str | None]:
    """(generated, published value to compare with, scaled?, problem)."""
    p = target.params
    rows = frame
    arm = p.get("arm")
    if arm is not None:
        if "/" in str(arm):
            return None, math.nan, False, "strata are not recorded in the cohort tables"
        rows = rows[rows["arm"] == _arm_label(spec, arm)]
    if "among" in p:
        try:
            cond = Condition.model_validate(p["among"])
            rows = rows[_condition_mask(rows, cond)]
        except (KeyError, ValueError) as exc:
            return None, math.nan, False, f"cannot evaluate among: {exc}"
    value = float(target.value) if target.value is not None else math.nan
    n_pub = published_n.get(arm or "all", 0)
    n_now = int((frame["arm"] == _arm_label(spec, arm)).sum()) if arm else len(frame)
    scaled = n_pub > 0 and n_now != n_pub
    ratio = n_now / n_pub if n_pub else 1.0
    if scaled and target.analysis == "baseline_sd" and arm is None and len(spec.arms) > 1:
        return None, math.nan, False, ("the SD of pooled arms depends on n (n - 1 within each "
                                       "arm); it is reproduced at the published n")
    if target.analysis == "arm_size":
        return len(rows), (value * ratio if scaled else value), scaled, None
    variable = p["variable"]
    if variable not in rows.columns:
        return None, math.nan, False, f"{variable} is not in the cohort tables"
    x = rows[variable]
    if target.analysis in ("baseline_count", "baseline_proportion"):
        if "level" in p:
            hit = x.astype(str) == str(p["level"])
        elif "below" in p:
            hit = x.astype(float) < float(p["below"])
        elif "at_least" in p:
            hit = x.astype(float) >= float(p["at_least"])
        else:
            return None, math.nan, False, "give level, below or at_least"
        hit = hit.fillna(False)
        if target.analysis == "baseline_count":
            return int(hit.sum()), (value * ratio if scaled else value), scaled, None
        return float(hit.mean()) if len(hit) else math.nan, value, False, None
    return _statistic(target.analysis, x), value, False, None


def scorecard(spec: StudySpec, tables: Mapping[str, pd.DataFrame]) -> Scorecard:
    """Compare every baseline target of ``spec`` with the cohort ``tables``.

    Parameters
    ----------
    spec : StudySpec
        The study spec (targets and arm labels).
    tables : mapping of str to DataFrame
        Contract tables (``subjects`` required; ``measurements`` and ``infusions`` used).

    Returns
    -------
    Scorecard
        With a pass/fail status per baseline target and ``not_checked`` for the others.
    """
    frame = baseline_frame(tables)
    published_n = {a.name: int(a.n) for a in spec.arms}
    published_n["all"] = sum(published_n.values())
    rows = []
    for t in spec.targets:
        info = ANALYSES[t.analysis]
        published: Any = t.value if t.value is not None else t.values
        base = {"id": t.id, "analysis": t.analysis, "description": t.description,
                "published": published, "comparison": t.comparison, "source": t.source,
                "note": t.note}
        if not info.baseline or t.value is None:
            rows.append({**base, "generated": None, "tolerance": None, "status": "not_checked",
                         "note": "outcome target: reproduced by the analyses (cohort "
                                 "reproduce)" if not info.baseline else t.note})
            continue
        generated, compare_to, scaled, problem = _evaluate(t, spec, frame, published_n)
        if problem is not None:
            rows.append({**base, "generated": None, "tolerance": None,
                         "status": "not_checked", "note": problem})
            continue
        tol = _printed_tolerance(t)
        scaled_target = t.model_copy(update={"value": compare_to})
        ok = _passes(generated, scaled_target, tol, scaled)
        note = t.note
        if scaled:
            note = (f"scaled to this n: {compare_to:.4g} (published {t.value:g}); "
                    "rounding allows +-1")
        rows.append({**base, "published": compare_to if scaled else published,
                     "generated": generated, "tolerance": max(tol, 1.0) if scaled else tol,
                     "status": "pass" if ok else "fail", "note": note})
    return Scorecard(pd.DataFrame(rows, columns=SCORE_COLUMNS))


def baseline_table(tables: Mapping[str, pd.DataFrame], *,
                   variables: list[str] | None = None) -> pd.DataFrame:
    """A simple baseline table: n, mean, SD, median, min and max per arm and overall.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Contract tables.
    variables : list of str, optional
        Continuous baseline variables (default: every one present).

    Returns
    -------
    DataFrame
        Columns ``variable``, ``arm`` (``all`` for the whole cohort), ``n``, ``mean``, ``sd``,
        ``median``, ``min``, ``max``; units are the contract's canonical units.
    """
    frame = baseline_frame(tables)
    names = variables or [v for v in (*SUBJECT_COLUMNS, *BASELINE_VARIABLES[6:])
                          if v in frame.columns]
    out = []
    groups = [("all", frame)] + [(str(a), g) for a, g in frame.groupby("arm", sort=False)]
    for var in dict.fromkeys(names):
        for arm, g in groups:
            x = g[var].dropna().astype(float) if var in g else pd.Series(dtype=float)
            out.append({"variable": var, "arm": arm, "n": int(x.size),
                        "mean": x.mean() if x.size else np.nan,
                        "sd": x.std(ddof=1) if x.size > 1 else np.nan,
                        "median": x.median() if x.size else np.nan,
                        "min": x.min() if x.size else np.nan,
                        "max": x.max() if x.size else np.nan})
    return pd.DataFrame(out)

"""The fidelity scorecard: ``cohort reproduce`` restricted to the baseline targets of a spec.

A generated cohort (or any cohort) is validated like a user's folder, its subject frame built
by :func:`cohort.studies.subjects.subject_frame`, and every baseline target (arm sizes, baseline
means, SDs, medians, ranges, counts and proportions) computed by the same recipes and judged
by the same agreement rules as in reproduction (:mod:`cohort.studies.agreement`). So a number
the scorecard passes is the number ``cohort reproduce`` shows. Outcome targets are listed as
``not_checked`` (the analyses reproduce them).

When the cohort was generated with another n than the published one (``cohort synth --n``),
counts are scaled to that n and agree within 1 (a stated tolerance: rounding of the scaled
count); an SD pooled over several arms is not checked (it depends on n within each arm).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cohort.spec.analyses import ANALYSES
from cohort.spec.targets import Target, Tolerance
from cohort.spec.vocabulary import BASELINE_VARIABLES, SUBJECT_COLUMNS

if TYPE_CHECKING:
    from cohort.io.cohort import Cohort
    from cohort.spec.model import StudySpec

__all__ = ["TOLERANCE_RULE", "Scorecard", "baseline_table", "scorecard"]

TOLERANCE_RULE = ("the agreement rules of cohort reproduce: counts equal; other numbers within "
                  "half a unit of the published number's printed precision (8.2 -> 0.05) or a "
                  "tolerance the spec states with its reason; <, <=, >, >= as published. With "
                  "--n, counts are scaled to the generated n and agree within 1")

SCORE_COLUMNS = ["id", "analysis", "description", "published", "comparison", "generated",
                 "tolerance", "status", "rule", "source", "note"]

_COUNTS = ("arm_size", "baseline_count")


@dataclass
class Scorecard:
    """Published vs generated for every target of a spec.

    Attributes
    ----------
    table : DataFrame
        One row per target: ``id``, ``analysis``, ``description``, ``published``,
        ``comparison``, ``generated``, ``tolerance``, ``status`` (``pass``, ``fail`` or
        ``not_checked``), ``rule`` (the agreement rule applied), ``source``, ``note``.
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


def _as_cohort(data: Cohort | Mapping[str, pd.DataFrame], spec: StudySpec | None = None
               ) -> Cohort:
    from cohort.io.cohort import Cohort

    if isinstance(data, Cohort):
        return data
    from cohort.validation.pipeline import from_frames

    extras = spec.extras if spec is not None and spec.extras else None
    return from_frames({k: v for k, v in data.items() if v is not None}, extras=extras)


def _scaled(spec: StudySpec, target: Target, n_now: dict[str, int]
            ) -> tuple[Target | None, str | None]:
    """The target at the generated n: (target to judge, or None with the reason)."""
    published_n = {a.name: int(a.n) for a in spec.arms}
    published_n["all"] = sum(published_n.values())
    arm = target.params.get("arm")
    key = str(arm).partition("/")[0] if arm is not None else "all"
    n_pub, n = published_n.get(key, 0), n_now.get(key, 0)
    if not n_pub or n == n_pub:
        return target, None
    if target.analysis == "baseline_sd" and arm is None and len(spec.arms) > 1:
        return None, ("the SD of pooled arms depends on n (n - 1 within each arm); it is "
                      "reproduced at the published n")
    if target.analysis not in _COUNTS or target.value is None:
        return target, None
    value = float(target.value) * n / n_pub
    return target.model_copy(update={
        "value": value,
        "tolerance": Tolerance(value=1.0, reason=f"count scaled from the published n = {n_pub}"
                               f" to n = {n} (published {float(target.value):g}); rounding "
                               "allows +-1"),
    }), None


def scorecard(spec: StudySpec, data: Cohort | Mapping[str, pd.DataFrame]) -> Scorecard:
    """Judge every baseline target of ``spec`` on a cohort, as ``cohort reproduce`` does.

    Parameters
    ----------
    spec : StudySpec
        The study spec (targets and arm labels).
    data : Cohort or mapping of str to DataFrame
        A validated cohort, or contract tables (e.g. :attr:`SynthResult.tables`), which are
        validated first.

    Returns
    -------
    Scorecard
        A pass/fail status per baseline target and ``not_checked`` for the others.

    Raises
    ------
    InvalidCohortError
        If the tables break the data contract.
    """
    from cohort.studies.reproduce import compute_targets

    cohort = _as_cohort(data, spec)
    arms = cohort.subjects["arm"].astype(str)
    n_now = {a.name: int((arms == a.arm_label).sum()) for a in spec.arms}
    n_now["all"] = len(arms)
    judged: list[Target] = []
    rows: dict[str, dict[str, Any]] = {}
    for t in spec.targets:
        base = {"id": t.id, "analysis": t.analysis, "description": t.description,
                "published": t.value if t.value is not None else t.values,
                "comparison": t.comparison, "generated": None, "tolerance": None,
                "status": "not_checked", "rule": None, "source": t.source, "note": t.note}
        rows[t.id] = base
        if t.command is not None or not ANALYSES[t.analysis].baseline:
            base["note"] = "outcome target: reproduced by the analyses (cohort reproduce)"
            continue
        scaled, problem = _scaled(spec, t, n_now)
        if scaled is None:
            base["note"] = problem
            continue
        judged.append(scaled)
        if scaled is not t:
            base["published"] = scaled.value
            base["note"] = scaled.tolerance.reason if scaled.tolerance else t.note
    if judged:
        summary = compute_targets(spec, cohort, targets=judged)
        for r, t in zip(summary.to_dict("records"), judged, strict=True):
            row = rows[t.id]
            row["rule"] = r["agreement_rule"] or None
            if r["agreement"] == "not computable":
                row["note"] = r["reason"]
                continue
            row["generated"] = (r["reproduced_value"] if r["reproduced_values"] is None
                                else r["reproduced_values"])
            exact = t.analysis in _COUNTS and t.tolerance is None
            row["tolerance"] = t.agreement_tolerance if t.value is not None and not exact \
                else 0.0
            row["status"] = "pass" if r["agreement"] == "agrees" else "fail"
    return Scorecard(pd.DataFrame(list(rows.values()), columns=SCORE_COLUMNS))


def baseline_table(data: Cohort | Mapping[str, pd.DataFrame], *,
                   variables: list[str] | None = None) -> pd.DataFrame:
    """A simple baseline table: n, mean, SD, median, min and max per arm and overall.

    Parameters
    ----------
    data : Cohort or mapping of str to DataFrame
        A validated cohort or contract tables (validated first).
    variables : list of str, optional
        Continuous baseline variables (default: every one present).

    Returns
    -------
    DataFrame
        Columns ``variable``, ``arm`` (``all`` for the whole cohort), ``n``, ``mean``, ``sd``,
        ``median``, ``min``, ``max``; units are the contract's canonical units.
    """
    from cohort.studies.subjects import subject_frame

    frame = subject_frame(_as_cohort(data))
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

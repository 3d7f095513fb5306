"""Effect modification (Nguyen 2021): does the arm effect on change differ between subgroups?

Per visit, least squares of ``change ~ arm * subgroup + baseline (+ covariates)`` (design
built from column lists, R's ``lm`` parameterisation). Reported:

* the **interaction test**: F test that every arm x subgroup coefficient is 0 (identical to
  R's ``anova(lm(change ~ arm + subgroup + baseline), lm(change ~ arm * subgroup + baseline))``);
* **within-subgroup** arm-vs-reference differences from the interaction model (R
  ``emmeans(fit, trt.vs.ctrl ~ arm | subgroup)``), with SE, CI and p;
* **LS means** per arm and subgroup (baseline at its mean);
* the raw **mean change** per arm and subgroup with its t interval (descriptive).

Subgroups are those of :mod:`cohort.derive.strata`: ``"bmi"`` (< 23 vs >= 23 kg/m2),
``"duration"`` (< 10 vs >= 10 years), ``"onset"`` (diagnosis < 18 vs >= 18 years),
``"stratum"`` (baseline HbA1c 6.2-8% vs > 8%) or a subjects column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from cohort.analysis._common import (
    arm_levels,
    censored_notes,
    mean_t_interval,
    pick_visits,
    prepare_changes,
)
from cohort.analysis.linear_model import build_design, check_ci, fit_ols
from cohort.analysis.result import AnalysisResult
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.strata import assign_groups
from cohort.derive.visit_windows import Visit
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["EffectModificationResult", "effect_modification_analysis"]

SUMMARY_COLUMNS = ["visit", "visit_day", "kind", "subgroup", "arm", "reference", "estimate",
                   "se", "ci_lower", "ci_upper", "statistic", "df", "df_den", "p", "n",
                   "n_excluded"]


@dataclass
class EffectModificationResult(AnalysisResult):
    """Arm x subgroup interaction per visit.

    ``summary`` columns: ``visit``, ``visit_day``, ``kind`` (``"interaction"``: F test of the
    arm x subgroup terms, ``statistic`` = F, ``df`` / ``df_den`` its degrees of freedom;
    ``"within_subgroup"``: arm minus reference arm inside ``subgroup``; ``"lsmean"``:
    adjusted mean change of ``arm`` in ``subgroup``; ``"mean_change"``: raw mean change with
    its t interval), ``subgroup``, ``arm``, ``reference``, ``estimate`` (change in the
    parameter's canonical unit, e.g. HbA1c percentage points), ``se``, ``ci_lower``,
    ``ci_upper``, ``statistic``, ``df``, ``df_den``, ``p``, ``n``, ``n_excluded``.

    ``coefficients``: the interaction model's coefficient table per visit.
    """

    coefficients: pd.DataFrame | None = None
    data: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`AnalysisResult.to_dict`, plus ``coefficients``."""
        from cohort.analysis.result import json_safe
        out = super().to_dict()
        out["coefficients"] = json_safe(self.coefficients)
        return out

    def plot(self, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Forest plot of each arm minus the reference inside each subgroup, rows labelled
        with the visit, subgroup and arm (:func:`cohort.report.figures.regression.
        forest_plot`; options as there).
        """
        from cohort.analysis.result import NothingToPlotError
        from cohort.report.figures.labels import change_label
        from cohort.report.figures.regression import forest_plot

        rows = self.summary.loc[self.summary["kind"] == "within_subgroup"].dropna(
            subset=["estimate"])
        if rows.empty:
            raise NothingToPlotError("no within-subgroup arm difference to plot")
        level = self.params.get("conf_level") or 0.95
        refs = list(pd.unique(rows["reference"].dropna().astype(str)))
        ref = refs[0] if len(refs) == 1 else "reference"
        kwargs.setdefault("xlabel", change_label(
            self.params.get("param"), template=f"Difference in {{name}} change vs {ref}",
            suffix=f"{level:.0%} CI"))
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(7.0, 0.4 * len(rows) + 1.5)).add_subplot()
        return forest_plot(rows, label=["visit", "subgroup", "arm"], ax=ax, **kwargs)


def effect_modification_analysis(measurements: pd.DataFrame, subjects: pd.DataFrame, *,
                                 subgroup: str = "bmi", cut: float | None = None,
                                 param: str = "HBA1C",
                                 visit_days: Sequence[int] | None = None,
                                 visits: Sequence[Visit] | None = None,
                                 half_width: int | None = None, last: bool = False,
                                 baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                                 visit_labels: Sequence[str] | None = None,
                                 covariates: Sequence[str] = (),
                                 reference: str | None = None,
                                 conf_level: float = 0.95,
                                 ci: str = "t") -> EffectModificationResult:
    """Arm x subgroup interaction in the ANCOVA of change, with within-subgroup estimates.

    Parameters
    ----------
    measurements, subjects : DataFrame
        Contract tables (values in canonical units).
    subgroup : str, keyword-only
        ``"bmi"``, ``"duration"``, ``"onset"``, ``"stratum"`` or a subjects column.
    cut : float or None, keyword-only
        Cut point for a numeric subjects column (or to override the published one).
    param : str, keyword-only
        Parameter code (default ``"HBA1C"``, %).
    visit_days, visits, half_width, last : keyword-only
        The visits (see :func:`cohort.derive.visit_windows.resolve_visits`).
    baseline_window : (int, int), keyword-only
    visit_labels : sequence of str or None, keyword-only
        Visits by label (ADaM AVISIT), baseline from the baseline flag; the default when the
        records carry labels and a baseline flag and no days are given (see
        :func:`cohort.analysis._common.pick_visits`).
    covariates : sequence of str, keyword-only
        Extra numeric subjects columns.
    reference : str or None, keyword-only
        Reference arm (default: the control arm, else the first arm by name; the rule of
        every analysis).
    conf_level : float, keyword-only
    ci : {"t", "normal"}, keyword-only
        Within-subgroup differences, LS means and coefficients with t tests and intervals on
        the residual df (R ``lm``/``emmeans``), or normal (z; ``emmeans(..., df = Inf)``).
        The interaction F test and the raw mean changes (one-sample t) are unaffected.

    Returns
    -------
    EffectModificationResult
    """
    check_ci(ci)
    visit_list, labels = pick_visits(measurements, param=param, visit_days=visit_days,
                                     visits=visits, half_width=half_width, last=last,
                                     visit_labels=visit_labels)
    levels, notes = arm_levels(subjects, reference, None)
    notes += censored_notes(measurements, [param])
    covariates = list(covariates)
    usable, excl = prepare_changes(measurements, subjects, param=param, visit_list=visit_list,
                                   last=last, baseline_window=baseline_window,
                                   subject_columns=["arm", *covariates], visit_labels=labels)
    usable["arm"] = usable["arm"].astype(str)
    base = usable.drop_duplicates("subject_id")[["subject_id", "baseline"]]
    groups = assign_groups(subjects, subgroup, baseline=base, cut=cut)
    usable = usable.merge(groups.rename(columns={"group": "subgroup"}), on="subject_id",
                          how="left")
    no_group = usable["reason"].notna()
    excl = pd.concat([excl, usable.loc[no_group, ["subject_id", "visit", "reason"]].assign(
        reason=lambda f: f["reason"].astype(object))], ignore_index=True)
    usable = usable.loc[~no_group].drop(columns="reason").reset_index(drop=True)
    rows: list[dict[str, Any]] = []
    coef_tables = []
    for v_label, v_rows in usable.groupby("visit", sort=False):
        common = {"visit": v_label, "visit_day": v_rows["visit_day"].iloc[0],
                  "n_excluded": int((excl["visit"] == v_label).sum())}
        arms = [a for a in levels if (v_rows["arm"] == a).any()]
        subs = sorted(pd.unique(v_rows["subgroup"].astype(str)).tolist())
        if levels[0] not in arms or len(arms) < 2:
            raise AnalysisError(f"at visit {v_label!r} the arms with data are {arms}; the "
                                f"comparison needs the reference arm {levels[0]!r} and another")
        if len(subs) < 2:
            raise AnalysisError(f"at visit {v_label!r} every subject analysed is in subgroup "
                                f"{subs[0]!r}; an interaction needs two subgroups")
        cells = v_rows.groupby(["arm", "subgroup"]).size()
        empty = [(a, s) for a in arms for s in subs if (a, s) not in cells.index]
        if empty:
            raise AnalysisError(f"at visit {v_label!r} no subject in arm/subgroup {empty}; the "
                                "arm effect cannot be estimated in every subgroup")
        design = build_design(v_rows, factors={"arm": arms, "subgroup": subs},
                              numeric=["baseline", *covariates],
                              interactions=[("arm", "subgroup")])
        fit = fit_ols(v_rows["change"].to_numpy(dtype=float), design)
        inter = [n for n in design.names if ":" in n]
        ft = fit.f_test(inter)
        rows.append({**common, "kind": "interaction", "arm": " x ".join(arms[1:]),
                     "subgroup": " / ".join(subs), "estimate": math.nan,
                     "statistic": ft["statistic"], "df": ft["df_num"], "df_den": ft["df_den"],
                     "p": ft["p"], "n": fit.n})
        for s in subs:
            for a in arms[1:]:
                lvec = (design.row({"arm": a, "subgroup": s})
                        - design.row({"arm": arms[0], "subgroup": s}))
                res = fit.contrast(lvec, conf_level, ci)
                rows.append({**common, "kind": "within_subgroup", "subgroup": s, "arm": a,
                             "reference": arms[0], **res,
                             "n": int(cells[(a, s)] + cells[(arms[0], s)])})
        for s in subs:
            for a in arms:
                res = fit.contrast(design.row({"arm": a, "subgroup": s}), conf_level, ci)
                rows.append({**common, "kind": "lsmean", "subgroup": s, "arm": a, **res,
                             "n": int(cells[(a, s)])})
                y = v_rows.loc[(v_rows["arm"] == a) & (v_rows["subgroup"] == s), "change"]
                mc = mean_t_interval(y.to_numpy(dtype=float), conf_level)
                rows.append({**common, "kind": "mean_change", "subgroup": s, "arm": a,
                             **{k: mc[k] for k in ("estimate", "se", "ci_lower", "ci_upper",
                                                   "df", "n")}})
        coef_tables.append(fit.coefficients(conf_level, ci).assign(visit=v_label))
    if not rows:
        raise AnalysisError(f"no subject has a baseline, a {param} value and a {subgroup} "
                            "group; first reasons: "
                            + "; ".join(excl["reason"].astype(str).unique()[:3]))
    coefficients = pd.concat(coef_tables, ignore_index=True)
    notes.append("within-subgroup differences, LS means and coefficients: "
                 + ("t tests and intervals on the residual degrees of freedom" if ci == "t"
                    else "normal (z) tests and intervals, estimate +- z x SE")
                 + "; raw mean changes: one-sample t intervals")
    return EffectModificationResult(
        summary=pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS), exclusions=excl,
        params={"param": param, "subgroup": subgroup, "cut": cut,
                "visits": [v.__dict__ for v in visit_list], "last": last,
                "baseline_window": list(baseline_window), "covariates": covariates,
                "reference": levels[0], "conf_level": conf_level, "ci": ci},
        notes=notes, coefficients=coefficients[["visit", "term", "estimate", "se", "t", "p",
                                                "ci_lower", "ci_upper"]], data=usable)

"""ANCOVA of change from baseline per visit (Skyler 2015), and the MMRM over visits.

Per visit, ordinary least squares of ``change ~ arm + baseline (+ covariates)`` with the
design matrix built from column lists (never from formula strings; R's ``lm`` parameterisation:
treatment contrasts with the reference arm first), fitted by statsmodels' ``OLS`` through
:mod:`cohort.analysis.linear_model`; LS means and contrasts are its ``t_test``. Reported:

* **LS means** per arm with SE and CI, covariates at their means and categorical covariates
  averaged with equal weights over their levels (what R's ``emmeans`` does by default);
* **each arm vs the reference** (the control arm): difference, SE, CI, t, p, and, as a
  family, adjusted p-values and simultaneous intervals (:mod:`cohort.analysis.multiplicity`:
  none, Dunnett from the contrasts' own correlation, Holm, Hochberg, Bonferroni, Sidak);
* a **linear dose-trend contrast** across arms ordered by dose, with the integer orthogonal
  polynomial coefficients R's ``emmeans`` uses for ``"poly"`` (e.g. -3, -1, 1, 3 for four
  arms), or centred dose scores.

Optionally the **repeated-measures model over visits** (``mixed=True``): the default MMRM of
:mod:`cohort.analysis.mmrm` (``change ~ arm * visit + baseline * visit``, unstructured
covariance, REML, Satterthwaite df), LS means and arm vs reference at each visit (rows with
``model == "mmrm"``); ``cohort analyze mmrm`` has its other options.

Intervals and tests use the t distribution on the residual df (R ``lm``/``emmeans``), or with
``ci="normal"`` the standard normal (estimate +- 1.96 x SE, as some published trial analyses
report them; ``emmeans(..., df = Inf)``).

Every subject left out (no baseline, no value in the visit window, missing covariate) is
listed in ``exclusions`` with the reason; nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cohort.analysis._common import arm_levels as _arm_levels
from cohort.analysis._common import censored_notes, pick_visits, prepare_changes
from cohort.analysis.ancova_fit import fit_ancova, poly_linear
from cohort.analysis.linear_model import (
    INTERCEPT,
    Design,
    LinearFit,
    build_design,
    check_ci,
    fit_ols,
)
from cohort.analysis.multiplicity import check_adjust
from cohort.analysis.result import AnalysisResult
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.universe import as_text
from cohort.derive.visit_windows import Visit
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "INTERCEPT",
    "AncovaResult",
    "Design",
    "LinearFit",
    "ancova_analysis",
    "arm_doses",
    "build_design",
    "fit_ancova",
    "fit_ols",
    "poly_linear",
    "prepare_changes",
]

# Design, LinearFit, build_design, fit_ols (cohort.analysis.linear_model), prepare_changes and
# _arm_levels (cohort.analysis._common) moved; they stay importable from here.


# ------------------------------------------------------------------ cohort level

def arm_doses(subjects: pd.DataFrame, infusions: pd.DataFrame | None) -> pd.DataFrame:
    """Median per-subject cumulative dose per arm (cells/kg and total cells).

    Parameters
    ----------
    subjects : DataFrame
        The subjects table (``subject_id``, ``arm``, ``control``).
    infusions : DataFrame or None
        The infusions table; placebo infusions count as dose 0.

    Returns
    -------
    DataFrame
        ``arm``, ``control`` (any control subject in the arm), ``dose_cells_per_kg``,
        ``dose_cells_total`` (medians over subjects; 0 for control arms; NaN when unknown).
    """
    subj = subjects[["subject_id", "arm", "control"]].copy()
    if infusions is not None and len(infusions):
        subj["subject_id"] = subj["subject_id"].astype(str)
        inf = infusions.assign(subject_id=infusions["subject_id"].astype(str))
        per = inf.groupby("subject_id")[["dose_cells_per_kg", "dose_cells_total"]].sum(
            min_count=1)
        subj = subj.merge(per, left_on="subject_id", right_index=True, how="left")
    else:
        subj["dose_cells_per_kg"] = np.nan
        subj["dose_cells_total"] = np.nan
    ctrl = subj["control"].fillna(False).astype(bool)
    subj.loc[ctrl, ["dose_cells_per_kg", "dose_cells_total"]] = 0.0
    out = subj.groupby("arm", sort=True).agg(
        control=("control", lambda s: bool(s.fillna(False).astype(bool).any())),
        dose_cells_per_kg=("dose_cells_per_kg", "median"),
        dose_cells_total=("dose_cells_total", "median")).reset_index()
    out["arm"] = out["arm"].astype(str)
    return out


@dataclass
class AncovaResult(AnalysisResult):
    """ANCOVA per visit (and optionally the MMRM over visits).

    ``summary`` columns: ``visit``, ``visit_day``, ``model`` (``"ancova"`` or ``"mmrm"``),
    ``kind`` (``"lsmean"``: adjusted mean change of an arm; ``"vs_reference"``: arm minus
    reference arm; ``"trend"``: linear dose-trend contrast), ``arm``, ``reference``,
    ``estimate`` (change in the parameter's canonical unit, e.g. HbA1c percentage points),
    ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``statistic`` (t; z with ``ci="normal"``),
    ``p``, and for the arm-vs-reference rows ``p_adjusted``, ``ci_lower_adjusted``,
    ``ci_upper_adjusted`` (family-wise over the arms at that visit), ``adjust`` (the
    adjustment of the p-values) and ``ci_adjust`` (of the intervals:
    Bonferroni for Holm and Hochberg, as emmeans), ``n`` (subjects in the arm(s) compared),
    ``n_excluded`` (subjects left out at that visit). ``params["ci"]`` names the interval
    method (``"t"`` or ``"normal"``).

    ``coefficients``: per visit, the ``lm`` coefficient table (``visit``, ``term``,
    ``estimate``, ``se``, ``t``, ``p``, ``ci_lower``, ``ci_upper``). ``data``: the rows
    analysed. ``doses``: the per-arm doses used to order the trend.
    """

    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)
    data: pd.DataFrame | None = None
    doses: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`AnalysisResult.to_dict`, plus ``coefficients`` and ``doses``."""
        from cohort.analysis.result import json_safe
        out = super().to_dict()
        out["coefficients"] = json_safe(self.coefficients)
        out["doses"] = json_safe(self.doses) if self.doses is not None else None
        return out

    def plot(self, *, ax: Axes | None = None, kind: str = "lsmean", **kwargs: Any) -> Axes:
        """The model's LS mean change of each arm over the visits (``kind="lsmean"``), or each
        arm minus the reference (``kind="difference"``), with CIs
        (:func:`cohort.report.figures.visits.lsmeans_plot`; options as there).

        Returns
        -------
        Axes
        """
        from cohort.report.figures.visits import lsmeans_plot

        return lsmeans_plot(self, kind=kind, ax=ax, **kwargs)  # type: ignore[arg-type]


SUMMARY_COLUMNS = ["visit", "visit_day", "model", "kind", "arm", "reference", "estimate", "se",
                   "ci_lower", "ci_upper", "df", "statistic", "p", "p_adjusted",
                   "ci_lower_adjusted", "ci_upper_adjusted", "adjust", "ci_adjust", "n",
                   "n_excluded"]


def ancova_analysis(measurements: pd.DataFrame, subjects: pd.DataFrame,
                    infusions: pd.DataFrame | None = None, *, param: str = "HBA1C",
                    visit_days: Sequence[int] | None = None,
                    visits: Sequence[Visit] | None = None, half_width: int | None = None,
                    last: bool = False,
                    baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                    visit_labels: Sequence[str] | None = None,
                    covariates: Sequence[str] = (), reference: str | None = None,
                    arm_order: Sequence[str] | None = None, adjust: str | None = None,
                    trend: bool = True, trend_scores: str = "poly", mixed: bool = False,
                    conf_level: float = 0.95, ci: str = "t") -> AncovaResult:
    """ANCOVA of change from baseline at each visit: LS means, arm vs reference, dose trend.

    Parameters
    ----------
    measurements, subjects : DataFrame
        Contract tables (values in canonical units).
    infusions : DataFrame or None
        Infusions table, used to order arms by dose for the trend contrast.
    param : str, keyword-only
        Parameter code (default ``"HBA1C"``, %).
    visit_days, visits, half_width, last : keyword-only
        The visits (see :func:`cohort.derive.visit_windows.resolve_visits`).
    baseline_window : (int, int), keyword-only
        Baseline window in study days.
    visit_labels : sequence of str or None, keyword-only
        Visits by label (ADaM AVISIT, e.g. ``["Week 24"]``), baseline from the baseline flag
        (ABLFL), values from the analysis records (ANL01FL). Without visits, days or
        ``last``, a cohort whose records carry labels and a baseline flag is analysed at every
        post-baseline visit that way; see :mod:`cohort.derive.visit_labels`.
    covariates : sequence of str, keyword-only
        Extra subjects columns (numeric: linear; text/boolean: factor).
    reference : str or None, keyword-only
        Reference arm; default: the control arm (the first arm by name if there is none;
        the same rule as every other analysis).
    arm_order : sequence of str or None, keyword-only
        Arms in dose order; default: by median cumulative cells/kg (control 0), else by
        name.
    adjust : str or None, keyword-only
        Multiplicity adjustment of the arm-vs-reference comparisons at each visit:
        ``"none"`` (default; None is the same), ``"dunnett"``, ``"holm"``, ``"hochberg"``,
        ``"bonferroni"`` or ``"sidak"`` (:func:`cohort.analysis.multiplicity.
        adjust_comparisons`). R's emmeans adjusts ``"trt.vs.ctrl"`` by default (its
        ``"dunnettx"`` approximation); this function does not unless asked.
    trend : bool, keyword-only
        Add the linear dose-trend contrast (needs >= 3 arms in dose order).
    trend_scores : {"poly", "dose"}, keyword-only
        Equally spaced orthogonal-polynomial coefficients (R ``emmeans`` ``"poly"``) or
        centred median doses (cells/kg).
    mixed : bool, keyword-only
        Also fit the MMRM over all scheduled visits (default model of
        :func:`cohort.analysis.mmrm.mmrm_analysis`).
    conf_level : float, keyword-only
    ci : {"t", "normal"}, keyword-only
        t on the residual df (R ``lm``, emmeans) or normal (z) p-values and intervals.

    Returns
    -------
    AncovaResult

    Examples
    --------
    Skyler 2015's week-12 HbA1c change (percentage points), each dose against placebo,
    adjusted for baseline HbA1c:

    >>> from cohort import datasets
    >>> from cohort.analysis.ancova import ancova_analysis
    >>> sk = datasets.load("skyler2015")
    >>> res = ancova_analysis(sk.measurements, sk.subjects, sk.infusions, param="HBA1C",
    ...                       visit_days=[84])
    >>> res.summary.query("kind == 'vs_reference'")[["arm", "estimate", "se", "p"]].round(3)
                   arm  estimate     se      p
    4  MPC 0.3x10^6/kg     0.001  0.244  0.996
    5  MPC 1.0x10^6/kg    -0.100  0.247  0.686
    6  MPC 2.0x10^6/kg    -0.298  0.246  0.231
    """
    adjust = check_adjust(adjust)
    check_ci(ci)
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    if trend_scores not in ("poly", "dose"):
        raise AnalysisError(f"trend_scores must be 'poly' or 'dose', got {trend_scores!r}")
    visit_list, labels = pick_visits(measurements, param=param, visit_days=visit_days,
                                     visits=visits, half_width=half_width, last=last,
                                     visit_labels=visit_labels)
    covariates = list(covariates)
    for c in covariates:
        if c in ("arm", "baseline", "change", "subject_id"):
            raise AnalysisError(f"{c!r} is already in the model; give other covariates")
    doses = arm_doses(subjects, infusions)
    notes: list[str] = censored_notes(measurements, [param])
    if labels:
        notes.append(f"visits by label ({', '.join(labels)}): baseline from the record "
                     "flagged as baseline, values from the analysis records (ADaM ABLFL, "
                     "AVISIT, ANL01FL), not from day windows")
    tied_doses = None
    if arm_order is None and doses["dose_cells_per_kg"].notna().all():
        arm_order = doses.sort_values(["dose_cells_per_kg", "arm"])["arm"].tolist()
        dup = doses["dose_cells_per_kg"].duplicated(keep=False)
        if dup.any():
            tied_doses = doses.loc[dup, "arm"].tolist()
    levels, n = _arm_levels(subjects, reference, arm_order)
    notes += n
    usable, excl = prepare_changes(measurements, subjects, param=param, visit_list=visit_list,
                                   last=last, baseline_window=baseline_window,
                                   subject_columns=["arm", *covariates], visit_labels=labels)
    usable["arm"] = as_text(usable["arm"])
    ordered = [levels[0]] + [a for a in (arm_order or levels) if a != levels[0]]
    dose_order = list(arm_order) if arm_order is not None else None
    trend_arms = dose_order if (trend and dose_order and len(dose_order) >= 3
                                and tied_doses is None) else None
    if trend and tied_doses is not None:
        notes.append(f"no dose trend: arms {tied_doses} have the same median dose; give "
                     "arm_order to order them")
    elif trend and trend_arms is None:
        notes.append("no dose trend: it needs >= 3 arms with known doses (or arm_order)")
    scores = None
    if trend_arms is not None and trend_scores == "dose":
        per = doses.set_index("arm")["dose_cells_per_kg"]
        scores = [float(per[a]) for a in trend_arms]
    rows, coef_tables = [], []
    excluded = excl["visit"].value_counts(sort=False)
    # each visit's rows with the columns the model uses (not a copy of every column)
    model_columns = list(dict.fromkeys(["visit", "visit_day", "change", "arm", "baseline",
                                        *covariates]))
    for v_label, v_rows in usable[model_columns].groupby("visit", sort=False):
        visit_day = v_rows["visit_day"].iloc[0]
        n_excl = int(excluded.get(v_label, 0))
        arms_here = set(pd.unique(v_rows["arm"]))  # one pass, not one comparison per arm
        present = [a for a in ordered if a in arms_here]
        if levels[0] not in present or len(present) < 2:
            raise AnalysisError(
                f"at visit {v_label!r} only arm(s) {present} have subjects with a baseline and "
                f"a {param} value; the comparison needs the reference arm {levels[0]!r} and "
                "at least one other")
        vt = [a for a in (trend_arms or []) if a in present]
        vf = fit_ancova(v_rows, covariates=covariates, arm_levels=present,
                        conf_level=conf_level, adjust=adjust, ci=ci,
                        trend_scores=([s for a, s in zip(trend_arms, scores, strict=True)
                                       if a in present] if scores else None),
                        trend_arms=vt if trend_arms is not None and len(vt) >= 3 else None)
        common = {"visit": v_label, "visit_day": visit_day, "model": "ancova",
                  "n_excluded": n_excl}
        for r in vf.lsmeans.to_dict("records"):
            rows.append({**common, "kind": "lsmean", **r})
        for r in vf.contrasts.to_dict("records"):
            rows.append({**common, "kind": "vs_reference", **r})
        for r in vf.trend.to_dict("records"):
            r.pop("coefficients")
            rows.append({**common, "kind": "trend", **r})
        coef_tables.append(vf.fit.coefficients(conf_level, ci).assign(visit=v_label))
    if not rows:
        raise AnalysisError(f"no subject has both a baseline and a {param} value at the visits "
                            "asked for; first reasons: "
                            + "; ".join(excl["reason"].astype(str).unique()[:3]))
    notes.append(_inference_note(adjust, ci, conf_level))
    if mixed:  # the repeated-measures model is the MMRM (cohort.analysis.mmrm)
        from cohort.analysis.mmrm.analysis import ancova_mmrm_rows

        rows += ancova_mmrm_rows(usable, excl, levels, covariates, conf_level, notes,
                                 adjust=adjust)
    summary = pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)
    coefficients = pd.concat(coef_tables, ignore_index=True)
    coefficients = coefficients[["visit", *[c for c in coefficients.columns if c != "visit"]]]
    return AncovaResult(
        summary=summary, exclusions=excl,
        params={"param": param, "visits": [v.__dict__ for v in visit_list], "last": last,
                "visit_labels": labels,
                "baseline_window": list(baseline_window), "covariates": covariates,
                "reference": levels[0], "arm_order": dose_order, "adjust": adjust,
                "trend": trend, "trend_scores": trend_scores, "mixed": mixed,
                "conf_level": conf_level, "ci": ci},
        notes=notes, coefficients=coefficients, data=usable, doses=doses)


def _inference_note(adjust: str, ci: str, conf_level: float) -> str:
    """What the p-values and intervals are, in words (printed with the result)."""
    from scipy import stats

    what = ("t tests and t intervals on the residual degrees of freedom" if ci == "t" else
            "normal (z) tests and intervals, estimate +- "
            f"{stats.norm.isf((1 - conf_level) / 2):.3f} x SE")
    if adjust == "none":
        fam = ("arm-vs-reference p-values and intervals not adjusted for multiplicity (R "
               "emmeans' trt.vs.ctrl is Dunnett-adjusted by default; ask with --adjust)")
    elif adjust == "dunnett":
        fam = ("arm-vs-reference p-values and simultaneous intervals Dunnett-adjusted from "
               "the model's correlation of the contrasts (multivariate "
               f"{'t' if ci == 't' else 'normal'}; emmeans adjust='mvt', multcomp)")
    else:
        ci_adj = "bonferroni" if adjust in ("holm", "hochberg") else adjust
        fam = (f"arm-vs-reference p-values {adjust}-adjusted, intervals {ci_adj}-adjusted "
               "(family: the arms vs the reference at each visit)")
    return f"{what}; {fam}"


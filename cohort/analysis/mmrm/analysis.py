"""MMRM of change from baseline over visits on a cohort (the repeated-measures analysis).

Default model (the usual primary analysis of a trial's continuous endpoint)::

    change ~ arm * visit + baseline * visit (+ covariates), unstructured covariance, REML,
    Satterthwaite degrees of freedom

fitted to every record with a value (missing visits are not imputed: the likelihood is valid
under missing at random), with the reference arm and the first visit as reference levels.
Reported per visit: LS means of each arm (baseline at its mean over the records analysed,
factor covariates averaged with equal weights, as R ``emmeans`` and SAS ``LSMEANS``) and each
arm minus the reference arm. Every record left out (no baseline, no value in the visit window,
a missing covariate) is in ``exclusions`` with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cohort.analysis._common import arm_levels as _arm_levels
from cohort.analysis._common import pick_visits, prepare_changes, split_covariates
from cohort.analysis.mmrm.model import MmrmModel, mmrm
from cohort.analysis.mmrm.type3 import type3_tests
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.visit_windows import Visit
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SUMMARY_COLUMNS", "MmrmResult", "ancova_mmrm_rows", "mmrm_analysis", "mmrm_rows"]

SUMMARY_COLUMNS = ["visit", "visit_day", "model", "kind", "arm", "reference", "estimate", "se",
                   "ci_lower", "ci_upper", "df", "statistic", "p", "p_adjusted",
                   "ci_lower_adjusted", "ci_upper_adjusted", "adjust", "ci_adjust", "n",
                   "n_excluded"]


@dataclass
class MmrmResult(AnalysisResult):
    """MMRM of change from baseline over visits.

    ``summary`` columns: ``visit``, ``visit_day``, ``model`` (``"mmrm"``), ``kind``
    (``"lsmean"``: adjusted mean change of an arm at the visit; ``"vs_reference"``: arm minus
    reference arm), ``arm``, ``reference``, ``estimate`` (change in the parameter's canonical
    unit, e.g. HbA1c percentage points), ``se``, ``ci_lower``, ``ci_upper``, ``df`` (by the
    method in ``params["df"]``), ``statistic`` (t), ``p``, ``p_adjusted``,
    ``ci_lower_adjusted``, ``ci_upper_adjusted``, ``adjust``, ``ci_adjust`` (arm-vs-reference
    rows, when an adjustment was asked for: one family per visit; Holm and Hochberg
    intervals are Bonferroni's, as ``ci_adjust`` says; the ANCOVA's columns), ``n``
    (subjects with a value at the visit in the arm(s)), ``n_excluded`` (records of that visit
    left out).

    Attributes
    ----------
    coefficients : DataFrame
        ``term``, ``estimate``, ``se``, ``df``, ``statistic``, ``p``, ``ci_lower``,
        ``ci_upper`` of every fixed effect (R's treatment-contrast names).
    covariance : DataFrame
        Covariance parameters: ``parameter`` (SAS's name), ``estimate``, ``se``.
    covariance_matrix : DataFrame
        Estimated covariance of one subject's changes over the visits (unit squared); with
        ``cov_by_arm`` block-diagonal, rows and columns labelled ``"<arm> <visit>"``.
    type3 : DataFrame
        SAS's Type 3 F tests of the model's terms (``effect``, ``num_df``, ``den_df``,
        ``statistic``, ``p``; :func:`cohort.analysis.mmrm.type3.type3_tests`), e.g. the
        ``arm:visit`` interaction.
    history : DataFrame
        The optimiser's path (``iteration``, ``step``, ``step_length``, ``minus2ll``,
        ``gradient_norm``, ``criterion``).
    fit_statistics : dict
        ``minus2ll`` (-2 (restricted) log-likelihood), ``aic``, ``bic`` (SAS's definitions:
        ``n_subjects`` in BIC), ``converged``, ``iterations``, ``n_records``,
        ``n_subjects``, ``n_covariance_parameters``.
    data : DataFrame or None
        The records analysed.
    """

    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)
    covariance: pd.DataFrame = field(default_factory=pd.DataFrame)
    covariance_matrix: pd.DataFrame = field(default_factory=pd.DataFrame)
    type3: pd.DataFrame = field(default_factory=pd.DataFrame)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    fit_statistics: dict[str, Any] = field(default_factory=dict)
    data: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`AnalysisResult.to_dict`, plus the model's tables and fit statistics."""
        out = super().to_dict()
        out["coefficients"] = json_safe(self.coefficients)
        out["covariance"] = json_safe(self.covariance)
        out["covariance_matrix"] = json_safe(self.covariance_matrix.reset_index(
            names="visit"))
        out["type3"] = json_safe(self.type3)
        out["history"] = json_safe(self.history)
        out["fit_statistics"] = json_safe(self.fit_statistics)
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


def mmrm_rows(model: MmrmModel, data: pd.DataFrame, *, arms: list[str], visit_days: dict,
              excluded: pd.Series, conf_level: float,
              adjust: str = "none", ci: str = "t") -> list[dict[str, Any]]:
    """Summary rows (LS means and arm vs reference per visit) of a change-from-baseline MMRM
    fitted with factors ``arm`` and ``visit``; shared with the ANCOVA's repeated-measures
    option. ``adjust`` (not ``"none"``) adds ``p_adjusted`` and family-wise intervals
    (``ci_lower_adjusted``, ``ci_upper_adjusted``) to the arm-vs-reference rows, one family
    per visit (:func:`adjust_visit_family`)."""
    rows = []
    ref = arms[0]
    for v in model.visits:
        at = data["visit"] == v
        counts = data.loc[at, "arm"].value_counts()
        common = {"visit": v, "visit_day": visit_days.get(v), "model": "mmrm",
                  "n_excluded": int(excluded.get(v, 0))}
        for a in arms:
            rows.append({**common, "kind": "lsmean", "arm": a, "reference": None,
                         "n": int(counts.get(a, 0)),
                         **model.lsmean({"arm": a, "visit": v}, conf_level, ci=ci)})
        family = []
        for a in arms[1:]:
            family.append({**common, "kind": "vs_reference", "arm": a, "reference": ref,
                           "n": int(counts.get(a, 0) + counts.get(ref, 0)),
                           **model.difference({"arm": a, "visit": v},
                                              {"arm": ref, "visit": v}, conf_level,
                                              ci=ci)})
        if adjust != "none":
            lmat = np.array([model.design.row({"arm": a, "visit": v})
                             - model.design.row({"arm": ref, "visit": v}) for a in arms[1:]])
            dfs = [r["df"] if ci == "t" else None for r in family]
            adj = adjust_visit_family(model, lmat, dfs, adjust, conf_level)
            for r, extra in zip(family, adj, strict=True):
                r.update(extra)
        rows += family
    return rows


def adjust_visit_family(model: MmrmModel, lmat: np.ndarray, dfs: Sequence[float | None],
                        method: str, conf_level: float) -> list[dict[str, float]]:
    """Multiplicity adjustment of the ``k`` comparisons of one visit (rows of ``lmat``).

    Through :func:`cohort.analysis.multiplicity.adjust_comparisons` with the model's own
    covariance of the ``k`` estimates (Dunnett: multivariate t with that correlation). Each
    comparison keeps its own df, as R ``emmeans`` does for ``adjust = "mvt"`` on an mmrm fit
    (emmeans rounds them to integers; we do not).
    """
    from cohort.analysis.multiplicity import adjust_comparisons

    est = lmat @ model.beta
    cov = lmat @ model.vcov @ lmat.T
    out = []
    done: dict[float, Any] = {}  # one integration per distinct df (all equal when balanced)
    for i, df in enumerate(dfs):
        key = None if df is None else round(float(df), 8)
        if key not in done:
            # df None: multivariate normal (the z tests of --ci normal)
            done[key] = adjust_comparisons(est, cov, df=None if df is None else float(df),
                                           method=method, conf_level=conf_level)
        a = done[key]
        out.append({"adjust": a.method, "ci_adjust": a.ci_method,
                    "p_adjusted": float(a.p_adjusted[i]),
                    "ci_lower_adjusted": float(a.ci_lower[i]),
                    "ci_upper_adjusted": float(a.ci_upper[i])})
    return out


def fit_change_mmrm(usable: pd.DataFrame, *, arms: list[str], visits: list[str],
                    covariates: Sequence[str], covariance: str, method: str, df: str,
                    vcov: str = "model", cov_by_arm: bool = False,
                    baseline: bool = True) -> MmrmModel:
    """Fit ``change ~ arm * visit + baseline * visit (+ covariates)`` on change rows."""
    if len(visits) < 2:
        raise AnalysisError(f"an MMRM needs at least two visits; only {visits} has data: for "
                            "one visit use the ANCOVA (`cohort analyze ancova`)")
    cells = usable.groupby(["visit", "arm"]).size()
    for v in visits:
        for a in arms:
            if cells.get((v, a), 0) == 0:
                raise AnalysisError(
                    f"no subject of arm {a!r} has a value at visit {v!r}: the arm-by-visit "
                    "effect cannot be estimated; drop that visit (--visit-days) or check "
                    "the data")
    cov_numeric, cov_factors = split_covariates(usable, covariates)
    factors: dict[str, list[Any]] = {"arm": arms, "visit": visits, **cov_factors}
    numeric = (["baseline"] if baseline else []) + cov_numeric
    inter = [("arm", "visit")] + ([("visit", "baseline")] if baseline else [])
    return mmrm(usable, response="change", subject="subject_id", visit="visit",
                visit_levels=visits, factors=factors, numeric=numeric, interactions=inter,
                covariance=covariance, method=method, df=df, vcov=vcov,
                group="arm" if cov_by_arm else None)


def mmrm_analysis(measurements: pd.DataFrame, subjects: pd.DataFrame, *,
                  param: str = "HBA1C", visit_days: Sequence[int] | None = None,
                  visits: Sequence[Visit] | None = None, half_width: int | None = None,
                  baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                  visit_labels: Sequence[str] | None = None,
                  covariates: Sequence[str] = (), reference: str | None = None,
                  covariance: str = "us", method: str = "reml", df: str = "satterthwaite",
                  vcov: str = "model", cov_by_arm: bool = False,
                  adjust: str | None = None, conf_level: float = 0.95,
                  ci: str = "t") -> MmrmResult:
    """MMRM of change from baseline over the visits: LS means and arms vs reference.

    Parameters
    ----------
    measurements, subjects : DataFrame
        Contract tables (values in canonical units).
    param : str, keyword-only
        Parameter code (default ``"HBA1C"``, %).
    visit_days, visits, half_width : keyword-only
        The visits (see :func:`cohort.derive.visit_windows.resolve_visits`); at least two.
    baseline_window : (int, int), keyword-only
        Baseline window in study days.
    visit_labels : sequence of str or None, keyword-only
        Visits by label (ADaM AVISIT), baseline from the baseline flag (ABLFL), values from
        the analysis records (ANL01FL); the default when the records carry labels and a
        baseline flag and no visit days are given (see
        :func:`cohort.analysis._common.pick_visits`).
    covariates : sequence of str, keyword-only
        Extra subjects columns (numeric: linear; text/boolean: factor), main effects.
    reference : str or None, keyword-only
        Reference arm; default: the control arm.
    covariance : {"us", "cs", "csh", "ar1", "ar1h", "toep", "toeph"}, keyword-only
        Covariance structure over visits (SAS's parametrisation, see
        :mod:`cohort.analysis.mmrm.covariance`).
    method : {"reml", "ml"}, keyword-only
    df : {"satterthwaite", "kr", "kr-linear", "residual", "between-within"}, keyword-only
        Denominator degrees of freedom (see :mod:`cohort.analysis.mmrm.dof`).
    vcov : {"model", "empirical"}, keyword-only
        Model-based covariance of the fixed effects, or the empirical sandwich (SAS
        ``EMPIRICAL``; needs ``df`` residual or between-within).
    cov_by_arm : bool, keyword-only
        A separate covariance (same structure) per arm: SAS ``REPEATED / GROUP=arm``.
    adjust : {None, "none", "dunnett", "holm", "hochberg", "bonferroni", "sidak"}, keyword-only
        Multiplicity adjustment of the arms-vs-reference comparisons at each visit (see
        :mod:`cohort.analysis.multiplicity`); None or ``"none"``: none.
    conf_level : float, keyword-only
    ci : {"t", "normal"}, keyword-only
        ``"t"``: t tests and intervals on the ``df`` method's degrees of freedom;
        ``"normal"``: Wald z tests and estimate +- z x SE intervals (infinite df, SAS
        ``ddfm=none``), as some published trial analyses report them.

    Returns
    -------
    MmrmResult
    """
    from cohort.analysis.multiplicity import check_adjust

    adjust = check_adjust(adjust)
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    if ci not in ("t", "normal"):
        raise AnalysisError(f"unknown interval method {ci!r}; use t or normal")
    visit_list, by_label = pick_visits(measurements, param=param, visit_days=visit_days,
                                       visits=visits, half_width=half_width, last=False,
                                       visit_labels=visit_labels)
    order = by_label or [v.label for v in visit_list]
    if len(order) < 2:
        raise AnalysisError(f"an MMRM needs at least two visits, got {len(order)} "
                            f"({', '.join(order)}): for one visit use `cohort analyze ancova`")
    covariates = list(covariates)
    for c in covariates:
        if c in ("arm", "baseline", "change", "subject_id", "visit"):
            raise AnalysisError(f"{c!r} is already in the model; give other covariates")
    levels, notes = _arm_levels(subjects, reference, None)
    usable, excl = prepare_changes(measurements, subjects, param=param, visit_list=visit_list,
                                   last=False, baseline_window=baseline_window,
                                   subject_columns=["arm", *covariates],
                                   visit_labels=by_label)
    usable["arm"] = usable["arm"].astype(str)
    if usable.empty:
        raise AnalysisError(f"no subject has both a baseline and a {param} value at the visits "
                            "asked for")
    present = [v for v in order if (usable["visit"] == v).any()]
    if len(present) < len(order):
        empty = [v for v in order if v not in present]
        raise AnalysisError(f"no subject has a baseline and a {param} value at visit(s) "
                            f"{empty}; drop them from the visits (--visit-days, --visit)")
    arms = [a for a in levels if (usable["arm"] == a).any()]
    if levels[0] not in arms or len(arms) < 2:
        raise AnalysisError(f"only arm(s) {arms} have subjects with a baseline and a {param} "
                            f"value; the comparison needs the reference arm {levels[0]!r} and "
                            "at least one other")
    model = fit_change_mmrm(usable, arms=arms, visits=present, covariates=covariates,
                            covariance=covariance, method=method, df=df, vcov=vcov,
                            cov_by_arm=cov_by_arm)
    days = {v.label: v.day for v in visit_list} if not by_label else dict.fromkeys(by_label)
    rows = mmrm_rows(model, usable, arms=arms, visit_days=days,
                     excluded=excl["visit"].value_counts() if len(excl) else pd.Series(),
                     conf_level=conf_level, adjust=adjust, ci=ci)
    summary = pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)
    fit = model.fit
    groups = getattr(fit.structure, "groups", None)
    labels = [f"{g} {v}" for g in groups for v in present] if groups else present
    notes.append(describe(model, covariates))
    if ci == "normal":
        notes.append("intervals and tests: normal (estimate +- z x SE, Wald z tests; df "
                     "infinite); the covariance and SEs are the model's")
    if adjust != "none":
        notes.append(f"p_adjusted and ci_*_adjusted: {adjust} adjustment of the "
                     f"{len(arms) - 1} comparison(s) with {arms[0]!r} at each visit (one family "
                     "per visit)" + (", multivariate t with the model's correlation of the "
                                     "comparisons and each comparison's df"
                                     if adjust == "dunnett" else ""))
    return MmrmResult(
        summary=summary, exclusions=excl.reset_index(drop=True),
        params={"param": param, "visits": [v.__dict__ for v in visit_list],
                "visit_labels": by_label,
                "baseline_window": list(baseline_window), "covariates": covariates,
                "reference": arms[0], "covariance": covariance, "method": method, "df": df,
                "vcov": vcov, "cov_by_arm": cov_by_arm, "adjust": adjust,
                "conf_level": conf_level, "ci": ci},
        notes=notes, coefficients=model.coefficients(conf_level),
        covariance=fit.covariance_parameters(),
        covariance_matrix=pd.DataFrame(fit.sigma, index=labels, columns=labels),
        type3=type3_tests(model),
        history=fit.history, fit_statistics=fit_statistics(model), data=usable)


def fit_statistics(model: MmrmModel) -> dict[str, Any]:
    """-2 log L, AIC, BIC (SAS's definitions) and the fit's size and convergence."""
    fit = model.fit
    q = fit.structure.n_params
    k = q if fit.reml else q + len(fit.beta)
    return {"minus2ll": fit.minus2ll, "aic": fit.minus2ll + 2 * k,
            "bic": fit.minus2ll + k * float(np.log(fit.n_subjects)),
            "converged": fit.converged, "iterations": int(fit.history["iteration"].max()),
            "n_records": fit.n_obs, "n_subjects": fit.n_subjects,
            "n_covariance_parameters": q}


def describe(model: MmrmModel, covariates: Sequence[str]) -> str:
    """One line saying which model was fitted."""
    from cohort.analysis.mmrm.covariance import STRUCTURES

    fit = model.fit
    cov = f" + {' + '.join(covariates)}" if covariates else ""
    return (f"MMRM: change ~ arm * visit + baseline * visit{cov}; {STRUCTURES[fit.structure.code]}"
            f" covariance; {'REML' if fit.reml else 'ML'}; {model.df_method} df"
            f"{'; empirical (sandwich) SEs' if model.vcov_type == 'empirical' else ''}"
            f"{'; one covariance per arm' if hasattr(fit.structure, 'groups') else ''}; "
            "converged in "
            f"{int(fit.history['iteration'].max())} iteration(s); missing visits not imputed "
            "(valid under missing at random)")


def ancova_mmrm_rows(usable: pd.DataFrame, excl: pd.DataFrame, levels: list[str],
                     covariates: Sequence[str], conf_level: float,
                     notes: list[str], adjust: str = "none") -> list[dict[str, Any]]:
    """The ANCOVA's repeated-measures option: the default MMRM over the scheduled visits of
    the ANCOVA's change rows (the last available follow-up is not a scheduled visit and is
    left out of it), as summary rows with ``model == "mmrm"``."""
    from cohort.derive.visit_values import LAST_VISIT_LABEL

    rows = usable[usable["visit"] != LAST_VISIT_LABEL]
    if len(rows) < len(usable):
        notes.append("MMRM: the last available follow-up is not a scheduled visit and is not "
                     "part of the repeated-measures model")
    visits = list(dict.fromkeys(rows["visit"]))
    arms = [a for a in levels if (rows["arm"] == a).any()]
    model = fit_change_mmrm(rows, arms=arms, visits=visits, covariates=covariates,
                            covariance="us", method="reml", df="satterthwaite")
    days = dict(zip(rows["visit"], rows["visit_day"], strict=False))
    notes.append(describe(model, covariates) + "; `cohort analyze mmrm` has the other "
                 "covariance structures and df methods")
    return mmrm_rows(model, rows, arms=arms, visit_days=days,
                     excluded=excl["visit"].value_counts() if len(excl) else pd.Series(),
                     conf_level=conf_level, adjust=adjust)

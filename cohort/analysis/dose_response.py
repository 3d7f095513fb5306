"""Dose-response of change from baseline (Matsuoka 2025): correlation, log-dose regression and
a dose threshold.

For treated subjects, the cumulative dose over all infusions (total cells and cells/kg) is
related to the change from baseline at each visit (or at the last follow-up):

* **Pearson** correlation with the Fisher-z interval and t-test p-value (R ``cor.test``);
* **Spearman** correlation with R's p-value (``cor.test(method="spearman")``: exact for
  n <= 9, the Edgeworth series of AS 89 for larger n, the t approximation with ties). R gives
  no interval for Spearman; we give the Fisher-z interval with the variance 1.06 / (n - 3) of
  Fieller, Hartley & Pearson (1957), and say so in ``method``;
* **log-dose regression**: ``lm(change ~ log10(dose))``, slope per tenfold dose;
* **threshold comparison** (default >= 1e9 total cells vs fewer): Welch t-test (R
  ``t.test``) and Wilcoxon rank-sum test (R ``wilcox.test``: exact below 50 per group without
  ties, otherwise normal approximation with continuity and tie correction).

A missing total dose is derived as cells/kg x body weight (and vice versa) when the weight is
known; this is reported in ``notes``. The correlations are
:mod:`cohort.analysis.correlation`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis._common import (
    censored_notes,
    essentially_constant,
    pick_visits,
    prepare_changes,
)
from cohort.analysis.correlation import correlation
from cohort.analysis.linear_model import INTERCEPT, build_design, fit_ols
from cohort.analysis.result import AnalysisResult
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.visit_windows import Visit
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "DoseResponseResult",
    "dose_response_analysis",
    "log_dose_regression",
    "rank_sum_test",
    "subject_doses",
    "threshold_comparison",
]

DOSE_COLUMNS = {"total": "dose_cells_total", "per_kg": "dose_cells_per_kg"}
DOSE_UNITS = {"total": "cells", "per_kg": "cells/kg"}
DEFAULT_THRESHOLD = 1e9
"""Matsuoka 2025's dose subgroup: >= 1 billion cells (total)."""


# ------------------------------------------------------------------ doses

def subject_doses(subjects: pd.DataFrame, infusions: pd.DataFrame | None) -> pd.DataFrame:
    """Cumulative dose per subject over all infusions.

    Parameters
    ----------
    subjects : DataFrame
        Subjects table (``subject_id``, ``control``, ``weight_kg``).
    infusions : DataFrame or None
        Infusions table (``dose_cells_total`` in cells, ``dose_cells_per_kg`` in cells/kg).

    Returns
    -------
    DataFrame
        One row per subject: ``subject_id``, ``n_infusions``, ``dose_cells_total`` (cells),
        ``dose_cells_per_kg`` (cells/kg), ``derived`` (which dose was computed from body
        weight, or empty), ``reason`` (why the subject has no usable dose, else NA).
    """
    if infusions is None or len(infusions) == 0:
        raise AnalysisError("the cohort has no infusions table; a dose-response analysis needs "
                            "the doses given (infusions.csv with dose_cells_total or "
                            "dose_cells_per_kg)")
    subj = subjects.assign(subject_id=subjects["subject_id"].astype(str))
    inf = infusions.assign(subject_id=infusions["subject_id"].astype(str))
    weight = subj.set_index("subject_id")["weight_kg"] if "weight_kg" in subj else None
    rows = []
    for sid, is_control in zip(subj["subject_id"], subj["control"].fillna(False),
                               strict=True):
        own = inf[inf["subject_id"] == sid]
        total = own["dose_cells_total"].to_numpy(dtype=float)
        per_kg = own["dose_cells_per_kg"].to_numpy(dtype=float)
        w = float(weight[sid]) if weight is not None and pd.notna(weight[sid]) else math.nan
        derived = []
        # fill each infusion's missing dose from the other one and the body weight
        has_w = not math.isnan(w)
        fill_total = np.isnan(total) & ~np.isnan(per_kg) & has_w
        fill_kg = np.isnan(per_kg) & ~np.isnan(total) & has_w
        total[fill_total] = per_kg[fill_total] * w
        per_kg[fill_kg] = total[fill_kg] / w
        if fill_total.any():
            derived.append("total = cells/kg x weight")
        if fill_kg.any():
            derived.append("cells/kg = total / weight")
        reason = None
        if bool(is_control):
            reason = "control subject: no cells given"
        elif own.empty:
            reason = "no infusion recorded"
        rows.append({"subject_id": sid, "n_infusions": len(own),
                     "dose_cells_total": total.sum() if len(own) and not np.isnan(
                         total).any() else math.nan,
                     "dose_cells_per_kg": per_kg.sum() if len(own) and not np.isnan(
                         per_kg).any() else math.nan,
                     "derived": "; ".join(derived), "reason": reason})
    out = pd.DataFrame(rows)
    out["reason"] = out["reason"].astype("string")
    return out


def log_dose_regression(dose: Sequence[float] | np.ndarray,
                        change: Sequence[float] | np.ndarray, *,
                        conf_level: float = 0.95) -> dict[str, Any]:
    """Least squares of change on log10(dose) (R ``lm(change ~ log10(dose))``).

    Parameters
    ----------
    dose : array-like of float
        Doses (> 0; cells or cells/kg).
    change : array-like of float
        Change from baseline (canonical unit).
    conf_level : float, keyword-only

    Returns
    -------
    dict
        ``estimate`` (slope: change per tenfold dose), ``se``, ``ci_lower``, ``ci_upper``,
        ``statistic`` (t), ``p``, ``intercept``, ``intercept_se``, ``n``, ``note``.
    """
    d = np.asarray(dose, dtype=float)
    y = np.asarray(change, dtype=float)
    n = len(d)
    out: dict[str, Any] = {"estimate": math.nan, "se": math.nan, "ci_lower": math.nan,
                           "ci_upper": math.nan, "statistic": math.nan, "p": math.nan,
                           "intercept": math.nan, "intercept_se": math.nan, "n": n, "note": ""}
    if (d <= 0).any():
        raise AnalysisError("log10 of a dose <= 0: remove subjects without cells first")
    x = np.log10(d)
    if n < 3:
        out["note"] = f"n = {n}: the regression needs at least 3 subjects"
        return out
    if np.ptp(x) == 0:
        out["note"] = "every subject has the same dose: no dose-response slope"
        return out
    if np.ptp(y) == 0:
        out["note"] = "every subject has the same change: no dose-response slope to test"
        return out
    term = "log10(dose)"
    fit = fit_ols(y, build_design(pd.DataFrame({term: x}), factors={}, numeric=[term]))
    co = fit.coefficients(conf_level).set_index("term")
    out.update(estimate=float(co.loc[term, "estimate"]), se=float(co.loc[term, "se"]),
               ci_lower=float(co.loc[term, "ci_lower"]),
               ci_upper=float(co.loc[term, "ci_upper"]), statistic=float(co.loc[term, "t"]),
               p=float(co.loc[term, "p"]), intercept=float(co.loc[INTERCEPT, "estimate"]),
               intercept_se=float(co.loc[INTERCEPT, "se"]))
    return out


def rank_sum_test(x: Sequence[float] | np.ndarray,
                  y: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """Wilcoxon rank-sum test as R's ``wilcox.test(x, y)`` (two-sided).

    Exact when both groups have fewer than 50 values and there are no ties; otherwise the
    normal approximation with continuity and tie correction (R's rule).

    Returns
    -------
    dict
        ``statistic`` (W = rank sum of x - n_x (n_x + 1) / 2), ``p``, ``method``.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    ties = len(np.unique(np.concatenate([xa, ya]))) < len(xa) + len(ya)
    exact = len(xa) < 50 and len(ya) < 50 and not ties
    res = stats.mannwhitneyu(xa, ya, alternative="two-sided", use_continuity=True,
                             method="exact" if exact else "asymptotic")
    method = "exact" if exact else ("normal approximation with continuity correction"
                                    + (" (ties)" if ties else ""))
    return {"statistic": float(res.statistic), "p": float(res.pvalue), "method": method}


def threshold_comparison(dose: Sequence[float] | np.ndarray,
                         change: Sequence[float] | np.ndarray, *,
                         threshold: float = DEFAULT_THRESHOLD,
                         conf_level: float = 0.95) -> list[dict[str, Any]]:
    """Change in subjects with dose >= ``threshold`` vs below it.

    Parameters
    ----------
    dose : array-like of float
        Doses (cells or cells/kg, matching ``threshold``).
    change : array-like of float
        Change from baseline (canonical unit).
    threshold : float, keyword-only
        Default 1e9 (cells).
    conf_level : float, keyword-only

    Returns
    -------
    list of dict
        Two rows: ``"welch_t"`` (``estimate`` = mean change at/above minus below, CI, t,
        df, p) and ``"wilcoxon_rank_sum"`` (W, p); each with ``n_high``, ``n_low``,
        ``mean_high``, ``mean_low``, ``note`` (why a statistic is NaN).
    """
    d = np.asarray(dose, dtype=float)
    y = np.asarray(change, dtype=float)
    hi, lo = y[d >= threshold], y[d < threshold]
    base = {"n_high": len(hi), "n_low": len(lo),
            "mean_high": float(hi.mean()) if len(hi) else math.nan,
            "mean_low": float(lo.mean()) if len(lo) else math.nan}
    nan = math.nan
    welch = {"analysis": "threshold_welch_t", "estimate": base["mean_high"] - base["mean_low"],
             "ci_lower": nan, "ci_upper": nan, "statistic": nan, "df": nan, "p": nan,
             "method": "Welch two-sample t-test", "note": "", **base}
    rank = {"analysis": "threshold_rank_sum", "estimate": nan, "ci_lower": nan,
            "ci_upper": nan, "statistic": nan, "df": nan, "p": nan,
            "method": "Wilcoxon rank-sum", "note": "", **base}
    if len(hi) < 2 or len(lo) < 2:
        why = (f"{len(hi)} subject(s) at or above {threshold:g} and {len(lo)} below: each "
               "side needs at least 2")
        welch["note"] = rank["note"] = why
        return [welch, rank]
    if essentially_constant(hi) and essentially_constant(lo):
        welch["note"] = "no variation in change within either dose group"
    else:
        # statsmodels, not scipy.stats.ttest_ind: scipy warns of precision loss whenever one
        # group's changes are all equal, which is common with rounded values and small groups
        from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

        cm = CompareMeans(DescrStatsW(hi), DescrStatsW(lo))
        t, p, df = cm.ttest_ind(usevar="unequal")
        lo_ci, hi_ci = cm.tconfint_diff(alpha=1 - conf_level, usevar="unequal")
        welch.update(statistic=float(t), df=float(df), p=float(p), ci_lower=float(lo_ci),
                     ci_upper=float(hi_ci))
    rs = rank_sum_test(hi, lo)
    rank.update(statistic=rs["statistic"], p=rs["p"],
                method=f"Wilcoxon rank-sum, {rs['method']}")
    return [welch, rank]


# ------------------------------------------------------------------ cohort level

SUMMARY_COLUMNS = ["visit", "visit_day", "dose", "dose_unit", "analysis", "estimate",
                   "ci_lower", "ci_upper", "statistic", "df", "p", "n", "n_excluded",
                   "method", "note"]


@dataclass
class DoseResponseResult(AnalysisResult):
    """Dose-response results, one row per visit, dose measure and analysis.

    ``summary`` columns: ``visit``, ``visit_day``, ``dose`` (``"total"`` or ``"per_kg"``),
    ``dose_unit`` (cells, cells/kg), ``analysis`` (``pearson``, ``spearman``,
    ``log10_regression``, ``threshold_welch_t``, ``threshold_rank_sum``), ``estimate`` (r,
    rho, slope per tenfold dose in the parameter's unit, or the mean difference at/above minus
    below the threshold), ``ci_lower``, ``ci_upper``, ``statistic``, ``df``, ``p``, ``n``,
    ``n_excluded``, ``method``, ``note`` (why a value is NaN). Threshold rows are given for
    the total dose only (the threshold is in cells); the columns ``n_high``, ``n_low``,
    ``mean_high``, ``mean_low`` hold the two groups.

    ``data``: per subject and visit, the dose and change analysed (for the scatter plot).
    """

    data: pd.DataFrame | None = None

    def plot(self, *, ax: Axes | None = None, visit: str | None = None,
             dose: str | None = None, **kwargs: Any) -> Axes:
        """Change against dose at one ``visit`` (default the first analysed) on the ``dose``
        measure (``"total"`` or ``"per_kg"``), with the least-squares line on log10 dose
        (:func:`cohort.report.figures.result_figures.dose_response_figure`)."""
        from cohort.report.figures.result_figures import dose_response_figure

        return dose_response_figure(self, visit=visit, dose=dose, ax=ax, **kwargs)


def dose_response_analysis(measurements: pd.DataFrame, subjects: pd.DataFrame,
                           infusions: pd.DataFrame | None, *, param: str = "HBA1C",
                           visit_days: Sequence[int] | None = None,
                           visits: Sequence[Visit] | None = None,
                           half_width: int | None = None, last: bool = False,
                           baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                           visit_labels: Sequence[str] | None = None,
                           doses: Sequence[str] = ("total", "per_kg"),
                           threshold: float = DEFAULT_THRESHOLD,
                           conf_level: float = 0.95) -> DoseResponseResult:
    """Correlation, log-dose regression and threshold comparison of dose with change.

    Parameters
    ----------
    measurements, subjects, infusions : DataFrame
        Contract tables.
    param : str, keyword-only
        Parameter code (default ``"HBA1C"``, %).
    visit_days, visits, half_width, last : keyword-only
        The visits (see :func:`cohort.derive.visit_windows.resolve_visits`).
    baseline_window : (int, int), keyword-only
    visit_labels : sequence of str or None, keyword-only
        Visits by label (ADaM AVISIT), baseline from the baseline flag; the default when the
        records carry labels and a baseline flag and no days are given (see
        :func:`cohort.analysis._common.pick_visits`).
    doses : sequence of {"total", "per_kg"}, keyword-only
        Dose measures analysed.
    threshold : float, keyword-only
        Total-dose threshold in cells (default 1e9).
    conf_level : float, keyword-only

    Returns
    -------
    DoseResponseResult
    """
    for d in doses:
        if d not in DOSE_COLUMNS:
            raise AnalysisError(f"dose must be 'total' or 'per_kg', got {d!r}")
    if not threshold > 0:
        raise AnalysisError(f"threshold must be a positive number of cells, got {threshold!r}")
    visit_list, labels = pick_visits(measurements, param=param, visit_days=visit_days,
                                     visits=visits, half_width=half_width, last=last,
                                     visit_labels=visit_labels)
    sd = subject_doses(subjects, infusions)
    usable, excl = prepare_changes(measurements, subjects, param=param, visit_list=visit_list,
                                   last=last, baseline_window=baseline_window,
                                   subject_columns=[], visit_labels=labels)
    notes = censored_notes(measurements, [param])
    derived = sd.loc[sd["derived"] != "", "subject_id"]
    if len(derived):
        notes.append(f"{len(derived)} subject(s) had a dose derived from body weight")
    data = usable.merge(sd.drop(columns=["derived"]), on="subject_id", how="left")
    no_dose = data["reason"].notna()
    excl = pd.concat([excl, data.loc[no_dose, ["subject_id", "visit", "reason"]].assign(
        reason=lambda f: f["reason"].astype(object))], ignore_index=True)
    data = data.loc[~no_dose].drop(columns="reason").reset_index(drop=True)
    if data.empty:
        raise AnalysisError("no treated subject has a dose and a change from baseline; "
                            "first reasons: " + "; ".join(
                                excl["reason"].astype(str).unique()[:3]))
    rows = []
    dose_excl = []
    for v_label, v_rows in data.groupby("visit", sort=False):
        common = {"visit": v_label, "visit_day": v_rows["visit_day"].iloc[0]}
        n_visit_excl = int((excl["visit"] == v_label).sum())
        for dname in doses:
            col = DOSE_COLUMNS[dname]
            ok = v_rows[col].notna() & (v_rows[col] > 0)
            dropped = v_rows.loc[~ok, ["subject_id", "visit"]].assign(
                reason=f"{col} missing or 0 (left out of the {dname} dose analyses only)")
            dose_excl.append(dropped)
            n_ex = n_visit_excl + len(dropped)
            x = v_rows.loc[ok, col].to_numpy(dtype=float)
            y = v_rows.loc[ok, "change"].to_numpy(dtype=float)
            if len(x) == 0:
                rows.append({**common, "dose": dname, "dose_unit": DOSE_UNITS[dname],
                             "analysis": "pearson", "n": 0, "n_excluded": n_ex,
                             "note": f"no subject has {col}"})
                continue
            base = {**common, "dose": dname, "dose_unit": DOSE_UNITS[dname],
                    "n_excluded": n_ex}
            for method in ("pearson", "spearman"):
                rows.append({**base, "analysis": method,
                             **correlation(x, y, method=method, conf_level=conf_level)})
            reg = log_dose_regression(x, y, conf_level=conf_level)
            rows.append({**base, "analysis": "log10_regression",
                         "method": "lm(change ~ log10(dose)); slope per tenfold dose",
                         "df": float(len(x) - 2), **{k: reg[k] for k in (
                             "estimate", "ci_lower", "ci_upper", "statistic", "p", "n",
                             "note")}})
            if dname == "total":
                for r in threshold_comparison(x, y, threshold=threshold,
                                              conf_level=conf_level):
                    rows.append({**base, "n": r["n_high"] + r["n_low"], **r})
    excl = pd.concat([excl, *dose_excl], ignore_index=True)
    summary = pd.DataFrame(rows)
    extra = [c for c in ("n_high", "n_low", "mean_high", "mean_low") if c in summary]
    summary = summary.reindex(columns=SUMMARY_COLUMNS + extra)
    excl = excl.drop_duplicates(["subject_id", "visit", "reason"]).reset_index(drop=True)
    notes += [f"{r.visit} / {r.dose} / {r.analysis}: {r.note}"
              for r in summary.itertuples() if isinstance(r.note, str) and r.note]
    return DoseResponseResult(
        summary=summary, exclusions=excl,
        params={"param": param, "visits": [v.__dict__ for v in visit_list], "last": last,
                "baseline_window": list(baseline_window), "doses": list(doses),
                "threshold": threshold, "conf_level": conf_level},
        notes=notes, data=data)

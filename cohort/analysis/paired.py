"""Paired before/after analysis (Matsuoka 2025): change from baseline per group or stratum.

For each visit and group: mean change with its t-based CI, SD, Cohen's d_z (mean change / SD
of change), the paired t-test (R ``t.test(after, before, paired=TRUE)``) and the Wilcoxon
signed-rank test (R ``wilcox.test(after, before, paired=TRUE)``). The t-test is scipy's
``ttest_1samp`` on the differences; the signed-rank p-value is scipy's ``wilcoxon``.

Wilcoxon details follow R exactly: differences of 0 are dropped; the p-value is exact (the
signed-rank distribution) when fewer than 50 non-zero differences remain and there are
neither ties nor zeros, otherwise the normal approximation with continuity correction and the
tie correction of the variance. scipy's own choice differs (``method="auto"`` is exact up to
50 differences and, with ties or zeros, runs permutations up to 13), so the method is chosen
here and passed to it. Ties are decided on the differences as computed in floating
point, as R does (``7.5 - 7.1`` and ``8.3 - 7.9`` differ in the last bit and are *not* tied);
``digits_rank`` rounds the differences to that many significant digits before ranking, as
R's ``digits.rank`` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from cohort.analysis._common import censored_notes, mean_t_interval, pick_visits
from cohort.analysis.result import AnalysisResult
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.change import change_from_baseline
from cohort.derive.strata import assign_groups
from cohort.derive.universe import split_exclusions
from cohort.derive.visit_labels import change_at_labels
from cohort.derive.visit_windows import Visit
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["PairedResult", "paired_analysis", "paired_stats", "signed_rank_test"]

ALL_GROUP = "all"
"""Group label of the row that pools every subject."""


def signed_rank_test(diff: Sequence[float] | np.ndarray, *, exact: bool | None = None,
                     correct: bool = True, digits_rank: int | None = None) -> dict[str, Any]:
    """Wilcoxon signed-rank test of paired differences against 0, as R's ``wilcox.test``.

    The p-value is :func:`scipy.stats.wilcoxon`'s (zeros dropped, tie-corrected variance);
    this function decides what scipy leaves to its own rules: R's choice of the exact or
    the normal method, R's statistic V (scipy reports min(V, n(n+1)/2 - V)) and R's
    ``digits.rank`` rounding.

    Parameters
    ----------
    diff : array-like of float
        Paired differences (after - before), in the parameter's unit.
    exact : bool or None, keyword-only
        Exact p-value; default (None) as R: exact when fewer than 50 non-zero differences.
        It is never exact with ties or zeros (R's rule).
    correct : bool, keyword-only
        Continuity correction of the normal approximation (R's default True).
    digits_rank : int or None, keyword-only
        Round differences to this many significant digits before ranking (R's
        ``digits.rank``); None ranks them as computed.

    Returns
    -------
    dict
        ``statistic`` (V: sum of the ranks of the positive differences), ``p``, ``n_nonzero``,
        ``method`` (``"exact"`` or ``"normal approximation..."``), ``ties``, ``zeros``.
    """
    d = np.asarray(diff, dtype=float)
    d = d[~np.isnan(d)]
    zeros = bool((d == 0).any())
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return {"statistic": math.nan, "p": math.nan, "n_nonzero": 0,
                "method": "undefined: every difference is 0", "ties": False, "zeros": zeros}
    ranked = np.abs(d)
    if digits_rank is not None:
        ranked = np.array([float(f"{v:.{int(digits_rank)}g}") for v in ranked])
    r = stats.rankdata(ranked)
    v = float(r[d > 0].sum())
    ties = len(np.unique(r)) != len(r)
    if exact is None:
        exact = n < 50
    use_exact = bool(exact) and not ties and not zeros
    res = stats.wilcoxon(np.sign(d) * ranked, zero_method="wilcox", correction=correct,
                         method="exact" if use_exact else "asymptotic")
    if use_exact:
        method = "exact"
    else:
        why = [w for w, flag in (("ties", ties), ("zeros", zeros)) if flag]
        method = "normal approximation" + (" with continuity correction" if correct else "")
        if why:
            method += f" ({' and '.join(why)})"
    return {"statistic": v, "p": float(min(res.pvalue, 1.0)), "n_nonzero": n,
            "method": method, "ties": ties, "zeros": zeros}


def paired_stats(before: Sequence[float] | np.ndarray, after: Sequence[float] | np.ndarray, *,
                 conf_level: float = 0.95, digits_rank: int | None = None) -> dict[str, Any]:
    """Paired t-test and signed-rank test of ``after - before``.

    Parameters
    ----------
    before, after : array-like of float
        Baseline and follow-up values of the same subjects (same unit, e.g. HbA1c %).
    conf_level : float, keyword-only
        Confidence level of the mean change's interval.
    digits_rank : int or None, keyword-only
        See :func:`signed_rank_test`.

    Returns
    -------
    dict
        ``n``, ``mean_before``, ``mean_after``, ``mean_change`` (after - before),
        ``sd_change``, ``se_change``, ``ci_lower``, ``ci_upper``, ``t``, ``df``, ``p``
        (paired t-test), ``effect_size`` (Cohen's d_z = mean / SD of change),
        ``wilcoxon_v``, ``wilcoxon_p``, ``wilcoxon_method``, ``note`` (why a statistic is NaN,
        else empty).
    """
    b = np.asarray(before, dtype=float)
    a = np.asarray(after, dtype=float)
    if b.shape != a.shape or b.ndim != 1:
        raise AnalysisError(f"before and after must be 1-d of the same length, got {b.shape} "
                            f"and {a.shape}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise AnalysisError("before/after contain missing values; derive them with "
                            "change_from_baseline, which reports each missing one")
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must be between 0 and 1, got {conf_level!r}")
    d = a - b
    n = len(d)
    nan = math.nan
    # the paired t-test is the one-sample t-test of the differences
    tt = mean_t_interval(d, conf_level)
    out: dict[str, Any] = {
        "n": n, "mean_before": float(b.mean()) if n else nan,
        "mean_after": float(a.mean()) if n else nan, "mean_change": tt["estimate"],
        "sd_change": tt["sd"], "se_change": tt["se"], "ci_lower": tt["ci_lower"],
        "ci_upper": tt["ci_upper"], "t": tt["t"], "df": tt["df"], "p": tt["p"],
        "effect_size": nan, "wilcoxon_v": nan, "wilcoxon_p": nan, "wilcoxon_method": "",
        "note": ""}
    if n < 2:
        out["note"] = f"n = {n}: no test with fewer than 2 subjects"
        return out
    w = signed_rank_test(d, digits_rank=digits_rank)
    out.update(wilcoxon_v=w["statistic"], wilcoxon_p=w["p"], wilcoxon_method=w["method"])
    if math.isnan(tt["t"]):
        out["note"] = ("every change is the same: the t-test and d_z are undefined "
                       f"(change {out['mean_change']:.4g} in every subject)")
        return out
    out["effect_size"] = out["mean_change"] / out["sd_change"]
    return out


SUMMARY_COLUMNS = ["visit", "visit_day", "group", "n", "mean_before", "mean_after", "estimate",
                   "sd_change", "se_change", "ci_lower", "ci_upper", "t", "df", "p",
                   "effect_size", "wilcoxon_v", "wilcoxon_p", "wilcoxon_method",
                   "n_excluded", "note"]


@dataclass
class PairedResult(AnalysisResult):
    """Paired before/after results, one row per visit and group.

    ``summary`` columns: ``visit`` (label; ``"last"`` for the last follow-up), ``visit_day``
    (nominal study day), ``group`` (``"all"`` or a group label), ``n`` (subjects with both
    values), ``mean_before``, ``mean_after`` (canonical unit, e.g. HbA1c %), ``estimate``
    (mean change, after - before; HbA1c percentage points), ``sd_change``, ``se_change``,
    ``ci_lower``, ``ci_upper`` (t-based CI of the mean change), ``t``, ``df``, ``p`` (paired
    t-test), ``effect_size`` (Cohen's d_z), ``wilcoxon_v``, ``wilcoxon_p``,
    ``wilcoxon_method``, ``n_excluded`` (subjects of that group left out at that visit),
    ``note`` (why a statistic is NaN).

    ``data`` holds the per-subject rows analysed (``subject_id``, ``visit``, ``group``,
    ``baseline``, ``value``, ``change``, ...), for figures.
    """

    data: pd.DataFrame | None = None

    def plot(self, *, ax: Axes | None = None, kind: str | None = None,
             visit: str | None = None, threshold: float | None = None, **kwargs: Any) -> Any:
        """A figure of the subjects analysed: ``kind="change"`` (mean change with its CI at
        each visit, by group; the default), ``"trajectories"`` (one panel per group, with the
        mean; returns the list of panels) or ``"waterfall"`` (each subject's change at
        ``visit``, with an optional ``threshold`` line; the default when only each subject's
        last follow-up was analysed) (:func:`cohort.report.figures.result_figures.
        paired_figure`)."""
        from cohort.report.figures.result_figures import paired_figure

        return paired_figure(self, kind=kind, visit=visit, threshold=threshold, ax=ax,
                             **kwargs)


def paired_analysis(measurements: pd.DataFrame, subjects: pd.DataFrame, *,
                    param: str = "HBA1C", visit_days: Sequence[int] | None = None,
                    visits: Sequence[Visit] | None = None, half_width: int | None = None,
                    last: bool = False,
                    baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
                    visit_labels: Sequence[str] | None = None,
                    by: str | None = None, cut: float | None = None,
                    conf_level: float = 0.95,
                    digits_rank: int | None = None) -> PairedResult:
    """Change from baseline with paired t and signed-rank tests, overall and by group.

    Parameters
    ----------
    measurements, subjects : DataFrame
        Contract tables (values in canonical units).
    param : str, keyword-only
        Parameter code (default ``"HBA1C"``, %).
    visit_days, visits, half_width : keyword-only
        The follow-up visits (see :func:`cohort.derive.visit_windows.resolve_visits`).
    last : bool, keyword-only
        Also (or only) analyse the last available follow-up (Matsuoka 2025).
    baseline_window : (int, int), keyword-only
        Baseline window in study days (default -90 to 0).
    visit_labels : sequence of str or None, keyword-only
        Visits by label (ADaM AVISIT), baseline from the baseline flag; the default when the
        records carry labels and a baseline flag and no days are given (see
        :func:`cohort.analysis._common.pick_visits`).
    by : str or None, keyword-only
        Grouping: ``"arm"``, ``"stratum"`` (baseline-HbA1c severity, moderate 6.2-8% /
        severe > 8%), ``"bmi"``, ``"duration"``, ``"onset"`` or a subjects column. An
        ``"all"`` row is always included.
    cut : float or None, keyword-only
        Cut point for a numeric ``by`` column.
    conf_level : float, keyword-only
        Confidence level.
    digits_rank : int or None, keyword-only
        Significant digits of the differences for Wilcoxon ranking (R's ``digits.rank``).

    Returns
    -------
    PairedResult

    Examples
    --------
    Matsuoka 2025: HbA1c (%) before the infusion and at each subject's last follow-up:

    >>> from cohort import datasets
    >>> from cohort.analysis.paired import paired_analysis
    >>> m = datasets.load("matsuoka2025")
    >>> res = paired_analysis(m.measurements, m.subjects, param="HBA1C", last=True)
    >>> res.summary[["group", "n", "mean_before", "mean_after", "estimate"]].round(2)
      group   n  mean_before  mean_after  estimate
    0   all  61         7.49         6.7     -0.79
    >>> bool(res.summary.loc[0, "p"] < 1e-6)
    True
    """
    visit_list, labels = pick_visits(measurements, param=param, visit_days=visit_days,
                                     visits=visits, half_width=half_width, last=last,
                                     visit_labels=visit_labels)
    if labels:
        changes = change_at_labels(measurements, param, labels, subjects=subjects)
    else:
        changes = change_from_baseline(measurements, param, visit_list, last=last,
                                       baseline_window=baseline_window, subjects=subjects)
    usable, excl = split_exclusions(changes)
    group_excl = pd.DataFrame(columns=["subject_id", "visit", "reason"])
    groups = None
    if by is not None:
        base = changes.drop_duplicates("subject_id")[["subject_id", "baseline"]]
        groups = assign_groups(subjects, by, baseline=base, cut=cut)
        usable = usable.merge(groups, on="subject_id", how="left")
        no_group = usable["reason"].notna()
        group_excl = usable.loc[no_group, ["subject_id", "visit", "reason"]].assign(
            reason=lambda f: f["reason"].astype(object) + f" (no {by} group; still in 'all')")
        usable = usable.drop(columns="reason")
    rows = []
    for v_label, v_rows in usable.groupby("visit", sort=False):
        visit_day = v_rows["visit_day"].iloc[0]
        n_excl_all = int((excl["visit"] == v_label).sum())
        parts: list[tuple[str, pd.DataFrame, int]] = [(ALL_GROUP, v_rows, n_excl_all)]
        if by is not None:
            assert groups is not None
            for g, g_rows in v_rows.groupby("group", sort=True):
                ids = groups.loc[groups["group"] == g, "subject_id"]
                n_ex = int(((excl["visit"] == v_label) & excl["subject_id"].isin(ids)).sum())
                parts.append((str(g), g_rows, n_ex))
        for g, g_rows, n_ex in parts:
            res = paired_stats(g_rows["baseline"].to_numpy(), g_rows["value"].to_numpy(),
                               conf_level=conf_level, digits_rank=digits_rank)
            res["estimate"] = res.pop("mean_change")
            rows.append({"visit": v_label, "visit_day": visit_day, "group": g, **res,
                         "n_excluded": n_ex})
    for v in [*(x.label for x in visit_list), *(["last"] if last else [])]:
        if v not in set(usable["visit"]):
            rows.append({"visit": v, "group": ALL_GROUP, "n": 0,
                         "n_excluded": int((excl["visit"] == v).sum()),
                         "note": f"no subject has both a baseline and a {param} value at "
                                 f"visit {v!r}"})
    summary = pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)
    if summary["n"].fillna(0).sum() == 0:
        raise AnalysisError(
            f"no subject has both a baseline and a follow-up {param} value at the visits asked "
            f"for ({', '.join(summary['visit'].astype(str))}); first reasons: "
            + "; ".join(excl["reason"].astype(str).unique()[:3]))
    notes = [f"{r.visit} / {r.group}: {r.note}" for r in summary.itertuples() if r.note]
    notes += censored_notes(measurements, [param])
    exclusions = pd.concat([excl, group_excl], ignore_index=True)
    return PairedResult(
        summary=summary, exclusions=exclusions,
        params={"param": param, "visits": [v.__dict__ for v in visit_list], "last": last,
                "baseline_window": list(baseline_window), "by": by, "cut": cut,
                "conf_level": conf_level, "digits_rank": digits_rank},
        notes=notes, data=usable)

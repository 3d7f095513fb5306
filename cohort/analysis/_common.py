"""Helpers shared by the change-from-baseline analyses (paired, ANCOVA, dose-response,
effect modification, responders): arm order, usable change rows with their exclusions,
covariate typing and the one-sample t interval of a mean change; and, for every model fit that
calls a third-party library, :func:`catch_only`, which catches the warnings we translate or
count and lets every other warning through; and :func:`write_dunnett_odds_ratios`, the
Dunnett-adjusted odds-ratio columns of the responder and remission comparisons."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from cohort.derive.change import usable_changes
from cohort.derive.universe import as_text, split_exclusions, with_subject_columns
from cohort.derive.visit_labels import change_at_labels, resolve_visit_labels
from cohort.derive.visit_windows import Visit, resolve_visits
from cohort.errors import AnalysisError

__all__ = ["arm_levels", "catch_only", "censored_notes", "drop_missing", "essentially_constant",
           "mean_t_interval", "pick_visits", "prepare_changes", "split_covariates",
           "write_dunnett_odds_ratios"]


def arm_levels(subjects: pd.DataFrame, reference: str | None,
               arm_order: Sequence[str] | None) -> tuple[list[str], list[str]]:
    """Arms with the reference first, and notes on how the reference was chosen.

    Parameters
    ----------
    subjects : DataFrame
        Subjects table (``arm``, ``control``).
    reference : str or None
        Reference arm; None: the control arm, or, when no arm is a control arm, the first
        arm by name (whatever ``arm_order`` says: the same rule in every analysis).
    arm_order : sequence of str or None
        Every arm once, in dose order.

    Returns
    -------
    (levels, notes) : (list of str, list of str)
    """
    arms = sorted(pd.unique(as_text(subjects["arm"])).tolist())
    notes = []
    if len(arms) < 2:
        only = arms[0] if arms else "none"
        raise AnalysisError(
            f"an arm comparison needs at least two arms; the cohort has one ({only}); for a "
            "before/after analysis use `cohort analyze paired`")
    if arm_order is not None:
        unknown = [a for a in arm_order if a not in arms]
        if unknown or sorted(arm_order) != arms:
            raise AnalysisError(f"arm_order must list every arm once; arms: {arms}, got "
                                f"{list(arm_order)}")
    if reference is None:
        ctrl_arms = sorted(pd.unique(as_text(subjects.loc[subjects["control"].fillna(
            False).astype(bool), "arm"])).tolist())
        if len(ctrl_arms) == 1:
            reference = ctrl_arms[0]
        elif len(ctrl_arms) > 1:
            raise AnalysisError(f"several control arms ({ctrl_arms}); choose the reference "
                                "arm (reference=..., --reference) or relabel them as one arm")
        else:
            # one rule for every analysis: the first arm by name, never the dose order (which
            # depends on the infusions table), so ancova, effect-modification, responders and
            # remission compare the same way round
            reference = arms[0]
            notes.append(f"no control arm: {reference!r} (the first arm by name) is the "
                         "reference arm; choose another with reference=... (--reference)")
    if reference not in arms:
        raise AnalysisError(f"reference arm {reference!r} is not in the cohort; arms: {arms}")
    order = list(arm_order) if arm_order else arms
    levels = [reference] + [a for a in order if a != reference]
    return levels, notes


def drop_missing(frame: pd.DataFrame,
                 columns: Sequence[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows without a missing value in ``columns``, and the others with the first reason.

    Returns
    -------
    (kept, exclusions) : (DataFrame, DataFrame)
        ``exclusions`` has ``subject_id``, ``visit``, ``reason`` (``"<column> missing"``).
    """
    bad = np.zeros(len(frame), dtype=bool)
    reasons = np.full(len(frame), None, dtype=object)
    for c in columns:
        miss = frame[c].isna().to_numpy() & ~bad
        reasons[miss] = f"{c} missing"
        bad |= miss
    excl = frame.loc[bad, ["subject_id", "visit"]].assign(reason=reasons[bad])
    return frame.loc[~bad].reset_index(drop=True), excl.reset_index(drop=True)


def prepare_changes(measurements: pd.DataFrame, subjects: pd.DataFrame, *, param: str,
                    visit_list: list[Visit], last: bool,
                    baseline_window: tuple[int, int],
                    subject_columns: Sequence[str],
                    visit_labels: Sequence[str] | None = None,
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Usable change rows with subject columns attached, and every exclusion.

    Parameters
    ----------
    measurements, subjects : DataFrame
        Contract tables.
    param : str
        Parameter code.
    visit_list : list of Visit
    last : bool
        Include the last available follow-up.
    baseline_window : (int, int)
        Baseline window in study days.
    subject_columns : sequence of str
        Subjects columns to attach; rows missing any of them are excluded with the reason.
    visit_labels : sequence of str or None
        Visits by label, with the baseline from the baseline flag
        (:func:`cohort.derive.visit_labels.change_at_labels`); then ``visit_list``, ``last``
        and ``baseline_window`` are not used.

    Returns
    -------
    (usable, exclusions) : (DataFrame, DataFrame)
    """
    columns = list(dict.fromkeys(subject_columns))
    if visit_labels:
        changes = change_at_labels(measurements, param, visit_labels, subjects=subjects)
        changes = with_subject_columns(changes, subjects, columns)
        usable, excl = split_exclusions(changes)
    else:
        usable, excl = usable_changes(measurements, subjects, param, visit_list, last=last,
                                      baseline_window=baseline_window,
                                      subject_columns=columns)
    covariates = [c for c in subject_columns if c != "arm"]
    if not covariates:  # nothing more can be missing (a million rows need no second copy)
        return usable, excl
    usable, excl2 = drop_missing(usable, covariates)
    return usable, pd.concat([excl, excl2], ignore_index=True)


def pick_visits(measurements: pd.DataFrame, *, param: str,
                visit_days: Sequence[int] | None, visits: Sequence[Visit] | None,
                half_width: int | None, last: bool,
                visit_labels: Sequence[str] | None) -> tuple[list[Visit], list[str] | None]:
    """The visits of a change analysis: ``(windows, None)`` or ``([], labels)``.

    Labels asked for, or (with nothing asked for) the data's own labels when they come with a
    baseline flag (ADaM AVISIT/ABLFL), take precedence over nearest-day windows.
    """
    by_day = visit_days is not None or visits is not None or last
    labels = resolve_visit_labels(measurements, param, visit_labels_=visit_labels,
                                  by_day=by_day)
    if labels:
        return [], labels
    return resolve_visits(visit_days=visit_days, visits=visits, half_width=half_width,
                          last=last), None


def split_covariates(data: pd.DataFrame,
                     covariates: Sequence[str]) -> tuple[list[str], dict[str, list[Any]]]:
    """Numeric covariates (entered linearly) and factors with their sorted levels.

    Text and boolean columns are factors, the first sorted level the reference; a factor
    with a single level among the rows is an error (it cannot be estimated).
    """
    numeric: list[str] = []
    factors: dict[str, list[Any]] = {}
    for c in covariates:
        col = data[c]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            numeric.append(c)
            continue
        factors[c] = sorted(pd.unique(col.astype(object)).tolist(), key=str)
        if len(factors[c]) < 2:
            raise AnalysisError(f"covariate {c!r} has only one level ({factors[c][0]!r}) "
                                "among the subjects analysed; drop it")
    return numeric, factors


def essentially_constant(values: np.ndarray) -> bool:
    """Whether values are too alike for a t-test.

    R's ``t.test`` stops when the SD is below ``10 * eps * |mean|``; scipy warns of
    catastrophic cancellation when every deviation from the mean is below ``1e-14 * |mean|``.
    Either counts, so that neither a test R refuses nor a scipy warning reaches the user.
    """
    x = np.asarray(values, dtype=float)
    mean = abs(float(x.mean()))
    sd = float(x.std(ddof=1))
    return (sd == 0 or sd <= 10 * np.finfo(float).eps * mean
            or float(np.max(np.abs(x - x.mean()))) < 10 * np.finfo(float).resolution * mean)


def mean_t_interval(values: np.ndarray, conf_level: float) -> dict[str, float]:
    """Mean with the one-sample t-test against 0 and its t interval (R ``t.test(x)``).

    Applied to paired differences (after - before) this is the paired t-test.

    Parameters
    ----------
    values : ndarray
        Observations without missing values (e.g. changes, in the parameter's unit).
    conf_level : float

    Returns
    -------
    dict
        ``estimate`` (mean), ``sd``, ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``t``, ``p``,
        ``n``. With fewer than 2 values only ``estimate`` and ``n`` are numbers; when the
        values are essentially constant (:func:`essentially_constant`) the interval, ``t``
        and ``p`` are NaN, as R's ``t.test`` refuses such data.
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    n = len(x)
    nan = float("nan")
    out = {"estimate": float(x.mean()) if n else nan, "sd": nan, "se": nan, "ci_lower": nan,
           "ci_upper": nan, "df": nan, "t": nan, "p": nan, "n": n}
    if n < 2:
        return out
    sd = float(x.std(ddof=1))
    out.update(sd=sd, se=sd / np.sqrt(n), df=float(n - 1))
    if essentially_constant(x):
        return out
    res = stats.ttest_1samp(x, 0.0)
    ci = res.confidence_interval(confidence_level=conf_level)
    out.update(ci_lower=float(ci.low), ci_upper=float(ci.high), t=float(res.statistic),
               p=float(res.pvalue))
    return out


@contextmanager
def catch_only(*categories: type[Warning]) -> Iterator[list[warnings.WarningMessage]]:
    """Catch the warnings of ``categories`` raised in the block; let every other one through.

    The caught warnings are not shown: they are in the yielded list (filled when the block
    ends) for the caller to turn into its own warnings, notes or counts. Any other warning
    keeps its category, message and origin and meets the caller's filters (an ``"error"``
    filter raises it inside the block); when not raised, it is re-issued once per distinct
    message at the end of the block, so a loop of refits does not repeat it.

    Parameters
    ----------
    *categories : Warning subclasses
        What to catch (with their subclasses), e.g. statsmodels' ``PerfectSeparationWarning``.
    """
    expected: list[warnings.WarningMessage] = []
    with warnings.catch_warnings(record=True) as caught:
        for category in categories:
            warnings.simplefilter("always", category)
        yield expected
    seen: set[tuple[type[Warning], str]] = set()
    for w in caught:
        if issubclass(w.category, categories):
            expected.append(w)
        elif (w.category, str(w.message)) not in seen:
            seen.add((w.category, str(w.message)))
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _censored_rule(rows: pd.DataFrame) -> str:
    """Which rule set the censored ``rows``' values: half the limit or the limit itself (the
    limit as read is ``value_original`` in ``unit_original``)."""
    from cohort.units import CONVERSIONS

    ratios = set()
    for r in rows.itertuples():
        conv = CONVERSIONS.get((getattr(r, "unit_original", None), r.unit))
        limit = getattr(r, "value_original", np.nan)
        if conv is None or conv.per_body_weight or pd.isna(limit) or limit == 0:
            return "as the mapping's censored rule set them"
        ratios.add(round(float(r.value) / float(conv.apply(np.array([limit]))[0]), 6))
    return {frozenset({0.5}): "at half the limit",
            frozenset({1.0}): "at the limit"}.get(frozenset(ratios),
                                                 "as the mapping's censored rule set them")


def censored_notes(measurements: pd.DataFrame, params: Sequence[str]) -> list[str]:
    """Say which parameters hold censored values (``qualifier`` ``<`` or ``>``) and the rule
    that set the value they enter the analysis with (half the limit, the limit)."""
    if "qualifier" not in measurements.columns or "param" not in measurements.columns:
        return []
    flagged = measurements[measurements["qualifier"].notna()
                           & measurements["param"].isin(list(params))]
    notes = []
    for (param, qualifier), rows in flagged.groupby(["param", "qualifier"], sort=True):
        side = "below" if qualifier == "<" else "above"
        limits = ", ".join(sorted({f"{v:g}" for v in rows.get(
            "value_original", pd.Series(dtype=float)).dropna()}))
        units = ", ".join(sorted(set(rows.get("unit_original", pd.Series(dtype=str))
                                     .dropna().astype(str))))
        notes.append(f"{param}: {len(rows)} censored value(s) {side} the measuring range "
                     f"({qualifier}{limits} {units} as read) enter {_censored_rule(rows)} "
                     "(tables.measurements.censored of the mapping)")
    return notes


def write_dunnett_odds_ratios(frame: pd.DataFrame, idx: pd.Index, est: np.ndarray,
                              cov: np.ndarray, conf_level: float) -> None:
    """Write one family's Dunnett-adjusted odds ratios into ``frame`` rows ``idx``, in place.

    ``est``, ``cov``: the family's log odds ratios and their covariance (from
    :func:`cohort.analysis.multiplicity.log_odds_ratio_family`). Sets ``statistic`` (Wald z),
    ``p`` (two-sided normal), ``p_adjusted``, ``ci_lower_adjusted``, ``ci_upper_adjusted``
    (simultaneous, on the odds-ratio scale) and ``adjust`` (``"dunnett"``); shared by the
    responder and remission analyses.
    """
    from scipy import stats

    from cohort.analysis.multiplicity import adjust_comparisons

    fam = adjust_comparisons(est, cov, df=None, method="dunnett", conf_level=conf_level)
    z = est / np.sqrt(np.diag(cov))
    frame.loc[idx, "statistic"] = z
    frame.loc[idx, "p"] = 2 * stats.norm.sf(np.abs(z))
    frame.loc[idx, "p_adjusted"] = fam.p_adjusted
    frame.loc[idx, "ci_lower_adjusted"] = np.exp(fam.ci_lower)
    frame.loc[idx, "ci_upper_adjusted"] = np.exp(fam.ci_upper)
    frame.loc[idx, "adjust"] = "dunnett"

"""C-peptide remission (Lu 2021): rates by arm and subgroup, between-arm tests, and the model.

The rates and tests reuse :mod:`cohort.analysis.proportions` (the responder-analysis code):
n/N with Clopper-Pearson and Wilson intervals per arm, and for each treated arm against the
control subjects the risk difference (Wald and Newcombe), odds and risk ratios, Fisher's exact
test and the chi-square test with and without continuity correction. The remission itself is
derived by :func:`cohort.derive.remission.derive_remission`; the multivariable model is
:func:`cohort.analysis.logistic.logistic_regression`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from cohort.analysis._common import censored_notes, write_dunnett_odds_ratios
from cohort.analysis.logistic import LogisticResult, logistic_regression
from cohort.analysis.multiplicity import (
    adjust_families,
    check_adjust,
    log_odds_ratio_family,
)
from cohort.analysis.proportion_comparisons import compare_proportions
from cohort.analysis.proportions import proportion
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.derive.remission import RemissionRule, resolve_remission_visit
from cohort.derive.remission_dataset import remission_dataset
from cohort.derive.strata import subgroup as assign_subgroup
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "RemissionResult",
    "remission_analysis",
    "remission_rates",
]

RATE_COLUMNS = ["subgroup_by", "subgroup", "arm", "control", "x", "n", "estimate", "ci_lower",
                "ci_upper", "wilson_lower", "wilson_upper", "n_excluded"]
COMPARISON_COLUMNS = ["subgroup_by", "subgroup", "arm", "reference", "measure", "method",
                      "estimate", "ci_lower", "ci_upper", "statistic", "df", "p", "p_adjusted",
                      "ci_lower_adjusted", "ci_upper_adjusted", "adjust"]


def _rate_rows(frame: pd.DataFrame, by: str, level: str, outcome: str, conf_level: float
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, comps = [], []
    known = frame.loc[frame[outcome].notna()]
    groups = []
    for arm, part in known.groupby("arm", sort=True, observed=True):
        control = bool(part["control"].iloc[0])
        groups.append((str(arm), control, part))
    controls = known.loc[known["control"].astype(bool)]
    treated_arms = [(a, p) for a, c, p in groups if not c]
    for arm, control, part in groups + (
            [("all treated", False, known.loc[~known["control"].astype(bool)])]
            if len(treated_arms) > 1 else []):
        x, n = int(part[outcome].astype(bool).sum()), len(part)
        pr = proportion(x, n, conf_level=conf_level)
        n_excl = int((frame["arm"].astype(str) == arm).sum() - n) if arm != "all treated" \
            else int((~frame["control"].astype(bool)).sum() - n)
        rows.append({"subgroup_by": by, "subgroup": level, "arm": arm, "control": control,
                     "x": x, "n": n, "estimate": pr["estimate"], "ci_lower": pr["cp_lower"],
                     "ci_upper": pr["cp_upper"], "wilson_lower": pr["wilson_lower"],
                     "wilson_upper": pr["wilson_upper"], "n_excluded": n_excl})
    if len(controls) and treated_arms:
        ctl_arms = sorted({a for a, c, _ in groups if c})
        reference = ctl_arms[0] if len(ctl_arms) == 1 else "control (" + ", ".join(
            ctl_arms) + ")"
        xc, nc = int(controls[outcome].astype(bool).sum()), len(controls)
        compared = treated_arms + ([("all treated", known.loc[~known["control"].astype(bool)])]
                                   if len(treated_arms) > 1 else [])
        for arm, part in compared:
            xt, nt = int(part[outcome].astype(bool).sum()), len(part)
            table = compare_proportions(xt, nt, xc, nc, conf_level=conf_level)
            for rec in table.to_dict("records"):
                # the counts travel with the row for a Dunnett adjustment (dropped after it)
                comps.append({"subgroup_by": by, "subgroup": level, "arm": arm,
                              "reference": reference, **rec, "_x": xt, "_n": nt,
                              "_x_ref": xc, "_n_ref": nc})
    return rows, comps


def remission_rates(data: pd.DataFrame, *, outcome: str = "remission",
                    subgroup: str | None = "onset", conf_level: float = 0.95,
                    adjust: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remission n/N and % per arm, overall and within subgroups, with between-arm tests.

    Parameters
    ----------
    data : DataFrame
        One row per subject (e.g. :func:`cohort.derive.remission_dataset.remission_dataset`) with
        ``subject_id``, ``arm``, ``control`` and the boolean ``outcome`` (NA = undetermined,
        counted in ``n_excluded``), plus the subgroup's column.
    subgroup : str or None
        A subgroup of :func:`cohort.derive.strata.subgroup` (``"onset"``: juvenile vs adult
        onset, diagnosis at >= 18 years; ``"bmi"``, ``"duration"`` or a subjects column), or
        None for the overall rates only.
    conf_level : float
        Confidence level of the intervals.
    adjust : {"none", "dunnett", "holm", "hochberg", "bonferroni", "sidak"} or None
        Multiplicity adjustment of the treated arms against the controls, per subgroup
        level (the pooled "all treated" row is not in the family and gets no adjusted
        value). The p-value methods adjust each test (Fisher, chi-square; see
        :func:`cohort.analysis.multiplicity.adjust_families`); ``"dunnett"`` the odds
        ratios, by the Wald z tests of the logistic model remission ~ arm with simultaneous
        intervals (:func:`cohort.analysis.multiplicity.log_odds_ratio_family`; as emmeans
        on glm with ``adjust = "mvt"``).

    Returns
    -------
    rates : DataFrame
        ``subgroup_by`` (``"all"`` or the subgroup name), ``subgroup`` (level), ``arm``,
        ``control``, ``x`` (remissions), ``n`` (subjects judged), ``estimate`` (x / n),
        ``ci_lower``, ``ci_upper`` (Clopper-Pearson), ``wilson_lower``, ``wilson_upper``,
        ``n_excluded`` (subjects of the arm whose remission is undetermined). With several
        treated arms a row ``"all treated"`` pools them.
    comparisons : DataFrame
        Each treated arm vs the control subjects (all control arms pooled):
        ``subgroup_by``, ``subgroup``, ``arm``, ``reference`` and the columns of
        :func:`cohort.analysis.proportion_comparisons.compare_proportions` (``measure``, ``method``,
        ``estimate``, ``ci_lower``, ``ci_upper``, ``statistic``, ``df``, ``p``), plus
        ``p_adjusted`` and ``adjust``.
    """
    adjust = check_adjust(adjust)
    for col in ("subject_id", "arm", "control", outcome):
        if col not in data.columns:
            raise AnalysisError(f"remission rates need a {col!r} column; got {list(data.columns)}")
    if data[outcome].notna().sum() == 0:
        raise AnalysisError(f"no subject has a determined {outcome}; see the exclusions for why")
    frame = data.assign(control=data["control"].astype("boolean").fillna(False))
    rows, comps = _rate_rows(frame, "all", "all", outcome, conf_level)
    if subgroup is not None:
        groups = assign_subgroup(frame, subgroup)
        frame = frame.assign(_level=groups["subgroup"].to_numpy())
        levels = [lv for lv in pd.unique(groups["subgroup"].dropna())]
        for level in sorted(levels, key=str):
            part = frame.loc[frame["_level"] == level]
            r, c = _rate_rows(part, subgroup, str(level), outcome, conf_level)
            rows += r
            comps += c
    rates = pd.DataFrame(rows, columns=RATE_COLUMNS)
    hidden = ["_x", "_n", "_x_ref", "_n_ref"]
    comparisons = pd.DataFrame(comps, columns=COMPARISON_COLUMNS[:-4] + hidden)
    member = comparisons["arm"] != "all treated"
    if adjust == "dunnett":
        comparisons = comparisons.reindex(columns=COMPARISON_COLUMNS + hidden)
        comparisons["adjust"] = None  # text column: "dunnett" on the odds-ratio rows
        _dunnett_odds_ratios(comparisons, member, conf_level)
    else:
        # one family per subgroup level and test (the method without its per-arm remark)
        comparisons["_test"] = comparisons["method"].astype(str).str.replace(
            r"\s*\(.*\)$", "", regex=True)
        comparisons = adjust_families(comparisons, adjust,
                                      by=["subgroup_by", "subgroup", "measure", "_test"],
                                      member=member)
    return rates, comparisons.reindex(columns=COMPARISON_COLUMNS)


def _dunnett_odds_ratios(comps: pd.DataFrame, member: pd.Series, conf_level: float) -> None:
    """Dunnett-adjust the odds ratios of each subgroup level's treated arms, in place."""
    is_or = (comps["measure"] == "odds_ratio") & member
    for (by, level), fam_rows in comps.loc[is_or].groupby(["subgroup_by", "subgroup"],
                                                          sort=False):
        first = fam_rows.iloc[0]
        est, cov = log_odds_ratio_family(
            first["_x_ref"], first["_n_ref"], fam_rows["_x"].tolist(),
            fam_rows["_n"].tolist(), where=f"{by} {level}: " if by != "all" else "")
        write_dunnett_odds_ratios(comps, fam_rows.index, est, cov, conf_level)


@dataclass
class RemissionResult(AnalysisResult):
    """Remission rates, between-arm comparisons and (optionally) a logistic model.

    ``summary`` is the rates table of :func:`remission_rates`; ``comparisons`` its tests;
    ``model`` a :class:`~cohort.analysis.logistic.LogisticResult` (None without predictors);
    ``data`` the per-subject data set (remission, marker statuses, predictors); ``rule`` the
    remission definition in words.
    """

    comparisons: pd.DataFrame = field(default_factory=pd.DataFrame)
    model: LogisticResult | None = None
    data: pd.DataFrame = field(default_factory=pd.DataFrame)
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: base keys plus ``rule``, ``comparisons``, ``model`` and
        ``subjects`` (per subject: remission, reason and marker statuses)."""
        out = super().to_dict()
        out["rule"] = self.rule
        out["comparisons"] = json_safe(self.comparisons)
        out["model"] = self.model.to_dict() if self.model is not None else None
        keep = ["subject_id", "arm", "remission", "reason"] + [
            c for c in self.data.columns if c.endswith(("_pct_change", "_status"))]
        out["subjects"] = json_safe(self.data[[c for c in keep if c in self.data.columns]])
        return out

    def plot(self, *, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Remission rate of each arm, in % with its Clopper-Pearson CI (all subjects; not
        the subgroups) (:func:`cohort.report.figures.rates.rate_forest`)."""
        from cohort.report.figures.rates import rate_forest

        rows = self.summary
        if "subgroup_by" in rows.columns:
            rows = rows.loc[rows["subgroup_by"] == "all"]
        return rate_forest(rows, label="arm", what="Remission",
                           interval="95% CI, Clopper-Pearson", ax=ax, **kwargs)


def remission_analysis(measurements: pd.DataFrame, subjects: pd.DataFrame,
                       infusions: pd.DataFrame | None = None, *,
                       rule: RemissionRule | None = None, subgroup: str | None = "onset",
                       predictors: list[str] | None = None,
                       method: Literal["auto", "ml", "firth"] = "auto",
                       population: Literal["all", "treated"] = "all",
                       ci_method: Literal["profile", "wald"] = "profile",
                       adjust: str | None = None,
                       conf_level: float = 0.95) -> RemissionResult:
    """Derive remission, tabulate it by arm and subgroup and, optionally, model it.

    Parameters
    ----------
    measurements, subjects, infusions : DataFrame
        Contract tables (C-peptide in nmol/L).
    rule : RemissionRule, keyword-only
        Remission definition (default: Lu 2021). On data whose C-peptide records carry visit
        labels and a baseline flag (ADaM AVISIT, ABLFL, ANL01FL) the assessment is at the
        labelled visit (``rule.visit_label``, else the one nearest ``rule.visit_day``) unless
        ``rule.by_day`` (:func:`cohort.derive.remission.resolve_remission_visit`).
    subgroup : str or None, keyword-only
        Subgroup for the rates (default juvenile vs adult onset).
    predictors : list of str, keyword-only
        Columns of :func:`cohort.derive.remission_dataset.remission_dataset` for a multivariable
        logistic model (e.g. ``["baseline_cpep_fast_nmol_l", "dose_1e6_cells_per_kg"]``);
        None: no model.
    method, population, ci_method : keyword-only
        See :func:`cohort.analysis.logistic.logistic_regression`. ``method="auto"`` (the
        default): Firth's penalised likelihood with penalised profile-likelihood intervals
        below 10 events per variable, else maximum likelihood; ``"ml"`` or ``"firth"`` on
        request. ``population="treated"`` fits the model within the treated arm(s), the way
        to estimate a dose effect.
    adjust : str or None, keyword-only
        Multiplicity adjustment of the treated arms' tests against the controls (see
        :func:`remission_rates`).
    conf_level : float, keyword-only
        Confidence level of every interval.

    Examples
    --------
    Lu 2021: C-peptide remission at 1 year by arm (the published rule, the default):

    >>> from cohort import datasets
    >>> from cohort.analysis.remission import remission_analysis
    >>> lu = datasets.load("lu2021")
    >>> res = remission_analysis(lu.measurements, lu.subjects, lu.infusions)
    >>> res.summary.query("subgroup == 'all'")[["arm", "x", "n", "estimate"]].round(3)
                 arm   x   n  estimate
    0         UC-MSC  11  27     0.407
    1  standard care   3  26     0.115
    >>> res.comparisons.query("subgroup == 'all' and measure == 'fisher_exact'")["p"].round(4)
    4    0.0276
    Name: p, dtype: float64
    """
    # visits by label when the data carry them (ADaM AVISIT/ABLFL), settled once here so the
    # notes and params say which visit was assessed
    rule = resolve_remission_visit(measurements, rule or RemissionRule())
    data = remission_dataset(measurements, subjects, infusions, rule=rule)
    undetermined = data["remission"].isna().to_numpy()
    exclusions = pd.DataFrame({"subject_id": data.loc[undetermined, "subject_id"].astype(str),
                               "reason": data.loc[undetermined, "reason"].astype(object)})
    rates, comparisons = remission_rates(data, subgroup=subgroup, conf_level=conf_level,
                                         adjust=adjust)
    notes = [f"remission: {rule.describe()}",
             *censored_notes(measurements, list(rule.markers))]
    if undetermined.any():
        notes.append(f"{int(undetermined.sum())} of {len(data)} subjects have an undetermined "
                     "remission and are excluded (see exclusions)")
    model = None
    if predictors:
        determined = data.loc[~undetermined].copy()
        determined["remission"] = determined["remission"].astype(bool)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = logistic_regression(determined, "remission", list(predictors),
                                        method=method, population=population,
                                        ci_method=ci_method, alpha=1 - conf_level)
        for w in caught:  # re-issue the model's warnings as coming from this call
            warnings.warn(w.message, w.category, stacklevel=2)
        notes += [f"model: {n}" for n in model.notes]
    params = {"rule": {k: (list(v) if isinstance(v, tuple) else v)
                       for k, v in rule.__dict__.items()},
              "subgroup": subgroup, "predictors": list(predictors or []), "method": method,
              "population": population, "ci_method": ci_method, "adjust": adjust or "none",
              "conf_level": conf_level}
    return RemissionResult(summary=rates, exclusions=exclusions.reset_index(drop=True),
                           params=params, notes=notes, comparisons=comparisons, model=model,
                           data=data, rule=rule.describe())

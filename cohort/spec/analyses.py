"""The analyses a published target can name: stable ids with their parameters.

The analyses themselves live in :mod:`cohort.analysis` and :mod:`cohort.derive`; a spec's
targets refer to them by these ids, so ``cohort reproduce`` can run each one and put the
published number next to the reproduced one. A target naming an id not listed here is a
``SpecError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ANALYSES", "AnalysisInfo"]

@dataclass(frozen=True)
class AnalysisInfo:
    """An analysis a published target is reproduced by.

    Attributes
    ----------
    description : str
        What the analysis computes.
    required, optional : tuple of str
        Parameter names the target must / may give under ``params``.
    baseline : bool
        True for a baseline target (the synthesis scorecard checks it on a generated cohort).
    cli_names : dict of str to str
        The ``cohort analyze`` option name of a parameter whose spec name differs from it
        (option name -> spec name, e.g. ``{"threshold": "threshold_pct"}``). A target may
        write either name, not both; the spec name is what the recipe reads.
    command : str or None
        The ``cohort analyze`` command whose option names ``cli_names`` follows (a test
        checks they are its options, old hidden spellings included).
    """

    description: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    baseline: bool = False
    cli_names: dict[str, str] = field(default_factory=dict)
    command: str | None = None

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every parameter name a target may write: spec names and their CLI names."""
        return (*self.required, *self.optional, *self.cli_names)


_BASE_OPT = ("arm", "among")
_STAT_OPT = ("arm", "among", "unit")
_AE_OPT = ("arm", "term", "serious", "related", "severity")
_EPISODE_FILTERS = ("started_within_months", "started_after_months", "at_last_contact")
_IF = ("arm", "among")  # insulin-free analyses: an arm (or all) and a subgroup
# `cohort analyze remission --threshold` (percent rise) and `cohort analyze
# effect-modification --subgroup/--cut` name these parameters differently
_REMISSION_CLI = {"threshold": "threshold_pct"}

class _Catalogue(dict[str, AnalysisInfo]):
    """The analyses a target may name. Looking up ``"analyze <command>"`` (a target that is a
    ``cohort analyze`` request, :mod:`cohort.spec.requests`) gives that request's info: an
    outcome analysis whose parameters are the command's options; iterating and ``in`` list
    the named analyses only."""

    def __missing__(self, key: str) -> AnalysisInfo:
        from cohort.spec.requests import analyze_command, analyze_commands

        command = analyze_command(key) if isinstance(key, str) else None
        if command is None or command not in analyze_commands():
            raise KeyError(key)
        return AnalysisInfo(f"cohort analyze {command}: any output of its --format json "
                            "result", optional=tuple(analyze_commands()[command]))


ANALYSES: dict[str, AnalysisInfo] = _Catalogue({
    "arm_size": AnalysisInfo("number of subjects in an arm (or stratum)", ("arm",),
                             ("among",), True),
    "baseline_mean": AnalysisInfo("mean of a baseline variable", ("variable",), _STAT_OPT, True),
    "baseline_sd": AnalysisInfo("SD (n - 1) of a baseline variable", ("variable",), _STAT_OPT,
                                True),
    "baseline_median": AnalysisInfo("median of a baseline variable", ("variable",), _STAT_OPT,
                                    True),
    "baseline_min": AnalysisInfo("minimum of a baseline variable", ("variable",), _STAT_OPT,
                                 True),
    "baseline_max": AnalysisInfo("maximum of a baseline variable", ("variable",), _STAT_OPT,
                                 True),
    "baseline_count": AnalysisInfo(
        "subjects with a level of a category, or with a baseline value below a threshold",
        ("variable",), (*_BASE_OPT, "level", "below", "at_least"), True),
    "baseline_proportion": AnalysisInfo(
        "proportion (0-1) of subjects with a level, or below a threshold", ("variable",),
        (*_BASE_OPT, "level", "below", "at_least"), True),
    "ancova_ls_mean_diff": AnalysisInfo(
        "baseline-adjusted least-squares mean difference in change (ANCOVA per visit)",
        ("param", "visit", "arm", "reference")),
    "mixed_model_diff": AnalysisInfo(
        "difference in change from a repeated-measures model over visits",
        ("param", "visit", "arm", "reference")),
    "responders": AnalysisInfo(
        "responders by criteria as cohort analyze responders (composite, relative to baseline): "
        "rate, count, or arm vs reference (risk difference with Wald or Newcombe CI, odds "
        "ratio, risk ratio, Fisher, chi-square)", ("criterion", "visit", "arm"),
        ("reference", "combine", "missing", "measure", "ci", "among")),
    "responder_count": AnalysisInfo("subjects below a threshold at a visit",
                                    ("param", "visit", "arm", "below"), ("among",)),
    "responder_fisher": AnalysisInfo(
        "Fisher exact test (two-sided) of the proportion below a threshold between two arms",
        ("param", "visit", "arm", "reference", "below"), ("among",)),
    "paired_t_change": AnalysisInfo(
        "mean change from baseline and paired t-test p-value", ("param", "visit"), _BASE_OPT),
    "mean_by_visit": AnalysisInfo("mean value at a visit", ("param", "visit"), _STAT_OPT),
    "quantile_by_visit": AnalysisInfo(
        "median (or quartile: quantile 0.25 / 0.75) of a parameter at a visit, R type 7",
        ("param", "visit"), (*_STAT_OPT, "quantile")),
    "wilcoxon_change": AnalysisInfo(
        "median change from baseline with the Wilcoxon signed-rank p (two-sided)",
        ("param", "visit"), (*_BASE_OPT, "scale")),
    "mannwhitney_change": AnalysisInfo(
        "difference in median change between two arms with the Mann-Whitney p (two-sided)",
        ("param", "visit", "arm", "reference"), ("among", "scale")),
    "dose_correlation": AnalysisInfo(
        "correlation between cell dose and change from baseline", ("param", "visit"),
        ("dose", "arm", "method")),
    "dose_subgroup_diff": AnalysisInfo(
        "difference in change between dose subgroups (>= threshold vs below)",
        ("param", "visit", "threshold"), ("dose", "arm")),
    "subgroup_change": AnalysisInfo("mean change from baseline within a subgroup",
                                    ("param", "visit", "among"), ("arm", "scale")),
    "subgroup_diff": AnalysisInfo(
        "difference in change from baseline between two arms, over the whole arms or within a "
        "subgroup (among), Welch t-test", ("param", "visit", "arm", "reference"),
        ("among", "scale")),
    "interaction_p": AnalysisInfo(
        "p-value of a treatment-by-subgroup (effect-modification) term",
        ("param", "visit", "modifier"), ("threshold", "arm"),
        cli_names={"by": "modifier", "subgroup": "modifier", "cut": "threshold"},
        command="effect-modification"),
    "remission_count": AnalysisInfo(
        "subjects in C-peptide remission (rise >= threshold in fasting and/or postprandial)",
        ("arm", "visit"), ("threshold_pct",), cli_names=_REMISSION_CLI, command="remission"),
    "remission_rate": AnalysisInfo("proportion (0-1) in C-peptide remission", ("arm", "visit"),
                                   ("threshold_pct",), cli_names=_REMISSION_CLI,
                                   command="remission"),
    "remission_fisher": AnalysisInfo("Fisher exact test of remission between two arms",
                                     ("arm", "reference", "visit"), ("threshold_pct",),
                                     cli_names=_REMISSION_CLI, command="remission"),
    "logistic_or_direction": AnalysisInfo(
        "sign of a predictor's coefficient in a logistic model of remission (+1 or -1)",
        ("predictor",), ("arm", "covariates", "visit"),
        cli_names={"covariate": "covariates"}),  # as --covariate of ancova and mmrm
    "insulin_free_count": AnalysisInfo(
        "subjects with at least one insulin-free episode (optionally: starting within / after "
        "a month, or still insulin-free at last contact)", (), (*_IF, *_EPISODE_FILTERS)),
    "insulin_free_rate": AnalysisInfo(
        "proportion (0-1) of subjects with a qualifying insulin-free episode, Clopper-Pearson "
        "95% CI", (), (*_IF, *_EPISODE_FILTERS)),
    "insulin_free_duration_mean": AnalysisInfo(
        "mean observed duration (months) of insulin-free episodes, censored ones counted "
        "with their duration so far", (), (*_IF, "episode", *_EPISODE_FILTERS)),
    "insulin_free_duration_median": AnalysisInfo(
        "median observed duration (months) of insulin-free episodes", (),
        (*_IF, "episode", *_EPISODE_FILTERS)),
    "km_landmark": AnalysisInfo(
        "Kaplan-Meier probability (0-1) of remaining insulin-free a number of months after "
        "insulin stop, 95% CI", ("months",), (*_IF, "episode")),
    "insulin_free_duration_min": AnalysisInfo("shortest insulin-free duration (months)", (),
                                              _IF),
    "insulin_free_duration_max": AnalysisInfo("longest insulin-free duration (months)", (),
                                              _IF),
    "km_median": AnalysisInfo("Kaplan-Meier median insulin-free duration (months); "
                              "'not reached' when the curve stays above 0.5", (),
                              (*_IF, "episode")),
    "km_event": AnalysisInfo(
        "time from day 0 to the first adverse event of a term or terms (its own event label), "
        "censored at last contact: Kaplan-Meier median months ('not reached'), or the "
        "probability event-free at months; with competing (terms, e.g. death): the "
        "Aalen-Johansen cumulative incidence of the event by months",
        ("term",), ("arm", "among", "months", "label", "competing")),
    "censored_count": AnalysisInfo("insulin-free episodes censored at last contact", (),
                                   (*_IF, "episode")),
    "censored_durations": AnalysisInfo("durations (months) of censored insulin-free episodes,"
                                       " longest first", (), (*_IF, "episode", "largest")),
    "censored_duration_mean": AnalysisInfo("mean duration (months) of censored insulin-free "
                                           "episodes", (), (*_IF, "episode")),
    "resumption_count": AnalysisInfo("subjects who resumed insulin after an insulin-free "
                                     "episode", (), _IF),
    "reentry_count": AnalysisInfo("subjects insulin-free again after resuming", (), _IF),
    "med_reduction_rate": AnalysisInfo(
        "proportion (0-1) of subjects who lowered a glucose-lowering drug dose", (), ("arm",)),
    "adverse_event_count": AnalysisInfo("number of adverse events", (), _AE_OPT),
    "adverse_event_subjects": AnalysisInfo(
        "subjects with at least one adverse event (of a term, serious, related, severity)",
        (), _AE_OPT),
    "adverse_event_proportion": AnalysisInfo(
        "proportion (0-1) of the arm's (or, with arm all, the cohort's) subjects with at least "
        "one adverse event, Clopper-Pearson 95% CI", (), _AE_OPT),
})
"""Stable analysis ids a target may name, with their parameters."""


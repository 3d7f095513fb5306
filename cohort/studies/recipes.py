"""The recipe of every analysis a published target can name.

:data:`RECIPES` maps each id of :data:`cohort.spec.model.ANALYSES` to a function
``recipe(context, target) -> Reproduced`` that computes the target on a cohort by calling the
analysis modules (it never computes statistics itself), or raises
:class:`~cohort.studies.base.NotComputable` saying what the cohort lacks. A test checks that
every analysis id has a recipe.
"""

from __future__ import annotations

from collections.abc import Callable

from cohort.spec.model import Target
from cohort.studies import recipes_baseline as base
from cohort.studies import recipes_change as change
from cohort.studies import recipes_events as events
from cohort.studies import recipes_insulin as insulin
from cohort.studies import recipes_rank as rank
from cohort.studies import recipes_responders as resp
from cohort.studies import recipes_tte as tte
from cohort.studies.base import NotComputable, Reproduced
from cohort.studies.context import StudyContext

__all__ = ["COUNT_ANALYSES", "RECIPES", "Recipe", "compute"]

Recipe = Callable[[StudyContext, Target], Reproduced]

RECIPES: dict[str, Recipe] = {
    "arm_size": base.arm_size,
    "baseline_mean": base.baseline_stat,
    "baseline_sd": base.baseline_stat,
    "baseline_median": base.baseline_stat,
    "baseline_min": base.baseline_stat,
    "baseline_max": base.baseline_stat,
    "baseline_count": base.baseline_count,
    "baseline_proportion": base.baseline_count,
    "ancova_ls_mean_diff": change.ancova_diff,
    "mixed_model_diff": change.mixed_model_diff,
    "responders": resp.responders,
    "responder_count": change.responder_count,
    "responder_fisher": change.responder_fisher,
    "paired_t_change": change.paired_change,
    "mean_by_visit": change.mean_by_visit,
    "quantile_by_visit": rank.quantile_by_visit,
    "wilcoxon_change": rank.wilcoxon_change,
    "mannwhitney_change": rank.mannwhitney_change,
    "dose_correlation": change.dose_correlation,
    "dose_subgroup_diff": change.dose_subgroup_diff,
    "subgroup_change": change.subgroup_change,
    "subgroup_diff": change.subgroup_diff,
    "interaction_p": change.interaction_p,
    "remission_count": events.remission,
    "remission_rate": events.remission,
    "remission_fisher": events.remission_fisher,
    "logistic_or_direction": events.logistic_direction,
    "insulin_free_count": insulin.insulin_free_subjects,
    "insulin_free_rate": insulin.insulin_free_subjects,
    "insulin_free_duration_mean": insulin.insulin_free_duration,
    "insulin_free_duration_median": insulin.insulin_free_duration,
    "km_landmark": insulin.km_landmark,
    "km_event": tte.km_event,
    "insulin_free_duration_min": events.insulin_free,
    "insulin_free_duration_max": events.insulin_free,
    "km_median": events.km_median,
    "censored_count": events.censored,
    "censored_durations": events.censored,
    "censored_duration_mean": events.censored,
    "resumption_count": events.insulin_free,
    "reentry_count": events.insulin_free,
    "med_reduction_rate": events.med_reduction_rate,
    "adverse_event_count": events.adverse_event_count,
    "adverse_event_subjects": events.adverse_event_count,
    "adverse_event_proportion": events.adverse_event_count,
}
"""Analysis id -> recipe."""

COUNT_ANALYSES = frozenset({
    "arm_size", "baseline_count", "responder_count", "remission_count", "insulin_free_count",
    "censored_count", "resumption_count", "reentry_count", "adverse_event_count",
    "adverse_event_subjects",
})
"""Analyses whose number is a count of subjects, episodes or events (compared exactly)."""


def compute(context: StudyContext, target: Target) -> Reproduced:
    """Compute one target on the context's cohort: by its recipe, or, for a target
    ``analysis: analyze <command>``, by that command (:mod:`cohort.studies.requests`).

    Raises
    ------
    NotComputable
        If the analysis has no recipe or the cohort lacks what the target needs.
    RequestSpecError
        If a request names a table or output the command's result does not have.
    """
    if target.command is not None:
        from cohort.studies.requests import analyze_request

        return analyze_request(context, target)
    recipe = RECIPES.get(target.analysis)
    if recipe is None:
        raise NotComputable(f"no recipe for analysis {target.analysis!r}")
    return recipe(context, target)

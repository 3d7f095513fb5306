"""Report section on insulin independence (Couri 2009, Lu 2021): insulin-free episodes, time
to insulin resumption by Kaplan-Meier with the numbers at risk, and a swimmer plot."""

from __future__ import annotations

import pandas as pd

from cohort.report.comparisons import RULES, logrank_comparisons
from cohort.report.context import NotComputableError, ReportContext, new_axes

__all__ = ["survival_section"]


def survival_section(ctx: ReportContext) -> None:
    """Insulin-free episodes, Kaplan-Meier of the time to resumption, swimmer plot."""
    from cohort.analysis.endpoint import insulin_resumption
    from cohort.analysis.survival import kaplan_meier, log_rank
    from cohort.analysis.time_to_event import tte_from_episodes
    from cohort.derive.insulin import insulin_episodes
    from cohort.report.figures.survival import plot_km, plot_swimmer

    c = ctx.cohort
    if not (c.measurements["param"].astype(str) == "INSULIN_DOSE").any():
        raise NotComputableError("the cohort has no insulin dose (INSULIN_DOSE) records")
    ins = insulin_episodes(c.measurements, c.subjects, c.adverse_events)
    counts = ins.counts()
    if counts["n_episodes"] == 0:
        raise NotComputableError(
            f"no insulin-free episode: none of the {counts['n_with_records']} subjects with "
            f"insulin records met the definition ({ins.rule.describe()})")
    ctx.html.paragraph(
        f"Insulin independence: {ins.rule.describe()}. An episode starts at its first "
        "insulin-free record and ends at the first later record with insulin (resumption), "
        "else it is censored at the last contact (or death). Time is counted from the insulin "
        "stop; each subject's first episode enters the Kaplan-Meier estimate (log CI, as R).")
    ctx.html.table(pd.DataFrame([counts]), caption="Subjects and insulin-free episodes")
    for note in ins.notes:
        if ins.rule.describe() not in note:  # the definition is stated above
            ctx.html.paragraph(note, css="muted")
    tte = tte_from_episodes(ins.episodes, c.subjects.astype({"arm": str}), columns=["arm"])
    group = "arm" if tte["arm"].nunique() > 1 else None
    # landmarks and at-risk times: round times within the follow-up (kaplan_meier's default)
    km = kaplan_meier(tte, group=group, endpoint=insulin_resumption())
    ctx.html.table(km.summary[["group", "n", "n_events", "n_censored", "estimate_months",
                               "ci_lower_months", "ci_upper_months"]],
                   caption="Median insulin-free time (months; empty = not reached) with 95% CI")
    if len(km.landmarks):
        ctx.html.table(km.landmarks[["group", "months", "estimate", "ci_lower", "ci_upper",
                                     "n_risk", "note"]], max_rows=None,
                       caption="Still insulin-free at landmark times (Kaplan-Meier, 95% CI)")
    ctx.html.table(km.at_risk[["group", "months", "n_risk", "n_event", "n_censor"]],
                   max_rows=None, caption="Numbers at risk (events and censorings since the "
                   "previous time)")
    if group is not None:
        lr = log_rank(tte, group=group)
        shown, details = logrank_comparisons(lr.summary)
        ctx.html.table(shown, caption=f"Log-rank test between arms ({RULES['logrank']})")
        if len(details):
            with ctx.html.details("Details: pairwise log-rank tests"):
                ctx.html.table(details, max_rows=None,
                               caption="Pairwise log-rank tests (p (Holm): Holm-adjusted over "
                               "the pairs)")
    elif c.subjects["arm"].nunique() > 1:
        ctx.not_computable("log-rank test", "every insulin-free subject is in one arm")
    else:
        ctx.html.paragraph("One arm: no between-arm comparison.", css="muted")
    # one arm: the curve is named after it, not "all"
    ax = plot_km(km, ax=new_axes(7.5, 5.0),
                 labels=None if group else {"all": str(tte["arm"].iloc[0])})
    ctx.figure(ax, "Kaplan-Meier estimate of remaining insulin-free, with 95% band and numbers "
                   "at risk")
    end = ins.subjects.set_index(ins.subjects["subject_id"].astype(str))["end_day"]
    n_sub = ins.episodes["subject_id"].nunique()
    ax = plot_swimmer(ins.episodes, follow_up=end, ax=new_axes(8, max(2.5, 0.28 * n_sub + 1.2)))
    ctx.figure(ax, "Swimmer plot: insulin-free episodes per subject (study time since the first "
                   "infusion), resumptions and censorings")

"""Report sections on HbA1c: change from baseline by visit and arm, and the ANCOVA against
the control arm (Skyler 2015) with its forest plot."""

from __future__ import annotations

import pandas as pd

from cohort.derive.visit_values import LAST_VISIT_LABEL
from cohort.derive.visit_windows import Visit
from cohort.errors import CohortError
from cohort.report.comparisons import RULES, ancova_comparisons, paired_comparisons
from cohort.report.context import NotComputableError, ReportContext, new_axes
from cohort.report.schedule import infer_visits, visit_table

__all__ = ["PARAM", "ancova_section", "change_section", "exclusion_counts",
           "exclusions_by_subject", "hba1c_visits"]

PARAM = "HBA1C"
CHANGE_DECIMALS = 2
"""Decimals of a mean change in HbA1c (% points): one more than the measurement's 0.1 %."""
WATERFALL_THRESHOLD = -0.5
"""HbA1c change (% points) drawn on the waterfall: the reduction commonly taken as
clinically meaningful."""

_LSMEAN_COLUMNS = ["visit", "arm", "estimate", "se", "ci_lower", "ci_upper", "n"]


def exclusion_counts(exclusions: pd.DataFrame) -> pd.DataFrame:
    """Excluded rows counted by visit (when given) and reason: ``visit``, ``reason``, ``n``."""
    if exclusions is None or exclusions.empty:
        return pd.DataFrame(columns=["visit", "reason", "n"])
    keys = [k for k in ("visit", "reason") if k in exclusions.columns]
    return (exclusions.astype({k: str for k in keys}).groupby(keys, sort=False).size()
            .rename("n").reset_index())


def exclusions_by_subject(exclusions: pd.DataFrame) -> pd.DataFrame:
    """One row per excluded subject: ``subject_id``, ``n`` (subject-visits left out),
    ``visits`` (their labels) and ``reason`` (the first one; the counts table has them all)."""
    if exclusions is None or exclusions.empty:
        return pd.DataFrame(columns=["subject_id", "n", "visits", "reason"])
    e = exclusions.astype({"subject_id": str, "reason": str})
    if "visit" not in e.columns:
        e = e.assign(visit="")
    rows = []
    for sid, g in e.groupby("subject_id", sort=True):
        first = g["reason"].iloc[0]
        more = g["reason"].nunique() - 1
        rows.append({"subject_id": sid, "n": len(g),
                     "visits": ", ".join(g["visit"].astype(str)),
                     "reason": first + (f" (and {more} other reason(s))" if more else "")})
    return pd.DataFrame(rows)


def hba1c_visits(ctx: ReportContext) -> list[Visit]:
    """The HbA1c follow-up visits inferred from the data (cached on the context)."""
    if "hba1c_visits" not in ctx.results:
        m = ctx.cohort.measurements
        if not (m["param"].astype(str) == PARAM).any():
            raise NotComputableError("the cohort has no HbA1c (HBA1C) measurements")
        visits = infer_visits(m, PARAM)
        if not visits:
            raise NotComputableError("no HbA1c visit after day 0 has records of at least 3 "
                                     "subjects")
        ctx.results["hba1c_visits"] = visits
    return ctx.results["hba1c_visits"]


def change_section(ctx: ReportContext) -> None:
    """Change from baseline at each visit by arm: paired table, mean +/- CI by visit, per-subject
    trajectories by arm with the mean, and a waterfall of the change at the final visit."""
    from cohort.analysis.paired import paired_analysis

    c = ctx.cohort
    visits = hba1c_visits(ctx)
    ctx.html.paragraph(
        "HbA1c in % (NGSP); changes in percentage points. Baseline: the last value on or before "
        "day 0 (days -90 to 0). Visits and their windows are read from the data (the median "
        "study day of each visit label); at each visit the value nearest the nominal day "
        "counts. 'last' is each subject's last value after day 0.")
    ctx.html.table(visit_table(visits), caption="Visits (study days, windows inclusive)")
    res = paired_analysis(c.measurements, c.subjects, param=PARAM, visits=visits, last=True,
                          by="arm")
    shown, details = paired_comparisons(res.summary, decimals=CHANGE_DECIMALS)
    ctx.html.table(shown, max_rows=None,
                   caption="Change from baseline by visit and arm (mean change, % points, with "
                   f"t-based 95% CI; {RULES['paired']})")
    with ctx.html.details("Details: other tests of the change from baseline"):
        ctx.html.table(details, max_rows=None,
                       caption="Wilcoxon signed-rank test of the change (V statistic)")
    for note in res.notes:
        ctx.html.paragraph(note, css="muted")
    counts = exclusion_counts(res.exclusions)
    if len(counts):
        ctx.html.table(counts, max_rows=50,
                       caption=f"Excluded subject-visits ({len(res.exclusions)}) by reason")
        ctx.html.table(exclusions_by_subject(res.exclusions), max_rows=100,
                       caption="Excluded subject-visits by subject")
    data = res.data.loc[res.data["group"].notna()]
    nominal = data.loc[data["visit"] != LAST_VISIT_LABEL]
    if nominal.empty:
        ctx.not_computable("mean change by visit", "no subject has a value at a nominal visit")
        return
    # the figures of `cohort analyze paired --by arm --plot`: PairedResult.plot
    ax = res.plot(ax=new_axes(8, 4.5))
    ctx.figure(ax, "Mean change in HbA1c from baseline by visit and arm, with 95% CIs")
    axes = res.plot(kind="trajectories", ax=new_axes(8, 4.2))
    ctx.figure(axes[0], "HbA1c of every subject at baseline and at each visit, one panel per "
                        "arm, with the arm's mean and its 95% CI")
    # the latest visit that at least half as many subjects reached as the best-attended one
    # (the last visit of a long follow-up may hold a handful)
    counts = nominal["visit"].astype(str).value_counts()
    order = [str(v.label) for v in visits if str(v.label) in counts.index]
    final = [v for v in order if counts[v] >= counts.max() / 2][-1]
    ax = res.plot(kind="waterfall", visit=final, threshold=WATERFALL_THRESHOLD,
                  ax=new_axes(8, 4))
    ctx.figure(ax, f"Change in HbA1c from baseline to {final} ({counts[final]} subjects, "
                   f"sorted; the latest visit reached by at least half of the subjects); "
                   f"dashed: a reduction of {-WATERFALL_THRESHOLD:g} % points")


def _control_arms(subjects: pd.DataFrame) -> list[str]:
    ctrl = subjects["control"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return sorted(pd.unique(subjects.loc[ctrl, "arm"].astype(str)).tolist())


def ancova_section(ctx: ReportContext) -> None:
    """ANCOVA of the change at each visit (change ~ arm + baseline): LS means, each arm
    against the control arm (Holm-adjusted p), the dose trend, and a forest plot."""
    from cohort.analysis.ancova import ancova_analysis
    from cohort.report.figures.labels import change_label
    from cohort.report.figures.regression import forest_plot
    from cohort.report.figures.visits import lsmeans_plot

    c = ctx.cohort
    subjects = c.subjects.copy()
    subjects["arm"] = subjects["arm"].astype(str)
    arms = sorted(pd.unique(subjects["arm"]).tolist())
    if len(arms) < 2:
        raise NotComputableError(f"one arm only ({arms[0] if arms else 'none'}): there is "
                                 "nothing to compare; the within-arm change is in the section "
                                 "above")
    controls = _control_arms(subjects)
    if not controls:
        raise NotComputableError(f"no control arm (arms: {', '.join(arms)}; every subject is "
                                 "treated); the change within each arm is in the section "
                                 "above")
    if len(controls) == len(arms):
        raise NotComputableError("every arm is a control arm; there is no treated arm to "
                                 "compare")
    visits = hba1c_visits(ctx)
    if len(controls) > 1:
        pooled = f"control ({', '.join(controls)})"
        subjects.loc[subjects["arm"].isin(controls), "arm"] = pooled
        ctx.html.note(f"The control arms {', '.join(controls)} are pooled as {pooled!r}.")
    ctx.html.paragraph(
        "Linear model per visit: change in HbA1c (% points) ~ arm + baseline HbA1c. LS means "
        "at the mean baseline (R emmeans), each arm minus the control arm with Holm-adjusted "
        "p-values, and with three or more arms of known dose a linear dose-trend contrast.")
    summaries, notes = [], []
    try:  # one model per visit, all in one call (the derivations run once)
        res = ancova_analysis(c.measurements, subjects, c.infusions, param=PARAM,
                              visits=visits, adjust="holm")
        summaries, notes = [res.summary], list(res.notes)
    except CohortError:
        # a visit the data do not allow fails the call: run each visit alone, so that one
        # visit's failure does not hide the others
        for v in visits:
            try:
                res = ancova_analysis(c.measurements, subjects, c.infusions, param=PARAM,
                                      visits=[v], adjust="holm")
            except CohortError as exc:
                ctx.not_computable(f"ANCOVA at {v.label}", str(exc))
                continue
            summaries.append(res.summary)
            notes += [n for n in res.notes if n not in notes]
    if not summaries:
        raise NotComputableError("no visit has subjects with a baseline and a follow-up value "
                                 "in the control arm and another arm")
    summary = pd.concat(summaries, ignore_index=True)
    lsm = summary.loc[summary["kind"] == "lsmean"]
    ctx.html.table(lsm.reindex(columns=_LSMEAN_COLUMNS), max_rows=None,
                   caption="Adjusted mean change in HbA1c (LS means, % points, 95% CI)")
    contrasts = summary.loc[summary["kind"] != "lsmean"]
    reference = str(contrasts["reference"].dropna().iloc[0]) \
        if contrasts["reference"].notna().any() else "control"
    shown, details = ancova_comparisons(contrasts, decimals=CHANGE_DECIMALS,
                                        reference=reference)
    ctx.html.table(shown, max_rows=None,
                   caption="Each arm minus the control arm, and the dose trend (% points, "
                   f"95% CI; {RULES['ancova']})")
    if len(details):
        with ctx.html.details("Details: unadjusted p-values of the arm-vs-control tests"):
            ctx.html.table(details, max_rows=None,
                           caption="ANCOVA t-tests without multiplicity adjustment")
    for note in notes:
        ctx.html.paragraph(note, css="muted")
    # the figure of `cohort analyze ancova --plot`: the model's LS means over the visits
    ax = lsmeans_plot(summary, param=PARAM, ax=new_axes(8, 4.5))
    ctx.figure(ax, "Adjusted (LS) mean change in HbA1c by arm at each visit, with 95% CIs")
    vs = contrasts.loc[contrasts["kind"] == "vs_reference"]
    if len(vs):
        ax = forest_plot(vs, label=["visit", "arm"], reference=0.0,
                         xlabel=change_label(PARAM, template="Difference in {name} change "
                                             "vs control", suffix="95% CI"),
                         ax=new_axes(7, 0.45 * len(vs) + 1.5))
        ctx.figure(ax, "Forest plot: adjusted difference in HbA1c change, each arm vs control")

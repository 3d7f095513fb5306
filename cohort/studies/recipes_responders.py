"""Recipe of responder targets as ``cohort analyze responders`` computes them: composite
criteria (``"HBA1C < 7"`` AND ``"INSULIN_DOSE pct_change <= -50"``, relative to each subject's
own baseline), a rate or count per arm, and the comparison of an arm with a reference (risk
difference with its Wald or Newcombe CI, odds ratio, risk ratio, Fisher, chi-square).

Parameters have the CLI's names: ``criterion`` (a text or a list of texts, parsed without
evaluating anything by :func:`cohort.analysis.responder_criteria.parse_criterion`), ``combine``
(``all`` / ``any``), ``missing`` (``exclude`` / ``nonresponder``), ``visit``, ``arm``,
``reference``, ``among``; ``measure`` picks the output (``rate`` default, ``count``,
``risk_difference``, ``odds_ratio``, ``risk_ratio``, ``fisher_exact``, ``chi_square``) and
``ci`` the risk difference's interval (``wald`` default, ``newcombe``).
"""

from __future__ import annotations

from cohort.spec.targets import Target
from cohort.studies.base import NotComputable, Reproduced, num
from cohort.studies.context import StudyContext
from cohort.studies.recipes_change import _one, _when

__all__ = ["MEASURES", "responders"]

MEASURES = ("rate", "count", "risk_difference", "odds_ratio", "risk_ratio", "fisher_exact",
            "chi_square")


def responders(ctx: StudyContext, target: Target) -> Reproduced:
    """A responder rate, count or arm comparison at a visit (see the module docstring)."""
    from cohort.analysis.responder_criteria import parse_criterion
    from cohort.analysis.responders import responder_analysis
    from cohort.errors import AnalysisError

    p = target.params
    measure = str(p.get("measure", "rate"))
    if measure not in MEASURES:
        raise NotComputable(f"measure {measure!r} is not an output of responders "
                            f"({', '.join(MEASURES)})")
    texts = p["criterion"] if isinstance(p["criterion"], list) else [p["criterion"]]
    try:
        criteria = [parse_criterion(str(t)) for t in texts]
    except AnalysisError as exc:
        raise NotComputable(f"criterion: {exc}") from None
    kw, _, when = _when(ctx, str(p["visit"]))
    if "last" in kw:
        raise NotComputable("a responder endpoint needs a scheduled visit")
    arm = ctx.arm_label(p["arm"])
    ref = ctx.arm_label(p["reference"]) if p.get("reference") is not None else None
    if measure not in ("rate", "count") and ref is None:
        raise NotComputable(f"{measure} compares two arms: give reference")
    names = [p["arm"]] + ([p["reference"]] if ref is not None else [])
    rows = ctx.select(arms=names, among=p.get("among"))
    meds = ctx.cohort.medications if len(ctx.cohort.medications) else None
    res = responder_analysis(ctx.measurements, rows, meds, criteria=criteria,
                             visits=kw["visits"], combine=str(p.get("combine", "all")),
                             missing=str(p.get("missing", "exclude")), reference=ref)
    ctx.notes.extend(n for n in res.notes if not n.startswith("one arm"))
    s = res.summary
    joint = f" {'AND' if p.get('combine', 'all') == 'all' else 'OR'} ".join(
        c.label for c in criteria)
    rates = s[s["kind"] == "rate"].set_index("arm")
    counts = "; ".join(f"{a} {int(rates.loc[a, 'x'])}/{int(rates.loc[a, 'n'])}"
                       for a in (arm, ref) if a is not None and a in rates.index)
    what = f"responders ({joint}) at {when}: {counts}"
    if measure in ("rate", "count"):
        row = _one(s[(s["kind"] == "rate") & (s["arm"] == arm)], f"responder rate of {arm}")
        if measure == "count":
            return Reproduced(value=float(row["x"]), n=int(row["n"]), method=what)
        return Reproduced(value=num(row["estimate"]), ci_lower=num(row["ci_lower"]),
                          ci_upper=num(row["ci_upper"]), n=int(row["n"]),
                          method=what + "; Clopper-Pearson 95% CI")
    pick = s[(s["kind"] == measure) & (s["arm"] == arm)]
    if measure == "risk_difference":
        ci = str(p.get("ci", "wald"))
        pick = pick[pick["method"].astype(str).str.casefold().str.contains(ci)]
    row = _one(pick, f"{measure} of {arm} vs {ref}")
    return Reproduced(value=num(row["estimate"]), ci_lower=num(row["ci_lower"]),
                      ci_upper=num(row["ci_upper"]), p=num(row["p"]),
                      n=int(num(rates["n"].sum())) if len(rates) else None,
                      method=f"{what}; {measure} {arm} vs {ref} ({row['method']})")

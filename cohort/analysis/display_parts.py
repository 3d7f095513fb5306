"""The printed sections of results with several tables: remission, survival, prediction.

``print_summary()`` of most results is one table (:func:`cohort.analysis.display.
formatted_summary`). Remission, survival and prediction results hold several tables a reader
needs together (rates, between-arm tests and the logistic model; Kaplan-Meier, landmarks,
numbers at risk, log-rank and Cox; performance and importance): :func:`sections` lays them
out, each formatted by the one number formatter (:mod:`cohort.analysis.format`), so the
terminal, a notebook and the CLI print the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from cohort.analysis.format import (
    MISSING,
    decimals_for,
    format_ci,
    format_estimate_ci,
    format_number,
    format_p,
)

if TYPE_CHECKING:
    from cohort.analysis.result import AnalysisResult

__all__ = ["Section", "sections"]

Section = tuple[str, "pd.DataFrame | None"]
"""A heading and its table of text (None: the heading is a line of its own)."""

NOT_REACHED = "NR"
"""A median survival time that the curve does not reach (survminer, R print.survfit)."""


def sections(result: AnalysisResult) -> list[Section] | None:
    """The sections ``result`` prints, or None for a result printed as one table."""
    maker = _MAKERS.get(result.analysis)
    return maker(result) if maker is not None else None


def _p(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if pd.isna(v) else format_p(v))


def _num(values: pd.Series, decimals: int | None = None) -> pd.Series:
    d = decimals_for(values) if decimals is None else decimals
    return values.map(lambda v: "" if v is None or pd.isna(v) else format_number(v, d))


def _count(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if pd.isna(v) else str(int(v)))


def _text(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v))
                      else str(v))


def _est_ci(est: pd.Series, lo: pd.Series, hi: pd.Series, decimals: int | None = None,
            missing: str = MISSING) -> pd.Series:
    """``estimate (lo to hi)``; ``missing`` for a missing number (a median not reached:
    ``NR``, and then the interval is always shown)."""
    d = decimals_for(pd.concat([est, lo, hi])) if decimals is None else decimals
    if missing != MISSING:
        out = [f"{format_number(e, d)} {format_ci(a, b, d)}" for e, a, b in
               zip(est, lo, hi, strict=True)]
    else:
        out = [format_estimate_ci(e, a, b, d) for e, a, b in zip(est, lo, hi, strict=True)]
    return pd.Series([s.replace(MISSING, missing) for s in out], index=est.index)


# ------------------------------------------------------------------------------- remission

def _remission(result: Any) -> list[Section]:
    out: list[Section] = []  # the rule in words is the result's first note
    s = result.summary
    several = s["subgroup"].nunique() > 1 if len(s) else False
    pct = 100 * s["estimate"].astype(float)
    rates = pd.DataFrame({
        **({"subgroup": _text(s["subgroup"])} if several else {}),
        "arm": _text(s["arm"]),
        "n/N": [f"{x}/{n}" for x, n in zip(s["x"], s["n"], strict=True)],
        "% (95% CI, exact)": _est_ci(pct, 100 * s["ci_lower"], 100 * s["ci_upper"], 1),
        "Wilson 95% CI": [format_ci(100 * a, 100 * b, 1)
                          for a, b in zip(s["wilson_lower"], s["wilson_upper"], strict=True)],
        "undetermined": _count(s["n_excluded"]),
    })
    out.append(("Remission by arm, % (Clopper-Pearson exact and Wilson 95% CIs)", rates))
    c = result.comparisons
    if len(c):
        table = {**({"subgroup": _text(c["subgroup"])} if several else {}),
                 "arm": _text(c["arm"]), "vs": _text(c["reference"]),
                 "measure": _text(c["measure"]), "method": _text(c["method"])}
        est = pd.Series("", index=c.index, dtype=object)
        for measure, idx in c.groupby("measure", sort=False).groups.items():
            d = 3 if measure in ("risk_difference",) else None
            if c.loc[idx, "estimate"].notna().any():
                est.loc[idx] = _est_ci(c.loc[idx, "estimate"], c.loc[idx, "ci_lower"],
                                       c.loc[idx, "ci_upper"], d).where(
                    c.loc[idx, "estimate"].notna(), "")
        table["estimate (95% CI)"] = est
        table["p"] = _p(c["p"])
        adjusted = "adjust" in c and (c["adjust"].notna() & (c["adjust"] != "none")).any()
        if adjusted:
            table[f"p ({c['adjust'].dropna().iloc[0]})"] = _p(c["p_adjusted"])
        out.append(("Treated vs control", pd.DataFrame(table)))
    if result.model is not None:
        out.extend(_logistic(result.model))
    return out


def _logistic(model: Any) -> list[Section]:
    import numpy as np

    m = model.model
    label = {"ml": "maximum likelihood", "firth": "Firth"}.get(m.get("method"), m.get("method"))
    prof = "penalised profile" if m.get("method") == "firth" else "profile"
    s = model.summary

    def exp(v: pd.Series) -> pd.Series:
        return np.exp(v.astype(float).clip(upper=700))

    table = pd.DataFrame({
        "term": _text(s["term"]),
        f"OR ({prof} 95% CI)": [
            f"{_sig(e)} ({_sig(a)} to {_sig(b)})"
            for e, a, b in zip(s["odds_ratio"], exp(s["ci_lower_profile"]),
                               exp(s["ci_upper_profile"]), strict=True)],
        "Wald 95% CI": [f"({_sig(a)} to {_sig(b)})" for a, b in zip(
            exp(s["ci_lower_wald"]), exp(s["ci_upper_wald"]), strict=True)],
        "LR p": _p(s["p_lr"]),
    })
    epv = m.get("events_per_variable")
    title = (f"Logistic regression ({label}, population {m.get('population')}): n {m.get('n')}, "
             f"events {m.get('n_events')}"
             + (f", EPV {epv:.1f}" if isinstance(epv, int | float) else "")
             + "; odds ratios per unit of each predictor (units in the names)")
    return [(title, table)]


def _sig(value: float) -> str:
    """An odds ratio to three significant digits: per unit of a predictor it can be tiny or
    huge (``0.00232``, ``<0.0001``, ``1.06``, ``158``)."""
    if pd.isna(value) or value in (float("inf"), float("-inf")):
        return format_number(value, 0)
    if 0 < abs(value) < 1e-4:
        return "<0.0001"
    return format_number(value, min(decimals_for([value], max_decimals=5), 5) if value else 0)


# -------------------------------------------------------------------------------- survival

_PER = {"days": "", "weeks": "; weeks = days / 7", "months": "; months = days / 30.4375",
        "years": "; years = days / 365.25"}


def _survival(result: Any) -> list[Section]:
    out: list[Section] = []
    if result.counts:
        out.append(("counts: " + ", ".join(f"{k} {v}" for k, v in result.counts.items()),
                    None))
    km = result.km
    if km is not None:
        out.extend(_kaplan_meier(km))
    if result.logrank is not None:
        lr = result.logrank.summary
        out.append(("Log-rank tests (pairwise p Holm-adjusted)", pd.DataFrame({
            "comparison": _text(lr["comparison"]), "chi2": _num(lr["statistic"], 3),
            "df": _count(lr["df"]), "p": _p(lr["p"]),
            "p (Holm)": _p(lr["p_holm"].where(lr["comparison"] != "overall"))})))
    if result.cox is not None:
        out.extend(_cox(result.cox))
    if result.interval is not None:
        iv = result.interval.summary
        out.append(("Weibull fit to the interval view (scale and median in days)",
                    pd.DataFrame({"group": _text(iv["group"]),
                                  "parameter": _text(iv["parameter"]),
                                  "estimate (95% CI)": _est_ci(iv["estimate"], iv["ci_lower"],
                                                               iv["ci_upper"])})))
    return out


def _kaplan_meier(km: Any) -> list[Section]:
    unit = km.params.get("time_unit", "months")
    s = km.summary
    cols = [f"estimate_{unit}", f"ci_lower_{unit}", f"ci_upper_{unit}"]
    if not all(c in s for c in cols):  # days: the summary's own columns
        cols = ["estimate", "ci_lower", "ci_upper"]
    d = decimals_for(unit=unit, statistic=False) if unit != "days" else 0
    level = km.params.get("conf_level", 0.95)
    out: list[Section] = [(
        f"Kaplan-Meier ({km.params.get('conf_type', 'log')} CI, {level:.0%})"
        f"{_PER.get(unit, '')}",
        pd.DataFrame({"group": _text(s["group"]), "n": _count(s["n"]),
                      "events": _count(s["n_events"]), "censored": _count(s["n_censored"]),
                      f"median, {unit} (95% CI)": _est_ci(s[cols[0]], s[cols[1]], s[cols[2]],
                                                          d, NOT_REACHED)}))]
    lm = km.landmarks
    if len(lm):
        est = _est_ci(lm["estimate"], lm["ci_lower"], lm["ci_upper"], 3)
        note = lm["note"].fillna("") if "note" in lm else pd.Series("", index=lm.index)
        out.append((f"Landmarks: still event-free (95% CI) at {unit}", pd.DataFrame({
            "group": _text(lm["group"]), unit: lm[unit].map(lambda v: f"{v:g}"),
            "estimate (95% CI)": est.where(note == "", note),
            "n at risk": _count(lm["n_risk"]).where(note == "", "0")})))
    at = km.at_risk
    if len(at):
        wide = at.pivot(index="group", columns=unit, values="n_risk")
        table = pd.DataFrame({"group": [str(g) for g in wide.index]})
        for t in wide.columns:
            table[f"{t:g}"] = [str(int(v)) for v in wide[t]]
        out.append((f"Number at risk ({unit})", table))
    return out


def _cox(cox: Any) -> list[Section]:
    p = cox.params
    if p.get("variance") == "robust":
        how = f"robust SEs clustered on {p.get('cluster')} ({p.get('n_clusters')} clusters)"
    else:
        how = "naive (model-based) SEs"
    refs = ", ".join(f"{k} = {v}" for k, v in (p.get("reference") or {}).items())
    s = cox.summary
    ph = cox.ph_test.set_index("term")["p"] if len(cox.ph_test) else pd.Series(dtype=float)
    table = pd.DataFrame({
        "term": _text(s["term"]),
        "HR (95% CI)": _est_ci(s["estimate"], s["ci_lower"], s["ci_upper"]),
        "SE": _num(s["se"]), "p": _p(s["p"]),
        "PH test p": _p(s["covariate"].map(ph)),
    })
    out: list[Section] = [(f"Cox proportional hazards (Efron ties; {how}"
                           + (f"; reference {refs}" if refs else "") + ")", table)]
    names = {"likelihood_ratio": "likelihood ratio", "wald": "Wald",
             "score": "score (log-rank)", "robust_score": "robust score"}
    t = cox.tests
    if len(t):
        out.append(("Global tests", pd.DataFrame({
            "test": t["test"].map(lambda v: names.get(v, v)), "chi2": _num(t["statistic"], 3),
            "df": _count(t["df"]), "p": _p(t["p"]),
            "assumes independent rows": t["assumes_independence"].map(
                lambda v: "yes" if v else "")})))
    se = cox.concordance_counts.get("std_err", float("nan"))
    out.append((f"concordance {format_number(cox.concordance, 3)} (SE {format_number(se, 3)})"
                f"; PH global test p {format_p(ph.get('GLOBAL', float('nan')))}", None))
    return out


# ------------------------------------------------------------------------------ prediction

def _prediction(result: Any) -> list[Section]:
    s = result.summary
    out: list[Section] = []
    if len(s):
        table = pd.DataFrame({"model": _text(s["model"]), "metric": _text(s["metric"])})
        for col in ("apparent", "optimism", "corrected"):
            table[col] = _num(s[col], 3)
        table["CV mean [2.5-97.5 percentile]"] = [
            "" if pd.isna(m) else f"{format_number(m, 3)} [{format_number(a, 3)} to "
            f"{format_number(b, 3)}]"
            for m, a, b in zip(s["cv_mean"], s["cv_lower"], s["cv_upper"], strict=True)]
        n = s["n"].iloc[0] if "n" in s else None
        events = s["n_events"].iloc[0] if "n_events" in s else None
        out.append((f"Performance (n {n}, events {events}): apparent; bootstrap optimism-"
                    "corrected (Harrell); cross-validated over repeats", table))
    imp = result.importance
    if len(imp):
        out.append(("Permutation importance (drop in cross-validated AUC)", pd.DataFrame({
            "model": _text(imp["model"]), "predictor": _text(imp["predictor"]),
            "importance": _num(imp["importance"], 3), "SD": _num(imp["sd"], 3)})))
    return out


def _external(result: Any) -> list[Section]:
    s = result.summary
    out: list[Section] = [(f"External validation of {result.params.get('model', 'the model')}",
                           pd.DataFrame({"metric": _text(s["metric"]),
                                         "estimate (95% CI)": _est_ci(
                                             s["estimate"], s["ci_lower"], s["ci_upper"], 3)}))]
    r = result.recalibrated
    if len(r):
        out.append(("Recalibrated", pd.DataFrame({
            "method": _text(r["method"]), "intercept": _num(r["intercept"], 3),
            "slope": _num(r["slope"], 3), "mean predicted": _num(r["mean_predicted"], 3)})))
    return out


_MAKERS: dict[str, Callable[[Any], list[Section]]] = {
    "Remission": _remission,
    "Survival": _survival,
    "KaplanMeier": _kaplan_meier,
    "Cox": _cox,
    "Prediction": _prediction,
    "ExternalValidation": _external,
}

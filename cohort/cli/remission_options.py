"""The remission rule shared by ``cohort analyze remission`` and ``cohort analyze predict``.

Its choices (enums), the command-line options of the rule and of the population, and the
helpers both commands use: parsing the options into a ``RemissionRule``, splitting
``--population``, usage errors, warnings to stderr, JSON output and number formatting.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Any

import typer

from cohort.cli.app import OutputFormat
from cohort.cli.vocabulary import hidden, resolve_visits, split_names


class Combine(StrEnum):
    """How the markers' rises combine."""

    any = "any"
    all = "all"


class BelowLimit(StrEnum):
    """Handling of an undetectable baseline C-peptide."""

    exclude = "exclude"
    rise = "rise"


class Partial(StrEnum):
    """Subjects with a marker that cannot be judged."""

    decide = "decide"
    available = "available"


class Method(StrEnum):
    """Logistic estimators (auto: Firth below 10 events per variable, else ML)."""

    auto = "auto"
    ml = "ml"
    firth = "firth"


class Population(StrEnum):
    """Who enters the model."""

    all = "all"
    treated = "treated"


class CIMethod(StrEnum):
    """Intervals reported as ci_lower/ci_upper."""

    profile = "profile"
    wald = "wald"


# the remission-rule options, shared by both commands
THRESHOLD = typer.Option(10.0, "--threshold", min=0.0,
                         help="Minimum rise from baseline, in percent (Lu 2021: 10).")
EXCLUSIVE = typer.Option(False, "--exclusive",
                         help="The rise must exceed the threshold (default: a rise of exactly "
                         "the threshold counts).")
MARKERS = typer.Option([], "--marker",
                       help="C-peptide marker of the rule (repeatable): CPEP_FAST, CPEP_PP "
                       "(any case); default both.")
OLD_MARKERS = hidden(None, "--markers", new="--marker")
COMBINE = typer.Option(Combine.any, "--combine", case_sensitive=False,
                       help="any: a rise in fasting and/or postprandial C-peptide (published); "
                       "all: in every marker.")
VISIT_DAY = typer.Option(None, "--visit-days", min=1,
                         help="Study day of the assessment, one day (default 365 = 1 year), "
                         "with a nearest-day window; on data with visit labels and a baseline "
                         "flag the labelled visit nearest this day is assessed unless "
                         "--visit-days or --window is given.")
OLD_VISIT_DAY = hidden(None, "--visit-day", new="--visit-days")
WINDOW = typer.Option(None, "--window",
                      help="Assessment-window half-width in days around --visit-days "
                      "(default: 15% of the day).")
BASELINE_WINDOW = typer.Option("-90,0", "--baseline-window",
                               help="Baseline window LOWER,UPPER in study days (the last value "
                               "in it is the baseline), e.g. --baseline-window=-90,0.")
DETECTION_LIMIT = typer.Option(0.0, "--detection-limit", min=0.0,
                               help="C-peptide detection limit in nmol/L; a baseline at or "
                               "below it is undetectable.")
BELOW_LIMIT = typer.Option(BelowLimit.exclude, "--below-limit", case_sensitive=False,
                           help="Undetectable baseline: exclude the marker (reported), or "
                           "count a rise above the limit as a rise.")
PARTIAL = typer.Option(Partial.decide, "--partial", case_sensitive=False,
                       help="A marker that cannot be judged: classify only when the other "
                       "markers decide (decide), or judge on the available markers.")
PREDICTORS = typer.Option(None, "--predictor", "-p",
                          help="Predictor column (repeat the option), e.g. -p "
                          "baseline_cpep_fast_nmol_l -p dose_1e6_cells_per_kg. Columns: "
                          "baseline_cpep_fast_nmol_l, baseline_cpep_pp_nmol_l, "
                          "baseline_hba1c_pct, baseline_insulin_iu_kg_day, "
                          "dose_1e6_cells_per_kg, dose_1e9_cells_total, n_infusions, treated, "
                          "age_years, age_at_diagnosis_years, adult_onset, "
                          "diabetes_duration_years, bmi_kg_m2, sex_male.")
POPULATION = typer.Option(["all"], "--population",
                          help="all subjects, or treated: the treated arm(s) only (the way to "
                          "estimate a dose effect: dose is 0 for every control); and/or a "
                          "subjects flag selecting the analysed subjects in every table (ITT "
                          "for ADaM ITTFL = Y, SAFFL, ...); repeatable.")
MAPPING = typer.Option(None, "--mapping", "-m", help="Mapping file (YAML) or preset name.")
FORMAT = typer.Option(OutputFormat.text, "--format", "-f", case_sensitive=False,
                      help="text: tables on the terminal; json: one JSON document on stdout.")


def split_population(values: list[str]) -> tuple[str, list[str]]:
    """(who enters the model: all or treated, subjects flags selecting the population)."""
    model = [v for v in values if v.strip().lower() in (Population.all, Population.treated)]
    flags = [v for v in values if v.strip().lower() not in (Population.all,
                                                            Population.treated)]
    return ("treated" if any(v.strip().lower() == "treated" for v in model) else "all"), flags


def usage_error(option: str, message: str) -> Exception:
    # a CohortError, so that @guarded prints one line and exits 2
    from cohort.errors import AnalysisError

    return AnalysisError(f"{option}: {message}")


def _pair(text: str | None, option: str) -> tuple[int, int] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        lo, hi = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (None, None)
    except ValueError:
        lo = hi = None
    if lo is None or hi is None:
        raise usage_error(option, f"expected two integer study days LOWER,UPPER, got {text!r}")
    return lo, hi


def assessment_window(window: str | None, visit_day: int) -> tuple[int, int] | None:
    """``--window N``: days ``visit_day - N`` to ``visit_day + N``. The old form LOWER,UPPER
    (study days) is still accepted; None keeps the rule's default window."""
    if window is None:
        return None
    if "," in window:
        return _pair(window, "--window")
    text = window.strip()
    if not text.isdigit():
        raise usage_error("--window", f"expected a half-width in whole days (e.g. 30), got "
                          f"{window!r}")
    return visit_day - int(text), visit_day + int(text)


def rule_markers(marker: list[str], old_markers: str | None) -> str:
    """``--marker`` (repeatable) and the old ``--markers a,b`` as the rule's marker list."""
    names = list(dict.fromkeys(m.upper() for m in split_names([*marker, *split_names(
        old_markers)])))
    return ",".join(names) if names else "CPEP_FAST,CPEP_PP"


def rule_at_visit(rule: Any, cohort: Any) -> Any:
    """The rule with its ``--visit`` label as the cohort spells it (any case)."""
    if getattr(rule, "visit_label", None) is None:
        return rule
    from dataclasses import replace

    return replace(rule, visit_label=resolve_visits([rule.visit_label], cohort)[0])


def remission_rule(threshold: float, exclusive: bool, markers: str, combine: Combine,
                   visit_day: int | None, window: str | None, baseline_window: str,
                   detection_limit: float, below_limit: BelowLimit, partial: Partial,
                   visit: list[str] | None = None) -> Any:
    """The rule of the options; ``--visit LABEL`` (one) assesses that labelled visit, an
    explicit ``--visit-days`` or ``--window`` the nearest-day window."""
    from cohort.derive.remission import RemissionRule

    if visit and len(visit) > 1:
        raise usage_error("--visit", f"remission is assessed at one visit; got {len(visit)} "
                          f"({', '.join(map(repr, visit))})")
    by_day = visit_day is not None or window is not None
    if visit and by_day:
        raise usage_error("--visit", "give the assessment visit by label (--visit) or by day "
                          "(--visit-days, --window), not both")
    names = tuple(m.strip().upper() for m in markers.split(",") if m.strip())
    day = 365 if visit_day is None else visit_day
    return RemissionRule(threshold_pct=threshold, inclusive=not exclusive, markers=names,
                         combine=combine.value, visit_day=day,
                         visit_window=assessment_window(window, day),
                         baseline_window=_pair(baseline_window, "--baseline-window"),
                         detection_limit=detection_limit, below_limit=below_limit.value,
                         partial=partial.value, visit_label=visit[0] if visit else None,
                         by_day=by_day)


@contextmanager
def warnings_to_stderr() -> Iterator[None]:
    """Show the analysis' warnings as one line each on stderr (stdout stays clean)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen = set()
            for w in caught:
                text = str(w.message)
                if text not in seen:
                    seen.add(text)
                    typer.echo(f"cohort: warning: {text}", err=True)


def emit_json(doc: dict[str, Any]) -> None:
    typer.echo(json.dumps(doc, allow_nan=False))



def num(v: Any, digits: int = 3) -> str:
    import math

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)

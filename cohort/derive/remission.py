"""C-peptide remission (Lu 2021): the rule and each subject's status.

The per-subject data set for remission models (status plus candidate predictors) is
:func:`cohort.derive.remission_dataset.remission_dataset`.

**The published rule** (Lu et al. 2021, Stem Cell Res Ther 12:340): clinical remission is an
increase of at least 10% from baseline in fasting and/or postprandial C-peptide at the 1-year
visit. :class:`RemissionRule` makes every part of it explicit and configurable:

* ``threshold_pct`` (10) and ``inclusive`` (a rise of exactly 10% counts; ``False``: it must
  exceed 10%). Percent changes on the threshold up to floating-point error count as equal
  to it (:func:`cohort.derive.thresholds.meets_threshold`, the rule responder criteria use
  too), so binary floating point cannot turn 0.30 -> 0.33 nmol/L (exactly +10%) into a
  non-remission.
* ``markers`` (``CPEP_FAST``, ``CPEP_PP``) and ``combine``: ``"any"`` (and/or, published) or
  ``"all"`` (both must rise).
* the assessment visit: ``visit_day`` (365) and its window (default: the project's default
  window of 15% of the day, days 310-420); the value nearest the nominal day counts.
* the baseline: the last value on or before day 0 within ``baseline_window`` (-90, 0).
* **visits by label**: when the C-peptide records carry visit labels and a baseline flag
  (ADaM ``AVISIT``, ``ABLFL``, ``ANL01FL``), they define the assessment as in the trial's own
  analyses: the analysis record at the visit ``visit_label`` and the record flagged as
  baseline (:mod:`cohort.derive.visit_labels`). Without ``visit_label`` the labelled visit
  nearest ``visit_day`` (median study day inside the window) is taken; ``by_day=True`` uses
  the nearest-day window even then (:func:`resolve_remission_visit`).
* **zero or undetectable baseline**: a percent change from 0 is undefined. A baseline at or
  below ``detection_limit`` (nmol/L; default 0, i.e. only exact zeros; set it to your assay's
  limit, e.g. 0.003 nmol/L) is handled by ``below_limit``: ``"exclude"`` (default: that marker
  cannot be judged, with the reason reported) or ``"rise"`` (a rise from below the limit to
  above it counts as a rise; staying at or below it does not).
* a marker that cannot be judged (no baseline, no value in the window, undetectable baseline
  with ``"exclude"``): with ``partial="decide"`` (default) the subject is still classified
  when the other markers decide it (``any``: one marker rose; ``all``: one did not), and is
  otherwise excluded with the reason; with ``partial="available"`` the subject is judged on
  the markers that can be judged (at least one).

Nothing is inf or NaN silently: every subject of the universe gets a row, with ``remission``
NA and a ``reason`` when it cannot be determined (see
:func:`cohort.derive.universe.split_exclusions`).

C-peptide values are in nmol/L (the contract's canonical unit).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW
from cohort.derive.change import change_from_baseline
from cohort.derive.thresholds import meets_threshold
from cohort.derive.universe import subject_universe
from cohort.derive.visit_labels import (
    change_at_labels,
    has_visit_labels,
    nearest_label,
    resolve_visit_labels,
)
from cohort.derive.visit_windows import Visit, default_half_width
from cohort.errors import AnalysisError

__all__ = ["MARKERS", "RemissionRule", "derive_remission", "resolve_remission_visit"]

MARKERS = ("CPEP_FAST", "CPEP_PP")
"""C-peptide markers a remission rule may use (nmol/L)."""


@dataclass(frozen=True)
class RemissionRule:
    """A C-peptide remission definition (defaults: Lu 2021).

    Parameters
    ----------
    threshold_pct : float
        Minimum rise from baseline, in percent of baseline (10).
    inclusive : bool
        A rise of exactly ``threshold_pct`` counts (True) or must be exceeded (False).
    markers : tuple of str
        Any of ``"CPEP_FAST"``, ``"CPEP_PP"`` (C-peptide, nmol/L).
    combine : {"any", "all"}
        ``"any"``: a rise in at least one marker (the published "and/or"); ``"all"``: in
        every marker.
    visit_day : int
        Nominal study day of the assessment (365 = 1 year).
    visit_window : (int, int) or None
        Inclusive window of study days; None: ``visit_day`` +/- 15% (at least 7 days).
    baseline_window : (int, int)
        Inclusive window for the baseline (last value on or before day 0).
    detection_limit : float
        C-peptide detection limit in nmol/L; a baseline at or below it is undetectable.
    below_limit : {"exclude", "rise"}
        Undetectable baseline: the marker cannot be judged (``"exclude"``), or it rose when
        the visit value is above the limit (``"rise"``).
    partial : {"decide", "available"}
        Subjects with a marker that cannot be judged: classify only when the other markers
        decide (``"decide"``), or judge on the markers available (``"available"``).
    visit_label : str or None
        The assessment visit by label (``"Week 52"``, ADaM ``AVISIT``): the markers' analysis
        records at that visit and their flagged baselines; ``visit_day``, ``visit_window`` and
        ``baseline_window`` are then not used. None: see ``by_day``.
    by_day : bool
        Use the nearest-day window around ``visit_day`` even when the data carry visit labels
        and a baseline flag (default False: such data are assessed at the labelled visit
        nearest ``visit_day``).
    """

    threshold_pct: float = 10.0
    inclusive: bool = True
    markers: tuple[str, ...] = MARKERS
    combine: Literal["any", "all"] = "any"
    visit_day: int = 365
    visit_window: tuple[int, int] | None = None
    baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW
    detection_limit: float = 0.0
    below_limit: Literal["exclude", "rise"] = "exclude"
    partial: Literal["decide", "available"] = "decide"
    label: str = field(default="", compare=False)
    visit_label: str | None = None
    by_day: bool = False

    def __post_init__(self) -> None:
        markers = tuple(self.markers)
        object.__setattr__(self, "markers", markers)
        bad = [m for m in markers if m not in MARKERS]
        if not markers or bad or len(set(markers)) != len(markers):
            raise AnalysisError(f"markers must be distinct values among {list(MARKERS)}; got "
                                f"{list(markers)}")
        if not np.isfinite(self.threshold_pct) or self.threshold_pct < 0:
            raise AnalysisError(f"threshold_pct must be a percentage >= 0, got "
                                f"{self.threshold_pct!r}")
        if self.combine not in ("any", "all"):
            raise AnalysisError(f"combine must be 'any' or 'all', got {self.combine!r}")
        if self.below_limit not in ("exclude", "rise"):
            raise AnalysisError(f"below_limit must be 'exclude' or 'rise', got "
                                f"{self.below_limit!r}")
        if self.partial not in ("decide", "available"):
            raise AnalysisError(f"partial must be 'decide' or 'available', got {self.partial!r}")
        if not np.isfinite(self.detection_limit) or self.detection_limit < 0:
            raise AnalysisError(f"detection_limit must be >= 0 nmol/L, got "
                                f"{self.detection_limit!r}")
        if isinstance(self.visit_day, bool) or not isinstance(self.visit_day, int | np.integer) \
                or self.visit_day < 1:
            raise AnalysisError(f"visit_day must be a study day >= 1, got {self.visit_day!r}")
        self.visit  # noqa: B018 - validates the window
        if self.visit_label is not None and (not isinstance(self.visit_label, str)
                                             or not self.visit_label.strip()):
            raise AnalysisError(f"visit_label must be a visit label such as 'Week 52', got "
                                f"{self.visit_label!r}")
        if self.visit_label is not None and self.by_day:
            raise AnalysisError("give the assessment visit by label (visit_label, --visit) or "
                                "by day (by_day, --visit-days, --window), not both")

    @property
    def visit(self) -> Visit:
        """The assessment visit with its window."""
        if self.visit_window is None:
            half = default_half_width(int(self.visit_day))
            lo, hi = max(1, int(self.visit_day) - half), int(self.visit_day) + half
        else:
            lo, hi = (int(self.visit_window[0]), int(self.visit_window[1]))
        label = self.label or f"day {int(self.visit_day)}"
        return Visit(label, int(self.visit_day), lo, hi)

    def describe(self) -> str:
        """The rule in one sentence (for notes and reports)."""
        op = ">=" if self.inclusive else ">"
        names = {"CPEP_FAST": "fasting", "CPEP_PP": "postprandial"}
        which = (" and/or " if self.combine == "any" else " and ").join(
            names[m] for m in self.markers)
        v = self.visit
        if self.visit_label is not None:
            text = (f"rise {op} {self.threshold_pct:g}% from baseline in {which} C-peptide at "
                    f"visit {self.visit_label!r} (its analysis records, ADaM ANL01FL; "
                    "baseline: the record flagged as baseline, ADaM ABLFL)")
        else:
            text = (f"rise {op} {self.threshold_pct:g}% from baseline in {which} C-peptide at "
                    f"day {v.day} (window {v.lower}-{v.upper}; baseline: last value in days "
                    f"{self.baseline_window[0]} to {self.baseline_window[1]})")
        limit = f"{self.detection_limit:g} nmol/L"
        if self.below_limit == "exclude":
            text += f"; a baseline at or below {limit} cannot be judged"
        else:
            text += (f"; from a baseline at or below {limit}, a visit value above it counts "
                     "as a rise")
        return text


def _marker_status(rule: RemissionRule, frame: pd.DataFrame, marker: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per subject: rise (1.0 / 0.0 / NaN when not judgeable) and a status text.

    Every subject at once: the texts that depend only on a reason or a baseline are
    formatted once per distinct one."""
    base = frame["baseline"].to_numpy(dtype=float)
    value = frame["value"].to_numpy(dtype=float)
    reason = frame["reason"].astype(object).to_numpy()
    n = len(frame)
    rise = np.full(n, np.nan)
    status = np.empty(n, dtype=object)
    limit = rule.detection_limit
    t = rule.threshold_pct
    has_reason = np.array([isinstance(r, str) for r in reason], dtype=bool)
    _format(status, reason, has_reason, lambda r: f"not judged: {r}")
    low = ~has_reason & (base <= limit)
    if rule.below_limit == "exclude":
        _format(status, base, low, lambda b: (
            f"not judged: baseline {marker} {b:g} nmol/L is at or below the detection limit "
            f"{limit:g} nmol/L (percent change undefined)"))
    else:
        up = value > limit
        rise[low] = up[low].astype(float)
        status[low & up] = "rise from an undetectable baseline"
        status[low & ~up] = "no rise (undetectable at baseline and visit)"
    judged = ~has_reason & ~low
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pct = 100.0 * (value[judged] - base[judged]) / base[judged]
    ok = np.asarray(meets_threshold(pct, ">=" if rule.inclusive else ">", t), dtype=bool)
    rise[judged] = ok.astype(float)
    status[judged] = np.array([f"{'rise' if o else 'no rise'} ({p:+.1f}%)"
                               for o, p in zip(ok.tolist(), pct.tolist(), strict=True)],
                              dtype=object)
    return rise, status


def _format(out: np.ndarray, keys: np.ndarray, rows: np.ndarray, text) -> None:
    """``out[rows] = text(key)``, each distinct key formatted once."""
    if not rows.any():
        return
    code, uniques = pd.factorize(keys[rows])
    out[rows] = np.array([text(k) for k in uniques], dtype=object)[code]


def resolve_remission_visit(measurements: pd.DataFrame, rule: RemissionRule) -> RemissionRule:
    """The rule with its assessment visit settled: by label or by day.

    A rule with ``visit_label`` is checked against the data (the label must be a
    post-baseline visit of the markers' analysis records). A rule without it, on data whose
    markers all carry visit labels and a baseline flag, gets the labelled visit nearest
    ``visit_day`` (:func:`cohort.derive.visit_labels.nearest_label`), unless ``by_day``.
    Otherwise the rule is returned unchanged (nearest-day window).
    """
    markers = [m for m in rule.markers if (measurements["param"] == m).any()]
    if rule.visit_label is not None:
        resolve_visit_labels(measurements, markers or list(rule.markers),
                             visit_labels_=[rule.visit_label])
        return rule
    if rule.by_day or not markers or not all(has_visit_labels(measurements, m)
                                             for m in markers):
        return rule
    v = rule.visit
    label = nearest_label(measurements, markers, day=v.day, window=(v.lower, v.upper))
    return replace(rule, visit_label=label)


def derive_remission(measurements: pd.DataFrame, *, rule: RemissionRule | None = None,
                     subjects: pd.DataFrame | Iterable[str] | None = None) -> pd.DataFrame:
    """Classify every subject as in remission or not by a C-peptide rule.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements; C-peptide in nmol/L.
    rule : RemissionRule, keyword-only
        The definition (default: Lu 2021, see :class:`RemissionRule`).
    subjects : DataFrame, iterable of str or None, keyword-only
        The subject universe (default: every subject with a measurement).

    Returns
    -------
    DataFrame
        One row per subject: ``subject_id``; ``remission`` (boolean, NA when it cannot be
        determined); ``n_markers_judged``; ``reason`` (NA when determined, else why not);
        per marker ``m`` (lower case, e.g. ``cpep_fast``): ``m_baseline``, ``m_baseline_day``,
        ``m_value``, ``m_day`` (nmol/L and study days), ``m_pct_change`` (percent of
        baseline; NaN when undefined), ``m_rise`` (boolean, NA when not judged),
        ``m_status`` (text).

    Raises
    ------
    AnalysisError
        A marker of the rule has no measurement at all in the cohort (name it in
        ``markers`` only if it was measured).
    """
    rule = resolve_remission_visit(measurements, rule or RemissionRule())
    ids = subject_universe(measurements, subjects)
    visit = rule.visit
    out = pd.DataFrame({"subject_id": ids.to_numpy(dtype=object)})
    rises = []
    statuses = []
    for marker in rule.markers:
        if rule.visit_label is not None:
            cb = change_at_labels(measurements, marker, [rule.visit_label], subjects=ids)
        else:
            cb = change_from_baseline(measurements, marker, [visit],
                                      baseline_window=rule.baseline_window, subjects=ids)
        cb = cb.set_index("subject_id").reindex(ids).reset_index()
        rise, status = _marker_status(rule, cb, marker)
        m = marker.lower()
        pct = cb["pct_change"].to_numpy(dtype=float)
        pct = np.where(np.isfinite(pct), pct, np.nan)
        out[f"{m}_baseline"] = cb["baseline"].to_numpy(dtype=float)
        out[f"{m}_baseline_day"] = cb["baseline_day"].to_numpy()
        out[f"{m}_value"] = cb["value"].to_numpy(dtype=float)
        out[f"{m}_day"] = cb["day"].to_numpy()
        out[f"{m}_pct_change"] = pct
        out[f"{m}_rise"] = pd.array(np.where(np.isnan(rise), None, rise == 1), dtype="boolean")
        out[f"{m}_status"] = pd.array(status, dtype="string")
        rises.append(rise)
        statuses.append(status)
    r = np.column_stack(rises)
    judged = ~np.isnan(r)
    n_judged = judged.sum(axis=1)
    yes = (r == 1).any(axis=1)
    no = (r == 0).any(axis=1)
    all_judged = judged.all(axis=1)
    if rule.combine == "any":
        decided_true = yes
        decided_false = ~yes & (all_judged | (rule.partial == "available") & (n_judged > 0))
    else:
        decided_true = ~no & (all_judged | (rule.partial == "available") & (n_judged > 0))
        decided_false = no
    remission = np.where(decided_true, 1.0, np.where(decided_false, 0.0, np.nan))
    reasons = np.full(len(ids), None, dtype=object)
    for i in np.flatnonzero(np.isnan(remission)):
        parts = [f"{mk}: {statuses[k][i].removeprefix('not judged: ')}"
                 for k, mk in enumerate(rule.markers) if np.isnan(r[i, k])]
        if n_judged[i] == 0:
            reasons[i] = "remission undetermined: " + "; ".join(parts)
        else:
            reasons[i] = ("remission undetermined: the judged marker(s) do not decide it and "
                          + "; ".join(parts))
    out.insert(1, "remission", pd.array(np.where(np.isnan(remission), None, remission == 1),
                                        dtype="boolean"))
    out.insert(2, "n_markers_judged", n_judged.astype(np.int64))
    out.insert(3, "reason", pd.array(reasons, dtype="string"))
    return out

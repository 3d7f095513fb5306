"""Insulin-free episodes from ``INSULIN_DOSE`` records: entry, resumption, censoring.

Definitions (days are integer study days; day 0 is the first infusion for treated subjects and
randomisation or enrolment for controls; doses are in IU/kg/day, the contract's canonical unit):

* A record is **insulin-free** when its dose is ``<= rule.zero_dose`` (default 0 IU/kg/day).
* A **run** is a maximal sequence of consecutive insulin-free records of one subject (ordered by
  day, records before ``rule.from_day`` ignored).
* **Entry into independence** is the first record of a run that *qualifies* under
  :class:`~cohort.derive.insulin_rule.IndependenceRule`: at least ``min_records`` records
  and/or a span of at least ``min_days`` from its first to its last record (``combine``),
  optionally with an HbA1c below ``hba1c_below`` % nearest the entry day within
  ``hba1c_window_days``.
* **Resumption** is the first record after a qualifying run with a dose above ``zero_dose``.
* An episode without resumption is **censored** at the end of observation: ``last_contact_day``
  of the subject, or the onset day of a death (an adverse event whose ``term`` is one of
  ``rule.death_terms``, compared case-insensitively) if that is earlier. ``rule.death_as``
  decides whether a death ends the episode as a censoring (default) or as an event. Insulin
  records after a death are ignored and reported.
* A subject can have several episodes (independence, resumption, independence again, ...).

Both views of each episode are kept, because resumption is only seen at visits:

* exact-time view: ``stop_day - entry_day`` (``duration_days``), with ``stop_day`` the first
  record back on insulin (events) or the censoring day;
* interval view: the resumption happened after ``last_free_day`` (the last insulin-free record)
  and on or before ``resume_day`` (the first record back on insulin).

:func:`cohort.derive.episode_times.episode_times` puts both views on the chosen clock (time
since insulin stop, or study days since the first infusion).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cohort.derive.insulin_rule import IndependenceRule
from cohort.derive.universe import as_text, positions
from cohort.errors import AnalysisError

__all__ = [
    "EPISODE_COLUMNS",
    "InsulinEpisodes",
    "insulin_episodes",
]

INSULIN = "INSULIN_DOSE"
HBA1C = "HBA1C"

EPISODE_COLUMNS = [
    "subject_id", "episode", "entry_day", "last_insulin_day", "n_free_records",
    "last_free_day", "resume_day", "stop_day", "event", "status", "duration_days",
    "hba1c_entry", "hba1c_day",
]
"""Columns of :attr:`InsulinEpisodes.episodes`, documented in :func:`insulin_episodes`."""

SUBJECT_COLUMNS = [
    "subject_id", "n_records", "independent", "n_episodes", "n_resumptions",
    "first_entry_day", "end_day", "end_reason", "reason",
]


@dataclass(frozen=True)
class InsulinEpisodes:
    """Insulin-free episodes of a cohort and how each subject got there.

    Attributes
    ----------
    episodes : DataFrame
        One row per episode (columns in :data:`EPISODE_COLUMNS`, see :func:`insulin_episodes`).
    subjects : DataFrame
        One row per subject of the universe: ``subject_id``, ``n_records`` (insulin records
        used), ``independent`` (at least one episode), ``n_episodes``, ``n_resumptions``,
        ``first_entry_day``, ``end_day`` (end of observation: last contact or death),
        ``end_reason`` (``last_contact``/``death``), ``reason`` (why a subject has no episode,
        ``<NA>`` otherwise).
    exclusions : DataFrame
        ``subject_id``, ``reason``: subjects without usable insulin records, subjects who never
        became insulin-independent (with the reason, e.g. ``never insulin-independent
        (insulin-free run too short for the definition): ...``), and ignored records (after a
        death).
    rule : IndependenceRule
        The definition used.
    """

    episodes: pd.DataFrame
    subjects: pd.DataFrame
    exclusions: pd.DataFrame
    rule: IndependenceRule
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """``n_subjects``, ``n_with_records``, ``n_independent``, ``n_episodes``,
        ``n_resumptions``, ``n_censored``, ``n_censored_death``."""
        ep = self.episodes
        return {
            "n_subjects": len(self.subjects),
            "n_with_records": int((self.subjects["n_records"] > 0).sum()),
            "n_independent": int(self.subjects["independent"].sum()),
            "n_episodes": len(ep),
            "n_resumptions": int((ep["status"] == "resumed").sum()),
            "n_censored": int((~ep["event"]).sum()),
            "n_censored_death": int(((ep["status"] == "death") & ~ep["event"]).sum()),
        }


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AnalysisError(f"{name} has no column(s) {', '.join(missing)}; expected the "
                            f"contract's {name} table (columns {', '.join(columns)})")


def _int_days(values: pd.Series, what: str) -> np.ndarray:
    if values.isna().any():
        raise AnalysisError(f"{what} has {int(values.isna().sum())} missing values; study days "
                            "are required")
    arr = values.to_numpy(dtype=float)
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        raise AnalysisError(f"{what} must be integer study days")
    return arr.astype(np.int64)


def _death_days(adverse_events: pd.DataFrame | None, rule: IndependenceRule) -> pd.Series:
    if adverse_events is None or not rule.death_terms or len(adverse_events) == 0:
        return pd.Series(dtype="float64")
    _require(adverse_events, ["subject_id", "term", "onset_day"], "adverse_events")
    terms = {t.strip().casefold() for t in rule.death_terms}
    marked = adverse_events["term"].astype("string").str.strip().str.casefold().isin(terms)
    dead = adverse_events.loc[marked.fillna(False).to_numpy(dtype=bool)]
    if dead.empty:
        return pd.Series(dtype="float64")
    days = pd.Series(_int_days(dead["onset_day"], "adverse_events.onset_day"),
                     index=dead["subject_id"].astype(str).to_numpy(), dtype="float64")
    return days.groupby(level=0).min()


def _nearest_hba1c(measurements: pd.DataFrame, runs: pd.DataFrame,
                   window: int) -> tuple[np.ndarray, np.ndarray]:
    """HbA1c (%) nearest each run's first day within +-window days (earlier wins ties).

    The HbA1c records are sorted once by subject and day; each run looks up its first day
    with a binary search and compares the record just before it with the one at or after it.
    """
    value = np.full(len(runs), np.nan)
    day = np.full(len(runs), np.nan)
    is_hb = (measurements["param"].astype(str) == HBA1C).to_numpy()
    if not is_hb.any() or runs.empty:
        return value, day
    ids = pd.Index(runs["subject_id"].unique())
    h_code = positions(pd.Index(as_text(measurements["subject_id"][is_hb]).to_numpy()), ids)
    h_day = _int_days(measurements["day"][is_hb], "measurements.day")
    h_value = measurements["value"].to_numpy(dtype=float, na_value=np.nan)[is_hb]
    keep = h_code >= 0
    h_code, h_day, h_value = h_code[keep], h_day[keep], h_value[keep]
    if len(h_code) == 0:
        return value, day
    r_code = positions(pd.Index(runs["subject_id"].to_numpy()), ids)
    r_day = runs["first_day"].to_numpy(dtype=float).astype(np.int64)
    lo = min(int(h_day.min()), int(r_day.min()))
    span = max(int(h_day.max()), int(r_day.max())) - lo + 1
    h_key = h_code * span + (h_day - lo)
    order = np.argsort(h_key, kind="stable")
    h_key, h_day, h_value = h_key[order], h_day[order], h_value[order]
    r_key = r_code * span + (r_day - lo)
    at = np.searchsorted(h_key, r_key, side="left")  # first record on or after the day
    n = len(h_key)
    after = np.minimum(at, n - 1)
    after_ok = (at < n) & (h_key[after] // span == r_code)
    # the record before the day; of records on the same day, the first in table order
    before = np.searchsorted(h_key, h_key[np.maximum(at - 1, 0)], side="left")
    before_ok = (at > 0) & (h_key[np.maximum(at - 1, 0)] // span == r_code)
    d_after = np.where(after_ok, h_day[after] - r_day, np.iinfo(np.int64).max)
    d_before = np.where(before_ok, r_day - h_day[before], np.iinfo(np.int64).max)
    use_before = d_before <= d_after
    best = np.where(use_before, before, after)
    dist = np.minimum(d_before, d_after)
    found = (before_ok | after_ok) & (dist <= window)
    value[found] = h_value[best[found]]
    day[found] = h_day[best[found]]
    return value, day


def insulin_episodes(measurements: pd.DataFrame, subjects: pd.DataFrame,
                     adverse_events: pd.DataFrame | None = None, *,
                     rule: IndependenceRule | None = None) -> InsulinEpisodes:
    """Derive insulin-free episodes (entry, resumption, censoring) for every subject.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (``subject_id``, ``day``, ``param``, ``value``) in canonical
        units: ``INSULIN_DOSE`` in IU/kg/day, ``HBA1C`` in %.
    subjects : DataFrame
        The subjects table (``subject_id``, ``last_contact_day``); it defines the universe.
    adverse_events : DataFrame, optional
        The adverse-events table (``subject_id``, ``term``, ``onset_day``), searched for deaths.
    rule : IndependenceRule, keyword-only
        The definition (default :class:`IndependenceRule()`).

    Returns
    -------
    InsulinEpisodes
        ``episodes`` has one row per episode with columns: ``subject_id``; ``episode`` (1, 2,
        ... per subject); ``entry_day`` (study day of the first insulin-free record of the
        qualifying run); ``last_insulin_day`` (last record with insulin before it, ``NaN`` if
        none); ``n_free_records``; ``last_free_day`` (last insulin-free record of the run);
        ``resume_day`` (first record back on insulin, ``NaN`` if not seen); ``stop_day``
        (``resume_day``, or the censoring day); ``event`` (bool: resumption, or death when
        ``death_as="event"``); ``status`` (``resumed``, ``death`` or ``last_contact``);
        ``duration_days`` (``stop_day - entry_day``); ``hba1c_entry`` (%) and ``hba1c_day``
        (the HbA1c nearest entry within the rule's window, ``NaN`` if none).

    Raises
    ------
    AnalysisError
        Missing columns, duplicate records, negative or missing doses, insulin records of
        subjects that are not in ``subjects``.

    Examples
    --------
    Couri 2009: 20 of 23 subjects became insulin-free; 8 resumed insulin:

    >>> from cohort import datasets
    >>> from cohort.derive.insulin import insulin_episodes
    >>> couri = datasets.load("couri2009")
    >>> ins = insulin_episodes(couri.measurements, couri.subjects, couri.adverse_events)
    >>> {k: ins.counts()[k] for k in ("n_subjects", "n_independent", "n_resumptions")}
    {'n_subjects': 23, 'n_independent': 20, 'n_resumptions': 8}
    """
    rule = IndependenceRule() if rule is None else rule
    _require(measurements, ["subject_id", "day", "param", "value"], "measurements")
    _require(subjects, ["subject_id", "last_contact_day"], "subjects")
    universe = subjects["subject_id"].astype(str).to_numpy()
    if len(set(universe)) != len(universe):
        raise AnalysisError("subjects.subject_id has duplicates; one row per subject expected")
    last_contact = pd.Series(_int_days(subjects["last_contact_day"], "subjects.last_contact_day"),
                             index=universe, dtype="float64")

    # subjects as integer codes into `universe`: string comparisons on millions of records
    # are what made this slow
    is_ins = (measurements["param"].astype(str) == INSULIN).to_numpy()
    ins_sid = measurements["subject_id"].to_numpy()[is_ins].astype(str)
    code = pd.Index(universe).get_indexer(ins_sid)
    if (code < 0).any():
        unknown = sorted(set(ins_sid[code < 0]))
        raise AnalysisError(f"INSULIN_DOSE records of subjects not in the subjects table: "
                            f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    day = _int_days(measurements["day"][is_ins], "measurements.day (INSULIN_DOSE)")
    value = measurements["value"].to_numpy(dtype=float, na_value=np.nan)[is_ins]
    bad = ~np.isfinite(value) | (value < 0)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise AnalysisError(f"{int(bad.sum())} INSULIN_DOSE values are missing or negative "
                            f"(first: subject {ins_sid[i]}, day {day[i]}, value "
                            f"{value[i]!r}); doses are >= 0 IU/kg/day")
    order = np.lexsort((day, code))
    code, day, value, ins_sid = code[order], day[order], value[order], ins_sid[order]
    dup = np.zeros(len(code), dtype=bool)
    dup[1:] = (code[1:] == code[:-1]) & (day[1:] == day[:-1])
    if dup.any():
        i = np.flatnonzero(dup)[0]
        raise AnalysisError(f"{int(dup.sum())} duplicate INSULIN_DOSE records (first: subject "
                            f"{ins_sid[i]}, day {day[i]}); one record per subject and day "
                            "expected")

    n_subjects = len(universe)
    death = _death_days(adverse_events, rule)
    end_day = last_contact.to_numpy(dtype=float).copy()
    end_reason = np.full(n_subjects, "last_contact", dtype=object)
    dcode = pd.Index(universe).get_indexer(death.index)
    dday = death.to_numpy(dtype=float)
    died = (dcode >= 0) & (dday <= np.where(dcode >= 0, end_day[dcode], np.inf))
    end_day[dcode[died]] = dday[died]
    end_reason[dcode[died]] = "death"
    after = day > end_day[code]
    exclusions = pd.DataFrame(columns=["subject_id", "reason"])
    if after.any():
        n_after = np.bincount(code[after], minlength=n_subjects)
        hit = np.flatnonzero(n_after)
        exclusions = pd.DataFrame({
            "subject_id": universe[hit],
            "reason": [f"{n_after[c]} INSULIN_DOSE record(s) after the end of observation "
                       f"(day {int(end_day[c])}) ignored" for c in hit]})
    keep = ~after & (day >= rule.from_day)
    code, day, value = code[keep], day[keep], value[keep]

    # runs of consecutive records with the same insulin-free state
    free = value <= rule.zero_dose
    new_run = np.ones(len(code), dtype=bool)
    new_run[1:] = (code[1:] != code[:-1]) | (free[1:] != free[:-1])
    first = np.flatnonzero(new_run)
    last = (np.append(first[1:] - 1, len(code) - 1) if len(code)
            else np.zeros(0)).astype(np.int64)
    r_code, r_free = code[first], free[first]
    r_first, r_last = day[first].astype(float), day[last].astype(float)
    r_n = last - first + 1
    same_next = np.append(r_code[1:] == r_code[:-1], False)
    same_prev = np.insert(r_code[1:] == r_code[:-1], 0, False)
    r_resume = np.where(same_next, np.append(r_first[1:], np.nan), np.nan)
    r_last_ins = np.where(same_prev, np.insert(r_last[:-1], 0, np.nan), np.nan)
    fr = r_free
    runs = pd.DataFrame({"code": r_code[fr], "first_day": r_first[fr], "last_day": r_last[fr],
                         "n": r_n[fr], "resume_day": r_resume[fr],
                         "last_insulin_day": r_last_ins[fr]})
    runs["subject_id"] = universe[runs["code"].to_numpy()]

    by_records = runs["n"].to_numpy() >= rule.min_records
    by_days = (runs["last_day"] - runs["first_day"]).to_numpy() >= rule.min_days
    qualifies = by_records & by_days if rule.combine == "all" else by_records | by_days
    hb_value, hb_day = _nearest_hba1c(measurements, runs, rule.hba1c_window_days)
    run_reason = np.where(qualifies, "", "insulin-free run too short for the definition")
    if rule.hba1c_below is not None:
        no_hb = qualifies & np.isnan(hb_value)
        high = qualifies & ~np.isnan(hb_value) & ~(hb_value < rule.hba1c_below)
        run_reason = np.where(no_hb, f"no HbA1c within {rule.hba1c_window_days} days of "
                              "insulin stop", run_reason)
        run_reason = np.where(high, f"HbA1c not below {rule.hba1c_below:g}% at insulin stop",
                              run_reason)
        qualifies = qualifies & ~no_hb & ~high

    q = qualifies
    e_code = runs["code"].to_numpy()[q]
    resume = runs["resume_day"].to_numpy()[q]
    resumed = ~np.isnan(resume)
    status = np.where(resumed, "resumed", end_reason[e_code]).astype(object)
    stop_day = np.where(resumed, resume, end_day[e_code])
    event = resumed | ((status == "death") & (rule.death_as == "event"))
    new_subject = np.insert(e_code[1:] != e_code[:-1], 0, True)[:len(e_code)]
    starts = np.flatnonzero(new_subject)
    episode_no = np.arange(len(e_code)) - np.repeat(starts, np.diff(np.append(starts,
                                                                              len(e_code)))) + 1
    entry = runs["first_day"].to_numpy()[q]
    episodes = pd.DataFrame({
        "subject_id": universe[e_code].astype(object),
        "episode": episode_no.astype(np.int64),
        "entry_day": entry.astype(np.int64),
        "last_insulin_day": runs["last_insulin_day"].to_numpy()[q],
        "n_free_records": runs["n"].to_numpy()[q].astype(np.int64),
        "last_free_day": runs["last_day"].to_numpy()[q].astype(np.int64),
        "resume_day": resume,
        "stop_day": stop_day.astype(float),
        "event": event.astype(bool),
        "status": status,
        "duration_days": stop_day - entry,
        "hba1c_entry": hb_value[q],
        "hba1c_day": hb_day[q],
    })[EPISODE_COLUMNS]

    n_records = np.bincount(code, minlength=n_subjects)
    n_episodes = np.bincount(e_code, minlength=n_subjects)
    first_entry = np.full(n_subjects, np.nan)
    first_entry[e_code[starts]] = entry[starts]
    # why a subject has no episode: its last failed run says the most
    reason = np.full(n_subjects, None, dtype=object)
    failed_code = runs["code"].to_numpy()[~q]
    reason[failed_code] = run_reason[~q]  # later runs overwrite earlier ones
    no_records = n_records == 0
    reason[no_records] = "no INSULIN_DOSE records"
    never = ~no_records & (n_episodes == 0)
    reason[never & pd.isna(reason)] = "never insulin-free"
    reason[n_episodes > 0] = None
    per = pd.DataFrame({
        "subject_id": universe.astype(object),
        "n_records": n_records.astype(np.int64),
        "independent": n_episodes > 0,
        "n_episodes": n_episodes.astype(np.int64),
        "n_resumptions": np.bincount(e_code[status == "resumed"],
                                     minlength=n_subjects).astype(np.int64),
        "first_entry_day": first_entry,
        "end_day": end_day.astype(np.int64),
        "end_reason": end_reason,
        "reason": pd.Series(reason, dtype=object).where(pd.notna(reason), pd.NA),
    })[SUBJECT_COLUMNS]

    excl = pd.concat([
        exclusions,
        pd.DataFrame({"subject_id": universe[no_records],
                      "reason": f"no INSULIN_DOSE records on or after day {rule.from_day}"}),
        # they have records but no episode: no time to resumption, so they are not in the
        # analysis either, and say why (not only in the counts)
        pd.DataFrame({"subject_id": universe[never],
                      "reason": [f"never insulin-independent ({r}): no time to insulin "
                                 "resumption" for r in reason[never]]}),
    ], ignore_index=True)
    notes = [f"insulin independence: {rule.describe()}"]
    if len(death):
        notes.append(f"{int(died.sum())} subject(s) with a death "
                     f"({', '.join(rule.death_terms)}); a death "
                     f"{'censors' if rule.death_as == 'censor' else 'ends'} an episode"
                     f"{'' if rule.death_as == 'censor' else ' as an event'}")
    return InsulinEpisodes(episodes=episodes, subjects=per, exclusions=excl, rule=rule,
                           notes=notes)

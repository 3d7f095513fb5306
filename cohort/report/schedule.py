"""The visit schedule of a cohort, read from its data, for reports on cohorts without a recipe.

A report on a user's cohort does not know the trial's nominal visits. They are inferred from
one parameter's follow-up records (study day >= 1): from the ``visit`` labels when the data
have them (the nominal day of a label is the median day of its records; a label whose records
spread far wider than a visit window, such as "last follow-up", is not a nominal visit), else
from clusters of record days. Windows then come from :func:`cohort.derive.visit_windows.make_visits`
(15% of the day, at least 7 days, split where they would overlap).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohort.derive.visit_values import LAST_VISIT_LABEL
from cohort.derive.visit_windows import Visit, default_half_width, make_visits

__all__ = ["infer_visits", "visit_table"]


def _label_groups(rows: pd.DataFrame) -> list[tuple[str, int, int]]:
    """(label, nominal day, subjects) for each label that behaves like a nominal visit."""
    out = []
    for label, g in rows.groupby(rows["visit"].astype(str), sort=False):
        if label.strip().casefold() == LAST_VISIT_LABEL:
            continue
        days = g["day"].to_numpy(dtype=float)
        nominal = round(float(np.median(days)))
        if nominal < 1:
            continue
        if np.ptp(days) > 2 * default_half_width(nominal) + 1:
            continue
        out.append((str(label), nominal, int(g["subject_id"].nunique())))
    return out


def _day_clusters(rows: pd.DataFrame) -> list[tuple[str, int, int]]:
    """(label, nominal day, subjects) for clusters of record days separated by gaps wider
    than a default visit window."""
    days = np.sort(rows["day"].to_numpy(dtype=np.int64))
    if days.size == 0:
        return []
    start = 0
    clusters = []
    for i in range(1, days.size + 1):
        if i == days.size or days[i] - days[i - 1] > default_half_width(int(days[i - 1])):
            clusters.append(days[start:i])
            start = i
    out = []
    for c in clusters:
        nominal = round(float(np.median(c)))
        lo, hi = int(c.min()), int(c.max())
        n = int(rows.loc[rows["day"].between(lo, hi), "subject_id"].nunique())
        out.append((f"day {nominal}", nominal, n))
    return out


def infer_visits(measurements: pd.DataFrame, param: str, *, min_subjects: int = 3,
                 min_fraction: float = 0.2) -> list[Visit]:
    """Nominal follow-up visits of ``param`` as the data show them.

    Parameters
    ----------
    measurements : DataFrame
        Long-format measurements (``subject_id``, ``day``, ``param``, optional ``visit``).
    param : str
        Parameter code (e.g. ``"HBA1C"``).
    min_subjects : int, keyword-only
        A visit needs records of at least this many subjects.
    min_fraction : float, keyword-only
        ... and of at least this fraction of the subjects with any ``param`` record, so that
        a visit a handful of long-followed subjects reached does not dominate a figure.

    Returns
    -------
    list of Visit
        Sorted by day, labelled with the data's visit labels (or ``"day <d>"``); empty when
        there is no follow-up record.
    """
    rows = measurements.loc[(measurements["param"].astype(str) == param)
                            & measurements["day"].notna() & measurements["value"].notna()]
    n_all = int(rows["subject_id"].nunique())
    follow = rows.loc[rows["day"] >= 1]
    if follow.empty:
        return []
    labelled = "visit" in follow.columns and follow["visit"].notna().all()
    found = _label_groups(follow) if labelled else _day_clusters(follow)
    need = max(min_subjects, int(np.ceil(min_fraction * n_all)))
    by_day: dict[int, tuple[str, int]] = {}
    for label, day, n in found:
        if n >= need and (day not in by_day or n > by_day[day][1]):
            by_day[day] = (label, n)
    if not by_day:
        return []
    days = sorted(by_day)
    return make_visits(days, labels=[by_day[d][0] for d in days])


def visit_table(visits: list[Visit]) -> pd.DataFrame:
    """The visits as a table: ``visit``, ``day`` (nominal), ``window_lower``,
    ``window_upper`` (inclusive study days)."""
    return pd.DataFrame({"visit": [v.label for v in visits], "day": [v.day for v in visits],
                         "window_lower": [v.lower for v in visits],
                         "window_upper": [v.upper for v in visits]})

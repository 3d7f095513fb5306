"""Insulin-free episodes on an analysis clock, in the exact-time and the interval view.

:func:`episode_times` puts the episodes of :func:`cohort.derive.insulin.insulin_episodes` on the
chosen clock (time since insulin stop, or study days since the first infusion); :data:`ORIGINS`
lists the clocks.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from cohort.derive.insulin import _require
from cohort.errors import AnalysisError

__all__ = ["ORIGINS", "episode_times"]

ORIGINS = ("insulin-stop", "first-infusion")
"""Time origins of :func:`episode_times`."""


def episode_times(episodes: pd.DataFrame, *,
                  origin: Literal["insulin-stop", "first-infusion"] = "insulin-stop"
                  ) -> pd.DataFrame:
    """Put episodes on an analysis clock, in both the exact-time and the interval view.

    Parameters
    ----------
    episodes : DataFrame
        :attr:`InsulinEpisodes.episodes`.
    origin : {"insulin-stop", "first-infusion"}, keyword-only
        ``"insulin-stop"``: time 0 is each episode's entry day (the insulin-free duration);
        ``"first-infusion"``: time is the study day (day 0 = first infusion) and an episode is
        at risk of resumption only from its entry day (delayed entry, ``start = entry_day``).

    Returns
    -------
    DataFrame
        ``subject_id``, ``episode``, ``start`` and ``stop`` (days on the clock; exact view:
        ``stop - start`` is ``duration_days``), ``event``, ``status``, ``lower`` and ``upper``
        (interval view, days on the clock: resumption in ``(lower, upper]``; for censored
        episodes ``lower = stop`` and ``upper`` is ``NaN`` = never seen).
    """
    if origin not in ORIGINS:
        raise AnalysisError(f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
    _require(episodes, ["subject_id", "episode", "entry_day", "last_free_day", "resume_day",
                        "stop_day", "event", "status"], "episodes")
    zero = episodes["entry_day"].to_numpy(dtype=float) if origin == "insulin-stop" else 0.0
    stop = episodes["stop_day"].to_numpy(dtype=float) - zero
    event = episodes["event"].to_numpy(dtype=bool)
    resumed = (episodes["status"] == "resumed").to_numpy()
    lower = np.where(resumed, episodes["last_free_day"].to_numpy(dtype=float) - zero, stop)
    upper = np.where(resumed, episodes["resume_day"].to_numpy(dtype=float) - zero,
                     np.where(event, stop, np.nan))
    # a death counted as the event is seen on its day: an exact observation in both views
    lower = np.where(event & ~resumed, stop, lower)
    start = (np.zeros(len(episodes)) if origin == "insulin-stop"
             else episodes["entry_day"].to_numpy(dtype=float))
    return pd.DataFrame({
        "subject_id": episodes["subject_id"].astype(str).to_numpy(),
        "episode": episodes["episode"].to_numpy(dtype=np.int64),
        "start": start, "stop": stop, "event": event,
        "status": episodes["status"].to_numpy(dtype=object),
        "lower": lower, "upper": upper,
    })

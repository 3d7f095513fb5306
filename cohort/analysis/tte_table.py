"""The cohort's own time-to-event table (ADaM ADTTE, loaded by the ``adam`` preset) as the
time-to-event table the survival analyses take.

The contract's ``time_to_event`` table keeps CDISC's censoring code (``censor``: 0 = event,
1 or more = censored, the code saying why); here it becomes ``event`` (True = event), the
convention of lifelines and R.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cohort.analysis.time_to_event import tte_from_adtte
from cohort.errors import AnalysisError

__all__ = ["tte_from_table"]


def tte_from_table(time_to_event: pd.DataFrame, param: str, *,
                   columns: Sequence[str] = ()) -> pd.DataFrame:
    """One parameter of a cohort's ``time_to_event`` table as a time-to-event table.

    Parameters
    ----------
    time_to_event : DataFrame
        The contract table: ``subject_id``, ``param``, ``time_days`` (days), ``censor`` (CDISC
        CNSR: 0 = event, >= 1 = censored), ``description``.
    param : str
        The parameter (ADaM PARAMCD) to analyse.
    columns : sequence of str, keyword-only
        Columns of ``time_to_event`` to carry (group, covariates).

    Returns
    -------
    DataFrame
        As :func:`cohort.analysis.time_to_event.tte_from_adtte`: ``start = 0``, ``stop`` =
        time in days, ``event`` True where ``censor == 0``.
    """
    if time_to_event is None or time_to_event.empty:
        raise AnalysisError(f"--param {param}: the cohort has no time_to_event table (ADaM "
                            "ADTTE with the adam preset), so there is no parameter to analyse; "
                            "give --tte FILE, or leave out --param for insulin independence")
    frame = time_to_event.rename(columns={"subject_id": "USUBJID", "param": "PARAMCD",
                                          "time_days": "AVAL", "censor": "CNSR",
                                          "description": "CNSDTDSC"})
    codes = sorted(int(c) for c in pd.unique(frame["CNSR"].dropna()))
    event_codes = "CNSR:" + ",".join(f"{c}={'event' if c == 0 else 'censored'}" for c in codes)
    return tte_from_adtte(frame, event_codes=event_codes, param=param, columns=columns)

"""The time-to-event table every survival analysis takes, built or supplied.

A time-to-event (TTE) table has one row per subject (or per episode) with columns:

``subject_id`` (str), ``episode`` (int, 1 when one row per subject), ``start`` and ``stop``
(days on the analysis clock; the row is at risk in ``(start, stop]``, ``start = 0`` unless
entry is delayed), ``event`` (bool: True = the event was seen at ``stop``, False = censored
there), ``censor_reason`` (why a censored row stopped, ``<NA>`` for events), optionally
``lower``/``upper`` (interval view: event in ``(lower, upper]``, ``upper`` NaN when censored),
and any group or covariate columns.

It is built from derived insulin-free episodes (:func:`tte_from_episodes`), or supplied
directly, e.g. a CDISC ADTTE dataset (:func:`tte_from_adtte`). In ADTTE, ``CNSR = 0`` means an
event and ``CNSR >= 1`` a censoring, the opposite of lifelines' and R's ``event = 1``: the
mapping of codes is therefore always explicit (:class:`EventCodes`), never inferred, and a code
in the data that the mapping does not declare is an error naming it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from cohort.analysis.time_units import UNIT_DAYS
from cohort.derive.episode_times import ORIGINS, episode_times
from cohort.errors import AnalysisError

__all__ = [
    "TTE_COLUMNS",
    "EventCodes",
    "check_tte",
    "parse_event_codes",
    "tte_from_adtte",
    "tte_from_episodes",
]

TTE_COLUMNS = ["subject_id", "episode", "start", "stop", "event", "censor_reason"]
"""The required columns of a time-to-event table (in this order)."""

KINDS = ("event", "censored")
_AVALU = {"days": {"DAYS", "DAY", "D"}, "weeks": {"WEEKS", "WEEK", "WK", "W"},
          "months": {"MONTHS", "MONTH", "MO"}, "years": {"YEARS", "YEAR", "YR", "Y"}}
"""AVALU values accepted for each time unit."""


def _code_text(value: Any) -> str:
    """The canonical text of a code: ``0``, ``0.0`` and ``"0"`` are all ``"0"``; nothing else
    is rounded (a 5e-79 read from a SAS transport file stays ``"5e-79"``)."""
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        f = float(value)
        if math.isfinite(f) and f.is_integer():
            return str(int(f))
        return repr(f)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return _code_text(number) if math.isfinite(number) else text


@dataclass(frozen=True)
class EventCodes:
    """Which values of a column mean an event and which a censoring.

    Parameters
    ----------
    column : str
        The status column (e.g. ``"CNSR"``).
    codes : mapping of str to {"event", "censored"}
        Code (as text: ``"0"``, ``"1"``, ...) to meaning. Codes are compared as text after
        canonicalisation (``0``, ``0.0`` and ``"0"`` are the same code).
    """

    column: str
    codes: Mapping[str, Literal["event", "censored"]]

    def __post_init__(self) -> None:
        if not self.column:
            raise AnalysisError("event codes need a column name, e.g. 'CNSR:0=event,1=censored'")
        if not self.codes:
            raise AnalysisError(f"no codes declared for column {self.column}; e.g. "
                                f"'{self.column}:0=event,1=censored'")
        bad = {k: v for k, v in self.codes.items() if v not in KINDS}
        if bad:
            raise AnalysisError(f"event codes for {self.column}: meanings must be 'event' or "
                                f"'censored', got {bad}")
        if "event" not in self.codes.values():
            raise AnalysisError(f"event codes for {self.column} declare no code meaning "
                                "'event' (CDISC ADTTE: CNSR 0 = event); declare one, e.g. "
                                f"'{self.column}:0=event,1=censored'")
        object.__setattr__(self, "codes", {_code_text(k): v for k, v in self.codes.items()})

    def apply(self, values: pd.Series) -> np.ndarray:
        """Boolean event indicator for ``values``; raises on missing or undeclared codes."""
        missing = values.isna().to_numpy()
        if missing.any():
            rows = np.flatnonzero(missing)[:5] + 1
            raise AnalysisError(f"{int(missing.sum())} rows have no {self.column} value (rows "
                                f"{', '.join(map(str, rows))}); every row needs a declared code")
        text = values.map(_code_text)
        unknown = sorted(set(text) - set(self.codes))
        if unknown:
            counts = text[text.isin(unknown)].value_counts()
            listed = ", ".join(f"{c!r} ({counts[c]} rows)" for c in unknown[:10])
            hint = ""
            if any(re.fullmatch(r"-?\d(\.\d+)?e-\d+", c) for c in unknown):
                hint = (" Values like 5e-79 are zeros mangled by pandas.read_sas on SAS "
                        "transport files (pandas issue 50670): read the file with pyreadstat.")
            raise AnalysisError(
                f"{self.column} has codes the event mapping does not declare: {listed}; "
                f"declared: {', '.join(f'{k}={v}' for k, v in self.codes.items())}. Declare "
                f"every code, e.g. --event-codes '{self.column}:0=event,1=censored,2=censored'."
                + hint)
        return text.map(lambda c: self.codes[c] == "event").to_numpy(dtype=bool)

    def __str__(self) -> str:
        return f"{self.column}:" + ",".join(f"{k}={v}" for k, v in self.codes.items())


def parse_event_codes(text: str) -> EventCodes:
    """Parse ``"COLUMN:code=event|censored,code=event|censored,..."``.

    Parameters
    ----------
    text : str
        E.g. ``"CNSR:0=event,1=censored"`` (CDISC ADTTE) or ``"STATUS:1=event,0=censored"``;
        the column is everything before the last ``:``.

    Returns
    -------
    EventCodes
    """
    column, sep, rest = str(text).rpartition(":")
    column = column.strip()
    if not sep or not column or not rest.strip():
        raise AnalysisError(f"event codes {text!r}: expected 'COLUMN:code=event,code=censored', "
                            "e.g. 'CNSR:0=event,1=censored'")
    codes: dict[str, Literal["event", "censored"]] = {}
    for item in rest.split(","):
        code, eq, kind = item.partition("=")
        code, kind = code.strip(), kind.strip().lower()
        if not eq or not code or kind not in KINDS:
            raise AnalysisError(f"event codes {text!r}: {item.strip()!r} is not 'code=event' or "
                                "'code=censored'")
        if _code_text(code) in codes:
            raise AnalysisError(f"event codes {text!r}: code {code!r} is declared twice")
        codes[_code_text(code)] = kind  # type: ignore[assignment]
    return EventCodes(column, codes)


def _ids(frame: pd.DataFrame, mask: np.ndarray) -> str:
    ids = frame.loc[mask, "subject_id"].astype(str).tolist()
    return ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")


def check_tte(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate a time-to-event table and return it with canonical dtypes.

    Parameters
    ----------
    frame : DataFrame
        Columns :data:`TTE_COLUMNS` (``episode`` and ``censor_reason`` may be absent), plus
        optional ``lower``/``upper`` and group/covariate columns. Times are in days.

    Returns
    -------
    DataFrame
        A copy: ``subject_id`` str, ``episode`` int64, ``start``/``stop`` float64, ``event``
        bool, ``censor_reason`` object.

    Raises
    ------
    AnalysisError
        Missing columns, an empty table, missing or non-numeric times, negative times,
        ``stop < start`` (e.g. a resumption before independence), event values other than
        0/1/True/False, duplicate (subject_id, episode), or interval bounds that contradict
        ``stop``.
    """
    if not isinstance(frame, pd.DataFrame):
        raise AnalysisError(f"a time-to-event table must be a DataFrame, got "
                            f"{type(frame).__name__}")
    missing = [c for c in ("subject_id", "start", "stop", "event") if c not in frame.columns]
    if missing:
        raise AnalysisError(f"time-to-event table has no column(s) {', '.join(missing)}; "
                            f"expected {', '.join(TTE_COLUMNS)}")
    if len(frame) == 0:
        raise AnalysisError("the time-to-event table is empty: no subjects or episodes to "
                            "analyse (no one became insulin-free?)")
    out = frame.copy().reset_index(drop=True)
    if out["subject_id"].isna().any():
        raise AnalysisError(f"{int(out['subject_id'].isna().sum())} rows have no subject_id")
    out["subject_id"] = out["subject_id"].astype(str).to_numpy(dtype=object)
    if "episode" not in out.columns:
        out["episode"] = 1
    out["episode"] = pd.to_numeric(out["episode"], errors="coerce")
    if out["episode"].isna().any():
        raise AnalysisError("episode must be an integer (1, 2, ...) in every row")
    out["episode"] = out["episode"].to_numpy(dtype=np.int64)
    for col in ("start", "stop"):
        values = out[col]
        if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
            raise AnalysisError(f"{col} must be numeric (days), got dtype {values.dtype}")
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise AnalysisError(f"{col} is missing or infinite for {int(bad.sum())} rows "
                                f"(subjects {_ids(out, bad)})")
        neg = arr < 0
        if neg.any():
            raise AnalysisError(f"negative times in {col} for {int(neg.sum())} rows (subjects "
                                f"{_ids(out, neg)}); times are days since the origin, >= 0")
        out[col] = arr
    back = out["stop"].to_numpy() < out["start"].to_numpy()
    if back.any():
        raise AnalysisError(
            f"stop is before start for {int(back.sum())} rows (subjects {_ids(out, back)}): "
            "the event or censoring comes before the row is at risk (a resumption before "
            "independence?); fix the dates or drop those rows")
    ev = out["event"]
    if pd.api.types.is_bool_dtype(ev) and not ev.isna().any():
        out["event"] = ev.to_numpy(dtype=bool)
    else:
        vals = pd.Series(ev).map(lambda v: _code_text(v) if pd.notna(v) else "<missing>")
        bad = ~vals.isin(["0", "1", "True", "False", "true", "false"]).to_numpy()
        if bad.any():
            raise AnalysisError(
                f"event must be 0/1 or True/False; got {sorted(set(vals[bad]))[:5]} for "
                f"subjects {_ids(out, bad)}. Status columns with other codes (CDISC CNSR) "
                "need an explicit mapping: tte_from_adtte(..., event_codes=...)")
        out["event"] = vals.isin(["1", "True", "true"]).to_numpy(dtype=bool)
    if "censor_reason" not in out.columns:
        out["censor_reason"] = np.where(out["event"], None, "censored")
    out["censor_reason"] = out["censor_reason"].astype(object).where(~out["event"], None)
    dup = out.duplicated(["subject_id", "episode"]).to_numpy()
    if dup.any():
        raise AnalysisError(f"duplicate (subject_id, episode) rows for subjects "
                            f"{_ids(out, dup)}; one row per subject and episode (several "
                            "rows of one subject, e.g. two eyes, need an episode column: "
                            "--episode-col, episode_col=)")
    if "lower" in out.columns or "upper" in out.columns:
        _check_interval(out)
    first = [c for c in TTE_COLUMNS if c in out.columns]
    return out[first + [c for c in out.columns if c not in first]]


def _check_interval(out: pd.DataFrame) -> None:
    for col in ("lower", "upper"):
        if col not in out.columns:
            raise AnalysisError("the interval view needs both lower and upper columns")
        out[col] = pd.to_numeric(out[col], errors="raise").to_numpy(dtype=float,
                                                                     na_value=np.nan)
    lower, upper = out["lower"].to_numpy(), out["upper"].to_numpy()
    ev = out["event"].to_numpy()
    bad = ev & ~(np.isfinite(lower) & np.isfinite(upper) & (lower <= upper)
                 & (upper <= out["stop"].to_numpy()) & (lower >= out["start"].to_numpy()))
    if bad.any():
        raise AnalysisError(f"interval view: an event needs start <= lower <= upper <= stop; "
                            f"not so for subjects {_ids(out, bad)}")


def tte_from_episodes(episodes: pd.DataFrame, subjects: pd.DataFrame | None = None, *,
                      origin: Literal["insulin-stop", "first-infusion"] = "insulin-stop",
                      which: Literal["first", "all"] = "first",
                      columns: Sequence[str] = ()) -> pd.DataFrame:
    """Build a time-to-event table (time to insulin resumption) from insulin-free episodes.

    Parameters
    ----------
    episodes : DataFrame
        :attr:`cohort.derive.insulin.InsulinEpisodes.episodes`.
    subjects : DataFrame, optional
        The subjects table, to add group/covariate ``columns``.
    origin : {"insulin-stop", "first-infusion"}, keyword-only
        Clock (see :func:`cohort.derive.episode_times.episode_times`): days since the insulin stop
        (default; the insulin-free duration), or study days since the first infusion with
        delayed entry at the insulin stop.
    which : {"first", "all"}, keyword-only
        ``"first"``: each subject's first episode (one row per subject, the default);
        ``"all"``: every episode (rows of one subject are then not independent).
    columns : sequence of str, keyword-only
        Columns of ``subjects`` to carry (e.g. ``["arm", "age_years"]``).

    Returns
    -------
    DataFrame
        A checked time-to-event table; ``censor_reason`` is ``last_contact`` or ``death``.
    """
    if which not in ("first", "all"):
        raise AnalysisError(f"which must be 'first' or 'all', got {which!r}")
    if origin not in ORIGINS:
        raise AnalysisError(f"origin must be one of {', '.join(ORIGINS)}, got {origin!r}")
    ep = episodes if which == "all" else episodes[episodes["episode"] == 1]
    if len(ep) == 0:
        raise AnalysisError("no insulin-free episodes: no subject met the definition of "
                            "insulin independence, so there is no time to resumption to "
                            "analyse")
    times = episode_times(ep, origin=origin)
    times["censor_reason"] = times["status"].where(~times["event"], None)
    tte = times[["subject_id", "episode", "start", "stop", "event", "censor_reason", "lower",
                 "upper"]].copy()
    columns = list(columns)
    if columns:
        if subjects is None:
            raise AnalysisError(f"columns {columns} need the subjects table")
        unknown = [c for c in columns if c not in subjects.columns]
        if unknown:
            raise AnalysisError(f"subjects has no column(s) {', '.join(unknown)}; columns: "
                                f"{', '.join(map(str, subjects.columns))}")
        extra = subjects[["subject_id", *columns]].copy()
        extra["subject_id"] = extra["subject_id"].astype(str)
        tte = tte.merge(extra, on="subject_id", how="left", validate="many_to_one")
    return check_tte(tte)


def tte_from_adtte(frame: pd.DataFrame, *, event_codes: EventCodes | str,
                   param: str | None = None, subject_col: str = "USUBJID",
                   time_col: str | None = "AVAL", start_date_col: str = "STARTDT",
                   end_date_col: str = "ADT", columns: Sequence[str] = (),
                   time_unit: str = "days", episode_col: str | None = None) -> pd.DataFrame:
    """A time-to-event table from a CDISC ADTTE dataset (or any one-row-per-subject table).

    Parameters
    ----------
    frame : DataFrame
        The dataset as read (e.g. ``USUBJID``, ``PARAMCD``, ``PARAM``, ``AVAL``, ``AVALU``,
        ``CNSR``, ``STARTDT``, ``ADT``, ``CNSDTDSC``, treatment columns).
    event_codes : EventCodes or str, keyword-only
        Required; e.g. ``"CNSR:0=event,1=censored"``. Never inferred.
    param : str, optional
        The ``PARAMCD`` to analyse; required when the dataset holds several parameters.
    subject_col : str, keyword-only
        Subject identifier column (default ``USUBJID``).
    time_col : str or None, keyword-only
        Analysis time in days (default ``AVAL``; ``AVALU``, if present, must say days). ``None``
        computes ``end_date_col - start_date_col`` in days (no +1 is added; say so if your
        AVAL convention differs).
    start_date_col, end_date_col : str, keyword-only
        Date columns used when ``time_col`` is None.
    columns : sequence of str, keyword-only
        Group/covariate columns to carry (e.g. ``["TRT01P"]``).
    time_unit : {"days", "weeks", "months", "years"}, keyword-only
        Unit of ``time_col`` (default days; 1 month = 30.4375 days, 1 year = 365.25 days): the
        times are converted to days. An ``AVALU`` column, if present, must say the same unit.
    episode_col : str, optional, keyword-only
        Column that tells apart several rows of one subject (two eyes of a patient, recurrent
        events: 1, 2, ...); without it every subject has one row (``episode`` 1) and a repeated
        subject is an error.

    Returns
    -------
    DataFrame
        A checked time-to-event table (``start = 0``, ``stop`` = time in days); censored rows
        carry ``CNSDTDSC`` (or ``EVNTDESC``) as ``censor_reason`` when present.
    """
    codes = parse_event_codes(event_codes) if isinstance(event_codes, str) else event_codes
    if not isinstance(codes, EventCodes):
        raise AnalysisError("event_codes must be an EventCodes or a string such as "
                            "'CNSR:0=event,1=censored'")
    data = frame.copy().reset_index(drop=True)
    needed = [subject_col, codes.column, *columns, *([episode_col] if episode_col else [])]
    needed += [time_col] if time_col else [start_date_col, end_date_col]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise AnalysisError(f"the time-to-event dataset has no column(s) {', '.join(missing)}; "
                            f"columns: {', '.join(map(str, data.columns))}")
    if "PARAMCD" in data.columns:
        params = sorted(data["PARAMCD"].dropna().astype(str).unique())
        if param is None and len(params) > 1:
            raise AnalysisError(f"the dataset holds {len(params)} parameters "
                                f"({', '.join(params[:10])}); choose one with param= "
                                "(--param)")
        if param is not None:
            if param not in params:
                raise AnalysisError(f"PARAMCD {param!r} not in the dataset; parameters: "
                                    f"{', '.join(params)}")
            data = data[data["PARAMCD"].astype(str) == param].reset_index(drop=True)
    elif param is not None:
        raise AnalysisError(f"param={param!r} given but the dataset has no PARAMCD column")
    event = codes.apply(data[codes.column])
    if time_col:
        if time_unit not in UNIT_DAYS:
            raise AnalysisError(f"time unit must be one of {', '.join(UNIT_DAYS)}, got "
                                f"{time_unit!r}")
        if "AVALU" in data.columns:
            units = set(data["AVALU"].dropna().astype(str).str.strip().str.upper())
            if units - _AVALU[time_unit]:
                raise AnalysisError(f"AVALU says {sorted(units)} but the times are declared in "
                                    f"{time_unit} (--time-unit); declare the unit AVALU names "
                                    "or convert AVAL")
        time = pd.to_numeric(data[time_col], errors="coerce") * UNIT_DAYS[time_unit]
        bad = time.isna() & data[time_col].notna()
        if bad.any():
            raise AnalysisError(f"{time_col} is not numeric in {int(bad.sum())} rows (first: "
                                f"{data.loc[bad, time_col].iloc[0]!r})")
    else:
        t0 = pd.to_datetime(data[start_date_col], errors="coerce")
        t1 = pd.to_datetime(data[end_date_col], errors="coerce")
        time = (t1 - t0).dt.days.astype("float64")
    reason = None
    for col in ("CNSDTDSC", "EVNTDESC"):
        if col in data.columns:
            reason = data[col].astype(object)
            break
    tte = pd.DataFrame({
        "subject_id": data[subject_col].astype(object),
        "episode": (pd.to_numeric(data[episode_col], errors="coerce").to_numpy()
                    if episode_col else 1),
        "start": 0.0,
        "stop": time.to_numpy(dtype=float, na_value=np.nan),
        "event": event,
        "censor_reason": (reason.where(reason.notna(), "censored") if reason is not None
                          else "censored"),
    })
    for col in columns:
        tte[col] = data[col].to_numpy()
    return check_tte(tte)

"""Read SAS datasets: transport files (``.xpt``, XPORT v5 and v8) and ``.sas7bdat``.

pyreadstat reads them exactly; ``pandas.read_sas`` can turn an exact zero of a transport file
into 5e-79 (pandas issue 50670), which would make an ADTTE ``CNSR == 0`` match nothing. Numeric
variables with a SAS date format (``DATE9.``, ``YYMMDD10.``, ...) arrive as dates, those with a
datetime format (``DATETIME20.``) as datetimes; every other numeric variable stays a number and
character variables stay text (an empty character value is missing, as in SAS). Rows are
numbered 1, 2, ... as records (``__line``), as for Parquet.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

__all__ = ["SAS_FORMATS", "read_sas"]

SAS_FORMATS = {".xpt": "xpt", ".sas7bdat": "sas7bdat"}
"""File suffixes read here, and the format name recorded in the run manifest."""

_WHAT = {"xpt": "a SAS transport file (XPORT v5 or v8)", "sas7bdat": "a SAS dataset (.sas7bdat)"}


def _to_polars(frame: object) -> pl.DataFrame:
    """The pandas frame pyreadstat returns, as polars with dates and datetimes typed."""
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if values.dtype == object:
            present = values.dropna()
            kinds = {type(v).__name__ for v in present}
            cells = [None if v is None or v is pd.NaT or (isinstance(v, float) and v != v)
                     else v for v in values.tolist()]
            if kinds == {"date"}:
                columns[name] = pl.Series(name, cells, dtype=pl.Date)
                continue
            if kinds and kinds <= {"datetime", "Timestamp"}:
                columns[name] = pl.Series(name, pd.to_datetime(values), dtype=pl.Datetime("us"))
                continue
            if kinds == {"time"}:
                columns[name] = pl.Series(name, cells, dtype=pl.Time)
                continue
            text = pl.Series(name, [None if v is None else str(v) for v in cells],
                             dtype=pl.String)
            # SAS has no missing character value: blank text is how a missing one is written
            columns[name] = pl.Series(name, text.str.strip_chars_end().replace("", None),
                                      dtype=pl.String)
        elif str(values.dtype).startswith("datetime64"):
            columns[name] = pl.Series(name, values, dtype=pl.Datetime("us"))
        else:
            series = pl.Series(name, values)
            columns[name] = series.fill_nan(None) if series.dtype.is_float() else series
    return pl.DataFrame(columns)


def read_sas(path: Path, name: str) -> tuple[pl.DataFrame | None, str | None]:
    """Read one SAS file into a typed polars frame.

    Parameters
    ----------
    path : Path
        A ``.xpt`` or ``.sas7bdat`` file.
    name : str
        The file name shown in messages.

    Returns
    -------
    (frame, problem) : (polars.DataFrame or None, str or None)
        The frame, or None and a message saying why the file cannot be read (a truncated
        file, or one that is not SAS transport at all).
    """
    import pyreadstat

    fmt = SAS_FORMATS[path.suffix.lower()]
    reader = pyreadstat.read_xport if fmt == "xpt" else pyreadstat.read_sas7bdat
    size = path.stat().st_size
    if size == 0:
        return None, f"{name} is empty: expected {_WHAT[fmt]}"
    if fmt == "xpt":
        with open(path, "rb") as fh:
            head = fh.read(80)
        if not head.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!") and \
                not head.startswith(b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"):
            return None, (f"{name} is not {_WHAT[fmt]}: its first bytes are not a SAS "
                          "transport library header; was it saved under the wrong name (a "
                          "CSV, a .sas7bdat or a CPORT file)? Export it with XPORT (SAS "
                          "`libname x xport`, R `haven::write_xpt`)")
        if size % 80:
            return None, (f"{name} is truncated: a SAS transport file is a whole number of "
                          f"80-byte records, this one has {size} bytes; copy it again")
    try:
        frame, _meta = reader(str(path))
    except Exception as exc:  # pyreadstat raises its own types, and OSError/ValueError
        reason = str(exc).strip().rstrip(".") or type(exc).__name__
        return None, (f"{name} cannot be read as {_WHAT[fmt]}: {reason}; the file may be "
                      "truncated or damaged")
    return _to_polars(frame), None

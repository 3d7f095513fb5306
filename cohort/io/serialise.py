"""Table files written by polars: the bytes pandas writes, at the speed of polars.

A cohort folder's CSV files have one format, the one pandas writes with
``frame.to_csv(path, index=False, lineterminator="\\n", float_format="%.10g")``: floats with
10 significant digits and no trailing zeros, booleans as ``True``/``False``, empty cells for
missing values, quotes only where a cell needs them. The committed synthetic cohorts are
compared byte for byte with their regeneration, and users diff the files, so the format is
part of the contract; but pandas formats every float through Python (about 25 s for a
million-subject cohort). Here each column is turned into its text with vectorised numpy and
polars, and polars writes the file (about 1/10 of the time, the same bytes).

What this module cannot reproduce exactly (dates and times, objects that are not text,
category labels that are not text, a single-column table, text holding a carriage return)
is written by pandas itself, so the bytes are always those of ``pandas.to_csv``.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

__all__ = ["FLOAT_FORMAT", "format_floats", "write_csv", "write_parquet", "write_tables"]

FLOAT_FORMAT = "%.10g"
"""How floats are written: 10 significant digits, trailing zeros dropped."""

_DIGITS = 10
# Within this distance of a rounding tie, a float's scaled value (computed with one rounding
# error of at most 2**-53 relative, i.e. < 2e-6 absolute below 1e10) may round either way:
# those few values are formatted by Python, exactly.
_TIE_MARGIN = 1e-4
_POW10 = np.array([float(10**k) for k in range(_DIGITS + 5)])  # exact doubles 1 .. 1e14


class _NotSupportedError(Exception):
    """A column this module cannot format exactly as pandas does (pandas writes the table)."""


def _rounded_floats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values rounded to 10 significant digits where that is exact, and where it is not.

    Returns the rounded values and a mask of the values to format with Python instead (see
    :func:`format_floats`); NaN is neither.
    """
    x = np.asarray(values, dtype=np.float64)
    ax = np.abs(x)
    zero = ax == 0.0
    fast = (ax >= 1e-4) & (ax < 9.9e9)  # False for NaN and infinities
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        exp10 = np.floor(np.log10(np.where(fast, ax, 1.0))).astype(np.int64)
        power = (_DIGITS - 1) - exp10
        scaled = ax * _POW10[np.clip(power, 0, _POW10.size - 1)]
        # log10 can be off by one next to a power of ten: shift those by one decade
        power += scaled < _POW10[_DIGITS - 1]
        power -= scaled >= _POW10[_DIGITS]
        fast &= (power >= 0) & (power < _POW10.size)
        scale = _POW10[np.clip(power, 0, _POW10.size - 1)]
        scaled = ax * scale
        frac = scaled - np.floor(scaled)
        fast &= np.abs(frac - 0.5) > _TIE_MARGIN
        fast &= (scaled >= _POW10[_DIGITS - 1]) & (scaled < _POW10[_DIGITS])
        rounded = np.copysign(np.rint(scaled) / scale, x)
    rounded[zero] = x[zero]  # keeps the sign: pandas writes -0.0 as "-0"
    slow = ~(fast | zero | np.isnan(x))
    return rounded, slow


def _rounded_text(values: np.ndarray) -> pl.Series:
    """``"%.10g"`` text of any floats, by rounding in numpy (Python for the few it cannot)."""
    rounded, slow = _rounded_floats(values)
    text = (pl.Series(np.where(slow, np.nan, rounded), nan_to_null=True).cast(pl.String)
            .str.strip_suffix(".0"))
    if slow.any():
        where = np.flatnonzero(slow)
        text = text.scatter(where, [FLOAT_FORMAT % v for v in values[where].tolist()])
    return text


def format_floats(values: np.ndarray) -> pl.Series:
    """Floats as ``"%.10g" % value`` would write them; NaN as null.

    Parameters
    ----------
    values : ndarray of float
        Any float dtype (float16/32 are widened exactly to float64, as Python does).

    Returns
    -------
    polars.Series
        Text (``pl.String``), one entry per value, null where the value is NaN.

    Notes
    -----
    polars writes a float as the shortest decimal that reads back as it. When that text has
    at most 11 characters (so at most 10 significant digits) and ``1e-4 <= |x| < 1e10`` (where
    ``%g`` uses no exponent), it is what ``%.10g`` prints, less a trailing ``.0``: the exact
    value is within half a unit in the 17th digit of that decimal, far nearer than any other
    10-digit decimal. Measurements are mostly such short decimals (7.1, 60, 0.25), and this
    costs one conversion that polars does without the interpreter lock.

    The other values are rounded to 10 significant digits as an integer ``m`` times a power of
    ten ``10**k`` with ``0 <= k <= 14``: both are exact doubles, so ``m / 10**k`` is the
    double nearest to the decimal ``%.10g`` prints, and its shortest text is that decimal.
    Values within 1e-4 of a tie of the rounding, infinities and values outside that range
    (which ``%g`` writes with an exponent) are formatted by Python.
    """
    x = np.asarray(values, dtype=np.float64)
    number = pl.Series(x, nan_to_null=True)
    text = number.cast(pl.String)
    size = number.abs()
    short = (((text.str.len_bytes() <= 11) & (size >= 1e-4) & (size < 1e10))
             | (number == 0.0)).fill_null(True)  # NaN: an empty cell either way
    text = text.str.strip_suffix(".0")
    if short.all():
        return text
    where = (~short).arg_true()
    return text.scatter(where, _rounded_text(x[where.to_numpy()]))


def _float_columns(values: np.ndarray, name: str) -> tuple[list[pl.Series], pl.Expr]:
    """The input and the expression that give floats as the text ``"%.10g"`` writes."""
    return [format_floats(values).alias(name)], pl.col(name)


def _text_series(values: np.ndarray) -> pl.Series:
    """Object values that are all text or missing, as a polars text column."""
    errors = (TypeError, ValueError, pl.exceptions.PolarsError)
    try:
        return pl.Series(values, dtype=pl.String, strict=True)
    except errors:
        pass  # NaN (or pd.NA) for missing text, or values that are not text
    missing = pd.isna(values)
    values = values.copy()
    values[missing] = None
    try:
        return pl.Series(values, dtype=pl.String, strict=True)
    except errors as exc:
        raise _NotSupportedError("a text column holds values that are not text") from exc


def _checked_text(text: pl.Series) -> pl.Series:
    """Text as pandas writes it: an empty text as an empty cell (polars writes ``""``).

    (A carriage return, which polars quotes and pandas does not, is looked for in the written
    file: :func:`write_csv`.)
    """
    empty = text.str.len_bytes() == 0
    if empty.any():
        text = text.scatter(empty.arg_true(), None)
    return text


def _column(column: pd.Series, key: str) -> tuple[list[pl.Series], pl.Expr]:
    """The polars inputs (named from ``key``) and the expression that give one column's cells
    as pandas writes them (text or integers; null = an empty cell)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories
        if not (categories.dtype == object or isinstance(categories.dtype, pd.StringDtype)):
            raise _NotSupportedError("category labels that are not text")
        labels = _checked_text(_text_series(np.asarray(categories, dtype=object)))
        codes = column.cat.codes.to_numpy()
        index = pl.Series(codes, dtype=pl.Int64)
        if (codes < 0).any():
            index = index.scatter(np.flatnonzero(codes < 0), None)
        return [labels.gather(index).alias(key)], pl.col(key)
    if isinstance(dtype, pd.StringDtype):
        text = _text_series(column.to_numpy(dtype=object, na_value=None))
        return [_checked_text(text).alias(key)], pl.col(key)
    if dtype == np.dtype(object):
        return [_checked_text(_text_series(column.to_numpy())).alias(key)], pl.col(key)
    if dtype == np.dtype(bool) or isinstance(dtype, pd.BooleanDtype):
        flags = pl.from_pandas(column)  # nullable booleans: missing -> null
        return [flags.alias(key)], pl.when(pl.col(key)).then(pl.lit("True")).otherwise(
            pl.when(~pl.col(key)).then(pl.lit("False")))
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        return [pl.Series(key, column.to_numpy())], pl.col(key)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iu":
        return [pl.from_pandas(column).alias(key)], pl.col(key)  # missing -> null
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return _float_columns(column.to_numpy(), key)
    raise _NotSupportedError(f"columns of type {dtype}")


def _needs_pandas(frame: pd.DataFrame) -> bool:
    names = list(frame.columns)
    return (len(names) < 2  # a lone empty cell is written '""' by pandas
            or isinstance(frame.columns, pd.MultiIndex)
            or not all(isinstance(n, str) for n in names)
            or len(set(names)) != len(names))


def write_csv(frame: pd.DataFrame, path: Path | str) -> None:
    """Write ``frame`` as CSV: the bytes of ``frame.to_csv(path, index=False,
    lineterminator="\n", float_format="%.10g")``, written by polars.

    Parameters
    ----------
    frame : DataFrame
        The table (its index is not written).
    path : path
        The file to write (created or replaced; the caller makes the write atomic).
    """
    inputs: list[pl.Series] = []
    exprs: list[pl.Expr] = []
    if not _needs_pandas(frame):
        try:
            for i, name in enumerate(frame.columns):
                series, expr = _column(frame[name], f"\0{i}")
                inputs += series
                exprs.append(expr.alias(name))
        except _NotSupportedError:
            exprs = []
    if exprs:
        # streamed: the text of a batch is made while the previous batch is written
        pl.LazyFrame(inputs).select(exprs).sink_csv(
            path, null_value="", quote_style="necessary", line_terminator="\n")
        if not _has_carriage_return(path):
            return
        # a lone carriage return in a cell (or a name) is quoted by polars, not by pandas;
        # rare enough to look for it in the file (at memory speed) rather than in every cell
    frame.to_csv(path, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)


def _has_carriage_return(path: Path | str) -> bool:
    """Whether the file holds a carriage return (lines end with ``\\n`` alone)."""
    with open(path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            return False
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            return view.find(b"\r") >= 0


def write_parquet(frame: pd.DataFrame, path: Path | str) -> None:
    """Write ``frame`` as Parquet with pyarrow, keeping pandas' dtypes (category, nullable
    integers) in the file's metadata so that pandas reads back the same frame."""
    frame.to_parquet(path, index=False, engine="pyarrow")


def write_tables(files: Mapping[Path, pd.DataFrame], *, fmt: str = "csv") -> None:
    """Write several tables, two at a time, the largest first.

    A table's text columns are converted under the interpreter lock while polars formats and
    writes another table without it: on two cores the folder of a million-subject cohort is
    written in about 3/4 of the time it takes one table after the other.

    Parameters
    ----------
    files : mapping of path to DataFrame
        Where to write each table.
    fmt : {"csv", "parquet"}, keyword-only
        The file format.
    """
    write = {"csv": write_csv, "parquet": write_parquet}.get(fmt)
    if write is None:
        raise ValueError(f"unknown table format {fmt!r}; use csv or parquet")
    order = sorted(files, key=lambda path: -len(files[path]))
    if len(order) < 2 or len(files[order[0]]) < 100_000:
        for path in order:  # small tables: threads would cost more than they save
            write(files[path], path)
        return
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="cohort-write") as pool:
        for done in [pool.submit(write, files[path], path) for path in order]:
            done.result()  # re-raises the first failure; the caller removes the folder

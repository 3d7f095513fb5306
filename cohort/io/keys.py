"""Small integer codes for the distinct keys of a large table.

A measurements file has millions of rows but few parameters, units and subjects. Looking up
per-key facts (a unit's conversion, a subject's weight) by joining millions of rows on text
columns costs seconds; giving each row the code of its key and gathering facts from a table of
the distinct keys costs a fraction of that.
"""

from __future__ import annotations

import polars as pl

__all__ = ["factorize"]

_CHECK_SEED = 0x5EED_C0DE


def factorize(frame: pl.DataFrame, columns: list[str]) -> tuple[pl.Series, pl.DataFrame]:
    """Code the rows of ``frame`` by their values in ``columns``.

    Parameters
    ----------
    frame : polars.DataFrame
        Any table.
    columns : list of str
        The key columns. Missing values are a value like any other (two rows with an empty
        key cell share a code).

    Returns
    -------
    codes : polars.Series of UInt32
        For each row, the position of its key in ``keys``.
    keys : polars.DataFrame
        The distinct keys, one row each, in order of their 64-bit hash.

    Notes
    -----
    Keys are told apart by a 64-bit hash of each row; a second, independently seeded hash must
    then agree within every code. Two different keys with the same first hash (possible, if
    very unlikely) are caught that way and coded by a join instead: a wrong code would need
    both 64-bit hashes to collide at once.
    """
    keys = frame.select(columns)
    if not keys.height:
        return pl.Series("code", [], dtype=pl.UInt32), keys
    hashes = keys.hash_rows()
    first = hashes.arg_unique()
    first = first.gather(hashes.gather(first).arg_sort())
    codes = hashes.gather(first).search_sorted(hashes).cast(pl.UInt32).alias("code")
    check = keys.hash_rows(seed=_CHECK_SEED)
    if (check.gather(first).gather(codes) == check).all():
        return codes, keys[first]
    distinct = keys.unique(maintain_order=True)
    codes = (keys.join(distinct.with_row_index("code"), on=columns, how="left",
                       nulls_equal=True, maintain_order="left")
             .get_column("code").cast(pl.UInt32))
    return codes, distinct

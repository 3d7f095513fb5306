"""Codes as a mapping compares them: typed and trimmed.

``recode``, ``keep`` and ``derive`` compare a cell with the codes a mapping lists after both
are put in one form: white space at either end trimmed, ``NA``/blank/``N/A`` empty, and
numbers compared as numbers (``0``, ``0.0``, ``"0"`` and ``" 0 "`` are one code; ``81.0`` is
``81``). A listed ``0`` keeps a column written ``0.0``; a ``Female `` with a trailing space is
recoded by ``Female``. What a cell holds when no code matches is left as read.

Values that differ from their trimmed form are shown quoted (``'Female '``) wherever a
message shows them (:func:`visible`), so that an invisible space is never the unexplained
cause of a finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from cohort.findings import value_text
from cohort.io.dates import MISSING_TOKENS

__all__ = ["code_expr", "codes", "translate", "visible", "visible_text"]


def code_expr(expr: pl.Expr) -> pl.Expr:
    """The comparable form of a column: trimmed text, null when empty, numbers canonical."""
    text = expr.cast(pl.String).str.strip_chars()
    number = text.cast(pl.Float64, strict=False)
    return (pl.when(text.is_null() | text.is_in(MISSING_TOKENS)).then(pl.lit(None, pl.String))
            .when(number.is_not_null() & number.is_finite()).then(value_text(number))
            .otherwise(text))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def codes(values: Iterable[Any]) -> list[str | None]:
    """The comparable form of codes listed in a mapping (same rules as :func:`code_expr`)."""
    series = pl.Series("code", [_text(v) for v in values], dtype=pl.String)
    return pl.select(code_expr(pl.lit(series))).to_series().to_list()


def visible(expr: pl.Expr) -> pl.Expr:
    """Cell text as a message shows it: quoted when it has white space at either end."""
    text = expr.cast(pl.String)
    return pl.when(text != text.str.strip_chars()).then(pl.format("'{}'", text)) \
        .otherwise(text)


def visible_text(value: str | None) -> str:
    """:func:`visible` for one Python value."""
    if value is None:
        return "(empty)"
    return f"'{value}'" if value != value.strip() else value


def translate(column: pl.Series, table: dict[str | None, str | None]) -> dict[str, str | None]:
    """Which cell texts of ``column`` have a code listed in ``table`` (comparable codes, as
    :func:`codes` gives), and what each becomes: ``{cell text: table[its code]}``.

    The codes are worked out once per distinct cell text, not once per row: a lab file of
    millions of rows holds a few dozen test names.
    """
    distinct = column.cast(pl.String).unique().drop_nulls()
    normal = pl.select(code_expr(pl.lit(distinct))).to_series()
    return {raw: table[code] for raw, code in zip(distinct.to_list(), normal.to_list(),
                                                   strict=True) if code in table}

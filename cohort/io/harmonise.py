"""Unit harmonisation of the measurements table onto the canonical units.

Each value is converted to its parameter's canonical unit (``schemas/measurements.yaml``) by the
conversions in :mod:`cohort.units`; the value and unit as read are kept in ``value_original``
and ``unit_original``, and every conversion is counted in a log. A value whose size contradicts
its unit (an HbA1c of 53 "%", a glucose of 126 "mmol/L") is reported with the unit it looks
like, never converted by guesswork.
"""

from __future__ import annotations

import polars as pl

from cohort.contract import Contract
from cohort.findings import Findings, row_findings, value_text
from cohort.units import CONVERSIONS, canonical_spelling

__all__ = ["CONVERSION_LOG_SCHEMA", "harmonise_measurements"]

CONVERSION_LOG_SCHEMA = {"param": pl.String, "from_unit": pl.String, "to_unit": pl.String,
                         "rule": pl.String, "n": pl.Int64}


def _unit_table(contract: Contract) -> pl.DataFrame:
    rows = []
    for p in contract.parameters.values():
        for unit in p.accepted_units:
            conv = CONVERSIONS[(unit, p.unit)]
            rows.append({"param": p.code, "__unit": unit, "__canonical": p.unit,
                         "__scale": conv.scale, "__offset": conv.offset,
                         "__per_kg": conv.per_body_weight, "__rule": conv.rule,
                         "__lo": p.plausible[0], "__hi": p.plausible[1]})
    return pl.DataFrame(rows)


def _lookup(frame: pl.DataFrame, table: pl.DataFrame, on: list[str]) -> pl.DataFrame:
    """Left-join ``table`` (small, one row per key) onto ``frame``, keeping its row order.

    Only the key columns of ``frame`` go through the join: its other columns (millions of text
    cells) are not gathered again.
    """
    found = frame.select(on).join(table, on=on, how="left", maintain_order="left")
    if found.height != frame.height:  # a key twice in ``table``: join as such
        return frame.join(table, on=on, how="left", maintain_order="left")
    return frame.hstack(found.drop(on).get_columns())


def _unit_columns(frame: pl.DataFrame, units: pl.DataFrame,
                  spelled: dict[str, str | None]) -> pl.DataFrame | None:
    """``__unit`` (the unit in the contract's spelling) and, for each row, the row of
    ``units`` for its parameter and unit; None when there is nothing to look up.

    Parameters and units take few values: each row gets small integer codes for them (by way of
    an Enum), and a table of every (parameter, unit) pair seen is looked up by position. A join
    of millions of rows on two text columns costs seconds; this costs a tenth of that.
    """
    params = frame.get_column("param").drop_nulls().unique()
    seen = list(spelled)
    if not params.len() or not seen:
        return None
    pairs = pl.DataFrame({"param": [p for p in params.to_list() for _ in seen],
                          "__unit": [spelled[u] for _ in range(params.len()) for u in seen]},
                         schema={"param": pl.String, "__unit": pl.String})
    table = pairs.join(units, on=["param", "__unit"], how="left", maintain_order="left")
    if table.height != pairs.height:  # a (parameter, unit) twice in ``units``
        return None
    unit_code = frame.get_column("unit").cast(pl.Enum(seen)).to_physical().cast(pl.Int64)
    param_code = frame.get_column("param").cast(pl.Enum(params.to_list())).to_physical()
    pair = param_code.cast(pl.Int64) * len(seen) + unit_code  # row of ``table``
    spelling = pl.Series([spelled[u] for u in seen], dtype=pl.String)
    return pl.DataFrame([spelling.gather(unit_code).alias("__unit")]
                        + [table.get_column(c).gather(pair) for c in units.columns
                           if c not in ("param", "__unit")])


def _weights(subjects: pl.DataFrame | None, contract: Contract) -> pl.DataFrame | None:
    """Body weight per subject (kg), only where it is given and within the contract range."""
    if subjects is None or not {"subject_id", "weight_kg"} <= set(subjects.columns) \
            or subjects.schema["weight_kg"] != pl.Float64:
        return None
    lo, hi = contract["subjects"].column("weight_kg").range or (0.0, float("inf"))
    weight = pl.col("weight_kg")
    return (subjects.select("subject_id",
                            pl.when(weight.is_between(lo, hi)).then(weight).alias("__weight"))
            .unique("subject_id", keep="first", maintain_order=True))


def harmonise_measurements(frame: pl.DataFrame, subjects: pl.DataFrame | None,
                           contract: Contract,
                           findings: Findings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Convert ``frame`` (typed measurements) to canonical units.

    Parameters
    ----------
    frame : polars.DataFrame
        Parsed measurements (``param``, ``value``, ``unit``, ...).
    subjects : polars.DataFrame or None
        Parsed subjects, for body weight in kg (insulin doses in IU/day are divided by it).
        None when the subjects table is missing or unreadable (already reported): doses that
        need a weight are then left as read, without a further finding.
    contract : Contract
        Parameters, accepted units and plausible ranges (in canonical units).
    findings : Findings
        Where unknown parameters and units, units not accepted for a parameter, missing
        weights, and values implausible in their unit are reported.

    Returns
    -------
    measurements : polars.DataFrame
        With ``value`` and ``unit`` canonical and ``value_original``/``unit_original`` as read.
        A value that cannot be converted keeps its unit as read.
    log : polars.DataFrame
        One row per (param, input unit) that was converted or respelled: ``param``,
        ``from_unit``, ``to_unit``, ``rule``, ``n``.
    """
    needed = {"param", "value", "unit"}
    if not needed <= set(frame.columns) or frame.schema["value"] != pl.Float64:
        return frame, pl.DataFrame(schema=CONVERSION_LOG_SCHEMA)
    params = contract.parameters
    units = _unit_table(contract)
    accepted_by_param = {code: ", ".join(p.accepted_units) for code, p in params.items()}
    seen = frame.get_column("unit").drop_nulls().unique().to_list()
    spelled = {u: canonical_spelling(u) for u in seen}
    # tables loaded before (from_frames on a Cohort's tables) keep what was read then
    had_original = {"value_original", "unit_original"} <= set(frame.columns)
    frame = frame.with_columns(
        (pl.coalesce("value_original", "value") if had_original else pl.col("value"))
        .alias("value_original"),
        (pl.coalesce("unit_original", "unit") if had_original else pl.col("unit"))
        .alias("unit_original"),
        pl.col("value").alias("__value_in"),
        pl.col("unit").alias("__unit_in"),
    )
    looked_up = _unit_columns(frame, units, spelled)
    if looked_up is None:
        frame = frame.with_columns(pl.col("unit").replace_strict(
            spelled, default=None, return_dtype=pl.String).alias("__unit"))
    else:
        frame = frame.hstack(looked_up.select("__unit").get_columns())
    known_param = pl.col("param").is_in(list(params))
    findings.add_frame(row_findings(
        frame.filter(pl.col("param").is_not_null() & ~known_param), table="measurements",
        column="param", rule="unknown_param", value=pl.col("param"),
        message=pl.format("unknown parameter {}; the contract's parameters are "
                          f"{', '.join(params)} (recode yours with a mapping file)",
                          pl.col("param"))))
    accepted_text = pl.col("param").replace_strict(accepted_by_param, default=None,
                                                   return_dtype=pl.String)
    findings.add_frame(row_findings(
        frame.filter(pl.col("unit").is_not_null() & pl.col("__unit").is_null()),
        table="measurements", column="unit", rule="unknown_unit", value=pl.col("unit"),
        message=pl.when(known_param).then(pl.format(
            "unknown unit {} for {}; accepted: {} (recode it with a mapping file)",
            pl.col("unit"), pl.col("param"), accepted_text))
        .otherwise(pl.format("unknown unit {}; the accepted units of each parameter are in "
                             "the data dictionary", pl.col("unit")))))
    if looked_up is None:
        frame = _lookup(frame, units, ["param", "__unit"])
    else:
        frame = frame.hstack(looked_up.drop("__unit").get_columns())
    accepted = pl.col("__canonical").is_not_null()
    findings.add_frame(row_findings(
        frame.filter(known_param & pl.col("__unit").is_not_null() & ~accepted),
        table="measurements", column="unit", rule="unit_not_accepted", value=pl.col("unit"),
        message=pl.format("{} is not an accepted unit for {} (accepted: {}); convert the "
                          "values or correct the unit", pl.col("unit"), pl.col("param"),
                          accepted_text)))
    weights = _weights(subjects, contract)
    if weights is not None:
        frame = _lookup(frame, weights, ["subject_id"])
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("__weight"))
    per_kg = pl.col("__per_kg").fill_null(False)
    no_weight = per_kg & pl.col("__weight").is_null()
    if subjects is not None:
        findings.add_frame(row_findings(
            frame.filter(no_weight & pl.col("value").is_not_null()), table="measurements",
            column="unit", rule="conversion_needs_weight", value=pl.col("unit"),
            message=pl.format("{} in IU/day needs the subject's body weight to become "
                              "IU/kg/day, but weight_kg in subjects is missing or invalid; "
                              "give weight_kg, or doses in IU/kg/day", pl.col("param"))))
    # a value that cannot be converted is left as read, with its unit as read: never a value
    # in one unit labelled with another
    convertible = accepted & ~no_weight
    converted = pl.col("value") * pl.col("__scale") + pl.col("__offset")
    converted = pl.when(per_kg).then(converted / pl.col("__weight")).otherwise(converted)
    frame = frame.with_columns(
        pl.when(convertible).then(converted).otherwise(pl.col("value")).alias("value"),
        pl.when(convertible).then(pl.col("__canonical")).otherwise(pl.col("unit"))
        .alias("unit"),
    )
    implausible = frame.filter(convertible & pl.col("value").is_not_null() & (
        (pl.col("value") < pl.col("__lo")) | (pl.col("value") > pl.col("__hi"))))
    if implausible.height:
        _report_implausible(implausible, units, findings)
    log = (frame.filter(convertible & (pl.col("__unit_in") != pl.col("unit")))
           .group_by("param", "__unit_in", "unit", "__rule").agg(pl.len().alias("n"))
           .select(pl.col("param"), pl.col("__unit_in").alias("from_unit"),
                   pl.col("unit").alias("to_unit"),
                   pl.when(pl.col("__rule") == "canonical unit")
                   .then(pl.lit("respelled to the contract's spelling"))
                   .otherwise(pl.col("__rule")).alias("rule"),
                   pl.col("n").cast(pl.Int64))
           .sort("param", "from_unit"))
    frame = frame.drop([c for c in frame.columns if c.startswith("__") and
                        c not in ("__file", "__line")])
    return frame, log


def _report_implausible(rows: pl.DataFrame, units: pl.DataFrame, findings: Findings) -> None:
    """Report implausible values, naming another accepted unit in which they are plausible."""
    rows = rows.with_row_index("__id")
    alt = (rows.select("__id", "param", "__value_in", "__unit", "__weight")
           .join(units.select("param", pl.col("__unit").alias("__alt_unit"), "__scale",
                              "__offset", "__per_kg", "__lo", "__hi", "__canonical"),
                 on="param", maintain_order="left_right")
           .filter(pl.col("__alt_unit") != pl.col("__unit"))
           .with_columns((pl.col("__value_in") * pl.col("__scale") + pl.col("__offset"))
                         .alias("__alt")))
    alt = alt.with_columns(pl.when(pl.col("__per_kg")).then(pl.col("__alt") / pl.col("__weight"))
                           .otherwise(pl.col("__alt")).alias("__alt"))
    alt = (alt.filter((pl.col("__alt") >= pl.col("__lo")) & (pl.col("__alt") <= pl.col("__hi")))
           .group_by("__id", maintain_order=True)
           .agg(pl.col("__alt_unit").first(), pl.col("__alt").first()))
    rows = rows.join(alt, on="__id", how="left", maintain_order="left")
    range_text = pl.format("{} to {} {}", value_text(pl.col("__lo")), value_text(pl.col("__hi")),
                           pl.col("__canonical"))
    as_read = pl.format("{} {} {}", pl.col("param"), value_text(pl.col("__value_in")),
                        pl.col("__unit_in"))
    looks = rows.filter(pl.col("__alt_unit").is_not_null())
    findings.add_frame(row_findings(
        looks, table="measurements", column="value", rule="unit_mismatch",
        value=pl.col("__value_in"),
        message=pl.format("{} is implausible (plausible: {}); it looks like {} ({} {}): "
                          "correct the unit; it is not converted by guesswork", as_read,
                          range_text, pl.col("__alt_unit"),
                          value_text(pl.col("__alt").round(2)), pl.col("__canonical"))))
    findings.add_frame(row_findings(
        rows.filter(pl.col("__alt_unit").is_null()), table="measurements", column="value",
        rule="plausible_range", value=pl.col("__value_in"),
        message=pl.format("{} is outside the plausible range {}; check the value and its unit",
                          as_read, range_text)))

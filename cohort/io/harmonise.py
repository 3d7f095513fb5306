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
from cohort.findings import Findings, row_findings
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


def harmonise_measurements(frame: pl.DataFrame, subjects: pl.DataFrame | None,
                           contract: Contract,
                           findings: Findings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Convert ``frame`` (typed measurements) to canonical units.

    Returns
    -------
    measurements : polars.DataFrame
        With ``value`` and ``unit`` canonical and ``value_original``/``unit_original`` as read.
    log : polars.DataFrame
        One row per (param, input unit) that was converted or respelled: ``param``,
        ``from_unit``, ``to_unit``, ``rule``, ``n``.
    """
    needed = {"param", "value", "unit"}
    if not needed <= set(frame.columns) or frame.schema["value"] != pl.Float64:
        return frame, pl.DataFrame(schema=CONVERSION_LOG_SCHEMA)
    params = contract.parameters
    units = _unit_table(contract)
    seen = frame.get_column("unit").drop_nulls().unique().to_list()
    spelled = {u: canonical_spelling(u) for u in seen}
    frame = frame.with_columns(
        pl.col("value").alias("value_original"),
        pl.col("unit").alias("unit_original"),
        pl.col("unit").replace_strict(spelled, default=None, return_dtype=pl.String)
        .alias("__unit"),
    )
    known_param = pl.col("param").is_in(list(params))
    findings.add_frame(row_findings(
        frame.filter(pl.col("param").is_not_null() & ~known_param), table="measurements",
        column="param", rule="unknown_param", value=pl.col("param"),
        message=f"unknown parameter; the contract's parameters are {', '.join(params)} "
                "(recode yours with a mapping file)"))
    findings.add_frame(row_findings(
        frame.filter(pl.col("unit").is_not_null() & pl.col("__unit").is_null()),
        table="measurements", column="unit", rule="unknown_unit", value=pl.col("unit"),
        message="unknown unit; accepted units per parameter are listed in the data dictionary"))
    frame = frame.join(units, on=["param", "__unit"], how="left", maintain_order="left")
    accepted = pl.col("__canonical").is_not_null()
    wrong_unit = frame.filter(known_param & pl.col("__unit").is_not_null() & ~accepted)
    if wrong_unit.height:
        allowed = {code: ", ".join(p.accepted_units) for code, p in params.items()}
        findings.add_frame(row_findings(
            wrong_unit, table="measurements", column="unit", rule="unit_not_accepted",
            value=pl.col("unit"),
            message=pl.format("{} is not an accepted unit for {} (accepted: {})",
                              pl.col("unit"), pl.col("param"),
                              pl.col("param").replace_strict(allowed, default=""))))
    weight_map = None
    if subjects is not None and {"subject_id", "weight_kg"} <= set(subjects.columns) \
            and subjects.schema.get("weight_kg") == pl.Float64:
        weight_map = subjects.select("subject_id", pl.col("weight_kg").alias("__weight")) \
            .unique("subject_id", keep="first")
    if weight_map is not None:
        frame = frame.join(weight_map, on="subject_id", how="left", maintain_order="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("__weight"))
    per_kg = pl.col("__per_kg").fill_null(False)
    no_weight = frame.filter(per_kg & (pl.col("__weight").is_null() | (pl.col("__weight") <= 0)))
    findings.add_frame(row_findings(
        no_weight, table="measurements", column="unit", rule="conversion_needs_weight",
        value=pl.col("unit"),
        message=pl.format("{} in IU/day needs the subject's weight_kg in subjects to become "
                          "IU/kg/day; it is missing", pl.col("param"))))
    converted = pl.col("value") * pl.col("__scale") + pl.col("__offset")
    # without a weight the value is left as read (and reported above), never made null
    converted = (pl.when(per_kg & (pl.col("__weight") > 0)).then(converted / pl.col("__weight"))
                 .when(per_kg).then(pl.col("value")).otherwise(converted))
    frame = frame.with_columns(
        pl.when(accepted).then(converted).otherwise(pl.col("value")).alias("value"),
        pl.when(accepted).then(pl.col("__canonical")).otherwise(pl.col("unit")).alias("unit"),
    )
    implausible = frame.filter(accepted & pl.col("value").is_not_null() & (
        (pl.col("value") < pl.col("__lo")) | (pl.col("value") > pl.col("__hi"))))
    if implausible.height:
        _report_implausible(implausible, units, findings)
    log = (frame.filter(accepted & (pl.col("unit_original") != pl.col("unit")))
           .group_by("param", "unit_original", "unit", "__rule").agg(pl.len().alias("n"))
           .select(pl.col("param"), pl.col("unit_original").alias("from_unit"),
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
    rows = rows.with_row_index("__id")
    alt = (rows.select("__id", "param", "value_original", "__unit", "__weight")
           .join(units.select("param", pl.col("__unit").alias("__alt_unit"), "__scale",
                              "__offset", "__per_kg", "__lo", "__hi", "__canonical"),
                 on="param")
           .filter(pl.col("__alt_unit") != pl.col("__unit"))
           .with_columns((pl.col("value_original") * pl.col("__scale") + pl.col("__offset"))
                         .alias("__alt")))
    alt = alt.with_columns(pl.when(pl.col("__per_kg")).then(pl.col("__alt") / pl.col("__weight"))
                           .otherwise(pl.col("__alt")).alias("__alt"))
    alt = (alt.filter((pl.col("__alt") >= pl.col("__lo")) & (pl.col("__alt") <= pl.col("__hi")))
           .group_by("__id").agg(pl.col("__alt_unit").first(), pl.col("__alt").first()))
    rows = rows.join(alt, on="__id", how="left")
    range_text = pl.format("{} to {} {}", pl.col("__lo"), pl.col("__hi"), pl.col("__canonical"))
    looks = rows.filter(pl.col("__alt_unit").is_not_null())
    findings.add_frame(row_findings(
        looks, table="measurements", column="value", rule="unit_mismatch",
        value=pl.col("value_original"),
        message=pl.format("{} {} {} is implausible (plausible: {}); it looks like {} "
                          "({} {}): correct the unit, it is not converted by guesswork",
                          pl.col("param"), pl.col("value_original"), pl.col("unit_original"),
                          range_text, pl.col("__alt_unit"), pl.col("__alt").round(2),
                          pl.col("__canonical"))))
    findings.add_frame(row_findings(
        rows.filter(pl.col("__alt_unit").is_null()), table="measurements", column="value",
        rule="plausible_range", value=pl.col("value_original"),
        message=pl.format("{} {} {} is outside the plausible range {}", pl.col("param"),
                          pl.col("value_original"), pl.col("unit_original"), range_text)))

"""Unit harmonisation of the measurements table onto the canonical units.

Each value is converted to its parameter's canonical unit (``schemas/measurements.yaml``) by the
conversions in :mod:`cohort.units`; the value and unit as read are kept in ``value_original``
and ``unit_original``, and every conversion is counted in a log. A value whose size contradicts
its unit (an HbA1c of 53 "%", a glucose of 126 "mmol/L") is reported with the unit it looks
like, never converted by guesswork.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cohort.contract import Contract
from cohort.findings import Findings, row_findings, value_text
from cohort.io.keys import factorize
from cohort.io.unit_groups import LOOKALIKE_UNITS, unit_group_findings
from cohort.units import CONVERSIONS, Conversion, canonical_spelling

__all__ = ["CONVERSION_LOG_SCHEMA", "harmonise_measurements"]

CONVERSION_LOG_SCHEMA = {"param": pl.String, "from_unit": pl.String, "to_unit": pl.String,
                         "rule": pl.String, "n": pl.Int64}


def _unit_table(contract: Contract) -> pl.DataFrame:
    rows = []
    for p in contract.parameters.values():
        # a declared extra parameter may have a unit cohort.units does not know (taken as
        # written), and no plausible range (none is invented)
        lo, hi = p.plausible or (-np.inf, np.inf)
        for unit in p.accepted_units:
            conv = CONVERSIONS.get((unit, p.unit)) or Conversion(unit, unit, 1.0,
                                                                 rule="canonical unit")
            rows.append({"param": p.code, "__unit": unit, "__canonical": p.unit,
                         "__scale": conv.scale, "__offset": conv.offset,
                         "__per_kg": conv.per_body_weight, "__rule": conv.rule,
                         "__lo": lo, "__hi": hi})
    return pl.DataFrame(rows)


def _spelling(unit: str, declared: dict[str, str]) -> str | None:
    """The contract's spelling of ``unit``; units only declared extras use are matched as
    written (surrounding spaces aside)."""
    return canonical_spelling(unit) or declared.get(unit.strip())


def _with_lookalikes(units: pl.DataFrame, contract: Contract) -> pl.DataFrame:
    """The accepted units plus units values are often mistakenly given in (named in messages,
    never accepted)."""
    extra = [{"param": code, "__unit": unit, "__canonical": p.unit, "__scale": scale,
              "__offset": 0.0, "__per_kg": False, "__rule": "", "__lo": p.plausible[0],
              "__hi": p.plausible[1]}
             for code, p in contract.parameters.items() if p.plausible is not None
             for unit, scale in LOOKALIKE_UNITS.get(code, ())]
    return pl.concat([units, pl.DataFrame(extra, schema=units.schema)]) if extra else units


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


def _pairs(frame: pl.DataFrame, units: pl.DataFrame,
           params: list[str]) -> tuple[pl.Series, pl.DataFrame]:
    """Each row's (parameter, unit) code, and what is known of each pair seen.

    A file of millions of rows holds a few dozen pairs: the unit facts (contract spelling,
    conversion, plausible range, what is wrong) are looked up once per pair, not once per row.
    """
    codes, pairs = factorize(frame, ["param", "unit"])
    declared = {u: u for u in units.get_column("__unit").to_list()
                if canonical_spelling(u) is None}
    spelled = {u: _spelling(u, declared)
               for u in pairs.get_column("unit").drop_nulls().to_list()}
    pairs = (pairs.with_row_index("__code")
             .with_columns(pl.col("unit").replace_strict(spelled, default=None,
                                                         return_dtype=pl.String)
                           .alias("__unit"))
             .join(units.unique(["param", "__unit"], keep="first", maintain_order=True),
                   on=["param", "__unit"], how="left", maintain_order="left"))
    known = pl.col("param").is_in(params)
    accepted = pl.col("__canonical").is_not_null()
    per_kg = pl.col("__per_kg").fill_null(False)
    pairs = pairs.with_columns(
        known.alias("__known"),
        (pl.col("param").is_not_null() & ~known).alias("__unknown_param"),
        (pl.col("unit").is_not_null() & pl.col("__unit").is_null()).alias("__unknown_unit"),
        (known & pl.col("__unit").is_not_null() & ~accepted).alias("__not_accepted"),
        per_kg.alias("__per_kg"),
        # converted without more information (per-kg doses also need a weight)
        (accepted & ~per_kg).alias("__direct"),
        pl.when(accepted).then(pl.col("__canonical")).otherwise(pl.col("unit"))
        .alias("__unit_out"),
    )
    return codes, pairs


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
    codes, pairs = _pairs(frame, units, list(params))
    value_in = frame.get_column("value")
    # tables loaded before (from_frames on a Cohort's tables) keep what was read then
    had_original = {"value_original", "unit_original"} <= set(frame.columns)
    frame = frame.with_columns(
        (pl.coalesce("value_original", "value") if had_original else pl.col("value"))
        .alias("value_original"),
        (pl.coalesce("unit_original", "unit") if had_original else pl.col("unit"))
        .alias("unit_original"))

    def rows_of(per_pair: pl.Series) -> tuple[pl.Series, pl.DataFrame]:
        """Positions of the rows whose pair is flagged, and those rows with their pair."""
        index = (per_pair.gather(codes).arg_true() if per_pair.any()
                 else pl.Series([], dtype=pl.UInt32))
        rows = (frame.select("__file", "__line", *(["subject_id"] if "subject_id" in frame.columns
                                                    else []))[index]
                .with_columns(codes.gather(index).alias("__code"),
                              value_in.gather(index).alias("__value_in"))
                .join(pairs, on="__code", how="left", maintain_order="left"))
        return index, rows

    accepted_text = pl.col("param").replace_strict(accepted_by_param, default=None,
                                                   return_dtype=pl.String)
    _, wrong = rows_of(pairs.select(pl.col("__unknown_param") | pl.col("__unknown_unit")
                                    | pl.col("__not_accepted")).to_series())
    findings.add_frame(row_findings(
        wrong.filter("__unknown_param"), table="measurements",
        column="param", rule="unknown_param", value=pl.col("param"),
        message=pl.format("unknown parameter {}; the contract's parameters are "
                          f"{', '.join(params)} (recode yours with a mapping file)",
                          pl.col("param"))))
    findings.add_frame(row_findings(
        wrong.filter("__unknown_unit"), table="measurements", column="unit",
        rule="unknown_unit", value=pl.col("unit"),
        message=pl.when(pl.col("__known")).then(pl.format(
            "unknown unit {} for {}; accepted: {} (recode it with a mapping file)",
            pl.col("unit"), pl.col("param"), accepted_text))
        .otherwise(pl.format("unknown unit {}; the accepted units of each parameter are in "
                             "the data dictionary", pl.col("unit")))))
    findings.add_frame(row_findings(
        wrong.filter("__not_accepted"), table="measurements", column="unit",
        rule="unit_not_accepted", value=pl.col("unit"),
        message=pl.format("{} is not an accepted unit for {} (accepted: {}); convert the "
                          "values or correct the unit", pl.col("unit"), pl.col("param"),
                          accepted_text)))

    # a value that cannot be converted is left as read, with its unit as read: never a value
    # in one unit labelled with another
    direct = pairs.get_column("__direct").gather(codes)
    value = (value_in * pairs.get_column("__scale").gather(codes)
             + pairs.get_column("__offset").gather(codes)).zip_with(direct, value_in)
    unit = pairs.get_column("__unit_out").gather(codes)
    weight = pl.Series("__weight", [], dtype=pl.Float64).extend_constant(None, frame.height)
    index, dosed = rows_of(pairs.get_column("__per_kg"))
    if dosed.height:
        # doses per day become doses per kg of body weight: only these rows need the weight
        weights = _weights(subjects, contract) if "subject_id" in dosed.columns else None
        dosed = (dosed.join(weights, on="subject_id", how="left", maintain_order="left")
                 if weights is not None
                 else dosed.with_columns(pl.lit(None, dtype=pl.Float64).alias("__weight")))
        if subjects is not None:
            findings.add_frame(row_findings(
                dosed.filter(pl.col("__weight").is_null() & pl.col("__value_in").is_not_null()),
                table="measurements", column="unit", rule="conversion_needs_weight",
                value=pl.col("unit"),
                message=pl.format("{} in IU/day needs the subject's body weight to become "
                                  "IU/kg/day, but weight_kg in subjects is missing or invalid; "
                                  "give weight_kg, or doses in IU/kg/day", pl.col("param"))))
        weighed = pl.col("__weight").is_not_null() & pl.col("__canonical").is_not_null()
        dosed = dosed.select(
            weighed.alias("__ok"), pl.col("__weight"),
            pl.when(weighed).then((pl.col("__value_in") * pl.col("__scale")
                                   + pl.col("__offset")) / pl.col("__weight"))
            .otherwise(pl.col("__value_in")).alias("value"),
            pl.when(weighed).then(pl.col("__canonical")).otherwise(pl.col("unit"))
            .alias("unit"))
        value = value.scatter(index, dosed.get_column("value"))
        unit = unit.scatter(index, dosed.get_column("unit"))
        direct = direct.scatter(index, dosed.get_column("__ok"))
        weight = weight.scatter(index, dosed.get_column("__weight"))
    frame = frame.with_columns(value.alias("value"), unit.alias("unit"))
    lo, hi = pairs.get_column("__lo").gather(codes), pairs.get_column("__hi").gather(codes)
    implausible = (direct & value.is_not_null() & ((value < lo) | (value > hi))).fill_null(False)
    if implausible.any():
        index = implausible.arg_true()
        rows = (frame.select("__file", "__line")[index]
                .with_columns(codes.gather(index).alias("__code"),
                              value_in.gather(index).alias("__value_in"),
                              weight.gather(index))
                .join(pairs.rename({"unit": "__unit_in"}), on="__code", how="left",
                      maintain_order="left"))
        _report_implausible(rows, _with_lookalikes(units, contract), findings)
    if "subject_id" in frame.columns:
        # units spelled alike (mmol/l, mmol/L) are one group: a code per (param, spelling)
        spelled = pairs.select("param", pl.col("__unit").alias("__unit_in"))
        groups: dict[tuple[str | None, str | None], int] = {}
        group = [groups.setdefault(key, len(groups)) for key in spelled.iter_rows()]
        unit_group_findings(
            frame.select("__file", "__line", "subject_id", "value").with_columns(
                pl.Series(group, dtype=pl.UInt32).gather(codes).alias("__pair"),
                value_in.alias("__value_in"), (direct & ~implausible).alias("__checked")),
            pl.DataFrame([(code, *key) for key, code in groups.items()],
                         schema={"__pair": pl.UInt32, "param": pl.String,
                                 "__unit_in": pl.String}, orient="row"),
            _weights(subjects, contract), contract, findings)
    converted = np.bincount(codes.filter(direct).to_numpy(), minlength=pairs.height)
    log = (pairs.with_columns(pl.Series("n", converted, dtype=pl.Int64))
           .filter((pl.col("n") > 0) & (pl.col("unit") != pl.col("__unit_out")))
           .select(pl.col("param"), pl.col("unit").alias("from_unit"),
                   pl.col("__canonical").alias("to_unit"),
                   pl.when(pl.col("__rule") == "canonical unit")
                   .then(pl.lit("respelled to the contract's spelling"))
                   .otherwise(pl.col("__rule")).alias("rule"),
                   pl.col("n"))
           .sort("param", "from_unit"))
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

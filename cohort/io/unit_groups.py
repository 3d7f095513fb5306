"""Units judged on many values together: 1000x errors that no single value shows.

A fasting C-peptide of 0.2 "pmol/L" is 0.0002 nmol/L: within the plausible range (an
undetectable C-peptide is recorded as 0), so no single value is wrong, yet a whole file of such
values is nmol/L mislabelled as pmol/L, on the endpoint that defines remission. The same holds
for insulin doses of 3 "IU/kg/day" that are IU/day, glucose in mmol/L labelled mg/dL, and body
weight in pounds labelled kg. Two checks look at values together:

- per file, parameter and unit as read: the median of the non-zero values (canonical unit)
  must lie within the parameter's ``typical_median`` (``schemas/measurements.yaml``); when it
  does not and the values read in another unit would, every row of the group gets a
  ``unit_mismatch`` naming that unit;
- body weight (``WEIGHT``) against the subject's ``weight_kg`` in subjects: a median ratio near
  2.2 means pounds labelled kg (near 0.45: kg labelled lb; near 1000: grams).

Rows already reported one by one (outside the plausible range) are not reported again.
"""

from __future__ import annotations

import polars as pl

from cohort.contract import Contract
from cohort.findings import Findings, row_findings, value_text
from cohort.units import CONVERSIONS, KG_PER_LB

__all__ = ["LOOKALIKE_UNITS", "unit_group_findings"]

LOOKALIKE_UNITS: dict[str, tuple[tuple[str, float], ...]] = {
    "WEIGHT": (("g", 1e-3),),
}
"""Units a parameter is not accepted in but is often mistakenly given in (unit, factor to the
canonical unit): named in messages, never converted."""

_WEIGHT_RATIOS = ((1 / KG_PER_LB, 0.15, "lb"), (KG_PER_LB, 0.15, "kg"), (1000.0, 0.2, "g"))
"""(ratio of WEIGHT to weight_kg, relative tolerance, unit the WEIGHT values look like)."""


def _alternatives(contract: Contract) -> pl.DataFrame:
    """Every (param, unit a value may really be in, scale, offset, per kg)."""
    rows = []
    for p in contract.parameters.values():
        for unit in p.accepted_units:
            c = CONVERSIONS.get((unit, p.unit))
            if c is not None:  # a declared extra's own unit: nothing to compare it with
                rows.append((p.code, unit, c.scale, c.offset, c.per_body_weight))
        for unit, scale in LOOKALIKE_UNITS.get(p.code, ()):
            rows.append((p.code, unit, scale, 0.0, False))
    return pl.DataFrame(rows, schema=["param", "__alt_unit", "__alt_scale", "__alt_offset",
                                      "__alt_per_kg"], orient="row")


def _typical(contract: Contract) -> pl.DataFrame:
    rows = [(p.code, p.typical_median[0], p.typical_median[1], p.unit)
            for p in contract.parameters.values() if p.typical_median is not None]
    return pl.DataFrame(rows, schema=["param", "__tlo", "__thi", "__canonical"], orient="row")


def unit_group_findings(rows: pl.DataFrame, pairs: pl.DataFrame,
                        weights: pl.DataFrame | None, contract: Contract,
                        findings: Findings) -> None:
    """Report groups of values whose unit is wrong as a whole.

    Parameters
    ----------
    rows : polars.DataFrame
        Converted measurements: ``__file``, ``__line``, ``subject_id``, ``__pair`` (the code of
        the row's parameter and unit as read, in the contract's spelling: a row of ``pairs``),
        ``__value_in`` (as read), ``value`` (canonical), ``__checked`` (converted and not
        already reported).
    pairs : polars.DataFrame
        ``__pair``, ``param`` and ``__unit_in`` of each code.
    weights : polars.DataFrame or None
        ``subject_id`` and ``__weight`` (kg) from subjects.
    contract : Contract
        Parameters with their ``typical_median``.
    findings : Findings
        Where the ``unit_mismatch`` errors go.
    """
    keys = ["__file", "param", "__unit_in"]
    # grouped by one integer made of the file's category code and the pair's code, over
    # those two columns and the value alone: grouping by the three text keys, on a copy of
    # every column joined to the weights, took 1.7 GiB more memory at 10M rows (and their
    # category codes 0.8 GiB more); the rows of odd groups and the WEIGHT rows are copied,
    # with their parameter, unit and weight, only when a check needs them
    file_code = pl.col("__file").cast(pl.Categorical).to_physical().cast(pl.UInt64)
    checked = (rows.lazy().filter(pl.col("__checked") & (pl.col("value") > 0))
               .with_columns((file_code * (1 << 32) + pl.col("__pair").cast(pl.UInt64))
                             .alias("__key")))
    groups = (checked.group_by("__key", maintain_order=True)
              .agg(pl.col("__file").first(), pl.col("__pair").first(),
                   pl.col("value").median().alias("__median"), pl.len().alias("__n"))
              .collect()
              .join(pairs, on="__pair", how="left", maintain_order="left"))
    if not groups.height:
        return

    def with_weights(part: pl.LazyFrame) -> pl.DataFrame:
        part = part.join(pairs.lazy(), on="__pair", how="left", maintain_order="left")
        if weights is None:
            return part.with_columns(pl.lit(None, dtype=pl.Float64).alias("__weight")).collect()
        return part.join(weights.lazy(), on="subject_id", how="left",
                         maintain_order="left").collect()

    odd = (groups.join(_typical(contract), on="param", how="inner")
           .filter((pl.col("__median") < pl.col("__tlo"))
                   | (pl.col("__median") > pl.col("__thi"))))
    if odd.height:
        in_odd = checked.join(odd.lazy().select("__key"), on="__key", how="semi",
                              maintain_order="left").drop("__key")
        _report_groups(with_weights(in_odd), odd.drop("__key", "__pair"), keys, contract,
                       findings)
    if weights is not None:
        weight_pairs = pairs.filter(pl.col("param") == "WEIGHT").get_column("__pair")
        _report_weights(with_weights(checked.filter(pl.col("__pair").is_in(
            weight_pairs.implode())).drop("__key")), findings)


def _report_groups(rows: pl.DataFrame, odd: pl.DataFrame, keys: list[str], contract: Contract,
                   findings: Findings) -> None:
    """For each odd group, the first other unit whose reading gives a typical median."""
    alt = (rows.join(odd.select(*keys, "__tlo", "__thi", "__canonical", "__median", "__n"),
                     on=keys, how="inner")
           .join(_alternatives(contract), on="param", how="inner")
           .filter(pl.col("__alt_unit") != pl.col("__unit_in"))
           .with_columns(((pl.col("__value_in") * pl.col("__alt_scale") + pl.col("__alt_offset"))
                          / pl.when(pl.col("__alt_per_kg")).then(pl.col("__weight"))
                          .otherwise(1.0)).alias("__alt")))
    best = (alt.group_by(*keys, "__alt_unit", maintain_order=True)
            .agg(pl.col("__alt").median().alias("__alt_median"),
                 pl.col("__tlo").first(), pl.col("__thi").first())
            .filter(pl.col("__alt_median").is_between(pl.col("__tlo"), pl.col("__thi")))
            .unique(keys, keep="first", maintain_order=True)
            .drop("__tlo", "__thi"))
    if not best.height:
        return  # unusual, but no other unit explains it: nothing to say with confidence
    flagged = rows.join(odd.select(*keys, "__median", "__n", "__tlo", "__thi", "__canonical"),
                        on=keys, how="inner").join(best, on=keys, how="inner")
    findings.add_frame(row_findings(
        flagged, table="measurements", column="unit", rule="unit_mismatch",
        value=pl.col("__unit_in"),
        message=pl.format(
            "the {} {} values in {} of this file have a median of {} {} (typical: {} to {}); "
            "read as {} their median is {} {}: the values look like {}, labelled {}; correct "
            "the unit (values are not converted by guesswork)",
            pl.col("__n"), pl.col("param"), pl.col("__unit_in"),
            value_text(pl.col("__median").round_sig_figs(3)), pl.col("__canonical"),
            value_text(pl.col("__tlo")), value_text(pl.col("__thi")), pl.col("__alt_unit"),
            value_text(pl.col("__alt_median").round_sig_figs(3)), pl.col("__canonical"),
            pl.col("__alt_unit"), pl.col("__unit_in"))))


def _report_weights(rows: pl.DataFrame, findings: Findings) -> None:
    """WEIGHT measurements against subjects.weight_kg: pounds or grams labelled kg."""
    weight = rows.filter((pl.col("param") == "WEIGHT") & pl.col("__weight").is_not_null()
                         & (pl.col("__weight") > 0))
    if not weight.height:
        return
    keys = ["__file", "__unit_in"]
    ratios = (weight.with_columns((pl.col("value") / pl.col("__weight")).alias("__ratio"))
              .group_by(keys, maintain_order=True)
              .agg(pl.col("__ratio").median().alias("__ratio"), pl.len().alias("__n")))
    for ratio, tol, unit in _WEIGHT_RATIOS:
        hit = ratios.filter(((pl.col("__ratio") / ratio) - 1).abs() <= tol)
        hit = hit.filter(pl.col("__unit_in") != unit)
        if not hit.height:
            continue
        flagged = weight.join(hit, on=keys, how="inner")
        findings.add_frame(row_findings(
            flagged, table="measurements", column="unit", rule="unit_mismatch",
            value=pl.col("__unit_in"),
            message=pl.format(
                "the {} WEIGHT values in {} of this file are {} times the subjects' weight_kg "
                f"(median): they look like {unit}, labelled {{}}; correct the unit (values are "
                "not converted by guesswork)", pl.col("__n"), pl.col("__unit_in"),
                value_text(pl.col("__ratio").round_sig_figs(3)), pl.col("__unit_in"))))

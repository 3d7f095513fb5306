"""CDISC ADaM packages as delivered: resolve the conventions a mapping cannot express.

The ``adam`` preset (``presets/adam.yaml``) maps ADaM variables onto the contract; this module
does what depends on which permissible variables a package has, before the mapping is applied,
and lists every choice with the validation output's derivations (rule and number of rows):

* variable names in any case (``usubjid`` is ``USUBJID``); text trimmed (SAS pads values,
  R-written CSVs pad ``AVISIT`` with leading spaces);
* screen failures (``ARM`` "Screen Failure", ``ARMCD`` "SCRNFAIL", "Not Assigned") removed
  with all their records, then the population selection (:mod:`cohort.io.population`);
* **study day 0** per subject from the first of ``TRTSDT``, ``TRTSDTM``, ``RANDDT``,
  ``RFSTDTC`` that the ADSL has and the subject has a value for; every dated record gets
  ``date - day 0`` as its study day (``ADY`` only when a record has no date: ADaM days have no
  day 0, so ``ADY >= 1`` becomes ``ADY - 1``);
* **last contact** from ``LSTALVDT``, else ``EOSDT``, else the subject's latest dated record
  in any dataset (any ``*DT``/``*DTM`` variable);
* the **unit** of a BDS record from ``AVALU``, else from ``PARAM``'s trailing parentheses
  ("Glucose (mmol/L)"); a parameter the mapping keeps with neither is an error;
* ``ABLFL``/``ANL01FL``/``TRTEMFL`` ("Y" or blank) as true/false, per dataset: a dataset
  without the variable gives empty flags (no flagging), not "false";
* ADTTE's ``AVAL`` in days (``AVALU`` weeks, months or years converted and reported);
* ADEX onto ``medications`` (the preset): drug class, daily dose and unit
  (:mod:`cohort.io.adam_exposure`);
* start and end days of any other dataset a mapping uses (ADEX onto ``medications`` or
  ``infusions``): ``COHORT_START_DAY``, ``COHORT_END_DAY``.

Derived values go into columns named ``COHORT_*`` that the preset maps. Nothing here is
study-specific: a study's choices (which arm is the control, its diabetes type) stay in its
mapping.
"""

from __future__ import annotations

import polars as pl

from cohort.findings import Findings, row_findings
from cohort.io.adam_dates import (
    bad_dates,
    day_of,
    day_zero,
    latest_record,
    subject_dates,
    text,
)
from cohort.io.adam_exposure import exposure_medications
from cohort.io.derive_columns import DerivationLog
from cohort.io.mapping import AdamOptions, Mapping
from cohort.io.population import remove_subjects, select_population, subject_column
from cohort.io.read import RawTable

__all__ = ["DAYS_PER", "SCREEN_FAILURE_CODES", "param_unit", "resolve_adam"]

SCREEN_FAILURE_CODES = ("SCREEN FAILURE", "SCREEN FAILED", "SCRNFAIL", "NOT ASSIGNED",
                        "NOTASSGN")
"""ARM/ARMCD/ACTARM/ACTARMCD values of subjects never assigned to an arm (upper case)."""

DAYS_PER = {"DAYS": 1.0, "DAY": 1.0, "D": 1.0, "WEEKS": 7.0, "WEEK": 7.0, "W": 7.0,
            "MONTHS": 30.4375, "MONTH": 30.4375, "YEARS": 365.25, "YEAR": 365.25, "Y": 365.25}
"""Days per ADTTE time unit (a month is 365.25 / 12 days, as in the survival analyses)."""

_UNIT_IN_PARAM = r"\(([^()]+)\)\s*$"
def _log_sources(log: DerivationLog, frame: pl.DataFrame, table: str, column: str,
                 source: str = "__daysrc") -> None:
    """One derivation entry per source of a derived column, with its number of rows."""
    for value, n in frame.group_by(source).len().sort(source).iter_rows():
        if value is not None:
            log.add(table, column, value, n)

def _files(raw: RawTable) -> str:
    return ", ".join(s.name for s in raw.sources) or raw.name


def _upper_names(table: RawTable) -> RawTable:
    frame = table.frame
    names = {c: c.upper() for c in frame.columns if not c.startswith("__") and c != c.upper()}
    if names and len({*frame.columns, *names.values()}) == len(frame.columns):
        frame = frame.rename(names)
    text = [c for c, t in frame.schema.items() if t == pl.String and not c.startswith("__")]
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in text)
    return RawTable(table.name, frame, table.sources)


def _yes(col: str) -> pl.Expr:
    return text(col).str.to_uppercase() == "Y"


def _flag(frame: pl.DataFrame, col: str) -> pl.Expr:
    """``Y`` -> "true", anything else -> "false", in the files that have the variable with at
    least one ``Y``; empty (no flagging) in the others and when the variable is absent."""
    if col not in frame.columns:
        return pl.lit(None, dtype=pl.String)
    flagged = _yes(col).fill_null(False).any().over("__file")
    return (pl.when(flagged).then(pl.when(_yes(col).fill_null(False)).then(pl.lit("true"))
                                  .otherwise(pl.lit("false")))
            .otherwise(pl.lit(None, dtype=pl.String)))


def param_unit(param: pl.Expr) -> pl.Expr:
    """The unit in ``PARAM``'s trailing parentheses: "Glucose (mmol/L)" -> "mmol/L"."""
    return param.str.extract(_UNIT_IN_PARAM, 1).str.strip_chars()


def _screen_failures(adsl: RawTable) -> tuple[list[str], str]:
    frame = adsl.frame
    cols = [c for c in ("ARM", "ARMCD", "ACTARM", "ACTARMCD") if c in frame.columns]
    if not cols or "USUBJID" not in frame.columns:
        return [], ""
    hit = pl.any_horizontal(text(c).str.to_uppercase().is_in(list(SCREEN_FAILURE_CODES))
                            .fill_null(False) for c in cols)
    ids = frame.filter(hit).select(text("USUBJID")).to_series().drop_nulls().to_list()
    return ids, "/".join(cols)


def _kept_params(mapping: Mapping) -> tuple[dict[str, str], set[str] | None]:
    tm = mapping.table("measurements")
    recode = {str(k): str(v) for k, v in tm.recode.get("param", {}).items()}
    keep = tm.keep.get("param")
    return recode, (set(map(str, keep)) if keep is not None else None)


def _measurements(table: RawTable, origin: pl.DataFrame, mapping: Mapping,
                  findings: Findings, log: DerivationLog) -> RawTable:
    frame = table.frame
    if not {"USUBJID", "PARAMCD"} <= set(frame.columns):
        return table  # the mapping reports the missing columns
    recode, keep = _kept_params(mapping)
    code = text("PARAMCD")
    kept = code.replace_strict(recode, default=code).is_in(list(keep)) if keep is not None \
        else pl.lit(True)
    frame = frame.with_columns(kept.fill_null(False).alias("__kept"))
    for col in ("ADT", "ADTM"):
        if col in frame.columns:
            bad_dates(frame.filter("__kept"), col, "measurements", findings)
    frame = day_of(frame, origin, ["ADT", "ADTM"], "ADY")
    day_zero(frame.filter("__kept"), "measurements", "ADY", findings)
    _log_sources(log, frame.filter("__kept"), "measurements", "day")
    no_day = frame.filter(pl.col("__kept") & pl.col("__day").is_null() & ~pl.col("__day_zero")
                          & text("USUBJID").is_in(origin.get_column("__sid").implode()))
    findings.add_frame(row_findings(
        no_day, table="measurements", column="ADT", rule="date", value=None,
        message="the record has no date (ADT, ADTM) and no ADY: its study day cannot be "
                "derived"))
    findings.explain(no_day, table="measurements", column="day")
    avalu = text("AVALU") if "AVALU" in frame.columns else pl.lit(None, dtype=pl.String)
    from_param = param_unit(text("PARAM")) if "PARAM" in frame.columns else pl.lit(
        None, dtype=pl.String)
    frame = frame.with_columns(
        pl.coalesce(avalu, from_param).alias("COHORT_UNIT"),
        pl.when(avalu.is_null() & from_param.is_not_null()).then(code).alias("__unit_param"))
    via_param = frame.filter(pl.col("__kept") & pl.col("__unit_param").is_not_null())
    _log_sources(log, via_param.with_columns(pl.format(
        "{} {}: PARAM's trailing parentheses (no AVALU)", pl.col("__unit_param"),
        pl.col("COHORT_UNIT")).alias("__unitsrc")), "measurements", "unit", "__unitsrc")
    no_unit = frame.filter(pl.col("__kept") & pl.col("COHORT_UNIT").is_null())
    has_param = "PARAM" in frame.columns
    findings.add_frame(row_findings(
        no_unit, table="measurements", column="PARAM" if has_param else "AVALU", rule="unit",
        value=text("PARAM") if has_param else code,
        message=pl.format("no unit for {}: AVALU is {} and PARAM has no unit in trailing "
                          "parentheses; add AVALU, or write PARAM as e.g. 'Glucose (mmol/L)'",
                          code, pl.lit("missing" if "AVALU" not in frame.columns
                                       else "empty"))))
    findings.explain(no_unit, table="measurements", column="unit")
    frame = frame.with_columns(
        pl.col("__day").alias("COHORT_DAY"),
        _flag(frame, "ABLFL").alias("COHORT_ABLFL"),
        _flag(frame, "ANL01FL").alias("COHORT_ANL01FL"),
    )
    kept = frame.filter("__kept")
    for flag, column in (("ABLFL", "baseline_flag"), ("ANL01FL", "analysis_flag")):
        n = int(kept.get_column(f"COHORT_{flag}").is_not_null().sum())
        if n:
            log.add("measurements", column, f"{flag} (Y: true, blank: false)", n)
    frame = frame.drop("__day", "__daysrc", "__day_zero", "__kept", "__unit_param")
    return RawTable(table.name, frame, table.sources)


def _adverse_events(table: RawTable, origin: pl.DataFrame, findings: Findings,
                    log: DerivationLog) -> RawTable:
    frame = table.frame
    if "USUBJID" not in frame.columns:
        return table
    for col in ("ASTDT", "ASTDTM"):
        if col in frame.columns:
            bad_dates(frame, col, "adverse_events", findings)
    frame = day_of(frame, origin, ["ASTDT", "ASTDTM"], "ASTDY")
    day_zero(frame, "adverse_events", "ASTDY", findings, "onset_day")
    _log_sources(log, frame, "adverse_events", "onset_day")
    frame = frame.with_columns(pl.col("__day").alias("COHORT_ONSET_DAY"),
                               _flag(frame, "TRTEMFL").alias("COHORT_TRTEMFL"),
                               ).drop("__day", "__daysrc", "__day_zero")
    n = int(frame.get_column("COHORT_TRTEMFL").is_not_null().sum())
    if n:
        log.add("adverse_events", "treatment_emergent", "TRTEMFL (Y: true, blank: false)", n)
    return RawTable(table.name, frame, table.sources)


def _periods(table: RawTable, origin: pl.DataFrame, findings: Findings,
             log: DerivationLog, names: dict[str, str] | None = None) -> RawTable:
    """Start and end days of exposure-like records (ADEX, ADCM) mapped onto ``infusions`` or
    ``medications``: ``COHORT_START_DAY`` from ASTDT/ASTDTM/ADT (else ASTDY),
    ``COHORT_END_DAY`` from AENDT/AENDTM (else AENDY), and ``COHORT_NUMBER``, the record's
    number 1, 2, ... within its subject in start-day order (ties in file order), which a
    cell-therapy mapping takes as ``infusion_number``."""
    frame = table.frame
    if "USUBJID" not in frame.columns:
        return table
    for out, dates, cdisc in (("COHORT_START_DAY", ["ASTDT", "ASTDTM", "ADT"], "ASTDY"),
                              ("COHORT_END_DAY", ["AENDT", "AENDTM"], "AENDY")):
        for col in dates:
            if col in frame.columns:
                bad_dates(frame, col, table.name, findings)
        frame = day_of(frame, origin, dates, cdisc)
        day_zero(frame, table.name, cdisc, findings, out)
        # logged under the contract column the mapping makes of it (start_day, day, ...)
        _log_sources(log, frame, table.name, (names or {}).get(out, out))
        frame = frame.with_columns(pl.col("__day").alias(out)).drop("__day", "__daysrc",
                                                                   "__day_zero")
    number = (pl.when(pl.col("COHORT_START_DAY").is_not_null())
              .then(pl.col("COHORT_START_DAY").rank("ordinal").over(text("USUBJID")))
              .cast(pl.Int64))
    frame = frame.with_columns(number.alias("COHORT_NUMBER"))
    if "COHORT_NUMBER" in (names or {}):
        log.add(table.name, names["COHORT_NUMBER"], "1, 2, ... per subject in start-day order",
                int(frame.get_column("COHORT_NUMBER").is_not_null().sum()))
    return RawTable(table.name, frame, table.sources)


def _time_to_event(table: RawTable, findings: Findings, log: DerivationLog) -> RawTable:
    frame = table.frame
    if "AVAL" not in frame.columns:
        return table
    unit = text("AVALU").str.to_uppercase() if "AVALU" in frame.columns else pl.lit(
        None, dtype=pl.String)
    if "PARAM" in frame.columns:
        unit = pl.coalesce(unit, param_unit(text("PARAM")).str.to_uppercase())
    frame = frame.with_columns(unit.alias("__tunit"))
    units = frame.get_column("__tunit").drop_nulls().unique().sort().to_list()
    unknown = [u for u in units if u not in DAYS_PER]
    for u in unknown:
        findings.add_frame(row_findings(
            frame.filter(pl.col("__tunit") == u), table="time_to_event", column="AVALU",
            rule="unit", value=pl.lit(u),
            message=f"time unit {u!r} is not one of DAYS, WEEKS, MONTHS, YEARS"))
    scale = pl.col("__tunit").replace_strict(DAYS_PER, default=None, return_dtype=pl.Float64)
    aval = pl.col("AVAL").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    if not units:
        log.add("time_to_event", "time_days", "AVAL, taken as days (no AVALU, no unit in "
                "PARAM)", frame.height)
        scale = pl.lit(1.0)
    for u in units:
        if u in DAYS_PER:
            n = int((frame.get_column("__tunit") == u).sum())
            log.add("time_to_event", "time_days", f"AVAL in {u}" + (
                "" if DAYS_PER[u] == 1 else f" x {DAYS_PER[u]:g} days"), n)
    desc = [c for c in ("EVNTDESC", "CNSDTDSC") if c in frame.columns]
    frame = frame.with_columns(
        (aval * scale.fill_null(1.0) if not units else aval * scale).alias("COHORT_TIME_DAYS"),
        (pl.coalesce([text(c) for c in desc]) if desc else pl.lit(None, dtype=pl.String))
        .alias("COHORT_DESCRIPTION")).drop("__tunit")
    return RawTable(table.name, frame, table.sources)


def resolve_adam(raw: dict[str, RawTable], mapping: Mapping, population: list[str],
                 findings: Findings, required: set[str],
                 log: DerivationLog) -> dict[str, RawTable]:
    """Resolve an ADaM package's conventions on the tables as read (see the module docstring).

    Parameters
    ----------
    raw : dict of str to RawTable
        Contract table name -> the dataset(s) read for it (ADaM variable names).
    mapping : Mapping
        The mapping (the ``adam`` preset or one extending it).
    population : list of str
        Population flags selecting subjects (``ITTFL``...), after screen failures.
    findings : Findings
        Removed rows are warnings, problems errors.
    required : set of str
        The contract's required tables.
    log : DerivationLog
        Every choice made (which variable gave day 0, last contact, a unit, ...), with the
        number of rows or subjects it applies to: listed with the validation output.
    """
    opts = mapping.adam or AdamOptions()
    raw = {name: _upper_names(t) if t.frame.width else t for name, t in raw.items()}
    adsl = raw.get("subjects")
    if adsl is None or "USUBJID" not in adsl.frame.columns:
        return select_population(raw, mapping, population, findings, required)
    if opts.screen_failures == "exclude":
        ids, cols = _screen_failures(adsl)
        raw = remove_subjects(raw, mapping, ids, why=f"screen failures ({cols} 'Screen "
                              "Failure', 'SCRNFAIL' or 'Not Assigned')", findings=findings,
                              required=required)
    raw = select_population(raw, mapping, population, findings, required)
    adsl = raw["subjects"]
    frame, files = adsl.frame, _files(adsl)
    for col in [*opts.origin, *opts.last_contact]:
        if col in frame.columns:
            bad_dates(frame, col, "subjects", findings)
    origin = subject_dates(frame, opts.origin)
    present = [v for v in opts.origin if v in frame.columns]
    if not present:
        findings.add(rule="mapping", table="subjects", file=files, column=opts.origin[0],
                     message=f"{files} has none of {', '.join(opts.origin)}: study day 0 "
                     "cannot be set; add one of them (adam.origin in a mapping lists others)")
    else:
        _log_sources(log, origin.with_columns(pl.format(
            "{} (the first of {} with a date)", pl.col("__from"),
            pl.lit(", ".join(present))).alias("__src")), "subjects", "(day 0)", "__src")
    with_origin = frame.with_columns(text("USUBJID").alias("__sid")).join(
        origin.select("__sid", "__date"), on="__sid", how="left", maintain_order="left")
    if present:
        findings.add_frame(row_findings(
            with_origin.filter(pl.col("__date").is_null()), table="subjects", column=present[0],
            rule="date", value=pl.col("__sid"),
            message=f"subject has no study day 0: none of {', '.join(present)} is given"))
    last = subject_dates(frame, opts.last_contact)
    latest = latest_record(raw).rename({"__date": "__latest"})
    last = (with_origin.select("__sid", pl.col("__date").alias("__origin"))
            .join(last, on="__sid", how="left")
            .join(latest, on="__sid", how="left")
            .with_columns(pl.coalesce("__date", "__latest").alias("__last"),
                          pl.when(pl.col("__date").is_not_null()).then(pl.col("__from"))
                          .when(pl.col("__latest").is_not_null())
                          .then(pl.lit("latest dated record")).alias("__from")))
    absent = "" if any(v in frame.columns for v in opts.last_contact) else (
        f" ({files} has no {', '.join(opts.last_contact)})")
    _log_sources(log, last.filter(pl.col("__origin").is_not_null()).with_columns(
        pl.when(pl.col("__from") == "latest dated record")
        .then(pl.lit("the latest date (*DT, *DTM) of the subject in any dataset minus day 0"
                     + absent))
        .otherwise(pl.format("{} minus day 0", pl.col("__from"))).alias("__src")),
        "subjects", "last_contact_day", "__src")
    last = last.select("__sid", (pl.col("__last") - pl.col("__origin")).dt.total_days()
                       .alias("COHORT_LAST_CONTACT_DAY"))
    frame = (frame.with_columns(text("USUBJID").alias("__sid"))
             .join(last, on="__sid", how="left", maintain_order="left").drop("__sid"))
    raw["subjects"] = RawTable(adsl.name, frame, adsl.sources)
    for name, table in list(raw.items()):
        if not table.frame.width or subject_column(table, mapping) is None:
            continue
        if name == "measurements":
            raw[name] = _measurements(table, origin, mapping, findings, log)
        elif name == "adverse_events":
            raw[name] = _adverse_events(table, origin, findings, log)
        elif name == "time_to_event":
            raw[name] = _time_to_event(table, findings, log)
        elif name == "medications" and "COHORT_DRUG_CLASS" in mapping.table(name).columns:
            table = exposure_medications(table, drug_classes=dict(opts.drug_classes),
                                         findings=findings, log=log)
            raw[name] = (_periods(table, origin, findings, log, mapping.table(name).columns)
                         if table.frame.width else table)
        elif name != "subjects":
            raw[name] = _periods(table, origin, findings, log, mapping.table(name).columns)
    return raw

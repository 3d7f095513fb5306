"""Study days and the subjects columns that calendar dates give (``study_days`` of a mapping).

Each subject's day 0 is the first non-empty of the ``origin`` dates. From it:

* every date column listed under ``columns`` becomes an integer study day (date minus day 0);
* ``birth_date`` gives ``age_years`` at day 0;
* ``diagnosis_date`` gives ``diabetes_duration_years`` (day 0 minus diagnosis) and, with
  ``birth_date``, ``age_at_diagnosis_years``;
* ``last_contact: latest`` gives ``last_contact_day``: the subject's latest dated record in any
  table (day 0 at least).

Years are days / 365.25, rounded to 0.01 year. A value that cannot be derived (no or bad date,
no day 0) is left empty; its cause is reported once, where it is, and the empty cell is not
reported again. Every derivation is listed in the validation report (``derivations``).
"""

from __future__ import annotations

import polars as pl

from cohort.contract import Contract
from cohort.findings import Findings, row_findings
from cohort.io.dates import date_expr, is_empty, report_bad_dates
from cohort.io.derive_columns import DerivationLog
from cohort.io.mapping import Mapping

__all__ = ["DAYS_PER_YEAR", "reserved_columns", "study_days"]

DAYS_PER_YEAR = 365.25


def reserved_columns(mapping: Mapping, contract: Contract,
                     findings: Findings) -> dict[str, dict[str, str]]:
    """Per table, the date columns ``study_days`` uses, each with the key that names it."""
    reserved: dict[str, dict[str, str]] = {t: {} for t in contract.names}
    sd = mapping.study_days
    if sd is None:
        return reserved
    for col in sd.origins:
        reserved["subjects"][col] = "study_days.origin"
    if sd.birth_date:
        reserved["subjects"][sd.birth_date] = "study_days.birth_date"
    if sd.diagnosis_date:
        reserved["subjects"][sd.diagnosis_date] = "study_days.diagnosis_date"
    for key in sd.columns:
        table, _, col = key.partition(".")
        if table not in contract.names or not col:
            findings.add(rule="mapping", message=f"{mapping.source}: study_days.columns: "
                         f"{key!r} must be <table>.<date column> with a contract table "
                         f"({', '.join(contract.names)})")
            continue
        reserved[table][col] = f"study_days.columns.{key}"
    return reserved


def _where(table: str, col: str) -> str:
    return f"tables.{table}.date_formats: {{{col}: FORMAT}} (this column)"


def _years(later: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    return ((later - earlier).dt.total_days() / DAYS_PER_YEAR).round(2)


def _nullable(contract: Contract, table: str, column: str) -> bool:
    """Whether ``column`` of ``table`` may be empty (True for columns not in the contract)."""
    spec = contract[table]
    return spec.column(column).nullable if column in spec.column_names else True


def study_days(tables: dict[str, pl.DataFrame], mapping: Mapping, contract: Contract,
               findings: Findings, log: DerivationLog) -> dict[str, pl.DataFrame]:
    """Derive study days (and ages, duration, last contact) from dates; see the module."""
    sd = mapping.study_days
    if sd is None:
        return tables
    origins = sd.origins
    origin = pl.DataFrame(schema={"subject_id": pl.String, "__origin": pl.Date})
    subjects = tables.get("subjects")
    usable = subjects is not None and "subject_id" in subjects.columns and all(
        c in subjects.columns for c in origins)
    if usable:
        assert subjects is not None
        for col in origins:
            report_bad_dates(subjects, col, "subjects", mapping.date_formats("subjects", col),
                             findings, where=_where("subjects", col))
        with_origin = subjects.select(
            pl.col("subject_id").cast(pl.String).str.strip_chars(),
            pl.coalesce([date_expr(subjects, c, mapping.date_formats("subjects", c))
                         for c in origins]).alias("__origin"),
            "__file", "__line")
        findings.add_frame(row_findings(
            with_origin.filter(pl.col("__origin").is_null()), table="subjects",
            column=origins[0], rule="date", value=pl.col("subject_id"),
            message=f"subject has no day-0 date: one of {', '.join(origins)} is needed to "
                    "derive its study days"))
        origin = (with_origin.select("subject_id", "__origin").drop_nulls()
                  .unique("subject_id", keep="first", maintain_order=True))
        log.add("subjects", "(day 0)", f"first non-empty of {', '.join(origins)}",
                origin.height)
    latest: list[pl.DataFrame] = [origin.select("subject_id", pl.lit(0, pl.Int64)
                                                .alias("__day"))]
    for key, day_col in sd.columns.items():
        table, _, col = key.partition(".")
        frame = tables.get(table)
        if frame is None or "subject_id" not in frame.columns or col not in frame.columns:
            continue  # table absent or unusable, or a column missing: reported elsewhere
        if day_col in frame.columns:
            findings.add(rule="mapping", table=table, column=day_col,
                         message=f"{mapping.source}: study_days.columns: {key} is mapped to "
                         f"{day_col}, but the table already has a column {day_col}; drop one")
            continue
        formats = mapping.date_formats(table, col)
        report_bad_dates(frame, col, table, formats, findings, where=_where(table, col))
        frame = frame.with_columns(date_expr(frame, col, formats).alias("__date"),
                                   pl.col("subject_id").cast(pl.String).str.strip_chars()
                                   .alias("__sid"))
        frame = frame.join(origin.rename({"subject_id": "__sid"}), on="__sid", how="left",
                           maintain_order="left")
        if not _nullable(contract, table, day_col):
            findings.add_frame(row_findings(
                frame.filter(is_empty(pl.col(col))), table=table, column=col, rule="date",
                value=None, message=f"{col} is empty; it is needed to derive {day_col} (leave "
                                    f"such rows out with tables.{table}.drop_empty: [{col}])"))
        findings.explain(frame.filter(pl.col("__date").is_null() | pl.col("__origin").is_null()),
                         table=table, column=day_col)
        frame = frame.with_columns(
            (pl.col("__date") - pl.col("__origin")).dt.total_days().cast(pl.Int64)
            .alias(day_col))
        latest.append(frame.select(pl.col("__sid").alias("subject_id"),
                                   pl.col(day_col).alias("__day")).drop_nulls())
        log.add(table, day_col, f"{col} minus the subject's day-0 date",
                int(frame.get_column(day_col).is_not_null().sum()))
        tables[table] = frame.drop(col, "__date", "__sid", "__origin")
    if usable and "subjects" in tables:
        tables["subjects"] = _subject_dates(tables["subjects"], origin, latest, mapping,
                                            findings, log)
    return tables


def _subject_dates(subjects: pl.DataFrame, origin: pl.DataFrame, latest: list[pl.DataFrame],
                   mapping: Mapping, findings: Findings,
                   log: DerivationLog) -> pl.DataFrame:
    """Ages, duration and last contact from the subjects' dates; drop the date columns."""
    sd = mapping.study_days
    assert sd is not None
    frame = subjects.with_columns(pl.col("subject_id").cast(pl.String).str.strip_chars()
                                  .alias("__sid")).join(
        origin.rename({"subject_id": "__sid"}), on="__sid", how="left", maintain_order="left")
    derived: list[tuple[str, pl.Expr, str]] = []
    dates = {}
    for key, col in (("birth_date", sd.birth_date), ("diagnosis_date", sd.diagnosis_date)):
        if col is None or col not in frame.columns:
            continue
        formats = mapping.date_formats("subjects", col)
        report_bad_dates(frame, col, "subjects", formats, findings,
                         where=_where("subjects", col))
        dates[key] = date_expr(frame, col, formats)
    if "birth_date" in dates:
        derived.append(("age_years", _years(pl.col("__origin"), dates["birth_date"]),
                        f"{sd.birth_date} to day 0, in years (days / 365.25)"))
    if "diagnosis_date" in dates:
        derived.append(("diabetes_duration_years",
                        _years(pl.col("__origin"), dates["diagnosis_date"]),
                        f"{sd.diagnosis_date} to day 0, in years (days / 365.25)"))
        if "birth_date" in dates:
            derived.append(("age_at_diagnosis_years",
                            _years(dates["diagnosis_date"], dates["birth_date"]),
                            f"{sd.birth_date} to {sd.diagnosis_date}, in years "
                            "(days / 365.25)"))
    if sd.last_contact == "latest":
        last = (pl.concat(latest).group_by("subject_id").agg(pl.col("__day").max()
                                                             .alias("__last")))
        frame = frame.join(last.rename({"subject_id": "__sid"}), on="__sid", how="left",
                           maintain_order="left")
        derived.append(("last_contact_day", pl.col("__last"),
                        "the subject's latest dated record in any table (study_days.columns) "
                        "or day 0"))
    for col, expr, rule in derived:
        if col in subjects.columns:
            findings.add(rule="mapping", table="subjects", column=col,
                         message=f"{mapping.source}: study_days derives {col}, but the "
                                 f"subjects table already has a column {col}; drop one")
            continue
        frame = frame.with_columns(expr.alias(col))
        findings.explain(frame.filter(pl.col(col).is_null()), table="subjects", column=col)
        log.add("subjects", col, rule, int(frame.get_column(col).is_not_null().sum()))
    used = [*sd.origins, sd.birth_date, sd.diagnosis_date]
    return frame.drop([c for c in used if c and c in frame.columns]
                      + [c for c in ("__sid", "__origin", "__last") if c in frame.columns])

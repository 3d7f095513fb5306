"""Cross-table rules of the contract, which no single-table schema can express.

Each rule is a function of the parsed tables that adds findings. Rules skip silently when a
column they need is missing or failed to parse: that problem is already reported, once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import polars as pl

from cohort.findings import Findings, row_findings, value_text

__all__ = ["CROSS_TABLE_RULES", "check_cross_table"]

Tables = dict[str, pl.DataFrame]

BMI_TOLERANCE = 1.0
"""kg/m2: reported BMI may differ from weight / height^2 by rounding, not by more."""
AGE_TOLERANCE = 1.5
"""years: age - age at diagnosis - duration, allowing for rounding of each to whole years."""

DAY_COLUMNS = {"infusions": ["day"], "measurements": ["day"],
               "adverse_events": ["onset_day"], "medications": ["start_day", "end_day"]}


def _has(tables: Tables, table: str, *columns: str) -> bool:
    frame = tables.get(table)
    return frame is not None and all(c in frame.columns for c in columns)


def _subject_ids(tables: Tables) -> pl.Series | None:
    if not _has(tables, "subjects", "subject_id"):
        return None
    return tables["subjects"].get_column("subject_id").drop_nulls().unique()


def unknown_subjects(tables: Tables, findings: Findings) -> None:
    """Every subject_id in another table exists in subjects."""
    known = _subject_ids(tables)
    if known is None:
        return
    # an id that matches a subject once case and spaces are ignored is named in the message
    near = (tables["subjects"].select("subject_id", "__file", "__line")
            .filter(pl.col("subject_id").is_not_null())
            .with_columns(_id_key(pl.col("subject_id")).alias("__key"))
            .unique("__key", keep="first", maintain_order=True)
            .select("__key", pl.col("subject_id").alias("__near"),
                    pl.col("__file").cast(pl.String).alias("__near_file"),
                    pl.col("__line").alias("__near_line")))
    for name, frame in tables.items():
        if name == "subjects" or "subject_id" not in frame.columns:
            continue
        bad = frame.filter(pl.col("subject_id").is_not_null()
                           & ~pl.col("subject_id").is_in(known.implode()))
        if not bad.height:
            continue
        bad = bad.with_columns(_id_key(pl.col("subject_id")).alias("__key")).join(
            near, on="__key", how="left", maintain_order="left")
        hint = pl.when(pl.col("__near").is_not_null()).then(pl.format(
            "; {} ({} row {}) differs from it only by case or spaces: write the id the same "
            "way in every table", pl.col("__near"), pl.col("__near_file"),
            pl.col("__near_line"))).otherwise(pl.lit("; add the subject or correct the id"))
        findings.add_frame(row_findings(
            bad, table=name, column="subject_id", rule="unknown_subject",
            value=pl.col("subject_id"),
            message=pl.format("subject {} is not in subjects{}", pl.col("subject_id"), hint)))


def _id_key(ids: pl.Expr) -> pl.Expr:
    """Subject ids compared without case and surrounding white space."""
    return ids.str.strip_chars().str.to_lowercase()


def after_last_contact(tables: Tables, findings: Findings) -> None:
    """Nothing happens after a subject's last_contact_day."""
    if not _has(tables, "subjects", "subject_id", "last_contact_day"):
        return
    last = tables["subjects"].select("subject_id", pl.col("last_contact_day").alias("__last")) \
        .drop_nulls().unique("subject_id", keep="first", maintain_order=True)
    if not last.height:
        return
    earliest = last.get_column("__last").min()
    for name, cols in DAY_COLUMNS.items():
        for col in cols:
            if not _has(tables, name, "subject_id", col):
                continue
            # only rows after the earliest last contact can be after their subject's, and
            # only the columns the finding needs go through the join
            frame = (tables[name].select("subject_id", col, "__file", "__line")
                     .filter(pl.col(col) > earliest)
                     .join(last, on="subject_id", how="inner", maintain_order="left"))
            bad = frame.filter(pl.col(col) > pl.col("__last"))
            findings.add_frame(row_findings(
                bad, table=name, column=col, rule="after_last_contact", value=pl.col(col),
                message=pl.format("{} {} is after the subject's last_contact_day {}; correct "
                                  "the day or last_contact_day in subjects", pl.lit(col),
                                  pl.col(col), pl.col("__last"))))


def _receives_cells(subjects: pl.DataFrame) -> pl.Expr:
    """True for subjects receiving a cell product, False for the others, null when unknown.

    ``intervention`` says it when given; without it (older cohorts, or an empty cell) a
    control receives no cells and any other subject does.
    """
    by_control = ~pl.col("control")
    if "intervention" not in subjects.columns:
        return by_control
    return (pl.when(pl.col("intervention").is_not_null())
            .then(pl.col("intervention") == "cells").otherwise(by_control))


def _who(subjects: pl.DataFrame) -> pl.Expr:
    """How a subject's arm is described in messages: by intervention when given."""
    by_control = pl.when(pl.col("control")).then(pl.lit("control = true")).otherwise(
        pl.lit("control = false"))
    if "intervention" not in subjects.columns:
        return by_control
    return pl.when(pl.col("intervention").is_not_null()).then(
        pl.format("intervention = {}", pl.col("intervention"))).otherwise(by_control)


def infusion_rules(tables: Tables, findings: Findings) -> None:
    """Subjects receiving cells have an active infusion starting on day 0; the others none
    but placebo; infusion numbers run 1, 2, ... in day order; doses are given, and 0 for
    placebo.

    Who receives cells is ``intervention == "cells"``, or, where ``intervention`` is absent or
    empty, ``control == false``. An infusion whose source is missing (already reported) counts
    as neither active nor placebo, so that it does not cause further findings.
    """
    if not _has(tables, "subjects", "subject_id", "control"):
        return
    subjects = tables["subjects"]
    subjects = subjects.select("subject_id", "control", "__file", "__line",
                               _receives_cells(subjects).alias("__cells"),
                               _who(subjects).alias("__who"))
    treated = subjects.filter(pl.col("__cells") == True)  # noqa: E712 (polars expression)
    if "infusions" not in tables:
        if treated.height:
            findings.add(rule="treated_without_infusion", table="infusions",
                         message=f"there is no infusions table, but {treated.height} subjects "
                                 "receive cells (control = false, or intervention = cells); "
                                 "add infusions.csv, or describe what the arms receive with "
                                 "intervention (drug, standard_care, ...)")
        return
    if not _has(tables, "infusions", "subject_id", "source", "day", "infusion_number"):
        return  # unreadable, or a required column is missing: reported already
    inf = tables["infusions"]
    source = pl.col("source")
    per_subject = inf.filter(source.is_null() | (source != "placebo")).group_by(
        "subject_id").agg(pl.len().alias("__n"),
                          pl.col("day").filter(source.is_not_null()).min().alias("__first_day"))
    treated = treated.join(per_subject, on="subject_id", how="left", maintain_order="left")
    findings.add_frame(row_findings(
        treated.filter(pl.col("__n").is_null()), table="subjects", column="control",
        rule="treated_without_infusion", value=pl.col("subject_id"),
        message=pl.format("subject {} receives cells ({}) but has no active infusion in "
                          "infusions; add its infusions, or describe what it receives with "
                          "intervention (drug, placebo, standard_care, device, surgery, other)",
                          pl.col("subject_id"), pl.col("__who"))))
    late = treated.filter(pl.col("__first_day").is_not_null() & (pl.col("__first_day") != 0))
    # reported on the infusion row a user would correct, not on the subject
    first = inf.join(late.select("subject_id", "__who", "__first_day"), on="subject_id",
                     how="inner", maintain_order="left").filter(
        source.is_not_null() & (source != "placebo") & (pl.col("day") == pl.col("__first_day")))
    findings.add_frame(row_findings(
        first, table="infusions", column="day", rule="first_infusion_day",
        value=pl.col("day"),
        message=pl.format("the first active infusion of subject {} ({}) is on day {}; day 0 "
                          "is the first infusion by definition: shift the subject's days",
                          pl.col("subject_id"), pl.col("__who"), pl.col("day"))))
    others = subjects.filter(pl.col("__cells") == False).select(  # noqa: E712
        "subject_id", "__who")
    bad = inf.join(others, on="subject_id", how="inner", maintain_order="left").filter(
        source.is_not_null() & (source != "placebo"))
    findings.add_frame(row_findings(
        bad, table="infusions", column="source", rule="control_with_active_infusion",
        value=source,
        message=pl.format("subject {} ({}) has an active infusion ({}); only subjects "
                          "receiving cells (intervention = cells, or control = false) may; "
                          "others may only have placebo", pl.col("subject_id"),
                          pl.col("__who"), source)))
    order = (inf.filter(pl.col("day").is_not_null() & pl.col("infusion_number").is_not_null())
             .sort("subject_id", "day", "infusion_number", maintain_order=True)
             .with_columns((pl.int_range(pl.len()) + 1).over("subject_id").alias("__expected")))
    findings.add_frame(row_findings(
        order.filter(pl.col("infusion_number") != pl.col("__expected")), table="infusions",
        column="infusion_number", rule="infusion_order", value=pl.col("infusion_number"),
        message=pl.format("infusion numbers must run 1, 2, ... in day order; this is infusion "
                          "{} of subject {} by day", pl.col("__expected"), pl.col("subject_id"))))
    _dose_rules(inf, findings)


def _dose_rules(inf: pl.DataFrame, findings: Findings) -> None:
    """Doses: at least one given; 0 for placebo; more than 0 for active cells."""
    doses = [c for c in ("dose_cells_per_kg", "dose_cells_total") if c in inf.columns]
    if not doses:
        return
    no_dose = pl.all_horizontal([pl.col(c).is_null() for c in doses])
    findings.add_frame(row_findings(
        inf.filter(no_dose), table="infusions", column=doses[0], rule="dose_missing",
        value=None, message="neither dose_cells_per_kg nor dose_cells_total is given; give at "
                            "least one (0 for placebo)"))
    positive = pl.any_horizontal([pl.col(c).fill_null(0) > 0 for c in doses])
    placebo = pl.col("source") == "placebo"
    # the first dose column that shows the problem is the cell reported
    first_positive = pl.coalesce([pl.when(pl.col(c) > 0).then(pl.lit(c)) for c in doses])
    first_given = pl.coalesce([pl.when(pl.col(c).is_not_null()).then(pl.lit(c))
                               for c in doses])

    def cell(which: pl.Expr) -> pl.Expr:
        return pl.coalesce([pl.when(which == c).then(pl.col(c)) for c in doses])

    findings.add_frame(row_findings(
        inf.filter(placebo & positive), table="infusions", column=first_positive,
        rule="placebo_dose", value=cell(first_positive),
        message="a placebo infusion has a dose > 0 cells; placebo doses are 0"))
    if "donor" in inf.columns:
        findings.add_frame(row_findings(
            inf.filter(placebo.is_not_null() & pl.col("donor").is_not_null()
                       & (placebo != (pl.col("donor") == "none"))),
            table="infusions", column="donor", rule="placebo_donor", value=pl.col("donor"),
            message=pl.format("donor is {} with source {}; donor is none exactly when source "
                              "is placebo", pl.col("donor"), pl.col("source"))))
    findings.add_frame(row_findings(
        inf.filter(pl.col("source").is_not_null() & ~placebo & ~no_dose & ~positive),
        table="infusions", column=first_given, rule="active_zero_dose",
        value=cell(first_given),
        message=pl.format("an active infusion ({}) has a dose of 0 cells; give its dose, or "
                          "set source to placebo", pl.col("source"))))


def bmi_consistent(tables: Tables, findings: Findings) -> None:
    """BMI agrees with weight and height (warning)."""
    if not _has(tables, "subjects", "weight_kg", "height_cm", "bmi_kg_m2"):
        return
    frame = tables["subjects"].with_columns(
        (pl.col("weight_kg") / (pl.col("height_cm") / 100) ** 2).alias("__bmi"))
    bad = frame.filter((pl.col("bmi_kg_m2") - pl.col("__bmi")).abs() > BMI_TOLERANCE)
    findings.add_frame(row_findings(
        bad, table="subjects", column="bmi_kg_m2", rule="bmi_inconsistent",
        value=pl.col("bmi_kg_m2"), severity="warning",
        message=pl.format("BMI {} kg/m2 differs from weight / height^2 = {} kg/m2 by more than "
                          "1 kg/m2; check weight_kg, height_cm and bmi_kg_m2",
                          value_text(pl.col("bmi_kg_m2")), pl.col("__bmi").round(1))))


def age_consistent(tables: Tables, findings: Findings) -> None:
    """Age, age at diagnosis and diabetes duration agree (warning)."""
    cols = ("age_years", "age_at_diagnosis_years", "diabetes_duration_years")
    if not _has(tables, "subjects", *cols):
        return
    frame = tables["subjects"].with_columns(
        (pl.col("age_years") - pl.col("age_at_diagnosis_years")
         - pl.col("diabetes_duration_years")).alias("__gap"))
    bad = frame.filter(pl.col("__gap").abs() > AGE_TOLERANCE)
    findings.add_frame(row_findings(
        bad, table="subjects", column="diabetes_duration_years", rule="age_inconsistent",
        value=pl.col("diabetes_duration_years"), severity="warning",
        message=pl.format("age_years - age_at_diagnosis_years = {} years, but "
                          "diabetes_duration_years is {}; check the three", value_text(
                              (pl.col("age_years") - pl.col("age_at_diagnosis_years")).round(1)),
                          value_text(pl.col("diabetes_duration_years")))))


def medication_periods(tables: Tables, findings: Findings) -> None:
    """A medication period ends on or after it starts."""
    if not _has(tables, "medications", "start_day", "end_day"):
        return
    bad = tables["medications"].filter(pl.col("end_day") < pl.col("start_day"))
    findings.add_frame(row_findings(
        bad, table="medications", column="end_day", rule="end_before_start",
        value=pl.col("end_day"),
        message=pl.format("end_day {} is before start_day {}; correct one of them",
                          pl.col("end_day"), pl.col("start_day"))))


def empty_required(tables: Tables, findings: Findings, required: set[str],
                   files: dict[str, str] | None = None) -> None:
    """Required tables have at least one row; ``files`` names each table's files."""
    for name in sorted(required):
        frame = tables.get(name)
        if frame is not None and frame.width and frame.height == 0:
            file = (files or {}).get(name) or None
            findings.add(rule="empty_table", table=name, file=file,
                         message=f"{name} ({file or 'no file'}) has a header but no rows; the "
                                 "table is required")


def similar_subject_ids(tables: Tables, findings: Findings) -> None:
    """Warn about subject ids that differ only by case or surrounding white space.

    ``LU-001`` and ``lu-001`` are two subjects to the contract; far more often they are one
    subject typed twice. Each later id is reported on its own row, naming the first row.
    """
    if not _has(tables, "subjects", "subject_id"):
        return
    ids = (tables["subjects"].select("subject_id", "__file", "__line")
           .filter(pl.col("subject_id").is_not_null())
           .with_columns(_id_key(pl.col("subject_id")).alias("__key")))
    firsts = ids.unique("__key", keep="first", maintain_order=True).select(
        "__key", pl.col("subject_id").alias("__first"), pl.col("__file").alias("__first_file"),
        pl.col("__line").alias("__first_line"))
    similar = (ids.join(firsts, on="__key", how="inner", maintain_order="left")
               .filter(pl.col("subject_id") != pl.col("__first")))
    findings.add_frame(row_findings(
        similar, table="subjects", column="subject_id", rule="similar_id",
        value=pl.col("subject_id"), severity="warning",
        message=pl.format("subject id {} and {} ({} row {}) differ only by case or "
                          "surrounding spaces: they are two subjects to the contract; if they "
                          "are one, write the id the same way everywhere",
                          pl.col("subject_id").map_elements(repr, return_dtype=pl.String),
                          pl.col("__first").map_elements(repr, return_dtype=pl.String),
                          pl.col("__first_file").cast(pl.String), pl.col("__first_line"))))


CROSS_TABLE_RULES: list[Callable[[Tables, Findings], None]] = [
    unknown_subjects, after_last_contact, infusion_rules, bmi_consistent, age_consistent,
    medication_periods, similar_subject_ids,
]


def check_cross_table(tables: Tables, findings: Findings, *,
                      unreadable: Iterable[str] = ()) -> None:
    """Run every cross-table rule.

    ``unreadable`` names tables that exist but could not be read or mapped (already
    reported): rules then skip them rather than report them as absent.
    """
    # a table without columns is skipped by every rule (they check for the columns they use)
    tables = {**{name: pl.DataFrame() for name in unreadable}, **tables}
    for rule in CROSS_TABLE_RULES:
        rule(tables, findings)

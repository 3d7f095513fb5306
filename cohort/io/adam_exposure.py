"""ADEX (exposure) onto the ``medications`` table: drug class, daily dose and unit.

The ``adam`` preset maps an occurrence-structured ADEX (one record per exposure period:
``EXTRT``, ``EXDOSE``, ``EXDOSU``, ``EXDOSFRQ``, ``ASTDT``/``AENDT``) onto glucose-lowering
medication periods, so that dose-reduction endpoints of a drug trial need no mapping. What ADaM
does not say is resolved here and listed with the validation output's derivations:

* **drug class** (``drug_class``): ``adam.drug_classes`` in the mapping (``EXTRT`` -> class,
  for investigational products without an international non-proprietary name yet), else the
  WHO INN stem of ``EXTRT`` (``-gliptin`` DPP-4, ``-gliflozin`` SGLT2, ``-glutide``/``-natide``
  GLP-1, ``-glitazone`` TZD, ``metformin``, the sulfonylureas, insulin and its analogues),
  else ``other``. The rule that gave each class is reported per treatment.
* **daily dose** (``daily_dose``): ``EXDOSE`` times the administrations per day of
  ``EXDOSFRQ`` (CDISC frequency codes: ``QD`` 1, ``BID`` 2, ``QW`` 1/7, ...); ``EXDOSE``
  itself when the dataset has no ``EXDOSFRQ``; empty, with a warning, for a frequency that
  gives no daily rate (``PRN``, ``ONCE``). The unit is ``EXDOSU`` per day (``mg/day``).
* **records that are not medications** are left out and counted in a ``rows_left_out``
  warning: placebo (no drug to reduce), and cell products (``EXDOSU`` in cells), which are
  infusions: a cell-therapy package maps them onto ``infusions`` in its own mapping, since
  ADaM has no variables for the cell source and donor.

A BDS-structured ADEX (``PARAMCD``/``AVAL`` summaries such as total dose, without ``EXTRT``)
holds no periods: it is not read as medications, said in a warning.
"""

from __future__ import annotations

import re

import polars as pl

from cohort.findings import Findings
from cohort.io.adam_dates import text
from cohort.io.derive_columns import DerivationLog
from cohort.io.read import RawTable

__all__ = ["DRUG_CLASS_STEMS", "PER_DAY", "drug_class_of", "exposure_medications"]

DRUG_CLASS_STEMS: tuple[tuple[str, str], ...] = (
    (r"INSULIN|GLARGINE|DETEMIR|DEGLUDEC|LISPRO|ASPART|GLULISINE|\bNPH\b", "insulin"),
    (r"METFORMIN", "metformin"),
    (r"GLIPTIN", "dpp4"),
    (r"GLIFLOZIN", "sglt2"),
    (r"GLUTIDE|EXENATIDE|LIXISENATIDE|TIRZEPATIDE", "glp1"),
    (r"GLITAZONE", "tzd"),
    (r"GLIBENCLAMIDE|GLYBURIDE|GLIMEPIRIDE|GLIPIZIDE|GLICLAZIDE|GLIQUIDONE|TOLBUTAMIDE|"
     r"CHLORPROPAMIDE|TOLAZAMIDE", "sulfonylurea"),
)
"""WHO INN stems (and the older names of the classes) -> contract drug class, matched on the
upper-cased ``EXTRT``; the first class whose stem occurs earliest in the name wins."""

PER_DAY: dict[str, float] = {
    "QD": 1.0, "ONCE DAILY": 1.0, "DAILY": 1.0, "QAM": 1.0, "QPM": 1.0, "QHS": 1.0,
    "BID": 2.0, "TWICE DAILY": 2.0, "TID": 3.0, "QID": 4.0,
    "QOD": 0.5, "Q2D": 0.5, "EVERY OTHER DAY": 0.5,
    "QW": 1 / 7, "ONCE WEEKLY": 1 / 7, "EVERY WEEK": 1 / 7, "Q2W": 1 / 14, "Q3W": 1 / 21,
    "Q4W": 1 / 28, "QM": 12 / 365.25, "EVERY MONTH": 12 / 365.25,
}
"""Administrations per day of the CDISC frequency codes (C71113) a daily dose can use."""

_PLACEBO = re.compile(r"PLACEBO|VEHICLE")
_CELLS = re.compile(r"CELL")


def drug_class_of(treatment: str, declared: dict[str, str] | None = None) -> tuple[str, str]:
    """The contract drug class of an ``EXTRT`` value and the rule that gave it.

    Examples
    --------
    >>> drug_class_of("SITAGLIPTIN")
    ('dpp4', 'INN stem')
    >>> drug_class_of("Cohortide", {"COHORTIDE": "glp1"})
    ('glp1', 'adam.drug_classes')
    >>> drug_class_of("COHORTIDE")
    ('other', 'no INN stem of a glucose-lowering class')
    """
    name = treatment.strip().upper()
    for key, value in (declared or {}).items():
        if key.strip().upper() == name:
            return value, "adam.drug_classes"
    hits = [(m.start(), cls) for stem, cls in DRUG_CLASS_STEMS
            if (m := re.search(stem, name)) is not None]
    if hits:
        return min(hits)[1], "INN stem"
    return "other", "no INN stem of a glucose-lowering class"


def _left_out(findings: Findings, table: RawTable, frame: pl.DataFrame, mask: pl.Expr,
              why: str) -> pl.DataFrame:
    gone = frame.filter(mask)
    if gone.height:
        files = ", ".join(s.name for s in table.sources) or table.name
        names = ", ".join(gone.get_column("__extrt").unique(maintain_order=True).to_list())
        findings.add(rule="rows_left_out", severity="warning", table="medications",
                     file=files, column="EXTRT", value=str(gone.height),
                     message=f"{gone.height} rows of {files} were left out of medications: "
                             f"{why} ({names})")
    return frame.filter(~mask)


def exposure_medications(table: RawTable, *, drug_classes: dict[str, str], findings: Findings,
                         log: DerivationLog) -> RawTable:
    """ADEX records as medication periods (see the module docstring).

    Adds ``COHORT_DRUG_CLASS``, ``COHORT_DAILY_DOSE`` and ``COHORT_DOSE_UNIT``, which the
    preset maps; start and end days are added afterwards like those of any period dataset.
    Returns a table without columns (nothing read) for a BDS ADEX without ``EXTRT``.
    """
    frame = table.frame
    files = ", ".join(s.name for s in table.sources) or table.name
    if "EXTRT" not in frame.columns:
        findings.add(rule="rows_left_out", severity="warning", table="medications",
                     file=files, column="EXTRT", value=str(frame.height),
                     message=f"{files} has no EXTRT (a BDS exposure dataset of PARAMCD/AVAL "
                             "summaries): it holds no medication periods and is not read; map "
                             "an occurrence dataset (ADEX with EXTRT, ADCM) onto medications "
                             "in your mapping if dose endpoints need one")
        return RawTable(table.name, pl.DataFrame(), table.sources)
    unit = text("EXDOSU") if "EXDOSU" in frame.columns else pl.lit(None, dtype=pl.String)
    frame = frame.with_columns(text("EXTRT").fill_null("").alias("__extrt"),
                               unit.alias("__exdosu"))
    frame = _left_out(findings, table, frame,
                      pl.col("__extrt").str.to_uppercase().str.contains(_PLACEBO.pattern),
                      "placebo is not a glucose-lowering drug")
    frame = _left_out(findings, table, frame,
                      pl.col("__exdosu").str.to_uppercase().str.contains(_CELLS.pattern)
                      .fill_null(False),
                      "a dose in cells is a cell product: map it onto infusions in your "
                      "mapping (tables.infusions with file: adex, and the source, donor and "
                      "route, which ADaM does not carry)")
    classes = {t: drug_class_of(t, drug_classes) for t in
               frame.get_column("__extrt").unique(maintain_order=True).to_list() if t}
    for t, (cls, how) in sorted(classes.items()):
        n = int((frame.get_column("__extrt") == t).sum())
        log.add("medications", "drug_class", f"EXTRT {t} -> {cls} ({how})", n)
    frame = frame.with_columns(pl.col("__extrt").replace_strict(
        {t: c for t, (c, _) in classes.items()}, default=None, return_dtype=pl.String)
        .alias("COHORT_DRUG_CLASS"))
    dose = (pl.col("EXDOSE").cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
            if "EXDOSE" in frame.columns else pl.lit(None, dtype=pl.Float64))
    if "EXDOSFRQ" in frame.columns:
        freq = text("EXDOSFRQ").str.to_uppercase()
        rate = freq.replace_strict(PER_DAY, default=None, return_dtype=pl.Float64)
        frame = frame.with_columns(freq.alias("__freq"), rate.alias("__rate"))
        for code, n in frame.group_by("__freq").len().sort("__freq").iter_rows():
            if code in PER_DAY:
                log.add("medications", "daily_dose",
                        f"EXDOSE x {PER_DAY[code]:.6g} (EXDOSFRQ {code})", n)
        unknown = frame.filter(pl.col("__rate").is_null() & dose.is_not_null())
        if unknown.height:
            codes = ", ".join(str(c) for c in unknown.get_column("__freq").unique(
                maintain_order=True).to_list())
            findings.add(rule="dose_frequency", severity="warning", table="medications",
                         file=files, column="EXDOSFRQ", value=str(unknown.height),
                         message=f"{unknown.height} rows of {files} have a dose frequency "
                                 f"without a daily rate ({codes}; daily rates: "
                                 f"{', '.join(PER_DAY)}): their daily dose is left empty")
        daily = dose * pl.col("__rate")
        frame = frame.drop("__freq")
    else:
        log.add("medications", "daily_dose", "EXDOSE as the daily dose (no EXDOSFRQ)",
                frame.height)
        daily = dose
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("__rate"))
    frame = frame.with_columns(
        daily.alias("COHORT_DAILY_DOSE"),
        pl.when(pl.col("__exdosu").is_not_null()).then(pl.col("__exdosu") + "/day")
        .alias("COHORT_DOSE_UNIT")).drop("__extrt", "__exdosu", "__rate")
    return RawTable(table.name, frame, table.sources)

"""Hypothesis strategies: random valid cohorts, their files, and single corruptions of them.

A generated cohort is plain Python data (``{table: list of row dicts}``) that satisfies the
contract by construction: treated subjects have a first active infusion on day 0, controls
none or placebo; nothing happens after the last contact; BMI agrees with weight and height;
measurement values are plausible in their canonical unit and written in a random accepted
unit. :func:`write_tables` writes it as CSV, Parquet or one Excel workbook, optionally with one
cell replaced (a corruption).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import strategies as st

from cohort.contract import load_contract

CONTRACT = load_contract()
FORMATS = ("csv", "parquet", "xlsx")

# canonical value -> value in another unit (inverse of cohort.units, written out by hand so
# that these tests do not trust the code they test)
_FROM_CANONICAL = {
    "%": lambda v, w: v,
    "mmol/mol": lambda v, w: 10.929 * (v - 2.15),
    "mmol/L": lambda v, w: v,
    "mg/dL": lambda v, w: v * 18.016,
    "nmol/L": lambda v, w: v,
    "pmol/L": lambda v, w: v * 1000.0,
    "ng/mL": lambda v, w: v / 0.331,
    "nmol/L*min": lambda v, w: v,
    "pmol/L*min": lambda v, w: v * 1000.0,
    "ng/mL*min": lambda v, w: v / 0.331,
    "IU/kg/day": lambda v, w: v,
    "IU/day": lambda v, w: v * w,
    "kg": lambda v, w: v,
    "lb": lambda v, w: v / 0.45359237,
}

ACTIVE_SOURCES = ["umbilical_cord", "bone_marrow", "adipose", "dental_pulp", "cord_blood",
                  "peripheral_blood"]
# terms with a delimiter, a quote and a line break: CSV writers quote them, and line numbers
# after them must still be right
AE_TERMS = ["Fever", "Nausea, vomiting", 'Rash "local"', "Headache\nmild", "Hypoglycaemia"]


@dataclass
class GeneratedCohort:
    """Rows per table (contract column names), in the order they are written."""

    tables: dict[str, list[dict[str, Any]]]

    def columns(self, table: str) -> list[str]:
        """Contract input columns of ``table``, in contract order."""
        return [c.name for c in CONTRACT[table].input_columns]


def _round(x: float) -> float:
    return float(f"{x:.6g}")


@st.composite
def cohorts(draw: st.DrawFn, max_subjects: int = 6) -> GeneratedCohort:
    """A random cohort that satisfies the contract (small: at most ``max_subjects``)."""
    n = draw(st.integers(1, max_subjects))
    subjects, infusions, measurements, events, medications = [], [], [], [], []
    params = CONTRACT.parameters
    for i in range(n):
        sid = f"P{i + 1:03d}"
        kind = draw(st.sampled_from(["treated", "control", "placebo"]))
        weight = draw(st.integers(450, 1200)) / 10
        height = draw(st.integers(150, 195))
        diagnosis = draw(st.integers(5, 60))
        duration = draw(st.integers(0, 30))
        days: list[int] = []
        if kind == "treated":
            inf_days = [0]
            for _ in range(draw(st.integers(0, 2))):
                inf_days.append(inf_days[-1] + draw(st.integers(1, 120)))
            for k, day in enumerate(inf_days, start=1):
                infusions.append({
                    "subject_id": sid, "infusion_number": k, "day": day,
                    "source": draw(st.sampled_from(ACTIVE_SOURCES)),
                    "donor": draw(st.sampled_from(["allogeneic", "autologous"])),
                    "route": draw(st.sampled_from(["intravenous", "pancreatic_artery", "other"])),
                    "dose_cells_per_kg": float(draw(st.integers(1, 30))) * 1e5,
                    "dose_cells_total": draw(st.one_of(st.none(),
                                                       st.integers(1, 500).map(lambda x: x * 1e6))),
                })
            days += inf_days
        elif kind == "placebo":
            infusions.append({"subject_id": sid, "infusion_number": 1, "day": 0,
                              "source": "placebo", "donor": "none", "route": "intravenous",
                              "dose_cells_per_kg": 0.0, "dose_cells_total": 0.0})
            days.append(0)
        visit_days = draw(st.lists(st.integers(-30, 400), min_size=1, max_size=3, unique=True))
        for day in sorted(visit_days):
            codes = draw(st.lists(st.sampled_from(sorted(params)), min_size=1, max_size=4,
                                  unique=True))
            for code in codes:
                p = params[code]
                lo, hi = p.plausible
                if p.typical_median is not None:  # a file's median must be typical too
                    lo, hi = max(lo, p.typical_median[0]), min(hi, p.typical_median[1])
                canonical = lo + (hi - lo) * draw(st.floats(0.1, 0.9))
                if code == "WEIGHT":  # a subject's weight stays near subjects.weight_kg
                    canonical = weight * draw(st.floats(0.8, 1.2))
                unit = draw(st.sampled_from(p.accepted_units))
                measurements.append({
                    "subject_id": sid, "day": day, "param": code,
                    "value": _round(_FROM_CANONICAL[unit](canonical, weight)), "unit": unit,
                    "visit": draw(st.sampled_from([None, "baseline", "month 3"])),
                })
        days += visit_days
        for _ in range(draw(st.integers(0, 1))):
            day = draw(st.integers(-10, 300))
            events.append({"subject_id": sid, "term": draw(st.sampled_from(AE_TERMS)),
                           "onset_day": day,
                           "severity": draw(st.sampled_from(["mild", "moderate", "severe"])),
                           "serious": draw(st.booleans()), "related": draw(st.booleans())})
            days.append(day)
        for _ in range(draw(st.integers(0, 1))):
            start = draw(st.integers(-900, 100))
            end = draw(st.one_of(st.none(), st.integers(start, start + 300)))
            medications.append({"subject_id": sid,
                                "drug_class": draw(st.sampled_from(["insulin", "metformin"])),
                                "start_day": start, "end_day": end,
                                "daily_dose": float(draw(st.integers(1, 80))),
                                "unit": draw(st.sampled_from(["IU/day", "mg/day", None]))})
            days += [start] + ([end] if end is not None else [])
        subjects.append({
            "subject_id": sid, "study_id": "HYPO", "site_id": draw(st.sampled_from([None, "A"])),
            "arm": {"treated": "MSC", "control": "standard care", "placebo": "placebo"}[kind],
            "control": kind != "treated",
            "diabetes_type": draw(st.sampled_from(["T1D", "T2D"])),
            "sex": draw(st.sampled_from(["F", "M", None])),
            "age_years": float(diagnosis + duration), "age_at_diagnosis_years": float(diagnosis),
            "diabetes_duration_years": float(duration), "weight_kg": weight,
            "height_cm": float(height), "bmi_kg_m2": round(weight / (height / 100) ** 2, 1),
            "last_contact_day": max([0, *days]) + draw(st.integers(0, 30)),
        })
    tables = {"subjects": subjects, "measurements": measurements}
    if infusions or draw(st.booleans()):
        tables["infusions"] = infusions
    if events:
        tables["adverse_events"] = events
    if medications:
        tables["medications"] = medications
    return GeneratedCohort(tables)


@dataclass(frozen=True)
class Corruption:
    """One cell replaced: ``table``, data row ``index`` (0-based), ``column``, new ``value``,
    and the rules any of which reports it."""

    table: str
    index: int
    column: str
    value: Any
    rules: frozenset[str]


def _corruptions(table: str, column: str) -> list[tuple[Any, frozenset[str]]]:
    spec = CONTRACT[table]
    col = spec.column(column)
    out: list[tuple[Any, frozenset[str]]] = []
    if col.type in ("integer", "number", "boolean"):
        out.append(("abc", frozenset({"type"})))
    if not col.nullable:
        out.append((None, frozenset({"not_null"})))
    if table == "measurements" and column == "param":
        out.append(("XYZ", frozenset({"unknown_param"})))
    elif table == "measurements" and column == "unit":
        out.append(("zz/L", frozenset({"unknown_unit"})))
    elif table == "measurements" and column == "value":
        out.append((1e7, frozenset({"plausible_range", "unit_mismatch"})))
    elif spec.allowed_codes(col):
        out.append(("zzz", frozenset({"allowed_values"})))
    if col.range is not None:
        lo, hi = col.range
        bad = hi + (hi - lo) + 1
        out.append((int(bad) if col.type == "integer" else float(bad), frozenset({"range"})))
    if col.unit == "study day":
        out.append(("2021-03-04", frozenset({"date_in_day_column"})))
    return out


@st.composite
def corrupted_cohorts(draw: st.DrawFn) -> tuple[GeneratedCohort, Corruption]:
    """A valid cohort and one corruption of one of its cells."""
    cohort = draw(cohorts(max_subjects=4))
    table = draw(st.sampled_from(sorted(t for t, rows in cohort.tables.items() if rows)))
    index = draw(st.integers(0, len(cohort.tables[table]) - 1))
    column = draw(st.sampled_from([c for c in cohort.columns(table)
                                   if _corruptions(table, c)]))
    value, rules = draw(st.sampled_from(_corruptions(table, column)))
    return cohort, Corruption(table, index, column, value, rules)


def _frame(cohort: GeneratedCohort, table: str, corruption: Corruption | None) -> pl.DataFrame:
    columns = cohort.columns(table)
    rows = [dict(r) for r in cohort.tables[table]]
    text_column = None
    if corruption is not None and corruption.table == table:
        rows[corruption.index][corruption.column] = corruption.value
        if isinstance(corruption.value, str):
            text_column = corruption.column
    data = {c: [r.get(c) for r in rows] for c in columns}
    schema: dict[str, Any] = {}
    for c in columns:
        kind = CONTRACT[table].column(c).type
        schema[c] = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64,
                     "boolean": pl.Boolean}[kind]
    if text_column is not None:  # a typed column holding one text cell: all text
        data[text_column] = [None if v is None else _text(v) for v in data[text_column]]
        schema[text_column] = pl.String
    return pl.DataFrame(data, schema=schema)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_tables(cohort: GeneratedCohort, folder: Path, fmt: str,
                 corruption: Corruption | None = None) -> Path:
    """Write the cohort into ``folder`` as ``fmt``; return the path to validate."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = {t: _frame(cohort, t, corruption) for t in cohort.tables}
    if fmt == "csv":
        for name, frame in frames.items():
            frame.write_csv(folder / f"{name}.csv")
    elif fmt == "parquet":
        for name, frame in frames.items():
            frame.write_parquet(folder / f"{name}.parquet")
    elif fmt == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for name, frame in frames.items():
            ws = wb.create_sheet(name)
            ws.append(frame.columns)
            for row in frame.iter_rows():
                ws.append(list(row))
        wb.save(folder / "cohort.xlsx")
    else:
        raise ValueError(fmt)
    return folder


def editor_row(folder: Path, fmt: str, table: str, index: int) -> int:
    """The row a user sees for data row ``index`` of ``table``, computed independently of the
    loader: the CSV line where the record starts (Python's csv module), the sheet row, or the
    1-based Parquet record."""
    if fmt == "parquet":
        return index + 1
    if fmt == "xlsx":
        return index + 2
    text = (folder / f"{table}.csv").read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, previous = [], 0
    for _ in reader:
        starts.append(previous + 1)
        previous = reader.line_num
    return starts[index + 1]

"""Write the REDCap-style export of tests/data/redcap/ (run from the repository root).

    python tests/data/redcap/make_redcap.py

A small, made-up T1D trial (24 subjects: 12 umbilical-cord MSC, 12 standard care, 18 months)
exported the way REDCap and Excel deliver such data, with every quirk issue 12 lists:

* a ``patients`` sheet with dates of birth, diagnosis, randomisation and infusion dates
  (Excel date cells), arm and sex codes some of which carry a trailing space, a blank height,
  study-specific variables (DKA at diagnosis, GAD65 antibodies), and the cell dose of the
  treated subjects in 10^6 cells/kg (controls have no infusion date);
* a long ``labs`` sheet: one row per subject, visit and test, test names with their unit
  (``HbA1c (mmol/mol)``), a few of them with a trailing space, dates as Excel serial numbers,
  blank results, one visit without a date, a fasting C-peptide typed as ``<10``, and a test
  the analyses do not use (creatinine);
* the same data as CSV files (``csv/``) with ``dd/mm/yyyy`` dates.

``mapping.yaml`` (and ``csv/mapping.yaml``, which extends it) are what a user writes; they are
kept by hand, not written here. Everything is drawn from one seeded generator: running the
script again writes the same cells (a test checks it).
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20240612
N_PER_ARM = 12
VISITS = [("baseline_arm_1", -3), ("month_3_arm_1", 90), ("month_6_arm_1", 180),
          ("month_9_arm_1", 270), ("month_12_arm_1", 365), ("month_18_arm_1", 540)]
TESTS = ["HbA1c (mmol/mol)", "C-peptide fasting (pmol/L)", "C-peptide 2h (pmol/L)",
         "Insulin dose (U/day)", "Creatinine (umol/L)"]
_EXCEL_EPOCH = date(1899, 12, 30)

PATIENT_COLUMNS = ["record_id", "site", "study_arm", "sex", "dob", "diagnosis_date",
                   "randomisation_date", "infusion_date", "dose_1e6_per_kg", "weight_kg",
                   "height_cm", "dka", "gad"]
LAB_COLUMNS = ["record_id", "redcap_event_name", "lab_date", "test", "result"]


def _serial(day: date) -> int:
    return (day - _EXCEL_EPOCH).days


def build() -> tuple[list[dict], list[dict]]:
    """The patients and labs rows (dates as ``date`` objects, results as text or numbers)."""
    rng = np.random.default_rng(SEED)
    patients, labs = [], []
    # insulin-free runs of treated subjects: (first zero visit, visits off insulin)
    independence = {0: (1, 2), 1: (1, 3), 2: (2, 3), 3: (2, 4), 4: (1, 5)}
    for i in range(2 * N_PER_ARM):
        treated = i % 2 == 0
        rid = f"RC-{i + 1:03d}"
        randomised = date(2021, 2, 1) + timedelta(days=int(rng.integers(0, 400)))
        infused = randomised + timedelta(days=int(rng.integers(7, 15))) if treated else None
        origin = infused or randomised
        age = float(rng.uniform(18, 36))
        dob = origin - timedelta(days=round(age * 365.25))
        diagnosed = origin - timedelta(days=int(rng.integers(60, 360)))
        weight = round(float(rng.normal(66, 9)), 1)
        height = round(float(rng.normal(170, 8)), 0)
        arm = "MSC" if treated else "Standard care"
        sex = "Female" if rng.random() < 0.5 else "Male"
        if i in (3, 9, 15):
            arm += " "  # trailing spaces, as typed into a free-text field
        if i in (4, 7, 10, 13):
            sex += " "
        patients.append({
            "record_id": rid, "site": "A" if i < N_PER_ARM else "B", "study_arm": arm,
            "sex": sex, "dob": dob, "diagnosis_date": diagnosed,
            "randomisation_date": randomised, "infusion_date": infused,
            "dose_1e6_per_kg": 1.0 if treated else None, "weight_kg": weight,
            "height_cm": None if i == 6 else height,
            "dka": "yes" if rng.random() < 0.35 else "no",
            "gad": ("Positive " if i == 11 else "Positive") if rng.random() < 0.7
            else "Negative"})
        hba1c0 = float(rng.normal(62, 8))
        cpep0 = float(rng.lognormal(np.log(180), 0.45))
        cpep_pp0 = cpep0 * float(rng.uniform(1.8, 2.6))
        dose0 = weight * float(rng.uniform(0.45, 0.7))
        k = i // 2
        for v, (event, day) in enumerate(VISITS):
            when = origin + timedelta(days=day + (0 if day < 0 else int(rng.integers(-5, 6))))
            frac = max(day, 0) / 365
            effect = -9.0 if treated else -2.0
            hba1c = hba1c0 + effect * min(frac, 1.0) + float(rng.normal(0, 3))
            trend = (1.15 if treated else 0.85) ** min(frac, 1.5)
            cpep = cpep0 * trend * float(rng.lognormal(0, 0.2))
            cpep_pp = cpep_pp0 * trend * float(rng.lognormal(0, 0.2))
            dose = dose0 * (0.75 if treated and day > 0 else 1.0) * float(rng.uniform(0.9, 1.1))
            if treated and k in independence:
                start, length = independence[k]
                if start <= v < start + length:
                    dose = 0.0
            results = [round(hba1c, 0), round(cpep, 0), round(cpep_pp, 0), round(dose, 1),
                       round(float(rng.normal(75, 12)), 0)]
            for test, result in zip(TESTS, results, strict=True):
                labs.append({"record_id": rid, "redcap_event_name": event, "lab_date": when,
                             "test": test, "result": result})
    # the quirks of a real export, at fixed places
    for row in labs:
        if row["record_id"] == "RC-005" and row["redcap_event_name"] == "month_9_arm_1":
            row["lab_date"] = None  # one visit without a date
        if row["record_id"] in ("RC-002", "RC-013") and row["test"].startswith("HbA1c"):
            row["test"] += " "  # trailing spaces in a test name
    for rid, event, test in (("RC-008", "month_3_arm_1", TESTS[0]),
                             ("RC-017", "month_12_arm_1", TESTS[2]),
                             ("RC-020", "month_6_arm_1", TESTS[4])):
        for row in labs:
            if (row["record_id"], row["redcap_event_name"], row["test"].strip()) == (
                    rid, event, test):
                row["result"] = None  # blank results
    for row in labs:
        if (row["record_id"], row["redcap_event_name"], row["test"]) == (
                "RC-010", "month_18_arm_1", TESTS[1]):
            row["result"] = "<10"  # below the C-peptide assay's detection limit
    return patients, labs


def _number(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def write_workbook(patients: list[dict], labs: list[dict], path: Path) -> None:
    """The export as an .xlsx workbook: patient dates as date cells, lab dates as serial
    numbers (a column Excel shows as General)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "patients"
    ws.append(PATIENT_COLUMNS)
    for p in patients:
        ws.append([datetime.combine(p[c], datetime.min.time()) if isinstance(p[c], date)
                   else _number(p[c]) for c in PATIENT_COLUMNS])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, datetime):
                cell.number_format = "DD/MM/YYYY"
    ws = wb.create_sheet("labs")
    ws.append(LAB_COLUMNS)
    for r in labs:
        ws.append([_serial(r[c]) if isinstance(r[c], date) else _number(r[c])
                   for c in LAB_COLUMNS])
    wb.properties.creator = "make_redcap.py"
    fixed = datetime(2024, 6, 12)
    wb.properties.created = wb.properties.modified = fixed
    wb.save(path)


def write_csv(rows: list[dict], columns: list[str], path: Path) -> None:
    """One sheet as CSV, dates as dd/mm/yyyy."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(columns)
        for r in rows:
            out.writerow(["" if r[c] is None else r[c].strftime("%d/%m/%Y")
                          if isinstance(r[c], date) else _number(r[c]) for c in columns])


def main(out: Path = HERE) -> None:
    patients, labs = build()
    write_workbook(patients, labs, out / "redcap_export.xlsx")
    (out / "csv").mkdir(exist_ok=True)
    write_csv(patients, PATIENT_COLUMNS, out / "csv" / "patients.csv")
    write_csv(labs, LAB_COLUMNS, out / "csv" / "labs.csv")


if __name__ == "__main__":
    main()

"""Generate ``tests/data/broken/<kind>/``: broken copies of the example cohort, one per error.

Each copy is the example cohort (``tests/data/example``) with one small, deliberate change, plus
an ``expected.json`` naming the exit code of ``cohort validate`` and the finding that must
point at the change (table, file, row as the line a user sees in an editor, column, rule). A
mapping case also gets its ``mapping.yaml``. ``tests/data/broken/README.md`` lists them all.

Run from anywhere (``.venv/bin/python tests/data/make_broken.py``); the test
``tests/test_validate_broken.py`` regenerates them into a temporary folder and compares byte for
byte, so this script and the committed copies never drift apart.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE / "example"
BROKEN = HERE / "broken"
TABLES = ("subjects", "infusions", "measurements", "adverse_events", "medications")

Files = dict[str, bytes]


def _lines(files: Files, name: str) -> list[str]:
    return files[name].decode("utf-8").split("\n")


def _put(files: Files, name: str, lines: list[str]) -> None:
    files[name] = "\n".join(lines).encode("utf-8")


def _find(lines: list[str], prefix: str) -> int:
    hits = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    if len(hits) != 1:
        raise ValueError(f"{len(hits)} lines start with {prefix!r}, expected exactly one")
    return hits[0]


def replace(name: str, prefix: str, new: str) -> Callable[[Files], int]:
    """Replace the one line of ``name`` starting with ``prefix``; return its editor line."""

    def change(files: Files) -> int:
        lines = _lines(files, name)
        i = _find(lines, prefix)
        lines[i] = new
        _put(files, name, lines)
        return i + 1

    return change


def insert_after(name: str, prefix: str, new: str) -> Callable[[Files], int]:
    """Insert ``new`` after the line starting with ``prefix``; return the new editor line."""

    def change(files: Files) -> int:
        lines = _lines(files, name)
        i = _find(lines, prefix)
        lines.insert(i + 1, new)
        _put(files, name, lines)
        return i + 2

    return change


def append(name: str, new: str) -> Callable[[Files], int]:
    """Append ``new`` as the last line of ``name``; return its editor line."""

    def change(files: Files) -> int:
        lines = _lines(files, name)
        if lines[-1] == "":
            lines.insert(len(lines) - 1, new)
            _put(files, name, lines)
            return len(lines) - 1
        lines.append(new)
        _put(files, name, lines)
        return len(lines)

    return change


def delete_line(name: str, prefix: str) -> Callable[[Files], int]:
    """Delete the line starting with ``prefix``; return the editor line it had."""

    def change(files: Files) -> int:
        lines = _lines(files, name)
        i = _find(lines, prefix)
        del lines[i]
        _put(files, name, lines)
        return i + 1

    return change


def drop_column(name: str, column: str) -> Callable[[Files], int]:
    """Remove ``column`` from every line of a (quote-free) CSV; return 1 (the header)."""

    def change(files: Files) -> int:
        lines = _lines(files, name)
        j = lines[0].split(",").index(column)
        _put(files, name, [",".join(f for k, f in enumerate(line.split(",")) if k != j)
                           if line else line for line in lines])
        return 1

    return change


def add_column(name: str, column: str, value: str) -> Callable[[Files], int]:
    """Add ``column`` (with ``value`` on every row) at the end of a CSV; return 1."""

    def change(files: Files) -> int:
        lines = _lines(files, name)
        _put(files, name, [f"{line},{column if i == 0 else value}" if line else line
                           for i, line in enumerate(lines)])
        return 1

    return change


def set_bytes(name: str, data: bytes) -> Callable[[Files], None]:
    """Replace the whole file ``name`` with ``data`` (create it if new)."""

    def change(files: Files) -> None:
        files[name] = data

    return change


def delete_file(name: str) -> Callable[[Files], None]:
    """Remove ``name`` from the copy."""

    def change(files: Files) -> None:
        del files[name]

    return change


def recode_file(name: str, old: str, new: str, encoding: str) -> Callable[[Files], int]:
    """Replace ``old`` by ``new`` and save the file in ``encoding``; return the editor line."""

    def change(files: Files) -> int:
        text = files[name].decode("utf-8")
        if text.count(old) != 1:
            raise ValueError(f"{old!r} occurs {text.count(old)} times in {name}")
        line = text[:text.index(old)].count("\n") + 1
        files[name] = text.replace(old, new).encode(encoding)
        return line

    return change


def swap_delimiter(name: str, delimiter: str) -> Callable[[Files], int]:
    """Write ``name`` with another delimiter (the example has no quoted fields); return 1."""

    def change(files: Files) -> int:
        files[name] = files[name].replace(b",", delimiter.encode())
        return 1

    return change


@dataclass
class Case:
    """One broken copy: what it breaks, the change, and the finding it must produce.

    ``expect`` holds the finding's ``table``, ``file``, ``column``, ``rule`` (and ``value``
    when it is pinned); ``row`` comes from the change itself (the editor line it touched)
    unless ``expect`` gives it (``None`` for file- and table-level findings).
    """

    name: str
    description: str
    change: Callable[[Files], int | None]
    expect: dict[str, Any]
    exit_code: int = 1
    n_errors: int = 1
    n_warnings: int = 0
    mapping: str | None = None
    extra: list[Callable[[Files], Any]] = field(default_factory=list)


M = "measurements.csv"
S = "subjects.csv"
INF = "infusions.csv"

CASES: list[Case] = [
    # ----------------------------------------------------------------------------- files, tables
    Case("missing_table", "subjects.csv is deleted: the required subjects table is missing",
         delete_file(S),
         {"table": "subjects", "file": None, "row": None, "column": None,
          "rule": "missing_table"}),
    Case("unknown_table", "an extra file labs.csv that is not a table of the contract",
         set_bytes("labs.csv", b"subject_id,test,result\nS01,ALT,23\n"),
         {"table": None, "file": "labs.csv", "row": None, "column": None,
          "rule": "unknown_table"}),
    Case("empty_file", "measurements.csv is an empty file (0 bytes)",
         set_bytes(M, b""),
         {"table": "measurements", "file": M, "row": None, "column": None,
          "rule": "empty_file"}),
    Case("empty_table", "measurements.csv has its header line but no rows",
         set_bytes(M, b"subject_id,day,param,value,unit,visit\n"),
         {"table": "measurements", "file": M, "row": None, "column": None,
          "rule": "empty_table"}),
    Case("wrong_delimiter", "subjects.csv is separated by semicolons",
         swap_delimiter(S, ";"),
         {"table": "subjects", "file": S, "column": None, "rule": "delimiter"},
         exit_code=2),
    Case("wrong_encoding", "adverse_events.csv is saved as latin-1 (an a-umlaut in a term)",
         recode_file("adverse_events.csv", "Hypoglycaemia", "Hypoglykämie", "latin-1"),
         {"table": "adverse_events", "file": "adverse_events.csv", "column": "term",
          "rule": "encoding", "value": "0xE4"},
         exit_code=2),
    Case("ragged_line", "a measurements line has one field too many (an unquoted comma)",
         replace(M, "S01,90,HBA1C,", "S01,90,HBA1C,7,1,%,month 3"),
         {"table": "measurements", "file": M, "column": None, "rule": "file_unreadable"},
         exit_code=2),
    Case("short_line", "a measurements line has one field too few (the unit is missing)",
         replace(M, "S01,90,HBA1C,", "S01,90,HBA1C,7.1,month 3"),
         {"table": "measurements", "file": M, "column": None, "rule": "file_unreadable",
          "value": "5"},
         exit_code=2),
    # ---------------------------------------------------------------------------- columns
    Case("missing_column", "the required column arm is removed from subjects.csv",
         drop_column(S, "arm"),
         {"table": "subjects", "file": S, "column": "arm", "rule": "missing_column"}),
    Case("unknown_column", "subjects.csv has an extra column comment",
         add_column(S, "comment", "ok"),
         {"table": "subjects", "file": S, "column": "comment", "rule": "unknown_column"}),
    Case("duplicate_column", "subjects.csv has the column sex twice",
         add_column(S, "sex", "F"),
         {"table": "subjects", "file": S, "column": "sex", "rule": "duplicate_column"}),
    # ----------------------------------------------------------------------------- cells
    Case("text_in_number", "a measurement value reads 'high'",
         replace(M, "S01,90,HBA1C,", "S01,90,HBA1C,high,%,month 3"),
         {"table": "measurements", "file": M, "column": "value", "rule": "type",
          "value": "high"}),
    Case("decimal_comma", "a quoted measurement value with a decimal comma ('7,1')",
         replace(M, "S01,90,HBA1C,", 'S01,90,HBA1C,"7,1",%,month 3'),
         {"table": "measurements", "file": M, "column": "value", "rule": "type",
          "value": "7,1"}),
    Case("fraction_in_integer", "an infusion number reads 1.5",
         replace(INF, "S03,1,", "S03,1.5,0,umbilical_cord,allogeneic,intravenous,1500000,"),
         {"table": "infusions", "file": INF, "column": "infusion_number", "rule": "type",
          "value": "1.5"}),
    Case("text_in_boolean", "control reads 'yes' instead of true/false",
         replace(S, "S04,", "S04,EXAMPLE,A,standard care,yes,T1D,F,27,21,6,58.0,160,22.7,368"),
         {"table": "subjects", "file": S, "column": "control", "rule": "type",
          "value": "yes"}),
    Case("date_in_day_column", "a measurement day is a calendar date",
         replace(M, "S01,90,HBA1C,", "S01,2021-04-01,HBA1C,7.1,%,month 3"),
         {"table": "measurements", "file": M, "column": "day", "rule": "date_in_day_column",
          "value": "2021-04-01"}),
    Case("missing_value", "a subject's study_id is empty",
         replace(S, "S02,", "S02,,A,MSC,false,T1D,M,31,15,16,78.0,180,24.1,372"),
         {"table": "subjects", "file": S, "column": "study_id", "rule": "not_null"}),
    Case("not_allowed_code", "sex is 'Male' instead of M",
         replace(S, "S02,", "S02,EXAMPLE,A,MSC,false,T1D,Male,31,15,16,78.0,180,24.1,372"),
         {"table": "subjects", "file": S, "column": "sex", "rule": "allowed_values",
          "value": "Male"}),
    Case("out_of_range", "an age of 240 years",
         replace(S, "S02,", "S02,EXAMPLE,A,MSC,false,T1D,M,240,15,16,78.0,180,24.1,372"),
         {"table": "subjects", "file": S, "column": "age_years", "rule": "range",
          "value": "240"}),
    Case("duplicate_subject", "subject S03 appears twice in subjects.csv",
         append(S, "S03,EXAMPLE,B,MSC,false,T1D,M,19,17,2,70.2,176,22.7,360"),
         {"table": "subjects", "file": S, "column": "subject_id", "rule": "duplicate_key",
          "value": "S03"},
         n_errors=2),
    Case("duplicate_measurement", "two HbA1c values for S01 on day -7",
         insert_after(M, "S01,-7,HBA1C,", "S01,-7,HBA1C,7.9,%,baseline"),
         {"table": "measurements", "file": M, "column": "subject_id + day + param",
          "rule": "duplicate_key", "value": "S01, -7, HBA1C"},
         n_errors=2),
    # ---------------------------------------------------------------------------- units
    Case("unknown_param", "a measurement with parameter GLUC (not a contract code)",
         replace(M, "S01,-7,FPG,", "S01,-7,GLUC,8.1,mmol/L,baseline"),
         {"table": "measurements", "file": M, "column": "param", "rule": "unknown_param",
          "value": "GLUC"}),
    Case("unknown_unit", "a glucose in mmol/dL (no such unit)",
         replace(M, "S01,-7,FPG,", "S01,-7,FPG,8.1,mmol/dL,baseline"),
         {"table": "measurements", "file": M, "column": "unit", "rule": "unknown_unit",
          "value": "mmol/dL"}),
    Case("unit_not_accepted", "an HbA1c in mg/dL (a known unit, not one for HbA1c)",
         replace(M, "S01,-7,HBA1C,", "S01,-7,HBA1C,7.8,mg/dL,baseline"),
         {"table": "measurements", "file": M, "column": "unit", "rule": "unit_not_accepted",
          "value": "mg/dL"}),
    Case("implausible_value", "an HbA1c of 2.1 % (implausible in every accepted unit)",
         replace(M, "S01,90,HBA1C,", "S01,90,HBA1C,2.1,%,month 3"),
         {"table": "measurements", "file": M, "column": "value", "rule": "plausible_range",
          "value": "2.1"}),
    Case("unit_mismatch_hba1c", "an HbA1c of 53 '%' (it looks like mmol/mol)",
         replace(M, "S01,90,HBA1C,", "S01,90,HBA1C,53,%,month 3"),
         {"table": "measurements", "file": M, "column": "value", "rule": "unit_mismatch",
          "value": "53", "message_contains": "looks like mmol/mol"}),
    Case("unit_mismatch_glucose", "a fasting glucose of 126 'mmol/L' (it looks like mg/dL)",
         replace(M, "S01,-7,FPG,", "S01,-7,FPG,126,mmol/L,baseline"),
         {"table": "measurements", "file": M, "column": "value", "rule": "unit_mismatch",
          "value": "126", "message_contains": "looks like mg/dL"}),
    Case("insulin_without_weight", "S04 has insulin doses in IU/day but no weight_kg",
         replace(S, "S04,", "S04,EXAMPLE,A,standard care,true,T1D,F,27,21,6,,160,,368"),
         {"table": "measurements", "file": M, "row": 56, "column": "unit",
          "rule": "conversion_needs_weight", "value": "IU/day"},
         n_errors=4),
    # --------------------------------------------------------------------------- across tables
    Case("unknown_subject", "a measurement of subject S99, who is not in subjects",
         append(M, "S99,0,HBA1C,7.0,%,baseline"),
         {"table": "measurements", "file": M, "column": "subject_id",
          "rule": "unknown_subject", "value": "S99"}),
    Case("infusion_after_last_contact", "S01's second infusion is on day 400 (last contact 365)",
         replace(INF, "S01,2,", "S01,2,400,umbilical_cord,allogeneic,intravenous,1000000,"
                 "61500000"),
         {"table": "infusions", "file": INF, "column": "day", "rule": "after_last_contact",
          "value": "400"}),
    Case("control_with_active_infusion", "control subject S04 has an umbilical-cord infusion",
         append(INF, "S04,1,0,umbilical_cord,allogeneic,intravenous,1000000,58000000"),
         {"table": "infusions", "file": INF, "column": "source",
          "rule": "control_with_active_infusion", "value": "umbilical_cord"}),
    Case("treated_without_infusion", "treated subject S03's only infusion is deleted",
         delete_line(INF, "S03,1,"),
         {"table": "subjects", "file": S, "row": 4, "column": "control",
          "rule": "treated_without_infusion", "value": "S03"}),
    Case("first_infusion_day", "treated subject S03's first infusion is on day 3, not day 0",
         replace(INF, "S03,1,", "S03,1,3,umbilical_cord,allogeneic,intravenous,1500000,"),
         {"table": "infusions", "file": INF, "row": 6, "column": "day",
          "rule": "first_infusion_day", "value": "3"}),
    Case("infusion_order", "S01's infusions are numbered 3, 2 in day order",
         replace(INF, "S01,1,", "S01,3,0,umbilical_cord,allogeneic,intravenous,1000000,"
                 "61500000"),
         {"table": "infusions", "file": INF, "column": "infusion_number",
          "rule": "infusion_order", "value": "3"}),
    Case("dose_missing", "an active infusion with neither dose given",
         replace(INF, "S03,1,", "S03,1,0,umbilical_cord,allogeneic,intravenous,,"),
         {"table": "infusions", "file": INF, "column": "dose_cells_per_kg",
          "rule": "dose_missing"}),
    Case("active_zero_dose", "an active infusion with a dose of 0 cells/kg",
         replace(INF, "S03,1,", "S03,1,0,umbilical_cord,allogeneic,intravenous,0,"),
         {"table": "infusions", "file": INF, "column": "dose_cells_per_kg",
          "rule": "active_zero_dose", "value": "0"}),
    Case("placebo_dose", "a placebo infusion with a dose of 1e6 cells/kg",
         replace(INF, "S06,1,", "S06,1,0,placebo,none,intravenous,1000000,0"),
         {"table": "infusions", "file": INF, "column": "dose_cells_per_kg",
          "rule": "placebo_dose", "value": "1000000"}),
    Case("placebo_donor", "a placebo infusion with donor allogeneic",
         replace(INF, "S06,1,", "S06,1,0,placebo,allogeneic,intravenous,0,0"),
         {"table": "infusions", "file": INF, "column": "donor", "rule": "placebo_donor",
          "value": "allogeneic"}),
    Case("end_before_start", "a medication period that ends before it starts",
         replace("medications.csv", "S03,", "S03,insulin,-700,-800,28,IU/day"),
         {"table": "medications", "file": "medications.csv", "column": "end_day",
          "rule": "end_before_start", "value": "-800"}),
    # --------------------------------------------------------------------- warnings (exit 0)
    Case("bmi_inconsistent", "S01's BMI 26.6 disagrees with 61.5 kg and 165 cm (22.6)",
         replace(S, "S01,", "S01,EXAMPLE,A,MSC,false,T1D,F,24,20,4,61.5,165,26.6,365"),
         {"table": "subjects", "file": S, "column": "bmi_kg_m2", "rule": "bmi_inconsistent",
          "value": "26.6", "severity": "warning"},
         exit_code=0, n_errors=0, n_warnings=1),
    Case("age_inconsistent", "S01: age 24, diagnosed at 20, but a duration of 14 years",
         replace(S, "S01,", "S01,EXAMPLE,A,MSC,false,T1D,F,24,20,14,61.5,165,22.6,365"),
         {"table": "subjects", "file": S, "column": "diabetes_duration_years",
          "rule": "age_inconsistent", "value": "14", "severity": "warning"},
         exit_code=0, n_errors=0, n_warnings=1),
    # ---------------------------------------------------------------------------- mappings
    Case("mapping_unknown_column", "mapping.yaml renames PatientID, which subjects.csv lacks",
         set_bytes("mapping.yaml", b"tables:\n  subjects:\n    columns: {PatientID: "
                   b"subject_id}\n"),
         {"table": "subjects", "file": S, "row": None, "column": "PatientID",
          "rule": "mapping", "message_contains": "tables.subjects.columns"},
         exit_code=2, mapping="mapping.yaml"),
]


def build_case(case: Case) -> dict[str, bytes]:
    """Return the files (name to bytes) of one broken copy, ``expected.json`` included."""
    files = {p.name: p.read_bytes() for p in sorted(EXAMPLE.glob("*.csv"))}
    line = case.change(files)
    for extra in case.extra:
        extra(files)
    finding = {"severity": "error", **case.expect}
    if "row" not in finding:
        finding["row"] = line
    expected = {
        "description": case.description,
        "mapping": case.mapping,
        "exit_code": case.exit_code,
        "n_errors": case.n_errors,
        "n_warnings": case.n_warnings,
        "finding": finding,
    }
    files["expected.json"] = (json.dumps(expected, indent=2) + "\n").encode("utf-8")
    return files


def readme() -> bytes:
    """The index of broken copies (``tests/data/broken/README.md``)."""
    out = ["# Broken copies of the example cohort", "",
           "Generated by `tests/data/make_broken.py`; do not edit by hand. Each folder is "
           "`tests/data/example` with one change; its `expected.json` names the exit code of "
           "`cohort validate` and the finding (table, file, row, column, rule) that points at "
           "the change.", "",
           "| folder | change | exit | rule | table | row | column |",
           "|---|---|---|---|---|---|---|"]
    for case in CASES:
        exp = json.loads(build_case(case)["expected.json"])
        f = exp["finding"]
        out.append(f"| `{case.name}` | {case.description} | {exp['exit_code']} | "
                   f"`{f['rule']}` | {f['table'] or ''} | {f['row'] or ''} | "
                   f"{f['column'] or ''} |")
    return ("\n".join(out) + "\n").encode("utf-8")


def write_all(dest: Path) -> None:
    """Write every broken copy (and the README) under ``dest``, replacing what is there."""
    names = [c.name for c in CASES]
    if len(set(names)) != len(names):
        raise ValueError("duplicated case names")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    (dest / "README.md").write_bytes(readme())
    for case in CASES:
        folder = dest / case.name
        folder.mkdir()
        for name, data in build_case(case).items():
            (folder / name).write_bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BROKEN,
                        help="destination folder (default: tests/data/broken)")
    write_all(parser.parse_args().out)


if __name__ == "__main__":
    main()

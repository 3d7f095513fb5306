"""A corpus of malformed and hostile inputs, each with the outcome cohort must give.

Every case is built at test time into a fresh folder (``build(case, folder)``) from the example
cohort (``tests/data/example``) or a bundled synthetic cohort, so nothing hostile is committed
(no FIFOs, links or 4 MiB files in git). A case names the command to run, the exit code, the
findings (rules) that must appear and, for outputs, the files that must stay as they were.
``tests/test_hostile_corpus.py`` runs every case; run this script to write the corpus into a
folder and look at it::

    python tests/corpus/make_corpus.py /tmp/corpus

Placeholders in a case's arguments: ``{dir}`` is the case's folder, ``{data}`` its cohort
folder (``{dir}/data``).
"""

from __future__ import annotations

import argparse
import codecs
import datetime
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
EXAMPLE = TESTS / "data" / "example"
SYNTHETIC = TESTS.parent / "synthetic"

Builder = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One hostile input and what cohort must do with it."""

    name: str
    category: str
    build: Builder
    args: tuple[str, ...]
    exit: int
    rules: tuple[str, ...] = ()
    """Rules that must be among the findings (``validate --format json`` cases)."""
    output: str | None = None
    """Text that must be in the command's output (stdout and stderr)."""
    changed: tuple[str, ...] = ()
    """Paths (relative to the case folder) the command may create or change; every other
    regular file must keep its bytes."""
    subprocess: bool = False
    """Run as a separate process (cases that could hang the process that runs them)."""
    located: dict[str, tuple[object, object]] = field(default_factory=dict)
    """rule -> (row, column) the first such finding must carry."""


# --------------------------------------------------------------------------------- helpers

def example(folder: Path) -> Path:
    data = folder / "data"
    shutil.copytree(EXAMPLE, data)
    return data


def synthetic(folder: Path, study: str = "lu2021") -> Path:
    data = folder / "data"
    shutil.copytree(SYNTHETIC / study / "cohort", data,
                    ignore=shutil.ignore_patterns(".cohort-output.json"))
    return data


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    """Set one cell of a simple CSV file (no quoted fields) by editor line and column name."""
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(column)] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")


def relabel(path: Path, param: str, old: str, new: str, scale: float = 1.0) -> None:
    """Change the unit (and optionally scale the values) of one parameter's rows."""
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].split(",")
    ip, iv, iu = header.index("param"), header.index("value"), header.index("unit")
    for i, line in enumerate(lines[1:], start=1):
        cells = line.split(",")
        if len(cells) > iu and cells[ip].startswith(param) and cells[iu] == old:
            cells[iu] = new
            if scale != 1.0:
                cells[iv] = f"{float(cells[iv]) * scale:.6g}"
            lines[i] = ",".join(cells)
    path.write_text("\n".join(lines), encoding="utf-8")


def reencode(path: Path, encoding: str, bom: bytes = b"") -> None:
    path.write_bytes(bom + path.read_text(encoding="utf-8").encode(encoding))


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def billion_laughs(under: str) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return under + "".join(f"      {x}\n" for x in lines)


def special(path: Path, kind: str) -> None:
    if path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dir":
        path.mkdir()
    elif kind == "loop":
        os.symlink(path, path)
    elif kind == "dangling":
        os.symlink(path.parent / "nowhere.csv", path)
    elif kind == "zero":
        os.symlink("/dev/zero", path)
    else:
        raise ValueError(kind)


def both(*steps: Builder) -> Builder:
    def run(folder: Path) -> None:
        for step in steps:
            step(folder)
    return run


V = ("validate", "{data}", "--format", "json")
VM = ("validate", "{data}", "--mapping", "{dir}/mapping.yaml", "--format", "json")


def meas(folder: Path) -> Path:
    return folder / "data" / "measurements.csv"


# ----------------------------------------------------------------------------------- cases

CASES: list[Case] = []


def case(name: str, category: str, build: Builder, args: tuple[str, ...], exit: int,
         **kw: object) -> None:
    CASES.append(Case(name, category, build, args, exit, **kw))  # type: ignore[arg-type]


# encodings ------------------------------------------------------------------------------
for enc, bom, label in [("utf-16-le", codecs.BOM_UTF16_LE, "utf16_bom"),
                        ("utf-16-le", b"", "utf16le_no_bom"),
                        ("utf-16-be", b"", "utf16be_no_bom"),
                        ("utf-32-le", codecs.BOM_UTF32_LE, "utf32_bom"),
                        ("utf-32-be", b"", "utf32be_no_bom")]:
    case(label, "encodings",
         lambda f, e=enc, b=bom: (example(f), reencode(meas(f), e, b)),
         V, 2, rules=("encoding",), output="UTF-")
case("latin1_cell", "encodings",
     lambda f: (example(f), write(meas(f), meas(f).read_bytes().replace(
         b"baseline", "bas\xe9line".encode("latin-1"), 1))),
     V, 2, rules=("encoding",), located={"encoding": (2, "visit")})
case("cp1252_with_mapping", "encodings",
     lambda f: (example(f), write(meas(f), meas(f).read_text(encoding="utf-8").replace(
         "baseline", "bas\u00e9line").encode("cp1252")),
         write(f / "mapping.yaml", "csv: {encoding: cp1252}\n")), VM, 0)
case("utf8_bom", "encodings",
     lambda f: (example(f), write(meas(f), codecs.BOM_UTF8 + meas(f).read_bytes())), V, 0)
case("utf16_with_mapping", "encodings",
     lambda f: (example(f), [reencode(p, "utf-16") for p in (f / "data").glob("*.csv")],
                write(f / "mapping.yaml", "csv: {encoding: utf-16}\n")), VM, 0)
case("nul_bytes", "encodings",
     lambda f: (example(f), write(meas(f), meas(f).read_bytes().replace(b"S01,-7,HBA1C",
                                                                        b"S01\x00,-7,HBA1C", 1))),
     V, 2, rules=("encoding",), located={"encoding": (2, "subject_id")})

# delimiters -----------------------------------------------------------------------------
case("semicolons", "delimiters",
     lambda f: (example(f), write(meas(f), meas(f).read_text(encoding="utf-8")
                                  .replace(",", ";"))),
     V, 2, rules=("delimiter",), located={"delimiter": (1, None)})
case("tabs_in_csv", "delimiters",
     lambda f: (example(f), write(meas(f), meas(f).read_text(encoding="utf-8")
                                  .replace(",", "\t"))),
     V, 2, rules=("delimiter",))
case("semicolons_with_mapping", "delimiters",
     lambda f: (example(f), [write(p, p.read_text(encoding="utf-8").replace(",", ";"))
                             for p in (f / "data").glob("*.csv")],
                write(f / "mapping.yaml", 'csv: {delimiter: ";"}\n')), VM, 0)
case("decimal_comma", "delimiters",
     lambda f: (example(f), set_cell(meas(f), 2, "value", '"7,8"')),
     V, 1, rules=("type",), located={"type": (2, "value")})
case("tsv_suffix", "delimiters",
     lambda f: (example(f), shutil.move(meas(f), meas(f).with_suffix(".tsv"))),
     V, 2, rules=("file_unreadable",))

# quoting --------------------------------------------------------------------------------
case("unclosed_quote", "quoting",
     lambda f: (example(f), set_cell(meas(f), 20, "visit", '"month 3')),
     V, 2, rules=("file_unreadable",))
case("quote_inside_field", "quoting",
     lambda f: (example(f), set_cell(meas(f), 9, "visit", 'mon"th 3')),
     V, 2, rules=("file_unreadable",))
case("text_after_closing_quote", "quoting",
     lambda f: (example(f), set_cell(meas(f), 9, "visit", '"month" 3')),
     V, 2, rules=("file_unreadable",))
case("newline_in_quoted_field", "quoting",
     lambda f: (example(f), set_cell(meas(f), 5, "visit", '"base\nline"'),
                set_cell(meas(f), 12, "day", "abc")),
     V, 1, rules=("type",), located={"type": (12, "day")})
case("extra_field", "quoting",
     lambda f: (example(f), set_cell(meas(f), 7, "visit", "month 3,extra")),
     V, 2, rules=("file_unreadable",))

# blank lines ----------------------------------------------------------------------------
case("blank_first_line", "blank lines",
     lambda f: (example(f), write(meas(f), b"\n" + meas(f).read_bytes())),
     V, 1, rules=("missing_header",), located={"missing_header": (1, None)})
case("crlf_blank_first_line", "blank lines",
     lambda f: (example(f), write(meas(f), b"\r\n" + meas(f).read_bytes())),
     V, 1, rules=("missing_header",))
case("spaces_first_line", "blank lines",
     lambda f: (example(f), write(meas(f), b"   \n" + meas(f).read_bytes())),
     V, 1, rules=("missing_header",))
case("blank_lines_between_records", "blank lines",
     lambda f: (example(f), edit(meas(f), "S01,90,", "\n\nS01,90,"),
                set_cell(meas(f), 14, "day", "abc")),
     V, 1, rules=("type",), located={"type": (14, "day")})
case("trailing_blank_lines", "blank lines",
     lambda f: (example(f), write(meas(f), meas(f).read_bytes() + b"\n\n\n\n")), V, 0)

# Excel ------------------------------------------------------------------------------------


def _xlsx(folder: Path, table: str, rows_above: int = 0, blank_rows: bool = False,
          day_cell: object = None) -> None:
    """The table as a workbook sheet; ``day_cell`` replaces the day of the third data row."""
    import openpyxl

    data = example(folder)
    lines = (data / f"{table}.csv").read_text(encoding="utf-8").strip().split("\n")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = table
    for _ in range(rows_above):
        ws.append(["Exported from the trial database"])
    for i, line in enumerate(lines):
        cells: list[object] = line.split(",")
        if day_cell is not None and i == 3:
            cells[1] = day_cell
        ws.append(cells)
        if blank_rows and i == 2:
            ws.append([])
    (data / f"{table}.csv").unlink()
    wb.save(data / f"{table}.xlsx")


case("xlsx_title_rows", "excel",
     lambda f: _xlsx(f, "measurements", rows_above=2, day_cell="abc"),
     V, 1, rules=("type",), located={"type": (6, "day")})
case("xlsx_blank_rows", "excel",
     lambda f: _xlsx(f, "measurements", blank_rows=True, day_cell="abc"),
     V, 1, rules=("type",), located={"type": (5, "day")})
case("xlsx_date_in_day", "excel",
     lambda f: _xlsx(f, "measurements", day_cell=datetime.datetime(2021, 3, 4)),
     V, 1, rules=("date_in_day_column",), located={"date_in_day_column": (4, "day")})
case("xlsx_damaged", "excel",
     lambda f: (example(f), meas(f).unlink(),
                write(f / "data" / "measurements.xlsx", b"PK\x03\x04 not really a zip")),
     V, 2, rules=("file_unreadable",))
case("xls_old_excel", "excel",
     lambda f: (example(f), write(f / "data" / "notes.xls", b"\xd0\xcf\x11\xe0")),
     V, 2, rules=("file_unreadable",))

# Parquet ----------------------------------------------------------------------------------


def _parquet(folder: Path, change: Callable[[object], object]) -> None:
    import pandas as pd

    data = example(folder)
    frame = pd.read_csv(data / "measurements.csv")
    frame = change(frame)
    (data / "measurements.csv").unlink()
    frame.to_parquet(data / "measurements.parquet")


case("parquet_list_column", "parquet",
     lambda f: _parquet(f, lambda m: m.assign(value=[[v] for v in m["value"]])),
     V, 1, rules=("type",), located={"type": (1, "value")})
case("parquet_struct_column", "parquet",
     lambda f: _parquet(f, lambda m: m.assign(visit=[{"v": v} for v in m["visit"]])),
     V, 1, rules=("type",), located={"type": (1, "visit")})
case("parquet_nan_value", "parquet",
     lambda f: _parquet(f, lambda m: m.assign(value=[float("nan"), *list(m["value"][1:])])),
     V, 1, rules=("not_null",), located={"not_null": (1, "value")})
case("parquet_damaged", "parquet",
     lambda f: (example(f), meas(f).unlink(),
                write(f / "data" / "measurements.parquet", b"PAR1 truncated")),
     V, 2, rules=("file_unreadable",))

# units ----------------------------------------------------------------------------------
case("cpeptide_nmol_as_pmol", "units",
     lambda f: (synthetic(f), relabel(meas(f), "CPEP", "nmol/L", "pmol/L")),
     V, 1, rules=("unit_mismatch",), located={"unit_mismatch": (4, "unit")},
     output="look like nmol/L, labelled pmol/L")
case("cpeptide_pmol_as_nmol", "units",
     lambda f: (synthetic(f), relabel(meas(f), "CPEP_FAST", "nmol/L", "nmol/L", 1000)),
     V, 1, rules=("unit_mismatch",), output="looks like pmol/L")
case("glucose_mmol_as_mgdl", "units",
     lambda f: (synthetic(f), relabel(meas(f), "FPG", "mmol/L", "mg/dL")),
     V, 1, rules=("unit_mismatch",), output="mmol/L")
case("glucose_mgdl_as_mmol", "units",
     lambda f: (synthetic(f), relabel(meas(f), "FPG", "mmol/L", "mmol/L", 18.016)),
     V, 1, rules=("unit_mismatch",), output="looks like mg/dL")
case("hba1c_mmolmol_as_percent", "units",
     lambda f: (synthetic(f), relabel(meas(f), "HBA1C", "%", "%", 10.929)),
     V, 1, rules=("unit_mismatch",), output="looks like mmol/mol")
case("insulin_per_kg_as_per_day", "units",
     lambda f: (synthetic(f), relabel(meas(f), "INSULIN_DOSE", "IU/kg/day", "IU/day")),
     V, 1, rules=("unit_mismatch",), output="look like IU/kg/day, labelled IU/day")
case("insulin_per_day_as_per_kg", "units",
     lambda f: (synthetic(f), relabel(meas(f), "INSULIN_DOSE", "IU/kg/day", "IU/kg/day", 60)),
     V, 1, rules=("unit_mismatch",), output="IU/day")


def _weights(folder: Path, factor: float, unit: str) -> None:
    data = synthetic(folder)
    subjects = (data / "subjects.csv").read_text(encoding="utf-8").strip().split("\n")
    header = subjects[0].split(",")
    iw = header.index("weight_kg")
    rows = [f"{r.split(',')[0]},0,WEIGHT,{float(r.split(',')[iw]) * factor:.1f},{unit},baseline"
            for r in subjects[1:]]
    with open(data / "measurements.csv", "a", encoding="utf-8") as fh:
        fh.write("\n".join(rows) + "\n")


case("weight_lb_as_kg", "units", lambda f: _weights(f, 2.20462, "kg"),
     V, 1, rules=("unit_mismatch",), output="look like lb, labelled kg")
case("weight_g_as_kg", "units", lambda f: _weights(f, 1000, "kg"),
     V, 1, rules=("unit_mismatch",), output="looks like g")
case("weight_kg_as_lb", "units", lambda f: _weights(f, 1, "lb"),
     V, 1, rules=("unit_mismatch",), output="look like kg, labelled lb")
case("unknown_unit", "units", lambda f: (example(f), set_cell(meas(f), 2, "unit", "furlongs")),
     V, 1, rules=("unknown_unit",), located={"unknown_unit": (2, "unit")})

# time order -----------------------------------------------------------------------------
INF = ("data", "infusions.csv")
case("first_infusion_day_14", "time order",
     lambda f: (example(f), edit(f.joinpath(*INF), "S02,1,0,", "S02,1,14,")),
     V, 1, rules=("first_infusion_day",), located={"first_infusion_day": (4, "day")})
case("after_last_contact", "time order",
     lambda f: (example(f), set_cell(meas(f), 2, "day", "5000")),
     V, 1, rules=("after_last_contact",), located={"after_last_contact": (2, "day")})
case("infusion_order", "time order",
     lambda f: (example(f), edit(f.joinpath(*INF), "S01,2,91,", "S01,2,-5,")),
     V, 1, rules=("infusion_order",))
case("medication_ends_before_start", "time order",
     lambda f: (example(f), set_cell(f / "data" / "medications.csv", 2, "end_day", "-400")),
     V, 1, rules=("end_before_start",), located={"end_before_start": (2, "end_day")})

# identifiers ----------------------------------------------------------------------------


def _case_variant(folder: Path) -> None:
    data = example(folder)
    lines = (data / "subjects.csv").read_text(encoding="utf-8").rstrip("\n").split("\n")
    lines.append("s06" + lines[-1][3:])  # S06 is a control with placebo: valid twice
    write(data / "subjects.csv", "\n".join(lines) + "\n")


case("id_case_variant", "identifiers", _case_variant, V, 0, rules=("similar_id",),
     located={"similar_id": (8, "subject_id")})
case("id_case_in_measurements", "identifiers",
     lambda f: (example(f), set_cell(meas(f), 2, "subject_id", "s01")),
     V, 1, rules=("unknown_subject",), located={"unknown_subject": (2, "subject_id")},
     output="S01 (subjects.csv row 2) differs from it only by case or spaces")
case("id_with_spaces_in_measurements", "identifiers",
     lambda f: (example(f), set_cell(meas(f), 2, "subject_id", '" S01 "')), V, 0)

# file-system oddities -------------------------------------------------------------------
for kind, label in [("dir", "table_is_folder"), ("loop", "table_is_link_loop"),
                    ("zero", "table_links_dev_zero"), ("dangling", "table_dangling_link")]:
    case(label, "file system", lambda f, k=kind: (example(f), special(meas(f), k)),
         V, 2, rules=("file_unreadable",))
case("table_is_fifo", "file system", lambda f: (example(f), special(meas(f), "fifo")),
     V, 2, rules=("file_unreadable",), subprocess=True)
case("cohort_path_fifo", "file system", lambda f: special(f / "data", "fifo"),
     V, 2, rules=("file_unreadable",))
case("cohort_path_dev_null", "file system", lambda f: None,
     ("validate", "/dev/null", "--format", "json"), 2, rules=("file_unreadable",))
case("cohort_path_link_loop", "file system", lambda f: special(f / "data", "loop"),
     V, 2, rules=("file_unreadable",))
case("cohort_path_missing", "file system", lambda f: None,
     ("validate", "{dir}/nothing", "--format", "json"), 2, rules=("folder_missing",))
case("empty_table_file", "file system", lambda f: (example(f), write(meas(f), b"")),
     V, 1, rules=("empty_file",))
case("csv_is_binary", "file system",
     lambda f: (example(f), write(meas(f), bytes(range(256)) * 4)),
     V, 2, rules=("encoding",))

# hostile YAML -----------------------------------------------------------------------------
MAPPING = "{dir}/mapping.yaml"
case("mapping_billion_laughs", "hostile yaml",
     lambda f: (example(f), write(f / "mapping.yaml", billion_laughs(
         "tables:\n  subjects:\n    constants:\n"))),
     VM, 2, rules=("mapping",), output="MAX_NODES")
case("mapping_deep_nesting", "hostile yaml",
     lambda f: (example(f), write(f / "mapping.yaml", "tables: " + "[" * 5000 + "]" * 5000)),
     VM, 2, rules=("mapping",), output="MAX_DEPTH")
case("mapping_python_tag", "hostile yaml",
     lambda f: (example(f), write(f / "mapping.yaml",
                                  "ignore: !!python/object/apply:os.system [touch pwned]\n")),
     VM, 2, rules=("mapping",), output="is not allowed")
case("mapping_binary_tag", "hostile yaml",
     lambda f: (example(f), write(f / "mapping.yaml", "ignore: !!binary aGVsbG8=\n")),
     VM, 2, rules=("mapping",), output="is not allowed")
case("mapping_latin1", "hostile yaml",
     lambda f: (example(f), write(f / "mapping.yaml", "ignore: [caf\xe9]\n".encode("latin-1"))),
     VM, 2, rules=("mapping",), output="not UTF-8")
case("mapping_utf16", "hostile yaml",
     lambda f: (example(f), write(f / "mapping.yaml", "ignore: []\n".encode("utf-16"))),
     VM, 2, rules=("mapping",), output="UTF-16")
case("mapping_too_large", "hostile yaml",
     lambda f: (example(f), write(f / "mapping.yaml", "ignore:\n" + "  - x\n" * 800_000)),
     VM, 2, rules=("mapping",), output="the limit is 4,194,304 bytes")
case("mapping_two_documents", "hostile yaml",
     lambda f: (example(f), write(f / "mapping.yaml", "ignore: []\n---\nignore: []\n")),
     VM, 2, rules=("mapping",), output="more than one YAML document")
case("mapping_is_fifo", "hostile yaml",
     lambda f: (example(f), special(f / "mapping.yaml", "fifo")),
     VM, 2, rules=("mapping",), subprocess=True)
case("mapping_is_folder", "hostile yaml",
     lambda f: (example(f), (f / "mapping.yaml").mkdir()), VM, 2, rules=("mapping",))


def _spec(folder: Path, change: Callable[[str], str]) -> None:
    text = (SYNTHETIC / "lu2021" / "spec.yaml").read_text(encoding="utf-8")
    write(folder / "spec.yaml", change(text))


SYNTH_SPEC = ("synth", "{dir}/spec.yaml", "--out", "{dir}/out")
case("spec_billion_laughs", "hostile yaml",
     lambda f: write(f / "spec.yaml", billion_laughs("study:\n  extra:\n    x:\n")),
     SYNTH_SPEC, 2, output="MAX_NODES")
case("spec_huge_n", "hostile yaml",
     lambda f: _spec(f, lambda t: t.replace("n: 27", "n: 1000000000", 1)),
     SYNTH_SPEC, 2, output="MAX_SUBJECTS")
case("spec_is_fifo", "hostile yaml", lambda f: special(f / "spec.yaml", "fifo"),
     SYNTH_SPEC, 2, output="FIFO", subprocess=True)
case("spec_latin1", "hostile yaml",
     lambda f: write(f / "spec.yaml", "study:\n  title: caf\xe9\n".encode("latin-1")),
     SYNTH_SPEC, 2, output="not UTF-8")
case("model_latin1", "hostile yaml",
     lambda f: (example(f), write(f / "model.yaml",
                                  "name: mod\xe8le\nintercept: 0\n".encode("latin-1"))),
     ("analyze", "predict", "{data}", "--external", "{dir}/model.yaml"), 2,
     output="not UTF-8")
case("model_billion_laughs", "hostile yaml",
     lambda f: (example(f), write(f / "model.yaml", billion_laughs("name: m\nextra:\n  x:\n"))),
     ("analyze", "predict", "{data}", "--external", "{dir}/model.yaml"), 2, output="MAX_NODES")

TTE = ("analyze", "survival", "{data}", "--tte", "{dir}/tte.csv", "--event-codes",
       "CNSR:0=event,1=censored", "--format", "json")
case("tte_is_fifo", "file system", lambda f: (example(f), special(f / "tte.csv", "fifo")),
     TTE, 2, output="is a FIFO", subprocess=True)
case("tte_latin1", "encodings",
     lambda f: (example(f), write(f / "tte.csv", "USUBJID,AVAL,CNSR\nS01,caf\xe9,0\n"
                                  .encode("latin-1"))),
     TTE, 2, output="cannot be read as a UTF-8 CSV file")

# output locations ---------------------------------------------------------------------------


def _user_folder(folder: Path) -> None:
    write(folder / "mine" / "subjects.csv", "subject_id\nMINE\n")
    write(folder / "mine" / "mapping.yaml", "ignore: []\n")
    write(folder / "mine" / "notes.txt", "my notes\n")


case("synth_into_users_folder", "output locations", _user_folder,
     ("synth", "lu2021", "--n", "8", "--out", "{dir}/mine"), 2,
     output="is not empty and is not a cohort folder written by cohort")
case("synth_into_new_folder", "output locations", lambda f: None,
     ("synth", "lu2021", "--n", "8", "--out", "{dir}/new/deeper"), 0, changed=("new",))
case("report_over_its_input", "output locations", lambda f: example(f),
     ("report", "{data}", "--out", "{data}/subjects.csv", "--overwrite"), 2,
     output="is an input of this run")
case("report_over_a_foreign_file", "output locations",
     lambda f: (example(f), write(f / "page.html", "<p>mine</p>")),
     ("report", "{data}", "--out", "{dir}/page.html"), 2, output="is not an HTML report")
case("report_out_is_folder", "output locations", lambda f: example(f),
     ("report", "{data}", "--out", "{dir}"), 2, output="is a folder")
case("dictionary_over_foreign_file", "output locations",
     lambda f: write(f / "dict.md", "# my own\n"),
     ("dictionary", "--out", "{dir}/dict.md"), 2, output="is not a data dictionary")
case("out_parent_is_a_file", "output locations", lambda f: write(f / "afile", "x"),
     ("synth", "lu2021", "--n", "8", "--out", "{dir}/afile/out"), 2,
     output="is a regular file, not a folder")
case("dictionary_out_parent_is_a_file", "output locations", lambda f: write(f / "afile", "x"),
     ("dictionary", "--out", "{dir}/afile/d.md"), 2, output="is a regular file, not a folder")
case("reproduce_out_is_its_data", "output locations", lambda f: example(f),
     ("reproduce", "lu2021", "--data", "{data}", "--out", "{data}", "--overwrite"), 2,
     output="is an input of this run")
case("plot_over_foreign_file", "output locations",
     lambda f: (example(f), write(f / "km.png", b"not a figure")),
     ("analyze", "survival", "{data}", "--format", "json", "--plot", "{dir}/km.png"), 2,
     output="is not a figure written by cohort")
case("plot_over_its_input", "output locations", lambda f: example(f),
     ("analyze", "survival", "{data}", "--format", "json", "--plot", "{data}/subjects.csv",
      "--overwrite"), 2)
case("save_model_over_input", "output locations",
     lambda f: (synthetic(f), write(f / "mapping.yaml", "ignore: []\n")),
     ("analyze", "remission", "{data}", "--predictor", "age_years", "--mapping",
      "{dir}/mapping.yaml", "--save-model", "{dir}/mapping.yaml"), 2,
     output="is an input of this run")

# markup and control characters --------------------------------------------------------------
ESC = "S0\x1b]0;pwned\x07\x1b[2J1"
case("escape_sequences_text", "markup and control",
     lambda f: (example(f), edit(f / "data" / "adverse_events.csv", "S01,Fever", f"{ESC},Fever")),
     ("validate", "{data}"), 1, output="S0\\x1b]0;pwned")
case("escape_sequences_json_exact", "markup and control",
     lambda f: (example(f), edit(f / "data" / "adverse_events.csv", "S01,Fever", f"{ESC},Fever")),
     V, 1, rules=("unknown_subject",), output="\\u001b]0;pwned\\u0007\\u001b[2J")
case("bidi_override", "markup and control",
     lambda f: (example(f), edit(f / "data" / "adverse_events.csv", "Fever", "Fe\u202ever")),
     ("validate", "{data}"), 0)
case("rich_markup_in_values", "markup and control",
     lambda f: (example(f), edit(f / "data" / "adverse_events.csv", "S01,Fever",
                                 "[bold red]S01[/],Fever")),
     ("validate", "{data}"), 1, output="[bold red]S01[/]")
case("html_in_values", "markup and control",
     lambda f: (example(f), edit(f / "data" / "adverse_events.csv", "Fever",
                                 "<script>alert(1)</script>")),
     ("validate", "{data}", "--format", "json"), 0)


def materialise(c: Case, folder: Path) -> None:
    """Build case ``c`` into ``folder`` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    c.build(folder)


def args_for(c: Case, folder: Path) -> list[str]:
    return [a.format(dir=folder, data=folder / "data") for a in c.args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to write the corpus into (new)")
    dest = parser.parse_args().dest
    if dest.exists() and any(dest.iterdir()):
        sys.exit(f"{dest} is not empty")
    for c in CASES:
        materialise(c, dest / c.category.replace(" ", "_") / c.name)
        print(f"{c.category:18} {c.name:34} exit {c.exit}  cohort {' '.join(c.args)}")


if __name__ == "__main__":
    main()

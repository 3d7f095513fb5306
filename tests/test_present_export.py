"""--export: every format read back cell by cell; bad paths exit 2 with nothing written."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from typer.testing import CliRunner

from cohort.analysis.table1 import table1
from cohort.cli.app import app
from cohort.validation import load_cohort

ROOT = Path(__file__).resolve().parents[1]
LU = ROOT / "synthetic" / "lu2021" / "cohort"
runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["analyze", *args])


@pytest.fixture(scope="module")
def expected():
    c = load_cohort(LU)
    wide = table1(c.subjects, c.measurements, contract=c.contract).to_wide()
    return [list(wide.columns), *wide.astype(str).values.tolist()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export")
    for ext in ("docx", "xlsx", "tex", "html", "csv"):
        res = _run("table1", str(LU), "--export", str(out / f"t1.{ext}"))
        assert res.exit_code == 0, res.output
    return out


def test_word_table_holds_the_printed_cells(exported, expected) -> None:
    table = Document(str(exported / "t1.docx")).tables[0]
    cells = [[c.text for c in row.cells] for row in table.rows]
    assert cells == expected
    assert cells[0][1:3] == ["standard care (N = 26)", "UC-MSC (N = 27)"]


def test_excel_sheet_holds_the_printed_cells(exported, expected) -> None:
    ws = load_workbook(exported / "t1.xlsx").active
    rows = [[("" if v is None else str(v)) for v in r]
            for r in ws.iter_rows(min_row=1, max_row=len(expected), values_only=True)]
    assert rows == expected


def test_csv_html_and_latex(exported, expected) -> None:
    with open(exported / "t1.csv", newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == expected
    html = (exported / "t1.html").read_text(encoding="utf-8")
    assert "<th>UC-MSC (N = 27)</th>" in html and "<caption>Baseline characteristics" in html
    tex = (exported / "t1.tex").read_text(encoding="utf-8")
    assert r"\toprule" in tex and r"Sex, n (\%)" in tex
    assert tex.count(r" \\") == len(expected)


def test_a_results_table_exports_too(tmp_path) -> None:
    out = tmp_path / "ancova.docx"
    res = _run("ancova", str(ROOT / "synthetic" / "skyler2015" / "cohort"),
               "--visit-days", "56", "--export", str(out))
    assert res.exit_code == 0, res.output
    table = Document(str(out)).tables[0]
    header = [c.text for c in table.rows[0].cells]
    assert "estimate (95% CI)" in header
    col = header.index("estimate (95% CI)")
    assert all(re.fullmatch(r"-?\d+\.\d\d \(-?\d+\.\d\d to -?\d+\.\d\d\)", r.cells[col].text)
               for r in table.rows[1:])


@pytest.mark.parametrize(("target", "reason"), [
    ("t1.pdf", "unknown extension '.pdf'"), ("missing/t1.docx", "does not exist")])
def test_bad_export_paths_exit_2_before_any_work(tmp_path, target, reason) -> None:
    res = _run("table1", str(LU), "--export", str(tmp_path / target))
    assert res.exit_code == 2 and reason in res.output
    assert list(tmp_path.iterdir()) == []


def test_only_an_earlier_export_is_replaced_without_overwrite(tmp_path) -> None:
    mine = tmp_path / "table.docx"
    mine.write_bytes(b"my own manuscript")
    res = _run("table1", str(LU), "--export", str(mine))
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert mine.read_bytes() == b"my own manuscript"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.docx"]
    assert _run("table1", str(LU), "--export", str(mine), "--overwrite").exit_code == 0
    assert _run("table1", str(LU), "--export", str(mine)).exit_code == 0  # its own export


def test_readme_exports_table1_to_word(tmp_path, monkeypatch) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    line = next(ln for ln in readme.splitlines() if "--export table1.docx" in ln)
    args = line.split()[1:]
    assert args[:3] == ["analyze", "table1", "synthetic/lu2021/cohort"]
    args[2] = str(ROOT / args[2])
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert Document(str(tmp_path / "table1.docx")).tables[0].rows[0].cells[0].text == \
        "Characteristic"

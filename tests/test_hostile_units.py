"""1000x unit errors that no single value shows are caught on a file's values together, in both
directions, with the unit the values look like."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import cohort
from cohort._resources import data_path

LU = data_path("synthetic") / "lu2021" / "cohort"


@pytest.fixture
def lu(tmp_path) -> Path:
    dest = tmp_path / "lu"
    shutil.copytree(LU, dest)
    return dest


def _edit(folder: Path, table: str, fn) -> pd.DataFrame:
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = fn(frame)
    frame.to_csv(path, index=False)
    return frame


def _findings(folder: Path, rule: str = "unit_mismatch") -> pd.DataFrame:
    f = cohort.validate(folder).findings
    return f[f["rule"] == rule]


def _relabel(param_prefix: str, old: str, new: str, scale: float = 1.0):
    def fn(m: pd.DataFrame) -> pd.DataFrame:
        hit = m["param"].str.startswith(param_prefix) & (m["unit"] == old)
        m.loc[hit, "unit"] = new
        if scale != 1.0:
            m.loc[hit, "value"] = (m.loc[hit, "value"].astype(float) * scale).map("{:.6g}".format)
        return m
    return fn


def test_cpeptide_nmol_labelled_pmol(lu):
    _edit(lu, "measurements", _relabel("CPEP_FAST", "nmol/L", "pmol/L"))
    found = _findings(lu)
    n = (pd.read_csv(lu / "measurements.csv")["param"] == "CPEP_FAST").sum()
    assert len(found) == n and set(found["column"]) == {"unit"}
    msg = found["message"].iloc[0]
    assert f"the {n} CPEP_FAST values in pmol/L of this file" in msg
    assert "look like nmol/L, labelled pmol/L" in msg
    assert found["row"].notna().all() and (found["file"] == "measurements.csv").all()


def test_cpeptide_pmol_labelled_nmol_is_caught_value_by_value(lu):
    _edit(lu, "measurements", _relabel("CPEP_PP", "nmol/L", "nmol/L", scale=1000))
    found = _findings(lu)
    assert len(found) > 0
    assert found["message"].str.contains("it looks like pmol/L").all()


def test_insulin_iu_day_labelled_per_kg(lu):
    def fn(m):
        hit = m["param"] == "INSULIN_DOSE"
        # doses of a light cohort: 2-4 IU/day labelled per kg pass the 0-5 range one by one
        m.loc[hit, "value"] = (m.loc[hit, "value"].astype(float) * 8).clip(upper=4.9).map(
            "{:.3g}".format)
        return m
    _edit(lu, "measurements", fn)
    found = _findings(lu)
    assert len(found) > 0
    assert found["message"].str.contains(r"look like IU/day, labelled IU/kg/day").all()


def test_insulin_per_kg_labelled_iu_day(lu):
    _edit(lu, "measurements", _relabel("INSULIN_DOSE", "IU/kg/day", "IU/day"))
    found = _findings(lu)
    assert len(found) > 0
    assert found["message"].str.contains("look like IU/kg/day, labelled IU/day").all()


def _with_weight(folder: Path, factor: float, unit: str) -> None:
    subjects = pd.read_csv(folder / "subjects.csv")
    rows = pd.DataFrame({"subject_id": subjects["subject_id"], "day": 0, "param": "WEIGHT",
                         "value": (subjects["weight_kg"] * factor).round(1), "unit": unit,
                         "visit": "baseline"})
    m = pd.read_csv(folder / "measurements.csv", dtype=str, keep_default_na=False)
    pd.concat([m, rows.astype(str)]).to_csv(folder / "measurements.csv", index=False)


def test_weight_in_pounds_labelled_kg(lu):
    _with_weight(lu, 2.20462, "kg")
    found = _findings(lu)
    assert len(found) == 53
    assert found["message"].str.contains("look like lb, labelled kg").all()


def test_weight_in_grams_labelled_kg(lu):
    _with_weight(lu, 1000, "kg")
    found = _findings(lu)
    assert len(found) == 53
    assert found["message"].str.contains("it looks like g ").all()


def test_weight_in_kg_is_fine(lu):
    _with_weight(lu, 1.0, "kg")
    assert cohort.validate(lu).exit_code == 0


def test_glucose_mmol_labelled_mg_dl(lu):
    _edit(lu, "measurements", _relabel("FPG", "mmol/L", "mg/dL"))
    found = _findings(lu)
    assert len(found) > 0 and found["message"].str.contains("mmol/L").all()


@pytest.mark.parametrize("study", ["couri2009", "lu2021", "matsuoka2025", "nguyen2021",
                                   "skyler2015"])
def test_bundled_cohorts_raise_no_unit_finding(study):
    report = cohort.validate(data_path("synthetic") / study / "cohort")
    assert report.exit_code == 0 and report.findings.empty

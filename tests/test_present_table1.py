"""Table 1 as a paper prints it: labels and units from the contract, N per arm, a statistic
and decimals per variable, missing counts, SMD column, HbA1c in % and/or mmol/mol."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cohort.analysis.table1 import smd_numeric, table1
from cohort.contract import load_contract
from cohort.errors import AnalysisError
from cohort.extras import Extras, ExtraVariable, extend_contract


def _subjects() -> pd.DataFrame:
    # arm A: 14 subjects, 3 women (3/14 = 21.4 %); arm B: 10 subjects, 5 women
    age_a = [40.0, 42, 45, 47, 50, 51, 52, 55, 56, 58, 60, 61, 63, 65]
    age_b = [30.0, 35, 38, 44, 49, 53, 57, 59, 62, np.nan]
    # a skewed variable: one long right tail
    dose = [1.0] * 12 + [2.0, 40.0] + [1.0] * 8 + [3.0, 60.0]
    return pd.DataFrame({
        "subject_id": [f"S{i:02d}" for i in range(24)],
        "arm": ["A"] * 14 + ["B"] * 10, "control": [True] * 14 + [False] * 10,
        "age_years": age_a + age_b,
        "sex": ["F"] * 3 + ["M"] * 11 + ["F"] * 5 + ["M"] * 5,
        "score": dose,
    })


def _hba1c(subjects: pd.DataFrame) -> pd.DataFrame:
    values = np.linspace(6.5, 9.8, len(subjects))
    return pd.DataFrame({"subject_id": subjects["subject_id"], "day": -7, "param": "HBA1C",
                         "value": values})


@pytest.fixture(scope="module")
def t1():
    s = _subjects()
    return table1(s, _hba1c(s), variables=["age_years", "sex", "score"], hba1c_unit="both",
                  contract=extend_contract(load_contract(), Extras(subjects={
                      "score": ExtraVariable(type="number", label="Symptom score")})))


def test_header_has_n_per_arm_and_one_smd_column(t1) -> None:
    wide = t1.to_wide()
    assert list(wide.columns) == ["Characteristic", "A (N = 14)", "B (N = 10)",
                                  "overall (N = 24)", "SMD"]


def test_rows_carry_label_unit_statistic_and_decimals(t1) -> None:
    wide = t1.to_wide().set_index("Characteristic")
    age_a = np.array(_subjects()["age_years"][:14])
    age_b = np.array(_subjects()["age_years"][14:23])
    row = wide.loc["Age at day 0 (years), mean (SD)"]
    assert row["A (N = 14)"] == f"{age_a.mean():.1f} ({age_a.std(ddof=1):.1f})"
    assert row["SMD"] == f"{smd_numeric(age_b, age_a):.2f}"
    assert wide.loc["    Missing", "B (N = 10)"] == "1"
    assert wide.loc["    F", "A (N = 14)"] == "3 (21%)"
    assert wide.loc["    F", "B (N = 10)"] == "5 (50%)"
    assert "Sex, n (%)" in wide.index
    # a skewed declared extra: its label, median [IQR], three significant digits
    assert wide.loc["Symptom score, median [IQR]", "A (N = 14)"] == "1.00 [1.00, 1.00]"


def test_hba1c_in_both_units(t1) -> None:
    wide = t1.to_wide().set_index("Characteristic")
    values = np.linspace(6.5, 9.8, 24)
    pct = wide.loc["Baseline glycated haemoglobin A1c (%), mean (SD)", "overall (N = 24)"]
    assert pct == f"{values.mean():.1f} ({values.std(ddof=1):.1f})"
    mmol = values * 10.929 - 2.15 * 10.929
    got = wide.loc["Baseline glycated haemoglobin A1c (mmol/mol), mean (SD)",
                   "overall (N = 24)"]
    assert got == f"{mmol.mean():.0f} ({mmol.std(ddof=1):.0f})"
    s = t1.summary
    smds = s[s["variable"].str.startswith("baseline HBA1C") & s["smd"].notna()]["smd"]
    assert smds.iloc[0] == pytest.approx(smds.iloc[1], rel=1e-12)  # a linear change of unit


def test_statistic_and_digits_overridable() -> None:
    s = _subjects()
    res = table1(s, variables=["age_years"], statistics={"age_years": "median_iqr"},
                 digits={"age_years": 0}, labels={"age_years": "Age"})
    wide = res.to_wide().set_index("Characteristic")
    a = np.array(s["age_years"][:14])
    q1, med, q3 = np.quantile(a, [0.25, 0.5, 0.75])
    assert wide.loc["Age (years), median [IQR]", "A (N = 14)"] == \
        f"{med:.0f} [{q1:.0f}, {q3:.0f}]"
    with pytest.raises(AnalysisError, match="statistics"):
        table1(s, variables=["age_years"], statistics={"age_years": "mode"})
    assert not math.isnan(res.summary["smd"].dropna().iloc[0])

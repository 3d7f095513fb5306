"""Unit conversions against hand-computed and published values; the contract's accepted units
all have a conversion; the generated data dictionary is the committed one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.contract import data_dictionary, load_contract
from cohort.units import (
    CONVERSIONS,
    canonical_spelling,
    conversion,
    convert,
    hba1c_mmol_mol_to_percent,
    hba1c_percent_to_mmol_mol,
)

ROOT = Path(__file__).parent.parent


# HbA1c, IFCC-NGSP master equation: mmol/mol = 10.929 x (% - 2.15). Hand-computed values, and
# the rounded values of the published NGSP/IFCC conversion table (ngsp.org; ADA Standards of
# Care: 5.7 % = 39, 6.5 % = 48 mmol/mol), which are given to whole mmol/mol.
HBA1C = [  # (%, mmol/mol exactly, published mmol/mol)
    (5.7, 38.7979500, 39),
    (6.5, 47.5411500, 48),
    (7.0, 53.0056500, 53),
    (8.0, 63.9346500, 64),
    (9.0, 74.8636500, 75),
    (10.0, 85.7926500, 86),
]


@pytest.mark.parametrize(("percent", "exact", "published"), HBA1C)
def test_hba1c_percent_to_mmol_mol(percent, exact, published):
    assert hba1c_percent_to_mmol_mol(percent) == pytest.approx(exact, abs=1e-9)
    assert round(float(hba1c_percent_to_mmol_mol(percent))) == published


@pytest.mark.parametrize(("percent", "exact", "published"), HBA1C)
def test_hba1c_mmol_mol_to_percent(percent, exact, published):
    assert hba1c_mmol_mol_to_percent(exact) == pytest.approx(percent, abs=1e-12)
    # the published whole mmol/mol read back to 0.1 %, as the tables print them
    assert round(float(hba1c_mmol_mol_to_percent(published)), 1) == percent


def test_hba1c_by_hand():
    # 53 / 10.929 + 2.15 = 4.849483 + 2.15
    assert convert(np.array([53.0]), "mmol/mol", "%")[0] == pytest.approx(6.999483, abs=1e-6)
    assert conversion("mmol/mol", "%").inverse(np.array([7.0]))[0] == pytest.approx(53.00565)


@pytest.mark.parametrize(("mg_dl", "mmol_l", "published"), [
    (126.0, 6.993783, 7.0),   # ADA diagnostic threshold: 126 mg/dL (7.0 mmol/L)
    (100.0, 5.550622, 5.6),   # ADA: 100 mg/dL (5.6 mmol/L)
    (200.0, 11.101243, 11.1),  # ADA: 200 mg/dL (11.1 mmol/L)
    (18.016, 1.0, 1.0),
])
def test_glucose_mg_dl(mg_dl, mmol_l, published):
    got = convert(np.array([mg_dl]), "mg/dL", "mmol/L")[0]
    assert got == pytest.approx(mmol_l, abs=1e-6)
    assert round(got, 1) == published


def test_c_peptide():
    # 1 ng/mL = 331 pmol/L = 0.331 nmol/L (molar mass about 3020 g/mol)
    assert convert(np.array([1.0]), "ng/mL", "nmol/L")[0] == pytest.approx(0.331, abs=1e-15)
    assert convert(np.array([0.6]), "ng/mL", "nmol/L")[0] == pytest.approx(0.1986, abs=1e-15)
    assert convert(np.array([331.0]), "pmol/L", "nmol/L")[0] == pytest.approx(0.331, abs=1e-15)
    assert convert(np.array([1500.0]), "pmol/L*min", "nmol/L*min")[0] == pytest.approx(1.5)
    assert convert(np.array([100.0]), "ng/mL*min", "nmol/L*min")[0] == pytest.approx(33.1)


def test_insulin_per_day_needs_weight():
    got = convert(np.array([35.0, 0.0, 42.0]), "IU/day", "IU/kg/day",
                  weight_kg=np.array([70.0, 80.0, 60.0]))
    np.testing.assert_allclose(got, [0.5, 0.0, 0.7], rtol=1e-15)
    with pytest.raises(ValueError, match="needs body weight"):
        convert(np.array([35.0]), "IU/day", "IU/kg/day")
    with pytest.raises(ValueError, match="no inverse without the weight"):
        conversion("IU/day", "IU/kg/day").inverse(np.array([0.5]))


def test_weight_lb():
    # the pound is defined as exactly 0.45359237 kg
    assert convert(np.array([154.3]), "lb", "kg")[0] == pytest.approx(69.98930269, abs=1e-8)
    assert conversion("lb", "kg").inverse(np.array([1.0]))[0] == pytest.approx(2.20462262)


def test_canonical_units_are_identities():
    for (src, dst), conv in CONVERSIONS.items():
        if src == dst:
            assert conv.scale == 1.0 and conv.offset == 0.0 and not conv.per_body_weight


def test_unknown_conversion_names_the_known_units():
    with pytest.raises(KeyError, match=r"no conversion from 'mg/dL' to '%'; known units for "
                                       r"'%': %, mmol/mol"):
        conversion("mg/dL", "%")


@pytest.mark.parametrize(("written", "spelled"), [
    ("mg/dl", "mg/dL"), ("MG/DL", "mg/dL"), (" mmol/l ", "mmol/L"), ("percent", "%"),
    ("U/kg/d", "IU/kg/day"), ("iu/day", "IU/day"), ("pmol/l.min", "pmol/L*min"), ("lbs", "lb"),
    ("mmol/dL", None), ("mg", None), ("µmol/L", None),
])
def test_canonical_spelling(written, spelled):
    assert canonical_spelling(written) == spelled


def test_every_accepted_unit_has_a_conversion():
    params = load_contract().parameters
    assert params
    for code, p in params.items():
        for unit in p.accepted_units:
            assert (unit, p.unit) in CONVERSIONS, f"{code}: no conversion {unit} -> {p.unit}"
            assert canonical_spelling(unit) == unit, f"{code}: {unit} is not spelled as read"
            assert CONVERSIONS[(unit, p.unit)].rule


def test_data_dictionary_is_up_to_date():
    committed = (ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert committed == data_dictionary() + "\n", \
        "regenerate it: .venv/bin/cohort dictionary --out docs/data_dictionary.md"
    result = CliRunner().invoke(app, ["dictionary"])
    assert result.exit_code == 0
    assert result.stdout == committed

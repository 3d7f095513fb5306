"""Canonical units and the conversions onto them.

Canonical units (design contract): HbA1c ``%`` (NGSP); glucose ``mmol/L``; C-peptide ``nmol/L``;
C-peptide AUC ``nmol/L*min``; insulin dose ``IU/kg/day``; weight ``kg``. Which units each
parameter accepts is part of the contract (``schemas/measurements.yaml``); how to convert them is
defined here. Every conversion is affine (``canonical = value * scale + offset``), except insulin
doses in ``IU/day``, which are divided by the subject's body weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CONVERSIONS",
    "Conversion",
    "canonical_spelling",
    "conversion",
    "convert",
    "hba1c_mmol_mol_to_percent",
    "hba1c_percent_to_mmol_mol",
]

IFCC_SLOPE = 10.929
"""IFCC-NGSP master equation: HbA1c [mmol/mol] = 10.929 x (HbA1c [%] - 2.15)."""
IFCC_INTERCEPT = 2.15
GLUCOSE_MG_DL_PER_MMOL_L = 18.016
"""Glucose: 1 mmol/L = 18.016 mg/dL (molar mass 180.16 g/mol)."""
CPEPTIDE_NMOL_L_PER_NG_ML = 0.331
"""C-peptide: 1 ng/mL = 0.331 nmol/L = 331 pmol/L (molar mass about 3020 g/mol)."""
KG_PER_LB = 0.45359237


@dataclass(frozen=True)
class Conversion:
    """A conversion from ``from_unit`` to the canonical ``to_unit``.

    ``canonical = value * scale + offset``, then divided by body weight in kg when
    ``per_body_weight`` is set.
    """

    from_unit: str
    to_unit: str
    scale: float
    offset: float = 0.0
    per_body_weight: bool = False
    rule: str = ""

    def apply(self, values: np.ndarray, weight_kg: np.ndarray | None = None) -> np.ndarray:
        """Convert ``values`` (and divide by ``weight_kg`` when the conversion needs it)."""
        out = np.asarray(values, dtype=float) * self.scale + self.offset
        if self.per_body_weight:
            if weight_kg is None:
                raise ValueError(f"converting {self.from_unit} to {self.to_unit} needs body weight")
            out = out / np.asarray(weight_kg, dtype=float)
        return out

    def inverse(self, values: np.ndarray) -> np.ndarray:
        """Convert canonical values back to ``from_unit`` (affine conversions only)."""
        if self.per_body_weight:
            raise ValueError("a per-body-weight conversion has no inverse without the weight")
        return (np.asarray(values, dtype=float) - self.offset) / self.scale


def _identity(unit: str) -> Conversion:
    return Conversion(unit, unit, 1.0, rule="canonical unit")


CONVERSIONS: dict[tuple[str, str], Conversion] = {
    (c.from_unit, c.to_unit): c
    for c in [
        _identity("%"),
        Conversion("mmol/mol", "%", 1 / IFCC_SLOPE, IFCC_INTERCEPT,
                   rule="IFCC-NGSP master equation: % = mmol/mol / 10.929 + 2.15"),
        _identity("mmol/L"),
        Conversion("mg/dL", "mmol/L", 1 / GLUCOSE_MG_DL_PER_MMOL_L,
                   rule="glucose mmol/L = mg/dL / 18.016"),
        _identity("nmol/L"),
        Conversion("pmol/L", "nmol/L", 1e-3, rule="nmol/L = pmol/L / 1000"),
        Conversion("ng/mL", "nmol/L", CPEPTIDE_NMOL_L_PER_NG_ML,
                   rule="C-peptide nmol/L = ng/mL x 0.331"),
        _identity("nmol/L*min"),
        Conversion("pmol/L*min", "nmol/L*min", 1e-3, rule="nmol/L*min = pmol/L*min / 1000"),
        Conversion("ng/mL*min", "nmol/L*min", CPEPTIDE_NMOL_L_PER_NG_ML,
                   rule="C-peptide nmol/L*min = ng/mL*min x 0.331"),
        _identity("IU/kg/day"),
        Conversion("IU/day", "IU/kg/day", 1.0, per_body_weight=True,
                   rule="IU/kg/day = IU/day / subjects.weight_kg"),
        _identity("kg"),
        Conversion("lb", "kg", KG_PER_LB, rule="kg = lb x 0.45359237"),
    ]
}
"""Every supported conversion, keyed by (input unit, canonical unit)."""

_SPELLINGS = {
    "%": "%", "percent": "%",
    "mmol/mol": "mmol/mol",
    "mmol/l": "mmol/L", "mg/dl": "mg/dL",
    "nmol/l": "nmol/L", "pmol/l": "pmol/L", "ng/ml": "ng/mL",
    "nmol/l*min": "nmol/L*min", "pmol/l*min": "pmol/L*min", "ng/ml*min": "ng/mL*min",
    "nmol/l.min": "nmol/L*min", "pmol/l.min": "pmol/L*min", "ng/ml.min": "ng/mL*min",
    "iu/kg/day": "IU/kg/day", "u/kg/day": "IU/kg/day", "iu/kg/d": "IU/kg/day",
    "u/kg/d": "IU/kg/day",
    "iu/day": "IU/day", "u/day": "IU/day", "iu/d": "IU/day", "u/d": "IU/day",
    "kg": "kg", "lb": "lb", "lbs": "lb",
}


def canonical_spelling(unit: str) -> str | None:
    """Return the contract's spelling of ``unit`` (``"mg/dl"`` -> ``"mg/dL"``), or None.

    Only case, surrounding spaces and a few listed synonyms (``U`` for ``IU``, ``d`` for
    ``day``) are normalised; anything else is an unknown unit.
    """
    return _SPELLINGS.get(unit.strip().lower().replace(" ", ""))


def conversion(from_unit: str, to_unit: str) -> Conversion:
    """Return the conversion from ``from_unit`` to ``to_unit``.

    Raises
    ------
    KeyError
        If no such conversion is defined.
    """
    try:
        return CONVERSIONS[(from_unit, to_unit)]
    except KeyError:
        known = sorted({f for f, t in CONVERSIONS if t == to_unit})
        raise KeyError(
            f"no conversion from {from_unit!r} to {to_unit!r}; known units for {to_unit!r}: "
            f"{', '.join(known) or 'none'}"
        ) from None


def convert(values: np.ndarray, from_unit: str, to_unit: str,
            weight_kg: np.ndarray | None = None) -> np.ndarray:
    """Convert ``values`` from ``from_unit`` to ``to_unit`` (see :data:`CONVERSIONS`)."""
    return conversion(from_unit, to_unit).apply(values, weight_kg)


def hba1c_mmol_mol_to_percent(mmol_mol: np.ndarray | float) -> np.ndarray:
    """HbA1c in IFCC units (mmol/mol) to NGSP units (%), by the master equation."""
    return np.asarray(mmol_mol, dtype=float) / IFCC_SLOPE + IFCC_INTERCEPT


def hba1c_percent_to_mmol_mol(percent: np.ndarray | float) -> np.ndarray:
    """HbA1c in NGSP units (%) to IFCC units (mmol/mol), by the master equation."""
    return IFCC_SLOPE * (np.asarray(percent, dtype=float) - IFCC_INTERCEPT)

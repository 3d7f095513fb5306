"""HOMA-beta: beta-cell function from a fasting glucose and a fasting insulin or C-peptide
drawn the same day, as measurement rows any analysis of a parameter can use.

Two published forms:

* ``HOMA_B`` (Matthews et al., Diabetologia 1985;28:412-9, the HOMA1 approximation):
  20 x fasting insulin (uU/mL = mU/L) / (fasting glucose (mmol/L) - 3.5), in %. It needs a
  fasting insulin parameter ``INSULIN_FAST`` (declared as a study-specific parameter in
  uU/mL or mU/L); exogenous insulin makes it meaningless in insulin-treated patients.
* ``HOMA_B_CP``, the C-peptide form published for people with diabetes on exogenous insulin
  ("HOMA-islet (CP-DM)", fitted against HOMA1 with insulin in an oral glucose tolerance
  study): 0.27 x fasting C-peptide (pmol/L) / (fasting glucose (mmol/L) - 3.5). From the
  contract's ``CPEP_FAST`` (nmol/L, times 1000) and ``FPG``. A spec says which form a paper
  used, or marks the choice assumed.

A value is derived only where both measurements were taken on the same study day; a fasting
glucose at or below 3.5 mmol/L leaves HOMA-beta undefined (no row, counted in the notes).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["HOMA_PARAMS", "homa_beta"]

HOMA_PARAMS = {
    "HOMA_B": ("INSULIN_FAST", 20.0, 1.0),
    "HOMA_B_CP": ("CPEP_FAST", 0.27, 1000.0),
}
"""Derived parameter -> (secretion parameter, factor, unit multiplier to uU/mL or pmol/L)."""

_INSULIN_UNITS = {"uU/mL", "µU/mL", "μU/mL", "mU/L", "uIU/mL", "µIU/mL", "mIU/L"}


def homa_beta(measurements: pd.DataFrame, code: str, *,
              secretion_unit: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """HOMA-beta rows (``subject_id``, ``day``, ``param``, ``value``, ``unit``, ``visit``).

    Parameters
    ----------
    measurements : DataFrame
        Long measurements in canonical units (FPG mmol/L, CPEP_FAST nmol/L).
    code : {"HOMA_B", "HOMA_B_CP"}
        Which form (see the module docstring).
    secretion_unit : str or None, keyword-only
        The unit of ``INSULIN_FAST`` for ``HOMA_B`` (must be uU/mL or mU/L).

    Returns
    -------
    (DataFrame, list of str)
        The rows (value in %; empty when the inputs are absent) and notes (pairs left out).
    """
    secretion, factor, scale = HOMA_PARAMS[code]
    if code == "HOMA_B" and secretion_unit is not None and secretion_unit not in _INSULIN_UNITS:
        raise ValueError(f"HOMA_B needs fasting insulin in uU/mL (mU/L), not {secretion_unit}")
    m = measurements
    glucose = m.loc[m["param"].astype(str) == "FPG", ["subject_id", "day", "value"]].rename(
        columns={"value": "glucose"})
    other = m.loc[m["param"].astype(str) == secretion,
                  ["subject_id", "day", "value", *(["visit"] if "visit" in m.columns else [])]]
    pairs = other.merge(glucose, on=["subject_id", "day"], how="inner")
    pairs = pairs[pairs["value"].notna() & pairs["glucose"].notna()]
    notes = []
    low = pairs["glucose"] <= 3.5
    if low.any():
        notes.append(f"{code}: {int(low.sum())} pair(s) with fasting glucose <= 3.5 mmol/L "
                     "left out (HOMA-beta undefined)")
    pairs = pairs[~low]
    out = pd.DataFrame({
        "subject_id": pairs["subject_id"].to_numpy(), "day": pairs["day"].to_numpy(),
        "param": code,
        "value": factor * pairs["value"].to_numpy(dtype=float) * scale
        / (pairs["glucose"].to_numpy(dtype=float) - 3.5),
        "unit": "%"})
    if "visit" in pairs.columns:
        out["visit"] = pairs["visit"].to_numpy()
    return out, notes

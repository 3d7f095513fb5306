"""Numbers in the unit a paper published them in: a target may give ``unit`` (``IU/day`` for
an insulin dose, ``mmol/mol`` for HbA1c, ``mg/dL`` for glucose, ``pmol/L`` for C-peptide) and
the reproduced values are converted from the contract's canonical unit into it before the
statistic is taken (the inverse of :mod:`cohort.units`; an insulin dose in IU/day is the dose
in IU/kg/day times the subject's body weight, ``subjects.weight_kg``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohort.spec.vocabulary import CANONICAL_UNITS
from cohort.studies.base import NotComputable

__all__ = ["to_published_unit"]


def to_published_unit(values: pd.Series, param: str, unit: str, *,
                      weight_kg: pd.Series | None = None) -> tuple[pd.Series, str]:
    """``values`` (canonical unit of ``param``) in ``unit``, and the rule applied.

    Raises
    ------
    NotComputable
        If ``param`` has no such unit, or a per-body-weight conversion lacks weights.
    """
    from cohort.units import canonical_spelling, conversion

    canonical = CANONICAL_UNITS.get(param)
    spelled = canonical_spelling(str(unit))
    if canonical is None or spelled is None:
        raise NotComputable(f"no unit {unit!r} for {param}")
    if spelled == canonical:
        return values.astype(float), f"{canonical} (canonical)"
    try:
        conv = conversion(spelled, canonical)
    except KeyError as exc:
        raise NotComputable(str(exc).strip("'\"")) from None
    x = values.to_numpy(dtype=float)
    if conv.per_body_weight:
        if weight_kg is None or weight_kg.isna().all():
            raise NotComputable(f"{param} in {spelled} needs the subjects' body weight "
                                "(subjects.weight_kg)")
        out = x * weight_kg.to_numpy(dtype=float)  # IU/kg/day x kg = IU/day
        rule = f"{spelled} = {canonical} x subjects.weight_kg"
    else:
        out = conv.inverse(x)
        rule = f"{spelled} from {canonical}, inverse of: {conv.rule}"
    return pd.Series(np.asarray(out, dtype=float), index=values.index), rule

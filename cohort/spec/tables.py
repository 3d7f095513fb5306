"""A spec as tables for display: the design of its arms and the provenance marks of its blocks.

Used by the study notebooks; pandas is imported only when this module is.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from cohort.spec.model import StudySpec
from cohort.spec.readme import provenance_rows

__all__ = ["design_table", "distribution_text", "provenance_table"]


def distribution_text(dist: Any) -> str:
    """A distribution of the spec in words, for a table cell.

    Parameters
    ----------
    dist : spec distribution or None
        A distribution block of the spec (``dist`` plus its parameters), e.g. an arm's
        ``treatment.dose_cells_per_kg``.

    Returns
    -------
    str
        ``""`` for None; the value of a constant; else the kind with its numeric parameters
        (quantile knots as ``q<quantile> <value>``). Doses are in cells or cells/kg.

    Examples
    --------
    >>> from cohort.spec import distribution_text, resolve_spec
    >>> spec, _ = resolve_spec("lu2021")
    >>> distribution_text(spec.arms[0].treatment.dose_cells_per_kg)
    'uniform (low 800000, high 2.5e+06)'
    >>> distribution_text(None)
    ''
    """
    if dist is None:
        return ""
    d = dist.model_dump(exclude={"published", "assumed"})
    kind = d.pop("dist")
    if kind == "constant":
        return f"{d['value']:g}"
    if "knots" in d:
        return f"{kind} (" + ", ".join(f"q{q:g} {v:g}" for q, v in d["knots"].items()) + ")"
    return f"{kind} (" + ", ".join(f"{k} {v:g}" for k, v in d.items()
                                   if isinstance(v, int | float)) + ")"


def _arm_row(arm: Any) -> dict[str, Any]:
    tr = arm.treatment
    row = {"arm": arm.name, "label": arm.arm_label, "n": int(arm.n), "control": arm.control}
    if tr is not None:
        row.update({"cells": tr.source if isinstance(tr.source, str) else
                    ", ".join(f"{k} {float(v):g}" for k, v in tr.source.items()),
                    "route": tr.route, "infusion days": tr.infusion_days,
                    "dose (cells/kg)": distribution_text(tr.dose_cells_per_kg),
                    "dose (cells)": distribution_text(tr.dose_cells_total)})
    if arm.strata:
        row["strata"] = ", ".join(f"{k} {int(s.n)}" for k, s in arm.strata.items())
    return row


def design_table(spec: StudySpec) -> pd.DataFrame:
    """The published design of a spec's arms, one row per arm.

    Parameters
    ----------
    spec : StudySpec
        The study spec.

    Returns
    -------
    DataFrame
        Columns ``arm``, ``label``, ``n``, ``control``; for arms with a treatment also
        ``cells`` (source), ``route``, ``infusion days``, ``dose (cells/kg)`` and
        ``dose (cells)`` (see :func:`distribution_text`); ``strata`` (name and n) when an
        arm has strata. Cells an arm does not have are ``""``.

    Examples
    --------
    >>> from cohort.spec import design_table, resolve_spec
    >>> spec, _ = resolve_spec("lu2021")
    >>> design_table(spec)[["arm", "n", "control"]]
           arm   n  control
    0      msc  27    False
    1  control  26     True
    """
    return pd.DataFrame([_arm_row(arm) for arm in spec.arms]).fillna("")


def provenance_table(spec: StudySpec, *prefixes: str) -> pd.DataFrame:
    """The spec's published/assumed marks whose key path starts with one of ``prefixes``.

    Parameters
    ----------
    spec : StudySpec
        The study spec.
    *prefixes : str
        Key-path prefixes (``"design.arms"``, ``"outcomes.remission"``); none (or ``""``)
        selects every mark.

    Returns
    -------
    DataFrame
        The rows of :func:`~cohort.spec.provenance_rows` selected: ``where`` (key path),
        ``basis`` (``published`` or ``assumed``) and ``text`` (source or reason).

    Examples
    --------
    >>> from cohort.spec import provenance_table, resolve_spec
    >>> spec, _ = resolve_spec("lu2021")
    >>> provenance_table(spec, "design.arms")["where"].tolist()[:2]
    ['design.arms[0] (msc)', 'design.arms[0].treatment']
    """
    prefixes = prefixes or ("",)
    rows = [r for r in provenance_rows(spec) if r["where"].startswith(prefixes)]
    return pd.DataFrame(rows, columns=["where", "basis", "text"])

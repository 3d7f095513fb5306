"""Responder criteria: what a responder definition is made of, and how it is written as text.

* a **measurement criterion** (:class:`Criterion`) on a parameter's value, change or percent
  change at the visit, e.g. HbA1c < 7% (Skyler 2015: ``Criterion("HBA1C", "value", "<", 7)``)
  or insulin dose reduced by at least 50% (``Criterion("INSULIN_DOSE", "pct_change", "<=",
  -50)``, IU/kg/day);
* a **medication criterion** (:class:`MedicationCriterion`) from the medications table: the
  daily dose of a drug class reduced by at least ``reduction_pct`` % since day 0.

:func:`parse_criterion` reads a criterion written as text (for the CLI and spec files) without
evaluating anything: ``"HBA1C < 7"``, ``"INSULIN_DOSE pct_change <= -50"``,
``"med:insulin >= 50"``. Evaluating criteria per subject is
:mod:`cohort.analysis.responder_status`; the per-arm analysis is
:mod:`cohort.analysis.responders`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from cohort.derive.thresholds import OPERATORS as _OPS
from cohort.errors import AnalysisError

__all__ = ["Criterion", "Measure", "MedicationCriterion", "parse_criterion"]

Measure = Literal["value", "change", "pct_change"]


@dataclass(frozen=True)
class Criterion:
    """A threshold on a measurement at the visit.

    Parameters
    ----------
    param : str
        Parameter code (``"HBA1C"``, ``"INSULIN_DOSE"``, ...), canonical unit.
    measure : {"value", "change", "pct_change"}
        The value at the visit, its change from baseline, or the percent change.
    op : {"<", "<=", ">", ">="}
    threshold : float
        In the parameter's canonical unit (``value``/``change``) or in % (``pct_change``).
    """

    param: str
    measure: Measure = "value"
    op: str = "<"
    threshold: float = 7.0

    def __post_init__(self) -> None:
        if self.measure not in ("value", "change", "pct_change"):
            raise AnalysisError(f"criterion measure must be value, change or pct_change, got "
                                f"{self.measure!r}")
        if self.op not in _OPS:
            raise AnalysisError(f"criterion operator must be one of {list(_OPS)}, got "
                                f"{self.op!r}")
        if not math.isfinite(float(self.threshold)):
            raise AnalysisError(f"criterion threshold must be a finite number, got "
                                f"{self.threshold!r}")

    @property
    def label(self) -> str:
        """E.g. ``"HBA1C < 7"`` or ``"INSULIN_DOSE pct_change <= -50"``."""
        what = self.param if self.measure == "value" else f"{self.param} {self.measure}"
        return f"{what} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class MedicationCriterion:
    """A daily dose of a drug class reduced by at least ``reduction_pct`` % since day 0.

    Parameters
    ----------
    drug_class : str
        Medications ``drug_class`` (``"insulin"``, ``"metformin"``, ...).
    reduction_pct : float
        Minimum reduction in % of the day-0 daily dose (50: halved or less; 100: stopped).
    """

    drug_class: str = "insulin"
    reduction_pct: float = 50.0

    def __post_init__(self) -> None:
        if not 0 < float(self.reduction_pct) <= 100:
            raise AnalysisError(f"reduction_pct must be in (0, 100], got {self.reduction_pct!r}")

    @property
    def label(self) -> str:
        """E.g. ``"insulin dose reduced >= 50%"``."""
        return f"{self.drug_class} dose reduced >= {self.reduction_pct:g}%"


_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_MEAS_RE = re.compile(rf"^\s*(?P<param>[A-Za-z][A-Za-z0-9_]*)\s*(?:[\s:]\s*(?P<measure>value|"
                      rf"change|pct_change))?\s*(?P<op><=|>=|<|>)\s*(?P<num>{_NUM})\s*%?\s*$",
                      re.IGNORECASE)
# codes in any case, as everywhere on the command line ("med:INSULIN", "HbA1c CHANGE")
_MED_RE = re.compile(rf"^\s*med(?:ication)?\s*:\s*(?P<cls>[a-z0-9_]+)\s*>=\s*(?P<num>{_NUM})"
                     r"\s*%?\s*$", re.IGNORECASE)


def parse_criterion(text: str) -> Criterion | MedicationCriterion:
    """Parse a responder criterion written as text (nothing is evaluated).

    Parameters
    ----------
    text : str
        ``"PARAM OP NUMBER"`` (value at the visit, e.g. ``"HBA1C < 7"``),
        ``"PARAM MEASURE OP NUMBER"`` with MEASURE ``change`` or ``pct_change`` (e.g.
        ``"INSULIN_DOSE pct_change <= -50"``), or ``"med:CLASS >= PERCENT"`` for a
        medication dose reduction (e.g. ``"med:insulin >= 50"``).

    Returns
    -------
    Criterion or MedicationCriterion

    Raises
    ------
    AnalysisError
        If the text does not follow one of these forms.
    """
    if not isinstance(text, str):
        raise AnalysisError(f"a criterion must be text, got {text!r}")
    m = _MED_RE.match(text)
    if m:
        return MedicationCriterion(m["cls"].lower(), float(m["num"]))
    m = _MEAS_RE.match(text)
    if m:
        return Criterion(m["param"].upper(), (m["measure"] or "value").lower(), m["op"],
                         float(m["num"]))
    raise AnalysisError(
        f"cannot read the criterion {text!r}; write e.g. 'HBA1C < 7', "
        "'INSULIN_DOSE pct_change <= -50' or 'med:insulin >= 50'")


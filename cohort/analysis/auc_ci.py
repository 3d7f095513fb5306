"""Confidence interval of an AUC (area under the ROC curve) by DeLong's method.

DeLong, DeLong & Clarke-Pearson (1988), Biometrics 44:837-845: the AUC is the Mann-Whitney
statistic ``P(score of an event > score of a non-event)`` (ties count one half); its variance
comes from the structural components (placement values) of events and non-events. This is
R pROC's default ``ci.auc(method = "delong")``, with the interval clipped to [0, 1] as pROC
does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from cohort.errors import AnalysisError

__all__ = ["AucInterval", "auc_delong"]


@dataclass(frozen=True)
class AucInterval:
    """An AUC with its DeLong standard error and confidence interval.

    Attributes
    ----------
    auc, se, ci_lower, ci_upper : float
        The AUC (0-1), its standard error and the interval (clipped to [0, 1]).
    n_events, n_nonevents : int
    conf_level : float
    """

    auc: float
    se: float
    ci_lower: float
    ci_upper: float
    n_events: int
    n_nonevents: int
    conf_level: float

    def covers(self, value: float = 0.5) -> bool:
        """True when the interval includes ``value`` (0.5: no better than chance)."""
        return self.ci_lower <= value <= self.ci_upper


def auc_delong(y: np.ndarray, score: np.ndarray, *, conf_level: float = 0.95) -> AucInterval:
    """AUC of ``score`` for the binary outcome ``y`` with DeLong's confidence interval.

    Parameters
    ----------
    y : array of 0/1 or bool
        Outcome (1 = event).
    score : array of float
        Predicted probability or any score; higher means more likely an event.
    conf_level : float, keyword-only
        Confidence level of the interval.

    Returns
    -------
    AucInterval

    Raises
    ------
    AnalysisError
        When ``y`` and ``score`` differ in length, hold missing values, or ``y`` lacks events
        or non-events.

    Examples
    --------
    >>> r = auc_delong([0, 0, 1, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9])
    >>> round(r.auc, 4), round(r.se, 4)
    (0.8889, 0.1571)
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise AnalysisError(f"outcome and score must be 1-d and of one length; got {y.shape} "
                            f"and {s.shape}")
    if np.isnan(y).any() or np.isnan(s).any():
        raise AnalysisError("outcome and score must not have missing values")
    if not 0 < conf_level < 1:
        raise AnalysisError(f"conf_level must lie in (0, 1), got {conf_level}")
    pos, neg = s[y == 1], s[y == 0]
    if pos.size == 0 or neg.size == 0:
        raise AnalysisError(f"an AUC needs events and non-events; the data have {pos.size} "
                            f"events and {neg.size} non-events")
    # psi(x, y) = 1 if x > y, 1/2 if tied, 0 otherwise: every event against every non-event
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10 = psi.mean(axis=1)
    v01 = psi.mean(axis=0)
    auc = float(v10.mean())
    s10 = float(v10.var(ddof=1)) if pos.size > 1 else 0.0
    s01 = float(v01.var(ddof=1)) if neg.size > 1 else 0.0
    se = math.sqrt(s10 / pos.size + s01 / neg.size)
    z = float(special.ndtri(0.5 + conf_level / 2))
    return AucInterval(auc=auc, se=se, ci_lower=max(0.0, auc - z * se),
                       ci_upper=min(1.0, auc + z * se), n_events=int(pos.size),
                       n_nonevents=int(neg.size), conf_level=conf_level)

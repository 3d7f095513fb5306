"""Mixed model for repeated measures (MMRM) matching SAS PROC MIXED and R mmrm.

Modules: :mod:`.covariance` (structures in SAS's parametrisation), :mod:`.likelihood`
(REML/ML with analytic derivatives), :mod:`.fit` (Newton-Raphson), :mod:`.dof`
(Satterthwaite, Kenward-Roger, residual, between-within), :mod:`.robust` (sandwich),
:mod:`.model` (design, LS means, contrasts), :mod:`.type3` (F tests, SAS Type 3),
:mod:`.analysis` (change from baseline per visit on a cohort).
"""

from cohort.analysis.mmrm.analysis import MmrmResult, mmrm_analysis
from cohort.analysis.mmrm.covariance import STRUCTURES, make_structure
from cohort.analysis.mmrm.dof import DF_METHODS
from cohort.analysis.mmrm.fit import MmrmConvergenceError, MmrmFit, fit_covariance
from cohort.analysis.mmrm.model import MmrmModel, mmrm

__all__ = ["DF_METHODS", "STRUCTURES", "MmrmConvergenceError", "MmrmFit", "MmrmModel",
           "MmrmResult", "fit_covariance", "make_structure", "mmrm", "mmrm_analysis"]

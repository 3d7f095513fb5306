"""The registry of published studies: recipes for every published target and reproduce()."""

from cohort.studies.base import NotComputable, Reproduced
from cohort.studies.recipes import RECIPES
from cohort.studies.reproduce import ReproductionResult, reproduce, reproduce_cohort

__all__ = [
    "RECIPES",
    "NotComputable",
    "Reproduced",
    "ReproductionResult",
    "reproduce",
    "reproduce_cohort",
]

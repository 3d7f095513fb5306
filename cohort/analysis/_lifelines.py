"""The boundary to lifelines: its warnings translated into ours, its errors into messages.

lifelines' own warnings (ConvergenceWarning, StatisticalWarning, ...) and numpy's
RuntimeWarnings raised inside lifelines become :class:`cohort.errors.ConvergenceWarning`
(and notes on the result); its ``ConvergenceError`` becomes an :class:`AnalysisError` that
says what to check. Used by the survival modules only.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from cohort.errors import AnalysisError, ConvergenceWarning

__all__ = ["call_lifelines", "lifelines_warnings", "warn_at_caller"]

_T = TypeVar("_T")


def warn_at_caller(message: str, category: type[Warning]) -> None:
    """Warn at the first frame outside ``cohort.analysis`` (the user's call), whatever the depth.

    The survival functions call each other (``analyze_survival`` -> ``cox_ph`` -> lifelines),
    so no fixed ``stacklevel`` points at the user's line.
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and _internal(frame.f_globals.get("__name__", "")):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _internal(module: str) -> bool:
    return module == "contextlib" or module.startswith("cohort.analysis.")


@contextmanager
def lifelines_warnings(notes: list[str] | None = None) -> Iterator[None]:
    """Translate lifelines' warnings into ours; drop its pandas deprecation noise only.

    lifelines' own warnings (ConvergenceWarning, StatisticalWarning, ...) and numpy's
    RuntimeWarnings inside lifelines (overflow during Newton steps) are re-issued as
    :class:`cohort.errors.ConvergenceWarning` (and added to ``notes``). FutureWarning and
    DeprecationWarning raised from lifelines' modules concern lifelines' use of pandas/numpy,
    not the user's data: they are dropped, and nothing else is.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    seen: set[str] = set()
    for w in caught:
        from_lifelines = "lifelines" in str(w.filename)
        if w.category.__module__.startswith("lifelines") or (
                from_lifelines and issubclass(w.category, RuntimeWarning)):
            text = "lifelines: " + str(w.message).strip().split("\n")[0]
            if text not in seen:
                seen.add(text)
                if notes is not None:
                    notes.append(text)
                warn_at_caller(text, ConvergenceWarning)
        elif from_lifelines and issubclass(w.category, FutureWarning | DeprecationWarning):
            continue
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def call_lifelines(what: str, func: Callable[[], _T], notes: list[str] | None = None) -> _T:
    from lifelines.exceptions import ConvergenceError

    try:
        with lifelines_warnings(notes):
            return func()
    except ConvergenceError as exc:
        raise AnalysisError(f"{what} did not converge ({str(exc).splitlines()[0]}); too few "
                            "events, or a covariate that separates events from censorings") \
            from None


"""One command-line vocabulary: one name and one meaning per idea, across commands.

=========================  ===============================================================
``--param CODE``           the parameter analysed (case-insensitive: ``HBA1c`` is ``HBA1C``)
``--visit-days D[,D...]``  nominal study days of the visits (remission/predict: one day)
``--visit LABEL``          a visit by its label (repeatable)
``--window N``             visit-window half-width in days around each visit day
``--baseline-window L,U``  the baseline window, study days LOWER,UPPER
``--by NAME``              grouping: the arms, a derived subgroup or a subjects column
``--cut X``                cut point of a numeric ``--by`` column
``--covariate COL``        an extra model covariate (repeatable)
``--marker CODE``          a C-peptide marker of the remission rule (repeatable)
``--threshold PCT``        the remission rule's rise from baseline, in percent
``--dose-threshold N``     the dose-response threshold, in cells (total dose)
``--covariance TYPE``      the MMRM's covariance structure over visits (and
                           ``--covariance-by-arm``)
=========================  ===============================================================

Old spellings (``--covariates a,b``, ``--visit-day``, ``--group``, ``--subgroup``,
``--markers``, dose-response's ``--threshold``, mmrm's ``--cov`` and ``--cov-by-arm``) still
work as hidden aliases: absent from ``--help``, mapped by :func:`alias` onto the new name
(:data:`RENAMED` lists them; the README's table is checked against it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import typer

__all__ = ["RENAMED", "alias", "hidden", "parse_int_list", "parse_name_list", "parse_window",
           "resolve_code", "resolve_param", "resolve_visits", "split_names"]

RENAMED: dict[str, list[tuple[str, str]]] = {
    "analyze survival": [("--covariates A,B", "--covariate A --covariate B"),
                         ("--group / -g", "--by")],
    "analyze effect-modification": [("--subgroup", "--by")],
    "analyze remission": [("--subgroup", "--by"), ("--visit-day", "--visit-days"),
                          ("--markers A,B", "--marker A --marker B"),
                          ("--window LOWER,UPPER", "--window N (half-width)")],
    "analyze predict": [("--visit-day", "--visit-days"),
                        ("--markers A,B", "--marker A --marker B"),
                        ("--window LOWER,UPPER", "--window N (half-width)")],
    "analyze dose-response": [("--threshold", "--dose-threshold")],
    "analyze mmrm": [("--cov", "--covariance"), ("--cov-by-arm", "--covariance-by-arm")],
}
"""Every option renamed for one vocabulary: command -> [(old, new)]. The old spelling is a
hidden alias (``--window LOWER,UPPER``: the old value form, still accepted)."""

_INT = re.compile(r"^[-+]?\d+$")


def _bad(option: str, message: str) -> Exception:
    from cohort.errors import AnalysisError

    return AnalysisError(f"{option}: {message}")


def hidden(default: Any, *names: str, new: str) -> Any:
    """A hidden option: an old spelling of ``new`` that still works (not in ``--help``)."""
    return typer.Option(default, *names, hidden=True, case_sensitive=False,
                        help=f"Old name of {new}.")


def alias(new_value: Any, old_value: Any, *, new: str, old: str, default: Any = None) -> Any:
    """The value of an option given by its name or by its old one (a hidden alias).

    ``default`` is the new option's default: a value equal to it counts as not given. Giving
    both spellings with different values is an error naming both.
    """
    if old_value is None or old_value == [] or old_value is False:
        return new_value
    if new_value == default or new_value == [] or new_value is None:
        return old_value
    if new_value == old_value:
        return new_value
    raise _bad(new, f"given twice: as {new} and by its old name {old}; give {new} only")


def split_names(values: Sequence[str] | str | None) -> list[str]:
    """Repeated values, each of which may itself be comma-separated (``--covariates a,b``),
    as one list of names."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [part.strip() for v in values for part in str(v).split(",") if part.strip()]


def parse_int_list(text: str | None, option: str) -> list[int] | None:
    """Parse ``"56,84"`` into ``[56, 84]`` (None stays None).

    Raises
    ------
    AnalysisError
        For anything but comma-separated integers (the message names the option).
    """
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if not parts or any(not _INT.match(p) for p in parts):
        raise _bad(option, f"expected comma-separated whole numbers (e.g. 56,84), got {text!r}")
    return [int(p) for p in parts]


def parse_window(text: str, option: str) -> tuple[int, int]:
    """Parse ``"-90,0"`` into ``(-90, 0)``."""
    values = parse_int_list(text, option)
    if values is None or len(values) != 2:
        raise _bad(option, f"expected two whole numbers LOWER,UPPER (e.g. -90,0), got {text!r}")
    if values[0] > values[1]:
        raise _bad(option, f"LOWER must not be after UPPER, got {text!r}")
    return values[0], values[1]


def parse_name_list(text: str | None, option: str) -> list[str] | None:
    """Parse ``"placebo,low,high"`` into names (None stays None; empty names rejected)."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    if any(not p for p in parts):
        raise _bad(option, f"empty name in {text!r}; give comma-separated names")
    return parts


def resolve_code(value: str, codes: Iterable[Any]) -> str:
    """A code as the data spell it: ``value`` itself when it is one of ``codes``, else the one
    code equal to it ignoring case and surrounding spaces, else ``value`` unchanged (the
    analysis then says which codes there are)."""
    known = {str(c) for c in codes if c is not None and c == c}
    if value in known:
        return value
    folded = value.strip().casefold()
    matches = sorted(c for c in known if c.strip().casefold() == folded)
    return matches[0] if len(matches) == 1 else value


def resolve_param(value: str, cohort: Any) -> str:
    """A ``--param`` code as the cohort spells it, case-insensitively: the codes of its
    measurements and of the contract (with declared extras)."""
    codes: set[Any] = set()
    measurements = getattr(cohort, "measurements", None)
    if measurements is not None and "param" in measurements:
        # the distinct codes first: astype(str) of every row made 10M Python strings (0.7 GiB)
        codes |= {str(c) for c in measurements["param"].dropna().unique()}
    contract = getattr(cohort, "contract", None)
    if contract is not None:
        codes |= set(getattr(contract, "parameters", {}) or {})
    return resolve_code(value, codes)


def resolve_visits(labels: Sequence[str] | None, cohort: Any) -> list[str] | None:
    """``--visit`` labels as the data spell them, case-insensitively (``--visit "week 24"``
    is ``Week 24``); None when no label was given."""
    if not labels:
        return None
    measurements = getattr(cohort, "measurements", None)
    known: Iterable[Any] = ()
    if measurements is not None and "visit" in measurements:
        known = measurements["visit"].dropna().unique()
    known = list(known)
    return [resolve_code(str(label), known) for label in labels]

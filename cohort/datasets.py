"""The bundled study cohorts, ready to analyse: ``cohort.datasets.load("lu2021")``.

Each bundled study (``synthetic/<study>/``) holds a spec, the published numbers it is
modelled on, and a synthetic cohort drawn from it with the spec's seed. These are **not real
patients**: the spec marks every number as published (with its source) or assumed (with the
reason); :func:`available` lists the studies and :func:`cohort.spec.resolve_spec` gives a
study's spec.

The cohort is read and validated exactly like a user's own folder (:func:`cohort.load_cohort`,
with the study's declared extras), so an analysis that runs on it runs on yours.

Examples
--------
>>> from cohort import datasets
>>> len(datasets.available()), "lu2021" in set(datasets.available()["id"])
(9, True)
>>> lu = datasets.load("lu2021")
>>> lu.subjects["arm"].value_counts().to_dict()
{'UC-MSC': 27, 'standard care': 26}
"""

from __future__ import annotations

import warnings

import pandas as pd

from cohort.errors import CohortWarning, SpecError
from cohort.io.cohort import Cohort

__all__ = ["available", "load"]


def available() -> pd.DataFrame:
    """The bundled studies, one row each, sorted by id.

    Returns
    -------
    DataFrame
        ``id`` (the name :func:`load` takes), ``title``, ``diabetes_type`` (``T1D`` or
        ``T2D``), ``arms`` (number of subjects per arm, by the spec's arm names; the
        cohort's ``arm`` column holds their labels), ``n`` (subjects), ``targets``
        (published numbers the spec holds), ``seed`` (of the bundled cohort) and
        ``citation``.

    Examples
    --------
    >>> from cohort import datasets
    >>> datasets.available().set_index("id").loc["lu2021", ["diabetes_type", "n", "arms"]]
    diabetes_type                           T1D
    n                                        53
    arms             {'msc': 27, 'control': 26}
    Name: lu2021, dtype: object
    """
    from cohort.spec.registry import registered_studies

    rows = [{"id": e.id, "title": e.title, "diabetes_type": e.diabetes_type, "arms": e.arms,
             "n": sum(e.arms.values()), "targets": e.n_targets, "seed": e.seed,
             "citation": " ".join(e.citation.split())}
            for e in registered_studies()]
    return pd.DataFrame(rows, columns=["id", "title", "diabetes_type", "arms", "n", "targets",
                                       "seed", "citation"])


def load(name: str, *, seed: int | None = None) -> Cohort:
    """The synthetic cohort of a bundled study, validated against the data contract.

    Parameters
    ----------
    name : str
        A bundled study (an ``id`` of :func:`available`), e.g. ``"lu2021"``.
    seed : int or None, keyword-only
        None (default): the committed cohort (``synthetic/<study>/cohort``, drawn with the
        spec's seed). Another seed: a fresh cohort synthesised from the spec, written to a
        temporary folder and read back like any user folder (the folder is then removed).

    Returns
    -------
    Cohort
        Validated tables in canonical units (HbA1c %, glucose mmol/L, C-peptide nmol/L,
        insulin IU/kg/day, weight kg; times in study days).

    Raises
    ------
    SpecError
        If ``name`` is not a bundled study (the message lists them).

    Warns
    -----
    CohortWarning
        If the committed cohort was made from another version of its spec; the cohort is
        then synthesised afresh from the spec as it is now.

    Examples
    --------
    >>> from cohort import datasets
    >>> skyler = datasets.load("skyler2015")
    >>> skyler
    Cohort('.../synthetic/skyler2015/cohort': subjects=61, infusions=61, measurements=..., ...)
    >>> skyler.measurements.query("param == 'HBA1C'")["unit"].unique().tolist()
    ['%']
    >>> len(datasets.load("lu2021", seed=7).subjects)
    53
    """
    from cohort.spec.registry import registered_studies, resolve_spec
    from cohort.studies.reproduce import open_study_cohort

    names = [e.id for e in registered_studies()]
    if name not in names:
        raise SpecError(f"no bundled study named {name!r}: the bundled studies are "
                        f"{', '.join(names)} (see cohort.datasets.available())")
    spec, ref = resolve_spec(name)
    cohort, what, _, _ = open_study_cohort(spec, ref, seed=seed)
    if seed is None and "regenerated from the spec" in what:
        warnings.warn(f"{name}: {what}", CohortWarning, stacklevel=2)
    return cohort

"""Design matrices of logistic models: the outcome, predictor and population checks.

:func:`build_design` turns column names into a validated :class:`Design` (the linear models'
design matrix from :func:`cohort.analysis.linear_model.build_design`, numeric columns only, with
the 0/1 outcome and the subjects used and left out), raising
:class:`~cohort.errors.AnalysisError` with a message naming the problem. Also here: the column
readers (:func:`binary_outcome`, :func:`numeric_column`, :func:`subject_ids`) and
:func:`select_population` (all subjects or the treated arm only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from cohort.analysis.linear_model import INTERCEPT, first_dependent_column
from cohort.analysis.linear_model import Design as LinearDesign
from cohort.analysis.linear_model import build_design as build_linear_design
from cohort.errors import AnalysisError

__all__ = [
    "Design",
    "binary_outcome",
    "build_design",
    "numeric_column",
    "select_population",
    "subject_ids",
]


@dataclass(frozen=True)
class Design(LinearDesign):
    """A validated design for a logistic model: the linear models' design matrix
    (:class:`cohort.analysis.linear_model.Design`, numeric columns only) with the outcome and
    the subjects used and left out.

    Attributes
    ----------
    X, x : ndarray, shape (n, p)
        Design matrix; column 0 is the intercept (all ones). ``x`` is an alias of ``X``.
    names, terms : list of str
        Column names of ``X``: ``"(Intercept)"`` then the predictors (``terms`` is an alias).
    y : ndarray, shape (n,)
        Outcome, 0.0 or 1.0.
    ids : ndarray
        Subject identifiers of the rows used.
    exclusions : DataFrame
        Rows left out: ``subject_id``, ``reason``.

    ``factors`` and ``interactions`` are empty; ``numeric`` lists the predictors and ``means``
    their means (NaN for a predictor with missing values kept, ``missing="keep"``).
    """

    y: np.ndarray
    ids: np.ndarray
    exclusions: pd.DataFrame

    @property
    def x(self) -> np.ndarray:
        """The design matrix (``X``)."""
        return self.X

    @property
    def terms(self) -> list[str]:
        """Column names of the design matrix (``names``)."""
        return self.names

    @property
    def n(self) -> int:
        """Number of subjects used."""
        return int(self.y.size)

    @property
    def n_events(self) -> int:
        """Number of subjects with outcome 1."""
        return int(self.y.sum())


def binary_outcome(values: pd.Series, name: str) -> np.ndarray:
    """A 0/1 or boolean outcome column as floats 0.0/1.0 (NaN where missing).

    Any other value (text, 2, 0.5) raises :class:`~cohort.errors.AnalysisError`.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64").to_numpy(na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(values.dtype):
        raise AnalysisError(
            f"outcome {name!r} must be 0/1 or true/false; got values of type {values.dtype} "
            f"(e.g. {values.dropna().unique()[:3].tolist()}). Recode it as 0/1.")
    out = values.astype("float64").to_numpy(na_value=np.nan)
    bad = ~np.isnan(out) & (out != 0) & (out != 1)
    if bad.any():
        raise AnalysisError(
            f"outcome {name!r} must be 0 or 1; got {sorted(set(out[bad].tolist()))[:5]}. "
            "Recode it as 0/1 (1 = event, e.g. remission).")
    return out


def numeric_column(values: pd.Series, name: str) -> np.ndarray:
    """A numeric or boolean predictor column as floats (NaN where missing; True -> 1).

    Text columns raise :class:`~cohort.errors.AnalysisError` asking for a 0/1 encoding.
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        # booleans are indicators by definition: True -> 1, False -> 0
        return values.astype("float64").to_numpy(na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(values.dtype):
        example = values.dropna().unique()[:3].tolist()
        raise AnalysisError(
            f"predictor {name!r} is not numeric (values such as {example}); encode it as a "
            f"0/1 indicator column (e.g. male = sex == 'M') and pass that column instead.")
    return values.astype("float64").to_numpy(na_value=np.nan)


def subject_ids(frame: pd.DataFrame, id_col: str = "subject_id") -> np.ndarray:
    """Subject identifiers as text: the ``id_col`` column, or the row index when absent."""
    ids = frame[id_col] if id_col in frame.columns else frame.index.to_series()
    return ids.astype(str).to_numpy()


def select_population(frame: pd.DataFrame, population: Literal["all", "treated"], *,
                      id_col: str = "subject_id", control_col: str = "control"
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows a model is fitted on, and the subjects left out with the reason.

    Parameters
    ----------
    frame : DataFrame
        One row per subject.
    population : {"all", "treated"}
        ``"treated"`` drops the rows whose ``control_col`` is True (missing counts as not a
        control), e.g. to estimate a dose effect; ``"all"`` keeps every row.
    id_col, control_col : str
        Subject identifier (the row index when absent) and control-arm indicator columns.

    Returns
    -------
    (frame, exclusions) : (DataFrame, DataFrame)
        ``exclusions`` has ``subject_id`` and ``reason`` (empty for ``"all"``).

    Raises
    ------
    AnalysisError
        An unknown ``population``, no ``control_col`` column, or only controls.
    """
    none = pd.DataFrame(columns=["subject_id", "reason"])
    if population not in ("all", "treated"):
        raise AnalysisError(f"population must be 'all' or 'treated', got {population!r}")
    if population == "all":
        return frame, none
    if control_col not in frame.columns:
        raise AnalysisError(f"population='treated' needs the control-arm column "
                            f"{control_col!r}, which is not in the data")
    control = frame[control_col].astype("boolean").fillna(False).to_numpy(dtype=bool)
    excluded = pd.DataFrame({"subject_id": subject_ids(frame, id_col)[control],
                             "reason": "control arm (population='treated')"})
    if control.all():
        raise AnalysisError("population='treated' leaves no subjects: every row is a control")
    return frame.loc[~control], excluded


def _dependent_column(x: np.ndarray, terms: list[str]) -> tuple[str, list[str]] | None:
    """The first column that is a linear combination of earlier ones, with those columns."""
    # scaled to a common size so that the rank tolerance does not depend on the units
    scaled = x / np.maximum(np.abs(x).max(axis=0), 1e-300)
    k = first_dependent_column(scaled, tol=1e-9 * x.shape[0])
    if k is None:
        return None
    coef, *_ = np.linalg.lstsq(scaled[:, :k], scaled[:, k], rcond=None)
    return terms[k], [terms[i] for i in range(k) if abs(coef[i]) > 1e-8]


def build_design(frame: pd.DataFrame, outcome: str, predictors: list[str], *,
                 id_col: str = "subject_id",
                 missing: Literal["exclude", "keep"] = "exclude") -> Design:
    """Build and check the design of a logistic model from column names.

    Rows with a missing outcome are excluded; so are rows with a missing predictor unless
    ``missing="keep"`` (for prediction pipelines, which impute inside resampling). Each
    excluded row is listed with its reason. The checks raise
    :class:`~cohort.errors.AnalysisError` with a message naming the problem: unknown or
    non-numeric columns, a predictor missing for everyone, no events or only events, a
    constant predictor, predictors that are linear combinations of others, or no more
    subjects than coefficients.

    Parameters
    ----------
    frame : DataFrame
        One row per subject.
    outcome : str
        Binary outcome column (0/1 or bool; 1 = event).
    predictors : list of str
        Numeric or boolean predictor columns, each in the unit its name states.
    id_col : str
        Subject identifier column (the row index is used when absent).
    missing : {"exclude", "keep"}
        What to do with rows whose predictors are incomplete (outcome missing: always
        excluded). With ``"keep"``, ``x`` holds NaN for the missing values.
    """
    predictors = list(predictors)
    missing_cols = [c for c in [outcome, *predictors] if c not in frame.columns]
    if missing_cols:
        raise AnalysisError(
            f"column(s) {missing_cols} not found; available: {sorted(map(str, frame.columns))}")
    if len(set(predictors)) != len(predictors):
        raise AnalysisError(f"predictors are listed twice: {predictors}")
    if outcome in predictors:
        raise AnalysisError(f"the outcome {outcome!r} is also listed as a predictor")
    if INTERCEPT in predictors:
        raise AnalysisError(f"{INTERCEPT!r} is added automatically; do not list it")
    ids = subject_ids(frame, id_col)
    y = binary_outcome(frame[outcome], outcome)
    cols = {p: numeric_column(frame[p], p) for p in predictors}
    for p, v in cols.items():
        if np.isnan(v).all():
            raise AnalysisError(
                f"predictor {p!r} is missing for all {len(v)} subjects; drop it from the "
                "model or check how it was derived")
    reasons = np.full(len(frame), "", dtype=object)
    reasons[np.isnan(y)] = f"outcome {outcome} missing"
    if missing == "exclude":
        for p, v in cols.items():
            todo = (reasons == "") & np.isnan(v)
            reasons[todo] = f"predictor {p} missing"
    keep = reasons == ""
    exclusions = pd.DataFrame({"subject_id": ids[~keep], "reason": reasons[~keep]})
    y = y[keep]
    n = int(keep.sum())
    n_events = int(y.sum()) if n else 0
    if n == 0:
        raise AnalysisError(f"no subject has a complete outcome and predictors "
                            f"({len(frame)} rows, all excluded); check the inputs")
    if n_events == 0:
        raise AnalysisError(
            f"no events: all {n} subjects have {outcome} = 0, so there is nothing to model; "
            "check the outcome definition (e.g. the remission threshold or visit window)")
    if n_events == n:
        raise AnalysisError(
            f"all {n} subjects have {outcome} = 1 (no non-events), so there is nothing to "
            "model; check the outcome definition")
    base = build_linear_design(
        pd.DataFrame({p: cols[p][keep] for p in predictors}, index=pd.RangeIndex(n)),
        factors={}, numeric=predictors)
    x, terms = base.X, base.names
    for k, p in enumerate(predictors, start=1):
        observed = x[~np.isnan(x[:, k]), k]
        if observed.size == 0:
            raise AnalysisError(
                f"predictor {p!r} is missing for every subject with a known outcome; drop it")
        if np.ptp(observed) == 0:
            raise AnalysisError(
                f"predictor {p!r} is constant ({observed[0]:g} for all {observed.size} "
                "subjects analysed); it carries no information: drop it")
    if n <= len(terms):
        raise AnalysisError(
            f"{n} subjects for {len(terms)} coefficients: a model needs more subjects than "
            "coefficients; use fewer predictors")
    complete = ~np.isnan(x).any(axis=1)
    dep = _dependent_column(x[complete], terms) if complete.sum() > len(terms) else None
    if dep is not None:
        raise AnalysisError(
            f"predictor {dep[0]!r} is a linear combination of {dep[1]} (collinear); its "
            "effect cannot be separated from theirs: drop one of them")
    return Design(**vars(base), y=y, ids=ids[keep], exclusions=exclusions)

"""Apply a published or saved logistic model to a local cohort: external validation.

A model is stored as **JSON or YAML** (never pickle: a model file is data, not code): intercept,
and for each predictor its coefficient, the unit the coefficient is per, and the column of the
local data it is computed from, with an optional transform (``log``, ``log10``, ``log2``,
``sqrt``; looked up in a fixed table, never evaluated) and centring value. Units are converted
before the model is applied (C-peptide nmol/L <-> pmol/L <-> ng/mL, HbA1c % <-> mmol/mol, glucose
mmol/L <-> mg/dL, cell doses cells/kg <-> 10^6 cells/kg, ...), so a model published with
C-peptide in pmol/L applies to a cohort stored in nmol/L.

Example (YAML)::

    name: remission-model
    citation: "Development cohort, n = 27, 11 events"
    outcome: "C-peptide remission at 1 year (rise >= 10% in fasting and/or postprandial)"
    intercept: 2.2
    predictors:
      - name: baseline fasting C-peptide
        column: baseline_cpep_fast_nmol_l
        unit: pmol/L
        coefficient: -0.0123
      - name: cumulative dose
        column: dose_1e6_cells_per_kg
        unit: 10^6 cells/kg
        coefficient: 1.03

:func:`external_validation` reports discrimination (AUC with DeLong interval, as R's pROC),
Brier score, calibration-in-the-large (``a`` in ``logit P(y) = a + offset(lp)``), calibration
slope (``b`` in ``logit P(y) = a + b lp``), the observed/expected ratio, and the model
**recalibrated in the large** (intercept + a) and by logistic recalibration (a + b lp).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy import special, stats

from cohort.analysis.logistic_design import (
    binary_outcome,
    numeric_column,
    select_population,
    subject_ids,
)
from cohort.analysis.logistic_fit import fit_ml
from cohort.analysis.prediction import calibration_table, roc_table
from cohort.analysis.result import AnalysisResult, json_safe
from cohort.errors import AnalysisError, SpecError
from cohort.io.files import UnreadableFileError, read_file_bytes
from cohort.io.yaml_safe import MAX_BYTES, decode_text, load_yaml_text
from cohort.units import CONVERSIONS, canonical_spelling

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "ExternalValidationResult",
    "ModelSpec",
    "PredictorSpec",
    "auc_delong",
    "convert_unit",
    "external_validation",
    "linear_predictor",
    "load_model",
    "save_model",
]

_TRANSFORMS = {"none": lambda v: v, "log": np.log, "log10": np.log10, "log2": np.log2,
               "sqrt": np.sqrt}

# count units of cell doses: (dimension, multiplier to the base unit)
_COUNT_UNITS: dict[str, tuple[str, float]] = {
    "cells/kg": ("cells/kg", 1.0), "10^6 cells/kg": ("cells/kg", 1e6),
    "1e6 cells/kg": ("cells/kg", 1e6), "10^8 cells/kg": ("cells/kg", 1e8),
    "cells": ("cells", 1.0), "10^6 cells": ("cells", 1e6), "1e6 cells": ("cells", 1e6),
    "10^8 cells": ("cells", 1e8), "10^9 cells": ("cells", 1e9), "1e9 cells": ("cells", 1e9),
    "years": ("years", 1.0), "months": ("years", 1.0 / 12.0),
    "kg/m2": ("kg/m2", 1.0),
}
_DIMENSIONLESS = {"1", "", "none", "indicator"}


class PredictorSpec(BaseModel):
    """One predictor of a stored model."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Label of the predictor as published.")
    column: str = Field(description="Column of the local data it is computed from.")
    coefficient: float = Field(description="Log odds ratio per unit (after transform).")
    unit: str = Field(default="1", description="Unit the coefficient refers to.")
    transform: Literal["none", "log", "log10", "log2", "sqrt"] = "none"
    center: float = Field(default=0.0, description="Subtracted after the transform.")
    definition: str = ""


class ModelSpec(BaseModel):
    """A logistic model: ``logit P(event) = intercept + sum(coef * (f(x) - center))``."""

    model_config = ConfigDict(extra="forbid")

    name: str
    intercept: float
    predictors: list[PredictorSpec] = Field(min_length=1)
    outcome: str = ""
    citation: str = ""
    method: str = ""
    link: Literal["logit"] = "logit"
    n_development: int | None = None
    n_events_development: int | None = None
    notes: str = ""


def load_model(path: str | Path) -> ModelSpec:
    """Read a model from a ``.json``, ``.yaml`` or ``.yml`` file.

    Raises
    ------
    SpecError
        Unreadable file, wrong suffix, or content that is not a valid model (the message names
        the offending key).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise SpecError(f"model file {path}: use a .json, .yaml or .yml file (models are "
                        "stored as data, never pickled)")
    if not path.exists() and not path.is_symlink():
        raise SpecError(f"model file {path} does not exist")
    try:
        data = read_file_bytes(path, "model file", max_bytes=MAX_BYTES)
    except UnreadableFileError as exc:
        raise SpecError(str(exc)) from None
    text = decode_text(data, f"model file {path}", SpecError)
    if suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"model file {path} is not valid JSON: {exc}") from None
    else:
        raw = load_yaml_text(text, source=f"model file {path}", error=SpecError)
    return _validate(raw, str(path))


def _validate(raw: Any, where: str) -> ModelSpec:
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: a model must be a mapping with name, intercept and "
                        f"predictors; got {type(raw).__name__}")
    try:
        return ModelSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors())
        raise SpecError(f"{where}: invalid model: {problems}") from None


def save_model(model: ModelSpec | dict[str, Any], path: str | Path) -> Path:
    """Write a model as JSON (``.json``) or YAML (``.yaml``/``.yml``), atomically."""
    from cohort.io.write import atomic_write_text

    spec = model if isinstance(model, ModelSpec) else _validate(model, "model")
    path = Path(path)
    data = spec.model_dump()
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(data, indent=2) + "\n"
    elif suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(data, sort_keys=False)
    else:
        raise SpecError(f"{path}: save models as .json, .yaml or .yml (never pickle)")
    atomic_write_text(path, text)
    return path


def _norm(unit: str) -> str:
    u = unit.strip()
    return canonical_spelling(u) or u


def convert_unit(values: np.ndarray, from_unit: str, to_unit: str) -> np.ndarray:
    """Convert ``values`` between two units of the same quantity.

    Measurement units use the contract's conversions (:mod:`cohort.units`), through the
    canonical unit (e.g. nmol/L -> pmol/L); cell doses and durations use fixed multipliers.

    Raises
    ------
    SpecError
        The units measure different things or are unknown.
    """
    src, dst = _norm(from_unit), _norm(to_unit)
    values = np.asarray(values, dtype=float)
    if src == dst or (src.lower() in _DIMENSIONLESS and dst.lower() in _DIMENSIONLESS):
        return values
    if src in _COUNT_UNITS and dst in _COUNT_UNITS:
        (d1, m1), (d2, m2) = _COUNT_UNITS[src], _COUNT_UNITS[dst]
        if d1 == d2:
            return values * (m1 / m2)
    canon_src = {t for (f, t) in CONVERSIONS if f == src}
    canon_dst = {t for (f, t) in CONVERSIONS if f == dst}
    common = canon_src & canon_dst
    if common:
        canonical = common.pop()
        conv_in, conv_out = CONVERSIONS[(src, canonical)], CONVERSIONS[(dst, canonical)]
        if not conv_in.per_body_weight and not conv_out.per_body_weight:
            return conv_out.inverse(conv_in.apply(values))
    raise SpecError(f"cannot convert {from_unit!r} to {to_unit!r}: not units of the same "
                    "quantity (known: C-peptide nmol/L, pmol/L, ng/mL; HbA1c %, mmol/mol; "
                    "glucose mmol/L, mg/dL; doses cells/kg, 10^6 cells/kg, cells, 10^9 cells)")


def linear_predictor(model: ModelSpec, frame: pd.DataFrame, *,
                     units: dict[str, str] | None = None) -> np.ndarray:
    """The model's linear predictor (log odds) for each row of ``frame``.

    Parameters
    ----------
    model : ModelSpec
        The stored model.
    frame : DataFrame
        Local data with each predictor's ``column``.
    units : dict, optional
        Unit of each local column; default :data:`cohort.derive.remission_dataset.PREDICTOR_UNITS`
        (the columns of the remission data set). A column missing from both must have the
        unit the model states, and is taken as such.

    Returns
    -------
    ndarray
        NaN where a predictor is missing or outside the transform's domain (e.g. log of 0).
    """
    from cohort.derive.remission_dataset import PREDICTOR_UNITS

    known = {**PREDICTOR_UNITS, **(units or {})}
    lp = np.full(len(frame), float(model.intercept))
    for p in model.predictors:
        if p.column not in frame.columns:
            raise AnalysisError(f"model predictor {p.name!r} needs column {p.column!r}, which "
                                f"is not in the data; columns: {sorted(map(str, frame.columns))}")
        values = numeric_column(frame[p.column], p.column)
        local = known.get(p.column, p.unit)
        values = convert_unit(values, local, p.unit)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = _TRANSFORMS[p.transform](values)
        values = np.where(np.isfinite(values), values, np.nan)
        lp = lp + p.coefficient * (values - p.center)
    return lp


def auc_delong(y: np.ndarray, score: np.ndarray, *, conf_level: float = 0.95
               ) -> tuple[float, float, float, float]:
    """AUC with DeLong's standard error and interval (as R's ``pROC::ci.auc``).

    Returns ``(auc, se, lower, upper)``; the interval is ``auc +/- z se`` clipped to [0, 1].
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    pos, neg = s[y == 1], s[y == 0]
    m, n = pos.size, neg.size
    if m == 0 or n == 0:
        raise AnalysisError("the AUC needs subjects with and without the event")
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = float(psi.mean())
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1
                                                        else 0.0)
    se = math.sqrt(var)
    z = stats.norm.ppf(0.5 + conf_level / 2)
    return auc, se, max(0.0, auc - z * se), min(1.0, auc + z * se)


@dataclass
class ExternalValidationResult(AnalysisResult):
    """External validation of a stored model.

    ``summary``: one row per measure with ``metric``, ``estimate``, ``ci_lower``,
    ``ci_upper``, ``n``, ``n_events``, ``n_excluded``. Measures: ``auc`` (DeLong interval),
    ``brier``, ``calibration_intercept`` (calibration-in-the-large, Wald interval; 0 ideal),
    ``calibration_slope`` (Wald interval; 1 ideal), ``observed_expected`` (events / sum of
    predicted risks; interval from the Poisson variance of the events), ``mean_predicted``,
    ``observed_rate``.

    ``recalibrated``: the model with its intercept updated in the large (``intercept + a``)
    and by logistic recalibration (``a + b lp``): ``method``, ``intercept``, ``slope``
    (multiplier of the original linear predictor), ``mean_predicted``.
    ``roc`` and ``calibration``: tables for the figures.
    ``predictions``: ``subject_id``, ``outcome``, ``lp``, ``predicted``,
    ``predicted_recalibrated`` (in the large).
    """

    recalibrated: pd.DataFrame = field(default_factory=pd.DataFrame)
    roc: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: base keys plus ``recalibrated``, ``roc``, ``calibration``."""
        out = super().to_dict()
        for key in ("recalibrated", "roc", "calibration"):
            out[key] = json_safe(getattr(self, key))
        return out

    def plot(self, *, ax: Axes | None = None, kind: str = "roc", **kwargs: Any) -> Axes:
        """ROC curves (``kind="roc"``), calibration (``"calibration"``) or, for
        cross-validated models, decision curves (``"decision"``)
        (:mod:`cohort.report.figures.prediction`)."""
        from cohort.report.figures.prediction import plot_prediction

        return plot_prediction(self, kind=kind, ax=ax, **kwargs)


def external_validation(model: ModelSpec | str | Path, frame: pd.DataFrame, *,
                        outcome: str = "remission", units: dict[str, str] | None = None,
                        id_col: str = "subject_id", conf_level: float = 0.95,
                        n_bins: int = 5, population: Literal["all", "treated"] = "all",
                        control_col: str = "control") -> ExternalValidationResult:
    """Discrimination and calibration of a stored model on local data.

    Parameters
    ----------
    model : ModelSpec or path
        The model, or a JSON/YAML file holding it.
    frame : DataFrame
        One row per subject with the outcome (0/1 or bool) and the predictor columns.
    outcome : str
        Outcome column.
    units : dict, optional
        Units of the local columns (see :func:`linear_predictor`).
    conf_level : float
        Confidence level of the intervals.
    n_bins : int
        Bins of the calibration table.
    population : {"all", "treated"}
        Validate on every subject, or on the treated subjects only (rows whose
        ``control_col`` is True are left out and listed in ``exclusions``), as
        :func:`cohort.analysis.prediction.evaluate_prediction` does for the same option.
    control_col : str
        Control-arm indicator column (needed for ``population="treated"``).
    """
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    frame, left_out = select_population(frame, population, id_col=id_col,
                                        control_col=control_col)
    if outcome not in frame.columns:
        raise AnalysisError(f"outcome column {outcome!r} not found; columns: "
                            f"{sorted(map(str, frame.columns))}")
    ids = subject_ids(frame, id_col)
    y_all = binary_outcome(frame[outcome], outcome)
    lp_all = linear_predictor(spec, frame, units=units)
    reason = np.where(np.isnan(y_all), f"outcome {outcome} missing",
                      np.where(np.isnan(lp_all), "a model predictor is missing (or outside "
                               "its transform's domain)", ""))
    keep = reason == ""
    exclusions = pd.concat([left_out.astype(object),
                            pd.DataFrame({"subject_id": ids[~keep], "reason": reason[~keep]})],
                           ignore_index=True)
    y, lp = y_all[keep], lp_all[keep]
    n, n_events = int(y.size), int(y.sum())
    if n == 0:
        raise AnalysisError("no subject has both the outcome and every model predictor")
    if n_events in (0, n):
        raise AnalysisError(f"{'no' if n_events == 0 else 'every'} subject has the event "
                            f"({n_events}/{n}); discrimination and calibration need both "
                            "outcomes")
    p = special.expit(lp)
    z = stats.norm.ppf(0.5 + conf_level / 2)
    auc, _, auc_lo, auc_hi = auc_delong(y, lp, conf_level=conf_level)
    # Wald intervals from statsmodels; separation or non-convergence becomes a note below
    citl_fit = fit_ml(np.ones((n, 1)), y, offset=lp, max_iter=200, warn=False)
    cal_fit = fit_ml(np.column_stack([np.ones(n), lp]), y, max_iter=200, warn=False)
    citl, cal = citl_fit.coef, cal_fit.coef
    citl_ci = citl_fit.wald(1 - conf_level)
    cal_ci = cal_fit.wald(1 - conf_level)
    expected = float(p.sum())
    oe = n_events / expected
    oe_lo, oe_hi = oe * math.exp(-z / math.sqrt(n_events)), oe * math.exp(z / math.sqrt(n_events))
    rows = [
        ("auc", auc, auc_lo, auc_hi),
        ("brier", float(np.mean((y - p) ** 2)), np.nan, np.nan),
        ("calibration_intercept", citl[0], citl_ci["ci_lower_wald"][0],
         citl_ci["ci_upper_wald"][0]),
        ("calibration_slope", cal[1], cal_ci["ci_lower_wald"][1], cal_ci["ci_upper_wald"][1]),
        ("observed_expected", oe, oe_lo, oe_hi),
        ("mean_predicted", float(p.mean()), np.nan, np.nan),
        ("observed_rate", n_events / n, np.nan, np.nan),
    ]
    summary = pd.DataFrame(rows, columns=["metric", "estimate", "ci_lower", "ci_upper"])
    summary["n"], summary["n_events"], summary["n_excluded"] = n, n_events, len(exclusions)
    p_large = special.expit(lp + citl[0])
    recal = pd.DataFrame([
        {"method": "original", "intercept": spec.intercept, "slope": 1.0,
         "mean_predicted": float(p.mean())},
        {"method": "recalibration in the large", "intercept": spec.intercept + citl[0],
         "slope": 1.0, "mean_predicted": float(p_large.mean())},
        {"method": "logistic recalibration", "intercept": cal[0] + cal[1] * spec.intercept,
         "slope": cal[1],
         "mean_predicted": float(special.expit(cal[0] + cal[1] * lp).mean())},
    ])
    notes = []
    if not all(f.converged and not f.perfect_prediction for f in (citl_fit, cal_fit)):
        notes.append("a calibration fit did not converge (the linear predictor separates the "
                     "outcomes): its interval is unreliable")
    if min(n_events, n - n_events) < 100:
        notes.append(f"{min(n_events, n - n_events)} events (or non-events): external "
                     "validation studies need at least 100 for precise calibration "
                     "(Vergouwe et al. 2005); read the intervals")
    predictions = pd.DataFrame({"subject_id": ids[keep], "outcome": y.astype(int), "lp": lp,
                                "predicted": p, "predicted_recalibrated": p_large})
    params = {"model": spec.name, "outcome": outcome, "conf_level": conf_level,
              "citation": spec.citation, "population": population}
    return ExternalValidationResult(
        summary=summary, exclusions=exclusions, params=params, notes=notes, recalibrated=recal,
        roc=roc_table(y, p), calibration=calibration_table(y, p, n_bins),
        predictions=predictions)

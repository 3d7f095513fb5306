"""Table 1: baseline characteristics by arm and overall.

Numeric variables: n, missing, mean (SD), median (IQR: R's default type-7 quantiles), min,
max. Categorical variables: n (%) per level, percentages of the non-missing values, and the
missing count. Standardised mean differences (SMD) of each arm against the reference arm:
numeric ``|m1 - m2| / sqrt((s1^2 + s2^2) / 2)``; binary ``|p1 - p2| / sqrt((p1 (1 - p1) +
p2 (1 - p2)) / 2)``; more levels: the multivariate SMD of Yang & Dalton (2012), which is what R's
``tableone`` reports. SMDs are absolute values, as in ``tableone``.

By default the table holds the demographic columns of the subjects table and the baseline of
HbA1c (last value on or before day 0, see :mod:`cohort.derive.baseline`).

Each variable carries what a publication table needs (gtsummary's defaults, decided here
once, printed by :mod:`cohort.analysis.table1_display`): a ``label`` and ``unit`` from the
contract (declared extras included), a ``statistic`` (``mean_sd`` for a roughly symmetric
variable, ``median_iqr`` for a skewed one -- adjusted sample skewness of the pooled values
``|G1| >= 1`` --, ``n_pct`` for a categorical one; overridable) and ``digits`` (the decimals the
unit is measured to, :data:`cohort.analysis.format.UNIT_DECIMALS`; overridable).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cohort.analysis._common import censored_notes
from cohort.analysis.format import UNIT_DECIMALS, decimals_for
from cohort.analysis.result import AnalysisResult
from cohort.derive.baseline import DEFAULT_BASELINE_WINDOW, baseline_values
from cohort.derive.visit_labels import flagged_baseline, has_visit_labels
from cohort.errors import AnalysisError

if TYPE_CHECKING:
    from cohort.contract import Contract

__all__ = ["DEFAULT_VARIABLES", "STATISTICS", "Table1Result", "smd_categorical", "smd_numeric",
           "table1"]

STATISTICS = ("mean_sd", "median_iqr")
"""Statistics a numeric variable may be summarised with (``statistics=`` of :func:`table1`)."""
SKEW_LIMIT = 1.0
"""|adjusted skewness| from which a numeric variable is summarised by median [IQR]."""

DEFAULT_VARIABLES: dict[str, str] = {
    "age_years": "years", "sex": "", "bmi_kg_m2": "kg/m2", "weight_kg": "kg",
    "height_cm": "cm", "diabetes_duration_years": "years", "age_at_diagnosis_years": "years",
}
"""Subjects columns summarised by default (when present and not all missing), with units."""

PARAM_UNITS = {"HBA1C": "%", "FPG": "mmol/L", "PPG": "mmol/L", "CPEP_FAST": "nmol/L",
               "CPEP_PP": "nmol/L", "CPEP_AUC": "nmol/L*min", "INSULIN_DOSE": "IU/kg/day",
               "WEIGHT": "kg"}
OVERALL = "overall"


def smd_numeric(x1: np.ndarray, x2: np.ndarray) -> float:
    """Absolute SMD of two numeric samples (pooled SD with equal weights).

    Parameters
    ----------
    x1, x2 : ndarray
        Values without missing ones.
    """
    if len(x1) < 2 or len(x2) < 2:
        return math.nan
    pooled = math.sqrt((np.var(x1, ddof=1) + np.var(x2, ddof=1)) / 2)
    if pooled == 0:
        return 0.0 if np.mean(x1) == np.mean(x2) else math.inf
    return abs(float(np.mean(x1) - np.mean(x2))) / pooled


def smd_categorical(p1: np.ndarray, p2: np.ndarray) -> float:
    """Absolute SMD of two categorical distributions (Yang & Dalton 2012).

    Parameters
    ----------
    p1, p2 : ndarray
        Level proportions (each summing to 1) over the same levels.
    """
    p1, p2 = np.asarray(p1, float), np.asarray(p2, float)
    if len(p1) < 2:
        return 0.0
    # drop the first level: the covariance of all k proportions is singular
    d = p1[1:] - p2[1:]

    def cov(p: np.ndarray) -> np.ndarray:
        return np.diag(p) - np.outer(p, p)

    s = (cov(p1[1:]) + cov(p2[1:])) / 2
    if not d.any():
        return 0.0
    try:
        return float(math.sqrt(max(float(d @ np.linalg.solve(s, d)), 0.0)))
    except np.linalg.LinAlgError:
        return math.nan


@dataclass
class Table1Result(AnalysisResult):
    """Baseline characteristics by group.

    ``summary`` columns (one row per variable, level and group): ``variable``, ``unit``,
    ``level`` (categorical level; empty for numeric), ``group`` (an arm or ``"overall"``),
    ``n`` (subjects with a value), ``missing``, ``mean``, ``sd``, ``median``, ``q1``, ``q3``,
    ``min``, ``max`` (numeric), ``count``, ``percent`` (categorical; percent of ``n``),
    ``smd`` (absolute SMD of the group vs the reference group, on the first row of each
    variable; NaN for the reference and overall).
    """

    def formatted(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The table as printed (:meth:`to_wide`); ``columns`` selects among its columns."""
        wide = self.to_wide()
        return wide if not columns else wide[[c for c in columns if c in wide.columns]]

    def to_wide(self, *, digits: int | None = None) -> pd.DataFrame:
        """The table as a paper prints it (gtsummary's layout), formatted strings.

        Columns: ``Characteristic``, one per group headed ``<group> (N = n)``, and the SMD of
        each group against the reference (``SMD`` with two groups). Rows: per variable, its
        label, unit and statistic (``Age (years), mean (SD)``); levels of a categorical
        variable and its ``Missing`` count indented beneath.

        Parameters
        ----------
        digits : int or None, keyword-only
            Decimals of every numeric statistic; default each variable's own ``digits``.
        """
        from cohort.analysis.table1_display import wide_table

        return wide_table(self, digits=digits)


def table1(subjects: pd.DataFrame, measurements: pd.DataFrame | None = None, *,
           by: str = "arm", variables: Sequence[str] | None = None,
           baseline_params: Sequence[str] = ("HBA1C",),
           baseline_window: tuple[int, int] = DEFAULT_BASELINE_WINDOW,
           overall: bool = True, reference: str | None = None,
           labels: Mapping[str, str] | None = None,
           statistics: Mapping[str, str] | None = None,
           digits: Mapping[str, int] | None = None,
           hba1c_unit: Literal["%", "mmol/mol", "both"] = "%",
           contract: Contract | None = None) -> Table1Result:
    """Baseline characteristics by group and overall, with SMDs.

    Parameters
    ----------
    subjects : DataFrame
        Subjects table.
    measurements : DataFrame or None
        Measurements table, for baseline values of ``baseline_params``.
    by : str, keyword-only
        Grouping column of the subjects table (default ``"arm"``).
    variables : sequence of str or None, keyword-only
        Subjects columns to summarise; default :data:`DEFAULT_VARIABLES` that the cohort
        has (not all missing). Numeric columns are summarised as numbers, others as levels.
    baseline_params : sequence of str, keyword-only
        Parameters whose baseline (last value on or before day 0 in ``baseline_window``) is
        added, e.g. ``("HBA1C", "CPEP_FAST")``; those absent from the cohort are skipped
        with a note.
    baseline_window : (int, int), keyword-only
    overall : bool, keyword-only
        Add the ``"overall"`` group.
    reference : str or None, keyword-only
        Reference group for SMDs; default: the control arm when ``by="arm"`` and there is
        exactly one, else the first group by name.
    labels : mapping of str to str or None, keyword-only
        Printed labels by variable name (``"baseline HBA1C"`` for a baseline); default from
        the contract's descriptions (declared extras: their ``label``).
    statistics : mapping of str to str or None, keyword-only
        ``"mean_sd"`` or ``"median_iqr"`` by numeric variable; default by skewness.
    digits : mapping of str to int or None, keyword-only
        Decimals by variable; default from its unit, else three significant digits.
    hba1c_unit : {"%", "mmol/mol", "both"}, keyword-only
        Unit(s) of the HbA1c baseline (mmol/mol = 10.929 x (% - 2.15), IFCC).
    contract : Contract or None, keyword-only
        Contract (with the cohort's declared extras) for labels and units; default the
        packaged one.

    Returns
    -------
    Table1Result

    Examples
    --------
    >>> from cohort import datasets
    >>> from cohort.analysis.table1 import table1
    >>> lu = datasets.load("lu2021")
    >>> t1 = table1(lu.subjects, lu.measurements, baseline_params=["HBA1C"])
    >>> t1.summary["variable"].unique().tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['age_years', 'sex', 'bmi_kg_m2', 'weight_kg', 'height_cm', 'diabetes_duration_years',
     'age_at_diagnosis_years', 'baseline HBA1C']
    """
    if by not in subjects.columns:
        raise AnalysisError(f"the subjects table has no column {by!r} to group by")
    data = subjects.copy()
    data["subject_id"] = data["subject_id"].astype(str)
    if hba1c_unit not in ("%", "mmol/mol", "both"):
        raise AnalysisError(f"hba1c_unit must be '%', 'mmol/mol' or 'both', got {hba1c_unit!r}")
    if contract is None:
        from cohort.contract import load_contract

        contract = load_contract()
    columns = {c.name: c for c in contract["subjects"].columns}
    notes: list[str] = []
    units: dict[str, str] = {}
    auto_labels: dict[str, str] = {}
    if variables is None:
        variables = [v for v in DEFAULT_VARIABLES if v in data and data[v].notna().any()]
    else:
        unknown = [v for v in variables if v not in data.columns]
        if unknown:
            raise AnalysisError(f"the subjects table has no column(s) {unknown}")
    for v in variables:
        spec = columns.get(v)
        units[v] = (spec.unit if spec is not None and spec.unit else
                    DEFAULT_VARIABLES.get(v, ""))
        auto_labels[v] = (v if spec is None or spec.description.endswith("(declared extra).")
                          else spec.description if spec.extra else _label(spec.description))
    variables = list(variables)
    if measurements is not None:
        notes += censored_notes(measurements, list(baseline_params))
        params = contract.parameters
        for p in baseline_params:
            if not (measurements["param"] == p).any():
                notes.append(f"baseline {p}: no {p} measurements in the cohort")
                continue
            if has_visit_labels(measurements, p):
                # the data say which record is the baseline (ADaM ABLFL): no window
                b = flagged_baseline(measurements, p, subjects=data)
                notes.append(f"baseline {p}: the record flagged as baseline (ABLFL)")
            else:
                b = baseline_values(measurements, p, window=baseline_window, subjects=data)
            spec_p = params.get(p)
            unit = spec_p.unit if spec_p is not None else PARAM_UNITS.get(p, "")
            label = "Baseline " + _lower_first(_label(spec_p.description)) \
                if spec_p is not None else f"baseline {p}"
            shown: list[tuple[str, str, pd.Series]] = []
            if p == "HBA1C" and unit == "%" and hba1c_unit != "%":
                from cohort.units import hba1c_percent_to_mmol_mol

                mmol = pd.Series(hba1c_percent_to_mmol_mol(b["baseline"].to_numpy(float)),
                                 index=b.index)
                if hba1c_unit == "both":
                    shown.append((f"baseline {p}", unit, b["baseline"]))
                shown.append((f"baseline {p} (mmol/mol)", "mmol/mol", mmol))
            else:
                shown.append((f"baseline {p}", unit, b["baseline"]))
            for name, u, values in shown:
                data = data.merge(pd.DataFrame({"subject_id": b["subject_id"], name: values}),
                                  on="subject_id", how="left")
                variables.append(name)
                units[name] = u
                auto_labels[name] = label
    if not variables:
        raise AnalysisError("no variable to summarise")
    if data[by].isna().any():
        raise AnalysisError(f"{int(data[by].isna().sum())} subject(s) have no {by}")
    data[by] = data[by].astype(str)
    groups = sorted(pd.unique(data[by]).tolist())
    if reference is None:
        ctrl = []
        if by == "arm" and "control" in data:
            ctrl = sorted(pd.unique(data.loc[data["control"].fillna(False).astype(bool),
                                             by]).tolist())
        reference = ctrl[0] if len(ctrl) == 1 else groups[0]
    if reference not in groups:
        raise AnalysisError(f"reference group {reference!r} not among {groups}")
    order = [reference] + [g for g in groups if g != reference]
    frames = [(g, data[data[by] == g]) for g in order]
    if overall:
        frames.append((OVERALL, data))
    labels = {**auto_labels, **(labels or {})}
    statistics = dict(statistics or {})
    bad = {v: st for v, st in statistics.items() if st not in STATISTICS}
    if bad:
        raise AnalysisError(f"statistics must be one of {list(STATISTICS)}, got {bad}")
    rows: list[dict[str, Any]] = []
    for var in variables:
        col = data[var]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        values = _num(col) if numeric else np.array([])
        look = {"label": labels.get(var, var),
                "statistic": (statistics.get(var) or _statistic(values)) if numeric
                else "n_pct",
                "digits": int((digits or {}).get(var, _digits(units.get(var, ""), values)))}
        if numeric:
            ref_vals = _num(data.loc[data[by] == reference, var])
            for g, f in frames:
                x = _num(f[var])
                q = np.quantile(x, [0.25, 0.5, 0.75]) if len(x) else [math.nan] * 3
                rows.append({
                    "variable": var, "unit": units.get(var, ""), **look, "level": "", "group": g,
                    "n": len(x), "missing": int(f[var].isna().sum()),
                    "mean": float(np.mean(x)) if len(x) else math.nan,
                    "sd": float(np.std(x, ddof=1)) if len(x) > 1 else math.nan,
                    "median": float(q[1]), "q1": float(q[0]), "q3": float(q[2]),
                    "min": float(np.min(x)) if len(x) else math.nan,
                    "max": float(np.max(x)) if len(x) else math.nan,
                    "smd": smd_numeric(x, ref_vals) if g not in (reference, OVERALL)
                    else math.nan})
        else:
            levels = sorted(pd.unique(col.dropna().astype(str)).tolist())
            ref_p = _props(data.loc[data[by] == reference, var], levels)
            for g, f in frames:
                vals = f[var].dropna().astype(str)
                smd = smd_categorical(_props(f[var], levels), ref_p) if g not in (
                    reference, OVERALL) else math.nan
                for i, lv in enumerate(levels):
                    cnt = int((vals == lv).sum())
                    rows.append({"variable": var, "unit": units.get(var, ""), **look,
                                 "level": lv,
                                 "group": g, "n": len(vals), "missing": int(f[var].isna().sum()),
                                 "count": cnt,
                                 "percent": 100 * cnt / len(vals) if len(vals) else math.nan,
                                 "smd": smd if i == 0 else math.nan})
    cols = ["variable", "unit", "level", "group", "n", "missing", "mean", "sd", "median", "q1",
            "q3", "min", "max", "count", "percent", "smd", "label", "statistic", "digits"]
    summary = pd.DataFrame(rows).reindex(columns=cols)
    return Table1Result(summary=summary, params={
        "by": by, "variables": variables, "baseline_params": list(baseline_params),
        "baseline_window": list(baseline_window), "overall": overall, "reference": reference,
        "hba1c_unit": hba1c_unit, "group_n": {g: len(f) for g, f in frames}},
        notes=notes)


def _num(s: pd.Series) -> np.ndarray:
    return s.dropna().to_numpy(dtype=float)


def _props(s: pd.Series, levels: list[str]) -> np.ndarray:
    vals = s.dropna().astype(str)
    if len(vals) == 0:
        return np.full(len(levels), math.nan)
    return np.array([(vals == lv).mean() for lv in levels])


def _label(description: str) -> str:
    """A short label from a contract description: its first clause, without parentheses."""
    text = re.split(r"(?<=[a-z0-9)])\.(?:\s|$)|;", description.strip(), maxsplit=1)[0]
    text = re.sub(r"\s*\([^)]*\)", "", text).strip().rstrip(".")
    return text or description


def _lower_first(text: str) -> str:
    # keep acronyms and names (HbA1c, BMI, C-peptide) as written
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first[1:] == first[1:].lower() else text


def _statistic(values: np.ndarray) -> str:
    """``median_iqr`` when the pooled values are skewed (|adjusted skewness| >= 1)."""
    n = len(values)
    if n < 3 or np.std(values) == 0:
        return "mean_sd"
    m = values - values.mean()
    g1 = float(np.mean(m ** 3) / np.mean(m ** 2) ** 1.5)
    adjusted = g1 * math.sqrt(n * (n - 1)) / (n - 2)
    return "median_iqr" if abs(adjusted) >= SKEW_LIMIT else "mean_sd"


def _digits(unit: str, values: np.ndarray) -> int:
    """Decimals a variable is reported to: its unit's, else three significant digits."""
    if unit in UNIT_DECIMALS:
        return UNIT_DECIMALS[unit]
    return decimals_for(values, sig=3) if len(values) else 0

"""Report sections that describe the cohort: overview, Table 1 and the validation summary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohort.report.context import NotComputableError, ReportContext

__all__ = ["BASELINE_PARAMS", "arms_table", "measurement_counts", "overview_section",
           "table1_section", "tables_table", "validation_section"]

BASELINE_PARAMS = ("HBA1C", "FPG", "CPEP_FAST", "CPEP_PP", "INSULIN_DOSE")
"""Parameters whose baseline value Table 1 shows when the cohort has them."""

NO_LABEL = "(no visit label)"


def arms_table(subjects: pd.DataFrame) -> pd.DataFrame:
    """Subjects by arm: ``arm``, ``control``, ``n``, ``female``, ``diabetes_type``."""
    s = subjects.assign(arm=subjects["arm"].astype("string").fillna("(missing)"))
    rows = []
    for arm, g in s.groupby("arm", sort=True):
        ctrl = g["control"].astype("boolean")
        rows.append({
            "arm": str(arm),
            "control": "yes" if bool(ctrl.fillna(False).all()) else
            ("no" if not bool(ctrl.fillna(False).any()) else "mixed"),
            "n": len(g),
            "female": int((g["sex"].astype("string") == "F").sum()) if "sex" in g else 0,
            "diabetes_type": ", ".join(sorted(g["diabetes_type"].dropna().astype(str).unique()))
            if "diabetes_type" in g else "",
        })
    rows.append({"arm": "total", "control": "", "n": len(s),
                 "female": sum(r["female"] for r in rows), "diabetes_type": ""})
    return pd.DataFrame(rows)


def tables_table(ctx: ReportContext) -> pd.DataFrame:
    """Rows per table and the files they came from."""
    rows = []
    for name, frame in ctx.cohort.tables.items():
        prov = ctx.cohort.provenance.get(name)
        files = ", ".join(s.name for s in prov.sources) if prov is not None else ""
        rows.append({"table": name, "rows": len(frame), "files": files or "(none)"})
    return pd.DataFrame(rows)


def measurement_counts(measurements: pd.DataFrame) -> pd.DataFrame:
    """Records per visit (rows, ordered by median study day) and parameter (columns).

    Visits are the data's ``visit`` labels (``"(no visit label)"`` where missing); the
    ``days`` column gives the range of study days of each visit's records.
    """
    m = measurements.loc[measurements["value"].notna()]
    if m.empty:
        return pd.DataFrame(columns=["visit", "days"])
    label = (m["visit"].astype("string").fillna(NO_LABEL) if "visit" in m.columns
             else pd.Series(NO_LABEL, index=m.index, dtype="string"))
    m = m.assign(_visit=label.to_numpy(), param=m["param"].astype(str))
    counts = m.pivot_table(index="_visit", columns="param", values="value", aggfunc="count",
                           fill_value=0, observed=True)
    days = m.groupby("_visit")["day"].agg(["median", "min", "max"])
    order = days.sort_values(["median", "min"]).index
    counts = counts.reindex(order).fillna(0).astype(np.int64)
    out = counts.reset_index().rename(columns={"_visit": "visit"})
    out.columns.name = None
    d = days.reindex(order)
    out.insert(1, "days", [f"{int(lo)} to {int(hi)}" if lo != hi else f"{int(lo)}"
                           for lo, hi in zip(d["min"], d["max"], strict=True)])
    return out


def overview_section(ctx: ReportContext) -> None:
    """Subjects by arm, tables and rows, measurement records per visit and parameter."""
    c = ctx.cohort
    if c.subjects.empty:
        raise NotComputableError("the subjects table is empty")
    ctx.html.paragraph(f"Cohort read from {c.path}" + (f" with mapping {c.mapping}"
                                                         if c.mapping else "") + ".")
    ctx.html.table(arms_table(c.subjects), caption="Subjects by arm")
    ctx.html.table(tables_table(ctx), caption="Tables and rows")
    counts = measurement_counts(c.measurements)
    if counts.empty:
        ctx.not_computable("measurement counts", "the measurements table has no values")
    else:
        ctx.html.table(counts, max_rows=None,
                       caption="Measurement records per visit (study days) and parameter")


def table1_section(ctx: ReportContext) -> None:
    """Baseline characteristics by arm (Table 1) with standardised mean differences."""
    from cohort.analysis.table1 import table1

    c = ctx.cohort
    present = set(c.measurements["param"].astype(str))
    params = [p for p in BASELINE_PARAMS if p in present]
    res = table1(c.subjects, c.measurements, baseline_params=params,
                 contract=c.contract)
    # the same table as `cohort analyze table1` prints (decimals per variable, N per arm)
    ctx.html.table(res.to_wide(), max_rows=None,
                   caption="Baseline characteristics by arm (baseline: the last value on or "
                   "before day 0, days -90 to 0); SMD: absolute standardised mean difference "
                   "against the reference arm")
    for note in res.notes:
        ctx.html.paragraph(note, css="muted")


def validation_section(ctx: ReportContext) -> None:
    """Files read with their SHA-256, unit conversions, derivations and contract warnings."""
    c = ctx.cohort
    files = [{"table": t, "file": s.name, "format": s.format, "rows": s.n_rows,
              "sha256": s.sha256} for t, p in c.provenance.items() for s in p.sources]
    ctx.html.paragraph("The cohort passed the data contract (schemas/*.yaml): every table "
                       "and cross-table rule; values below are in canonical units.")
    if files:
        ctx.html.table(pd.DataFrame(files), caption="Files read (SHA-256 of the bytes read)")
    else:
        ctx.html.paragraph("The tables were given in memory: no files were read.", css="muted")
    conv = c.conversions
    if conv is None or len(conv) == 0:
        ctx.html.paragraph("Unit conversions: none (every value was in its canonical unit).")
    else:
        ctx.html.table(conv.reset_index(drop=True), caption="Unit conversions applied on load")
    derived = c.derivations
    if derived is not None and len(derived):
        ctx.html.table(derived.reset_index(drop=True),
                       caption="Derived by the mapping on load (study days, ages and durations "
                       "from dates, BMI, scaled and censored values)")
    warn = c.warnings
    if warn is None or len(warn) == 0:
        ctx.html.paragraph("Contract warnings: none.")
    else:
        cols = [k for k in ("table", "file", "row", "column", "rule", "value", "message")
                if k in warn.columns]
        ctx.html.table(warn[cols].reset_index(drop=True), max_rows=100,
                       caption=f"Contract warnings ({len(warn)})")

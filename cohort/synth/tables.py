"""Assemble the contract tables from a generator state (internal step).

The frames follow the data contract (``schemas/*.yaml``) column for column: plain dtypes
(``bool`` for booleans, ``Int64`` where a day may be missing), canonical units, one row per
subject/day/parameter, nothing after a subject's last contact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cohort.spec.vocabulary import CANONICAL_UNITS, DRUG_CLASSES, PARAMS
from cohort.synth.state import SynthState

__all__ = ["build_tables", "subject_ids"]

DAYS_PER_YEAR = 365.25


def subject_ids(prefix: str, n: int) -> np.ndarray:
    """``PREFIX-001`` ... with at least three digits (built as bytes, without a Python loop)."""
    width = max(3, len(str(n)))
    head = np.frombuffer(f"{prefix}-".encode("ascii"), dtype=np.uint8)
    buf = np.empty((n, head.size + width), dtype=np.uint8)
    buf[:, :head.size] = head
    number = np.arange(1, n + 1, dtype=np.int64)
    for k in range(width):
        buf[:, head.size + width - 1 - k] = (number // 10 ** k) % 10 + ord("0")
    return buf.view(f"S{buf.shape[1]}").ravel().astype(str).astype(object)


def _subjects(st: SynthState, ids: np.ndarray) -> pd.DataFrame:
    spec = st.spec
    arm_label = {a.name: a.arm_label for a in spec.arms}
    control = {a.name: a.control for a in spec.arms}
    site = np.full(st.n, None, dtype=object)
    if spec.design.sites is not None:
        from cohort.synth.draw import allocate

        count = spec.design.sites.count
        width = len(str(count))
        names = spec.design.sites.names or [f"S{i:0{width}d}" for i in range(1, count + 1)]
        labels = {name: 1.0 for name in names}
        site = allocate(labels, st.n, st.rng("sites"))
    c = st.cols
    assert st.last_contact is not None
    extras = {}
    for name, var in spec.extras.subjects.items():
        values = c[name]
        extras[name] = (pd.array(values.astype(np.int64), dtype="Int64")
                        if var.type == "integer" else values)
    return pd.DataFrame({
        "subject_id": ids,
        "study_id": spec.study.id,
        "site_id": site,
        "arm": np.array([arm_label[a] for a in st.arm_of], dtype=object),
        "control": np.array([control[a] for a in st.arm_of], dtype=bool),
        "diabetes_type": spec.study.diabetes_type,
        "sex": c["sex"],
        "age_years": c["age_years"],
        "age_at_diagnosis_years": c["age_at_diagnosis_years"],
        "diabetes_duration_years": c["diabetes_duration_years"],
        "weight_kg": c["weight_kg"],
        "height_cm": c["height_cm"],
        "bmi_kg_m2": c["bmi_kg_m2"],
        "last_contact_day": st.last_contact.astype(np.int64),
        **extras,
    }, copy=False)


def _infusions(st: SynthState, ids: np.ndarray) -> pd.DataFrame | None:
    parts = []
    for arm in st.spec.arms:
        if arm.treatment is None or arm.name not in st.infusion_days:
            continue
        idx = st.members(arm.name)
        days = st.infusion_days[arm.name]
        k = days.shape[1]
        subj = np.repeat(idx, k)
        parts.append(pd.DataFrame({
            "subject": subj,
            "infusion_number": np.tile(np.arange(1, k + 1, dtype=np.int64), idx.size),
            "day": days.ravel().astype(np.int64),
            "source": st.cols["source"][subj],
            "donor": st.cols["donor"][subj],
            "route": st.cols["route"][subj],
            "dose_cells_per_kg": st.cols["dose_cells_per_kg"][subj],
            "dose_cells_total": st.cols["dose_cells_total"][subj],
        }, copy=False))
    if not parts:
        return None
    # arms are contiguous blocks of subjects and each block is subject-major: already sorted
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "subject_id", ids[frame.pop("subject").to_numpy()])
    return frame


def _measurement_arrays(st: SynthState) -> dict[str, np.ndarray]:
    """Measurement rows as arrays, ordered by subject, day and parameter."""
    spec = st.spec
    params = [p for p in PARAMS if (p in st.cols and p in spec.baseline.variables)
              or p in st.values or p in spec.outcomes.glucose]
    labels = spec.visits.labels()
    n, nv, npar = st.n, len(labels), len(params)
    days = np.column_stack([st.visit_day.get(lab, np.full(n, np.nan)) for lab in labels])
    cube = np.full((n, nv, npar), np.nan)
    for j, p in enumerate(params):
        base = st.cols.get(p)
        if base is not None:
            cube[:, 0, j] = base
        for i, lab in enumerate(labels[1:], start=1):
            v = st.values.get(p, {}).get(lab)
            if v is not None:
                cube[:, i, j] = v
    cube[np.isnan(days)] = np.nan
    flat = ~np.isnan(cube.ravel())
    every = bool(flat.all())

    def pick(a: np.ndarray) -> np.ndarray:
        return a if every else a[flat]

    out = {
        "subject": pick(np.repeat(np.arange(n, dtype=np.int32), nv * npar)),
        "day": pick(np.repeat(np.nan_to_num(days.ravel()).astype(np.int32), npar)),
        "param_code": pick(np.tile(np.arange(npar, dtype=np.int8), n * nv)),
        "value": pick(cube.ravel()),
        "visit_code": pick(np.tile(np.repeat(np.arange(nv, dtype=np.int16), npar), n)),
    }
    codes = {"params": params, "labels": labels}
    if st.extra_records:
        extra = {f: np.concatenate([r[f] for r in st.extra_records])
                 for f in st.extra_records[0]}
        extra_labels = sorted(set(extra["visit"].tolist()))
        all_labels = labels + [x for x in extra_labels if x not in labels]
        lab_code = {lab: i for i, lab in enumerate(all_labels)}
        par_code = {p: i for i, p in enumerate(params)}
        out = {
            "subject": np.concatenate([out["subject"], extra["subject"].astype(np.int32)]),
            "day": np.concatenate([out["day"], extra["day"].astype(np.int32)]),
            "param_code": np.concatenate(
                [out["param_code"],
                 np.array([par_code[p] for p in extra["param"]], dtype=np.int8)]),
            "value": np.concatenate([out["value"], extra["value"]]),
            "visit_code": np.concatenate(
                [out["visit_code"],
                 np.array([lab_code[v] for v in extra["visit"]], dtype=np.int16)]),
        }
        key = (out["subject"].astype(np.int64) << 24) + (
            (out["day"].astype(np.int64) + 2 ** 20) << 3) + out["param_code"]
        order = np.argsort(key, kind="stable")
        out = {k: v[order] for k, v in out.items()}
        codes["labels"] = all_labels
    out["_params"] = np.asarray(codes["params"], dtype=object)
    out["_labels"] = np.asarray(codes["labels"], dtype=object)
    return out


def _measurements(st: SynthState, ids: np.ndarray) -> tuple[pd.DataFrame,
                                                            dict[str, np.ndarray]]:
    """The measurements table, and its rows as arrays (for the insulin periods)."""
    arr = _measurement_arrays(st)
    params, labels = list(arr["_params"]), list(arr["_labels"])
    units = [CANONICAL_UNITS[p] for p in params]
    unique_units = list(dict.fromkeys(units))
    unit_code = np.array([unique_units.index(u) for u in units], dtype=np.int8)
    frame = pd.DataFrame({
        # an object column: a categorical with one category per subject costs more to build
        "subject_id": ids[arr["subject"]],
        "day": arr["day"].astype(np.int64),
        "param": pd.Categorical.from_codes(arr["param_code"], categories=params),
        "value": arr["value"],
        "unit": pd.Categorical.from_codes(unit_code[arr["param_code"]],
                                          categories=unique_units),
        "visit": pd.Categorical.from_codes(arr["visit_code"], categories=labels),
    }, copy=False)
    return frame, arr


def _nullable_days(days: np.ndarray, present: np.ndarray) -> pd.arrays.IntegerArray:
    """Int64 days, missing where ``present`` is False (an ongoing period)."""
    arr = pd.array(np.where(present, days, 0).astype(np.int64), dtype="Int64")
    arr[~present] = pd.NA
    return arr


def _insulin_periods(st: SynthState, arr: dict[str, np.ndarray]) -> pd.DataFrame | None:
    params = list(arr["_params"])
    if "INSULIN_DOSE" not in params:
        return None
    rows = arr["param_code"] == params.index("INSULIN_DOSE")
    if not rows.any():
        return None
    subj = arr["subject"][rows].astype(np.int64)
    day = arr["day"][rows].astype(np.int64)
    dose = arr["value"][rows]
    first = np.r_[True, subj[1:] != subj[:-1]]
    prev = np.r_[np.nan, dose[:-1]]
    starts = (dose > 0) & (first | (prev != dose))
    breaks = starts | (dose == 0)
    # for each period start, the next break of the same subject ends it
    pos = np.flatnonzero(breaks)
    start_pos = np.flatnonzero(starts)
    nxt_idx = np.searchsorted(pos, start_pos, side="right")
    has_next = nxt_idx < pos.size
    nxt = np.where(has_next, pos[np.minimum(nxt_idx, pos.size - 1)], -1)
    same = has_next & (subj[np.maximum(nxt, 0)] == subj[start_pos])
    end = np.where(same, day[np.maximum(nxt, 0)] - 1, 0)
    p_subj = subj[start_pos]
    p_start = day[start_pos].astype(np.int64)
    duration = np.nan_to_num(st.cols["diabetes_duration_years"][p_subj], nan=0.0)
    if st.spec.study.diabetes_type == "T1D":
        since_dx = -np.round(duration * DAYS_PER_YEAR).astype(np.int64)  # since diagnosis
    else:
        # type 2: insulin added some time after diagnosis, at least 3 months before baseline
        share = st.rng("insulin-start").uniform(0.1, 0.6, st.n)[p_subj]
        since_dx = -np.maximum(90, np.round(share * duration * DAYS_PER_YEAR)).astype(np.int64)
    is_first = first[start_pos]
    p_start = np.where(is_first, np.minimum(p_start, since_dx), p_start)
    weight = st.cols["weight_kg"][p_subj]
    per_kg = dose[start_pos]
    has_w = ~np.isnan(weight)
    daily = np.where(has_w, np.round(per_kg * np.nan_to_num(weight)), per_kg)
    daily = np.where(has_w, np.maximum(daily, 1.0), daily)
    return pd.DataFrame({
        "subject": p_subj,
        "drug_class": "insulin",
        "start_day": p_start,
        "end_day": _nullable_days(end, same),
        "daily_dose": daily,
        "unit": np.where(has_w, "IU/day", "IU/kg/day").astype(object),
    }, copy=False)


def _oral_drugs(st: SynthState) -> pd.DataFrame | None:
    meds = st.spec.outcomes.medications
    if meds is None:
        return None
    assert st.last_contact is not None and st.reduction_day is not None
    assert st.reduction_fraction is not None
    level = st.cols[meds.by] if meds.by is not None else np.full(st.n, "all", dtype=object)
    rng = st.rng("medications")
    duration = np.nan_to_num(st.cols["diabetes_duration_years"], nan=1.0) * DAYS_PER_YEAR
    since = -np.maximum(90, np.round(rng.uniform(0.2, 1.0, st.n) * duration)).astype(np.int64)
    parts = []
    for lvl, drugs in meds.regimens.items():
        idx = np.flatnonzero(level == lvl) if lvl != "all" else np.arange(st.n)
        for d_i, drug in enumerate(drugs):
            if idx.size == 0:
                continue
            from cohort.synth.draw import sample

            drng = st.rng("medications", lvl, d_i)
            dose = sample(drug.daily_dose, drng.standard_normal(idx.size))
            dose = np.maximum(np.round(dose / drug.dose_step) * drug.dose_step, drug.dose_step)
            rday = st.reduction_day[idx]
            reduce = ~np.isnan(rday)
            new = np.round(dose * (1 - np.nan_to_num(st.reduction_fraction[idx]))
                           / drug.dose_step) * drug.dose_step
            new = np.where(new >= dose, dose - drug.dose_step, new)
            end_first = np.where(reduce, np.nan_to_num(rday) - 1, np.nan)
            parts.append(pd.DataFrame({
                "subject": idx, "drug_class": drug.drug_class, "start_day": since[idx],
                "end_day": end_first, "daily_dose": dose, "unit": drug.unit}, copy=False))
            later = reduce & (new > 0)
            if later.any():
                parts.append(pd.DataFrame({
                    "subject": idx[later], "drug_class": drug.drug_class,
                    "start_day": rday[later].astype(np.int64), "end_day": np.nan,
                    "daily_dose": new[later], "unit": drug.unit}, copy=False))
    if not parts:
        return None
    frame = pd.concat(parts, ignore_index=True)
    frame["end_day"] = pd.array(frame["end_day"].to_numpy(), dtype="Float64").astype("Int64")
    return frame


def _medications(st: SynthState, ids: np.ndarray,
                 arr: dict[str, np.ndarray]) -> pd.DataFrame | None:
    parts = [p for p in (_insulin_periods(st, arr), _oral_drugs(st)) if p is not None]
    if not parts:
        return None
    frame = pd.concat(parts, ignore_index=True)
    # one stable sort on (subject, drug class); the parts were built in start-day order
    drug = pd.Categorical(frame["drug_class"], categories=list(DRUG_CLASSES)).codes
    key = frame["subject"].to_numpy(np.int64) * len(DRUG_CLASSES) + drug
    frame = frame.take(np.argsort(key, kind="stable"))
    frame.insert(0, "subject_id", ids[frame.pop("subject").to_numpy()])
    frame["drug_class"] = frame["drug_class"].astype(object)
    frame["unit"] = frame["unit"].astype(object)
    frame.index = pd.RangeIndex(len(frame))  # no copy, unlike reset_index
    return frame


def _adverse_events(ae: dict[str, np.ndarray], ids: np.ndarray) -> pd.DataFrame | None:
    if not ae:
        return None
    frame = pd.DataFrame({
        "subject_id": ids[ae["subject"]],
        "term": ae["term"],
        "onset_day": ae["onset_day"].astype(np.int64),
        "severity": ae["severity"],
        "serious": ae["serious"].astype(bool),
        "related": ae["related"].astype(bool),
        "_s": ae["subject"],
    }, copy=False)
    frame = frame.sort_values(["_s", "onset_day", "term"], kind="stable").drop(columns="_s")
    frame.index = pd.RangeIndex(len(frame))
    return frame


def build_tables(st: SynthState, adverse: dict[str, np.ndarray]) -> dict[str, pd.DataFrame]:
    """The contract tables of a finished run (tables without rows are left out)."""
    ids = subject_ids(st.spec.study.id_prefix, st.n)
    tables: dict[str, pd.DataFrame] = {"subjects": _subjects(st, ids)}
    inf = _infusions(st, ids)
    if inf is not None:
        tables["infusions"] = inf
    meas, arr = _measurements(st, ids)
    tables["measurements"] = meas
    ae = _adverse_events(adverse, ids)
    if ae is not None:
        tables["adverse_events"] = ae
    meds = _medications(st, ids, arr)
    if meds is not None:
        tables["medications"] = meds
    return tables

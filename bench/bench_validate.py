"""Validation benchmark: `cohort validate` against plain reads and naive pandera scripts.

Generates (numpy, fixed seed, vectorised) a cohort folder in a temporary directory: a valid
``subjects.csv`` and ``infusions.csv`` and a ``measurements.csv`` of N rows, 1% of them bad (text
in ``value``, unknown ``param``, implausible value, unknown subject, duplicated key). Then, on the
same file and in the same run, each in its own subprocess (so that peak memory is its own):

* ``polars read``: ``pl.read_csv`` of measurements.csv, all columns as text (what cohort reads);
* ``polars read typed``: ``pl.read_csv`` with the column types given (``value`` as text, since
  it holds text in the bad rows);
* ``pyarrow read``: ``pyarrow.csv.read_csv`` (``value`` as text, same reason);
* ``naive pandera-pandas``: ``pandas.read_csv`` with the contract's pandas dtypes for the text
  and integer columns, then ``cohort.contract.pandas_schema("measurements").validate(df,
  lazy=True)``, catching ``SchemaErrors`` (the baseline a user would write);
* ``naive pandera-polars``: ``polars.read_csv`` with the contract's types (a ``value`` that is
  not a number becomes missing), then ``polars_schema("measurements").validate``;
* ``cohort validate (CLI)``: ``cohort validate DIR --format json`` end to end (process start,
  imports, all tables, JSON of every finding on stdout, written to a file);
* ``cohort.validate (API)``: the Python call with ``engine="auto"`` (the contract's checks as
  polars expressions, no pandera), then the report as JSON (imports excluded).

Every method is timed twice: the whole child process (start, imports, work, exit) and the
work alone inside it (the CLI has only the first; the API stands for its in-process time).
For each naive baseline and for cohort, the injected bad rows found are counted by kind.

Each timing is repeated (interleaved: every method once, then again, so that the load of a
shared machine affects all alike) and the median reported, with the CPU seconds of the process;
peak memory is the largest ``ru_maxrss`` of the measuring process over the repeats
(``os.wait4``). The data are generated in a child process too: a child's ``ru_maxrss`` starts
from the RSS of the process it was forked from. The CLI's JSON is checked: every injected bad
line must be among the findings, or the benchmark fails.

Targets (issues 2 and 16, on the largest file): ``cohort validate`` (CLI, end to end) within 3x
the polars read time (the faster polars read, also a whole process), at least 5x faster than
naive pandera-pandas, peak memory within 2.5 GiB.

Usage: ``python bench/bench_validate.py [--quick] [--sizes 1000000,10000000] [--repeats 3]
[--methods polars_read,cohort_cli,...] [--data-dir DIR] [--json-out FILE] [--strict]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

N_SUBJECTS = 10_000
BAD_FRACTION = 0.01
SEED = 20240607
GENERATOR = 4  # bump when the generated data change, so that --data-dir is regenerated
FULL_SIZES = (1_000_000, 10_000_000)
QUICK_SIZES = (200_000,)
TARGET_VS_POLARS = 3.0
TARGET_VS_PANDERA = 5.0
TARGET_RSS_GIB = 2.5

# canonical-unit distributions: (mean, sd, low clip, high clip, decimals), all inside the
# contract's plausible ranges so that only the injected rows are bad
PARAMS = {
    "HBA1C": (7.5, 1.2, 4.5, 14.0, 1),
    "FPG": (8.5, 2.5, 3.0, 25.0, 1),
    "PPG": (11.0, 3.0, 4.0, 30.0, 1),
    "CPEP_FAST": (0.30, 0.15, 0.01, 3.0, 3),
    "CPEP_PP": (0.80, 0.35, 0.01, 6.0, 3),
    "CPEP_AUC": (90.0, 40.0, 1.0, 1500.0, 1),
    "INSULIN_DOSE": (0.55, 0.2, 0.0, 2.5, 2),
    "WEIGHT": (74.0, 12.0, 40.0, 180.0, 1),
}
# a tenth of the rows of each parameter is given in another accepted unit:
# (unit, canonical unit, scale from canonical, offset, per body weight, decimals)
ALT_UNITS = {
    "HBA1C": ("mmol/mol", "%", 10.929, -10.929 * 2.15, False, 0),
    "FPG": ("mg/dL", "mmol/L", 18.016, 0.0, False, 0),
    "PPG": ("mg/dL", "mmol/L", 18.016, 0.0, False, 0),
    "CPEP_FAST": ("pmol/L", "nmol/L", 1000.0, 0.0, False, 0),
    "CPEP_PP": ("pmol/L", "nmol/L", 1000.0, 0.0, False, 0),
    "CPEP_AUC": ("pmol/L*min", "nmol/L*min", 1000.0, 0.0, False, 0),
    "INSULIN_DOSE": ("IU/day", "IU/kg/day", 1.0, 0.0, True, 1),
    "WEIGHT": ("lb", "kg", 1 / 0.45359237, 0.0, False, 1),
}
BAD_KINDS = ("text_value", "unknown_param", "implausible", "unknown_subject", "duplicate_key")


# ---------------------------------------------------------------------------------------------
# data generation


def _subjects(rng: Any, last_day: int) -> Any:
    import numpy as np
    import polars as pl

    n = N_SUBJECTS
    control = rng.random(n) < 0.4
    age = rng.integers(18, 70, n)
    duration = rng.integers(0, np.minimum(age - 1, 40) + 1)
    weight = np.round(rng.normal(74, 12, n).clip(45, 150), 1)
    height = np.round(rng.normal(170, 9, n).clip(145, 205), 0)
    bmi = np.round(weight / (height / 100) ** 2, 1)
    return pl.DataFrame({
        "subject_id": [f"S{i:05d}" for i in range(n)],
        "study_id": "BENCH",
        "site_id": np.array(["A", "B", "C"])[rng.integers(0, 3, n)],
        "arm": np.where(control, "standard care", "MSC"),
        "control": np.where(control, "true", "false"),
        "diabetes_type": np.array(["T1D", "T2D"])[rng.integers(0, 2, n)],
        "sex": np.array(["F", "M"])[rng.integers(0, 2, n)],
        "age_years": age,
        "age_at_diagnosis_years": age - duration,
        "diabetes_duration_years": duration,
        "weight_kg": weight,
        "height_cm": height,
        "bmi_kg_m2": bmi,
        "last_contact_day": np.full(n, last_day),
    })


def _measurements(rng: Any, n_rows: int, weights: Any,
                  bad_fraction: float = BAD_FRACTION) -> tuple[Any, Any]:
    """The measurements frame and (the CSV line of every injected bad row, counts by kind)."""
    import numpy as np
    import polars as pl

    per = max(n_rows // N_SUBJECTS, 16)
    i = np.arange(n_rows)
    subj = np.minimum(i // per, N_SUBJECTS - 1)
    j = i - subj * per  # position within the subject (the last subject takes the remainder)
    p_idx = j % len(PARAMS)
    d_idx = j // len(PARAMS)
    day = -14 + 7 * d_idx
    codes = np.array(list(PARAMS))
    stats = np.array([v[:4] for v in PARAMS.values()])
    canon = rng.normal(stats[p_idx, 0], stats[p_idx, 1]).clip(stats[p_idx, 2], stats[p_idx, 3])
    decimals = np.array([v[4] for v in PARAMS.values()])[p_idx]
    alt = rng.random(n_rows) < 0.1
    scale = np.array([ALT_UNITS[c][2] for c in codes])[p_idx]
    offset = np.array([ALT_UNITS[c][3] for c in codes])[p_idx]
    per_kg = np.array([ALT_UNITS[c][4] for c in codes])[p_idx]
    alt_dec = np.array([ALT_UNITS[c][5] for c in codes])[p_idx]
    alt_value = canon * scale + offset
    alt_value = np.where(per_kg, alt_value * weights[subj], alt_value)
    value = np.where(alt, alt_value, canon)
    dec = np.where(alt, alt_dec, decimals)
    value = np.round(value * 10.0 ** dec) / 10.0 ** dec
    canon_units = np.array([ALT_UNITS[c][1] for c in codes])
    alt_units = np.array([ALT_UNITS[c][0] for c in codes])
    unit = np.where(alt, alt_units[p_idx], canon_units[p_idx])

    n_bad = round(n_rows * bad_fraction)
    bad = np.sort(rng.choice(n_rows, n_bad, replace=False))
    kind = rng.integers(0, len(BAD_KINDS), n_bad)
    is_bad = np.zeros(n_rows, dtype=bool)
    is_bad[bad] = True
    # a duplicate copies the key of the same subject's previous (or next) day; that neighbour
    # must itself be a good row, else two injected rows could cancel out
    neighbour = np.where(d_idx[bad] > 0, bad - len(PARAMS), bad + len(PARAMS))
    neighbour = neighbour.clip(0, n_rows - 1)
    dup_ok = ~is_bad[neighbour] & (subj[neighbour] == subj[bad]) & (
        p_idx[neighbour] == p_idx[bad])
    kind = np.where((kind == 4) & ~dup_ok, 2, kind)

    # per row: which kind of bad row it is (-1: a good row), and the values bad rows take
    row_kind = np.full(n_rows, -1, dtype=np.int8)
    row_kind[bad] = kind
    sel = bad[kind == 2]
    # HbA1c and glucose given in the canonical unit with the size of the other unit (an HbA1c
    # of 59 "%": cohort says which unit it looks like); other parameters negative
    value[sel] = np.select([p_idx[sel] == 0, (p_idx[sel] == 1) | (p_idx[sel] == 2)],
                           [np.round(canon[sel] * 10.929 - 23.5),
                            np.round(canon[sel] * 18.016)],
                           -np.round(canon[sel] + 1, 1))
    unit[sel] = canon_units[p_idx[sel]]
    day[bad[kind == 4]] = day[neighbour[kind == 4]]
    pick = rng.integers(0, 1 << 30, n_rows)  # which text, code or id a bad row gets
    texts = pl.Series(["high", "n.d.", "<0.1", "7,5"])
    unknown_params = pl.Series(["HBA1X", "GLUC", "CPEPTIDE"])
    kind_of = pl.col("kind")
    frame = pl.DataFrame({"subj": subj, "day": day, "p": p_idx, "value": value, "unit": unit,
                          "visit": d_idx, "kind": row_kind, "pick": pick}).select(
        pl.when(kind_of == 3).then(pl.format("X{}", (pl.col("pick") % 99_999).cast(pl.String)
                                             .str.pad_start(5, "0")))
        .otherwise(pl.format("S{}", pl.col("subj").cast(pl.String).str.pad_start(5, "0")))
        .alias("subject_id"),
        pl.col("day"),
        pl.when(kind_of == 1)
        .then(pl.lit(unknown_params).gather(pl.col("pick") % unknown_params.len()))
        .otherwise(pl.lit(pl.Series(codes)).gather(pl.col("p"))).alias("param"),
        pl.when(kind_of == 0).then(pl.lit(texts).gather(pl.col("pick") % texts.len()))
        .otherwise(pl.col("value").cast(pl.String)).alias("value"),
        pl.col("unit"),
        pl.format("W{}", pl.col("visit")).alias("visit"),
    )
    return frame, (bad + 2, kind)  # CSV line = index + 2 (line 1 is the header)


def generate(folder: Path, n_rows: int, seed: int = SEED,
             bad_fraction: float = BAD_FRACTION) -> dict[str, Any]:
    """Write a cohort folder with ``n_rows`` measurements (``bad_fraction`` of them bad, 1%
    by default) into ``folder``."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng([seed, n_rows])
    folder.mkdir(parents=True, exist_ok=True)
    per = max(n_rows // N_SUBJECTS, 16)
    last_day = -14 + 7 * ((per + n_rows % N_SUBJECTS) // len(PARAMS)) + 30
    subjects = _subjects(rng, last_day)
    subjects.write_csv(folder / "subjects.csv")
    treated = subjects.filter(pl.col("control") == "false")
    treated.select(
        "subject_id", pl.lit(1).alias("infusion_number"), pl.lit(0).alias("day"),
        pl.lit("umbilical_cord").alias("source"), pl.lit("allogeneic").alias("donor"),
        pl.lit("intravenous").alias("route"), pl.lit(1_000_000).alias("dose_cells_per_kg"),
        (pl.col("weight_kg") * 1_000_000).round(0).cast(pl.Int64).alias("dose_cells_total"),
    ).write_csv(folder / "infusions.csv")
    frame, (bad_lines, bad_kind) = _measurements(rng, n_rows, subjects["weight_kg"].to_numpy(),
                                                 bad_fraction)
    frame.write_csv(folder / "measurements.csv")
    np.save(folder.parent / f"{folder.name}.bad_lines.npy", bad_lines)
    np.save(folder.parent / f"{folder.name}.bad_kinds.npy", bad_kind)
    kinds = {k: int((bad_kind == n).sum()) for n, k in enumerate(BAD_KINDS)}
    meta = {"rows": n_rows, "seed": seed, "generator": GENERATOR, "subjects": N_SUBJECTS,
            "bad_rows": len(bad_lines), "bad_kinds": kinds,
            "bytes": (folder / "measurements.csv").stat().st_size}
    (folder.parent / f"{folder.name}.meta.json").write_text(json.dumps(meta))
    return meta


def ensure_data(root: Path, n_rows: int) -> tuple[Path, dict[str, Any]]:
    """The cohort folder for ``n_rows`` under ``root``, generated unless already there."""
    folder = root / f"cohort_{n_rows}"
    meta_path = root / f"{folder.name}.meta.json"
    if meta_path.exists() and (folder / "measurements.csv").exists():
        meta = json.loads(meta_path.read_text())
        if (meta.get("seed"), meta.get("rows"), meta.get("generator")) == (SEED, n_rows,
                                                                           GENERATOR):
            return folder, meta
    t0 = time.perf_counter()
    # in a child process: the parent must stay small, because a child's ru_maxrss starts from
    # the RSS of the process it was forked from
    meta = _child(["--worker", f"generate:{n_rows}", str(folder)])
    print(f"  generated {n_rows:,} rows ({meta['bytes'] / 2**20:.0f} MiB, {meta['bad_rows']:,} "
          f"bad: {meta['bad_kinds']}) in {time.perf_counter() - t0:.1f} s", flush=True)
    return folder, meta


# ---------------------------------------------------------------------------------------------
# measurements, each run in its own process


def _worker(kind: str, folder: Path) -> dict[str, Any]:
    """Run one measurement in this process; return seconds and facts about the result."""
    csv_path = folder / "measurements.csv"
    if kind.startswith("generate:"):
        return generate(folder, int(kind.split(":")[1]))
    if kind.startswith("check:"):
        return _check_cli_json(Path(kind.split(":", 1)[1]), folder)
    if kind in ("polars_read", "polars_read_typed"):
        import polars as pl

        t0 = time.perf_counter()
        if kind == "polars_read":
            frame = pl.read_csv(csv_path, infer_schema=False)
        else:
            frame = pl.read_csv(csv_path, schema={
                "subject_id": pl.String, "day": pl.Int64, "param": pl.String,
                "value": pl.String, "unit": pl.String, "visit": pl.String})
        return {"seconds": time.perf_counter() - t0, "rows": frame.height}
    if kind == "pyarrow_read":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        t0 = time.perf_counter()
        table = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(
            column_types={"value": pa.string()}))
        return {"seconds": time.perf_counter() - t0, "rows": table.num_rows}
    if kind == "pandera_polars":
        import pandera.polars  # noqa: F401  (imported before the timing)
        import polars as pl
        from pandera.errors import SchemaErrors

        from cohort.contract import polars_schema

        schema = polars_schema("measurements")
        t0 = time.perf_counter()
        # what a user would write: the contract's types, and a value that is not a number
        # read as missing (its text is lost)
        frame = pl.read_csv(csv_path, ignore_errors=True, schema_overrides={
            k: getattr(pl, v) for k, v in NAIVE_POLARS_TYPES.items()})
        t_read = time.perf_counter() - t0
        try:
            schema.validate(frame, lazy=True)
            cases = None
        except SchemaErrors as exc:
            cases = exc.failure_cases
        seconds = time.perf_counter() - t0
        rows = ([] if cases is None else
                cases.get_column("index").drop_nulls().unique().to_list())
        return {"seconds": seconds, "read_seconds": t_read,
                "failure_cases": 0 if cases is None else cases.height,
                "found": _found(folder, rows)}
    if kind == "pandera_pandas":
        import pandas as pd
        from pandera.errors import SchemaErrors

        from cohort.contract import PANDAS_DTYPES, load_contract, pandas_schema

        spec = load_contract()["measurements"]
        # the contract's dtypes where the file allows them; value holds text, so it is read
        # as pandas infers it (object), and pandera reports its dtype
        dtypes = {c.name: PANDAS_DTYPES[c.type] for c in spec.columns
                  if c.type in ("string", "integer")}
        schema = pandas_schema("measurements")
        t0 = time.perf_counter()
        frame = pd.read_csv(csv_path, dtype=dtypes)
        t_read = time.perf_counter() - t0
        try:
            schema.validate(frame, lazy=True)
            cases = None
        except SchemaErrors as exc:
            cases = exc.failure_cases
        seconds = time.perf_counter() - t0
        # a column whose dtype fails (value holds text) is one case with no row
        rows = [] if cases is None else cases["index"].dropna().unique().tolist()
        return {"seconds": seconds, "read_seconds": t_read,
                "failure_cases": 0 if cases is None else len(cases),
                "found": _found(folder, rows)}
    if kind == "cohort_api":
        # the libraries the validation uses are imported first, as the other methods do
        # (pandas for the report's tables, polars; not pandera: the checks run natively)
        import pandas  # noqa: F401
        import polars  # noqa: F401

        import cohort
        import cohort.validation

        out = folder.parent / "scratch" / "api.json"
        t0 = time.perf_counter()
        report = cohort.validate(folder)
        out.write_text(report.to_json(None))  # what the CLI prints
        return {"seconds": time.perf_counter() - t0, "findings": len(report.findings),
                "engine": report.engine, "exit_code": report.exit_code}
    raise ValueError(f"unknown worker {kind!r}")


NAIVE_POLARS_TYPES = {"subject_id": "String", "day": "Int64", "param": "String",
                      "value": "Float64", "unit": "String", "visit": "String"}


def _found(folder: Path, rows: Any) -> dict[str, int]:
    """How many injected bad rows of each kind are among ``rows`` (0-based data rows)."""
    import numpy as np

    lines = np.load(folder.parent / f"{folder.name}.bad_lines.npy")
    kinds = np.load(folder.parent / f"{folder.name}.bad_kinds.npy")
    hit = np.isin(lines, np.asarray(rows, dtype=np.int64) + 2)
    return {k: int(hit[kinds == n].sum()) for n, k in enumerate(BAD_KINDS)}


def _child(args: list[str]) -> Any:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def _cohort_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("cohort")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cohort"]


def _run_once(kind: str, folder: Path, scratch: Path) -> dict[str, Any]:
    """One measurement in a child process: its result, wall seconds and peak RSS."""
    out_path = scratch / f"{kind}.out"
    err_path = scratch / f"{kind}.err"
    if kind == "cohort_cli":
        cmd = [*_cohort_cmd(), "validate", str(folder), "--format", "json"]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, str(folder)]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss_mib = usage.ru_maxrss / 1024  # Linux: KiB
    cpu = usage.ru_utime + usage.ru_stime  # whole process, imports included
    if kind == "cohort_cli":
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"cohort validate exited {proc.returncode}: "
                               f"{err_path.read_text()[-2000:]}")
        return {"seconds": None, "process_s": wall, "rss_mib": rss_mib, "cpu_s": cpu,
                "json": out_path}
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} failed ({proc.returncode}): "
                           f"{err_path.read_text()[-2000:]}")
    result = json.loads(out_path.read_text())
    result["process_s"] = wall
    result["rss_mib"] = rss_mib
    result["cpu_s"] = cpu
    return result


def _check_cli_json(path: Path, folder: Path) -> dict[str, Any]:
    """Every injected bad line must be a finding of measurements.csv."""
    import numpy as np

    bad_lines = np.load(folder.parent / f"{folder.name}.bad_lines.npy")
    doc = json.loads(path.read_text())
    rows = np.array([f["row"] for f in doc["findings"]
                     if f["file"] == "measurements.csv" and f["row"] is not None], dtype=np.int64)
    missed = np.setdiff1d(bad_lines, rows)
    return {"found": _found(folder, rows - 2), "findings": len(doc["findings"]),
            "errors": doc["counts"]["errors"],
            "warnings": doc["counts"]["warnings"], "exit_code": doc["exit_code"],
            "engine": doc["engine"], "missed_bad_lines": int(missed.size),
            "by_rule": {f"{s['table']}.{s['rule']}": s["n"] for s in doc["summary"]}}


LABELS = {
    "polars_read": "polars read (all text)",
    "polars_read_typed": "polars read (typed)",
    "pyarrow_read": "pyarrow read",
    "pandera_pandas": "naive pandera-pandas",
    "pandera_polars": "naive pandera-polars",
    "cohort_cli": "cohort validate (CLI)",
    "cohort_api": "cohort.validate + JSON",
}


def measure(folder: Path, methods: list[str], repeats: int, pandera_repeats: int,
            scratch: Path) -> dict[str, Any]:
    """Median seconds, CPU seconds and peak RSS of each method on one folder.

    The repeats are interleaved (every method once, then again), so that a machine that gets
    busier or quieter during the run affects every method alike. A method that fails is
    recorded with its error and not run again.
    """
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in methods}
    errors: dict[str, str] = {}
    for round_ in range(max(repeats, pandera_repeats)):
        for kind in methods:
            wanted = pandera_repeats if kind == "pandera_pandas" else repeats
            if kind in errors or round_ >= wanted:
                continue
            try:
                runs[kind].append(_run_once(kind, folder, scratch))
            except (RuntimeError, ValueError) as exc:
                errors[kind] = str(exc)
                print(f"    {LABELS[kind]:24} FAILED: {str(exc)[:300]}", file=sys.stderr)
    out: dict[str, Any] = {}
    for kind in methods:
        if kind in errors:
            out[kind] = {"label": LABELS[kind], "error": errors[kind]}
            continue
        secs = [r["process_s"] for r in runs[kind]]
        inside = [r["seconds"] for r in runs[kind] if r["seconds"] is not None]
        entry: dict[str, Any] = {
            "label": LABELS[kind], "median_s": statistics.median(secs), "min_s": min(secs),
            "runs_s": secs,
            "in_process_s": statistics.median(inside) if inside else None,
            "in_process_runs_s": inside,
            "peak_rss_mib": max(r["rss_mib"] for r in runs[kind]),
            "process_cpu_s": statistics.median(r["cpu_s"] for r in runs[kind])}
        if kind == "cohort_cli":
            entry["check"] = _child(["--worker", f"check:{runs[kind][-1]['json']}",
                                     str(folder)])
        else:
            entry["facts"] = {k: v for k, v in runs[kind][-1].items()
                              if k not in ("seconds", "rss_mib", "cpu_s")}
        out[kind] = entry
        print(f"    {LABELS[kind]:24} process median {entry['median_s']:7.2f} s  "
              f"(runs {', '.join(f'{x:.2f}' for x in secs)})  "
              f"peak {entry['peak_rss_mib']:7.0f} MiB", flush=True)
    return out


def _ok(res: dict[str, Any], *kinds: str) -> bool:
    return all(k in res and "error" not in res[k] for k in kinds)


def _polars(res: dict[str, Any], key: str = "median_s") -> float | None:
    reads = [res[k][key] for k in ("polars_read", "polars_read_typed")
             if _ok(res, k) and res[k].get(key) is not None]
    return min(reads) if reads else None


def _targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets; ``pass`` is None when a measurement needed is missing. Every time
    is a whole process (start, imports, work, exit), so that the ratios compare like with
    like; the in-process ratio is reported beside them."""
    polars = _polars(res)
    cli = res["cohort_cli"]["median_s"] if _ok(res, "cohort_cli") else None
    vs_polars = cli / polars if cli and polars else None
    api_in = res["cohort_api"]["in_process_s"] if _ok(res, "cohort_api") else None
    polars_in = _polars(res, "in_process_s")
    vs_polars_in = api_in / polars_in if api_in and polars_in else None
    vs_pandera = (res["pandera_pandas"]["median_s"] / cli
                  if cli and _ok(res, "pandera_pandas") else None)
    peaks = [res[k]["peak_rss_mib"] for k in ("cohort_cli", "cohort_api") if _ok(res, k)]
    rss = max(peaks) / 1024 if peaks else None

    def row(text: str, value: float | None, passed: bool) -> dict[str, Any]:
        return {"target": text, "measured": None if value is None else round(value, 2),
                "pass": None if value is None else passed}

    return [
        row(f"cohort validate / polars read <= {TARGET_VS_POLARS:g} (processes)", vs_polars,
            vs_polars is not None and vs_polars <= TARGET_VS_POLARS),
        row(f"cohort.validate / polars read <= {TARGET_VS_POLARS:g} (in-process)",
            vs_polars_in, vs_polars_in is not None and vs_polars_in <= TARGET_VS_POLARS),
        row(f"naive pandera / cohort validate >= {TARGET_VS_PANDERA:g}", vs_pandera,
            vs_pandera is not None and vs_pandera >= TARGET_VS_PANDERA),
        row(f"cohort validate peak RSS <= {TARGET_RSS_GIB:g} GiB", rss,
            rss is not None and rss <= TARGET_RSS_GIB),
    ]


def _found_text(entry: dict[str, Any]) -> str:
    found = (entry.get("check") or entry.get("facts") or {}).get("found")
    return "" if not found else "/".join(str(found[k]) for k in BAD_KINDS)


def _print_table(size: int, res: dict[str, Any]) -> None:
    polars, polars_in = _polars(res), _polars(res, "in_process_s")
    print(f"\n  {size:,} rows; 'process' = the whole process (start, imports, work, exit), "
          "'in-process' = the work after the imports")
    print(f"  {'method':24} {'process s':>9} {'x polars':>8} {'in-proc s':>9} {'x polars':>8} "
          f"{'peak MiB':>8} {'cpu s':>6}  bad rows found ({'/'.join(BAD_KINDS)})")
    for entry in res.values():
        if "error" in entry:
            print(f"  {entry['label']:24} {'failed':>9}")
            continue
        med, inside = entry["median_s"], entry.get("in_process_s")
        print(f"  {entry['label']:24} {med:9.2f} "
              f"{med / polars if polars else float('nan'):8.2f} "
              + (f"{inside:9.2f} {inside / polars_in if polars_in else float('nan'):8.2f} "
                 if inside is not None else f"{'-':>9} {'-':>8} ")
              + f"{entry['peak_rss_mib']:8.0f} {entry['process_cpu_s']:6.2f}  "
              f"{_found_text(entry)}")
    if _ok(res, "cohort_cli"):
        check = res["cohort_cli"]["check"]
        print(f"  cohort findings: {check['findings']:,} ({check['errors']:,} errors, "
              f"{check['warnings']:,} warnings; exit {check['exit_code']}, engine "
              f"{check['engine']}); injected bad lines missed: {check['missed_bad_lines']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small file (200,000 rows)")
    parser.add_argument("--sizes", help="comma-separated row counts (default 1M and 10M)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timings per method, the median is reported (default 3; 2 with "
                        "--quick)")
    parser.add_argument("--pandera-repeats", type=int, default=None,
                        help="timings of naive pandera (default: --repeats; 1 above 5M rows "
                        "and with --quick)")
    parser.add_argument("--methods", help=f"comma-separated subset of {', '.join(LABELS)}")
    parser.add_argument("--data-dir", type=Path, help="keep generated data here (reused)")
    parser.add_argument("--json-out", type=Path, help="write the results as JSON here")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a target fails (default: only when a run fails or "
                        "cohort misses an injected bad row)")
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(_worker(args.worker[0], Path(args.worker[1]))))
        return 0

    sizes = ([int(x) for x in args.sizes.split(",")] if args.sizes else
             list(QUICK_SIZES if args.quick else FULL_SIZES))
    methods = args.methods.split(",") if args.methods else list(LABELS)
    unknown = [m for m in methods if m not in LABELS]
    if unknown:
        parser.error(f"unknown method {', '.join(unknown)}; methods: {', '.join(LABELS)}")
    repeats = max(1, args.repeats or (2 if args.quick else 3))
    tmp = None
    if args.data_dir is not None:
        root = args.data_dir
        root.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.mkdtemp(prefix="cohort-bench-")
        root = Path(tmp)
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "load_average_at_start": os.getloadavg()},
        "repeats": repeats, "sizes": {}}
    try:
        scratch = root / "scratch"
        scratch.mkdir(exist_ok=True)
        for size in sizes:
            print(f"measurements.csv with {size:,} rows", flush=True)
            folder, meta = ensure_data(root, size)
            p_rep = args.pandera_repeats or (1 if size > 5_000_000 or args.quick else repeats)
            res = measure(folder, methods, repeats, p_rep, scratch)
            results["sizes"][str(size)] = {"data": meta, "methods": res}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    for size in sizes:
        _print_table(size, results["sizes"][str(size)]["methods"])

    import resource

    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["parent_rss_mib"] = floor
    print(f"\n  median of {repeats} interleaved runs (naive pandera: fewer on large files); "
          "'x polars' is relative to the faster polars read")
    print(f"  peak MiB is each child's ru_maxrss, with a floor of about {floor:.0f} MiB "
          "inherited from this process at fork; proc cpu s is user + system time of the "
          "whole child (imports included)")
    print(f"  load average at start {results['machine']['load_average_at_start'][0]:.1f}, at "
          f"end {results['machine']['load_average_at_end'][0]:.1f} ({os.cpu_count()} CPUs)")
    largest = str(max(sizes))
    failed = [f"{size}: {e['label']}" for size, r in results["sizes"].items()
              for e in r["methods"].values() if "error" in e]
    if all(k in methods for k in ("cohort_cli", "polars_read", "pandera_pandas")):
        targets = _targets(results["sizes"][largest]["methods"])
        results["targets"] = targets
        print(f"\n  targets (issues 2 and 16) on {int(largest):,} rows, cohort validate = CLI "
              "end to end"
              + (" [quick run: indicative only]" if args.quick else ""))
        for t in targets:
            verdict = {True: "PASS", False: "FAIL", None: "n/a "}[t["pass"]]
            print(f"  {verdict}  {t['target']:42} measured {t['measured']}")
    else:
        targets = []
    missed = sum(r["methods"]["cohort_cli"]["check"]["missed_bad_lines"]
                 for r in results["sizes"].values() if _ok(r["methods"], "cohort_cli"))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(results, indent=2, default=str))
    if failed:
        print(f"  FAIL  runs failed: {'; '.join(failed)}", file=sys.stderr)
    if missed:
        print(f"  FAIL  cohort validate missed {missed} injected bad rows", file=sys.stderr)
    if failed or missed:
        return 1
    return 1 if args.strict and not all(t["pass"] for t in targets) else 0


if __name__ == "__main__":
    sys.exit(main())

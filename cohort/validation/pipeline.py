"""Validate a cohort folder and load it: read -> map -> parse -> units -> schemas -> rules."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping as MappingType
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import polars as pl

from cohort.contract import Contract, load_contract
from cohort.errors import InvalidCohortError, MappingError
from cohort.extras import Extras, extend_contract
from cohort.findings import FINDING_COLUMNS, Findings
from cohort.io.adam import resolve_adam
from cohort.io.cohort import Cohort, TableProvenance
from cohort.io.derive_columns import DerivationLog
from cohort.io.harmonise import CONVERSION_LOG_SCHEMA, harmonise_measurements
from cohort.io.mapping import Mapping, read_mapping
from cohort.io.parse import POLARS_TYPES, parse_table
from cohort.io.population import select_population
from cohort.io.read import RawTable, SourceFile, read_folder
from cohort.io.remap import apply_mapping, cdisc_days
from cohort.validation.report import ValidationReport
from cohort.validation.rules import check_cross_table, empty_required
from cohort.validation.schema import Engine, check_table, to_pandas

__all__ = ["from_frames", "load_cohort", "validate"]

EngineChoice = Literal["auto", "native", "pandas", "polars"]
"""``auto`` and ``native``: the contract's checks as polars expressions; ``pandas`` and
``polars``: the pandera schemas on that backend (the same findings, slower)."""


@dataclass
class _Run:
    tables: dict[str, pl.DataFrame]
    sources: dict[str, list[SourceFile]]
    conversions: pl.DataFrame
    report: ValidationReport


def _pick_engine(engine: str) -> Engine:
    if engine in ("native", "pandas", "polars"):
        return engine  # type: ignore[return-value]
    if engine != "auto":
        raise ValueError(f"engine must be 'auto', 'native', 'pandas' or 'polars', got "
                         f"{engine!r}")
    return "native"


def _sort_findings(frame: pl.DataFrame, contract: Contract,
                   explained: pl.DataFrame | None = None) -> pd.DataFrame:
    order = {name: i for i, name in enumerate(contract.names)}
    row_level = frame.filter(pl.col("row").is_not_null() & pl.col("table").is_not_null())
    # one finding per cell: the first stage that saw a problem explains it best
    row_level = row_level.unique(["table", "file", "row", "column"], keep="first",
                                 maintain_order=True)
    if explained is not None and explained.height:
        # cells whose problem is a consequence of another finding (Findings.explain)
        row_level = row_level.join(explained, on=["table", "file", "row", "column"],
                                   how="anti", maintain_order="left")
    frame = pl.concat([frame.filter(pl.col("row").is_null() | pl.col("table").is_null()),
                       row_level])
    frame = frame.with_columns(
        pl.col("table").replace_strict(order, default=-1, return_dtype=pl.Int64)
        .alias("__order")).sort(["__order", "file", "row", "column"], nulls_last=False,
                                maintain_order=True).drop("__order")
    return to_pandas(frame).reindex(columns=FINDING_COLUMNS)


def _mask_out_of_range(frame: pl.DataFrame, failed: pl.DataFrame) -> pl.DataFrame:
    """Blank cells outside their plausible range (reported) before the cross-table rules.

    An age of 240 is reported once, as out of range, not again as inconsistent with the age
    at diagnosis; a study day of 99999 is not also "after the last contact".
    """
    cells = failed.filter(pl.col("rule") == "range")
    if not cells.height:
        return frame
    position = pl.int_range(pl.len(), dtype=pl.Int64)
    return frame.with_columns(
        pl.when(position.is_in(idx.implode())).then(None).otherwise(pl.col(col)).alias(col)
        for col, idx in ((c, cells.filter(pl.col("column") == c).get_column("index"))
                         for c in cells.get_column("column").unique().to_list())
        if col in frame.columns)


def _import_pandera() -> None:
    # an import that fails here fails again, with its message, where pandera is used
    with contextlib.suppress(ImportError):
        import pandera.pandas
        import pandera.polars  # noqa: F401


def _run(path: str, raw: dict[str, RawTable] | None, mapping: Mapping, engine: str,
         findings: Findings, contract: Contract, population: Sequence[str] = ()) -> _Run:
    required = {t.table for t in contract if t.required}
    chosen = _pick_engine(engine)
    # pandera (when asked for) takes most of a second to import: it does so while the files
    # are read and parsed (polars works without holding the interpreter lock)
    importer = threading.Thread(target=_import_pandera, name="import-pandera", daemon=True)
    if chosen != "native":
        importer.start()
    if raw is None:
        raw = read_folder(Path(path), mapping, contract.names, required, findings)
    sources = {name: t.sources for name, t in raw.items()}
    derivations = DerivationLog()
    flags = [*mapping.population, *population]
    if mapping.adam is not None:
        raw = resolve_adam(raw, mapping, flags, findings, required, derivations)
    else:
        raw = select_population(raw, mapping, flags, findings, required)
    mapped = apply_mapping(raw, mapping, contract, findings, derivations)
    read_names = list(raw)
    # the text cells are not needed once parsed: on a large file they are a gigabyte
    raw = None
    tables = {}
    for name in list(mapped):
        tables[name] = parse_table(mapped.pop(name), contract[name],
                                   decimal=mapping.csv.decimal, findings=findings)
    tables = cdisc_days(tables, mapping, findings)
    conversions = pl.DataFrame(schema=CONVERSION_LOG_SCHEMA)
    file_names = {name: ", ".join(s.name for s in srcs) for name, srcs in sources.items()}

    def check(name: str, frame: pl.DataFrame, into: Findings) -> pl.DataFrame:
        return check_table(frame, contract[name], contract, chosen, into,
                           files=file_names.get(name) or name)

    # before any check: two threads importing pandera's modules at once can deadlock on
    # Python's module locks
    if chosen != "native":
        importer.join()
    apart, failed_measurements = Findings(), None
    if "measurements" in tables:
        # the schema checks nothing unit harmonisation changes (values and units keep their
        # rows and their empty cells), so both run at once; the findings are added in the
        # usual order below. Nothing else uses pandera meanwhile (pandera loads parts of
        # itself on first use: the same deadlock; the native checks do not use it).
        with ThreadPoolExecutor(max_workers=1) as pool:
            schema_of_measurements = pool.submit(check, "measurements",
                                                 tables["measurements"], apart)
            tables["measurements"], conversions = harmonise_measurements(
                tables["measurements"], tables.get("subjects"), contract, findings)
            failed_measurements = schema_of_measurements.result()
    checked = {}
    for name, frame in tables.items():
        if name == "measurements" and failed_measurements is not None:
            failed = failed_measurements
            findings.extend(apart)
        else:
            failed = check(name, frame, findings)
        checked[name] = _mask_out_of_range(frame, failed)
    # a table a mapping step emptied is reported already, naming the step
    emptied = set(findings.frame().filter(pl.col("rule") == "empty_table")
                  .get_column("table").drop_nulls().to_list())
    empty_required(tables, findings, required - emptied, file_names)
    check_cross_table(checked, findings, unreadable=set(read_names) - set(tables))
    summary = pd.DataFrame(
        [{"table": name, "files": ", ".join(s.name for s in sources.get(name, [])),
          "rows": tables[name].height if name in tables else 0} for name in read_names],
        columns=["table", "files", "rows"])
    files = [{"table": name, "name": s.name, "path": s.path, "format": s.format,
              "sha256": s.sha256, "rows": s.n_rows}
             for name, srcs in sources.items() for s in srcs]
    report = ValidationReport(
        findings=_sort_findings(findings.frame(), contract, findings.explained()),
        tables=summary,
        conversions=conversions.to_pandas(), path=path, mapping=mapping.source,
        engine=chosen, files=files, derivations=derivations.frame().to_pandas())
    return _Run(tables, sources, conversions, report)


def _prepare(mapping: str | Path | Mapping | None,
             findings: Findings) -> Mapping | None:
    if mapping is None:
        return Mapping()
    if isinstance(mapping, Mapping):
        return mapping
    try:
        return read_mapping(mapping)
    except MappingError as exc:
        findings.add(rule="mapping", file=str(mapping), message=str(exc))
        return None


def _failed(path: str, findings: Findings, contract: Contract,
            mapping: str | None) -> ValidationReport:
    return ValidationReport(
        findings=_sort_findings(findings.frame(), contract, findings.explained()),
        tables=pd.DataFrame(columns=["table", "files", "rows"]),
        conversions=pd.DataFrame(columns=list(CONVERSION_LOG_SCHEMA)), path=path,
        mapping=mapping)


def validate(path: str | Path, *, mapping: str | Path | Mapping | None = None,
             engine: EngineChoice = "auto",
             population: Sequence[str] = ()) -> ValidationReport:
    """Check a cohort folder (or workbook) against the data contract.

    Parameters
    ----------
    path : str or Path
        A folder with one file per table, or an ``.xlsx`` workbook with a sheet per table.
    mapping : str, Path or Mapping, optional
        A mapping file, a preset name (``"adam"``) or a parsed :class:`Mapping`.
    engine : {"auto", "native", "pandas", "polars"}
        How the per-table checks run: ``auto`` (= ``native``) evaluates the contract's checks
        as polars expressions; ``pandas`` and ``polars`` run the pandera schemas built from
        the same contract on that pandera backend. All give the same findings; ``native``
        needs no pandera import and is the fastest.
    population : sequence of str
        Subjects flags selecting the population (e.g. ``["ITTFL"]``; ``"ITT"`` finds
        ``ITTFL``), added to the mapping's ``population``. Subjects outside it are removed
        from every table, with a warning per table.

    Returns
    -------
    ValidationReport
        Never raises for bad input: every problem is a finding.

    Examples
    --------
    >>> import shutil, tempfile
    >>> from pathlib import Path
    >>> import cohort
    >>> lu = cohort.datasets.load("lu2021")
    >>> report = cohort.validate(lu.path)
    >>> report.valid, report.n_errors, report.exit_code
    (True, 0, 0)

    A copy with one measurement row repeated at the end breaks the contract; each finding
    names its file, row (the file's line) and column:

    >>> tmp = Path(tempfile.mkdtemp())
    >>> folder = Path(shutil.copytree(lu.path, tmp / "lu2021"))
    >>> rows = (folder / "measurements.csv").read_text().splitlines()
    >>> _ = (folder / "measurements.csv").write_text("\\n".join(rows + rows[1:2]) + "\\n")
    >>> report = cohort.validate(folder)
    >>> report.exit_code
    1
    >>> report.findings[["file", "row", "column", "rule"]]
                   file   row                    column           rule
    0  measurements.csv     2  subject_id + day + param  duplicate_key
    1  measurements.csv  1332  subject_id + day + param  duplicate_key
    >>> shutil.rmtree(tmp)
    """
    findings = Findings()
    contract = load_contract()
    parsed = _prepare(mapping, findings)
    if parsed is None:
        return _failed(str(path), findings, contract, str(mapping))
    contract = extend_contract(contract, parsed.extras)
    return _run(str(path), None, parsed, engine, findings, contract, population).report


def _empty(spec_table: str, contract: Contract) -> pd.DataFrame:
    spec = contract[spec_table]
    frame = pl.DataFrame(schema={c.name: POLARS_TYPES[c.type] for c in spec.columns})
    return to_pandas(frame)


def _file_names(files: pl.Series) -> np.ndarray:
    """Each row's file name, as an object array whose entries share one string per file.

    (``Series.to_numpy`` makes a string object per row: 0.7 GiB for 10M rows.)
    """
    text = files.cast(pl.String)
    if text.null_count():
        return text.to_numpy()
    names = text.unique(maintain_order=True).to_list()
    codes = text.cast(pl.Enum(names)).to_physical().to_numpy()
    return np.array(names, dtype=object)[codes]


def _columns_to_pandas(owned: list[pl.DataFrame]) -> pd.DataFrame:
    """:func:`to_pandas` of the one table in ``owned``, a column at a time: the table is taken
    out of the list (the caller keeps no reference) and each polars column is freed once
    converted, so a large table is not held twice (10M measurement rows: 0.8 GiB less at the
    peak)."""
    frame = owned.pop()
    columns = {}
    for name in frame.columns:
        columns[name] = to_pandas(frame.select(name))[name]
        frame = frame.drop(name)
    return pd.DataFrame(columns, copy=False)


def _to_cohort(run: _Run, contract: Contract, path: str, mapping: str | None) -> Cohort:
    tables: dict[str, pd.DataFrame] = {}
    provenance: dict[str, TableProvenance] = {}
    for spec in contract:
        # popped: each polars table is freed once converted, not kept to the end
        frame = run.tables.pop(spec.table, None)
        if frame is None:
            tables[spec.table] = _empty(spec.table, contract)
            provenance[spec.table] = TableProvenance((), np.array([], dtype=object),
                                                     np.array([], dtype=np.int64))
            continue
        provenance[spec.table] = TableProvenance(
            tuple(run.sources.get(spec.table, [])), _file_names(frame.get_column("__file")),
            frame.get_column("__line").to_numpy())
        missing = [pl.lit(None, dtype=POLARS_TYPES[c.type]).alias(c.name)
                   for c in spec.columns if c.name not in frame.columns]
        owned = [frame.with_columns(missing).select(spec.column_names)]
        del frame
        tables[spec.table] = _columns_to_pandas(owned)
    warnings = run.report.findings[run.report.findings["severity"] == "warning"]
    return Cohort(tables=tables, provenance=provenance, conversions=run.report.conversions,
                  path=path, mapping=mapping, warnings=warnings.reset_index(drop=True),
                  derivations=run.report.derivations,
                  contract=contract)


def _raise_invalid(report: ValidationReport) -> None:
    def text(value: object) -> str:
        return "" if value is None or pd.isna(value) else str(value)

    first = report.findings[report.findings["severity"] == "error"].head(5)
    lines = [f"  {text(r.table)} {text(r.file)} row {text(r.row)} {text(r.column)}: "
             f"{r.message}" for r in first.itertuples()]
    raise InvalidCohortError(
        f"{report.path} breaks the data contract ({report.n_errors} errors; first ones "
        "below; the full list is in .report.findings):\n" + "\n".join(lines), report)


def load_cohort(path: str | Path, *, mapping: str | Path | Mapping | None = None,
                engine: EngineChoice = "auto",
                population: Sequence[str] = ()) -> Cohort:
    """Read, harmonise and validate a cohort folder; return it as a :class:`Cohort`.

    Parameters are as for :func:`validate`.

    Raises
    ------
    InvalidCohortError
        If the cohort breaks the contract or cannot be read; ``.report`` has every finding.

    Examples
    --------
    >>> import cohort
    >>> lu = cohort.load_cohort(cohort.datasets.load("lu2021").path)
    >>> len(lu.subjects), len(lu.measurements)
    (53, 1330)
    >>> lu.measurements.query("param == 'CPEP_FAST'")["unit"].unique().tolist()
    ['nmol/L']
    """
    findings = Findings()
    contract = load_contract()
    parsed = _prepare(mapping, findings)
    if parsed is None:
        _raise_invalid(_failed(str(path), findings, contract, str(mapping)))
    assert parsed is not None
    contract = extend_contract(contract, parsed.extras)
    run = _run(str(path), None, parsed, engine, findings, contract, population)
    if not run.report.valid:
        _raise_invalid(run.report)
    return _to_cohort(run, contract, str(path), parsed.source)


def from_frames(tables: MappingType[str, pd.DataFrame], *,
                engine: EngineChoice = "auto",
                extras: Extras | None = None) -> Cohort:
    """Validate in-memory tables (contract column names) and return a :class:`Cohort`.

    Rows are reported by their 1-based position, with ``<table DataFrame>`` as the file.
    ``extras`` declares study-specific subject variables and parameters
    (:class:`cohort.extras.Extras`), validated like the contract's.

    Raises
    ------
    InvalidCohortError
        If the tables break the contract.
    """
    findings = Findings()
    contract = extend_contract(load_contract(), extras)
    raw: dict[str, RawTable] = {}
    for name, frame in tables.items():
        if name not in contract.names:
            raise InvalidCohortError(f"unknown table {name!r}; tables: "
                                     f"{', '.join(contract.names)}", None)
        label = f"<{name} DataFrame>"
        pl_frame = pl.from_pandas(pd.DataFrame(frame).reset_index(drop=True))
        pl_frame = pl_frame.with_columns(
            pl.lit(label, dtype=pl.Categorical).alias("__file"),
            (pl.int_range(pl.len(), dtype=pl.Int64) + 1).alias("__line"))
        raw[name] = RawTable(name, pl_frame, [SourceFile(label, label, "dataframe", None, "",
                                                         pl_frame.height)])
    for spec in contract:
        if spec.required and spec.table not in raw:
            findings.add(rule="missing_table", table=spec.table,
                         message=f"required table {spec.table} was not given")
    run = _run("<DataFrames>", raw, Mapping(extras=extras or Extras()), engine, findings,
               contract)
    if not run.report.valid:
        _raise_invalid(run.report)
    return _to_cohort(run, contract, "<DataFrames>", None)

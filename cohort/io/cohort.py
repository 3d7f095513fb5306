"""The :class:`Cohort`: validated contract tables plus where every row came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cohort.contract import Contract
from cohort.io.read import SourceFile

__all__ = ["Cohort", "TableProvenance"]


@dataclass(frozen=True)
class TableProvenance:
    """Where the rows of one table came from.

    Attributes
    ----------
    sources : tuple of SourceFile
        The files (or sheets) read, with their SHA-256 hashes.
    file : numpy.ndarray of str
        For each row of the table, the name of its file (as in findings).
    line : numpy.ndarray of int
        For each row, its line in a CSV, row in a sheet, or 1-based record in Parquet.
    """

    sources: tuple[SourceFile, ...]
    file: np.ndarray
    line: np.ndarray


@dataclass(frozen=True)
class Cohort:
    """A cohort that passed the data contract.

    Tables are pandas DataFrames with the contract's columns and dtypes (``string[pyarrow]``,
    ``Int64``, ``float64``, ``boolean``); measurement values are in canonical units. Tables the
    folder did not have are empty frames with the contract's columns. Build one with
    :func:`cohort.load_cohort` or :func:`cohort.from_frames`, never by hand: the constructor
    does not validate.

    Attributes
    ----------
    tables : mapping of str to DataFrame
        ``subjects``, ``infusions``, ``measurements``, ``adverse_events``, ``medications``.
    provenance : mapping of str to TableProvenance
        Source files and the source row of every table row.
    conversions : DataFrame
        Unit conversions applied on load: ``param``, ``from_unit``, ``to_unit``, ``rule``, ``n``.
    path : str
        The folder (or workbook) the cohort was read from.
    mapping : str or None
        The mapping file used, if any.
    warnings : DataFrame
        Contract findings of severity ``warning`` (errors prevent loading).
    derivations : DataFrame
        What the mapping derived (study days and ages from dates, BMI, scaled and censored
        values): ``table``, ``column``, ``rule``, ``n``.
    contract : Contract or None
        The contract the cohort was validated against, with its declared extras (labels and
        units of every column and parameter, for tables).
    """

    tables: Mapping[str, pd.DataFrame]
    provenance: Mapping[str, TableProvenance]
    conversions: pd.DataFrame
    path: str
    mapping: str | None = None
    warnings: pd.DataFrame = field(default_factory=pd.DataFrame)
    derivations: pd.DataFrame = field(default_factory=pd.DataFrame)
    contract: Contract | None = field(default=None, repr=False, compare=False)

    @property
    def subjects(self) -> pd.DataFrame:
        """One row per subject."""
        return self.tables["subjects"]

    @property
    def infusions(self) -> pd.DataFrame:
        """One row per administration (may be empty)."""
        return self.tables["infusions"]

    @property
    def measurements(self) -> pd.DataFrame:
        """Long-format measurements in canonical units."""
        return self.tables["measurements"]

    @property
    def adverse_events(self) -> pd.DataFrame:
        """One row per adverse event (may be empty)."""
        return self.tables["adverse_events"]

    @property
    def medications(self) -> pd.DataFrame:
        """Glucose-lowering medication periods (may be empty)."""
        return self.tables["medications"]

    @property
    def time_to_event(self) -> pd.DataFrame:
        """One row per subject and time-to-event parameter (may be empty; ADaM ADTTE)."""
        return self.tables["time_to_event"]

    @property
    def files(self) -> list[SourceFile]:
        """Every source file read, with its hash (for run manifests)."""
        return [s for p in self.provenance.values() for s in p.sources]

    def source_of(self, table: str, index: int) -> tuple[str, int]:
        """(file, line) a row of ``table`` was read from; ``index`` is its position."""
        prov = self.provenance[table]
        return str(prov.file[index]), int(prov.line[index])

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.tables.items() if len(v))
        return f"Cohort({self.path!r}: {sizes})"

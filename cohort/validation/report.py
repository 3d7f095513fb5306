"""The :class:`ValidationReport`: every finding of a validation run, as data."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cohort.findings import FINDING_COLUMNS, READ_RULES

__all__ = ["ValidationReport"]


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating a cohort against the data contract.

    Attributes
    ----------
    findings : DataFrame
        One row per finding, columns ``severity`` (``error`` or ``warning``), ``table``,
        ``file``, ``row`` (line in a CSV, row in a sheet, 1-based record in Parquet; empty for
        file- and column-level findings), ``column``, ``rule``, ``value`` (as read) and
        ``message``. Sorted by table, file and row.
    tables : DataFrame
        What was read: ``table``, ``files``, ``rows``.
    conversions : DataFrame
        Unit conversions applied: ``param``, ``from_unit``, ``to_unit``, ``rule``, ``n``.
    path : str
        The folder or workbook validated.
    mapping : str or None
        The mapping file or preset used.
    engine : str
        ``pandas`` or ``polars``: the pandera backend that ran the table schemas.
    """

    findings: pd.DataFrame
    tables: pd.DataFrame
    conversions: pd.DataFrame
    path: str
    mapping: str | None = None
    engine: str = "pandas"
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_errors(self) -> int:
        """Number of findings with severity ``error``."""
        return int((self.findings["severity"] == "error").sum())

    @property
    def n_warnings(self) -> int:
        """Number of findings with severity ``warning``."""
        return int((self.findings["severity"] == "warning").sum())

    @property
    def valid(self) -> bool:
        """True when there are no errors (warnings are allowed)."""
        return self.n_errors == 0

    @property
    def exit_code(self) -> int:
        """0 valid, 1 the data break the contract, 2 the input could not be read."""
        if self.findings["rule"].isin(READ_RULES).any():
            return 2
        return 0 if self.valid else 1

    @property
    def summary(self) -> pd.DataFrame:
        """Counts of findings by ``severity``, ``table`` and ``rule`` (column ``n``)."""
        if self.findings.empty:
            return pd.DataFrame(columns=["severity", "table", "rule", "n"])
        return (self.findings.fillna({"table": ""})
                .groupby(["severity", "table", "rule"], sort=True).size()
                .rename("n").reset_index())

    def to_dict(self, max_findings: int | None = None) -> dict[str, Any]:
        """A JSON-ready dict (keys documented in the README)."""
        findings = self.findings if max_findings is None else self.findings.head(max_findings)
        records = findings.astype(object).where(findings.notna(), None).to_dict("records")
        for rec in records:
            if rec["row"] is not None:
                rec["row"] = int(rec["row"])
        from cohort import __version__

        return {
            "cohort_version": __version__,
            "path": self.path,
            "mapping": self.mapping,
            "engine": self.engine,
            "valid": self.valid,
            "exit_code": self.exit_code,
            "counts": {"errors": self.n_errors, "warnings": self.n_warnings},
            "files": self.files,
            "tables": self.tables.to_dict("records"),
            "conversions": self.conversions.to_dict("records"),
            "summary": self.summary.to_dict("records"),
            "findings": records,
            "findings_truncated": len(findings) < len(self.findings),
        }

    def to_json(self, max_findings: int | None = None, indent: int | None = 2) -> str:
        """The report as one JSON document."""
        return json.dumps(self.to_dict(max_findings), indent=indent, default=_json_default)

    def __repr__(self) -> str:
        return (f"ValidationReport({self.path!r}: {'valid' if self.valid else 'invalid'}, "
                f"{self.n_errors} errors, {self.n_warnings} warnings)")


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


EMPTY_FINDINGS = pd.DataFrame({c: pd.Series(dtype="object") for c in FINDING_COLUMNS})

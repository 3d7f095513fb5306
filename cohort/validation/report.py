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
    derivations : DataFrame
        What a mapping derived (study days and ages from dates, BMI, censored values):
        ``table``, ``column``, ``rule``, ``n``.
    path : str
        The folder or workbook validated.
    mapping : str or None
        The mapping file or preset used.
    engine : str
        How the per-table checks ran: ``native`` (polars expressions), or ``pandas`` /
        ``polars``, the pandera backend that ran the table schemas.
    """

    findings: pd.DataFrame
    tables: pd.DataFrame
    conversions: pd.DataFrame
    path: str
    mapping: str | None = None
    engine: str = "native"
    files: list[dict[str, Any]] = field(default_factory=list)
    derivations: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["table", "column", "rule", "n"]))

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
    def error(self) -> str | None:
        """What is wrong in one line (None when valid): the ``error`` of the JSON document,
        as every command's failure document has one."""
        if self.valid:
            return None
        what = "cannot be read" if self.exit_code == 2 else "breaks the data contract"
        n = self.n_errors
        return f"{self.path} {what} ({n} error{'s' if n != 1 else ''}; see findings)"

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
        return self._document(findings, _findings_frame(findings).to_dicts())

    def _document(self, findings: pd.DataFrame, records: list[dict[str, Any]]) -> dict[str, Any]:
        from cohort import __version__

        return {
            "cohort_version": __version__,
            "path": self.path,
            "mapping": self.mapping,
            "engine": self.engine,
            "valid": self.valid,
            "exit_code": self.exit_code,
            "error": self.error,
            "counts": {"errors": self.n_errors, "warnings": self.n_warnings},
            "files": self.files,
            "tables": self.tables.to_dict("records"),
            "conversions": self.conversions.to_dict("records"),
            "derivations": self.derivations.to_dict("records"),
            "summary": self.summary.to_dict("records"),
            "findings": records,
            "findings_truncated": len(findings) < len(self.findings),
        }

    def to_json(self, max_findings: int | None = None, indent: int | None = 2) -> str:
        """The report as one JSON document (indented: one finding per line)."""
        if indent is None:  # json's C encoder: fast enough as it is
            return json.dumps(self.to_dict(max_findings), default=_json_default)
        findings = self.findings if max_findings is None else self.findings.head(max_findings)
        text = json.dumps(self._document(findings, []), indent=indent, default=_json_default)
        if findings.empty:
            return text
        # json.dumps with an indent runs its pure-Python encoder: 5 s for 100,000 findings.
        # polars writes them in 0.1 s; the document is the same JSON.
        # one record per "\n" (str.splitlines would also split at U+2028 inside a value)
        lines = _findings_frame(findings).write_ndjson().rstrip("\n").split("\n")
        lines = [line if line.isascii() else json.dumps(json.loads(line)) for line in lines]
        pad = " " * indent
        body = "[\n" + pad * 2 + (",\n" + pad * 2).join(lines) + "\n" + pad + "]"
        head, _, tail = text.partition('"findings": []')
        return head + '"findings": ' + body + tail

    def __repr__(self) -> str:
        return (f"ValidationReport({self.path!r}: {'valid' if self.valid else 'invalid'}, "
                f"{self.n_errors} errors, {self.n_warnings} warnings)")


def _findings_frame(findings: pd.DataFrame) -> Any:
    """Findings as polars, with the JSON types: text, ``row`` an integer, nulls for NA."""
    import polars as pl

    schema = {"row": pl.Int64}
    frame = pl.from_pandas(findings.reindex(columns=FINDING_COLUMNS).astype(
        {c: "string[pyarrow]" for c in FINDING_COLUMNS if c != "row"} | {"row": "Int64"}))
    return frame.cast({c: schema.get(c, pl.String) for c in FINDING_COLUMNS})


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


EMPTY_FINDINGS = pd.DataFrame({c: pd.Series(dtype="object") for c in FINDING_COLUMNS})

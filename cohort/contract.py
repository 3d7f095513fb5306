"""The data contract: table specifications read from ``schemas/*.yaml``.

The YAML files are the single source of truth. From them this module builds

* :class:`TableSpec` objects (columns, types, units, allowed codes, ranges, descriptions);
* pandera schemas for pandas (:func:`pandas_schema`) and for polars (:func:`polars_schema`),
  strict (unknown columns are failures) and without coercion;
* the Markdown data dictionary (:func:`data_dictionary`).

Cross-table rules (subjects referenced by other tables, infusions after last contact, ...)
cannot be expressed per table; they live in :mod:`cohort.validation.rules`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cohort._resources import data_path
from cohort.errors import ContractError
from cohort.io.yaml_safe import load_yaml_file

if TYPE_CHECKING:  # pandera is imported lazily: `cohort --help` must stay fast
    import pandera.pandas as pa_pd
    import pandera.polars as pa_pl

__all__ = [
    "ColumnSpec",
    "Contract",
    "ParameterSpec",
    "TableSpec",
    "data_dictionary",
    "load_contract",
    "pandas_schema",
    "polars_schema",
]

ColumnType = Literal["string", "integer", "number", "boolean"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    """One column of a contract table."""

    name: str
    type: ColumnType
    required: bool = Field(description="The column must be present in the input.")
    nullable: bool = Field(description="Missing values are allowed.")
    description: str
    unit: str | None = None
    allowed: dict[str, str] | None = Field(
        default=None, description="Allowed codes with their meaning."
    )
    allowed_from: Literal["parameters"] | None = None
    range: tuple[float, float] | None = Field(
        default=None, description="Inclusive plausible range, in the canonical unit."
    )
    added_by_loader: bool = False
    extra: bool = Field(default=False, description="Declared by a mapping or study spec, not "
                        "part of the packaged contract.")

    @model_validator(mode="after")
    def _check(self) -> ColumnSpec:
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range of {self.name} has min > max: {self.range}")
        if self.range is not None and self.type not in ("integer", "number"):
            raise ValueError(f"range given for non-numeric column {self.name}")
        return self


class ParameterSpec(_Strict):
    """A measurement parameter: canonical unit, accepted input units, plausible range.

    ``plausible`` is None only for a declared extra parameter without a range (no range is
    invented for it); ``extra`` marks parameters declared by a mapping or study spec.
    """

    code: str
    description: str
    unit: str
    accepted_units: tuple[str, ...]
    plausible: tuple[float, float] | None
    extra: bool = False
    typical_median: tuple[float, float] | None = None
    """Range of the median of a file's non-zero values in one unit (canonical unit): a median
    outside it, plausible in another unit, means the unit is wrong for the whole file."""

    @model_validator(mode="after")
    def _check(self) -> ParameterSpec:
        if self.unit not in self.accepted_units:
            raise ValueError(f"canonical unit {self.unit!r} of {self.code} is not accepted")
        if self.plausible is None and not self.extra:
            raise ValueError(f"plausible range of {self.code} is missing")
        if self.plausible is not None and self.plausible[0] > self.plausible[1]:
            raise ValueError(f"plausible range of {self.code} has min > max")
        return self


class TableSpec(_Strict):
    """One table of the contract, as read from ``schemas/<table>.yaml``."""

    table: str
    title: str
    description: str
    required: bool
    primary_key: tuple[str, ...] = ()
    primary_key_where: str | None = None
    """A boolean column: when the table has it, the key holds among the rows where it is not
    false (ADaM's analysis records), not among every row."""
    columns: tuple[ColumnSpec, ...]
    parameters: dict[str, ParameterSpec] | None = None

    @model_validator(mode="before")
    @classmethod
    def _parameters_codes(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("parameters"), dict):
            data = dict(data)
            data["parameters"] = {
                code: {"code": code, **spec} for code, spec in data["parameters"].items()
            }
        return data

    @model_validator(mode="after")
    def _check(self) -> TableSpec:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicated column names in {self.table}")
        for key in self.primary_key:
            if key not in names:
                raise ValueError(f"primary key column {key!r} is not a column of {self.table}")
        if self.primary_key_where is not None and self.primary_key_where not in names:
            raise ValueError(f"primary_key_where {self.primary_key_where!r} is not a column of "
                             f"{self.table}")
        for col in self.columns:
            if col.allowed_from == "parameters" and not self.parameters:
                raise ValueError(f"{col.name} takes its codes from parameters, which are missing")
        return self

    @property
    def column_names(self) -> list[str]:
        """All column names, in contract order."""
        return [c.name for c in self.columns]

    @property
    def input_columns(self) -> list[ColumnSpec]:
        """Columns a user may supply (excludes those the loader adds)."""
        return [c for c in self.columns if not c.added_by_loader]

    def column(self, name: str) -> ColumnSpec:
        """Return the spec of column ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.table} has no column {name!r}")

    def allowed_codes(self, col: ColumnSpec) -> list[str] | None:
        """The allowed codes of ``col`` (parameter codes for ``allowed_from: parameters``)."""
        if col.allowed is not None:
            return list(col.allowed)
        if col.allowed_from == "parameters" and self.parameters:
            return list(self.parameters)
        return None


class Contract(_Strict):
    """The whole data contract: every table spec, in a fixed order."""

    tables: dict[str, TableSpec]

    def __getitem__(self, table: str) -> TableSpec:
        try:
            return self.tables[table]
        except KeyError:
            raise KeyError(
                f"unknown table {table!r}; the contract has {', '.join(self.tables)}"
            ) from None

    def __iter__(self):  # type: ignore[override]
        return iter(self.tables.values())

    @property
    def names(self) -> list[str]:
        """Table names in contract order."""
        return list(self.tables)

    @property
    def parameters(self) -> dict[str, ParameterSpec]:
        """The measurement parameters."""
        return dict(self.tables["measurements"].parameters or {})


TABLE_ORDER = ("subjects", "infusions", "measurements", "adverse_events", "medications",
               "time_to_event")


@cache
def load_contract(folder: Path | None = None) -> Contract:
    """Read the contract from ``folder`` (default: the packaged ``schemas/``).

    Raises
    ------
    ContractError
        If a file is missing or malformed; the message names the file and key.
    """
    folder = Path(folder) if folder is not None else data_path("schemas")
    tables: dict[str, TableSpec] = {}
    for name in TABLE_ORDER:
        path = folder / f"{name}.yaml"
        raw = load_yaml_file(path, what="contract file", error=ContractError)
        try:
            spec = TableSpec.model_validate(raw)
        except ValidationError as exc:
            raise ContractError(f"contract file {path} is malformed:\n{exc}") from exc
        if spec.table != name:
            raise ContractError(f"{path} declares table {spec.table!r}, expected {name!r}")
        tables[name] = spec
    return Contract(tables=tables)


# ---------------------------------------------------------------------------------------------
# pandera schemas

PANDAS_DTYPES = {"string": "string[pyarrow]", "integer": "Int64", "number": "float64",
                 "boolean": "boolean"}
"""pandas dtype of each contract type: nullable extension types, numpy float for numbers."""


def _checks(module: Any, spec: TableSpec, col: ColumnSpec) -> list[Any]:
    checks = []
    codes: list[Any] | None = spec.allowed_codes(col)
    if codes is not None:
        if col.type == "integer":  # integer codes (declared extras) are compared as numbers
            codes = [int(c) for c in codes]
        checks.append(module.Check.isin(codes, name="allowed_values"))
    if col.range is not None:
        checks.append(module.Check.in_range(col.range[0], col.range[1], name="range"))
    return checks


def pandas_schema(table: str, *, contract: Contract | None = None,
                  check_key: bool = True) -> pa_pd.DataFrameSchema:
    """Build the pandera (pandas backend) schema of ``table``.

    The schema is strict (unknown columns fail), never coerces, and checks dtypes, nulls,
    allowed codes, plausible ranges and (unless ``check_key`` is False) that the primary key is
    unique. Columns the loader adds are optional.
    """
    import pandera.pandas as pa

    spec = (contract or load_contract())[table]
    columns = {
        col.name: pa.Column(
            PANDAS_DTYPES[col.type],
            checks=_checks(pa, spec, col),
            nullable=col.nullable,
            required=col.required and not col.added_by_loader,
            description=col.description,
            title=col.name,
        )
        for col in spec.columns
    }
    return pa.DataFrameSchema(
        columns,
        name=table,
        strict=True,
        coerce=False,
        unique=(list(spec.primary_key) or None) if check_key else None,
        report_duplicates="all",
        description=spec.description,
    )


def polars_schema(table: str, *, contract: Contract | None = None,
                  check_key: bool = True) -> pa_pl.DataFrameSchema:
    """Build the pandera (polars backend) schema of ``table``; rules as :func:`pandas_schema`."""
    import pandera.polars as pa
    import polars as pl

    dtypes = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64,
              "boolean": pl.Boolean}
    spec = (contract or load_contract())[table]
    columns = {
        col.name: pa.Column(
            dtypes[col.type],
            checks=_checks(pa, spec, col),
            nullable=col.nullable,
            required=col.required and not col.added_by_loader,
            description=col.description,
            title=col.name,
        )
        for col in spec.columns
    }
    return pa.DataFrameSchema(
        columns,
        name=table,
        strict=True,
        coerce=False,
        unique=(list(spec.primary_key) or None) if check_key else None,
        report_duplicates="all",
        description=spec.description,
    )


# ---------------------------------------------------------------------------------------------
# the data dictionary


def _fmt_range(rng: tuple[float, float] | None) -> str:
    return "" if rng is None else f"{rng[0]:g} to {rng[1]:g}"


def data_dictionary(contract: Contract | None = None) -> str:
    """Render the contract as a Markdown data dictionary for people."""
    contract = contract or load_contract()
    out = [
        "# Data dictionary",
        "",
        "Generated from `schemas/*.yaml` by `cohort dictionary`; do not edit by hand.",
        "",
        "A cohort is a folder with one file per table (`<table>.csv`, `.parquet` or `.xlsx`, or "
        "one workbook with a sheet per table). Times are integer study days: day 0 is the first "
        "infusion for treated subjects and randomisation or enrolment for controls.",
        "",
    ]
    for spec in contract:
        out += [f"## `{spec.table}`: {spec.title}", "", spec.description.strip(), ""]
        out.append(f"Required table: {'yes' if spec.required else 'no'}. "
                   f"Unique key: {', '.join(spec.primary_key) or 'none'}.")
        out += ["", "| column | type | required | missing allowed | unit | allowed | range | "
                "description |", "|---|---|---|---|---|---|---|---|"]
        for col in spec.columns:
            codes = spec.allowed_codes(col)
            if col.allowed:
                allowed = "; ".join(f"`{k}` {v}".strip() for k, v in col.allowed.items())
            elif codes:
                allowed = "see parameters"
            else:
                allowed = ""
            required = "added by loader" if col.added_by_loader else (
                "yes" if col.required else "no")
            if col.extra:
                required += " (declared extra)"
            out.append(
                f"| `{col.name}` | {col.type} | {required} | {'yes' if col.nullable else 'no'} "
                f"| {col.unit or ''} | {allowed} | {_fmt_range(col.range)} | "
                f"{col.description.strip()} |"
            )
        out.append("")
        if spec.parameters:
            out += ["### Parameters", "", "| param | description | canonical unit | accepted "
                    "units | plausible range | typical median |", "|---|---|---|---|---|---|"]
            for p in spec.parameters.values():
                typical = _fmt_range(p.typical_median) if p.typical_median else ""
                out.append(f"| `{p.code}`{' (declared extra)' if p.extra else ''} | "
                           f"{p.description} | {p.unit} | "
                           f"{', '.join(p.accepted_units)} | {_fmt_range(p.plausible)} | "
                           f"{typical} |")
            out += ["", "A value outside its plausible range is an error. The typical median "
                    "bounds the median of the non-zero values of one parameter in one unit in "
                    "one file: outside it, when the values read in another unit would be "
                    "typical, every row is a `unit_mismatch` naming that unit (a file of "
                    "C-peptide values in nmol/L labelled pmol/L).", ""]
    return "\n".join(out)

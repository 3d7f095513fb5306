"""Mapping files: how a user's own tables map onto the contract, without editing them.

A mapping is a YAML file (see the README for a full example)::

    extends: adam                 # optional: start from a bundled preset
    csv: {delimiter: ";", encoding: latin-1, decimal: ","}
    ignore: [notes]               # files or sheets that are not cohort tables
    tables:
      subjects:
        file: patients            # source file stem or sheet name (default: the table name)
        columns: {PatientID: subject_id, Group: arm, SITE: site_id}   # source -> contract
        recode: {sex: {Male: M, Female: F}}                 # contract column -> value map
        derive: {control: {from: arm, map: {Placebo: true}, default: false}}
        constants: {study_id: LU2021}
        drop: [Comment]
        optional: [SITE]          # renamed if present; no error when a file lacks them
        unmapped: error           # or drop: columns neither mapped nor in the contract
        cdisc_days: []            # contract day columns holding CDISC study days (no day 0)
        keep: {param: [HBA1C]}    # only rows with these codes (after recoding); a warning
                                  # counts the rows left out
    study_days:                   # derive integer study days from dates
      origin: [FIRST_INFUSION_DATE, RANDOMISATION_DATE]   # subjects columns, first non-empty
      columns: {measurements.VISIT_DATE: day, subjects.LAST_VISIT: last_contact_day}

Nothing in a mapping is evaluated as code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cohort._resources import data_path
from cohort.errors import MappingError
from cohort.extras import Extras
from cohort.io.yaml_safe import load_yaml_file

__all__ = ["CsvOptions", "DeriveSpec", "Mapping", "StudyDays", "TableMapping", "read_mapping"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _scalar_key(value: Any) -> str:
    # YAML turns `yes`, `1` and `1.0` into bool/int/float keys; data values are compared as text
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class CsvOptions(_Strict):
    """How CSV files are read."""

    delimiter: str = Field(",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    decimal: Literal[".", ","] = "."


class DeriveSpec(_Strict):
    """A new contract column made by recoding another column."""

    from_: str = Field(alias="from")
    map: dict[str, Any]
    default: Any = None

    @field_validator("map", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        return {_scalar_key(k): v for k, v in value.items()} if isinstance(value, dict) else value


class TableMapping(_Strict):
    """How one contract table is built from the user's files."""

    file: str | list[str] | None = None
    sheet: str | None = None
    columns: dict[str, str] = {}
    recode: dict[str, dict[str, Any]] = {}
    derive: dict[str, DeriveSpec] = {}
    constants: dict[str, Any] = {}
    drop: list[str] = []
    optional: list[str] = []
    unmapped: Literal["error", "drop"] = "error"
    cdisc_days: list[str] = []
    keep: dict[str, list[Any]] = {}

    @field_validator("keep", mode="before")
    @classmethod
    def _values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {col: ([_scalar_key(v) for v in vals] if isinstance(vals, list) else vals)
                    for col, vals in value.items()}
        return value

    @field_validator("recode", mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {col: ({_scalar_key(k): v for k, v in m.items()} if isinstance(m, dict) else m)
                    for col, m in value.items()}
        return value

    @property
    def files(self) -> list[str] | None:
        """Source file stems (or sheet names), or None for the default (the table name)."""
        if self.file is None:
            return None
        return [self.file] if isinstance(self.file, str) else list(self.file)


class StudyDays(_Strict):
    """Derive study days from calendar dates (ISO 8601 text or date-typed columns)."""

    origin: str | list[str]
    columns: dict[str, str]

    @property
    def origins(self) -> list[str]:
        """The subjects columns holding day 0, in order of preference."""
        return [self.origin] if isinstance(self.origin, str) else list(self.origin)


class Mapping(_Strict):
    """A parsed mapping file."""

    extends: str | None = None
    csv: CsvOptions = CsvOptions()
    ignore: list[str] = []
    tables: dict[str, TableMapping] = {}
    study_days: StudyDays | None = None
    extras: Extras = Extras()
    source: str | None = Field(None, exclude=True, description="Where the mapping was read from.")

    def table(self, name: str) -> TableMapping:
        """The mapping of table ``name`` (empty if the mapping does not mention it)."""
        return self.tables.get(name, TableMapping())


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def preset_names() -> list[str]:
    """Names of the bundled mapping presets (usable as ``--mapping NAME`` or ``extends: NAME``)."""
    return sorted(p.stem for p in data_path("presets").glob("*.yaml"))


def _load_yaml(path: Path) -> dict[str, Any]:
    raw = load_yaml_file(path, what="mapping file", error=MappingError)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MappingError(
            f"mapping file {path} must hold a YAML mapping, got {type(raw).__name__}")
    return raw


def read_mapping(source: str | Path) -> Mapping:
    """Read a mapping file, or a bundled preset by name (``"adam"``).

    Raises
    ------
    MappingError
        If the file cannot be read or breaks the mapping format; the message names the key.
    """
    path = Path(source)
    if not path.exists() and str(source) in preset_names():
        path = data_path("presets") / f"{source}.yaml"
    raw = _load_yaml(path)
    parent = raw.pop("extends", None)
    if parent is not None:
        if parent not in preset_names():
            raise MappingError(
                f"{path}: extends: {parent!r} is not a preset; presets: "
                f"{', '.join(preset_names())}")
        raw = _merge(_load_yaml(data_path("presets") / f"{parent}.yaml"), raw)
    try:
        mapping = Mapping.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise MappingError(f"mapping file {path} is invalid: {problems}") from None
    return mapping.model_copy(update={"source": str(path), "extends": parent})

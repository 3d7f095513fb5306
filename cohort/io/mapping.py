"""Mapping files: how a user's own tables map onto the contract, without editing them.

A mapping is a YAML file (docs/validate.md describes every key)::

    extends: adam                 # optional: a preset, or another mapping file (or a list)
    remove: {tables: {measurements: {columns: [AVALU]}}}   # keys taken out of what is extended
    csv: {delimiter: ";", encoding: latin-1, decimal: ","}
    date_format: "%d/%m/%Y"       # or excel, sas_date, sas_datetime, or a list
    ignore: [notes]               # files or sheets that are not cohort tables
    extras:                       # study-specific variables and parameters (cohort.extras)
      subjects: {gad: {type: string, allowed: [positive, negative]}}
      parameters: {GLUC_SERUM: {unit: mmol/L}}
    tables:
      subjects:
        file: patients            # source file stem or sheet name (default: the table name)
        missing_file: error       # or skip: the named file may be absent
        columns: {PatientID: subject_id, Group: arm, SITE: site_id}   # source -> contract
        recode: {sex: {Male: M, Female: F}}                 # contract column -> value map
        derive: {control: {from: arm, map: {Placebo: true}, default: false}}
        constants: {study_id: LU2021}
        drop: [Comment]
        optional: [SITE]          # renamed if present; no error when a file lacks them
        unmapped: error           # or drop: columns neither mapped nor in the contract
        compute: [bmi_kg_m2]      # from weight_kg and height_cm
        scale: {dose_cells_per_kg: 1.0e6}   # a column in other multiples (10^6 cells/kg)
        date_formats: {DOB: excel}   # per date column (wins over date_format)
      measurements:
        cdisc_days: [day]         # contract day columns holding CDISC study days (no day 0)
        keep: {param: [HBA1C]}    # only rows with these codes (after recoding); a warning
                                  # counts the rows left out
        drop_empty: [value, day]  # rows with an empty cell left out (counted)
        censored: {below: half_limit}   # <10, >33.3, below LOD
        units_from_names: [param] # "HbA1c (mmol/mol)": param HbA1c, unit mmol/mol
        unpivot: ["HbA1c (mmol/mol)", ...]   # a wide sheet: one column per test -> rows
    population: [ITTFL]           # subjects flag(s) "Y"/true selecting who is analysed
    adam: {}                      # CDISC ADaM conventions (the adam preset sets this);
                                  # adam.drug_classes: {COHORTIDE: glp1} classes ADEX EXTRT
    study_days:                   # derive integer study days from dates
      origin: [FIRST_INFUSION_DATE, RANDOMISATION_DATE]   # subjects columns, first non-empty
      columns: {measurements.VISIT_DATE: day, subjects.LAST_VISIT: last_contact_day}
      birth_date: DOB             # age_years at day 0
      diagnosis_date: DX_DATE     # diabetes_duration_years, age_at_diagnosis_years
      last_contact: latest        # last_contact_day: the latest dated record

Codes are compared typed and trimmed (:mod:`cohort.io.codes`).
Nothing in a mapping is evaluated as code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cohort._resources import data_path
from cohort.errors import MappingError
from cohort.extras import Extras
from cohort.io.dates import check_format
from cohort.io.yaml_safe import load_yaml_file

__all__ = ["AdamOptions", "CensoredSpec", "CsvOptions", "DeriveSpec", "Mapping", "StudyDays",
           "TableMapping",
           "read_mapping"]


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


def _formats(value: Any) -> Any:
    """A date format or a list of them, each checked (:func:`cohort.io.dates.check_format`)."""
    items = [value] if isinstance(value, str) else value
    if isinstance(items, list):
        for item in items:
            problem = check_format(item) if isinstance(item, str) else None
            if problem:
                raise ValueError(problem)
    return items


class CensoredSpec(_Strict):
    """How censored values (``<10``, ``>33.3``, ``below LOD``) of ``value`` are read and used.

    A censored cell is kept: its limit is the value as read (``value_original``) and its
    qualifier (``<`` or ``>``) goes to ``qualifier``; ``value`` follows the declared rule.
    """

    below: Literal["half_limit", "limit", "exclude"]
    above: Literal["limit", "exclude"] = "limit"
    limits: dict[str, float] = Field(
        default={}, description="Limit of detection per parameter code (after recoding), in "
        "the unit of the row, for cells such as 'below LOD' that do not give it.")


class TableMapping(_Strict):
    """How one contract table is built from the user's files."""

    file: str | list[str] | None = None
    missing_file: Literal["error", "skip"] = "error"
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
    date_formats: dict[str, list[str]] = {}
    drop_empty: list[str] = []
    compute: list[Literal["bmi_kg_m2"]] = []
    scale: dict[str, float] = Field(
        default={}, description="Numeric contract columns multiplied by a factor: a dose "
        "given in 10^6 cells/kg becomes cells/kg with {dose_cells_per_kg: 1.0e6}.")
    censored: CensoredSpec | None = None
    unpivot: list[str] = Field(
        default=[], description="measurements from a wide sheet: these source columns (one "
        "per test) become rows, the column name in param and the cell in value.")
    units_from_names: list[str] = Field(
        default=[], description="Contract columns whose unit is in a name's trailing "
        "parentheses: param ('HbA1c (mmol/mol)' -> param HbA1c, unit mmol/mol), value (the "
        "unit of the source column's name), or a subjects column to check "
        "(cohort.io.name_units).")

    @field_validator("date_formats", mode="before")
    @classmethod
    def _date_formats(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {col: _formats(fmt) for col, fmt in value.items()}
        return value

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
    """Derive study days, and the subjects columns that dates give, from calendar dates."""

    origin: str | list[str]
    columns: dict[str, str] = {}
    birth_date: str | None = Field(None, description="subjects column: date of birth; gives "
                                   "age_years at day 0")
    diagnosis_date: str | None = Field(None, description="subjects column: date of diabetes "
                                       "diagnosis; gives diabetes_duration_years (and, with "
                                       "birth_date, age_at_diagnosis_years)")
    last_contact: Literal["latest"] | None = Field(None, description="latest: "
                                                   "last_contact_day is the subject's latest "
                                                   "dated record in any table")

    @property
    def origins(self) -> list[str]:
        """The subjects columns holding day 0, in order of preference."""
        return [self.origin] if isinstance(self.origin, str) else list(self.origin)


class AdamOptions(_Strict):
    """CDISC ADaM conventions, resolved from the datasets present (see cohort.io.adam)."""

    origin: list[str] = ["TRTSDT", "TRTSDTM", "RANDDT", "RFSTDTC"]
    last_contact: list[str] = ["LSTALVDT", "EOSDT"]
    screen_failures: Literal["exclude", "keep"] = "exclude"
    drug_classes: dict[str, Literal["insulin", "metformin", "sulfonylurea", "dpp4", "sglt2",
                                    "glp1", "tzd", "other"]] = Field(
        default={}, description="ADEX EXTRT -> medications drug class, for treatments whose "
        "name has no WHO INN stem of a glucose-lowering class (cohort.io.adam_exposure)")


class Mapping(_Strict):
    """A parsed mapping file."""

    extends: str | list[str] | None = None
    csv: CsvOptions = CsvOptions()
    date_format: list[str] = []
    ignore: list[str] = []
    tables: dict[str, TableMapping] = {}
    study_days: StudyDays | None = None
    extras: Extras = Extras()
    adam: AdamOptions | None = None
    population: list[str] = []

    @field_validator("population", mode="before")
    @classmethod
    def _flags(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value
    source: str | None = Field(None, exclude=True, description="Where the mapping was read from.")

    @field_validator("date_format", mode="before")
    @classmethod
    def _date_format(cls, value: Any) -> Any:
        return [] if value is None else _formats(value)

    def table(self, name: str) -> TableMapping:
        """The mapping of table ``name`` (empty if the mapping does not mention it)."""
        return self.tables.get(name, TableMapping())

    def date_formats(self, table: str, column: str) -> list[str]:
        """Declared formats of a date column: its own, else the mapping's ``date_format``."""
        return self.table(table).date_formats.get(column) or list(self.date_format)


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


def _parent_path(parent: Any, child: Path) -> Path:
    """The file ``extends: parent`` names in ``child``: a path relative to ``child``'s folder,
    or a preset name."""
    if not isinstance(parent, str) or not parent.strip():
        raise MappingError(f"{child}: extends must name a preset ({', '.join(preset_names())}) "
                           f"or a mapping file, got {parent!r}")
    path = child.parent / parent
    if path.is_file():
        return path
    if parent in preset_names():
        return data_path("presets") / f"{parent}.yaml"
    raise MappingError(f"{child}: extends: {parent!r} is not a preset; presets: "
                       f"{', '.join(preset_names())}; nor a mapping file ({path} does not "
                       "exist)")


def _remove(base: Any, spec: Any, where: str, path: Path) -> Any:
    """``base`` without what ``spec`` names: a list names keys (or list items) to remove, a
    dict descends into the key it names."""
    label = where or "the extended mapping"
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, list):
        if isinstance(base, dict):
            missing = [k for k in spec if _scalar_key(k) not in map(_scalar_key, base)]
            if missing:
                raise MappingError(f"{path}: remove: {label} has no {', '.join(map(str, missing))}"
                                   f" to remove (it has: {', '.join(map(str, base))})")
            names = {_scalar_key(k) for k in spec}
            return {k: v for k, v in base.items() if _scalar_key(k) not in names}
        if isinstance(base, list):
            missing = [k for k in spec if k not in base]
            if missing:
                raise MappingError(f"{path}: remove: {label} does not list "
                                   f"{', '.join(map(str, missing))}")
            return [v for v in base if v not in spec]
        raise MappingError(f"{path}: remove: {label} is a single value; remove it by its key "
                           "one level up")
    if isinstance(spec, dict):
        if not isinstance(base, dict):
            raise MappingError(f"{path}: remove: {label} has no keys below it")
        out = dict(base)
        for key, sub in spec.items():
            if key not in out:
                raise MappingError(f"{path}: remove: {label} has no {key} (it has: "
                                   f"{', '.join(map(str, out))})")
            out[key] = _remove(out[key], sub, f"{where}.{key}" if where else str(key), path)
        return out
    raise MappingError(f"{path}: remove: expected a list of keys or a mapping, got {spec!r}")


def _load_chain(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], list[str]]:
    """The raw mapping at ``path`` with everything it extends merged under it, and the names
    of what it extends."""
    raw = _load_yaml(path)
    parents = raw.pop("extends", None)
    remove = raw.pop("remove", None)
    base: dict[str, Any] = {}
    names: list[str] = []
    for parent in ([] if parents is None else
                   parents if isinstance(parents, list) else [parents]):
        parent_path = _parent_path(parent, path)
        here = parent_path.resolve()
        if here == path.resolve():
            raise MappingError(f"{path}: extends: {parent!r} is this file itself")
        if here in seen:
            chain = " -> ".join(str(p) for p in (*seen, here))
            raise MappingError(f"{path}: extends: {parent!r} makes a cycle ({chain})")
        loaded, _ = _load_chain(parent_path, (*seen, path.resolve()))
        base = _merge(base, loaded)
        names.append(str(parent))
    if remove is not None:
        if not parents:
            raise MappingError(f"{path}: remove: only a mapping that extends another can "
                               "remove keys from it")
        base = _remove(base, remove, "", path)
    return _merge(base, raw), names


def read_mapping(source: str | Path) -> Mapping:
    """Read a mapping file, or a bundled preset by name (``"adam"``).

    ``extends`` names a preset or another mapping file (relative to this one), or a list of
    them, merged in order under this file; ``remove`` takes keys out of what is extended
    (``remove: {tables: {measurements: {columns: [AVALU]}}}``).

    Raises
    ------
    MappingError
        If the file cannot be read or breaks the mapping format; the message names the key.
    """
    path = Path(source)
    if not path.exists() and str(source) in preset_names():
        path = data_path("presets") / f"{source}.yaml"
    raw, parents = _load_chain(path, ())
    try:
        mapping = Mapping.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise MappingError(f"mapping file {path} is invalid: {problems}") from None
    extends: str | list[str] | None = (None if not parents else
                                       parents[0] if len(parents) == 1 else parents)
    return mapping.model_copy(update={"source": str(path), "extends": extends})

"""Declared extras: study-specific subject variables and measurement parameters.

The contract (``schemas/*.yaml``) is what every cohort has. A study also has variables of its
own: DKA at diagnosis, antibody status, a population flag, a serum glucose kept apart from the
fasting plasma glucose. A mapping file or a study spec *declares* them under ``extras``::

    extras:
      subjects:
        dka_at_diagnosis: {type: boolean, label: Diabetic ketoacidosis at diagnosis}
        gad_antibodies: {type: string, allowed: [positive, negative], label: GAD65 antibodies}
        c_peptide_screen: {type: number, unit: nmol/L, range: [0, 5], nullable: false}
      parameters:
        GLUC_SERUM: {unit: mmol/L, label: Serum glucose}

A declared variable becomes a column of ``subjects`` and a declared parameter a code of
``measurements.param``; both are validated like the contract's own (type, allowed codes,
range, not null), and every analysis can use them by name (grouping, subgroup, covariate,
Table 1 variable). Only what is declared is checked: no plausibility range is invented for
them, so a declared parameter without a ``range`` accepts any number in its unit.

This module depends only on :mod:`cohort.contract` and :mod:`cohort.errors`, so that both
the mapping reader and the study spec import one model.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cohort.contract import ColumnSpec, Contract, ParameterSpec, TableSpec, load_contract
from cohort.errors import ContractError

__all__ = ["ExtraParameter", "ExtraVariable", "Extras", "extend_contract"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _code(value: Any) -> str:
    # YAML reads `yes` as True and `01` as 1; codes are compared as the text the data hold
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ExtraVariable(_Strict):
    """A study-specific column of the subjects table.

    Attributes
    ----------
    type : {"string", "integer", "number", "boolean"}
        How the cells are parsed (as contract columns are).
    label : str or None
        What the variable is, for people (Table 1 rows, the data dictionary).
    allowed : list or dict of codes, or None
        Allowed codes (``string`` or ``integer`` variables); a dict gives each code a meaning.
    range : (float, float) or None
        Inclusive allowed range (``integer`` or ``number``), in ``unit``. Only a declared range
        is checked.
    unit : str or None
        Unit of a numeric variable (documentation; no conversion is applied).
    nullable : bool
        Empty cells are allowed (default). ``false``: every subject must have a value.
    required : bool
        The column must be present (default: a declared variable is expected in the data).
    """

    type: Literal["string", "integer", "number", "boolean"]
    label: str | None = None
    allowed: dict[str, str] | None = None
    range: tuple[float, float] | None = None
    unit: str | None = None
    nullable: bool = True
    required: bool = True

    @field_validator("allowed", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return {_code(v): "" for v in value}
        if isinstance(value, dict):
            return {_code(k): "" if v is None else str(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _check(self) -> ExtraVariable:
        if self.allowed is not None:
            if self.type in ("boolean", "number"):
                raise ValueError(f"allowed codes are for string or integer variables, not "
                                 f"{self.type} ({'use range' if self.type == 'number' else ''}"
                                 f"{'true/false are the codes' if self.type == 'boolean' else ''})")
            if not self.allowed:
                raise ValueError("allowed lists no code")
            if self.type == "integer":
                bad = [c for c in self.allowed if not re.fullmatch(r"[+-]?\d+", c)]
                if bad:
                    raise ValueError(f"allowed codes of an integer variable must be whole "
                                     f"numbers: {', '.join(bad)}")
        if self.range is not None:
            if self.type not in ("integer", "number"):
                raise ValueError(f"range is for integer or number variables, not {self.type}")
            if self.range[0] > self.range[1]:
                raise ValueError(f"range has min > max: {list(self.range)}")
        if self.unit is not None and self.type not in ("integer", "number"):
            raise ValueError(f"unit is for integer or number variables, not {self.type}")
        return self

    def column_spec(self, name: str) -> ColumnSpec:
        """This variable as a contract column named ``name``."""
        description = self.label or f"Study-specific variable {name} (declared extra)."
        return ColumnSpec(name=name, type=self.type, required=self.required,
                          nullable=self.nullable, description=description, unit=self.unit,
                          allowed=self.allowed, range=self.range, extra=True)


class ExtraParameter(_Strict):
    """A study-specific measurement parameter.

    Attributes
    ----------
    unit : str
        Its unit. Values given in another unit that :mod:`cohort.units` converts to this one
        (``mg/dL`` for ``mmol/L``) are converted and listed like the contract's conversions;
        any other unit is an error.
    label : str or None
        What is measured, for people.
    range : (float, float) or None
        Inclusive range of plausible values, in ``unit``. Without one, any number is accepted
        (no range is invented).
    """

    unit: str = Field(min_length=1)
    label: str | None = None
    range: tuple[float, float] | None = None

    @model_validator(mode="after")
    def _check(self) -> ExtraParameter:
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError(f"range has min > max: {list(self.range)}")
        return self

    def parameter_spec(self, code: str) -> ParameterSpec:
        """This parameter as a contract parameter with code ``code``."""
        from cohort.units import CONVERSIONS

        convertible = sorted(f for (f, t), c in CONVERSIONS.items()
                             if t == self.unit and f != self.unit and not c.per_body_weight)
        accepted = [self.unit, *convertible]
        return ParameterSpec(code=code, description=self.label or f"{code} (declared extra)",
                             unit=self.unit, accepted_units=tuple(accepted),
                             plausible=self.range, extra=True)


class Extras(_Strict):
    """What a mapping or a study spec declares beyond the contract.

    ``subjects`` maps column names to :class:`ExtraVariable`; ``parameters`` maps parameter
    codes to :class:`ExtraParameter`. Names may not repeat a contract column or parameter.
    """

    subjects: dict[str, ExtraVariable] = {}
    parameters: dict[str, ExtraParameter] = {}

    @model_validator(mode="after")
    def _names(self) -> Extras:
        contract = load_contract()
        columns = set(contract["subjects"].column_names)
        for name in self.subjects:
            if not _NAME.match(name):
                raise ValueError(f"subjects.{name}: a variable name starts with a letter and "
                                 "holds letters, digits and _ only")
            if name in columns or name.startswith("__"):
                raise ValueError(f"subjects.{name}: {name} is a contract column of subjects; "
                                 "map your column onto it instead of declaring it")
        for code in self.parameters:
            if not _NAME.match(code):
                raise ValueError(f"parameters.{code}: a parameter code starts with a letter "
                                 "and holds letters, digits and _ only")
            if code in contract.parameters:
                raise ValueError(f"parameters.{code}: {code} is a contract parameter; recode "
                                 "your parameter onto it instead of declaring it")
        return self

    def __bool__(self) -> bool:
        return bool(self.subjects or self.parameters)

    def merged(self, other: Extras) -> Extras:
        """These extras with ``other``'s added (``other`` wins where both declare a name)."""
        return Extras(subjects={**self.subjects, **other.subjects},
                      parameters={**self.parameters, **other.parameters})


def extend_contract(contract: Contract | None, extras: Extras | None) -> Contract:
    """The contract with the declared extras added.

    The subjects table gains one column per declared variable; the measurement parameters
    gain the declared parameters. Without extras the contract is returned as it is.

    Raises
    ------
    ContractError
        If an extra repeats a name of ``contract`` (a contract that is not the packaged one).
    """
    contract = contract or load_contract()
    if not extras:
        return contract
    subjects = contract["subjects"]
    clash = [n for n in extras.subjects if n in subjects.column_names]
    clash += [c for c in extras.parameters if c in contract.parameters]
    if clash:
        raise ContractError(f"declared extras repeat contract names: {', '.join(clash)}")
    tables: dict[str, TableSpec] = dict(contract.tables)
    if extras.subjects:
        tables["subjects"] = subjects.model_copy(update={"columns": subjects.columns + tuple(
            v.column_spec(n) for n, v in extras.subjects.items())})
    if extras.parameters:
        meas = contract["measurements"]
        params = dict(meas.parameters or {})
        params.update({c: p.parameter_spec(c) for c, p in extras.parameters.items()})
        tables["measurements"] = meas.model_copy(update={"parameters": params})
    return Contract(tables=tables)

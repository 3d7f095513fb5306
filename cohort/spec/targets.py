"""A published target: the number a paper reports and the analysis that reproduces it."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from cohort.spec.analyses import ANALYSES
from cohort.spec.blocks import (
    _Strict,
)
from cohort.spec.requests import (
    ANALYZE_PREFIX,
    analyze_command,
    analyze_commands,
    check_request_params,
)

_OUTPUTS = ("estimate", "ci_lower", "ci_upper", "p", "n")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# ---------------------------------------------------------------------------------------------
# targets


class Tolerance(_Strict):
    """How far a reproduced estimate may be from the published one and still agree, with the
    reason (e.g. the paper rounded an intermediate step)."""

    value: float = Field(ge=0, description="Largest absolute difference that agrees, in the "
                         "unit of the published value.")
    reason: str = Field(min_length=1, description="Why the published precision is not the "
                        "right yardstick here.")

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, raw: Any) -> Any:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            raise ValueError(f"a tolerance needs its reason: write tolerance: {{value: {raw}, "
                             "reason: <why the published precision is not enough>}")
        return raw


class Target(_Strict):
    """A published number and the analysis that reproduces it."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    analysis: str
    description: str
    params: dict[str, Any] = Field(default_factory=dict)
    value: int | float | None = None
    values: list[float] | None = Field(None, description="For analyses that give a list "
                                       "(e.g. censored durations).")
    output: str = Field(
        "estimate", description="Which output of the analysis the published value is: the "
        "estimate (a count, rate, mean, median, difference, landmark survival probability or "
        "duration, as the analysis gives), a bound of its 95% CI (ci_lower, ci_upper), its "
        "p-value (p: value is the published p, comparison its sign: p < 0.001 is value "
        "0.001, comparison '<'), or the n it rests on. For `analyze <command>`: any column "
        "of the chosen result table (e.g. hazard_ratio, auc).")
    table: str | None = Field(None, description="`analyze <command>` only: which table of "
                              "the command's JSON result holds the number (default summary; "
                              "e.g. cox, landmarks, logrank).")
    row: dict[str, str | int | float | bool] | None = Field(
        None, description="`analyze <command>` only: column values that select one row of "
        "the table (e.g. {term: arm, visit: week 8}); spec arm names and visit labels are "
        "translated as in params.")
    not_reached: bool = Field(False, description="The published median was not reached "
                              "(give no value); agrees with a reproduced median not reached.")
    comparison: Literal["=", "<", ">", "<=", ">="] = "="
    decimals: int | None = Field(None, ge=-15, le=15, description="Printed precision: "
                                 "digits after the decimal point (default: as written); "
                                 "negative for a large number printed in powers of ten "
                                 "(6.1 x 10^7: decimals -6).")
    ci: tuple[float, float] | None = None
    se: float | None = None
    p: float | None = Field(None, ge=0, le=1)
    p_comparison: Literal["=", "<", ">"] = "="
    source: str = Field(min_length=1)
    note: str | None = None
    tolerance: Tolerance | None = Field(None, description="Agreement within this absolute "
                                        "difference instead of the printed precision.")
    calibrated: bool = Field(False, description="The generator is built to hit this number "
                             "exactly at the published n.")

    @field_validator("analysis")
    @classmethod
    def _analysis(cls, raw: str) -> str:
        command = analyze_command(raw)
        if command is not None:
            if command not in analyze_commands():
                raise ValueError(f"unknown analysis {raw!r}; `cohort analyze` commands: "
                                 f"{', '.join(sorted(analyze_commands()))}")
            return f"{ANALYZE_PREFIX}{command}"
        if raw not in ANALYSES:
            raise ValueError(f"unknown analysis {raw!r}; known analyses: "
                             f"{', '.join(sorted(ANALYSES))}, or `analyze <command>` for any "
                             f"`cohort analyze` command ({', '.join(sorted(analyze_commands()))})")
        return raw

    @field_validator("output")
    @classmethod
    def _output(cls, raw: str, info: ValidationInfo) -> str:
        analysis = info.data.get("analysis")
        if isinstance(analysis, str) and analyze_command(analysis) is None \
                and raw not in _OUTPUTS:
            raise ValueError(f"unknown output {raw!r} of {analysis}; outputs: "
                             f"{', '.join(_OUTPUTS)} (any column of a result table with "
                             "`analysis: analyze <command>`)")
        return raw

    @property
    def command(self) -> str | None:
        """The ``cohort analyze`` command this target requests, or None."""
        return analyze_command(self.analysis)

    @model_validator(mode="before")
    @classmethod
    def _cli_names(cls, raw: Any) -> Any:
        # a parameter may be written with its `cohort analyze` option name; the recipe reads
        # the spec name, so the two spellings give the same number
        if not isinstance(raw, dict) or not isinstance(raw.get("params"), dict):
            return raw
        analysis = raw.get("analysis")
        info = ANALYSES.get(analysis) if isinstance(analysis, str) else None
        if info is None or not info.cli_names:
            return raw
        params = dict(raw["params"])
        for cli, name in info.cli_names.items():
            if cli in params:
                if name in params:
                    raise ValueError(f"target {raw.get('id')!r} ({raw['analysis']}): params "
                                     f"{cli} and {name} are the same parameter; give one")
                params[name] = params.pop(cli)
        return {**raw, "params": params}

    @model_validator(mode="after")
    def _check(self) -> Target:
        if self.command is not None:
            problems = check_request_params(self.command, self.params)
            if problems:
                raise ValueError(f"target {self.id!r} ({self.analysis}): "
                                 + "; ".join(problems))
            if not _COLUMN.match(self.output) or (self.table is not None
                                                  and not _COLUMN.match(self.table)):
                raise ValueError(f"target {self.id!r}: output and table name a column and a "
                                 "table of the command's JSON result (letters, digits, _)")
        else:
            self._check_vocabulary()
        if self.value is None and self.p is None and self.values is None and \
                not self.not_reached:
            raise ValueError(f"target {self.id!r} needs a value, values, a p or not_reached")
        if self.not_reached and self.value is not None:
            raise ValueError(f"target {self.id!r}: not_reached means no published value; "
                             "for a published '> X months' give value: X, comparison: '>'")
        if self.output == "p":
            if self.value is None or not 0 <= self.value <= 1:
                raise ValueError(f"target {self.id!r}: output p needs value: the published "
                                 "p-value (0-1)")
            if self.p is not None or self.tolerance is not None:
                raise ValueError(f"target {self.id!r}: with output p the published p is "
                                 "value (with comparison); drop p / tolerance")
        if self.tolerance is not None and self.value is None:
            raise ValueError(f"target {self.id!r}: a tolerance applies to a published value")
        if self.ci is not None and self.ci[0] > self.ci[1]:
            raise ValueError(f"target {self.id!r}: ci lower bound above upper bound")
        return self

    def _check_vocabulary(self) -> None:
        info = ANALYSES[self.analysis]
        missing = [k for k in info.required if k not in self.params]
        if missing:
            raise ValueError(f"target {self.id!r} ({self.analysis}) needs params "
                             f"{', '.join(missing)}")
        unknown = sorted(set(self.params) - set(info.accepted))
        if unknown:
            raise ValueError(f"target {self.id!r} ({self.analysis}): unknown params "
                             f"{', '.join(unknown)}; allowed: {', '.join(info.accepted)}")
        if self.table is not None or self.row is not None:
            raise ValueError(f"target {self.id!r}: table and row pick a number of an "
                             "`analyze <command>` result; this analysis gives one number")

    @property
    def printed_tolerance(self) -> float:
        """Half a unit of the printed precision of ``value``."""
        if self.value is None:
            return 0.0
        from cohort.spec.backsolve import decimals_of

        d = self.decimals if self.decimals is not None else decimals_of(self.value)
        return 0.5 * 10 ** -d

    @property
    def agreement_tolerance(self) -> float:
        """The stated tolerance, else half a unit of the printed precision."""
        return self.tolerance.value if self.tolerance is not None else self.printed_tolerance

"""Numbers in a study spec: plain, back-solved, or carrying their own provenance.

Every numeric field of a spec accepts

* a number: ``8.2``;
* a back-solved number: ``{backsolve: sd_from_paired_p, mean: 0.58, n: 48, p: 2e-7}``, computed
  when the spec is read by the helper of that name in :mod:`cohort.spec.backsolve`;
* a number with its own provenance: ``{value: 3, assumed: "control rate not published"}``
  (the value itself may be back-solved), overriding the mark of the block it sits in.

All three become a :class:`Value`, which behaves as a float and remembers its derivation, so
READMEs and scorecards can show where each number came from.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from cohort.spec import backsolve

__all__ = ["BACKSOLVERS", "Count", "Num", "Value", "parse_value"]


BACKSOLVERS: dict[str, Callable[..., float | int]] = {
    "sd_from_paired_p": backsolve.sd_from_paired_p,
    "sd_from_sem": backsolve.sd_from_sem,
    "sd_from_se_diff": backsolve.sd_from_se_diff,
    "sd_from_iqr": backsolve.sd_from_iqr,
    "count_from_percent": backsolve.count_from_percent,
    "n_from_weighted_mean": backsolve.n_from_weighted_mean,
    "mean_from_overall": backsolve.mean_from_overall,
    "corr_from_bmi_sd": backsolve.corr_from_bmi_sd,
}
"""Back-solving helpers a spec may name, by name."""

_INT_ARGS = {"n", "n1", "n2", "n_total", "n_all", "n_other", "decimals"}


@dataclass(frozen=True)
class Value:
    """A resolved spec number.

    Attributes
    ----------
    value : float
        The number (a whole number for counts).
    derivation : str or None
        How it was computed, e.g. ``"sd_from_paired_p(mean=0.58, n=48, p=2e-07)"``.
    published, assumed : str or None
        Provenance given on the value itself (otherwise the enclosing block's applies).
    """

    value: float
    derivation: str | None = None
    published: str | None = None
    assumed: str | None = None

    def __float__(self) -> float:
        return float(self.value)

    def __int__(self) -> int:
        return int(self.value)

    def describe(self) -> str:
        """The value with its derivation, for people."""
        shown = f"{self.value:.6g}"
        return f"{shown} = {self.derivation}" if self.derivation else shown


def _number(raw: Any, what: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"{what} must be a number, got {raw!r}")
    if not math.isfinite(raw):
        raise ValueError(f"{what} must be finite, got {raw!r}")
    return float(raw)


def _call_backsolver(raw: dict[str, Any]) -> Value:
    name = raw["backsolve"]
    if name not in BACKSOLVERS:
        raise ValueError(f"unknown backsolve helper {name!r}; expected one of "
                         f"{', '.join(sorted(BACKSOLVERS))}")
    func = BACKSOLVERS[name]
    params = inspect.signature(func).parameters
    args = {k: v for k, v in raw.items() if k != "backsolve"}
    unknown = sorted(set(args) - set(params))
    if unknown:
        raise ValueError(f"backsolve {name}: unknown argument(s) {', '.join(unknown)}; it takes "
                         f"{', '.join(params)}")
    missing = [k for k, p in params.items()
               if p.default is inspect.Parameter.empty and k not in args]
    if missing:
        raise ValueError(f"backsolve {name}: missing argument(s) {', '.join(missing)}")
    clean: dict[str, Any] = {}
    for key, val in args.items():
        if key == "two_sided":
            if not isinstance(val, bool):
                raise ValueError(f"backsolve {name}: two_sided must be true or false")
            clean[key] = val
            continue
        num = _number(val, f"backsolve {name}: {key}")
        if key in _INT_ARGS:
            if not num.is_integer():
                raise ValueError(f"backsolve {name}: {key} must be a whole number, got {val!r}")
            clean[key] = int(num)
        else:
            # keep the text as written, so a printed precision (e.g. 40.7) is not lost
            clean[key] = val if isinstance(val, int) else float(val)
    try:
        result = func(**clean)
    except ValueError as exc:
        raise ValueError(f"backsolve {name}: {exc}") from None
    shown = ", ".join(f"{k}={v!r}" for k, v in clean.items())
    return Value(float(result), derivation=f"{name}({shown})")


def parse_value(raw: Any) -> Value:
    """Turn a spec number (plain, back-solved or marked) into a :class:`Value`.

    Raises
    ------
    ValueError
        With a message naming what is wrong; pydantic adds the key path.
    """
    if isinstance(raw, Value):
        return raw
    if isinstance(raw, dict):
        if "backsolve" in raw:
            return _call_backsolver(raw)
        if "value" in raw:
            extra = sorted(set(raw) - {"value", "published", "assumed"})
            if extra:
                raise ValueError(f"unknown key(s) {', '.join(extra)} next to value; allowed: "
                                 "value, published, assumed")
            marks = [k for k in ("published", "assumed") if raw.get(k) is not None]
            if len(marks) > 1:
                raise ValueError("give either published or assumed, not both")
            for k in marks:
                if not isinstance(raw[k], str) or not raw[k].strip():
                    raise ValueError(f"{k} must be a non-empty text (the source or the reason)")
            inner = parse_value(raw["value"])
            return Value(inner.value, inner.derivation, raw.get("published"),
                         raw.get("assumed"))
        raise ValueError(f"expected a number, {{backsolve: ...}} or {{value: ...}}; got "
                         f"{raw!r}")
    return Value(_number(raw, "value"))


def _parse_count(raw: Any) -> Value:
    val = parse_value(raw)
    if not float(val.value).is_integer() or val.value < 0:
        raise ValueError(f"expected a whole number >= 0, got {val.value!r}")
    return val


def _serialise(v: Value) -> float:
    return v.value


_MARKS = {"published": {"type": "string", "minLength": 1},
          "assumed": {"type": "string", "minLength": 1}}
_NUM_SCHEMA = {
    "description": "A number; or {value: N, published|assumed: TEXT}; or {backsolve: NAME, "
                   "args...} to compute it from published numbers (" + ", ".join(BACKSOLVERS)
                   + ").",
    "anyOf": [
        {"type": "number"},
        {"type": "object", "required": ["value"],
         "properties": {"value": {"type": "number"}, **_MARKS}, "additionalProperties": False},
        {"type": "object", "required": ["backsolve"],
         "properties": {"backsolve": {"enum": list(BACKSOLVERS)}, **_MARKS}},
    ],
}

Num = Annotated[Value, PlainValidator(parse_value), PlainSerializer(_serialise),
                WithJsonSchema(_NUM_SCHEMA)]
"""A spec number (see the module docstring)."""
Count = Annotated[Value, PlainValidator(_parse_count), PlainSerializer(_serialise),
                  WithJsonSchema({**_NUM_SCHEMA, "description": "A whole number >= 0 (or a "
                                  "marked or back-solved one, as for numbers)."})]
"""A spec count: like :data:`Num`, but a whole number >= 0."""

"""Run a target that is a ``cohort analyze`` request and read its number.

A target ``analysis: analyze <command>`` is answered by the command itself: the target's params
become the command's options (by their command-line names), the command runs in this process
on the study's cohort folder with ``--format json``, and the number is read from its JSON
result, the documented output every user of ``cohort analyze`` gets: ``table`` (default
``summary``), the ``row`` whose columns hold the given values, the ``output`` column. Nothing
here computes a statistic.

Spec names are translated where the command reads the cohort's own: an arm named by its spec
name (``params.reference``, ``row.arm``) becomes the arm's label in the cohort; a spec visit
label (``params.visit``) becomes the command's visits (``--visit-days`` over the spec's whole
schedule, so windows are the spec's; ```--last`` for the spec's final visit; the visit's own day
for commands judged at one visit; ``--visit LABEL`` when the cohort carries its own labels and
baseline flags) and selects that visit's row.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from cohort.errors import SpecError
from cohort.spec.requests import COUNT_COLUMNS, SPEC_VISIT, analyze_commands
from cohort.studies.base import NotComputable, Reproduced

if TYPE_CHECKING:
    from cohort.spec.model import Target
    from cohort.studies.context import StudyContext

__all__ = ["RequestSpecError", "analyze_request", "request_argv"]


class RequestSpecError(SpecError):
    """A request the command refuses whatever the data (an output or table the result does
    not have, an option value the command does not accept): a spec error, exit 2."""


def _arm(ctx: StudyContext, value: Any) -> Any:
    """A spec arm name as the cohort's arm label; other values unchanged."""
    names = {a.name for a in ctx.spec.arms}
    return ctx.arm_label(str(value)) if isinstance(value, str) and value in names else value


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def request_argv(ctx: StudyContext, target: Target) -> tuple[list[str], dict[str, Any]]:
    """The command line of a request target (without the cohort folder) and the row values
    its visit selects.

    Returns
    -------
    (list of str, dict)
        ``[command, --option=value, ...]`` and ``{column: value}`` row filters implied by a
        spec visit label (``visit_day``, or ``visit`` for the last follow-up / data labels).
    """
    from cohort.derive.visit_labels import has_visit_labels
    from cohort.derive.visit_values import LAST_VISIT_LABEL

    command = str(target.command)
    options = analyze_commands()[command]
    argv = [command]
    implied: dict[str, Any] = {}
    for key, value in target.params.items():
        if key == SPEC_VISIT and (key not in options or value in ctx.spec.visits.labels()):
            label = str(value)
            v = ctx.visit(label)
            param = str(target.params.get("param", "HBA1C"))
            if v is None:  # the spec's final visit: each subject's last follow-up
                if "last" not in options:
                    raise NotComputable(f"`cohort analyze {command}` analyses scheduled visits; "
                                        f"the spec's final visit ({label}) is not one")
                argv.append("--last")
                implied["visit"] = LAST_VISIT_LABEL
            elif "visit" in options and has_visit_labels(ctx.measurements, param):
                argv.append(f"--visit={label}")  # the cohort's own labels and baseline flags
                implied["visit"] = label
            elif "visit-days" in options:
                # the whole schedule, so the windows are the spec's; a command judged at one
                # visit (remission, predict) takes that visit's day alone
                days = ",".join(str(x.day) for x in ctx.visits())
                every = f"--visit-days={days}"
                argv.append(every if _parses(command, every) else f"--visit-days={v.day}")
                implied["visit_day"] = v.day
            elif "visit-day" in options:
                argv.append(f"--visit-day={v.day}")
            else:  # pragma: no cover (the catalogue check allows visit only with visits)
                raise NotComputable(f"`cohort analyze {command}` takes no visit")
            continue
        opt = options[key]
        if opt.flag:
            argv.append(f"--{key}" if value else f"--{opt.negation}")
            continue
        if key in ("reference", "arm"):
            value = _arm(ctx, value)
        values = value if isinstance(value, list) else [value]
        if opt.multiple:
            argv += [f"--{key}={_text(v)}" for v in values]
        else:
            argv.append(f"--{key}={','.join(_text(v) for v in values)}")
    return argv, implied


def _command(name: str) -> Any:
    """The click command of ``cohort analyze NAME``."""
    import typer

    from cohort.cli.app import app

    return typer.main.get_command(app).commands["analyze"].commands[name]  # type: ignore[attr-defined]


def _parses(name: str, *options: str) -> bool:
    """Whether ``cohort analyze NAME`` accepts these options (parsed, not run)."""
    import typer

    try:
        _command(name).make_context(f"cohort analyze {name}", ["PATH", *options])
    except typer.TyperException:
        return False
    return True


def _run(ctx: StudyContext, argv: list[str]) -> dict[str, Any]:
    """Run ``cohort analyze ARGV`` on the context's cohort folder; its JSON result."""
    from typer.testing import CliRunner

    from cohort.cli.app import app

    folder, mapping = ctx.analysis_folder()
    full = ["analyze", argv[0], str(folder), *argv[1:], "--format=json"]
    if mapping is not None:
        full.append(f"--mapping={mapping}")
    shown = "cohort analyze " + " ".join(argv)
    # what the command line refuses whatever the data (an unknown choice, a value of the
    # wrong type) is the spec's error: parse first, run after
    import typer

    try:
        _command(argv[0]).make_context(f"cohort analyze {argv[0]}", full[2:])
    except typer.TyperException as exc:
        text = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        raise RequestSpecError(f"`{shown}` refuses its options: {text}") from None
    result = CliRunner().invoke(app, full)
    if result.exit_code == 0:
        return json.loads(result.stdout)
    message = " ".join(line.removeprefix("cohort: error: ").strip()
                       for line in result.stderr.splitlines() if line.strip())
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise NotComputable(f"`{shown}` failed ({type(result.exception).__name__}: "
                            f"{result.exception}); this is a bug in cohort: please report it")
    raise NotComputable(f"`{shown}`: {message or f'exit code {result.exit_code}'}")


def _matches(got: Any, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want or (isinstance(got, bool) and str(got).lower() == str(want).lower())
    if isinstance(want, int | float) and isinstance(got, int | float):
        return float(got) == float(want)
    return got is not None and str(got) == str(want)


def _number(x: Any) -> float:
    if x is None:
        return math.nan
    if isinstance(x, bool):
        return float(x)
    try:
        return float(x)
    except (TypeError, ValueError):
        raise NotComputable(f"the output is {x!r}, not a number") from None


def _pick_row(rows: list[dict[str, Any]], wanted: dict[str, Any], where: str
              ) -> dict[str, Any]:
    columns = list(rows[0]) if rows else []
    unknown = [c for c in wanted if c not in columns]
    if unknown:
        raise RequestSpecError(f"{where}: row names column(s) {', '.join(unknown)} that the "
                               f"table does not have (columns: {', '.join(columns)})")
    chosen = [r for r in rows if all(_matches(r.get(c), v) for c, v in wanted.items())]
    if len(chosen) == 1:
        return chosen[0]
    shown = "; ".join(", ".join(f"{c}={r.get(c)!r}" for c in (wanted or columns[:3]))
                      for r in rows[:8])
    if not chosen:
        raise NotComputable(f"{where}: no row has {wanted} (rows: {shown})")
    keys = [c for c in columns if c not in wanted and len({str(r.get(c)) for r in chosen}) > 1]
    raise NotComputable(f"{where}: {len(chosen)} rows have {wanted}; add one of the columns "
                        f"{', '.join(keys[:6])} to row to choose one")


def analyze_request(ctx: StudyContext, target: Target) -> Reproduced:
    """Run the ``cohort analyze`` command a target names and read its published number."""
    argv, implied = request_argv(ctx, target)
    doc = ctx.memo(("analyze", tuple(argv)), lambda: _run(ctx, argv))
    table = target.table or "summary"
    shown = "cohort analyze " + " ".join(argv)
    if table not in doc or not isinstance(doc[table], list | dict | type(None)):
        tables = [k for k, v in doc.items() if isinstance(v, list | dict)]
        raise RequestSpecError(f"`{shown}` has no result table {table!r} (tables: "
                               f"{', '.join(tables)})")
    rows = doc[table]
    if isinstance(rows, dict):
        rows = [rows]
    if not rows:
        raise NotComputable(f"`{shown}` gives no {table} table on this cohort (e.g. a Cox "
                            "model needs --group or --covariates)")
    wanted = {c: _arm(ctx, v) if c in ("arm", "reference", "group") else v
              for c, v in (target.row or {}).items()}
    row_visit = wanted.get("visit")
    if isinstance(row_visit, str) and row_visit in ctx.spec.visits.labels():
        wanted.pop("visit")
        v = ctx.visit(row_visit)
        wanted.update({"visit_day": v.day} if v is not None else {})
    for col, value in implied.items():
        if col in rows[0]:
            wanted.setdefault(col, value)
    row = _pick_row(rows, wanted, f"`{shown}` table {table}")
    if target.output not in row:
        raise RequestSpecError(f"`{shown}` table {table} has no column {target.output!r} "
                               f"(columns: {', '.join(row)})")
    value = _number(row[target.output])
    ci = (math.nan, math.nan)
    if target.output == "estimate":
        ci = (_number(row.get("ci_lower")), _number(row.get("ci_upper")))
        if not math.isnan(ci[0]) and math.isnan(ci[1]) and "ci_upper" in row:
            ci = (ci[0], math.inf)  # an upper limit beyond follow-up: not reached
    notes = []
    if math.isnan(value) and target.not_reached and row.get(target.output, 0) is None:
        value = math.inf  # a survival median the curve never reaches is null in the result
        notes.append("median not reached")
    n = row.get("n")
    method = (f"`{shown}`, table {table}" + (f", row {wanted}" if wanted else "")
              + f", column {target.output}")
    return Reproduced(value=math.nan if target.output == "p" else value, ci_lower=ci[0],
                      ci_upper=ci[1], p=value if target.output == "p" else
                      _number(row.get("p")), n=int(n) if isinstance(n, int | float)
                      and not isinstance(n, bool) and float(n).is_integer() else None,
                      method=method, notes=[*notes, *doc.get("notes", [])[:3]])


def is_count(target: Target) -> bool:
    """Whether a request target's output is a count (compared exactly)."""
    return target.output in COUNT_COLUMNS

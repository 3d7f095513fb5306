"""``cohort analyze survival PATH``: time to insulin resumption (or any supplied endpoint)."""

from __future__ import annotations

import json
import warnings
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cohort.cli.analyze import analyze_app
from cohort.cli.app import POPULATION, OutputFormat, guarded, load_for_cli
from cohort.cli.examples import epilog
from cohort.cli.safe_output import OVERWRITE
from cohort.cli.vocabulary import alias, hidden, resolve_code, split_names


class Origin(StrEnum):
    """Time origins of the insulin-free clock."""

    insulin_stop = "insulin-stop"
    first_infusion = "first-infusion"


class Episodes(StrEnum):
    """Which episodes enter the analysis."""

    first = "first"
    all = "all"


class TimeUnitOption(StrEnum):
    """Units of time for input (``--tte`` times, landmarks, at-risk times) and output."""

    days = "days"
    weeks = "weeks"
    months = "months"
    years = "years"


class ConfType(StrEnum):
    """Transforms of the Kaplan-Meier confidence band."""

    log = "log"
    loglog = "log-log"
    plain = "plain"


def _numbers(text: str, option: str, unit: str = "months") -> list[float]:
    from cohort.errors import AnalysisError

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise AnalysisError(f"{option}: expected numbers separated by commas ({unit}), got "
                            f"{text!r}") from None
    if any(v < 0 for v in values) or any(v != v or v in (float("inf"), -float("inf"))
                                         for v in values):
        raise AnalysisError(f"{option}: times must be >= 0 {unit}, got {text!r}")
    return values


def _names(text: str | None) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def _read_table(path: Path) -> Any:
    """Read a supplied time-to-event file (CSV, Parquet, Excel; SAS .xpt with pyreadstat)."""
    import pandas as pd

    from cohort.errors import AnalysisError
    from cohort.io.files import check_regular_file

    if not path.exists() and not path.is_symlink():
        raise FileNotFoundError(f"--tte: no such file: {path}")
    check_regular_file(path, "--tte file")  # a FIFO or device is refused, never read
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # codes stay text: CNSR "0" must not become 0.0 or anything else by guesswork
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise AnalysisError(f"--tte {path} cannot be read as a UTF-8 CSV file: "
                                f"{str(exc).splitlines()[0]}") from None
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=object)
    if suffix == ".xpt":
        try:
            import pyreadstat
        except ImportError:
            raise AnalysisError(
                f"--tte {path}: SAS transport files need pyreadstat (pandas.read_sas can turn "
                "CNSR = 0 into 5e-79, pandas issue 50670); install pyreadstat or export the "
                "dataset to CSV or Parquet") from None
        frame, _ = pyreadstat.read_xport(str(path))
        return frame
    raise AnalysisError(f"--tte {path}: unsupported file type {suffix or '(none)'}; use .csv, "
                        ".parquet, .xlsx or .xpt")


@analyze_app.command("survival", epilog=epilog("analyze survival"))
@guarded
def survival(
    path: Path = typer.Argument(..., help="Cohort folder (or .xlsx workbook)."),
    by: str | None = typer.Option(None, "--by",
                                  help="Column to compare (a subjects column such as arm, "
                                  "or a column of the --tte file)."),
    group: str | None = hidden(None, "--group", "-g", new="--by"),
    origin: Origin = typer.Option(Origin.insulin_stop, "--origin", case_sensitive=False,
                                  help="Clock: days since the insulin stop (the insulin-free "
                                  "duration), or study days since the first infusion with "
                                  "delayed entry at the insulin stop."),
    landmarks: str | None = typer.Option(None, "--landmarks",
                                         help="Landmark times in the --time-unit (default: "
                                         "round times within the follow-up, e.g. 3,6,9 "
                                         "months for one year; 1 month = 30.4375 days)."),
    at_risk: str | None = typer.Option(None, "--at-risk",
                                       help="Times (in the --time-unit) of the numbers-at-risk "
                                       "table and the figure's ticks; default round times "
                                       "from 0 to the end of follow-up (0 and the landmarks "
                                       "when --landmarks is given)."),
    time_unit: TimeUnitOption | None = typer.Option(
        None, "--time-unit", case_sensitive=False,
        help="Unit of --tte times, --landmarks, --at-risk and of the times shown (1 month = "
        "30.4375 days, 1 year = 365.25 days). Default: --tte times in days, shown in months."),
    reference: str | None = typer.Option(None, "--reference",
                                         help="Reference level of --by in the Cox model "
                                         "(default: the first in sorted order)."),
    cluster: str | None = typer.Option(None, "--cluster",
                                       help="Column of dependent rows' cluster (e.g. patient "
                                       "of two eyes): cluster-robust Cox SEs. By default they "
                                       "are clustered on the subject whenever a subject has "
                                       "several rows (e.g. --episodes all)."),
    naive_se: bool = typer.Option(False, "--naive-se",
                                  help="Naive (model-based) Cox SEs even when a subject has "
                                  "several rows."),
    covariate: list[str] = typer.Option([], "--covariate",
                                        help="Extra Cox covariate, a subjects column or a "
                                        "column of the --tte file (repeatable)."),
    covariates: str | None = hidden(None, "--covariates", new="--covariate"),
    tte: Path | None = typer.Option(None, "--tte",
                                    help="Use this time-to-event file (e.g. CDISC ADTTE: "
                                    "USUBJID, PARAMCD, AVAL in days, CNSR) instead of the "
                                    "derived insulin-free episodes."),
    event_codes: str | None = typer.Option(None, "--event-codes",
                                           help="Required with --tte: COLUMN:code=event,"
                                           "code=censored, e.g. 'CNSR:0=event,1=censored'."),
    param: str | None = typer.Option(None, "--param",
                                     help="PARAMCD (any case) to analyse when --tte holds "
                                     "several; "
                                     "without --tte, a parameter of the cohort's "
                                     "time_to_event table (ADaM ADTTE; CNSR 0 = event)."),
    subject_col: str = typer.Option("USUBJID", "--subject-col",
                                    help="With --tte: the subject column (checked against "
                                    "the cohort's subjects)."),
    episode_col: str | None = typer.Option(None, "--episode-col",
                                           help="With --tte: the column telling apart "
                                           "several rows of one subject (e.g. eye, or event "
                                           "number 1, 2, ...); Cox SEs are then clustered on "
                                           "the subject."),
    time_col: str = typer.Option("AVAL", "--time-col",
                                 help="With --tte: the time column (in days, or the "
                                 "--time-unit). The event column is the one --event-codes "
                                 "names."),
    episodes: Episodes = typer.Option(Episodes.first, "--episodes", case_sensitive=False,
                                      help="first: each subject's first insulin-free episode; "
                                      "all: every episode."),
    min_records: int = typer.Option(2, "--min-records", min=1,
                                    help="Consecutive insulin-free records needed for "
                                    "independence."),
    min_days: int = typer.Option(0, "--min-days", min=0,
                                 help="Days the insulin-free records must span."),
    hba1c_below: float | None = typer.Option(None, "--hba1c-below",
                                             help="Also require HbA1c below this (%) within "
                                             "30 days of the insulin stop."),
    death_terms: str = typer.Option("death", "--death-terms",
                                    help="Adverse-event terms that mark a death (censors the "
                                    "episode); empty to ignore deaths."),
    conf_type: ConfType = typer.Option(ConfType.log, "--conf-type", case_sensitive=False,
                                       help="Kaplan-Meier CI transform (log is R's default)."),
    interval: bool = typer.Option(False, "--interval",
                                  help="Also fit a Weibull model to the interval view "
                                  "(resumption between visits)."),
    plot: Path | None = typer.Option(None, "--plot",
                                     help="Write the Kaplan-Meier figure (PNG, PDF or SVG)."),
    overwrite: bool = OVERWRITE,
    population: list[str] = POPULATION,
    mapping: str | None = typer.Option(None, "--mapping", "-m",
                                       help="Mapping file (YAML) or preset name."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", case_sensitive=False,
                                     help="text: tables on the terminal; json: one JSON "
                                     "document on stdout."),
) -> None:
    """Time to insulin resumption: Kaplan-Meier, landmarks, at-risk table, log-rank and Cox.

    Independence: --min-records consecutive zero doses (and --min-days, --hba1c-below).

    Resumption: the first later record with a dose; censored at last contact or death.

    --tte FILE analyses any time-to-event endpoint instead (status codes declared).
    """
    group = alias(by, group, new="--by", old="--group")
    unit = time_unit.value if time_unit is not None else "months"
    land = _numbers(landmarks, "--landmarks", unit) if landmarks is not None else None
    risk = _numbers(at_risk, "--at-risk", unit) if at_risk is not None else None
    from cohort.errors import AnalysisError, CohortWarning

    if tte is None and event_codes is not None:
        raise AnalysisError("--event-codes is only meaningful with --tte FILE")
    if tte is None and (subject_col != "USUBJID" or time_col != "AVAL"
                        or episode_col is not None):
        raise AnalysisError("--subject-col, --time-col and --episode-col are only meaningful "
                            "with --tte FILE")
    if reference is not None and not group:
        raise AnalysisError("--reference names a level of --by: give --by too")
    if naive_se and cluster is not None:
        raise AnalysisError("--naive-se and --cluster contradict each other: --cluster asks "
                            "for cluster-robust SEs")
    if tte is not None and event_codes is None:
        raise AnalysisError("--event-codes is required with --tte (status codes are never "
                            "inferred): e.g. 'CNSR:0=event,1=censored' for CDISC ADTTE")

    import pandas as pd

    from cohort import __version__
    from cohort.analysis.endpoint import endpoint_from_param, insulin_resumption
    from cohort.analysis.result import json_safe
    from cohort.analysis.survival import analyze_survival
    from cohort.analysis.time_to_event import tte_from_adtte, tte_from_episodes
    from cohort.derive.insulin import insulin_episodes
    from cohort.derive.insulin_rule import IndependenceRule

    data = load_for_cli(path, mapping, population)
    cov = list(dict.fromkeys([*split_names(covariate), *split_names(covariates)]))
    # columns to carry: the group, covariates and cluster, from the --tte file or subjects
    wanted = list(dict.fromkeys(([group] if group else []) + cov + ([cluster] if cluster
                                                                     else [])))
    counts: dict[str, Any] = {}
    upstream = pd.DataFrame(columns=["subject_id", "reason"])
    derived = None
    missing_note = None
    if tte is None and param is not None:
        # a time-to-event parameter of the cohort itself (ADaM ADTTE): CNSR 0 is the event
        from cohort.analysis.tte_table import tte_from_table

        if "param" in data.time_to_event:
            param = resolve_code(param, data.time_to_event["param"].dropna().unique())
        in_table = [c for c in wanted if c in data.time_to_event.columns]
        table = tte_from_table(data.time_to_event, param, columns=in_table)
        from_subjects = [c for c in wanted if c not in in_table]
        unknown = [c for c in from_subjects if c not in data.subjects.columns]
        if unknown:
            raise AnalysisError(f"column(s) {', '.join(unknown)} are not in the subjects table")
        if from_subjects:
            extra = data.subjects[["subject_id", *from_subjects]].copy()
            extra["subject_id"] = extra["subject_id"].astype(str)
            table = table.merge(extra, on="subject_id", how="left")
        counts = {"n_rows": len(table), "n_events": int(table["event"].sum()),
                  "n_censored": int((~table["event"]).sum())}
        endpoint = endpoint_from_param(None, param)  # the contract table has no PARAM text
        source = {"kind": "time_to_event", "param": param,
                  "event_codes": "censor 0 = event, >= 1 = censored (CDISC CNSR)"}
    elif tte is not None:
        frame = _read_table(tte)
        if param is not None and "PARAMCD" in frame:
            param = resolve_code(param, frame["PARAMCD"].dropna().unique())
        in_file = [c for c in wanted if c in frame.columns]
        for col in cov:
            if col in in_file and frame[col].dtype == object:
                # covariates read as text from CSV: numeric when every value is a number
                numeric = pd.to_numeric(frame[col], errors="coerce")
                if numeric.notna().sum() == frame[col].notna().sum():
                    frame[col] = numeric
        table = tte_from_adtte(frame, event_codes=event_codes or "", param=param,
                               columns=in_file, subject_col=subject_col, time_col=time_col,
                               episode_col=episode_col,
                               time_unit=time_unit.value if time_unit is not None else "days")
        missing_note = _check_subjects(table, data.subjects, tte, subject_col)
        from_subjects = [c for c in wanted if c not in frame.columns]
        if from_subjects:
            subj = data.subjects
            unknown = [c for c in from_subjects if c not in subj.columns]
            if unknown:
                raise AnalysisError(f"column(s) {', '.join(unknown)} are neither in {tte} nor "
                                    "in the subjects table")
            extra = subj[["subject_id", *from_subjects]].copy()
            extra["subject_id"] = extra["subject_id"].astype(str)
            table = table.merge(extra, on="subject_id", how="left")
        counts = {"n_rows": len(table), "n_events": int(table["event"].sum()),
                  "n_censored": int((~table["event"]).sum())}
        endpoint = endpoint_from_param(_param_label(frame, param), param)
        source = {"kind": "tte_file", "file": str(tte), "event_codes": event_codes,
                  "param": param, "subject_col": subject_col, "time_col": time_col,
                  "episode_col": episode_col,
                  "time_unit_in": time_unit.value if time_unit is not None else "days"}
    else:
        rule = IndependenceRule(min_records=min_records, min_days=min_days,
                                hba1c_below=hba1c_below,
                                death_terms=tuple(_names(death_terms)))
        derived = insulin_episodes(data.measurements, data.subjects, data.adverse_events,
                                   rule=rule)
        counts = derived.counts()
        upstream = derived.exclusions
        table = tte_from_episodes(derived.episodes, data.subjects, origin=origin.value,
                                  which=episodes.value,
                                  columns=wanted)
        endpoint = insulin_resumption(origin.value)
        source = {"kind": "insulin_episodes", "rule": rule.to_dict(), "origin": origin.value,
                  "episodes": episodes.value}
    with warnings.catch_warnings(record=True) as caught:
        # shown once on stderr (and kept in the notes), never as a Python warning trace
        warnings.simplefilter("always", CohortWarning)
        result = analyze_survival(table, group=group, covariates=cov,
                                  conf_type=conf_type.value, time_unit=unit, landmarks=land,
                                  at_risk=risk, interval=interval, counts=counts,
                                  exclusions=upstream,
                                  reference={group: reference} if reference else None,
                                  cluster=cluster, robust=False if naive_se else None,
                                  endpoint=endpoint)
    for w in caught:
        if issubclass(w.category, CohortWarning):
            typer.echo(f"cohort: warning: {w.message}", err=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if derived is not None:
        result.notes[:0] = derived.notes
    if missing_note:
        result.notes.insert(0, missing_note)
    if plot is not None:
        # an unsplit analysis of a one-arm cohort is that arm, not "all"
        arms = data.subjects["arm"].dropna().astype(str).unique() if not group else []
        _write_plot(result, plot, [path, mapping], overwrite,
                    labels={"all": arms[0]} if len(arms) == 1 else None)
    if fmt is OutputFormat.json:
        doc = {"cohort_version": __version__, "path": str(path), "source": source,
               **result.to_dict()}
        if derived is not None:
            doc["episodes"] = json_safe(derived.episodes)
        typer.echo(json.dumps(doc, allow_nan=False))
    else:
        result.print_summary(title=f"Survival: {path}")
        _print_source(source)


def _check_subjects(table: Any, subjects: Any, path: Path, subject_col: str) -> str | None:
    """Subjects of a --tte file must be subjects of the cohort (a file of another study, or
    IDs written differently, would otherwise pass with every covariate missing)."""
    from cohort.errors import AnalysisError

    known = set(subjects["subject_id"].astype(str))
    ids = table["subject_id"].astype(str)
    unknown = sorted(set(ids) - known)
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more"
                                          if len(unknown) > 5 else "")
        raise AnalysisError(f"--tte {path}: {len(unknown)} of {ids.nunique()} subjects in "
                            f"{subject_col} are not subjects of the cohort ({shown}); check "
                            "that the file belongs to this cohort and that the IDs are "
                            "written alike")
    absent = sorted(known - set(ids))
    if absent:
        return (f"{len(absent)} of {len(known)} cohort subjects have no row in {path.name} "
                f"(e.g. {', '.join(absent[:3])}): not in this analysis")
    return None


def _param_label(frame: Any, param: str | None) -> str | None:
    """The ADTTE ``PARAM`` text of ``param`` (or of the only parameter), when the file has it."""
    if frame is None or "PARAM" not in getattr(frame, "columns", ()):
        return None
    rows = frame
    if param is not None and "PARAMCD" in frame.columns:
        rows = frame[frame["PARAMCD"].astype(str) == param]
    labels = rows["PARAM"].dropna().astype(str).unique()
    return str(labels[0]) if len(labels) == 1 else None


def _write_plot(result: Any, out: Path, inputs: list[Any], overwrite: bool,
                labels: dict[str, str] | None = None) -> None:
    from cohort.cli.plot_output import write_figure

    write_figure(result.km, out, inputs=inputs, overwrite=overwrite, labels=labels)


def _print_source(source: dict[str, Any]) -> None:
    """Where the times came from, when it is not the insulin-free episodes."""
    if source.get("kind") == "tte_file":
        typer.echo(f"source: {source['file']} ({source['event_codes']})")
    elif source.get("kind") == "time_to_event":
        typer.echo(f"source: time_to_event {source['param']} ({source['event_codes']})")

"""``cohort analyze survival PATH``: time to insulin resumption (or any supplied endpoint)."""

from __future__ import annotations

import json
import warnings
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cohort.cli.analyze import analyze_app
from cohort.cli.app import OutputFormat, guarded, load_for_cli


class Origin(StrEnum):
    """Time origins of the insulin-free clock."""

    insulin_stop = "insulin-stop"
    first_infusion = "first-infusion"


class Episodes(StrEnum):
    """Which episodes enter the analysis."""

    first = "first"
    all = "all"


class ConfType(StrEnum):
    """Transforms of the Kaplan-Meier confidence band."""

    log = "log"
    loglog = "log-log"
    plain = "plain"


def _numbers(text: str, option: str) -> list[float]:
    from cohort.errors import AnalysisError

    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise AnalysisError(f"{option}: expected numbers separated by commas (months), got "
                            f"{text!r}") from None
    if any(v < 0 for v in values) or any(v != v for v in values):
        raise AnalysisError(f"{option}: times must be >= 0 months, got {text!r}")
    return values


def _names(text: str | None) -> list[str]:
    return [v.strip() for v in (text or "").split(",") if v.strip()]


def _read_table(path: Path) -> Any:
    """Read a supplied time-to-event file (CSV, Parquet, Excel; SAS .xpt with pyreadstat)."""
    import pandas as pd

    from cohort.errors import AnalysisError

    if not path.is_file():
        raise FileNotFoundError(f"--tte: no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # codes stay text: CNSR "0" must not become 0.0 or anything else by guesswork
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
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


@analyze_app.command("survival")
@guarded
def survival(
    path: Path = typer.Argument(..., help="Cohort folder (or .xlsx workbook)."),
    group: str | None = typer.Option(None, "--group", "-g",
                                     help="Column to compare (a subjects column such as arm, "
                                     "or a column of the --tte file)."),
    origin: Origin = typer.Option(Origin.insulin_stop, "--origin",
                                  help="Clock: days since the insulin stop (the insulin-free "
                                  "duration), or study days since the first infusion with "
                                  "delayed entry at the insulin stop."),
    landmarks: str = typer.Option("6,12,24,36,48", "--landmarks",
                                  help="Landmark times in months (1 month = 30.4375 days)."),
    at_risk: str | None = typer.Option(None, "--at-risk",
                                       help="Times (months) of the numbers-at-risk table; "
                                       "default 0 and the landmarks."),
    covariates: str | None = typer.Option(None, "--covariates",
                                          help="Extra Cox covariates, comma-separated "
                                          "(e.g. age_years,bmi_kg_m2)."),
    tte: Path | None = typer.Option(None, "--tte",
                                    help="Use this time-to-event file (e.g. CDISC ADTTE: "
                                    "USUBJID, PARAMCD, AVAL in days, CNSR) instead of the "
                                    "derived insulin-free episodes."),
    event_codes: str | None = typer.Option(None, "--event-codes",
                                           help="Required with --tte: COLUMN:code=event,"
                                           "code=censored, e.g. 'CNSR:0=event,1=censored'."),
    param: str | None = typer.Option(None, "--param",
                                     help="PARAMCD to analyse when --tte holds several."),
    episodes: Episodes = typer.Option(Episodes.first, "--episodes",
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
    conf_type: ConfType = typer.Option(ConfType.log, "--conf-type",
                                       help="Kaplan-Meier CI transform (log is R's default)."),
    interval: bool = typer.Option(False, "--interval",
                                  help="Also fit a Weibull model to the interval view "
                                  "(resumption between visits)."),
    plot: Path | None = typer.Option(None, "--plot",
                                     help="Write the Kaplan-Meier figure (PNG, PDF or SVG)."),
    mapping: str | None = typer.Option(None, "--mapping", "-m",
                                       help="Mapping file (YAML) or preset name."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f",
                                     help="text: tables on the terminal; json: one JSON "
                                     "document on stdout."),
) -> None:
    """Time to insulin resumption: Kaplan-Meier, landmarks, at-risk table, log-rank and Cox.

    Independence: --min-records consecutive zero doses (and --min-days, --hba1c-below).

    Resumption: the first later record with a dose; censored at last contact or death.

    --tte FILE analyses any time-to-event endpoint instead (status codes declared).
    """
    land = _numbers(landmarks, "--landmarks")
    risk = _numbers(at_risk, "--at-risk") if at_risk is not None else None
    from cohort.errors import AnalysisError, CohortWarning

    if tte is None and event_codes is not None:
        raise AnalysisError("--event-codes is only meaningful with --tte FILE")
    if tte is not None and event_codes is None:
        raise AnalysisError("--event-codes is required with --tte (status codes are never "
                            "inferred): e.g. 'CNSR:0=event,1=censored' for CDISC ADTTE")

    import pandas as pd

    from cohort import __version__
    from cohort.analysis.result import json_safe
    from cohort.analysis.survival import analyze_survival
    from cohort.analysis.time_to_event import tte_from_adtte, tte_from_episodes
    from cohort.derive.insulin import IndependenceRule, insulin_episodes

    data = load_for_cli(path, mapping)
    cov = _names(covariates)
    wanted = ([group] if group else []) + cov
    counts: dict[str, Any] = {}
    upstream = pd.DataFrame(columns=["subject_id", "reason"])
    derived = None
    if tte is not None:
        frame = _read_table(tte)
        in_file = [c for c in wanted if c in frame.columns]
        for col in cov:
            if col in in_file and frame[col].dtype == object:
                # covariates read as text from CSV: numeric when every value is a number
                numeric = pd.to_numeric(frame[col], errors="coerce")
                if numeric.notna().sum() == frame[col].notna().sum():
                    frame[col] = numeric
        table = tte_from_adtte(frame, event_codes=event_codes or "", param=param,
                               columns=in_file)
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
        source = {"kind": "tte_file", "file": str(tte), "event_codes": event_codes,
                  "param": param}
    else:
        rule = IndependenceRule(min_records=min_records, min_days=min_days,
                                hba1c_below=hba1c_below,
                                death_terms=tuple(_names(death_terms)))
        derived = insulin_episodes(data.measurements, data.subjects, data.adverse_events,
                                   rule=rule)
        counts = derived.counts()
        upstream = derived.exclusions
        table = tte_from_episodes(derived.episodes, data.subjects, origin=origin.value,
                                  which=episodes.value, columns=wanted)
        source = {"kind": "insulin_episodes", "rule": rule.to_dict(), "origin": origin.value,
                  "episodes": episodes.value}
    with warnings.catch_warnings(record=True) as caught:
        # shown once on stderr (and kept in the notes), never as a Python warning trace
        warnings.simplefilter("always", CohortWarning)
        result = analyze_survival(table, group=group, covariates=cov,
                                  conf_type=conf_type.value, landmarks_months=land,
                                  at_risk_months=risk, interval=interval, counts=counts,
                                  exclusions=upstream)
    for w in caught:
        if issubclass(w.category, CohortWarning):
            typer.echo(f"cohort: warning: {w.message}", err=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if derived is not None:
        result.notes[:0] = derived.notes
    if plot is not None:
        _write_plot(result, plot)
    if fmt is OutputFormat.json:
        doc = {"cohort_version": __version__, "path": str(path), "source": source,
               **result.to_dict()}
        if derived is not None:
            doc["episodes"] = json_safe(derived.episodes)
        typer.echo(json.dumps(doc, allow_nan=False))
    else:
        _print_text(result, source)


def _write_plot(result: Any, out: Path) -> None:
    import io

    from cohort.errors import AnalysisError
    from cohort.io.write import atomic_write_bytes
    from cohort.report.figures.survival import plot_km

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf", "svg"):
        raise AnalysisError(f"--plot {out}: use a .png, .pdf or .svg file name")
    ax = plot_km(result.km)
    buf = io.BytesIO()
    ax.figure.savefig(buf, format=fmt, bbox_inches="tight", dpi=150)
    atomic_write_bytes(out, buf.getvalue())
    typer.echo(f"wrote {out}", err=True)


def _fmt(v: Any, digits: int = 1, missing: str = "NR") -> str:
    import math

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return missing
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def _print_text(result: Any, source: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=False)
    if result.counts:
        console.print("counts: " + ", ".join(f"{k} {v}" for k, v in result.counts.items()))
    km = result.km
    t = Table(title=f"Kaplan-Meier ({km.params['conf_type']} CI, "
              f"{km.params['conf_level']:.0%}); months = days / 30.4375")
    for col in ("group", "n", "events", "censored", "median (months)", "CI"):
        t.add_column(col)
    for r in km.summary.itertuples():
        t.add_row(escape(str(r.group)), str(r.n), str(r.n_events), str(r.n_censored),
                  _fmt(r.estimate_months), f"{_fmt(r.ci_lower_months)} - "
                  f"{_fmt(r.ci_upper_months)}")
    console.print(t)
    lt = Table(title="Landmarks: still event-free (95% CI)")
    for col in ("group", "months", "estimate", "CI", "n at risk"):
        lt.add_column(col)
    for r in km.landmarks.itertuples():
        if r.note:
            lt.add_row(escape(str(r.group)), f"{r.months:g}", "-", escape(r.note), "0")
            continue
        lt.add_row(escape(str(r.group)), f"{r.months:g}", _fmt(r.estimate, 3, "-"),
                   f"{_fmt(r.ci_lower, 3, '-')} - {_fmt(r.ci_upper, 3, '-')}", str(r.n_risk))
    console.print(lt)
    at = km.at_risk.pivot(index="group", columns="months", values="n_risk")
    rt = Table(title="Number at risk (months)")
    rt.add_column("group")
    for m in at.columns:
        rt.add_column(f"{m:g}")
    for g, row in at.iterrows():
        rt.add_row(escape(str(g)), *[str(int(v)) for v in row])
    console.print(rt)
    if result.logrank is not None:
        for r in result.logrank.summary.itertuples():
            console.print(f"log-rank {escape(r.comparison)}: chi2 {r.statistic:.3f}, df {r.df}, "
                          f"p {r.p:.4g}" + (f" (Holm {r.p_holm:.4g})"
                                            if r.comparison != "overall" else ""))
    if result.cox is not None:
        ct = Table(title="Cox proportional hazards (Efron ties)")
        for col in ("term", "HR", "95% CI", "p", "PH test p"):
            ct.add_column(col)
        ph = result.cox.ph_test.set_index("term")["p"]
        for r in result.cox.summary.itertuples():
            ct.add_row(escape(r.term), f"{r.estimate:.3f}",
                       f"{r.ci_lower:.3f} - {r.ci_upper:.3f}", f"{r.p:.4g}",
                       f"{ph.get(r.covariate, float('nan')):.4g}")
        console.print(ct)
        console.print(f"PH global test p {ph.get('GLOBAL', float('nan')):.4g}")
    if result.interval is not None:
        for r in result.interval.summary.itertuples():
            console.print(f"Weibull (interval view) {escape(str(r.group))} {r.parameter}: "
                          f"{r.estimate:.4g}")
    if len(result.exclusions):
        console.print(f"excluded: {len(result.exclusions)} (--format json lists them)")
    for note in result.notes:
        console.print(f"note: {escape(note)}")
    if source.get("kind") == "tte_file":
        console.print(f"source: {escape(str(source['file']))} "
                      f"({escape(str(source['event_codes']))})")

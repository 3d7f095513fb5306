"""``cohort analyze predict PATH``: prediction models for C-peptide remission (Lu 2021).

Cross-validated and bootstrap-corrected performance, permutation importance, optionally the
external validation of a stored model, and the figures. The remission rule's options are
shared with ``remission`` (:mod:`cohort.cli.remission_options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cohort.cli.analyze import analyze_app
from cohort.cli.app import VISIT, OutputFormat, guarded, load_for_cli
from cohort.cli.examples import epilog
from cohort.cli.remission_options import (
    BASELINE_WINDOW,
    BELOW_LIMIT,
    COMBINE,
    DETECTION_LIMIT,
    EXCLUSIVE,
    FORMAT,
    MAPPING,
    MARKERS,
    OLD_MARKERS,
    OLD_VISIT_DAY,
    PARTIAL,
    POPULATION,
    PREDICTORS,
    THRESHOLD,
    VISIT_DAY,
    WINDOW,
    BelowLimit,
    Combine,
    Partial,
    emit_json,
    remission_rule,
    rule_at_visit,
    rule_markers,
    split_population,
    usage_error,
    warnings_to_stderr,
)
from cohort.cli.safe_output import OVERWRITE
from cohort.cli.vocabulary import alias


@analyze_app.command("predict", epilog=epilog("analyze predict"))
@guarded
def predict(
    path: Path = typer.Argument(..., help="Cohort folder (or .xlsx workbook)."),
    predictors: list[str] | None = PREDICTORS,
    models: list[str] | None = typer.Option(None, "--model",
                                            help="Model (repeat the option): logistic "
                                            "(unpenalised), ridge (L2), firth, forest (a "
                                            "random forest: refitted for every sample, "
                                            "minutes). Default: logistic, ridge, firth."),
    trees: int = typer.Option(100, "--trees", min=1, help="Trees of the forest."),
    folds: int = typer.Option(5, "--folds", min=0,
                              help="Folds of the repeated stratified cross-validation (0 "
                              "skips it); each fold needs 2 events and 2 non-events."),
    repeats: int = typer.Option(20, "--repeats", min=1, help="Cross-validation repeats."),
    bootstrap: int = typer.Option(200, "--bootstrap", min=0,
                                  help="Bootstrap samples for the optimism correction (0 "
                                  "skips it)."),
    seed: int = typer.Option(0, "--seed", min=0, help="The one seed of all randomness."),
    permutations: int = typer.Option(5, "--permutations", min=1,
                                     help="Permutations per repeat for permutation "
                                     "importance."),
    population: list[str] = POPULATION,
    external: Path | None = typer.Option(None, "--external",
                                         help="Also validate this stored model (JSON or YAML: "
                                         "intercept, coefficients, units) on the cohort."),
    figures: Path | None = typer.Option(None, "--figures",
                                        help="Write roc.png, calibration.png and decision.png "
                                        "to this folder."),
    threshold: float = THRESHOLD,
    exclusive: bool = EXCLUSIVE,
    marker: list[str] = MARKERS,
    markers: str | None = OLD_MARKERS,
    combine: Combine = COMBINE,
    visit: list[str] = VISIT,
    visit_day: int | None = VISIT_DAY,
    old_visit_day: int | None = OLD_VISIT_DAY,
    window: str | None = WINDOW,
    baseline_window: str = BASELINE_WINDOW,
    detection_limit: float = DETECTION_LIMIT,
    below_limit: BelowLimit = BELOW_LIMIT,
    partial: Partial = PARTIAL,
    mapping: str | None = MAPPING,
    fmt: OutputFormat = FORMAT,
    overwrite: bool = OVERWRITE,
) -> None:
    """Predict remission: cross-validated and bootstrap optimism-corrected performance.

    Pipelines impute (median) and standardise inside every refit. Reported per model: AUC,
    Brier score, calibration intercept and slope, apparent, optimism-corrected (Harrell
    bootstrap) and cross-validated (mean and 2.5-97.5 percentiles over repeats); permutation
    importance on held-out subjects. With --external, a stored model is applied to the cohort
    (AUC, calibration, recalibration in the large).
    """
    visit_day = alias(visit_day, old_visit_day, new="--visit-days", old="--visit-day")
    rule = remission_rule(threshold, exclusive, rule_markers(marker, markers), combine,
                          visit_day, window, baseline_window, detection_limit, below_limit,
                          partial, visit)
    if not predictors and external is None:
        raise usage_error("--predictor", "give at least one --predictor (or --external MODEL)")
    from cohort import __version__
    from cohort.derive.remission import resolve_remission_visit
    from cohort.derive.remission_dataset import remission_dataset

    model_population, flags = split_population(population)
    data = load_for_cli(path, mapping, flags)
    rule = rule_at_visit(rule, data)
    rule = resolve_remission_visit(data.measurements, rule)
    table = remission_dataset(data.measurements, data.subjects, data.infusions, rule=rule)
    undetermined = table["remission"].isna()
    doc: dict[str, Any] = {"cohort_version": __version__, "path": str(path),
                           "rule": rule.describe(),
                           "n_undetermined": int(undetermined.sum())}
    result = ext = None
    with warnings_to_stderr():
        if predictors:
            from cohort.analysis.prediction import evaluate_prediction

            frame = table.loc[~undetermined].assign(
                remission=lambda f: f["remission"].astype(bool))
            chosen = list(models) if models else ["logistic", "ridge", "firth"]
            if "forest" in chosen:
                typer.echo(f"cohort: the forest is refitted {bootstrap + folds * repeats + 1} "
                           "times; this takes a while", err=True)
            result = evaluate_prediction(
                frame, "remission", list(predictors), models=chosen, n_splits=folds,
                n_repeats=repeats, n_bootstrap=bootstrap, random_state=seed,
                n_permutations=permutations, population=model_population,
                n_estimators=trees)
            excluded = table.loc[undetermined, ["subject_id", "reason"]]
            if len(excluded):
                import pandas as pd

                result.exclusions = pd.concat([excluded.astype(object), result.exclusions],
                                              ignore_index=True)
                for r in ("n_excluded",):
                    result.summary[r] = len(result.exclusions)
            doc.update(result.to_dict())
        if external is not None:
            from cohort.analysis.external import external_validation

            ext = external_validation(external, table, outcome="remission",
                                      population=model_population)
            doc["external"] = ext.to_dict()
    if figures is not None:
        _write_figures(figures, result, ext, inputs=[path, mapping, external],
                       overwrite=overwrite)
    if fmt is OutputFormat.json:
        emit_json(doc)
    else:
        typer.echo(f"remission: {doc['rule']}")
        if result is not None:
            result.print_summary(title=f"Prediction: {path}")
        if ext is not None:
            ext.print_summary(title=f"External validation: {path}")


def _write_figures(folder: Path, result: Any, ext: Any, *, inputs: list[Any],
                   overwrite: bool) -> None:
    import io

    from cohort.io.outputs import input_files
    from cohort.io.write import write_output_file
    from cohort.report.figures.prediction import (
        plot_calibration,
        plot_decision_curve,
        plot_roc,
    )

    jobs = []
    if result is not None and not result.roc.empty:
        jobs += [("roc.png", plot_roc, result), ("calibration.png", plot_calibration, result),
                 ("decision.png", plot_decision_curve, result)]
    if ext is not None:
        jobs += [("external_roc.png", plot_roc, ext),
                 ("external_calibration.png", plot_calibration, ext)]
    for name, func, source in jobs:
        ax = func(source)
        buf = io.BytesIO()
        ax.figure.savefig(buf, format="png", dpi=150)
        write_output_file(folder / name, buf.getvalue(), kind="figure",
                          inputs=input_files(*inputs), overwrite=overwrite)
        typer.echo(f"wrote {folder / name}", err=True)

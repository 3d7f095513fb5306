"""Reproduce a published study's targets on a cohort: published and reproduced side by side.

>>> from cohort.studies import reproduce
>>> res = reproduce("lu2021")                       # the committed synthetic cohort
>>> res.summary.set_index("target").loc["remission_rate_msc",
...                                     ["published", "reproduced", "agreement", "kind"]]
published                               0.407
reproduced    0.4074 (95% CI 0.2239 to 0.612)
agreement                              agrees
kind                               calibrated
Name: remission_rate_msc, dtype: object

``reproduce("lu2021", seed=7)`` does the same on a fresh synthetic cohort, and
``reproduce("lu2021", data="my_cohort/")`` on your own cohort folder.

Without ``data`` the study's synthetic cohort is used: the committed folder
(``synthetic/<study>/cohort``) for the spec's seed, or, for another seed, a cohort synthesised
into a temporary folder with :meth:`cohort.synth.generate.SynthResult.write` and read back
with :func:`cohort.load_cohort`, the very path a user's folder takes. So
``reproduce(study, data=DIR)`` on a folder written by ``cohort synth STUDY --seed N --out DIR``
gives the numbers of ``reproduce(study, seed=N)``.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from cohort.errors import CohortError, CohortWarning
from cohort.spec.inputs import target_inputs
from cohort.studies.agreement import NOT_COMPUTABLE, judge
from cohort.studies.base import Reproduced
from cohort.studies.context import StudyContext, warning_text
from cohort.studies.display import published_text, reproduced_text
from cohort.studies.recipes import COUNT_ANALYSES, compute
from cohort.studies.reproduction_result import SUMMARY_COLUMNS, ReproductionResult

if TYPE_CHECKING:
    from cohort.io.cohort import Cohort
    from cohort.spec.model import StudySpec, Target

__all__ = ["SUMMARY_COLUMNS", "ReproductionResult", "committed_cohort_stale", "compute_targets",
           "open_study_cohort", "reproduce", "reproduce_cohort", "spec_mapping"]


def _spec_dir(ref: str) -> Path:
    from cohort.spec.registry import study_folder

    if "/" not in ref and "\\" not in ref and not ref.endswith((".yaml", ".yml")):
        return study_folder() / ref
    return Path(ref).parent


def open_study_cohort(spec: StudySpec, ref: str, *, seed: int | None = None
                      ) -> tuple[Cohort, str, int, bool]:
    """The synthetic cohort of a study: the committed one, or a fresh one for ``seed``.

    A fresh cohort is written by the synth writer into a temporary folder and read back with
    :func:`cohort.load_cohort` (validated like any user folder); the folder is removed
    afterwards (the manifest keeps each file's SHA-256).

    Returns
    -------
    (Cohort, str, int, bool)
        The cohort, a description, the seed it was generated with, and whether its files are
        kept (the committed folder) or were temporary.
    """
    from cohort.validation import load_cohort

    default = spec.study.seed
    committed = _spec_dir(ref) / "cohort"
    regenerated = ""
    if (seed is None or seed == default) and committed.is_dir():
        stale = committed_cohort_stale(spec, committed)
        if stale is None:
            return (load_cohort(committed, mapping=spec_mapping(spec)),
                    f"synthetic cohort {committed} (committed, seed {default})", default, True)
        regenerated = f" ({stale}; regenerated from the spec as it is now)"
    from cohort.synth import synthesize

    used = default if seed is None else int(seed)
    result = synthesize(spec, seed=used)
    with tempfile.TemporaryDirectory(prefix="cohort-reproduce-") as tmp:
        folder = Path(tmp) / spec.study.id
        result.write(folder, spec_ref=ref)
        cohort = load_cohort(folder, mapping=spec_mapping(spec))
    return cohort, f"synthetic cohort generated with seed {used}{regenerated}", used, False


def spec_mapping(spec: StudySpec) -> Any:
    """A mapping that declares the spec's extras (its study-specific subject variables and
    parameters), for reading a cohort of the study; None when the spec declares none."""
    if not spec.extras:
        return None
    from cohort.io.mapping import Mapping

    return Mapping(extras=spec.extras)


def committed_cohort_stale(spec: StudySpec, folder: Path) -> str | None:
    """Why a committed cohort folder no longer matches its spec, or None when it does.

    The folder records :func:`cohort.spec.registry.spec_hash` of the spec it was made from
    (``spec_hash.txt``, written by ``cohort synth``).
    """
    from cohort.spec.registry import SPEC_HASH_FILE, spec_hash

    path = folder / SPEC_HASH_FILE
    if not path.is_file():
        return f"the committed cohort {folder} records no spec hash ({SPEC_HASH_FILE})"
    recorded = path.read_text(encoding="utf-8").split()[:1]
    now = spec_hash(spec)
    if recorded != [now]:
        return (f"the committed cohort {folder} was made from another version of the spec "
                f"(recorded {(recorded or ['nothing'])[0][:12]}, spec now {now[:12]})")
    return None


def _command(ref: str, *, data: Any, seed: Any, mapping: Any) -> str:
    parts = ["cohort", "reproduce", ref]
    for flag, value in (("--data", data), ("--mapping", mapping), ("--seed", seed)):
        if value is not None:
            parts += [flag, str(value)]
    return " ".join(parts)


def _files(cohort: Cohort, *, kept: bool) -> list[dict[str, Any]]:
    out = []
    for table, prov in cohort.provenance.items():
        for src in prov.sources:
            out.append({"table": table, "name": src.name,
                        "path": src.path if kept else None, "format": src.format,
                        "sha256": src.sha256, "n_rows": src.n_rows})
    return out


def reproduce(study: str | Path, *, data: str | Path | None = None, seed: int | None = None,
              mapping: str | None = None) -> ReproductionResult:
    """Reproduce every published target of a study.

    Parameters
    ----------
    study : str or Path
        A registered study (``"lu2021"``, see ``cohort studies``) or the path of a spec file.
    data : str or Path, optional
        A cohort folder (or workbook) to reproduce the targets on; validated first. Default:
        the study's synthetic cohort.
    seed : int, optional
        Without ``data``: synthesise the cohort with this seed (default: the committed cohort
        of the spec's seed).
    mapping : str, optional
        A mapping file for ``data`` (column names and codes onto the contract; e.g. recode
        your arm names to the spec's).

    Returns
    -------
    ReproductionResult

    Raises
    ------
    SpecError
        If ``study`` is neither registered nor a valid spec file.
    InvalidCohortError
        If ``data`` breaks the data contract.
    CohortError
        If both ``data`` and ``seed`` are given, or ``mapping`` without ``data``.
    """
    from cohort.spec.registry import resolve_spec

    if data is not None and seed is not None:
        raise CohortError("give either data (your cohort) or seed (a synthetic cohort "
                          f"generated with it), not both; got data={str(data)!r} and "
                          f"seed={seed}")
    if mapping is not None and data is None:
        raise CohortError(f"a mapping ({mapping}) applies to your own cohort: give data too")
    spec, ref = resolve_spec(study)
    command = _command(ref, data=data, seed=seed, mapping=mapping)
    if data is not None:
        from cohort.validation import load_cohort

        cohort = load_cohort(data, mapping=mapping if mapping is not None
                             else spec_mapping(spec))
        return reproduce_cohort(spec, cohort, data_description=f"cohort {data}",
                                command=command, options={"data": str(data),
                                                          "mapping": mapping})
    cohort, what, used, kept = open_study_cohort(spec, ref, seed=seed)
    if "regenerated from the spec" in what:
        warnings.warn(f"{spec.study.id}: {what}", CohortWarning, stacklevel=2)
    return reproduce_cohort(spec, cohort, data_description=what, command=command,
                            options={"seed": seed}, seed=used, files_kept=kept)


def _row(target: Target, rep: Reproduced | None, agreement: str, rule: str,
         reason: str | None, notes: list[str], spec: StudySpec) -> dict[str, Any]:
    import math

    inputs = target_inputs(spec, target)
    ci = target.ci or (math.nan, math.nan)
    got = rep or Reproduced()
    return {
        "target": target.id, "description": target.description, "analysis": target.analysis,
        "source": target.source, "published": published_text(target),
        "published_value": math.nan if target.value is None else float(target.value),
        "published_ci_lower": float(ci[0]), "published_ci_upper": float(ci[1]),
        "published_p": math.nan if target.p is None else float(target.p),
        "reproduced": reproduced_text(rep, target),
        "reproduced_value": got.value, "ci_lower": got.ci_lower, "ci_upper": got.ci_upper,
        "p": got.p, "n": got.n, "agreement": agreement, "agreement_rule": rule,
        "inputs": inputs.basis, "assumed_inputs": "; ".join(inputs.assumed),
        "calibrated": bool(target.calibrated),
        "status": "computed" if rep is not None else NOT_COMPUTABLE, "reason": reason,
        "method": got.method or None, "notes": "; ".join(dict.fromkeys(notes)) or None,
        "published_values": list(target.values) if target.values is not None else None,
        "reproduced_values": got.values, "note": target.note,
        "primary": target.id in spec.study.primary,
        "kind": "calibrated" if target.calibrated else "independent",
    }


def compute_targets(spec: StudySpec, cohort: Cohort, *,
                    targets: list[Target] | None = None) -> pd.DataFrame:
    """Compute targets of ``spec`` (default: all) on a validated ``cohort``.

    Returns
    -------
    DataFrame
        One row per target, columns :data:`SUMMARY_COLUMNS`.

    Raises
    ------
    SpecError
        If a ``cohort analyze`` request names a result table or output column the command
        does not give, or an option value it refuses (the key path is in the message).
    """
    ctx = StudyContext(spec, cohort)
    rows = []
    index = {id(t): i for i, t in enumerate(spec.targets)}
    try:
        for target in spec.targets if targets is None else targets:
            rows.append(_target_row(ctx, spec, target, index.get(id(target))))
    finally:
        ctx.close()
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _target_row(ctx: StudyContext, spec: StudySpec, target: Target, index: int | None
                ) -> dict[str, Any]:
    from cohort.errors import SpecError
    from cohort.studies.requests import RequestSpecError, is_count

    ctx.notes = []
    rep: Reproduced | None = None
    reason = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rep = compute(ctx, target)
        except RequestSpecError as exc:
            where = f"targets[{index}] ({target.id})" if index is not None else target.id
            raise SpecError(f"{where}: {exc}") from None
        except CohortError as exc:
            reason = str(exc)
        except Exception as exc:  # a bug must not hide the other targets' numbers
            reason = (f"internal error in {target.analysis} ({type(exc).__name__}: "
                      f"{exc}); this is a bug in cohort: please report it")
    notes = [*ctx.notes, *(warning_text(w) for w in caught), *(rep.notes if rep else [])]
    if rep is None:
        agreement, rule = NOT_COMPUTABLE, ""
    else:
        counts = COUNT_ANALYSES | ({target.analysis} if target.command is not None
                                   and is_count(target) else set())
        agreement, rule = judge(target, rep, counts=frozenset(counts))
    return _row(target, rep, agreement, rule, reason, notes, spec)


def reproduce_cohort(spec: StudySpec, cohort: Cohort, *, data_description: str = "",
                     command: str | None = None, options: dict[str, Any] | None = None,
                     seed: int | None = None, files_kept: bool = True) -> ReproductionResult:
    """Compute every target of ``spec`` on a validated ``cohort``.

    Parameters
    ----------
    spec : StudySpec
        The study spec.
    cohort : Cohort
        A cohort that passed the data contract (:func:`cohort.load_cohort`).
    data_description : str, keyword-only
        Which cohort it is, for people.
    command : str, keyword-only
        The command for the run manifest (default: ``cohort reproduce <study>``).
    options : dict, keyword-only
        Options for the manifest.
    seed : int, keyword-only
        Seed of a synthetic cohort (for the manifest).
    files_kept : bool, keyword-only
        False when the cohort's files were temporary (their paths are then not recorded).

    Returns
    -------
    ReproductionResult
        A target the cohort lacks something for is ``not computable`` with the reason;
        warnings raised while computing a target are in its ``notes``, not re-raised.
    """
    from cohort.manifest import run_manifest

    summary = compute_targets(spec, cohort)
    options = {"study": spec.study.id, **(options or {})}
    manifest = run_manifest(command=command or f"cohort reproduce {spec.study.id}",
                            options=options, seed=seed,
                            files=_files(cohort, kept=files_kept))
    result = ReproductionResult(summary=summary, params=options, study=spec, cohort=cohort,
                                manifest=manifest, data=data_description)
    result.notes.append(result.assumed_line())
    return result

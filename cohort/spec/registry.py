"""The registry of bundled studies: every ``synthetic/<study>/spec.yaml``.

The folder is found through :func:`cohort._resources.data_path`, so the registry works from a
source checkout and from an installed wheel alike.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cohort._resources import data_path
from cohort.errors import SpecError
from cohort.spec.load import load_spec
from cohort.spec.model import StudySpec

__all__ = ["SPEC_HASH_FILE", "StudyEntry", "registered_studies", "resolve_spec", "spec_hash",
           "study_folder"]

SPEC_HASH_FILE = "spec_hash.txt"
"""File in a generated cohort folder recording :func:`spec_hash` of the spec it was made from."""


@dataclass(frozen=True)
class StudyEntry:
    """One registered study."""

    id: str
    title: str
    citation: str
    diabetes_type: str
    arms: dict[str, int]
    seed: int
    n_targets: int
    spec_path: Path
    cohort_path: Path

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "title": self.title, "citation": self.citation,
                "diabetes_type": self.diabetes_type, "arms": self.arms,
                "n": sum(self.arms.values()), "seed": self.seed, "targets": self.n_targets,
                "spec": str(self.spec_path), "cohort": str(self.cohort_path),
                "cohort_present": self.cohort_path.is_dir()}


def study_folder() -> Path:
    """The folder that holds the bundled studies."""
    return data_path("synthetic")


def _spec_files() -> list[Path]:
    return sorted(p for p in study_folder().glob("*/spec.yaml") if p.is_file())


def registered_studies() -> list[StudyEntry]:
    """Every bundled study, sorted by id.

    Raises
    ------
    SpecError
        If a bundled spec is invalid (a packaging or editing mistake).
    """
    out = []
    for path in _spec_files():
        spec = load_spec(path)
        out.append(StudyEntry(
            id=spec.study.id, title=spec.study.title, citation=spec.study.citation.strip(),
            diabetes_type=spec.study.diabetes_type,
            arms={a.name: int(a.n) for a in spec.arms}, seed=spec.study.seed,
            n_targets=len(spec.targets), spec_path=path, cohort_path=path.parent / "cohort"))
    return sorted(out, key=lambda e: e.id)


def resolve_spec(ref: str | Path) -> tuple[StudySpec, str]:
    """A spec from a registered study name or a spec file path.

    Returns
    -------
    (StudySpec, str)
        The spec and how to refer to it in a regeneration command.

    Raises
    ------
    SpecError
        If ``ref`` is neither a registered study nor a readable, valid spec file.
    """
    text = str(ref)
    folder = study_folder() / text / "spec.yaml"
    if "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml")):
        if folder.is_file():
            return load_spec(folder), text
        names = [p.parent.name for p in _spec_files()]
        raise SpecError(f"unknown study {text!r}: registered studies are "
                        f"{', '.join(names) or 'none'}; or give the path of a spec file "
                        "(.yaml)")
    path = Path(text)
    if path.is_dir():
        path = path / "spec.yaml"
    return load_spec(path), str(path)



def spec_hash(spec: StudySpec) -> str:
    """SHA-256 of what a synthetic cohort is generated from.

    The validated spec without its ``targets`` and the study's descriptive texts (title,
    citation, summary, conflicts, primary endpoints), as canonical JSON: editing a comment,
    a target or a citation leaves committed cohorts valid; changing a design, a visit, a
    distribution, an outcome model, the seed or the id prefix does not.
    """
    # defaults left out: a new optional key in the spec format leaves every hash unchanged
    dump = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True,
                           exclude={"targets": True})
    study = dump.get("study", {})
    for key in ("title", "citation", "summary", "conflicts", "primary", "doi", "pmid", "pmcid",
                "registry", "url"):
        study.pop(key, None)
    text = json.dumps(dump, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

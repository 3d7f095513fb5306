"""The study report: one self-contained HTML file about a cohort.

Sections, in order (:data:`SECTIONS`): cohort overview, Table 1, validation summary, change
in HbA1c from baseline, ANCOVA against the control arm, C-peptide remission and prediction,
insulin independence, published vs reproduced (only with a reproduction: a user's own trial
has no published numbers), run manifest. Every comparison shows one primary p-value with its
test named, the others under "details" (:mod:`cohort.report.comparisons`). A section the data
do not allow
(no control arm, no C-peptide, no insulin records, too few subjects or events) says
"not computable: <reason>" instead of failing, so a valid cohort always gets its report.
Figures are embedded as PNG data URIs; the document has no scripts and no external links.
Apart from the manifest's timestamp, the same cohort and options give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cohort.report.context import ReportContext, SectionStatus, run_section

if TYPE_CHECKING:
    from cohort.io.cohort import Cohort
    from cohort.io.mapping import Mapping
    from cohort.report.html import HtmlReport

__all__ = ["REPRODUCTION", "SECTIONS", "StudyReport", "build_report", "sections", "write_report"]

SECTIONS = (
    "Cohort overview",
    "Table 1: baseline characteristics",
    "Validation summary",
    "HbA1c: change from baseline",
    "HbA1c: ANCOVA against control",
    "C-peptide remission and prediction",
    "Insulin independence: time to resumption",
    "Published vs reproduced",
    "Run manifest",
)
"""Level-2 headings a report can have, in order. Each is present even when not computable,
except "Published vs reproduced", which only a report with a reproduction has (see
:func:`sections`)."""

REPRODUCTION = "Published vs reproduced"


def sections(reproduction: Any = None) -> tuple[str, ...]:
    """The level-2 headings of a report: :data:`SECTIONS`, without "Published vs reproduced"
    when there is no reproduction (a user's own trial has no published numbers to compare)."""
    return SECTIONS if reproduction is not None else tuple(
        s for s in SECTIONS if s != REPRODUCTION)


@dataclass
class StudyReport:
    """A built report, before or after writing.

    Attributes
    ----------
    html : HtmlReport
        The document (``html.render()`` gives the text).
    sections : list of SectionStatus
        How each section went (``ok``, ``not computable`` with the reason, or ``error``).
    manifest : dict
        The run manifest shown in the report (:func:`cohort.manifest.run_manifest`).
    """

    html: HtmlReport
    sections: list[SectionStatus]
    manifest: dict[str, Any]

    def render(self) -> str:
        """The HTML document as text."""
        return self.html.render()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: ``title``, ``sections`` (heading, status, reason, parts) and
        ``manifest``."""
        return {"title": self.html.title, "sections": [s.to_dict() for s in self.sections],
                "manifest": self.manifest}


def _load(cohort_or_path: Cohort | str | Path,
          mapping: str | Path | Mapping | None) -> Cohort:
    from cohort.io.cohort import Cohort

    if isinstance(cohort_or_path, Cohort):
        if mapping is not None:
            from cohort.errors import CohortError

            raise CohortError("mapping applies when reading a cohort folder; the cohort given "
                              "is already loaded (pass its path instead, or no mapping)")
        return cohort_or_path
    from cohort.validation import load_cohort

    return load_cohort(cohort_or_path, mapping=mapping)


def _display_name(path: str) -> str:
    """The folder name, with its parent when the folder is a generic ``cohort``
    (``synthetic/lu2021/cohort`` -> ``lu2021/cohort``)."""
    p = Path(path)
    if p.name.casefold() in ("cohort", "data", "") and p.parent.name:
        return f"{p.parent.name}/{p.name}"
    return p.name or str(path)


def _default_title(cohort: Cohort, reproduction: Any) -> str:
    # a ReproductionResult carries its StudySpec (.study); its title names the report
    study = getattr(getattr(reproduction, "study", None), "study", None)
    if study is not None and getattr(study, "id", None) and getattr(study, "title", None):
        return f"{study.id}: {study.title}"
    return f"Cohort report: {_display_name(cohort.path)}"


def _manifest(cohort: Cohort, *, title: str, seed: int, reproduction: Any,
              created: datetime | None, command: str,
              extra: dict[str, Any] | None) -> dict[str, Any]:
    from cohort.manifest import run_manifest

    files = [{"table": t, "name": s.name, "path": s.path, "format": s.format,
              "sha256": s.sha256, "rows": s.n_rows}
             for t, p in cohort.provenance.items() for s in p.sources]
    options: dict[str, Any] = {"path": cohort.path, "mapping": cohort.mapping, "title": title,
                               "reproduction": reproduction is not None}
    # a ReproductionResult carries its StudySpec; the id is what a reader needs
    study_id = getattr(getattr(getattr(reproduction, "study", None), "study", None), "id", None)
    if study_id is not None:
        options["study"] = str(study_id)
    options.update(extra or {})
    return run_manifest(command=command, options=options, seed=seed, files=files,
                        created=created)


def build_report(cohort_or_path: Cohort | str | Path, *, reproduction: Any = None,
                 title: str | None = None, mapping: str | Path | Mapping | None = None,
                 seed: int = 0, created: datetime | None = None,
                 command: str = "cohort report",
                 options: dict[str, Any] | None = None) -> StudyReport:
    """Build the report of a cohort without writing it.

    Parameters are those of :func:`write_report`, plus ``command`` and ``options`` (further
    options of the caller), both recorded in the manifest.

    Returns
    -------
    StudyReport
    """
    from cohort.report.cpeptide import remission_section
    from cohort.report.hba1c import ancova_section, change_section
    from cohort.report.html import HtmlReport
    from cohort.report.insulin import survival_section
    from cohort.report.overview import overview_section, table1_section, validation_section
    from cohort.report.reproduction import reproduction_section

    cohort = _load(cohort_or_path, mapping)
    title = title or _default_title(cohort, reproduction)
    html = HtmlReport(title)
    ctx = ReportContext(cohort=cohort, html=html, seed=seed)
    manifest = _manifest(cohort, title=title, seed=seed, reproduction=reproduction,
                         created=created, command=command, extra=options)
    builders: list[Callable[[ReportContext], None]] = [
        overview_section, table1_section, validation_section, change_section, ancova_section,
        remission_section, survival_section,
        lambda c: reproduction_section(c, reproduction),
        lambda c: c.html.json_block(manifest),
    ]
    for heading, build in zip(SECTIONS, builders, strict=True):
        if heading in sections(reproduction):
            run_section(ctx, heading, build)
    return StudyReport(html=html, sections=ctx.statuses, manifest=manifest)


def write_report(cohort_or_path: Cohort | str | Path, out_html: str | Path, *,
                 reproduction: Any = None, title: str | None = None,
                 mapping: str | Path | Mapping | None = None, seed: int = 0,
                 created: datetime | None = None) -> Path:
    """Write the self-contained HTML report of a cohort (atomically).

    Parameters
    ----------
    cohort_or_path : Cohort, str or Path
        A loaded :class:`~cohort.io.cohort.Cohort`, or a cohort folder (or workbook) to load
        and validate.
    out_html : str or Path
        The HTML file to write (replaced if it exists; never left half-written).
    reproduction : ReproductionResult, optional, keyword-only
        From :func:`cohort.studies.reproduce.reproduce`: adds the published-vs-reproduced
        section (without it the report has no such section).
    title : str, optional, keyword-only
        Document title (default: ``"<study id>: <study title>"`` with a reproduction, else
        ``"Cohort report: <folder name>"``).
    mapping : str, Path or Mapping, optional, keyword-only
        Mapping file or preset, when ``cohort_or_path`` is a path.
    seed : int, keyword-only
        Seed of the prediction's cross-validation and bootstrap (recorded in the manifest).
    created : datetime, optional, keyword-only
        Manifest timestamp (default now, UTC); fix it for byte-identical reports.

    Returns
    -------
    Path
        ``out_html``.

    Raises
    ------
    InvalidCohortError
        If the cohort at ``cohort_or_path`` breaks the data contract.

    Notes
    -----
    Values are in canonical units: HbA1c %, C-peptide nmol/L, insulin IU/kg/day, times in
    study days (Kaplan-Meier times in months of 30.4375 days).
    """
    report = build_report(cohort_or_path, reproduction=reproduction, title=title,
                          mapping=mapping, seed=seed, created=created)
    return report.html.write(out_html)

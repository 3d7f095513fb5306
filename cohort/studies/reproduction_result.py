"""The result of reproducing a study: published targets next to the reproduced numbers.

:class:`ReproductionResult` is what :func:`cohort.studies.reproduce.reproduce` and
:func:`~cohort.studies.reproduce.reproduce_cohort` return: one row per published target with
its verdict, the counts by verdict and by kind (calibrated or independent), the primary
endpoints, and the tables the notebooks and the report show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from cohort.analysis.result import AnalysisResult, json_safe
from cohort.studies.agreement import NOT_COMPUTABLE, VERDICTS

if TYPE_CHECKING:
    from cohort.io.cohort import Cohort
    from cohort.spec.model import StudySpec

__all__ = ["SUMMARY_COLUMNS", "ReproductionResult"]


SUMMARY_COLUMNS = [
    "target", "description", "analysis", "source", "published", "published_value",
    "published_ci_lower", "published_ci_upper", "published_p", "reproduced",
    "reproduced_value", "ci_lower", "ci_upper", "p", "n", "agreement", "agreement_rule",
    "inputs", "assumed_inputs", "calibrated", "status", "reason", "method", "notes",
    "published_values", "reproduced_values", "note", "primary", "kind",
]
"""Columns of :attr:`ReproductionResult.summary`, one row per published target."""


@dataclass
class ReproductionResult(AnalysisResult):
    """Published targets of a study next to the numbers reproduced on a cohort.

    Attributes
    ----------
    summary : DataFrame
        One row per published target (columns :data:`SUMMARY_COLUMNS`): ``target`` (id),
        ``description``, ``analysis`` (analysis id), ``source`` (where it was published),
        ``published`` (the number as printed, with its SE/CI and p), ``published_value``,
        ``published_ci_lower``, ``published_ci_upper``, ``published_p``, ``reproduced``
        (the reproduced number as text), ``reproduced_value``, ``ci_lower``, ``ci_upper``
        (its 95% CI), ``p``, ``n`` (subjects or episodes it rests on), ``agreement``
        (``agrees``; ``compatible``: the published value inside the reproduced 95% CI only;
        ``differs``; ``not computable``), ``agreement_rule`` (the check(s)
        applied, see :mod:`cohort.studies.agreement`), ``inputs`` (``published``,
        ``assumed`` or ``mixed``: the marks of the spec parameters the target rests on, see
        :mod:`cohort.spec.inputs`), ``assumed_inputs`` (those spec entries that are
        assumed), ``calibrated`` (the generator was built to hit it), ``status``
        (``computed`` or ``not computable``), ``reason`` (why not computable), ``method``
        (what was computed), ``notes`` (caveats and warnings), ``published_values`` and
        ``reproduced_values`` (list targets), ``note`` (the spec's note on the target),
        ``primary`` (a declared primary endpoint),
        ``kind`` (``calibrated``: the generator was given the number, so it is read back;
        ``independent``).
        Values are in the unit of the published number (HbA1c %, C-peptide nmol/L,
        durations in months, proportions 0-1, doses in cells).
    study : StudySpec
        The study spec.
    cohort : Cohort
        The cohort the targets were computed on.
    manifest : dict
        :func:`cohort.manifest.run_manifest`: command, options, seed, input files with
        their SHA-256, package versions.
    data : str
        Which cohort it was, in words.
    """

    study: StudySpec | None = None
    cohort: Cohort | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    data: str = ""

    def counts(self, kind: str | None = None) -> dict[str, int]:
        """Number of targets per verdict (``agrees``, ``compatible``, ``differs``,
        ``not computable``), of one ``kind`` (``calibrated`` or ``independent``) or all."""
        s = self.summary
        if kind is not None:
            s = s[s["kind"] == kind]
        col = s["agreement"]
        return {k: int((col == k).sum()) for k in VERDICTS}

    def kind_counts(self) -> dict[str, dict[str, int]]:
        """Verdict counts of independent targets and of calibrated ones (inputs read back:
        the generator was given the number, so agreement there checks the generator, not the
        analysis), each with its ``total``."""
        out = {}
        for kind in ("independent", "calibrated"):
            c = self.counts(kind)
            out[kind] = {"total": sum(c.values()), **c}
        return out

    def primary(self) -> pd.DataFrame:
        """Rows of the study's primary endpoint(s), in the order the spec declares them."""
        s = self.summary
        order = list(self.study.study.primary) if self.study is not None else []
        rows = s[s["target"].isin(order)]
        return rows.set_index("target").loc[order].reset_index()[s.columns]

    def headline(self) -> list[str]:
        """The lines that head every output: the primary endpoint's verdict (or why it is
        not computable, or that the spec declares none), then independent and calibrated
        counts."""
        lines = []
        prim = self.primary()
        if prim.empty:
            lines.append("primary endpoint: not declared in the spec")
        for r in prim.itertuples():
            if r.agreement == NOT_COMPUTABLE:
                lines.append(f"primary endpoint {r.target} ({r.description}): NOT COMPUTABLE: "
                             f"{r.reason}")
            else:
                lines.append(f"primary endpoint {r.target} ({r.description}): {r.agreement} "
                             f"(published {r.published}; reproduced {r.reproduced})")
        kc = self.kind_counts()
        for kind, what in (("independent", "independent targets"),
                           ("calibrated", "calibrated targets (inputs read back)")):
            c = kc[kind]
            lines.append(f"{what}: {c['agrees']} of {c['total']} agree, {c['compatible']} "
                         f"compatible (published value inside the reproduced CI only), "
                         f"{c['differs']} differ, {c['not computable']} not computable")
        return lines

    def published_vs_reproduced(self, *analyses: str) -> pd.DataFrame:
        """The targets of these analyses: the published number next to the reproduced one.

        Each row is judged by its stated rule (``agreement_rule``): counts equal; a point
        estimate within the printed precision or the spec's tolerance; a published value only
        inside the reproduced 95% CI is ``compatible``, not agreement; p-values on the
        published side of their bound.

        Parameters
        ----------
        *analyses : str
            Analysis ids (column ``analysis`` of :attr:`summary`, e.g. ``"remission_count"``).

        Returns
        -------
        DataFrame
            Columns ``target``, ``description``, ``published``, ``reproduced``, ``agreement``,
            ``agreement_rule``, ``kind`` and ``inputs`` of :attr:`summary` (missing as
            ``""``), one row per target of the analyses, in the order of the spec.

        Examples
        --------
        >>> from cohort.studies import reproduce
        >>> result = reproduce("lu2021")
        >>> result.published_vs_reproduced("remission_count")[["target", "published"]]
                  target published
        0  remission_msc        11
        """
        rows = self.summary[self.summary["analysis"].isin(analyses)]
        cols = ["target", "description", "published", "reproduced", "agreement",
                "agreement_rule", "kind", "inputs"]
        return rows[cols].fillna("").reset_index(drop=True)

    def outcome_targets(self) -> pd.DataFrame:
        """Rows of :attr:`summary` whose analysis is not a baseline one (the outcomes).

        Examples
        --------
        >>> from cohort.studies import reproduce
        >>> result = reproduce("lu2021")
        >>> out = result.outcome_targets()
        >>> 0 < len(out) < len(result.summary)
        True
        """
        from cohort.spec.analyses import ANALYSES

        s = self.summary
        return s[~s["analysis"].map(lambda a: ANALYSES[a].baseline)]

    def assumed_targets(self) -> list[str]:
        """Ids of the targets whose inputs are assumed or mixed."""
        s = self.summary
        return s.loc[s["inputs"] != "published", "target"].astype(str).tolist()

    def assumed_line(self) -> str:
        """One plain sentence saying which targets rest on assumed inputs."""
        s = self.summary
        assumed = s.loc[s["inputs"] == "assumed", "target"].astype(str).tolist()
        mixed = s.loc[s["inputs"] == "mixed", "target"].astype(str).tolist()
        if not assumed and not mixed:
            return "Every target rests on published inputs only."
        parts = []
        if assumed:
            parts.append(f"{len(assumed)} rest on assumed inputs only ({', '.join(assumed)})")
        if mixed:
            parts.append(f"{len(mixed)} on published and assumed inputs ({', '.join(mixed)})")
        n_pub = int((s["inputs"] == "published").sum())
        return (f"Of {len(s)} targets, " + "; ".join(parts) + f"; {n_pub} on published inputs "
                "only. Where inputs are assumed, agreement shows what the analysis gives on a "
                "cohort built partly from assumptions, not what the study found.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the base keys (``analysis``, ``params``, ``summary``,
        ``exclusions``, ``n_excluded``, ``notes``) plus ``cohort_version``, ``study``,
        ``data``, ``counts``, ``assumed_inputs`` and ``manifest``."""
        from cohort import __version__

        out = super().to_dict()
        spec = self.study
        study = {}
        if spec is not None:
            s = spec.study
            study = {"id": s.id, "title": s.title, "citation": " ".join(s.citation.split()),
                     "doi": s.doi, "pmid": s.pmid, "pmcid": s.pmcid, "registry": s.registry,
                     "seed": s.seed, "primary": list(s.primary),
                     "conflicts": list(s.conflicts)}
        out = {"cohort_version": __version__, "study": study, "data": self.data,
               "headline": self.headline(), "counts": self.counts(),
               "counts_by_kind": self.kind_counts(),
               "primary": json_safe(self.primary()) if spec is not None else [],
               "assumed_inputs": self.assumed_line(), **out,
               "manifest": json_safe(self.manifest)}
        return out

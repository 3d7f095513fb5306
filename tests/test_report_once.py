"""`cohort report` computes each analysis once (issue 16 item 5): building a report calls every
analysis of its sections one time, the ANCOVA included (one call for all visits, not one per
visit), and shares the inferred visits between the HbA1c sections."""

from __future__ import annotations

from collections import Counter
from unittest import mock

from report_helpers import COHORTS, FIXED

ANALYSES = {
    "cohort.analysis.table1.table1": 1,
    "cohort.analysis.paired.paired_analysis": 1,
    "cohort.analysis.ancova.ancova_analysis": 1,
    "cohort.analysis.remission.remission_analysis": 1,
    "cohort.derive.insulin.insulin_episodes": 1,
    "cohort.analysis.survival.kaplan_meier": 1,
    # every insulin-free subject of the example is in one arm: no log-rank test to run
    "cohort.analysis.survival.log_rank": 0,
    # HbA1c for the change and the ANCOVA (shared), C-peptide for the remission visit; the
    # sections bind it at import, so it is counted where they look it up
    "cohort.report.hba1c.infer_visits": 1,
    "cohort.report.cpeptide.infer_visits": 1,
}


def test_each_analysis_runs_once_per_report() -> None:
    import importlib

    import cohort.report.cpeptide
    import cohort.report.hba1c  # noqa: F401  (imported before patching: see ANALYSES)
    from cohort.report.study import build_report

    calls: Counter[str] = Counter()
    patches = []
    for target in ANALYSES:
        module, name = target.rsplit(".", 1)
        real = getattr(importlib.import_module(module), name)

        def counted(*args, _real=real, _target=target, **kwargs):
            calls[_target] += 1
            return _real(*args, **kwargs)

        patches.append(mock.patch(target, counted))
    # the sections import these at call time from their modules, so the patches are seen;
    # the example cohort has every section (two arms with a control, C-peptide, insulin)
    for p in patches:
        p.start()
    try:
        report = build_report(COHORTS["example"], created=FIXED)
    finally:
        for p in patches:
            p.stop()
    assert [s.status for s in report.sections] == ["ok"] * len(report.sections)
    assert {t: calls[t] for t in ANALYSES} == ANALYSES
    assert "log-rank test: every insulin-free subject is in one arm" in report.sections[6].parts

"""The REDCap export analysed by event: ``redcap_event_name`` is the visit label and one
mapping line flags the baseline event (tests/data/redcap/by_event.yaml), so the analyses take
visits by label by default, as on an ADaM package. ANCOVA, responders and remission at
``month_12_arm_1`` equal R on the CSV files as exported (tests/fixtures/redcap/
by_event_month12.R, which reads them without cohort)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cohort
from cohort.analysis.ancova import ancova_analysis
from cohort.analysis.remission import remission_analysis
from cohort.analysis.responders import responder_analysis
from cohort.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
REDCAP = ROOT / "tests" / "data" / "redcap"
MAPPING = REDCAP / "by_event.yaml"
R_RESULT = ROOT / "tests" / "fixtures" / "redcap" / "by_event_month12_r.csv"
M12 = "month_12_arm_1"


@pytest.fixture(scope="module")
def by_event():
    return cohort.load_cohort(REDCAP, mapping=MAPPING)


def _ref(analysis: str) -> list[dict[str, str]]:
    with open(R_RESULT, newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["analysis"] == analysis]


def test_the_mapping_adds_one_derive_to_the_export_mapping():
    lines = [line for line in MAPPING.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert lines == ["extends: mapping.yaml", "tables:", "  measurements:", "    derive:",
                     "      baseline_flag: {from: visit, map: {baseline_arm_1: true}, "
                     "default: false}"]


def test_events_are_the_default_visits(by_event):
    res = ancova_analysis(by_event.measurements, by_event.subjects)
    assert list(dict.fromkeys(res.summary["visit"])) == [
        "month_3_arm_1", "month_6_arm_1", "month_9_arm_1", M12, "month_18_arm_1"]
    # the export's own mapping has no baseline flag: nearest-day windows, as before
    plain = cohort.load_cohort(REDCAP, mapping=REDCAP / "mapping.yaml")
    with pytest.raises(cohort.errors.AnalysisError, match="need visit labels and a baseline"):
        ancova_analysis(plain.measurements, plain.subjects, visit_labels=[M12])


def test_ancova_month12_by_event_equals_r(by_event):
    res = ancova_analysis(by_event.measurements, by_event.subjects, visit_labels=[M12])
    s = res.summary
    refs = _ref("ancova")
    assert len(refs) == 3
    for r in refs:
        row = s[(s["kind"] == r["kind"]) & (s["arm"] == r["arm"])].iloc[0]
        assert int(row["n"]) == int(r["n"])
        for col in ("estimate", "se", "df", "ci_lower", "ci_upper"):
            assert row[col] == pytest.approx(float(r[col]), rel=1e-9, abs=1e-12), (r, col)
        assert row["p"] == pytest.approx(float(r["p"]), rel=1e-6)


def _check_rates(summary, refs):
    for r in refs:
        if r["kind"] == "rate":
            # responders list rates and comparisons in one table; remission rates alone
            rates = summary[summary["kind"] == "rate"] if "kind" in summary else summary
            row = rates[rates["arm"] == r["arm"]].iloc[0]
            assert (int(row["x"]), int(row["n"])) == (int(r["x"]), int(r["n"]))
            for col in ("estimate", "ci_lower", "ci_upper"):
                assert row[col] == pytest.approx(float(r[col]), rel=1e-9), (r, col)
        else:
            row = summary[summary["measure" if "measure" in summary else "kind"]
                          == "fisher_exact"].iloc[0]
            assert row["p"] == pytest.approx(float(r["p"]), rel=1e-9)
            # R's conditional MLE and exact interval stop at uniroot's default tolerance
            for col in ("estimate", "ci_lower", "ci_upper"):
                assert row[col] == pytest.approx(float(r[col]), rel=5e-4), (r, col)


def test_responders_month12_by_event_equal_r(by_event):
    res = responder_analysis(by_event.measurements, by_event.subjects,
                             criteria=["HBA1C < 7"], visit_labels=[M12])
    _check_rates(res.summary, _ref("responders"))


def test_remission_by_event_equals_r_and_is_the_default_visit(by_event):
    res = remission_analysis(by_event.measurements, by_event.subjects, by_event.infusions,
                             subgroup=None)
    # the labelled visit nearest day 365 is month 12
    assert "at visit 'month_12_arm_1'" in res.rule
    refs = _ref("remission")
    _check_rates(res.summary, [r for r in refs if r["kind"] == "rate"])
    _check_rates(res.comparisons, [r for r in refs if r["kind"] != "rate"])
    # RC-017's month-12 2 h C-peptide is blank and its fasting one did not rise
    assert res.exclusions["subject_id"].tolist() == ["RC-017"]


def test_the_cli_takes_the_event_as_the_visit():
    runner = CliRunner()
    result = runner.invoke(app, ["analyze", "responders", str(REDCAP), "--mapping",
                                 str(MAPPING), "--visit", M12, "--criterion", "HBA1C < 7",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    rates = {r["arm"]: (r["x"], r["n"]) for r in json.loads(result.stdout)["summary"]
             if r["kind"] == "rate"}
    assert rates == {"Standard care": (3, 12), "MSC": (6, 12)}
    rem = runner.invoke(app, ["analyze", "remission", str(REDCAP), "--mapping", str(MAPPING),
                              "--visit", "month_18_arm_1", "--format", "json"])
    assert rem.exit_code == 0, rem.output
    assert "at visit 'month_18_arm_1'" in json.loads(rem.stdout)["rule"]


def test_the_docs_show_this_mapping():
    import re

    docs = (ROOT / "docs" / "validate.md").read_text(encoding="utf-8")
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", docs, flags=re.S)
               if "baseline_arm_1" in b]
    lines = [line for line in MAPPING.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    assert block.splitlines() == lines


def test_predict_by_event_uses_the_flagged_baselines(by_event):
    from cohort.derive.remission import RemissionRule
    from cohort.derive.remission_dataset import remission_dataset

    data = remission_dataset(by_event.measurements, by_event.subjects, by_event.infusions,
                             rule=RemissionRule()).set_index("subject_id")
    # RC-001's baseline event: C-peptide 132 pmol/L fasting, HbA1c 61 mmol/mol
    assert data.loc["RC-001", "baseline_cpep_fast_nmol_l"] == pytest.approx(0.132, rel=1e-12)
    assert data.loc["RC-001", "baseline_hba1c_pct"] == pytest.approx(61 / 10.929 + 2.15,
                                                                      rel=1e-12)
    assert data.loc["RC-001", "dose_1e6_cells_per_kg"] == 1.0
    result = CliRunner().invoke(app, [
        "analyze", "predict", str(REDCAP), "--mapping", str(MAPPING), "-p",
        "baseline_cpep_fast_nmol_l", "--model", "logistic", "--folds", "0", "--bootstrap",
        "20", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert "at visit 'month_12_arm_1'" in doc["rule"] and doc["n_undetermined"] == 1

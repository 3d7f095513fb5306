"""Visits by label on the single-visit analyses: responders, remission and predict read the
records ADaM flags (AVISIT, ABLFL, ANL01FL) by default, and nearest-day windows only when the
data carry no labels or days are asked for.

Responders at Week 24 on tests/data/adam are checked against R
(tests/fixtures/adam/responders_week24.R); remission by label on a small hand-made cohort whose
unscheduled and End-of-Treatment records would change the result if they were picked.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import cohort
from cohort.analysis.responder_status import responder_flags
from cohort.analysis.responders import responder_analysis
from cohort.cli.app import app
from cohort.derive.remission import RemissionRule, derive_remission, resolve_remission_visit
from cohort.errors import AnalysisError

ROOT = Path(__file__).resolve().parents[1]
ADAM = ROOT / "tests" / "data" / "adam"
MAPPING = ADAM / "mapping.yaml"
R_RESPONDERS = ROOT / "tests" / "fixtures" / "adam" / "responders_week24_r.csv"
REF = "Sitagliptin 100 mg"
CRITERIA = {"value": "HBA1C < 7", "change": "HBA1C change <= -1"}


@pytest.fixture(scope="module")
def itt():
    return cohort.load_cohort(ADAM, mapping=MAPPING, population=["ITT"])


def _r_rows() -> list[dict[str, str]]:
    with open(R_RESPONDERS, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("criterion", ["value", "change"])
def test_responders_week24_by_label_equal_r(itt, criterion):
    res = responder_analysis(itt.measurements, itt.subjects, criteria=[CRITERIA[criterion]],
                             visit_labels=["Week 24"], reference=REF)
    s = res.summary
    assert set(s["visit"]) == {"Week 24"} and res.params["visit_labels"] == ["Week 24"]
    refs = [r for r in _r_rows() if r["criterion"] == criterion]
    assert len(refs) == 6
    for r in refs:
        kind = r["kind"]
        if kind == "rate":
            row = s[(s["kind"] == "rate") & (s["arm"] == r["arm"])].iloc[0]
            assert (int(row["x"]), int(row["n"])) == (int(r["x"]), int(r["n"]))
            for col in ("estimate", "ci_lower", "ci_upper", "wilson_lower", "wilson_upper"):
                assert row[col] == pytest.approx(float(r[col]), rel=1e-9), (r, col)
        elif kind == "fisher_exact":
            row = s[s["kind"] == "fisher_exact"].iloc[0]
            assert row["p"] == pytest.approx(float(r["p"]), rel=1e-9)
            # R's conditional MLE and exact interval come from uniroot at its default
            # tolerance (.Machine$double.eps^0.25, searching on the log odds), so R itself is
            # good to about 1e-4 there (tests/test_proportions.py checks the tight values)
            assert row["estimate"] == pytest.approx(float(r["estimate"]), rel=5e-4)
            assert row["ci_lower"] == pytest.approx(float(r["ci_lower"]), rel=5e-4)
            assert row["ci_upper"] == pytest.approx(float(r["ci_upper"]), rel=5e-4)
        elif kind == "risk_difference":
            row = s[(s["kind"] == "risk_difference") & (s["method"] == "Wald")].iloc[0]
            for col in ("estimate", "ci_lower", "ci_upper"):
                assert row[col] == pytest.approx(float(r[col]), rel=1e-9), (r, col)
        else:
            yates = kind == "chi_square_yates"
            rows = s[(s["kind"] == "chi_square")
                     & (s["method"].str.contains("Yates") == yates)]
            assert rows.iloc[0]["p"] == pytest.approx(float(r["p"]), rel=1e-9)
    # the three ITT subjects who stopped after Week 12 are excluded, with the reason
    assert len(res.exclusions) == 3
    assert res.exclusions["reason"].str.contains("no HBA1C analysis record at visit "
                                                 "'Week 24'").all()


def test_responders_default_to_every_labelled_visit(itt):
    res = responder_analysis(itt.measurements, itt.subjects, criteria=["HBA1C < 7"],
                             reference=REF)
    assert list(dict.fromkeys(res.summary["visit"])) == ["Week 4", "Week 12", "Week 24"]
    assert res.summary["visit_day"].isna().all()
    assert any("visits by label" in n for n in res.notes)
    # the same Week 24 numbers as asked for by label
    week24 = res.summary[(res.summary["visit"] == "Week 24") & (res.summary["kind"] == "rate")]
    assert week24.set_index("arm")["x"].to_dict() == {REF: 3, "Cohortide 1 mg": 7}
    # days asked for: nearest-day windows, no labels
    by_day = responder_analysis(itt.measurements, itt.subjects, criteria=["HBA1C < 7"],
                                visit_days=[168], reference=REF)
    assert by_day.params["visit_labels"] is None
    assert list(by_day.summary["visit"].unique()) == ["day 168"]


def test_responders_cli_takes_visit_labels(itt):
    result = CliRunner().invoke(app, [
        "analyze", "responders", str(ADAM), "--mapping", str(MAPPING), "--population", "ITT",
        "--visit", "Week 24", "--criterion", "HBA1C change <= -1", "--reference", REF,
        "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    rates = {r["arm"]: (r["x"], r["n"]) for r in doc["summary"] if r["kind"] == "rate"}
    assert rates == {REF: (3, 17), "Cohortide 1 mg": (9, 16)}
    bad = CliRunner().invoke(app, [
        "analyze", "responders", str(ADAM), "--mapping", str(MAPPING), "--visit", "Week 52"])
    assert bad.exit_code == 2
    assert "'Week 52' are not post-baseline visits of the HBA1C analysis records" in bad.output
    both = CliRunner().invoke(app, [
        "analyze", "responders", str(ADAM), "--mapping", str(MAPPING), "--visit", "Week 24",
        "--visit-days", "168"])
    assert both.exit_code == 2 and "not both" in both.output


def test_responders_without_labels_need_a_day():
    c = cohort.load_cohort(ROOT / "tests" / "data" / "example")
    with pytest.raises(AnalysisError, match="no visit asked for"):
        responder_analysis(c.measurements, c.subjects, criteria=["HBA1C < 7"])


# --- a hand-made labelled cohort: remission and medication criteria by label -------------

def _labelled() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five subjects; C-peptide (nmol/L) at Screening, Baseline (flagged), Week 26 and Week 52
    (analysis records), and records that are not analysis records (an unscheduled retest,
    an End-of-Treatment copy). S3 has an analysis record on day 0 after its flagged baseline
    ("Day 1"), S4 its Week 52 visit on day 300, outside the day-365 window."""
    rows = []

    def add(sid, visit, day, value, base=False, anl=True, number=None):
        rows.append({"subject_id": sid, "param": "CPEP_FAST", "day": day, "value": value,
                     "unit": "nmol/L", "visit": visit, "visit_number": number,
                     "baseline_flag": base, "analysis_flag": anl})

    for sid, base, wk52, wk52_day, unsched, eot, day1 in (
            ("S1", 0.30, 0.33, 364, 0.20, 0.20, None),   # +10.0%: remission
            ("S2", 0.40, 0.42, 364, 0.60, 0.60, None),   # +5%: none (the retest says +50%)
            ("S3", 0.50, 0.60, 364, None, None, 0.70),   # +20% from the flagged baseline
            ("S4", 0.20, 0.25, 300, None, None, None),   # +25%, on day 300
            ("S5", 0.20, None, None, None, 0.30, None)):  # no Week 52 analysis record
        add(sid, "Screening", -20, base * 1.5, anl=False, number=-1)
        add(sid, "Baseline", -2, base, base=True, number=0)
        if day1 is not None:
            add(sid, "Day 1", 0, day1, number=0.1)
        add(sid, "Week 26", 180, base, number=26)
        if wk52 is not None:
            add(sid, "Week 52", wk52_day, wk52, number=52)
        if unsched is not None:
            add(sid, "Unscheduled 52.1", 364, unsched, anl=False, number=52.1)
        if eot is not None:
            add(sid, "End of Treatment", 370, eot, anl=False, number=99)
    m = pd.DataFrame(rows)
    m["baseline_flag"] = m["baseline_flag"].astype("boolean")
    m["analysis_flag"] = m["analysis_flag"].astype("boolean")
    m["visit_number"] = m["visit_number"].astype("Float64")
    m["day"] = m["day"].astype("Int64")
    subjects = pd.DataFrame({"subject_id": ["S1", "S2", "S3", "S4", "S5"],
                             "arm": ["MSC", "MSC", "control", "control", "control"],
                             "control": [False, False, True, True, True],
                             "last_contact_day": [400] * 5})
    return m, subjects


def test_remission_by_label_reads_the_flagged_records():
    m, _ = _labelled()
    rule = RemissionRule(markers=("CPEP_FAST",))
    settled = resolve_remission_visit(m, rule)
    # the labelled visit nearest day 365 (median day 364), not the windows
    assert settled.visit_label == "Week 52"
    assert "at visit 'Week 52'" in settled.describe()
    got = derive_remission(m, rule=rule).set_index("subject_id")
    assert got["remission"].isna().to_dict() == {"S1": False, "S2": False, "S3": False,
                                                 "S4": False, "S5": True}
    assert got["remission"].dropna().astype(bool).to_dict() == {
        "S1": True, "S2": False, "S3": True, "S4": True}
    assert got.loc["S1", "cpep_fast_pct_change"] == pytest.approx(10.0, abs=1e-12)
    assert got.loc["S3", "cpep_fast_baseline"] == 0.50
    assert got.loc["S4", "cpep_fast_day"] == 300
    assert "no CPEP_FAST analysis record at visit 'Week 52'" in got.loc["S5", "reason"]
    # by day (nearest-day window 310-420, the last value in days -90..0 as baseline): S3's
    # baseline is its day-0 record (0.60 vs 0.70: no rise), S4's day-300 visit is outside
    # the window; records that are not analysis records are ignored either way
    by_day = derive_remission(m, rule=RemissionRule(markers=("CPEP_FAST",), by_day=True))
    by_day = by_day.set_index("subject_id")
    assert by_day.loc["S3", "cpep_fast_baseline"] == 0.70
    assert bool(by_day.loc["S3", "remission"]) is False
    assert by_day["remission"].isna().to_dict() == {"S1": False, "S2": False, "S3": False,
                                                    "S4": True, "S5": True}
    assert bool(by_day.loc["S2", "remission"]) is False


def test_remission_visit_label_checks():
    m, _ = _labelled()
    with pytest.raises(AnalysisError, match="'Week 53' are not post-baseline visits"):
        resolve_remission_visit(m, RemissionRule(markers=("CPEP_FAST",),
                                                 visit_label="Week 53"))
    with pytest.raises(AnalysisError, match="not both"):
        RemissionRule(visit_label="Week 52", by_day=True)
    # a 24-week trial asked for a 1-year remission: no labelled visit near day 365
    early = m[~m["visit"].isin(["Week 52", "Unscheduled 52.1", "End of Treatment"])]
    with pytest.raises(AnalysisError, match=r"'Week 26' \(day 180\).*--visit LABEL"):
        resolve_remission_visit(early, RemissionRule(markers=("CPEP_FAST",)))
    assert resolve_remission_visit(early, RemissionRule(markers=("CPEP_FAST",),
                                                        visit_day=180)).visit_label == "Week 26"


def test_remission_and_predict_cli_take_a_visit_label(tmp_path):
    m, s = _labelled()
    folder = tmp_path / "c"
    folder.mkdir()
    s.assign(study_id="X", diabetes_type="T1D", sex="F", age_years=40,
             intervention=["cells", "cells"] + ["standard_care"] * 3
             ).to_csv(folder / "subjects.csv", index=False)
    m.to_csv(folder / "measurements.csv", index=False)
    pd.DataFrame({"subject_id": ["S1", "S2"], "infusion_number": [1, 1], "day": [0, 0],
                  "source": "umbilical_cord", "donor": "allogeneic", "route": "intravenous",
                  "dose_cells_per_kg": [1e6, 2e6]}).to_csv(folder / "infusions.csv",
                                                           index=False)
    runner = CliRunner()
    result = runner.invoke(app, ["analyze", "remission", str(folder), "--markers", "CPEP_FAST",
                                 "--visit", "Week 52", "--subgroup", "none", "--format",
                                 "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert "at visit 'Week 52'" in doc["rule"]
    rates = {r["arm"]: (r["x"], r["n"]) for r in doc["summary"]}
    assert rates == {"MSC": (1, 2), "control": (2, 2)}
    auto = runner.invoke(app, ["analyze", "remission", str(folder), "--markers", "CPEP_FAST",
                               "--subgroup", "none", "--format", "json"])
    assert json.loads(auto.stdout)["summary"] == doc["summary"]
    by_day = runner.invoke(app, ["analyze", "remission", str(folder), "--markers",
                                 "CPEP_FAST", "--visit-days", "365", "--subgroup", "none",
                                 "--format", "json"])
    assert "at day 365 (window 310-420" in json.loads(by_day.stdout)["rule"]
    two = runner.invoke(app, ["analyze", "remission", str(folder), "--visit", "Week 26",
                              "--visit", "Week 52"])
    assert two.exit_code == 2 and "one visit" in two.output
    mixed = runner.invoke(app, ["analyze", "predict", str(folder), "--markers", "CPEP_FAST",
                                "--visit", "Week 52", "--window", "300,400", "-p",
                                "baseline_cpep_fast_nmol_l"])
    assert mixed.exit_code == 2 and "not both" in mixed.output


def test_medication_criterion_by_label_uses_each_subjects_visit_day():
    m, s = _labelled()
    # Week 52 days: S1 364, S2 moved to 350, S3 364, S4 300 (median 357); S5 has none
    m.loc[(m["subject_id"] == "S2") & (m["visit"] == "Week 52"), "day"] = 350
    meds = pd.DataFrame({"subject_id": ["S1", "S2", "S2", "S3", "S5", "S5"],
                         "drug_class": "insulin",
                         "start_day": [-100, -100, 356, -100, -100, 356],
                         "end_day": [400, 355, 400, 400, 355, 400],
                         "daily_dose": [40.0, 40.0, 10.0, 40.0, 40.0, 10.0],
                         "unit": "IU/day"})
    flags = responder_flags(m, s, meds, visit="Week 52", criteria=["med:insulin >= 50"])
    flags = flags.set_index("subject_id")
    # S2 is judged on its own day 350 (40 IU/day, before its switch to 10); S5, without a
    # Week 52 record, on the visit's median day 357 (10 IU/day: -75%); S4 takes no insulin
    # on day 0, so the criterion does not apply
    assert flags["responder"].isna().to_dict() == {"S1": False, "S2": False, "S3": False,
                                                   "S4": True, "S5": False}
    assert flags["responder"].dropna().astype(bool).to_dict() == {
        "S1": False, "S2": False, "S3": False, "S5": True}
    assert "not on insulin on day 0" in flags.loc["S4", "reason"]
    moved = m.copy()
    moved.loc[(moved["subject_id"] == "S2") & (moved["visit"] == "Week 52"), "day"] = 360
    again = responder_flags(moved, s, meds, visit="Week 52",
                            criteria=["med:insulin >= 50"]).set_index("subject_id")
    assert bool(again.loc["S2", "responder"]) is True  # 40 -> 10 IU/day on day 360
    # a medication criterion alone: the visits are those of the labelled measurements
    res = responder_analysis(moved, s, meds, criteria=["med:insulin >= 50"],
                             visit_labels=["Week 52"])
    rates = res.summary[res.summary["kind"] == "rate"].set_index("arm")
    assert rates[["x", "n"]].astype(int).to_dict("index") == {
        "MSC": {"x": 1, "n": 2}, "control": {"x": 1, "n": 2}}


R_PAIRED_EFFECT = ROOT / "tests" / "fixtures" / "adam" / "paired_effect_week24_r.csv"


def _r_paired_effect() -> list[dict[str, str]]:
    with open(R_PAIRED_EFFECT, newline="") as fh:
        return list(csv.DictReader(fh))


def test_paired_week24_by_label_equals_r(itt):
    from cohort.analysis.paired import paired_analysis

    # digits_rank=7 as R's digits.rank = 7: the HbA1c differences of whole mmol/mol values
    # tie exactly only up to the floating-point noise of the unit conversion
    res = paired_analysis(itt.measurements, itt.subjects, visit_labels=["Week 24"],
                          digits_rank=7)
    row = res.summary.iloc[0]
    [r] = [r for r in _r_paired_effect() if r["analysis"] == "paired"]
    assert row["visit"] == "Week 24" and int(row["n"]) == int(r["n"]) == 33
    for col, rcol in (("estimate", "estimate"), ("se_change", "se"), ("ci_lower", "ci_lower"),
                      ("ci_upper", "ci_upper"), ("t", "statistic"), ("df", "df")):
        assert row[col] == pytest.approx(float(r[rcol]), rel=1e-9), col
    assert row["p"] == pytest.approx(float(r["p"]), rel=1e-6)
    assert row["wilcoxon_v"] == float(r["wilcoxon_v"])
    assert row["wilcoxon_p"] == pytest.approx(float(r["wilcoxon_p"]), rel=1e-9)


def test_effect_modification_by_sex_week24_by_label_equals_r(itt):
    from cohort.analysis.effect_modification import effect_modification_analysis

    res = effect_modification_analysis(itt.measurements, itt.subjects, subgroup="sex",
                                       visit_labels=["Week 24"], reference=REF)
    s = res.summary
    refs = [r for r in _r_paired_effect() if r["analysis"] == "effect_modification"]
    assert len(refs) == 7
    for r in refs:
        rows = s[(s["kind"] == r["kind"]) & (s["arm"] == r["arm"])]
        if r["kind"] != "interaction":
            rows = rows[rows["subgroup"] == r["subgroup"]]
        row = rows.iloc[0]
        assert int(row["n"]) == int(r["n"]), r
        assert row["statistic"] == pytest.approx(float(r["statistic"]), rel=1e-9), r
        assert row["df"] == float(r["df"])
        assert row["p"] == pytest.approx(float(r["p"]), rel=1e-6), r
        if r["kind"] != "interaction":
            for col in ("estimate", "se", "ci_lower", "ci_upper"):
                assert row[col] == pytest.approx(float(r[col]), rel=1e-9), (r, col)


def test_dose_response_by_label_correlates_the_flagged_change():
    from scipy import stats

    from cohort.analysis.dose_response import dose_response_analysis

    # eight treated subjects, doses 1..8 x 10^6 cells/kg; HbA1c (%) flagged baseline 8.0,
    # Week 24 analysis record 8.0 - 0.1 * dose^1.5; a later unscheduled record (not an
    # analysis record) and a day-0 analysis retest would change the result if picked
    rows, inf = [], []
    dose = {f"D{k}": float(k) for k in range(1, 9)}
    for sid, d in dose.items():
        rows += [(sid, -3, 8.0, "Baseline", True, True), (sid, 0, 9.9, "Day 1", False, True),
                 (sid, 168, 8.0 - 0.1 * d ** 1.5, "Week 24", False, True),
                 (sid, 170, 5.0, "Unscheduled 24.1", False, False)]
        inf.append((sid, 1, 0, d * 1e6))
    m = pd.DataFrame(rows, columns=["subject_id", "day", "value", "visit", "baseline_flag",
                                    "analysis_flag"]).assign(param="HBA1C", unit="%")
    m["baseline_flag"] = m["baseline_flag"].astype("boolean")
    m["analysis_flag"] = m["analysis_flag"].astype("boolean")
    s = pd.DataFrame({"subject_id": list(dose), "arm": "MSC", "control": False,
                      "weight_kg": 70.0})
    infusions = pd.DataFrame(inf, columns=["subject_id", "infusion_number", "day",
                                           "dose_cells_per_kg"]).assign(
        dose_cells_total=lambda f: f["dose_cells_per_kg"] * 70.0, source="umbilical_cord")
    # by default every post-baseline labelled visit, in day order
    default = dose_response_analysis(m, s, infusions, doses=["per_kg"])
    assert list(dict.fromkeys(default.summary["visit"])) == ["Day 1", "Week 24"]
    res = dose_response_analysis(m, s, infusions, doses=["per_kg"], visit_labels=["Week 24"])
    got = res.summary.set_index("analysis")
    change = np.array([-0.1 * d ** 1.5 for d in dose.values()])
    want = stats.pearsonr(list(dose.values()), change)
    assert set(res.summary["visit"]) == {"Week 24"}
    assert got.loc["pearson", "estimate"] == pytest.approx(want.statistic, rel=1e-12)
    assert got.loc["pearson", "p"] == pytest.approx(want.pvalue, rel=1e-9)
    assert int(got.loc["pearson", "n"]) == 8

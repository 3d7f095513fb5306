"""The generator: committed cohorts regenerate byte for byte, pass the contract, and hit the
published numbers they are calibrated to (computed here directly with pandas, by the papers'
rules)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import cohort
from cohort._resources import data_path
from cohort.io.outputs import MANIFEST
from cohort.studies.scorecard import baseline_table, scorecard
from cohort.synth import load_spec, synthesize

STUDIES = ["couri2009", "daddio2014", "hu2016", "lu2021", "matsuoka2025", "nguyen2021",
           "skyler2015",
           "snarski2016", "voltarelli2007"]
FIXTURES = Path(__file__).parent / "fixtures" / "synth"
DAYS_PER_MONTH = 30.4375


@pytest.fixture(scope="module")
def cohorts():
    return {s: synthesize(s) for s in STUDIES}


def _wide(tables, param):
    m = tables["measurements"]
    return m[m["param"] == param].pivot(index="subject_id", columns="visit", values="value")


# ---------------------------------------------------------------------------------------------
# committed cohorts


@pytest.mark.parametrize("study", STUDIES)
def test_committed_cohort_regenerates_byte_for_byte(tmp_path, cohorts, study):
    committed = data_path("synthetic") / study / "cohort"
    out = cohorts[study].write(tmp_path / study, spec_ref=study)
    # the manifest names the folder written and the cohort version: not part of the cohort
    names = sorted(p.name for p in committed.iterdir() if p.name != MANIFEST)
    assert names == sorted(p.name for p in out.iterdir() if p.name != MANIFEST)
    for name in names:
        assert (out / name).read_bytes() == (committed / name).read_bytes(), (
            f"{study}/cohort/{name} differs from its spec: run `cohort synth {study} --out "
            f"synthetic/{study}/cohort`")


@pytest.mark.parametrize("study", STUDIES)
def test_committed_cohort_passes_the_contract(study):
    from cohort.studies.reproduce import spec_mapping

    spec = load_spec(data_path("synthetic") / study / "spec.yaml")
    report = cohort.validate(data_path("synthetic") / study / "cohort",
                             mapping=spec_mapping(spec))
    assert report.exit_code == 0, report.findings.to_string()
    assert report.n_errors == 0 and report.n_warnings == 0


@pytest.mark.parametrize("study", STUDIES)
def test_published_baseline_numbers_reproduced(cohorts, study):
    result = cohorts[study]
    card = scorecard(result.spec, result.tables)
    checked = card.checked
    assert len(checked) >= 1
    # what the generator was given must come back; an independent baseline target (e.g. a
    # mean follow-up from an assumed shape) is judged, not required
    calibrated = {t.id for t in result.spec.targets if t.calibrated}
    checked = checked[checked["id"].isin(calibrated)]
    assert (checked["status"] == "pass").all(), checked[checked["status"] == "fail"].to_string()
    sizes = result.tables["subjects"].groupby("arm").size().to_dict()
    assert sizes == {a.arm_label: int(a.n) for a in result.spec.arms}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_skyler_table_1_holds_for_other_seeds(seed):
    result = synthesize("skyler2015", seed=seed)
    card = scorecard(result.spec, result.tables)
    assert card.passed, card.checked[card.checked["status"] == "fail"].to_string()
    assert card.counts()["pass"] == 68


# ---------------------------------------------------------------------------------------------
# outcomes, by the published rules


def _ancova(frame: pd.DataFrame, arm: str, reference: str) -> tuple[float, float, float]:
    """(difference, SE, p) of arm vs reference in an OLS of change on arm dummies and baseline."""
    arms = [a for a in frame["arm"].unique() if a != reference]
    x = np.column_stack([np.ones(len(frame))] + [(frame["arm"] == a).to_numpy(float)
                                                 for a in arms] + [frame["baseline"]])
    y = frame["change"].to_numpy()
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    df = len(y) - x.shape[1]
    cov = resid @ resid / df * np.linalg.inv(x.T @ x)
    j = 1 + arms.index(arm)
    se = math.sqrt(cov[j, j])
    return coef[j], se, 2 * stats.t.sf(abs(coef[j] / se), df)


def test_skyler_adjusted_differences_and_responders(cohorts):
    t = cohorts["skyler2015"].tables
    a1c = _wide(t, "HBA1C").join(t["subjects"].set_index("subject_id")["arm"])
    published = {("week 8", "MPC 2.0x10^6/kg"): -0.4, ("week 12", "MPC 2.0x10^6/kg"): -0.3,
                 ("week 8", "MPC 0.3x10^6/kg"): -0.1, ("week 12", "MPC 0.3x10^6/kg"): 0.0}
    for (visit, arm), value in published.items():
        frame = pd.DataFrame({"arm": a1c["arm"], "baseline": a1c["baseline"],
                              "change": a1c[visit] - a1c["baseline"]})
        diff, se, p = _ancova(frame, arm, "placebo")
        # printed to one decimal: within 0.05 of the published difference
        assert abs(diff - value) <= 0.05, (visit, arm, diff)
        assert 0.15 <= se <= 0.3, se  # published SEs 0.2 (week 8) and 0.25 (week 12)
        if (visit, arm) == ("week 8", "MPC 2.0x10^6/kg"):
            assert p < 0.05  # significant only for the top dose at week 8
        else:
            assert p > 0.05
    below = a1c["week 12"] < 7.0
    top = a1c["arm"] == "MPC 2.0x10^6/kg"
    assert below[top].sum() == 5 and below[a1c["arm"] == "placebo"].sum() == 0
    assert (below & top & (a1c["baseline"] < 8.0)).sum() == 5
    p = stats.fisher_exact([[5, 10], [0, 16]]).pvalue
    assert p == pytest.approx(0.0177, abs=5e-5)


def _remission(tables: dict[str, pd.DataFrame], visit: str = "month 12") -> pd.Series:
    rises = []
    for param in ("CPEP_FAST", "CPEP_PP"):
        w = _wide(tables, param)
        rises.append((w[visit] / w["baseline"] - 1) * 100 >= 10)
    return rises[0] | rises[1]


def test_lu_remission_by_the_published_rule(cohorts):
    t = cohorts["lu2021"].tables
    subjects = t["subjects"].set_index("subject_id")
    remission = _remission(t)
    counts = remission.groupby(subjects["arm"]).sum().to_dict()
    assert counts == {"UC-MSC": 11, "standard care": 3}
    assert round(11 / 27 * 100, 1) == 40.7
    assert stats.fisher_exact([[11, 16], [3, 23]]).pvalue < 0.05
    adult = subjects["age_at_diagnosis_years"] >= 18
    assert adult.sum() == 33 and (~adult).sum() == 20
    # lower baseline fasting C-peptide and a higher dose go with remission in the MSC arm
    msc = subjects["arm"] == "UC-MSC"
    dose = t["infusions"].groupby("subject_id")["dose_cells_per_kg"].first()
    base = _wide(t, "CPEP_FAST")["baseline"]
    rem = remission[msc]
    assert base[msc][rem].mean() < base[msc][~rem].mean()
    assert dose[rem.index][rem].mean() > dose[rem.index][~rem].mean()


def _episodes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Insulin-free episodes: first record with dose 0 to the first later record > 0, or
    censored at last contact."""
    ins = t_ins = tables["measurements"]
    t_ins = ins[ins["param"] == "INSULIN_DOSE"].sort_values(["subject_id", "day"])
    last = tables["subjects"].set_index("subject_id")["last_contact_day"]
    rows = []
    for sid, g in t_ins.groupby("subject_id", observed=True):
        start, k = None, 0
        for day, dose in zip(g["day"], g["value"], strict=True):
            if dose == 0 and start is None:
                start, k = day, k + 1
            elif dose > 0 and start is not None:
                rows.append((sid, k, start, day, True))
                start = None
        if start is not None:
            rows.append((sid, k, start, last[sid], False))
    out = pd.DataFrame(rows, columns=["subject_id", "episode", "start", "end", "event"])
    out["months"] = (out["end"] - out["start"]) / DAYS_PER_MONTH
    return out


def _km_median(months: pd.Series, event: pd.Series) -> float:
    order = np.lexsort((~event.to_numpy(), months.to_numpy()))
    t, e = months.to_numpy()[order], event.to_numpy()[order]
    at_risk, surv = len(t), 1.0
    for ti, ei in zip(t, e, strict=True):
        if ei:
            surv *= 1 - 1 / at_risk
            if surv <= 0.5:
                return float(ti)
        at_risk -= 1
    return math.nan


def test_couri_insulin_free_episodes(cohorts):
    t = cohorts["couri2009"].tables
    ep = _episodes(t)
    first = ep[ep["episode"] == 1]
    assert len(first) == 20  # 20 of 23 insulin-free
    assert first["event"].sum() == 8  # 8 resumed insulin
    assert (~first["event"]).sum() == 12  # 12 continuously insulin-free, censored
    assert (ep["episode"] == 2).sum() == 2  # 2 of the 8 insulin-free again
    assert round(first.loc[~first["event"], "months"].mean()) == 31
    assert round(_km_median(first["months"], first["event"])) == 31  # Snarski 2016
    assert round(first["months"].min(), 1) == 9.5 and round(first["months"].max()) == 80
    top4 = sorted(first.loc[~first["event"], "months"].round(), reverse=True)[:4]
    assert top4 == [80, 61, 42, 34]
    a1c = _wide(t, "HBA1C")
    assert round(a1c["diagnosis"].mean(), 1) == 10.9
    for visit, mean in {"month 12": 5.9, "month 24": 6.4, "month 36": 6.8,
                        "month 48": 7.1}.items():
        assert round(a1c[visit].mean(), 1) == mean
    continuous = set(first.loc[~first["event"], "subject_id"])
    for visit in ("month 12", "month 24", "month 36", "month 48"):
        assert (a1c.loc[a1c.index.isin(continuous), visit].dropna() < 7).all()


def test_lu_insulin_free_three_to_twelve_months(cohorts):
    t = cohorts["lu2021"].tables
    ep = _episodes(t)
    arm = t["subjects"].set_index("subject_id")["arm"]
    assert arm[ep["subject_id"]].tolist() == ["UC-MSC"] * 3
    assert round(ep["months"].min()) == 3 and round(ep["months"].max()) == 12
    assert set(ep["subject_id"]) <= set(_remission(t)[lambda s: s].index)


def test_matsuoka_paired_t_tests(cohorts):
    t = cohorts["matsuoka2025"].tables
    a1c = _wide(t, "HBA1C")
    before, after = a1c["baseline"], a1c["last follow-up"]
    assert round(before.mean(), 2) == 7.49 and round(after.mean(), 1) == 6.7
    assert stats.ttest_rel(after, before).pvalue < 1e-4
    moderate = (before >= 6.2) & (before <= 8.0)
    severe = before > 8.0
    assert moderate.sum() == 48 and severe.sum() == 13
    change = after - before
    assert round(change[moderate].mean(), 2) == -0.58
    assert stats.ttest_rel(after[moderate], before[moderate]).pvalue < 2e-7 * 1.05
    assert round(change[severe].mean(), 2) == -1.55
    assert stats.ttest_rel(after[severe], before[severe]).pvalue == pytest.approx(0.0122,
                                                                                abs=5e-5)
    months = t["subjects"]["last_contact_day"] / DAYS_PER_MONTH
    assert round(months.median()) == 35 and round(months.min()) == 6 and round(months.max()) == 68


def test_nguyen_medication_reduction_and_subgroups(cohorts):
    t = cohorts["nguyen2021"].tables
    meds = t["medications"].sort_values(["subject_id", "drug_class", "start_day"])
    lowered = meds.groupby(["subject_id", "drug_class"])["daily_dose"].apply(
        lambda d: bool((d.diff() < 0).any())).groupby("subject_id").any()
    assert lowered.sum() / 30 > 0.5  # more than half lowered their medication
    subjects = t["subjects"].set_index("subject_id")
    a1c = _wide(t, "HBA1C")
    change = a1c["month 3"] - a1c["baseline"]
    lean = subjects["bmi_kg_m2"] < 23
    short = subjects["diabetes_duration_years"] < 10
    # benefit confined to BMI < 23 and duration < 10 years: none without either, most with both
    assert abs(change[~lean & ~short].mean()) < 0.3
    assert change[lean & short].mean() < change[~lean & ~short].mean() - 1.0
    for factor in (lean, short):  # effect modification by each (Welch t-test)
        assert stats.ttest_ind(change[factor], change[~factor], equal_var=False).pvalue < 0.05
    # both routes benefit about equally: each route's mean change is matched to -0.7, up to
    # one 0.1 step of the recorded HbA1c over 15 subjects
    by_route = change.groupby(subjects["arm"]).mean()
    assert by_route.to_numpy() == pytest.approx([-0.7, -0.7], abs=0.1 / 15 + 1e-9)
    # insulin users with a reduction get a record on the day their dose drops
    ins = t["measurements"][t["measurements"]["param"] == "INSULIN_DOSE"]
    assert (ins["visit"] == "dose reduced").any()


def test_skyler_dose_never_above_the_largest_published(cohorts):
    inf = cohorts["skyler2015"].tables["infusions"]
    assert inf["dose_cells_total"].max() <= 246e6
    assert (inf.loc[inf["source"] == "placebo", ["dose_cells_per_kg", "dose_cells_total"]]
            == 0).all().all()


# ---------------------------------------------------------------------------------------------
# determinism, scaling, any seed and size


def test_same_seed_same_tables_other_seed_other_tables():
    a, b, c = (synthesize("lu2021", seed=s) for s in (5, 5, 6))
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    assert not a.tables["measurements"]["value"].equals(c.tables["measurements"]["value"])


def test_n_scales_every_arm_and_the_published_counts():
    result = synthesize("skyler2015", n=610)
    assert result.n_per_arm == {"placebo": 160, "mpc_0.3": 150, "mpc_1.0": 150, "mpc_2.0": 150}
    t = result.tables
    a1c = _wide(t, "HBA1C").join(t["subjects"].set_index("subject_id")["arm"])
    below = a1c["week 12"] < 7.0
    assert below[a1c["arm"] == "MPC 2.0x10^6/kg"].sum() == 50
    assert below[a1c["arm"] == "placebo"].sum() == 0
    card = scorecard(result.spec, t)
    assert card.passed, card.checked[card.checked["status"] == "fail"].to_string()
    men = t["subjects"].groupby("arm")["sex"].apply(lambda s: int((s == "M").sum())).to_dict()
    assert men == {"placebo": 120, "MPC 0.3x10^6/kg": 100, "MPC 1.0x10^6/kg": 90,
                   "MPC 2.0x10^6/kg": 90}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(study=st.sampled_from(STUDIES), seed=st.integers(0, 2 ** 32 - 1),
       per_arm=st.integers(1, 6))
def test_any_seed_and_size_gives_a_valid_cohort(study, seed, per_arm):
    result = synthesize(study, seed=seed, n_per_arm=per_arm)
    # a spec's declared subject variables are validated like contract columns
    loaded = cohort.from_frames(result.tables, extras=result.spec.extras or None)
    assert set(loaded.subjects.groupby("arm").size()) == {per_arm}


def test_a_new_spec_written_from_scratch(tmp_path):
    spec = load_spec(FIXTURES / "new_study.yaml")
    result = synthesize(spec)
    out = result.write(tmp_path / "demo")
    report = cohort.validate(out)
    assert report.exit_code == 0, report.findings.to_string()
    t = result.tables
    assert t["subjects"]["subject_id"].iloc[0] == "DEMO-001"
    assert t["subjects"].groupby("arm").size().to_dict() == {"msc": 12, "placebo": 10}
    # the MSC HbA1c SD was given as an SEM: 0.3 * sqrt(12) = 1.039
    table = baseline_table(t, variables=["HBA1C"]).set_index("arm")
    assert table.loc["msc", "sd"] == pytest.approx(0.3 * math.sqrt(12), abs=0.005)
    assert table.loc["msc", "mean"] == pytest.approx(7.8, abs=0.005)
    rises = _wide(t, "CPEP_FAST")
    remission = (rises["month 6"] / rises["screening"] - 1) * 100 >= 10
    arm = t["subjects"].set_index("subject_id")["arm"]
    assert remission.groupby(arm).sum().to_dict() == {"msc": 5, "placebo": 1}
    assert (t["infusions"].groupby("subject_id")["infusion_number"].max() == 2).all()
    assert scorecard(spec, t).passed


def test_tiny_cohorts_still_follow_the_contract():
    result = synthesize("couri2009", n=1)
    cohort.from_frames(result.tables)
    assert result.n == 1

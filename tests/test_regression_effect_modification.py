"""Arm x subgroup interaction against R: lm(change ~ arm * bmi_group + baseline), anova() of
the nested models, and emmeans within-subgroup contrasts.

Reference: tests/fixtures/regression/regression.R (dataset effmod). Tolerance 1e-6 relative.
"""

from __future__ import annotations

import pandas as pd
import pytest
from test_regression_data import FIX, measurement_rows, r_value, subjects_frame

import cohort
from cohort.analysis.effect_modification import effect_modification_analysis
from cohort.errors import AnalysisError

RTOL = 1e-6
DATA = pd.read_csv(FIX / "effmod_data.csv")


def close(a, b, rtol=RTOL):
    assert a == pytest.approx(b, rel=rtol, abs=1e-14)


def effmod_cohort(data=DATA):
    subj = subjects_frame(data.subject_id, data.arm, control=[False] * len(data),
                          bmi_kg_m2=data.bmi)
    meas = pd.concat([measurement_rows(data.subject_id, -1, data.baseline),
                      measurement_rows(data.subject_id, 365, data.value)])
    inf = pd.DataFrame({"subject_id": data.subject_id, "infusion_number": 1, "day": 0,
                        "source": "bone_marrow", "donor": "autologous", "route": data.arm,
                        "dose_cells_per_kg": 1e6, "dose_cells_total": float("nan")})
    return cohort.from_frames({"subjects": subj, "measurements": meas, "infusions": inf})


@pytest.fixture(scope="module")
def em():
    return effmod_cohort()


def test_against_R(em):
    res = effect_modification_analysis(em.measurements, em.subjects, subgroup="bmi",
                                       visit_days=[365])
    s = res.summary
    inter = s[s.kind == "interaction"].iloc[0]
    close(inter["statistic"], r_value("effmod", "interaction_F"))
    close(inter["p"], r_value("effmod", "interaction_p"))
    assert inter["df"] == r_value("effmod", "interaction_df")
    within = s[s.kind == "within_subgroup"].set_index("subgroup")
    for g in ("BMI < 23", "BMI >= 23"):
        for col, q in (("estimate", "estimate"), ("se", "se"), ("ci_lower", "lower"),
                       ("ci_upper", "upper"), ("p", "p")):
            close(within.loc[g, col], r_value("effmod", f"within:{g}:{q}"))
    co = res.coefficients.set_index("term")
    for term in co.index:
        rterm = term.replace("subgroup", "bmi_group")  # R names the factor bmi_group
        close(co.loc[term, "estimate"], r_value("effmod", f"coef:{rterm}:estimate"))
        close(co.loc[term, "se"], r_value("effmod", f"coef:{rterm}:se"))
        close(co.loc[term, "p"], r_value("effmod", f"coef:{rterm}:p"))
    assert any(n.startswith("no control arm: 'intravenous' (the first arm by name) is the "
                            "reference arm") for n in res.notes)
    raw = s[(s.kind == "mean_change") & (s.arm == "intravenous") & (s.subgroup == "BMI < 23")]
    sel = DATA[(DATA.arm == "intravenous") & (DATA.bmi < 23)]
    assert raw["estimate"].iloc[0] == pytest.approx((sel.value - sel.baseline).mean())
    assert raw["n"].iloc[0] == len(sel)


def test_missing_subgroup_variable_is_counted():
    data = DATA.copy()
    data.loc[0, "bmi"] = float("nan")
    c = effmod_cohort(data)
    res = effect_modification_analysis(c.measurements, c.subjects, visit_days=[365])
    assert res.exclusions.set_index("subject_id").loc["E01", "reason"] == "bmi_kg_m2 missing"
    assert res.summary["n_excluded"].iloc[0] == 1


def test_bad_inputs(em):
    with pytest.raises(AnalysisError, match="interaction needs two subgroups"):
        effect_modification_analysis(em.measurements, em.subjects, subgroup="bmi", cut=50,
                                     visit_days=[365])
    subj = em.subjects.copy()
    subj["arm"] = "MSC"
    with pytest.raises(AnalysisError, match="at least two arms"):
        effect_modification_analysis(em.measurements, subj, visit_days=[365])
    with pytest.raises(AnalysisError, match=r"no subject in arm/subgroup"):
        data = DATA[~((DATA.arm == "intravenous") & (DATA.bmi >= 23))]
        c = effmod_cohort(data)
        effect_modification_analysis(c.measurements, c.subjects, visit_days=[365])

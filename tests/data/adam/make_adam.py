"""Write the synthetic ADaM package of tests/data/adam (run from the repository root).

    python tests/data/adam/make_adam.py

A 24-week, two-arm type 2 diabetes trial with a drug comparator (fictional study CHT-204:
"Cohortide 1 mg" vs "Sitagliptin 100 mg"), laid out as the ADaM IG lays out a package, with the
permissible-variable gaps and repeated records real packages have:

* ``adsl.xpt``: 40 randomised subjects and 1 screen failure (ARM "Screen Failure", no
  treatment dates); no RANDDT, no LSTALVDT, no EOSDT (last contact = the latest dated record);
  4 subjects outside ITT (ITTFL "N");
* ``adlbc.xpt``: HbA1c in mmol/mol (AVALU given), fasting glucose whose unit is only in PARAM
  ("Fasting Plasma Glucose (mmol/L)", AVALU blank) and ALT (not a contract parameter); visits
  Screening, Baseline (ABLFL), Week 4/12/24; BASE and CHG; ANL01FL on the analysis records;
  End-of-Treatment copies of the last visit and unscheduled repeats (some on the day of a
  scheduled visit), neither flagged ANL01FL; 3 subjects stop after Week 12;
* ``advs.xpt``: weight (kg) at baseline and Week 24;
* ``adae.xpt``: adverse events with TRTEMFL (events before the first dose are not
  treatment-emergent);
* ``adtte.xpt`` (SAS transport **v8**; the others are v5): time to first rescue medication,
  CNSR 0 = event, 1 = censored; the unit only in PARAM ("(DAYS)");
* ``adex.xpt``: exposure to the study drugs (one period per subject); the preset maps it onto
  ``medications`` (``cohort.io.adam_exposure``).

Values come from a seeded generator (numpy, seed 20261206); rerunning gives the same files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat

HERE = Path(__file__).resolve().parent
STUDY = "CHT-204"
ARMS = {"COH": "Cohortide 1 mg", "SITA": "Sitagliptin 100 mg"}
VISITS = [("Screening", -1, -14), ("Baseline", 0, 1), ("Week 4", 4, 29), ("Week 12", 12, 85),
          ("Week 24", 24, 169)]
AE_TERMS = ["Nausea", "Headache", "Nasopharyngitis", "Diarrhoea", "Hypoglycaemia",
            "Back pain", "Dizziness"]


def _write(frame: pd.DataFrame, name: str, labels: dict[str, str], version: int = 5) -> None:
    dates = {c: "DATE9." for c in frame.columns
             if c.endswith("DT") and frame[c].map(lambda v: isinstance(v, dt.date)).any()}
    pyreadstat.write_xport(frame, str(HERE / f"{name.lower()}.xpt"), table_name=name,
                           file_label=labels.get("__file", name),
                           column_labels={c: labels.get(c, c) for c in frame.columns},
                           file_format_version=version, variable_format=dates)


def main() -> None:
    rng = np.random.default_rng(20261206)
    start = dt.date(2023, 1, 9)
    adsl, adlb, advs, adae, adtte, adex = [], [], [], [], [], []
    for i in range(41):
        sid = f"{STUDY}-{101 + i:03d}"
        screen_failure = i == 40
        armcd = "SCRNFAIL" if screen_failure else ("COH" if i % 2 == 0 else "SITA")
        arm = "Screen Failure" if screen_failure else ARMS[armcd]
        trtsdt = None if screen_failure else start + dt.timedelta(days=3 * i)
        itt = "N" if i in (5, 12, 21, 30) else ("" if screen_failure else "Y")
        sex = "F" if rng.random() < 0.45 else "M"
        height = round(float(rng.normal(163 if sex == "F" else 176, 6)), 1)
        bmi = float(rng.normal(31, 4))
        weight = round(bmi * (height / 100) ** 2, 1)
        stops = not screen_failure and i in (7, 18, 26)
        last_visit = 3 if stops else 4
        trtedt = None if screen_failure else trtsdt + dt.timedelta(
            days=VISITS[last_visit][2] - 1 + 2)
        adsl.append({
            "STUDYID": STUDY, "USUBJID": sid, "SUBJID": f"{101 + i:03d}",
            "SITEID": f"{10 + i % 4}", "AGE": float(rng.integers(38, 72)), "AGEU": "YEARS",
            "SEX": sex, "RACE": "WHITE" if rng.random() < 0.7 else "ASIAN", "ARM": arm,
            "ARMCD": armcd, "ACTARM": arm, "ACTARMCD": armcd,
            "TRT01P": "" if screen_failure else arm, "TRT01A": "" if screen_failure else arm,
            "TRTSDT": trtsdt, "TRTEDT": trtedt,
            "ITTFL": itt, "SAFFL": "" if screen_failure else "Y",
            "EFFFL": "" if screen_failure or itt == "N" or stops else "Y",
            "WEIGHTBL": None if screen_failure else weight,
            "HEIGHTBL": None if screen_failure else height,
            "BMIBL": None if screen_failure else round(weight / (height / 100) ** 2, 1),
        })
        if screen_failure:
            # a screening lab of the screen failure: it must leave with the subject
            adlb.append({"STUDYID": STUDY, "USUBJID": sid, "TRT01P": "", "ITTFL": "",
                         "PARAMCD": "HBA1C", "PARAM": "Hemoglobin A1C (mmol/mol)",
                         "AVAL": 95.0, "AVALU": "mmol/mol", "BASE": None, "CHG": None,
                         "ABLFL": "", "ANL01FL": "", "AVISIT": "Screening", "AVISITN": -1.0,
                         "ADT": start + dt.timedelta(days=100), "ADY": None})
            continue
        effect = -12.0 if armcd == "COH" else -7.0
        base_a1c = float(np.round(rng.normal(66, 8)))
        base_glu = round(float(rng.normal(9.5, 1.5)), 1)
        base_alt = round(float(rng.normal(28, 6)), 0)
        records = []
        for label, week, ady in VISITS[:last_visit + 1]:
            jitter = 0 if week <= 0 else int(rng.integers(-3, 4))
            day = ady + jitter
            adt = trtsdt + dt.timedelta(days=day - 1 if day >= 1 else day)
            frac = min(max(week, 0) / 12.0, 1.0)
            a1c = base_a1c if week <= 0 else float(np.round(
                base_a1c + frac * (effect - 0.25 * (base_a1c - 66)) + rng.normal(0, 4)))
            if week < 0:
                a1c = float(np.round(base_a1c + rng.normal(0, 2)))
            glu = base_glu if week <= 0 else round(
                base_glu + frac * effect / 6 + float(rng.normal(0, 0.8)), 1)
            alt = round(base_alt + float(rng.normal(0, 4)), 0)
            records.append((label, float(week), adt, day, a1c, glu, alt))
        for label, avisitn, adt, day, a1c, glu, alt in records:
            for paramcd, param, value, unit, base in (
                    ("HBA1C", "Hemoglobin A1C (mmol/mol)", a1c, "mmol/mol", base_a1c),
                    ("GLUCF", "Fasting Plasma Glucose (mmol/L)", glu, "", base_glu),
                    ("ALT", "Alanine Aminotransferase (U/L)", alt, "U/L", base_alt)):
                post = avisitn > 0
                adlb.append({
                    "STUDYID": STUDY, "USUBJID": sid, "TRT01P": arm, "ITTFL": itt,
                    "PARAMCD": paramcd, "PARAM": param, "AVAL": value, "AVALU": unit,
                    "BASE": base if avisitn >= 0 else None,
                    "CHG": round(value - base, 6) if post else None,
                    "ABLFL": "Y" if avisitn == 0 else "",
                    "ANL01FL": "" if avisitn < 0 else "Y", "AVISIT": label,
                    "AVISITN": avisitn, "ADT": adt, "ADY": float(day)})
        # End of Treatment: a copy of the last visit's records (same date), not analysed
        eot = [dict(r, AVISIT="End of Treatment", AVISITN=99.0, ANL01FL="")
               for r in adlb[-3:]]
        adlb.extend(eot)
        if i % 6 == 1:
            # an unscheduled HbA1c repeat on the day of Week 12 (a retest), not analysed
            wk12 = next(r for r in adlb if r["USUBJID"] == sid and r["AVISIT"] == "Week 12"
                        and r["PARAMCD"] == "HBA1C")
            adlb.append(dict(wk12, AVISIT="Unscheduled 12.1", AVISITN=12.1, ANL01FL="",
                             AVAL=wk12["AVAL"] + 1.0, CHG=wk12["CHG"] + 1.0))
        if i % 6 == 3:
            # an unscheduled visit between Week 4 and Week 12
            wk4 = next(r for r in adlb if r["USUBJID"] == sid and r["AVISIT"] == "Week 4"
                       and r["PARAMCD"] == "HBA1C")
            adlb.append(dict(wk4, AVISIT="Unscheduled 4.1", AVISITN=4.1, ANL01FL="",
                             ADT=wk4["ADT"] + dt.timedelta(days=20), ADY=wk4["ADY"] + 20))
        for label, avisitn, adt, day, *_ in records:
            if avisitn in (0.0, 24.0):
                w = round(weight + (0 if avisitn == 0 else float(rng.normal(-1.5, 1.5))), 1)
                advs.append({"STUDYID": STUDY, "USUBJID": sid, "TRT01P": arm,
                             "PARAMCD": "WEIGHT", "PARAM": "Weight (kg)", "AVAL": w,
                             "AVALU": "kg", "BASE": weight,
                             "CHG": None if avisitn == 0 else round(w - weight, 1),
                             "ABLFL": "Y" if avisitn == 0 else "", "ANL01FL": "Y",
                             "AVISIT": label, "AVISITN": avisitn, "ADT": adt,
                             "ADY": float(day)})
        for k in range(int(rng.integers(0, 4))):
            onset = int(rng.integers(-10, VISITS[last_visit][2]))
            astdt = trtsdt + dt.timedelta(days=onset)
            adae.append({
                "STUDYID": STUDY, "USUBJID": sid, "TRT01A": arm, "AESEQ": float(k + 1),
                "AETERM": AE_TERMS[int(rng.integers(0, len(AE_TERMS)))].upper(),
                "AEDECOD": AE_TERMS[int(rng.integers(0, len(AE_TERMS)))],
                "AESEV": ["MILD", "MODERATE", "SEVERE"][int(rng.choice(3, p=[.6, .3, .1]))],
                "AESER": "Y" if rng.random() < 0.08 else "N",
                "AEREL": ["NOT RELATED", "POSSIBLY RELATED", "RELATED"][
                    int(rng.choice(3, p=[.5, .3, .2]))],
                "ASTDT": astdt, "ASTDY": float(onset + 1 if onset >= 0 else onset),
                "TRTEMFL": "Y" if onset >= 0 else ""})
        # exposure: one record per subject, first to last dose (no random draw: the other
        # datasets stay as they were before ADEX was added)
        adex.append({"STUDYID": STUDY, "USUBJID": sid, "TRT01A": arm, "EXSEQ": 1.0,
                     "EXTRT": arm.split()[0].upper(), "EXDOSE": 1.0 if armcd == "COH" else 100.0,
                     "EXDOSU": "mg", "EXDOSFRQ": "QD", "ASTDT": trtsdt, "AENDT": trtedt,
                     "ASTDY": 1.0, "AENDY": float((trtedt - trtsdt).days + 1)})
        last_adt = records[-1][2]
        rescue_day = int(rng.integers(20, 200))
        event = rescue_day < (last_adt - trtsdt).days and rng.random() < (
            0.3 if armcd == "COH" else 0.5)
        adt = trtsdt + dt.timedelta(days=rescue_day) if event else last_adt
        adtte.append({
            "STUDYID": STUDY, "USUBJID": sid, "TRT01P": arm, "PARAMCD": "TTRESC",
            "PARAM": "Time to First Rescue Medication (DAYS)",
            "AVAL": float((adt - trtsdt).days + 1), "CNSR": 0.0 if event else 1.0,
            "STARTDT": trtsdt, "ADT": adt,
            "EVNTDESC": "RESCUE MEDICATION STARTED" if event else "",
            "CNSDTDSC": "" if event else "LAST VISIT"})
    _write(pd.DataFrame(adsl), "ADSL", {"__file": "Subject-Level Analysis Dataset",
                                        "TRTSDT": "Date of First Exposure to Treatment"})
    _write(pd.DataFrame(adlb), "ADLBC", {"__file": "Laboratory Analysis Dataset Chemistry",
                                         "ANL01FL": "Analysis Flag 01"})
    _write(pd.DataFrame(advs), "ADVS", {"__file": "Vital Signs Analysis Dataset"})
    _write(pd.DataFrame(adae), "ADAE", {"__file": "Adverse Events Analysis Dataset",
                                        "TRTEMFL": "Treatment Emergent Analysis Flag"})
    _write(pd.DataFrame(adex), "ADEX", {"__file": "Exposure Analysis Dataset"})
    _write(pd.DataFrame(adtte), "ADTTE", {"__file": "Time-to-Event Analysis Dataset",
                                          "CNSR": "Censor"}, version=8)


if __name__ == "__main__":
    main()

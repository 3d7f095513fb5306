"""Declared extras (study-specific subject variables and parameters) and the open contract
(arms that receive no cells, cohorts outside diabetes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import cohort
from cohort.analysis.ancova import ancova_analysis
from cohort.analysis.remission import remission_analysis
from cohort.analysis.table1 import table1
from cohort.cli.app import app
from cohort.contract import load_contract
from cohort.derive.strata import assign_groups
from cohort.errors import InvalidCohortError
from cohort.extras import ExtraParameter, Extras, ExtraVariable, extend_contract
from cohort.io.mapping import read_mapping

MAPPING = """
extras:
  subjects:
    gad: {type: string, allowed: [positive, negative], label: GAD65 antibodies}
    dka: {type: boolean, label: DKA at diagnosis}
    screen_cpep: {type: number, unit: nmol/L, range: [0, 5], nullable: false}
    visits_missed: {type: integer, allowed: [0, 1, 2]}
  parameters:
    SGLUC: {unit: mmol/L, label: Serum glucose}
    GADTITRE: {unit: U/mL, label: GAD65 antibody titre}
tables:
  subjects:
    recode: {dka: {"yes": "true", "no": "false"}}
"""


def _with_extras(folder: Path, *, gad: list[str] | None = None) -> None:
    """Add extra columns to subjects and extra parameters to measurements (in place)."""
    s = pl.read_csv(folder / "subjects.csv", infer_schema=False)
    n = s.height
    s = s.with_columns(
        pl.Series("gad", gad or ["positive", "negative"] * (n // 2) + ["negative"] * (n % 2)),
        pl.Series("dka", ["yes", "no", "no"] * (n // 3) + ["no"] * (n % 3)),
        pl.Series("screen_cpep", [f"{0.1 * (i + 1):.1f}" for i in range(n)]),
        pl.Series("visits_missed", [str(i % 3) for i in range(n)]))
    s.write_csv(folder / "subjects.csv")
    m = pl.read_csv(folder / "measurements.csv", infer_schema=False)
    hb = m.filter(pl.col("param") == "HBA1C")
    glucose = hb.with_columns(pl.lit("SGLUC").alias("param"), pl.lit("162").alias("value"),
                              pl.lit("mg/dL").alias("unit"))
    titre = hb.with_columns(pl.lit("GADTITRE").alias("param"), pl.lit("1500").alias("value"),
                            pl.lit("U/mL").alias("unit"))
    pl.concat([m, glucose, titre]).write_csv(folder / "measurements.csv")
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")


@pytest.fixture
def extras_copy(example_copy: Path) -> Path:
    _with_extras(example_copy)
    return example_copy


def test_declared_extras_are_loaded_typed_and_converted(extras_copy):
    c = cohort.load_cohort(extras_copy, mapping=extras_copy / "mapping.yaml")
    s = c.subjects
    assert str(s["gad"].dtype).startswith("string")
    assert str(s["dka"].dtype) == "boolean"
    assert str(s["visits_missed"].dtype) == "Int64"
    assert s["dka"].tolist()[:3] == [True, False, False]
    assert s["screen_cpep"].iloc[1] == pytest.approx(0.2)
    glucose = c.measurements[c.measurements["param"] == "SGLUC"]
    # 162 mg/dL / 18.016 = 8.992 mmol/L, converted and listed like a contract parameter
    assert glucose["value"].iloc[0] == pytest.approx(162 / 18.016)
    assert set(glucose["unit"]) == {"mmol/L"}
    conv = c.conversions.set_index("param")
    assert conv.loc["SGLUC", "from_unit"] == "mg/dL"
    assert conv.loc["SGLUC", "n"] == len(glucose)
    # a unit cohort.units does not know is taken as declared; no range is invented
    titre = c.measurements[c.measurements["param"] == "GADTITRE"]
    assert titre["value"].iloc[0] == 1500 and set(titre["unit"]) == {"U/mL"}


def test_extra_value_outside_its_allowed_set_is_an_error_naming_file_row_column(extras_copy):
    path = extras_copy / "subjects.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace(",positive,", ",unknown,").replace(",negative,", ",unknown,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = path.read_bytes()
    result = CliRunner().invoke(app, ["validate", str(extras_copy), "--mapping",
                                      str(extras_copy / "mapping.yaml"), "--format", "json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    [hit] = [f for f in doc["findings"] if f["rule"] == "allowed_values"]
    assert (hit["file"], hit["row"], hit["column"], hit["value"]) == (
        "subjects.csv", 4, "gad", "unknown")
    assert "allowed: positive, negative" in hit["message"]
    assert path.read_bytes() == before


def test_extra_range_integer_codes_and_not_null_are_checked(extras_copy):
    path = extras_copy / "subjects.csv"
    frame = pl.read_csv(path, infer_schema=False).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("7.5")).when(
            pl.int_range(pl.len()) == 1).then(None).otherwise(pl.col("screen_cpep"))
        .alias("screen_cpep"),
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("5")).otherwise(
            pl.col("visits_missed")).alias("visits_missed"))
    frame.write_csv(path)
    report = cohort.validate(extras_copy, mapping=extras_copy / "mapping.yaml")
    got = {(r.rule, r.column, r.row) for r in report.findings.itertuples()}
    assert got == {("range", "screen_cpep", 2), ("not_null", "screen_cpep", 3),
                   ("allowed_values", "visits_missed", 4)}


def test_missing_declared_column_is_reported(example_copy):
    (example_copy / "mapping.yaml").write_text(MAPPING.split("tables:")[0], encoding="utf-8")
    report = cohort.validate(example_copy, mapping=example_copy / "mapping.yaml")
    missing = report.findings[report.findings["rule"] == "missing_column"]
    assert {"gad", "dka", "screen_cpep", "visits_missed"} <= set(missing["column"])


@pytest.mark.parametrize(("text", "match"), [
    ("extras: {subjects: {sex: {type: string}}}", "contract column of subjects"),
    ("extras: {parameters: {HBA1C: {unit: '%'}}}", "contract parameter"),
    ("extras: {subjects: {dka: {type: boolean, allowed: [a, b]}}}", "true/false"),
    ("extras: {subjects: {x: {type: number, allowed: [1]}}}", "use range"),
    ("extras: {subjects: {x: {type: string, range: [0, 1]}}}", "range is for"),
    ("extras: {subjects: {x: {type: integer, allowed: [a]}}}", "whole numbers"),
    ("extras: {subjects: {'2x': {type: integer}}}", "starts with a letter"),
    ("extras: {parameters: {X: {unit: mmol/L, range: [5, 1]}}}", "min > max"),
])
def test_bad_declarations_name_the_key(tmp_path, text, match):
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(cohort.errors.MappingError, match=match):
        read_mapping(path)


def test_bad_declaration_exits_2(example_copy, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("extras: {subjects: {arm: {type: string}}}", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(example_copy), "--mapping", str(path),
                                      "--format", "json"])
    assert result.exit_code == 2
    [finding] = json.loads(result.stdout)["findings"]
    assert "extras: Value error, subjects.arm: arm is a contract column" in finding["message"]


def test_extend_contract_adds_columns_and_parameters():
    extras = Extras(subjects={"gad": ExtraVariable(type="string", allowed=["pos", "neg"])},
                    parameters={"SGLUC": ExtraParameter(unit="mmol/L")})
    contract = extend_contract(load_contract(), extras)
    col = contract["subjects"].column("gad")
    assert col.extra and col.allowed == {"pos": "", "neg": ""}
    p = contract.parameters["SGLUC"]
    assert p.extra and p.plausible is None and p.accepted_units == ("mmol/L", "mg/dL")
    assert "gad" not in load_contract()["subjects"].column_names
    assert extend_contract(load_contract(), Extras()) is load_contract()


def test_from_frames_accepts_extras(extras_copy):
    c = cohort.load_cohort(extras_copy, mapping=extras_copy / "mapping.yaml")
    extras = read_mapping(extras_copy / "mapping.yaml").extras
    again = cohort.from_frames({"subjects": c.subjects, "measurements": c.measurements,
                                "infusions": c.infusions}, extras=extras)
    assert again.subjects["gad"].tolist() == c.subjects["gad"].tolist()
    with pytest.raises(InvalidCohortError, match="gad"):
        cohort.from_frames({"subjects": c.subjects, "measurements": c.measurements,
                            "infusions": c.infusions})


def test_analyses_use_declared_extras(extras_copy):
    c = cohort.load_cohort(extras_copy, mapping=extras_copy / "mapping.yaml")
    t1 = table1(c.subjects, by="gad", variables=["dka", "screen_cpep", "visits_missed"])
    s = t1.summary
    assert set(s["variable"]) >= {"dka", "screen_cpep"}
    pos = c.subjects[c.subjects["gad"] == "positive"]
    row = s[(s["variable"] == "screen_cpep") & (s["group"] == "positive")]
    assert row["mean"].iloc[0] == pytest.approx(pos["screen_cpep"].mean())
    dka = s[(s["variable"] == "dka") & (s["group"] == "overall")]
    assert dka.set_index("level")["count"].to_dict() == {
        "False": int((~c.subjects["dka"]).sum()), "True": int(c.subjects["dka"].sum())}
    fit = ancova_analysis(c.measurements, c.subjects, param="HBA1C", visit_days=[180],
                          covariates=["screen_cpep"], reference="placebo")
    assert fit.summary["n"].max() > 0
    # the subgroup entry point of effect modification and paired/responders --by
    groups = assign_groups(c.subjects, "gad")
    assert groups["group"].tolist() == c.subjects["gad"].tolist()
    cut = assign_groups(c.subjects, "screen_cpep", cut=0.35)
    assert cut["group"].tolist() == ["screen_cpep < 0.35"] * 3 + ["screen_cpep >= 0.35"] * 3
    rates = remission_analysis(c.measurements, c.subjects, subgroup="dka")
    assert set(rates.summary["subgroup_by"]) == {"all", "dka"}


def test_cli_groups_and_covariates_by_extras(extras_copy):
    m = str(extras_copy / "mapping.yaml")
    run = CliRunner()
    r = run.invoke(app, ["analyze", "table1", str(extras_copy), "--mapping", m, "--by", "gad",
                         "--variable", "dka", "--format", "json"])
    assert r.exit_code == 0, r.output
    r = run.invoke(app, ["analyze", "ancova", str(extras_copy), "--mapping", m, "--visit-days",
                         "180", "--reference", "placebo", "--covariate", "screen_cpep",
                         "--format", "json"])
    assert r.exit_code == 0, r.output
    r = run.invoke(app, ["analyze", "survival", str(extras_copy), "--mapping", m, "--group",
                         "gad", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["params"]["group"] == "gad"


# ---------------------------------------------------------------------------------------------
# the open contract: arms that receive no cells, cohorts outside diabetes


def _subjects(example: Path) -> pl.DataFrame:
    return pl.read_csv(example / "subjects.csv", infer_schema=False)


def test_existing_cohorts_stay_valid_without_intervention(example_dir):
    assert cohort.validate(example_dir).valid


def test_drug_comparator_and_cell_comparator(example_copy):
    s = _subjects(example_copy)
    inf = pl.read_csv(example_copy / "infusions.csv", infer_schema=False)
    treated = set(inf.filter(pl.col("source") != "placebo").get_column("subject_id"))
    # every non-cell subject receives a drug (a drug comparator), and controls that receive
    # cells are allowed (an active cell comparator) once intervention says so
    s = s.with_columns(pl.when(pl.col("subject_id").is_in(list(treated))).then(pl.lit("cells"))
                       .otherwise(pl.lit("drug")).alias("intervention"),
                       pl.lit("other").alias("diabetes_type"))
    s.write_csv(example_copy / "subjects.csv")
    assert cohort.validate(example_copy).valid
    first = sorted(treated)[0]
    s.with_columns(pl.when(pl.col("subject_id") == first).then(pl.lit("true"))
                   .otherwise(pl.col("control")).alias("control")).write_csv(
        example_copy / "subjects.csv")
    report = cohort.validate(example_copy)
    assert report.valid, report.findings.to_string()


def test_non_cell_subject_with_an_active_infusion_is_an_error(example_copy):
    s = _subjects(example_copy)
    inf = pl.read_csv(example_copy / "infusions.csv", infer_schema=False)
    first = inf.filter(pl.col("source") != "placebo").get_column("subject_id")[0]
    s.with_columns(pl.when(pl.col("subject_id") == first).then(pl.lit("drug"))
                   .otherwise(None).alias("intervention")).write_csv(example_copy / "subjects.csv")
    report = cohort.validate(example_copy)
    hits = report.findings[report.findings["rule"] == "control_with_active_infusion"]
    assert len(hits) >= 1
    assert f"subject {first} (intervention = drug)" in hits["message"].iloc[0]


def test_cells_declared_without_infusion_is_an_error(example_copy):
    s = _subjects(example_copy)
    control = s.filter(pl.col("control") == "true").get_column("subject_id")[0]
    s.with_columns(pl.when(pl.col("subject_id") == control).then(pl.lit("cells"))
                   .otherwise(None).alias("intervention")).write_csv(example_copy / "subjects.csv")
    report = cohort.validate(example_copy)
    hits = report.findings[report.findings["rule"] == "treated_without_infusion"]
    assert hits["value"].tolist() == [control]
    assert "intervention = cells" in hits["message"].iloc[0]


def test_diabetes_type_other_is_allowed():
    assert "other" in load_contract()["subjects"].column("diabetes_type").allowed
    assert np.isin(["T1D", "T2D", "other"],
                   list(load_contract()["subjects"].column("diabetes_type").allowed)).all()


def test_dictionary_includes_a_mappings_extras(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    result = CliRunner().invoke(app, ["dictionary", "--mapping", str(path)])
    assert result.exit_code == 0, result.output
    assert "| `gad` | string | yes (declared extra) | yes |  | `positive`; `negative` |  | " \
           "GAD65 antibodies |" in result.stdout
    assert "| `SGLUC` (declared extra) | Serum glucose | mmol/L | mmol/L, mg/dL |  |" in \
        result.stdout
    plain = CliRunner().invoke(app, ["dictionary"])
    assert "declared extra)" not in plain.stdout

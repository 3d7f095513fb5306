"""Issue 14's Bad input, end to end: `cohort reproduce SPEC --out DIR` on a spec with each
problem exits 2 with the key path in the message and writes nothing. And two acceptance checks
of the registry: nine studies, none of the four spec-only studies named in Python code."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.spec.registry import study_folder

ROOT = Path(__file__).parents[1]
LU = study_folder() / "lu2021" / "spec.yaml"


def _target(**kw) -> dict:
    return {"id": "t", "analysis": "arm_size", "description": "d", "params": {"arm": "msc"},
            "value": 27, "source": "s", **kw}


def _add(**kw) -> Callable[[dict], None]:
    return lambda raw: raw["targets"].append(_target(**kw))


def _sem_n(raw: dict) -> None:
    raw["baseline"]["variables"]["HBA1C"]["dist"] = {
        "all": {"mean": 9.0, "sem": 0.2, "sem_n": 60}}


# each case: how the spec is broken, and the key path + words the message must hold
BAD = [
    ("an analysis that does not exist", _add(analysis="hazard_ratio"),
     r"targets\[(\d+)\]\.analysis: unknown analysis 'hazard_ratio'"),
    ("a cohort analyze command that does not exist", _add(analysis="analyze nosuch"),
     r"targets\[(\d+)\]\.analysis: unknown analysis 'analyze nosuch'"),
    ("an output that does not exist", _add(output="hazard"),
     r"targets\[(\d+)\]\.output: unknown output 'hazard' of arm_size"),
    ("a parameter the analysis does not take", _add(params={"arm": "msc", "visit": "month 3"}),
     r"targets\[(\d+)\].*unknown params visit; allowed: arm"),
    ("an option the command does not take",
     _add(analysis="analyze survival", params={"groop": "arm"}),
     r"targets\[(\d+)\].*params\.groop: `cohort analyze survival` has no option --groop"),
    ("a condition on an undeclared variable",
     _add(params={"arm": "msc", "among": {"variable": "dka_at_diagnosis", "equals": True}}),
     r"targets\[(\d+)\] \(t\)\.params\.among: condition on undeclared variable "
     r"'dka_at_diagnosis'"),
    ("a primary endpoint that is not a target",
     lambda raw: raw["study"].update(primary=["remission_1y"]),
     r"study\.primary\[0\]: 'remission_1y' is not the id of a target"),
    ("a tolerance without a reason", _add(tolerance=0.5),
     r"targets\[(\d+)\]\.tolerance: a tolerance needs its reason"),
    ("an SEM whose n exceeds the arm", _sem_n,
     r"baseline\.variables\.HBA1C\.dist\.all\.sem_n: the SEM was computed on 60 subjects, "
     r"more than the group's n = 53"),
]


@pytest.mark.parametrize(("name", "edit", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_spec_exits_2_with_the_key_path_and_writes_nothing(tmp_path, name, edit,
                                                                  message):
    raw = yaml.safe_load(LU.read_text(encoding="utf-8"))
    n = len(raw["targets"])
    edit(raw)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    before = spec.read_bytes()
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["reproduce", str(spec), "--out", str(out)])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    found = re.search(message, text)
    assert found, text
    if found.groups():  # the index of the target that was added
        assert found.group(1) == str(n)
    assert "Traceback" not in res.output
    assert not out.exists()
    assert spec.read_bytes() == before


def test_an_unquoted_comma_in_a_flow_mapping_exits_2_and_writes_nothing(tmp_path):
    text = LU.read_text(encoding="utf-8") + (
        "  - {id: extra, analysis: arm_size, description: d, params: {arm: msc}, value: 27, "
        "source: Lu 2021 (abstract, page 2)}\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["reproduce", str(spec), "--out", str(out)])
    assert res.exit_code == 2
    assert "'page 2)' is not a key: it looks like the rest of a text cut at an unquoted comma" \
        in " ".join(res.output.split())
    assert not out.exists()


def test_a_request_output_the_command_lacks_exits_2_and_writes_nothing(tmp_path):
    raw = yaml.safe_load(LU.read_text(encoding="utf-8"))
    n = len(raw["targets"])
    raw["targets"].append(_target(analysis="analyze ancova", params={"visit": "month 12"},
                                  row={"model": "ancova", "kind": "vs_reference"},
                                  output="hazard_ratio", value=1))
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["reproduce", str(spec), "--data",
                                   str(study_folder() / "lu2021" / "cohort"), "--out",
                                   str(out)])
    assert res.exit_code == 2, res.output
    assert f"targets[{n}] (t): `cohort analyze ancova" in res.output
    assert "has no column 'hazard_ratio'" in " ".join(res.output.split())
    assert not out.exists()


# ------------------------------------------------------------------ acceptance: the registry


def test_cohort_studies_lists_nine_studies():
    res = CliRunner().invoke(app, ["studies", "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    rows = doc["studies"] if isinstance(doc, dict) else doc
    assert sorted(r["id"] for r in rows) == [
        "couri2009", "daddio2014", "hu2016", "lu2021", "matsuoka2025", "nguyen2021",
        "skyler2015", "snarski2016", "voltarelli2007"]


def test_no_python_file_of_the_package_names_a_spec_only_study():
    """`git grep -i` of the four new study ids in cohort/ finds nothing in Python files: a
    study is data."""
    ids = re.compile(r"voltarelli2007|snarski2016|daddio2014|hu2016", re.IGNORECASE)
    hits = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "cohort").rglob("*.py"))
            if ids.search(p.read_text(encoding="utf-8"))]
    assert hits == []

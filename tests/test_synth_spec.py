"""Study spec validation: every problem is a SpecError naming the key path; the CLI exits 2."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.errors import SpecError
from cohort.spec import load_spec, spec_from_dict
from cohort.spec.analyses import ANALYSES
from cohort.spec.registry import registered_studies

FIXTURES = Path(__file__).parent / "fixtures" / "synth"
NEW_STUDY = FIXTURES / "new_study.yaml"


def raw_spec() -> dict[str, Any]:
    return yaml.safe_load(NEW_STUDY.read_text(encoding="utf-8"))


def _missing_n(r):
    del r["design"]["arms"][0]["n"]


def _negative_sd(r):
    r["baseline"]["variables"]["age_years"]["dist"]["all"]["sd"] = -6


def _unknown_dist(r):
    r["baseline"]["variables"]["age_years"]["dist"]["all"]["dist"] = "gamma"


def _proportion_above_1(r):
    r["baseline"]["categories"]["sex"] = {
        "levels": ["F", "M"], "proportions": {"all": {"F": 1.2, "M": 0.3}}, "assumed": "x"}


def _unknown_analysis(r):
    r["targets"][0]["analysis"] = "magic_test"


def _no_mark(r):
    del r["baseline"]["variables"]["age_years"]["assumed"]


def _both_marks(r):
    r["baseline"]["variables"]["age_years"]["published"] = "Table 1"


def _unknown_key(r):
    r["baseline"]["variables"]["age_years"]["mean"] = 25


def _unknown_visit(r):
    r["outcomes"]["trajectories"]["HBA1C"]["change"]["msc"]["month 9"] = -1


def _unknown_arm(r):
    r["outcomes"]["adverse_events"][0]["counts"]["plcebo"] = 1


def _counts_not_n(r):
    r["baseline"]["categories"]["sex"]["counts"]["msc"] = {"F": 6, "M": 7}


def _control_with_cells(r):
    r["design"]["arms"][1]["treatment"] = r["design"]["arms"][0]["treatment"]


def _placebo_dose(r):
    r["design"]["arms"][1]["treatment"]["dose_cells_per_kg"] = 1.0e6


def _target_missing_param(r):
    r["targets"][1]["params"] = {"arm": "msc"}


def _unknown_variable(r):
    r["baseline"]["variables"]["shoe_size"] = {"dist": {"all": {"mean": 1, "sd": 1}},
                                               "assumed": "x"}


BAD = [
    ("missing arm n", _missing_n, r"design\.arms\[0\]\.n: required key is missing"),
    ("negative SD", _negative_sd, r"baseline\.variables\.age_years\.dist\.all: sd must be >= 0, "
                                  r"got -6"),
    ("unknown distribution", _unknown_dist,
     r"baseline\.variables\.age_years\.dist: all: unknown distribution 'gamma'; expected one of"),
    ("proportion above 1", _proportion_above_1,
     r"baseline\.categories\.sex: all: proportions must be between 0 and 1, got \[1\.2\]"),
    ("unknown analysis", _unknown_analysis,
     r"targets\[0\]\.analysis: unknown analysis 'magic_test'; known analyses: "),
    ("no provenance mark", _no_mark,
     r"baseline\.variables\.age_years: every parameter block must say where its numbers come "
     r"from"),
    ("both marks", _both_marks, r"baseline\.variables\.age_years: .*not both"),
    ("unknown key", _unknown_key, r"baseline\.variables\.age_years\.mean: unknown key"),
    ("unknown visit", _unknown_visit,
     r"outcomes\.trajectories\.HBA1C: unknown visit 'month 9'; visits are screening"),
    ("unknown group key", _unknown_arm,
     r"outcomes\.adverse_events\[0\]\.counts: unknown group key 'plcebo'"),
    ("counts do not sum to n", _counts_not_n,
     r"baseline\.categories\.sex\.counts\.msc: counts sum to 13, but the group has n = 12"),
    ("control with cells", _control_with_cells, r"control arm 'placebo' receives active cells"),
    ("placebo dose", _placebo_dose, r"a placebo arm has dose_cells_per_kg > 0"),
    ("target without its params", _target_missing_param,
     r"targets\[1\]: target 'a1c_msc' \(baseline_mean\) needs params variable"),
    ("unknown variable", _unknown_variable, r"unknown baseline variable 'shoe_size'"),
]


@pytest.mark.parametrize(("name", "mutate", "match"), BAD, ids=[b[0] for b in BAD])
def test_bad_spec_names_the_key(name, mutate, match):
    raw = raw_spec()
    mutate(raw)
    with pytest.raises(SpecError, match=match) as info:
        spec_from_dict(raw, source="bad.yaml")
    assert str(info.value).startswith("invalid study spec bad.yaml")


@pytest.mark.parametrize(("name", "mutate", "match"), BAD[:5], ids=[b[0] for b in BAD[:5]])
def test_bad_spec_exits_2_from_the_cli(tmp_path, name, mutate, match):
    raw = raw_spec()
    mutate(raw)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = CliRunner().invoke(app, ["synth", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("cohort: error: invalid study spec")
    assert not (tmp_path / "out").exists()


def test_unreadable_specs_are_spec_errors(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: [unclosed\n", encoding="utf-8")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(bad)
    bad.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(SpecError, match="expected a mapping at the top level"):
        load_spec(bad)


def test_every_bundled_spec_is_valid_and_marked():
    entries = registered_studies()
    assert [e.id for e in entries] == ["couri2009", "daddio2014", "hu2016", "lu2021",
                                       "matsuoka2025", "nguyen2021", "skyler2015",
                                       "snarski2016", "voltarelli2007"]
    for e in entries:
        spec = load_spec(e.spec_path)
        assert spec.study.id == e.spec_path.parent.name
        assert all(t.analysis in ANALYSES or t.command is not None for t in spec.targets)
        assert all(not ANALYSES[t.analysis].baseline for t in spec.targets if t.command)
        assert all(t.source for t in spec.targets)


def test_bundled_readmes_are_generated_from_the_specs():
    from cohort.spec.readme import render_readme

    for e in registered_studies():
        readme = e.spec_path.parent / "README.md"
        assert readme.read_text(encoding="utf-8") == render_readme(load_spec(e.spec_path)), (
            f"{readme} is out of date: regenerate it with cohort.spec.readme.render_readme")


def test_published_and_assumed_are_both_listed_in_a_readme():
    lu = next(e for e in registered_studies() if e.id == "lu2021")
    text = (lu.spec_path.parent / "README.md").read_text(encoding="utf-8")
    assert "| `outcomes.remission.counts.control = 3` | assumed |" in text
    assert "| `outcomes.remission.counts.msc = 11` | published |" in text


_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(-10, 10),
                  st.text(max_size=8))


def _mutations(raw: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    paths = []

    def walk(obj: Any, path: tuple[Any, ...]) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                paths.append((*path, k))
                walk(v, (*path, k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                paths.append((*path, i))
                walk(v, (*path, i))

    walk(raw, ())

    @st.composite
    def mutate(draw: Any) -> dict[str, Any]:
        out = copy.deepcopy(raw)
        path = draw(st.sampled_from(paths))
        target = out
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = draw(_leaf)
        return out

    return mutate()


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_corrupted_spec_gives_a_spec_error_or_a_spec(data):
    raw = data.draw(_mutations(raw_spec()))
    try:
        spec_from_dict(raw)
    except SpecError as exc:
        assert str(exc).startswith("invalid study spec")

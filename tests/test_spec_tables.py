"""The display tables of a spec (design, provenance marks) and the published-vs-reproduced rows
of a reproduction: the public API the study notebooks call instead of repeating helpers."""

from __future__ import annotations

import pytest

from cohort.spec import (
    design_table,
    distribution_text,
    provenance_rows,
    provenance_table,
    resolve_spec,
)
from cohort.studies import reproduce


@pytest.fixture(scope="module")
def lu():
    spec, _ = resolve_spec("lu2021")
    return spec


def test_design_table_lu2021(lu):
    t = design_table(lu)
    assert t["arm"].tolist() == ["msc", "control"]
    assert t["n"].tolist() == [27, 26]
    assert t["control"].tolist() == [False, True]
    assert t.loc[0, "dose (cells/kg)"] == "uniform (low 800000, high 2.5e+06)"
    assert t.loc[1, "route"] == ""  # the control arm has no treatment: empty, not NaN
    assert not t.isna().any().any()


def test_distribution_text():
    spec, _ = resolve_spec("lu2021")
    assert distribution_text(None) == ""
    dist = spec.arms[0].treatment.dose_cells_per_kg
    assert distribution_text(dist) == "uniform (low 800000, high 2.5e+06)"


def test_provenance_table_selects_by_prefix(lu):
    every = provenance_table(lu)
    assert list(every.columns) == ["where", "basis", "text"]
    assert len(every) == len(provenance_rows(lu))
    assert every.equals(provenance_table(lu, ""))
    arms = provenance_table(lu, "design.arms")
    assert arms.loc[0].to_dict() == {"where": "design.arms[0] (msc)", "basis": "published",
                                     "text": "Lu 2021 abstract (MSC-treated group n = 27)"}
    assert arms["where"].str.startswith("design.arms").all()
    both = provenance_table(lu, "design.arms", "outcomes.remission")
    assert len(arms) < len(both) < len(every)
    assert provenance_table(lu, "no.such.block").empty


def test_published_vs_reproduced_and_outcome_targets():
    result = reproduce("lu2021")
    rows = result.published_vs_reproduced("remission_count")
    assert list(rows.columns) == ["target", "description", "published", "reproduced",
                                  "agreement", "agreement_rule", "kind", "inputs"]
    assert rows["target"].tolist() == ["remission_msc"]
    assert rows.loc[0, "published"] == "11"
    assert rows.loc[0, "agreement"] == "agrees"
    assert result.published_vs_reproduced("no_such_analysis").empty
    out = result.outcome_targets()
    assert "remission_msc" in out["target"].tolist()
    assert 0 < len(out) < len(result.summary)

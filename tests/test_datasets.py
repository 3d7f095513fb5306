"""cohort.datasets: the bundled cohorts, loaded and validated like a user's folder."""

from __future__ import annotations

import pandas as pd
import pytest

import cohort
from cohort import datasets
from cohort.errors import SpecError
from cohort.spec import registered_studies


def test_available_lists_every_bundled_study() -> None:
    table = datasets.available()
    assert table["id"].tolist() == [e.id for e in registered_studies()]
    lu = table.set_index("id").loc["lu2021"]
    assert (lu["n"], lu["arms"], lu["diabetes_type"]) == (53, {"msc": 27, "control": 26}, "T1D")


def test_load_is_the_validated_committed_cohort() -> None:
    lu = cohort.datasets.load("lu2021")  # reachable from `import cohort` alone
    assert isinstance(lu, cohort.Cohort)
    assert lu.path.endswith("synthetic/lu2021/cohort")
    direct = cohort.load_cohort(lu.path)
    pd.testing.assert_frame_equal(lu.measurements, direct.measurements)
    assert lu.subjects["arm"].value_counts().to_dict() == {"UC-MSC": 27, "standard care": 26}


def test_load_with_a_seed_synthesises_a_fresh_cohort() -> None:
    fresh = datasets.load("lu2021", seed=7)
    committed = datasets.load("lu2021")
    assert len(fresh.subjects) == len(committed.subjects) == 53
    assert not fresh.measurements["value"].equals(committed.measurements["value"])


def test_an_unknown_name_lists_the_bundled_studies() -> None:
    with pytest.raises(SpecError, match=r"no bundled study named 'lu2012'.*lu2021.*skyler2015"):
        datasets.load("lu2012")
    with pytest.raises(SpecError, match="no bundled study"):
        datasets.load("../synthetic/lu2021")  # a name, not a path

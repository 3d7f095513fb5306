"""One evaluator of spec conditions (`when` / `among`): typed comparisons, the same subjects
selected by the generator, reproduction and the scorecard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cohort.spec.blocks import Condition
from cohort.spec.conditions import ConditionError, condition_mask


def _mask(cond: dict, **columns: object) -> list[bool]:
    data = {k: v for k, v in columns.items()}
    n = len(next(iter(data.values())))
    return condition_mask(Condition.model_validate(cond), lambda v: data[v], n).tolist()


@pytest.mark.parametrize("equals", [1, 1.0])
def test_equals_number_is_numeric_on_floats_and_nullable_ints(equals: float) -> None:
    floats = np.array([1.0, 2.0, np.nan, 1.0])
    ints = pd.array([1, 2, None, 1], dtype="Int64")
    want = [True, False, False, True]
    assert _mask({"variable": "x", "equals": equals}, x=floats) == want
    assert _mask({"variable": "x", "equals": equals}, x=pd.Series(ints)) == want
    assert _mask({"variable": "x", "equals": equals}, x=np.array([1, 2, 3, 1], dtype=object)) \
        == [True, False, False, True]


def test_equals_number_on_text_is_an_error_not_an_empty_subgroup() -> None:
    with pytest.raises(ConditionError, match=r"equals 1.0 is a number but x holds text"):
        _mask({"variable": "x", "equals": 1.0}, x=np.array(["1", "2"], dtype=object))
    # a quoted level compares as text
    assert _mask({"variable": "x", "equals": "1"}, x=np.array(["1", "2"], dtype=object)) == [
        True, False]


def test_bool_conditions_accept_booleans_nullable_booleans_and_01_flags() -> None:
    want = [True, False, False]
    assert _mask({"variable": "r", "equals": True}, r=np.array([True, False, False])) == want
    assert _mask({"variable": "r", "equals": True},
                 r=pd.Series(pd.array([True, False, None], dtype="boolean"))) == want
    assert _mask({"variable": "r", "equals": True}, r=np.array([1.0, 0.0, np.nan])) == want
    with pytest.raises(ConditionError, match="holds number values"):
        _mask({"variable": "r", "equals": True}, r=np.array([1.0, 2.0, 0.0]))


def test_thresholds_missing_values_and_all_of() -> None:
    x = np.array([17.0, 18.0, np.nan, 30.0])
    sex = np.array(["F", "M", "F", None], dtype=object)
    assert _mask({"variable": "x", "at_least": 18}, x=x) == [False, True, False, True]
    assert _mask({"variable": "x", "below": 18}, x=x) == [True, False, False, False]
    assert _mask({"all_of": [{"variable": "x", "at_most": 18},
                             {"variable": "sex", "in": ["F"]}]}, x=x, sex=sex) == [
        True, False, False, False]
    with pytest.raises(ConditionError, match="below 18 needs a numeric variable"):
        _mask({"variable": "sex", "below": 18}, sex=sex)


def test_unknown_variable_names_it() -> None:
    with pytest.raises(ConditionError, match="'dka_at_diagnosis', which is not recorded"):
        _mask({"variable": "dka_at_diagnosis", "equals": True}, x=np.array([1.0]))


def test_scorecard_and_reproduce_use_one_dose_definition() -> None:
    """The dose of a subject is the dose per infusion (as published and as the spec gives
    it); the cumulative dose is its own variable. On lu2021 (two equal infusions) the two
    differ by a factor of 2; the scorecard and reproduce now read the same frame."""
    from cohort import load_cohort
    from cohort.spec import registered_studies
    from cohort.studies.subjects import subject_frame

    entry = next(e for e in registered_studies() if e.id == "lu2021")
    frame = subject_frame(load_cohort(entry.cohort_path))
    treated = frame[frame["n_infusions"] > 0]
    assert (treated["n_infusions"] == 2).all()
    np.testing.assert_allclose(treated["cumulative_dose_cells_total"],
                               2 * treated["dose_cells_total"])
    assert treated["dose_cells_total"].median() == pytest.approx(96.3e6, rel=0.01)

"""The one number formatter: hand-derived cases and a property of p-values and intervals."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.analysis.format import (
    decimals_for,
    format_ci,
    format_count,
    format_estimate_ci,
    format_number,
    format_p,
    json_number,
)
from cohort.analysis.result import json_safe


@pytest.mark.parametrize(("p", "text"), [
    (1.595e-06, "<0.001"), (0.0009999, "<0.001"), (0.001, "0.00100"), (0.0374, "0.0374"),
    (0.0996, "0.0996"), (0.09996, "0.100"), (0.123456, "0.123"), (0.4613, "0.461"),
    (0.99996, "1.00"), (1.0, "1.00"), (0.0, "<0.001"), (math.nan, "NA"), (None, "NA"),
])
def test_p_values_print_as_journals_print_them(p, text) -> None:
    assert format_p(p) == text


def test_a_p_value_outside_0_1_is_a_bug_not_a_number_to_print() -> None:
    with pytest.raises(ValueError, match=r"1\.5"):
        format_p(1.5)


def test_intervals_use_to_not_hyphens() -> None:
    assert format_ci(-1.969, -0.558, 2) == "(-1.97 to -0.56)"
    assert format_estimate_ci(-1.2634, -1.969, -0.558, 2) == "-1.26 (-1.97 to -0.56)"
    assert format_estimate_ci(3.4, math.nan, math.nan, 1) == "3.4"
    assert format_ci(0.0273, math.inf, 2) == "(0.03 to Inf)"


@pytest.mark.parametrize(("count", "n", "text"), [
    (3, 14, "3 (21%)"), (0, 14, "0 (0%)"), (14, 14, "14 (100%)"), (1, 400, "1 (0.2%)"),
    (1, 3000, "1 (<0.1%)"), (5, 0, "5 (NA)"), (2, 3, "2 (67%)"),
])
def test_counts_with_percentages_at_the_precision_of_n(count, n, text) -> None:
    assert format_count(count, n) == text


def test_decimals_follow_the_unit_then_the_magnitude() -> None:
    assert decimals_for(unit="%") == 2            # a mean of HbA1c measured to 0.1 %
    assert decimals_for(unit="mmol/mol", statistic=False) == 0
    assert decimals_for(unit="nmol/L") == 3
    assert decimals_for([3.4, 9.2, 17.3]) == 2    # typical 9.2: three significant digits
    assert decimals_for([0.067, 0.2, 0.33]) == 3
    assert decimals_for([120.0, 346.0]) == 0
    assert decimals_for([math.nan, math.inf]) == 2


def test_rounding_never_prints_negative_zero_and_specials_stay_apart() -> None:
    assert format_number(-0.004, 2) == "0.00"
    assert format_number(-math.inf, 1) == "-Inf"
    assert format_number(None, 1) == "NA"


def test_json_keeps_infinite_apart_from_missing() -> None:
    doc = json_safe({"or": math.inf, "lo": -math.inf, "p": math.nan, "n": 3})
    assert doc == {"or": "Inf", "lo": "-Inf", "p": None, "n": 3}
    json.dumps(doc, allow_nan=False)
    assert json_number(float("nan")) is None


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.floats(min_value=0, max_value=1))
def test_a_printed_p_value_reads_back_within_its_rounding(p: float) -> None:
    text = format_p(p)
    if text.startswith("<"):
        assert p < 0.001
        return
    back = float(text)
    decimals = len(text.split(".")[1]) if "." in text else 0
    assert abs(back - p) <= 0.5 * 10.0 ** -decimals + 1e-12
    # three significant digits: the last printed digit is the third one after the leading zeros
    assert len(text.replace(".", "").lstrip("0")) == 3


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.integers(0, 4))
def test_an_interval_splits_back_into_its_two_ends(a: float, b: float, d: int) -> None:
    lo, hi = min(a, b), max(a, b)
    text = format_ci(lo, hi, d)
    assert text.startswith("(") and text.endswith(")")
    left, right = text[1:-1].split(" to ")
    assert abs(float(left) - lo) <= 0.5 * 10.0 ** -d + 1e-9 * abs(lo)
    assert abs(float(right) - hi) <= 0.5 * 10.0 ** -d + 1e-9 * abs(hi)

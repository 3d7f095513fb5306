"""`reproduce` against base R on frozen copies of four synthetic cohorts.

tests/fixtures/reproduce/reproduce.R recomputes each published analysis in R (lm, t.test,
fisher.test, binom.test) from the CSV files next to it and prints the numbers at 17
significant digits to reproduce_r.csv. Here the same folders go through `reproduce(study,
data=FOLDER)`, the user-data path. Closed-form statistics (t, F, lm) are compared at rtol 1e-9;
Fisher's p and the Clopper-Pearson limits at 1e-7 (hypergeometric sums and beta quantiles by
different code). R's conditional MLE odds ratio of fisher.test is a uniroot with the default
tolerance .Machine$double.eps^0.25 = 1.2e-4, so it is only that precise and compared at that.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cohort.studies import reproduce

FIXTURES = Path(__file__).parent / "fixtures" / "reproduce"
R = pd.read_csv(FIXTURES / "reproduce_r.csv")
STUDIES = ["skyler2015", "matsuoka2025", "lu2021", "nguyen2021"]
COLUMN = {"estimate": "reproduced_value", "ci_lower": "ci_lower", "ci_upper": "ci_upper",
          "p": "p"}
ROOT_FOUND = {("remission_rate_msc", "ci_lower"), ("remission_rate_msc", "ci_upper"),
              ("remission_vs_control", "p"), ("responders_fisher", "p")}
UNIROOT = {("remission_vs_control", "estimate")}


@pytest.fixture(scope="module")
def results() -> dict[str, pd.DataFrame]:
    return {s: reproduce(s, data=FIXTURES / s).summary.set_index("target") for s in STUDIES}


def test_every_r_number_is_checked(results):
    known = set().union(*(set(r.index) for r in results.values()))
    assert set(R["target"]) <= known


@pytest.mark.parametrize("row", R[R["quantity"] != "n"].to_dict("records"),
                         ids=lambda r: f"{r['target']}-{r['quantity']}")
def test_reproduced_numbers_match_R(results, row):
    study = next(s for s, r in results.items() if row["target"] in r.index)
    got = results[study].loc[row["target"], COLUMN[row["quantity"]]]
    key = (row["target"], row["quantity"])
    if key in UNIROOT:
        assert got == pytest.approx(row["value"], abs=1.3e-4)
        return
    rtol = 1e-7 if key in ROOT_FOUND else 1e-9
    assert got == pytest.approx(row["value"], rel=rtol, abs=1e-12)

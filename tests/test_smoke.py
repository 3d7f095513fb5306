"""The example cohort loads, in both pandera backends, with its unit conversions."""

import numpy as np
import pytest

import cohort


@pytest.mark.parametrize("engine", ["native", "pandas", "polars"])
def test_example_is_valid(example_dir, engine):
    report = cohort.validate(example_dir, engine=engine)
    assert report.valid, report.findings.to_string()
    assert report.exit_code == 0
    assert report.engine == engine


def test_example_loads_with_canonical_units(example_dir):
    c = cohort.load_cohort(example_dir)
    m = c.measurements
    # S02 HbA1c 68 mmol/mol -> 68 / 10.929 + 2.15 = 8.372 %
    s02 = m[(m.subject_id == "S02") & (m.param == "HBA1C")].sort_values("day")
    assert s02["unit"].unique().tolist() == ["%"]
    np.testing.assert_allclose(s02["value"].iloc[0], 68 / 10.929 + 2.15, rtol=1e-12)
    # S04 insulin 34.8 IU/day at 58.0 kg -> 0.6 IU/kg/day
    s04 = m[(m.subject_id == "S04") & (m.param == "INSULIN_DOSE")].sort_values("day")
    np.testing.assert_allclose(s04["value"].iloc[0], 34.8 / 58.0, rtol=1e-12)
    assert set(c.conversions["from_unit"]) == {"mmol/mol", "pmol/L", "IU/day"}
    assert c.source_of("measurements", 0) == ("measurements.csv", 2)

"""Cells padded with any whitespace (Excel exports add no-break spaces) are read trimmed."""

import cohort


def test_no_break_space_around_a_subject_id_is_trimmed(example_copy):
    path = example_copy / "measurements.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    # line 2 is the first record: a no-break space after its subject id
    first = lines[1].split(",")
    first[0] = f"{first[0]}\u00a0"
    lines[1] = ",".join(first)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for engine in ("pandas", "polars"):
        report = cohort.validate(example_copy, engine=engine)
        assert report.valid, report.findings.to_string()

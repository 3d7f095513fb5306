"""Population selection on raw tables: the subjects a flag selects, with all their records."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.findings import Findings
from cohort.io.mapping import Mapping
from cohort.io.population import select_population
from cohort.io.read import RawTable

MAPPING = Mapping.model_validate({"tables": {
    "subjects": {"columns": {"USUBJID": "subject_id"}},
    "measurements": {"columns": {"USUBJID": "subject_id"}}}})
FLAGS = st.sampled_from(["Y", "N", "", None, " y ", "yes", "TRUE", "1", "0", "n"])


def _raw(name: str, frame: pl.DataFrame) -> RawTable:
    return RawTable(name, frame.with_columns(pl.lit(f"{name}.csv").alias("__file"),
                                             (pl.int_range(pl.len()) + 2).alias("__line")), [])


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.lists(FLAGS, min_size=1, max_size=12),
       st.lists(st.integers(0, 20), max_size=40))
def test_selection_keeps_exactly_the_flagged_subjects(flags, rows):
    ids = [f"S{i:02d}" for i in range(len(flags))]
    subjects = pl.DataFrame({"USUBJID": ids, "ITTFL": flags}, schema={"USUBJID": pl.String,
                                                                      "ITTFL": pl.String})
    # measurement rows for known subjects and for an unknown one (S99 stays: not ours to drop)
    owners = [ids[r % len(ids)] if r < 20 else "S99" for r in rows]
    meas = pl.DataFrame({"USUBJID": owners, "AVAL": list(range(len(owners)))},
                        schema={"USUBJID": pl.String, "AVAL": pl.Int64})
    findings = Findings()
    out = select_population({"subjects": _raw("subjects", subjects),
                             "measurements": _raw("measurements", meas)}, MAPPING, ["itt"],
                            findings, required={"subjects", "measurements"})
    inside = {i for i, f in zip(ids, flags, strict=True)
              if f is not None and f.strip().upper() in ("Y", "YES", "TRUE", "1")}
    assert set(out["subjects"].frame["USUBJID"]) == inside
    kept = out["measurements"].frame
    assert kept["USUBJID"].to_list() == [o for o in owners if o in inside or o == "S99"]
    # provenance survives: each kept row keeps its own line
    assert kept["__line"].to_list() == [i + 2 for i, o in enumerate(owners)
                                        if o in inside or o == "S99"]
    f = findings.frame()
    removed = {r["table"]: int(r["value"]) for r in f.filter(
        (pl.col("rule") == "population") & (pl.col("severity") == "warning")).to_dicts()}
    assert removed.get("subjects", 0) == len(ids) - len(inside)
    assert removed.get("measurements", 0) == len(owners) - kept.height
    emptied = f.filter(pl.col("severity") == "error")["table"].to_list()
    assert emptied == (["subjects"] if not inside else []) + (
        ["measurements"] if owners and not kept.height else [])


def test_population_on_any_cohort_through_a_declared_extra(example_copy):
    import csv

    import cohort

    path = example_copy / "subjects.csv"
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows[0].append("itt")
    for i, row in enumerate(rows[1:]):
        row.append("N" if i % 4 == 0 else "Y")
    with path.open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    mapping = example_copy / "mapping.yaml"
    mapping.write_text("extras:\n  subjects:\n    itt: {type: string, allowed: [Y, N]}\n")
    out = [r[0] for r in rows[1:] if r[-1] == "N"]
    c = cohort.load_cohort(example_copy, mapping=mapping, population=["itt"])
    assert len(c.subjects) == len(rows) - 1 - len(out)
    for name, table in c.tables.items():
        if "subject_id" in table:
            assert not set(out) & set(table["subject_id"]), name
    w = c.warnings[c.warnings["rule"] == "population"]
    assert w.loc[w["table"] == "subjects", "value"].tolist() == [str(len(out))]

"""Each row of a loaded cohort knows its file and line, without a string object per row."""

from __future__ import annotations

import numpy as np
import polars as pl

import cohort
from cohort.validation.pipeline import _file_names


def test_rows_carry_their_file_and_line(example_dir):
    loaded = cohort.load_cohort(example_dir)
    for table, frame in loaded.tables.items():
        prov = loaded.provenance[table]
        assert len(prov.file) == len(prov.line) == len(frame)
        if len(frame):
            assert set(prov.file) == {f"{table}.csv"}
            # CSV line of each row: the header is line 1
            assert sorted(prov.line) == list(range(2, len(frame) + 2))


def test_file_names_share_one_string_per_file():
    files = pl.Series(["b.csv", "a.csv", "b.csv", "a.csv", "b.csv"], dtype=pl.Categorical)
    names = _file_names(files)
    assert names.dtype == object
    assert names.tolist() == files.cast(pl.String).to_list()
    # 10M rows of one file: one string object, not 10M (0.7 GiB)
    assert len({id(n) for n in names}) == 2


def test_file_names_with_a_missing_name_keep_it_missing():
    names = _file_names(pl.Series(["a.csv", None], dtype=pl.String))
    assert names[0] == "a.csv" and names[1] is None
    assert _file_names(pl.Series([], dtype=pl.Categorical)).tolist() == []
    assert isinstance(names, np.ndarray)

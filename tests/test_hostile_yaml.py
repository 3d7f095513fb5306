"""Every YAML read (mappings, specs, model files, the contract) goes through one safe loader:
bounded size, depth and alias expansion, plain types only, never a blocking read."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohort.errors import CohortError, MappingError, SpecError
from cohort.io import yaml_safe
from cohort.io.mapping import read_mapping
from cohort.io.yaml_safe import MAX_DEPTH, MAX_NODES, load_yaml_file, load_yaml_text


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "tables:\n  subjects:\n    constants:\n" + "".join(f"      {x}\n" for x in lines)


def test_billion_laughs_refused_fast_naming_the_limit(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(MappingError, match=rf"expands to more than {MAX_NODES:,} YAML nodes "
                                           r".*MAX_NODES.*billion laughs"):
        read_mapping(path)
    assert time.perf_counter() - start < 0.5


def test_small_alias_use_is_fine():
    # the bundled specs share blocks with anchors and merge keys
    doc = load_yaml_text("a: &x {k: 1, j: [1, 2]}\nb:\n  <<: *x\n  j: 3\nc: *x\n")
    assert doc == {"a": {"k": 1, "j": [1, 2]}, "b": {"k": 1, "j": 3}, "c": {"k": 1, "j": [1, 2]}}


def test_alias_expansion_counts_nested_aliases():
    # 3 levels of 10 aliases: 1 + 10 + 100 + 1000 scalars... under the budget, exact count
    text = "a: &a [1,2,3,4,5,6,7,8,9,0]\nb: &b [" + ",".join(["*a"] * 10) + "]\n"
    assert len(load_yaml_text(text)["b"]) == 10
    too_many = "a: &a [" + ",".join(["x"] * 1000) + "]\nb: [" + ",".join(["*a"] * 300) + "]\n"
    with pytest.raises(CohortError, match="MAX_NODES"):
        load_yaml_text(too_many)


def test_deep_nesting_refused():
    with pytest.raises(CohortError, match=rf"nested more than {MAX_DEPTH} levels deep "
                                          r"\(line 1, column \d+\)"):
        load_yaml_text("x: " + "[" * 10_000 + "]" * 10_000)
    assert load_yaml_text("x: " + "[" * 10 + "]" * 10) == {"x": [[[[[[[[[[]]]]]]]]]]}


@pytest.mark.parametrize("text, tag", [
    ("x: !!python/object/apply:os.system [ls]", "python/object/apply"),
    ("x: !!binary aGVsbG8=", "binary"),
    ("x: !!set {a, b}", "set"),
    ("x: !custom 1", "!custom"),
    ("x: !!timestamp 2020-01-01", "timestamp"),
])
def test_tags_beyond_plain_types_refused(text, tag):
    with pytest.raises(CohortError, match=rf"tag .*{tag}.* is not allowed; only plain YAML"):
        load_yaml_text(text)


def test_plain_explicit_tags_allowed():
    assert load_yaml_text("x: !!str 123\ny: !!int '4'") == {"x": "123", "y": 4}


def test_more_than_one_document_refused():
    with pytest.raises(CohortError, match="more than one YAML document"):
        load_yaml_text("a: 1\n---\nb: 2\n")


def test_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 2000 + "\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"2,004 bytes; the limit is 1,000 bytes"):
        load_yaml_file(path, what="study spec", error=SpecError, max_bytes=1000)


@pytest.mark.parametrize("encoding, named", [("utf-16", "UTF-16"), ("utf-32", "UTF-32"),
                                             ("utf-16-le", "UTF-16 or UTF-32")])
def test_utf16_and_utf32_named(tmp_path, encoding, named):
    path = tmp_path / "m.yaml"
    path.write_bytes("tables: {}\n".encode(encoding))
    with pytest.raises(MappingError, match=rf"{named}"):
        read_mapping(path)


def test_latin1_names_line_and_column(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_bytes("ignore: [notes]\ncsv: {encoding: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(MappingError, match=r"not UTF-8 text: byte 0xe9 at line 2, column 20"):
        read_mapping(path)


def test_utf8_bom_accepted(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_bytes(b"\xef\xbb\xbfignore: [notes]\n")
    assert read_mapping(path).ignore == ["notes"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
@pytest.mark.parametrize("reader", ["mapping", "spec", "model"])
def test_fifo_refused_without_blocking(tmp_path, reader):
    from cohort.analysis.external import load_model
    from cohort.synth.spec import load_spec

    fifo = tmp_path / "in.yaml"
    os.mkfifo(fifo)
    read = {"mapping": read_mapping, "spec": load_spec, "model": load_model}[reader]
    start = time.perf_counter()
    with pytest.raises(CohortError, match=r"is a FIFO \(named pipe\), not a regular file"):
        read(fifo)
    assert time.perf_counter() - start < 1


@pytest.mark.parametrize("target, match", [
    ("/dev/zero", "is a character device, not a regular file"),
    ("loop", "is a symbolic link loop"),
    ("dir", "is a folder, not a regular file"),
])
def test_special_files_refused(tmp_path, target, match):
    link = tmp_path / "m.yaml"
    if target == "loop":
        os.symlink(tmp_path / "m.yaml", link)
    elif target == "dir":
        link.mkdir()
    else:
        if not Path(target).exists():
            pytest.skip(f"no {target}")
        os.symlink(target, link)
    with pytest.raises(MappingError, match=match):
        read_mapping(link)


def test_every_yaml_read_goes_through_the_safe_loader():
    # one module loads YAML; a new yaml.safe_load elsewhere would bypass the limits
    root = Path(yaml_safe.__file__).parents[1]
    offenders = []
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "yaml_safe.py" and any(
                s in text for s in ("yaml.safe_load", "yaml.load(", "yaml.parse(",
                                    "yaml.compose(", "yaml.full_load", "yaml.unsafe_load")):
            offenders.append(path.relative_to(root).as_posix())
    assert offenders == []


def test_latin1_model_file_is_a_spec_error(tmp_path):
    from cohort.analysis.external import load_model

    path = tmp_path / "model.yaml"
    path.write_bytes("name: mod\xe8le\nintercept: 1\npredictors: {}\n".encode("latin-1"))
    with pytest.raises(SpecError, match=r"model file .* is not UTF-8 text: byte 0xe8 at line 1"):
        load_model(path)


@settings(max_examples=120, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#\n ,?.1")), max_size=120))
def test_fuzz_yaml_text_never_crashes(text):
    with contextlib.suppress(CohortError):
        load_yaml_text(text)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=200))
def test_fuzz_mapping_reader_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "m.yaml"
    path.write_bytes(data)
    with contextlib.suppress(MappingError):
        read_mapping(path)


_KEYS = st.sampled_from(["tables", "csv", "ignore", "study_days", "subjects", "columns",
                         "recode", "keep", "constants", "derive", "file", "extends", "x"])
_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5), _KEYS)
_TREE = st.recursive(_LEAF, lambda c: st.lists(c, max_size=3)
                     | st.dictionaries(_KEYS, c, max_size=3), max_leaves=12)


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(_KEYS, _TREE, max_size=4))
def test_fuzz_mapping_structure(tmp_path_factory, doc):
    import yaml

    path = tmp_path_factory.mktemp("fuzz") / "m.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with contextlib.suppress(MappingError):
        read_mapping(path)

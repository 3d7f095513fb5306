"""Outputs never destroy a user's files: no write into a foreign folder or over an input, atomic
writes that leave nothing behind when the disk is full or read-only."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cohort.cli.app import app
from cohort.io import write as write_mod
from cohort.io.outputs import MANIFEST, OutputError, check_output_file, check_output_folder
from cohort.io.write import atomic_write_bytes, write_folder_atomically, write_output_folder

EXAMPLE = Path(__file__).parent / "data" / "example"


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def snapshot(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def user_folder(tmp_path) -> Path:
    folder = tmp_path / "my_cohort"
    folder.mkdir()
    (folder / "subjects.csv").write_text("subject_id\nMINE-1\n", encoding="utf-8")
    (folder / "mapping.yaml").write_text("ignore: []\n", encoding="utf-8")
    (folder / "notes.txt").write_text("my notes\n", encoding="utf-8")
    return folder


def test_synth_refuses_a_users_folder(user_folder):
    before = snapshot(user_folder)
    res = run("synth", "lu2021", "--out", str(user_folder), "--n", "10")
    assert res.exit_code == 2, res.output
    assert "is not empty and is not a cohort folder written by cohort" in res.output
    assert "--overwrite" in res.output
    assert snapshot(user_folder) == before


def test_synth_replaces_its_own_output_but_not_added_or_edited_files(tmp_path):
    out = tmp_path / "synth"
    assert run("synth", "lu2021", "--out", str(out), "--n", "10").exit_code == 0
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["kind"] == "cohort" and "subjects.csv" in manifest["files"]
    assert manifest["command"].startswith("cohort synth lu2021")
    assert run("synth", "lu2021", "--out", str(out), "--n", "12").exit_code == 0  # own output

    (out / "notes.txt").write_text("added by hand\n", encoding="utf-8")
    res = run("synth", "lu2021", "--out", str(out), "--n", "10")
    assert res.exit_code == 2 and "holds files cohort did not write (notes.txt)" in res.output
    (out / "notes.txt").unlink()

    with open(out / "subjects.csv", "a", encoding="utf-8") as fh:
        fh.write("edited\n")
    res = run("synth", "lu2021", "--out", str(out), "--n", "10")
    assert res.exit_code == 2 and "subjects.csv changed since cohort wrote it" in res.output

    assert run("synth", "lu2021", "--out", str(out), "--n", "10", "--overwrite").exit_code == 0
    assert "edited" not in (out / "subjects.csv").read_text(encoding="utf-8")


def test_overwrite_replaces_a_foreign_folder(user_folder):
    res = run("synth", "lu2021", "--out", str(user_folder), "--n", "10", "--overwrite")
    assert res.exit_code == 0, res.output
    assert not (user_folder / "notes.txt").exists()
    assert (user_folder / MANIFEST).is_file()


def test_report_never_writes_over_an_input(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    before = snapshot(data)
    for extra in ([], ["--overwrite"]):
        res = run("report", str(data), "--out", str(data / "subjects.csv"), *extra)
        assert res.exit_code == 2, res.output
        assert "is an input of this run" in res.output
    mapping = tmp_path / "m.yaml"
    mapping.write_text("ignore: []\n", encoding="utf-8")
    res = run("report", str(data), "--mapping", str(mapping), "--out", str(mapping))
    assert res.exit_code == 2 and "is an input of this run" in res.output
    assert snapshot(data) == before


def test_reproduce_never_replaces_its_data_folder(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    before = snapshot(data)
    res = run("reproduce", "lu2021", "--data", str(data), "--out", str(tmp_path), "--overwrite")
    assert res.exit_code == 2 and f"holds {data}, which is an input of this run" in res.output
    assert snapshot(data) == before


def test_file_outputs_replace_only_their_own_kind(tmp_path):
    notes = tmp_path / "report.html"
    notes.write_text("<p>my own page</p>", encoding="utf-8")
    with pytest.raises(OutputError, match=r"exists and is not an HTML report written by cohort; "
                                          r"give --overwrite"):
        check_output_file(notes, kind="html")
    check_output_file(notes, kind="html", overwrite=True)
    notes.write_text('<html><head><meta name="generator" content="cohort"></head>',
                     encoding="utf-8")
    check_output_file(notes, kind="html")

    md = tmp_path / "dict.md"
    md.write_text("# my dictionary\n", encoding="utf-8")
    res = run("dictionary", "--out", str(md))
    assert res.exit_code == 2 and "is not a data dictionary written by cohort" in res.output
    assert md.read_text(encoding="utf-8") == "# my dictionary\n"
    md.unlink()
    assert run("dictionary", "--out", str(md)).exit_code == 0
    assert run("dictionary", "--out", str(md)).exit_code == 0  # its own output: replaced


@pytest.mark.parametrize("command", [
    ["synth", "lu2021", "--n", "10", "--out"],
    ["dictionary", "--out"],
    ["reproduce", "lu2021", "--out"],
])
def test_out_whose_parent_is_a_file(tmp_path, command):
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    res = run(*command, str(afile / "sub" / "out.x"))
    assert res.exit_code == 2, res.output
    assert f"{afile} is a regular file, not a folder" in res.output
    assert afile.read_text(encoding="utf-8") == "x"


def test_out_that_is_a_file_or_special(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="exists and is a regular file; the output must be a "
                                          "folder"):
        check_output_folder(afile, kind="cohort")
    with pytest.raises(OutputError, match="is a character device, not a regular file"):
        check_output_file("/dev/null", kind="figure")
    loop = tmp_path / "loop.png"
    os.symlink(loop, loop)
    with pytest.raises(OutputError, match="symbolic link loop"):
        check_output_file(loop, kind="figure")


def test_home_and_current_folder_never_replaced(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.txt").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="home folder, the root or the current folder"):
        check_output_folder(tmp_path, kind="cohort", overwrite=True)
    with pytest.raises(OutputError, match="home folder, the root or the current folder"):
        check_output_folder(tmp_path.parent, kind="cohort", overwrite=True)


def _failing(err: int):
    def fsync(fd: int) -> None:
        raise OSError(err, os.strerror(err))
    return fsync


@pytest.mark.parametrize("err, text", [(errno.ENOSPC, "No space left on device"),
                                       (errno.EROFS, "Read-only file system")])
def test_full_or_read_only_disk_leaves_nothing(tmp_path, monkeypatch, err, text):
    monkeypatch.setattr(write_mod.os, "fsync", _failing(err))
    target = tmp_path / "new" / "deeper" / "figure.png"
    with pytest.raises(OutputError, match=rf"cannot write .*figure.png: {text}"):
        atomic_write_bytes(target, b"png")
    assert list(tmp_path.iterdir()) == []  # no temporary file, no created folder

    def fill(folder: Path) -> None:
        (folder / "a.csv").write_bytes(b"a\n")
        raise OSError(err, os.strerror(err))

    with pytest.raises(OutputError, match=rf"cannot write .*out: {text}"):
        write_folder_atomically(tmp_path / "made" / "out", fill)
    assert list(tmp_path.iterdir()) == []


def test_failed_folder_write_keeps_the_previous_output(tmp_path):
    out = tmp_path / "out"
    write_output_folder(out, lambda d: (d / "a.csv").write_text("1\n", encoding="utf-8"),
                        kind="cohort")
    before = snapshot(out)

    def fill(folder: Path) -> None:
        (folder / "a.csv").write_text("2\n", encoding="utf-8")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OutputError, match="No space left on device"):
        write_output_folder(out, fill, kind="cohort")
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_cli_full_disk_is_exit_2_and_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(write_mod.os, "fsync", _failing(errno.ENOSPC))
    real_write_text = Path.write_text

    def full(self, *a, **k):
        if self.name == "reproduce.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write_text(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    res = run("reproduce", "lu2021", "--out", str(tmp_path / "rep"))
    assert res.exit_code == 2, res.output
    assert "No space left on device" in res.output
    assert list(tmp_path.iterdir()) == []


def test_plot_replaces_its_own_figure_only(tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(EXAMPLE, data)
    before = snapshot(data)
    plot = tmp_path / "km.png"
    args = ["analyze", "survival", str(data), "--format", "json", "--plot"]
    assert run(*args, str(plot)).exit_code == 0
    assert run(*args, str(plot)).exit_code == 0          # its own figure: replaced
    notes = tmp_path / "notes.png"
    notes.write_bytes(b"not a figure")
    res = run(*args, str(notes))
    assert res.exit_code == 2 and "is not a figure written by cohort" in res.output
    assert notes.read_bytes() == b"not a figure"
    assert run(*args, str(notes), "--overwrite").exit_code == 0
    res = run(*args, str(tmp_path / "afile" / "km.png"))
    assert res.exit_code == 0  # a new folder is made
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    res = run(*args, str(tmp_path / "plain" / "km.png"))
    assert res.exit_code == 2 and "is a regular file, not a folder" in res.output
    assert snapshot(data) == before


def test_plot_on_a_full_disk_is_exit_2(tmp_path, monkeypatch):
    monkeypatch.setattr(write_mod.os, "fsync", _failing(errno.ENOSPC))
    res = run("analyze", "survival", str(EXAMPLE), "--format", "json", "--plot",
              str(tmp_path / "new" / "km.png"))
    assert res.exit_code == 2, res.output
    assert "No space left on device" in res.output
    assert list(tmp_path.iterdir()) == []


def test_huge_synthetic_cohort_is_refused_before_any_work():
    res = run("synth", "lu2021", "--n", "1000000000", "--check")
    assert res.exit_code == 2
    assert "the limit is MAX_SUBJECTS = 20,000,000" in res.output

"""Nothing lost: every --out is checked before work starts (a non-empty folder refused unless --force,
a file refused where a folder belongs, an unwritable path at once), and outputs are published without
deleting anything that was there."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from cli_support import run_cli as run
from pymargin.errors import UserError
from pymargin.fsutil import check_out_dir, check_out_file, staged_out_dir

SMALL_DEMO = ["--accounts", "8", "--steps", "2", "--batch-log2", "3", "--workers", "1"]


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder no file can be created in (read-only sysfs for root, whom permissions do not stop)."""
    if os.geteuid() == 0:
        if not Path("/sys").is_dir():
            pytest.skip("no read-only folder for root on this system")
        yield Path("/sys")
        return
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    yield folder
    folder.chmod(0o700)


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ the helper, case by case

def test_new_nested_folder_is_accepted_and_nothing_created(tmp_path):
    target = tmp_path / "a" / "b"
    assert check_out_dir(target) == target
    assert list(tmp_path.iterdir()) == []


def test_empty_folder_is_accepted(tmp_path):
    assert check_out_dir(tmp_path) == tmp_path
    assert list(tmp_path.iterdir()) == []


def test_non_empty_folder_is_refused_unless_force(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="is not empty: .*--force"):
        check_out_dir(tmp_path)
    assert check_out_dir(tmp_path, force=True) == tmp_path
    assert check_out_dir(tmp_path, existing_ok=True) == tmp_path
    assert _tree(tmp_path) == {"keep.txt": b"mine"}


def test_file_is_refused_as_a_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        check_out_dir(tmp_path / "f", force=True)
    with pytest.raises(UserError, match="is a file, not a folder"):
        check_out_dir(tmp_path / "f" / "sub")


def test_unwritable_folder_fails_at_once(unwritable):
    with pytest.raises(UserError, match="cannot write in"):
        check_out_dir(unwritable / "out")
    with pytest.raises(UserError, match="cannot write in"):
        check_out_file(unwritable / "out.json")


def test_out_file_cases(tmp_path):
    assert check_out_file(tmp_path / "new" / "p.json") == tmp_path / "new" / "p.json"
    with pytest.raises(UserError, match="is a folder, not a file"):
        check_out_file(tmp_path, force=True)
    (tmp_path / "p.json").write_text("old")
    with pytest.raises(UserError, match="exists: .*--force"):
        check_out_file(tmp_path / "p.json")
    assert check_out_file(tmp_path / "p.json", force=True) == tmp_path / "p.json"
    assert (tmp_path / "p.json").read_text() == "old"


def test_publishing_into_a_non_empty_folder_deletes_nothing(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    (tmp_path / "report.html").write_text("old report")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.json").write_text("{}")
    with staged_out_dir(tmp_path, force=True) as work:
        (work / "report.html").write_text("new report")
        (work / "sub").mkdir()
        (work / "sub" / "proof.json").write_text("[]")
    assert _tree(tmp_path) == {"keep.txt": b"mine", "report.html": b"new report",
                               "sub/other.json": b"{}", "sub/proof.json": b"[]"}


def test_a_failed_command_publishes_nothing_and_leaves_no_staging(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(RuntimeError):
        with staged_out_dir(tmp_path, force=True) as work:
            (work / "half.json").write_text("{")
            raise RuntimeError("interrupted")
    assert _tree(tmp_path) == {"keep.txt": b"mine"} and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    new = tmp_path / "new"
    with pytest.raises(RuntimeError):
        with staged_out_dir(new) as work:
            raise RuntimeError("interrupted")
    assert not new.exists() and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


# ------------------------------------------------------------------ every command with an --out

def _fails_fast(capsys, *argv: str, message: str) -> None:
    started = time.perf_counter()
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.startswith("pymargin: error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert time.perf_counter() - started < 5, "refused before any work"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A non-empty working folder: the user's files that no command may delete."""
    (tmp_path / "notes.txt").write_text("the user's notes")
    (tmp_path / "a-file").write_text("x")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("argv, message", [
    (["demo", "--out", "."], "is not empty"),
    (["demo", "--out", "a-file"], "is a file, not a folder"),
    (["demo", "--out", "a-file/sub"], "is a file, not a folder"),
    (["commit", "book.json", "--epoch", "1", "--out", "."], "is not empty"),
    (["commit", "book.json", "--epoch", "1", "--out", "a-file"], "is a file, not a folder"),
    (["prove", "book.json", "--epoch", "1", "--depth", "3", "--chain-id", "1", "--registry", "0x1", "--out", "."], "is a folder, not a file"),
    (["prove", "book.json", "--epoch", "1", "--depth", "3", "--chain-id", "1", "--registry", "0x1", "--out", "a-file"], "exists: choose a new file name"),
    (["risk", "calibrate", "btc", "--out", "."], "is not empty"),
    (["risk", "calibrate", "btc", "--deploy-out", "a-file"], "exists: choose a new file name"),
    (["risk", "calibrate", "btc", "--config-out", "."], "is a folder, not a file"),
    (["risk", "backtest", "btc", "--out", "a-file"], "is a file, not a folder"),
    (["risk", "dynamic", "btc", "--out", "."], "is not empty"),
    (["risk", "scenario", "-p", "btc:1", "--out", "."], "is not empty"),
    (["risk", "benchmark", "-p", "btc:1", "--out", "a-file"], "is a file, not a folder"),
    (["risk", "margin-call", "btc", "--size", "1", "--start", "2020-02-20", "--out", "."], "is not empty"),
    (["risk", "mining", "--out", "a-file"], "is a file, not a folder"),
    (["compile", "--out", "a-file"], "is a file, not a folder"),
    (["deploy", "--config", "deploy.json", "--deployments", "a-file"], "is a file, not a folder"),
])
def test_every_out_is_checked_before_work(capsys, workdir, argv, message):
    (workdir / "book.json").write_text("{}")
    (workdir / "deploy.json").write_text(json.dumps({"chain_id": 31337, "contracts": {}}))
    before = _tree(workdir)
    _fails_fast(capsys, *argv, message=message)
    assert _tree(workdir) == before, "nothing changed"


@pytest.mark.parametrize("argv", [
    ["demo", "--out", "{ro}/demo"],
    ["commit", "book.json", "--epoch", "1", "--out", "{ro}/c"],
    ["risk", "mining", "--out", "{ro}/r"],
])
def test_unwritable_out_fails_at_once(capsys, workdir, unwritable, argv):
    (workdir / "book.json").write_text("{}")
    _fails_fast(capsys, *[a.format(ro=unwritable) for a in argv], message="cannot write in")


def test_demo_out_dot_with_force_keeps_every_file(capsys, workdir):
    code, out, err = run(capsys, "--json", "demo", *SMALL_DEMO, "--out", ".", "--force")
    assert code == 0, err
    assert (workdir / "notes.txt").read_text() == "the user's notes" and (workdir / "a-file").read_text() == "x"
    assert (workdir / "report.html").is_file() and (workdir / "summary.json").is_file()
    assert not [p for p in workdir.iterdir() if p.name.startswith(".")], "no staging folder left behind"

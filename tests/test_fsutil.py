"""Atomic writes (whole file or nothing, usual permissions) and JSON reads with one-line errors."""

from __future__ import annotations

import os

import pytest

from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_bytes, atomic_write_text, read_json


def test_write_replaces_whole_file_with_umask_permissions(tmp_path):
    path = tmp_path / "sub" / "out.json"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in path.parent.iterdir()] == ["out.json"]


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"
    atomic_write_bytes(path, b"old")

    def boom(*_args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


class ConfigProblem(UserError):
    """Stands for a caller's own error type."""


def test_read_json_names_the_file_and_the_problem(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"a": [1, 2]}')
    assert read_json(good, "config") == {"a": [1, 2]}
    with pytest.raises(ConfigProblem, match=f"^deploy config {tmp_path / 'none.json'} not found$"):
        read_json(tmp_path / "none.json", "deploy config", ConfigProblem)
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "a": 1,\n}')
    with pytest.raises(UserError, match="bad.json: malformed JSON at line 3 column 1: "):
        read_json(bad, "config")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UserError, match="cannot read config .*bin.json"):
        read_json(binary, "config")
    with pytest.raises(UserError, match="cannot read config"):
        read_json(tmp_path, "config")  # a folder

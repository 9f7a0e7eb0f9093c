"""Finding the pinned node tools: a checkout's node_modules, $PYMARGIN_NODE_MODULES, or the per-user
cache (installed on first use, which needs npm; its absence is one clear error)."""

from __future__ import annotations

import pytest

from pymargin import tools


@pytest.fixture
def outside_checkout(tmp_path, monkeypatch):
    """As an installed wheel sees things: no checkout, an empty working folder, an empty cache."""
    monkeypatch.setattr(tools, "IS_CHECKOUT", False)
    monkeypatch.delenv("PYMARGIN_NODE_MODULES", raising=False)
    monkeypatch.setenv("PYMARGIN_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    tools.node_modules.cache_clear()
    yield tmp_path
    tools.node_modules.cache_clear()


def test_user_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv("PYMARGIN_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert tools.user_cache() == tmp_path / "xdg" / "pymargin"
    monkeypatch.setenv("PYMARGIN_HOME", str(tmp_path / "home"))
    assert tools.user_cache() == tmp_path / "home"
    assert tools.cached_node_modules().parent.parent == tmp_path / "home" / "node"


def test_env_folder_is_used_first(outside_checkout, monkeypatch):
    real = tools.REPO_ROOT / "node_modules"
    if not (real / "solc" / "package.json").is_file():
        pytest.skip("no bootstrapped node_modules")
    monkeypatch.setenv("PYMARGIN_NODE_MODULES", str(real))
    assert tools.node_modules() == real


def test_a_half_installed_cache_is_not_used(outside_checkout, monkeypatch):
    half = tools.cached_node_modules() / "solc"
    half.mkdir(parents=True)
    (half / "package.json").write_text("{}")
    monkeypatch.setattr(tools.shutil, "which", lambda name: None)
    with pytest.raises(tools.ToolchainError, match="npm not found on PATH"):
        tools.node_modules()


def test_node_modules_in_a_parent_of_the_working_folder(outside_checkout, monkeypatch):
    found = outside_checkout / "node_modules"
    (found / "solc").mkdir(parents=True)
    (found / "solc" / "package.json").write_text("{}")
    (outside_checkout / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(outside_checkout / "deep" / "er")
    assert tools.node_modules() == found

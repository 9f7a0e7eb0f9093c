"""A real package: build the wheel, pip-install it into a fresh virtualenv, and run the toolkit from
an empty folder, as a new user would. Slow (a virtualenv's worth of dependencies, an npm install of
the pinned node tools, a circuit setup), so CI runs it as its own step (.ci/run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from pymargin.chain.compile import compile_contracts

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


def _run(cmd: list, cwd: Path, env: dict, timeout: int) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return done


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_installs_and_runs_from_an_empty_folder(tmp_path):
    compile_contracts()  # the wheel ships the compiled artifacts of the checkout's contracts
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, REPO], tmp_path, dict(os.environ), 600)
    (wheel,) = dist.glob("pymargin-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for source in [*(REPO / "contracts").rglob("*.sol"), *(REPO / "circuits").rglob("*.circom")]:
        assert f"pymargin/_assets/{source.relative_to(REPO).as_posix()}" in names, source
    assert {"pymargin/_assets/package.json", "pymargin/_assets/package-lock.json", "pymargin/__main__.py",
            "pymargin/_assets/out/MarginEngine.sol/MarginEngine.json", "pymargin/_assets/out/pymargin-build-cache.json"} <= names

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"{wheel}[fast]"], tmp_path, dict(os.environ), 1200)
    site = Path(_run([python, "-c", "import pymargin, os; print(os.path.dirname(pymargin.__file__))"], tmp_path, dict(os.environ), 60).stdout.strip())
    installed = _files(site)

    home, empty = tmp_path / "home", tmp_path / "empty"
    empty.mkdir()
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if not p.startswith(str(REPO)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYMARGIN_")} | {"PATH": path, "PYMARGIN_HOME": str(home)}

    compiled = _run([env_dir / "bin" / "pymargin", "--json", "compile"], empty, env, 1800)
    assert f"pymargin: installing the pinned node tools into {home / 'node'}" in compiled.stderr
    artifacts = {a["contract"]: a["path"] for a in json.loads(compiled.stdout)["artifacts"]}
    assert Path(artifacts["MarginEngine"]).is_relative_to(home / "out")

    demo = _run([python, "-m", "pymargin", "--json", "demo", "--accounts", "4", "--batch-log2", "2"], empty, env, 3600)
    summary = json.loads(demo.stdout)
    assert summary["ok"] is True and all(summary["verifiers"].values())
    assert sorted(p.name for p in empty.iterdir()) == ["demo-out"]
    assert (empty / "demo-out" / "report.html").is_file()
    assert _files(site) == installed, "nothing is written into the installed package"
    shutil.rmtree(home, ignore_errors=True)

"""Where the pinned node tools live (solc, anvil, forge, circom2, snarkjs, circomlib).

The tools are pinned in the repository's ``package.json``/``package-lock.json`` and installed with
``scripts/bootstrap.sh`` (npm) into ``node_modules``. This module finds that folder and the executables in it, and
turns a missing tool into one clear :class:`ToolchainError` that says what to run.
"""

from __future__ import annotations

import os
import shutil
from functools import lru_cache
from pathlib import Path

from pymargin.errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
INSTALL_HINT = "run `scripts/bootstrap.sh` (or `npm install`) in the pymargin checkout (or set PYMARGIN_NODE_MODULES to a node_modules folder)"


class ToolchainError(UserError):
    """A node tool or Node.js itself is missing."""


def _candidates() -> list[Path]:
    found = []
    env = os.environ.get("PYMARGIN_NODE_MODULES")
    if env:
        found.append(Path(env))
    found.append(REPO_ROOT / "node_modules")
    here = Path.cwd().resolve()
    found.extend(parent / "node_modules" for parent in (here, *here.parents))
    return found


@lru_cache(maxsize=None)
def node_modules() -> Path:
    """The node_modules folder that holds the pinned tools (it must contain ``solc``)."""
    for path in _candidates():
        if (path / "solc" / "package.json").is_file():
            return path
    raise ToolchainError(f"pinned node tools not found: {INSTALL_HINT}")


@lru_cache(maxsize=None)
def node() -> str:
    """Path of the ``node`` executable."""
    exe = shutil.which("node")
    if exe is None:
        raise ToolchainError("Node.js not found on PATH: install Node.js 18 or newer (it brings npm)")
    return exe


def package_dir(name: str) -> Path:
    """Folder of an installed npm package, e.g. ``package_dir("snarkjs")``."""
    path = node_modules() / name
    if not (path / "package.json").is_file():
        raise ToolchainError(f"npm package {name!r} is missing from {node_modules()}: {INSTALL_HINT}")
    return path


def anvil_binary() -> Path:
    """The native anvil executable shipped inside ``@foundry-rs/anvil-<platform>``."""
    exe = shutil.which("anvil")
    if os.environ.get("PYMARGIN_ANVIL"):
        return Path(os.environ["PYMARGIN_ANVIL"])
    for sub in sorted((node_modules() / "@foundry-rs").glob("anvil-*/bin/anvil")):
        return sub
    if exe:
        return Path(exe)
    raise ToolchainError(f"anvil not found (@foundry-rs/anvil): {INSTALL_HINT}")


def forge_binary() -> Path:
    """The native forge executable shipped inside ``@foundry-rs/forge-<platform>`` (PYMARGIN_FORGE overrides)."""
    if os.environ.get("PYMARGIN_FORGE"):
        return Path(os.environ["PYMARGIN_FORGE"])
    for sub in sorted((node_modules() / "@foundry-rs").glob("forge-*/bin/forge")):
        return sub
    exe = shutil.which("forge")
    if exe:
        return Path(exe)
    raise ToolchainError(f"forge not found (@foundry-rs/forge): {INSTALL_HINT}")


def node_script(package: str, relpath: str) -> list[str]:
    """A command line that runs a package's JavaScript entry point with node."""
    script = package_dir(package) / relpath
    if not script.is_file():
        raise ToolchainError(f"{script} is missing: {INSTALL_HINT}")
    return [node(), str(script)]

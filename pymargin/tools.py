"""Where pymargin's files and pinned node tools live (solc, anvil, forge, circom2, snarkjs, circomlib).

Two layouts, one API:

* a checkout: the sources (``contracts/``, ``circuits/``, ``package.json`` + ``package-lock.json``)
  and the outputs (``out/``, ``build/zk``) are in the repository;
* an installed wheel: the sources ship inside the package (``pymargin/_assets/``, with the compiled
  artifacts) and are never written to; the outputs go to the per-user cache (:func:`user_cache`).

The node tools are the ones pinned by the lock. They are looked up in ``$PYMARGIN_NODE_MODULES``, the
checkout's ``node_modules``, a ``node_modules`` in the working folder or a parent, then the per-user
cache; when none holds them, the first use installs them there with npm (one progress line saying
where). A missing Node.js or npm is one clear :class:`ToolchainError`.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from pymargin.errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "_assets"  # what the wheel ships: contracts, circuits, out, package.json, lock
_CHECKOUT = PACKAGE_DIR.parent
IS_CHECKOUT = (_CHECKOUT / "contracts").is_dir() and (_CHECKOUT / "package-lock.json").is_file()
NPM_INSTALL_TIMEOUT_S = 1800


def user_cache() -> Path:
    """The per-user cache: $PYMARGIN_HOME, else $XDG_CACHE_HOME/pymargin, else ~/.cache/pymargin."""
    env = os.environ.get("PYMARGIN_HOME")
    if env:
        return Path(env).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache").resolve() / "pymargin"


# Read-only sources: contracts/, circuits/, package.json, package-lock.json (and, installed, out/).
REPO_ROOT = _CHECKOUT if IS_CHECKOUT else ASSETS_DIR
# Writable outputs: out/ (compiled contracts) and build/zk (circuits, keys).
WORK_ROOT = _CHECKOUT if IS_CHECKOUT else user_cache()
INSTALL_HINT = (
    "run `scripts/bootstrap.sh` in a checkout, or set PYMARGIN_NODE_MODULES to a node_modules folder "
    "holding the packages of pymargin's package.json"
)


class ToolchainError(UserError):
    """A node tool or Node.js itself is missing."""


def _lock_files() -> tuple[Path, Path]:
    return REPO_ROOT / "package.json", REPO_ROOT / "package-lock.json"


def _lock_key() -> str:
    """First 16 hex digits of SHA-256 over package.json and package-lock.json (names the cache folder)."""
    digest = hashlib.sha256()
    for path in _lock_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cached_node_modules() -> Path:
    """The node_modules folder the per-user cache holds for this lock (it may not exist yet)."""
    return user_cache() / "node" / _lock_key() / "node_modules"


def _candidates() -> list[Path]:
    found = []
    env = os.environ.get("PYMARGIN_NODE_MODULES")
    if env:
        found.append(Path(env))
    if IS_CHECKOUT:
        found.append(_CHECKOUT / "node_modules")
    here = Path.cwd().resolve()
    found.extend(parent / "node_modules" for parent in (here, *here.parents))
    found.append(cached_node_modules())
    return found


def _complete(path: Path) -> bool:
    """Whether ``path`` holds the pinned tools (solc, and for the cache the stamp of a finished install)."""
    if path == cached_node_modules():
        return (path / ".pymargin-complete").is_file()
    return (path / "solc" / "package.json").is_file()


def _found_node_modules() -> Path | None:
    return next((path for path in _candidates() if _complete(path)), None)


@lru_cache(maxsize=None)
def node_modules() -> Path:
    """The node_modules folder that holds the pinned tools; installs them into the cache on first use."""
    return _found_node_modules() or install_node_tools()


def install_node_tools() -> Path:
    """``npm install`` of the pinned lock into the per-user cache; returns its node_modules.

    Installs into a temporary folder next to the target, then renames it, so an interrupted install
    leaves nothing half-done; one install at a time (a file lock).
    """
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainError("npm not found on PATH: install Node.js 18 or newer (it brings npm); pymargin then installs its node tools on first use")
    node()
    target = cached_node_modules()
    project = target.parent
    try:
        project.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ToolchainError(f"cannot create the node tools cache {project.parent}: {exc.strerror} (set PYMARGIN_HOME to a writable folder)") from None
    with open(project.parent / f".{project.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _complete(target):
            return target
        print(f"pymargin: installing the pinned node tools into {project} (first use, about a minute)", file=sys.stderr, flush=True)
        work = Path(tempfile.mkdtemp(prefix=f".{project.name}-", dir=project.parent))
        try:
            for path in _lock_files():
                shutil.copyfile(path, work / path.name)
            # `npm install --no-save` rather than `npm ci`: the lock lists anvil's native package for
            # one platform only, which `npm ci` rejects; this installs the locked versions unchanged.
            done = subprocess.run(
                [npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=work, capture_output=True, text=True, timeout=NPM_INSTALL_TIMEOUT_S,
            )
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                raise ToolchainError(f"npm install of the pinned node tools into {project} failed: {tail[0]}")
            (work / "node_modules" / ".pymargin-complete").write_text(_lock_key() + "\n")
            shutil.rmtree(project, ignore_errors=True)
            os.replace(work, project)
        except subprocess.TimeoutExpired:
            raise ToolchainError(f"npm install did not finish within {NPM_INSTALL_TIMEOUT_S} s") from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


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
    """The anvil executable: $PYMARGIN_ANVIL, the pinned one (``@foundry-rs/anvil-<platform>``) if the
    node tools are present, PATH's, else the pinned one installed on first use."""
    if os.environ.get("PYMARGIN_ANVIL"):
        return Path(os.environ["PYMARGIN_ANVIL"])
    found, on_path = _found_node_modules(), shutil.which("anvil")
    folder = found if found is not None or on_path is None else node_modules()
    for sub in sorted((folder / "@foundry-rs").glob("anvil-*/bin/anvil")) if folder else ():
        return sub
    if on_path:
        return Path(on_path)
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

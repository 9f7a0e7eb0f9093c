"""Compile circom circuits with the pinned circom 2 (npm ``circom2``, WebAssembly), cached by content.

A circuit is a ``main`` component over the templates in ``circuits/``. Its build folder
``<build>/circuits/<name>-<key>/`` holds ``main.r1cs``, ``main.sym`` and the witness generator
``main_js/main.wasm``; ``key`` hashes the main source, every ``.circom`` file under ``circuits/``,
the compiler and circomlib versions and the flags, so an unchanged circuit is never recompiled.

circom2 runs under WASI and sees only paths below its working directory, so it runs from the
common ancestor of the sources, node_modules and the build folder, with relative paths.

``PYMARGIN_CIRCOM=groth16py`` compiles with groth16py's native circom crates instead
(:mod:`pymargin.zk.circom_native`: same r1cs and witness, no ``main.sym``; for circuits of ~1 M
constraints and more, where circom2 is slow); its builds are cached under their own keys.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pymargin import tools
from pymargin.errors import UserError
from pymargin.interrupts import register_temporary
from pymargin.zk.circom_native import compile_native

CIRCUITS_DIR = tools.REPO_ROOT / "circuits"
CIRCOM_FLAGS = ("--r1cs", "--wasm", "--sym", "--O2")
COMPILE_TIMEOUT_S = 3600
COMPILERS = ("circom2", "groth16py")


class CircuitError(UserError):
    """circom rejected a circuit; the message is circom's own."""


def build_root() -> Path:
    """Where compiled circuits, keys and proofs are cached: $PYMARGIN_ZK_BUILD, else build/zk of the checkout
    (installed: of the per-user cache, see :mod:`pymargin.tools`)."""
    env = os.environ.get("PYMARGIN_ZK_BUILD")
    return Path(env).resolve() if env else tools.WORK_ROOT / "build" / "zk"


@dataclass(frozen=True)
class Circuit:
    """A compiled circuit: its build folder and the files in it."""

    name: str
    key: str  # content hash of sources, compiler and flags
    dir: Path

    @property
    def r1cs(self) -> Path:
        return self.dir / "main.r1cs"

    @property
    def wasm(self) -> Path:
        return self.dir / "main_js" / "main.wasm"

    @property
    def witness_script(self) -> Path:
        return self.dir / "main_js" / "generate_witness.js"

    @property
    def sym(self) -> Path:
        return self.dir / "main.sym"

    @cached_property
    def info(self) -> dict:
        """{"constraints", "public_inputs", "private_inputs", "outputs", "wires"} from the r1cs header."""
        from pymargin.zk.r1cs import read_header

        return read_header(self.r1cs)


def _versions() -> str:
    parts = []
    for package in ("circom2", "circomlib"):
        data = json.loads((tools.package_dir(package) / "package.json").read_text())
        parts.append(f"{package}@{data['version']}")
    return " ".join(parts)


def _compiler() -> str:
    """The compiler chosen by $PYMARGIN_CIRCOM (one of COMPILERS), circom2 by default."""
    name = os.environ.get("PYMARGIN_CIRCOM") or "circom2"
    if name not in COMPILERS:
        raise UserError(f"PYMARGIN_CIRCOM={name!r} is not a circom compiler: choose one of {', '.join(COMPILERS)}")
    return name


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(CIRCUITS_DIR.rglob("*.circom")):
        digest.update(path.relative_to(CIRCUITS_DIR).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def compile_circuit(name: str, main_source: str) -> Circuit:
    """Compile ``main_source`` (a circom file whose includes resolve in circuits/ and node_modules).

    Returns the cached build when sources, compiler and flags are unchanged. Safe to call from
    parallel processes (one compile per circuit at a time; the build folder appears atomically).
    """
    compiler = _compiler()
    parts = [main_source, _sources_digest(), _versions(), " ".join(CIRCOM_FLAGS)]
    if compiler == "groth16py":
        try:
            import groth16py
        except ImportError:
            raise UserError("PYMARGIN_CIRCOM=groth16py needs the optional package: pip install 'pymargin[fast]' (GPL-3.0)") from None
        parts.append(f"groth16py@{groth16py.__version__}")
    key = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
    root = build_root() / "circuits"
    target = root / f"{name}-{key}"
    circuit = Circuit(name, key, target)
    if circuit.r1cs.is_file():
        return circuit
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if circuit.r1cs.is_file():
            return circuit
        work = register_temporary(Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root)))
        try:
            (work / "main.circom").write_text(main_source)
            if compiler == "groth16py":
                compile_native(work / "main.circom", [CIRCUITS_DIR, tools.node_modules()], work)
            else:
                _run_circom(work / "main.circom", work)
            os.replace(work, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return circuit


def _run_circom(source: Path, out_dir: Path) -> None:
    node_modules = tools.node_modules()
    cwd = Path(os.path.commonpath([source.resolve(), CIRCUITS_DIR.resolve(), node_modules.resolve(), out_dir.resolve()]))

    def rel(path: Path) -> str:
        return os.path.relpath(path.resolve(), cwd)

    cmd = [
        *tools.node_script("circom2", "cli.js"), rel(source), *CIRCOM_FLAGS,
        "-l", rel(CIRCUITS_DIR), "-l", rel(node_modules), "-o", rel(out_dir),
    ]
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CircuitError(f"circom did not finish within {COMPILE_TIMEOUT_S} s on {source}") from None
    if done.returncode != 0 or not (out_dir / "main.r1cs").is_file():
        text = (done.stderr + done.stdout).replace("\x1b[31m", "").replace("\x1b[0m", "").strip()
        raise CircuitError(f"circom failed on {source}:\n{text}")

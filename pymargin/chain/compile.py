"""Compile the Solidity sources under ``contracts/`` into Foundry-shaped artifacts.

One code path for every compiler: py-solc-x's ``compile_standard`` drives either a native ``solc``
on PATH whose version is the pinned one, or the npm ``solc`` package (the official compiler as
WebAssembly) through the small native-interface wrapper in ``chain/bin/solc``.

Artifacts go to ``out/<File>.sol/<Contract>.json`` (abi, bytecode, deployedBytecode,
methodIdentifiers, rawMetadata, metadata), as ``forge build`` writes them. Compilation is
incremental: a source is recompiled only when it, something it imports, the settings or the
compiler changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import solcx
from solcx.exceptions import SolcError

from pymargin import tools
from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text

SOLC_VERSION = "0.8.37"
EVM_VERSION = "cancun"  # run by py-evm (embedded devnet), pyrevm, anvil and every public testnet
SETTINGS = {
    "evmVersion": EVM_VERSION,
    "optimizer": {"enabled": True, "runs": 200},
    "viaIR": True,
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.bytecode.linkReferences",
                "evm.deployedBytecode.object",
                "evm.deployedBytecode.linkReferences",
                "evm.deployedBytecode.immutableReferences",
                "evm.methodIdentifiers",
                "metadata",
            ]
        }
    },
}
CONTRACTS_DIR = tools.REPO_ROOT / "contracts"
OUT_DIR = tools.WORK_ROOT / "out"
SHIPPED_OUT_DIR = tools.ASSETS_DIR / "out"  # an installed wheel's artifacts of its own contracts
CACHE_NAME = "pymargin-build-cache.json"
_IMPORT_RE = re.compile(r"""^\s*import\s+(?:[^'"]*?from\s+)?["']([^"']+)["']""", re.MULTILINE)


class CompileError(UserError):
    """solc rejected a source; the message is solc's own, with file:line:column."""


@dataclass(frozen=True)
class Compiler:
    """A solc executable and the exact version it reports."""

    binary: Path
    version: str  # e.g. "0.8.37+commit.f401782d.Emscripten.clang"


@lru_cache(maxsize=None)
def find_compiler() -> Compiler:
    """The pinned solc: a native ``solc`` of version SOLC_VERSION on PATH, else the npm package (found
    once per process: asking it its version takes a node start, ~1 s)."""
    native = shutil.which("solc")
    if native:
        long_version = _long_version(Path(native))
        if long_version.startswith(SOLC_VERSION + "+"):
            return Compiler(Path(native), long_version)
    wrapper = Path(__file__).resolve().parent / "bin" / "solc"
    os.environ.setdefault("PYMARGIN_NODE_MODULES", str(tools.node_modules()))
    tools.node()
    long_version = _long_version(wrapper)
    if not long_version.startswith(SOLC_VERSION + "+"):
        raise tools.ToolchainError(
            f"npm solc is {long_version}, pymargin pins {SOLC_VERSION}: {tools.INSTALL_HINT}"
        )
    return Compiler(wrapper, long_version)


def _long_version(binary: Path) -> str:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise tools.ToolchainError(f"cannot run {binary}: {exc}") from exc
    match = re.search(r"Version:\s*(\S+)", out.stdout)
    if out.returncode != 0 or match is None:
        raise tools.ToolchainError(f"{binary} --version failed: {out.stderr.strip() or out.stdout.strip()}")
    return match.group(1)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _resolve_import(importer: str, target: str, root: Path) -> str | None:
    """Source-unit name of an import, or None for an import from node_modules."""
    if target.startswith("."):
        return (Path(importer).parent / target).as_posix()
    return target if (root / target).is_file() else None


def _normalise(name: str) -> str:
    parts: list[str] = []
    for part in name.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


def _read_sources(root: Path, src_dir: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text()
        for path in sorted(src_dir.rglob("*.sol"))
    }


def _closure(name: str, sources: dict[str, str], root: Path, seen: set[str] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    if name in seen or name not in sources:
        return seen
    seen.add(name)
    for target in _IMPORT_RE.findall(sources[name]):
        resolved = _resolve_import(name, target, root)
        if resolved is not None:
            _closure(_normalise(resolved), sources, root, seen)
    return seen


def compile_contracts(
    src_dir: Path = CONTRACTS_DIR,
    out_dir: Path = OUT_DIR,
    *,
    root: Path | None = None,
    force: bool = False,
) -> dict[str, Path]:
    """Compile every ``.sol`` file under ``src_dir`` into ``out_dir``; return {contract: artifact path}.

    Sources whose own text, imported sources, settings and compiler are unchanged since the last
    run are not recompiled. Raises :class:`CompileError` with solc's messages on an error.
    """
    root = (root or src_dir.parent).resolve()
    src_dir = src_dir.resolve()
    if not src_dir.is_dir():
        raise UserError(f"no contracts folder at {src_dir}")
    compiler = find_compiler()
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "w") as lock:  # one compiler at a time per out/ (parallel tests)
        fcntl.flock(lock, fcntl.LOCK_EX)
        _seed_from_wheel(out_dir)
        return _compile_locked(compiler, src_dir, out_dir, root, force)


def _seed_from_wheel(out_dir: Path) -> None:
    """Installed wheel, default out/ still empty: start from the artifacts the wheel ships (the
    incremental compile then recompiles only what they do not match)."""
    if Path(out_dir).resolve() == OUT_DIR.resolve() and not (out_dir / CACHE_NAME).is_file() and (SHIPPED_OUT_DIR / CACHE_NAME).is_file():
        shutil.copytree(SHIPPED_OUT_DIR, out_dir, dirs_exist_ok=True)


def _compile_locked(compiler: Compiler, src_dir: Path, out_dir: Path, root: Path, force: bool) -> dict[str, Path]:
    sources = _read_sources(root, src_dir)
    if not sources:
        raise UserError(f"no .sol files under {src_dir}")
    settings_key = _sha(json.dumps([SETTINGS, compiler.version], sort_keys=True))
    keys = {
        name: _sha(settings_key + "".join(_sha(sources[dep]) for dep in sorted(_closure(name, sources, root))))
        for name in sources
    }
    cache_path = out_dir / CACHE_NAME
    cache = json.loads(cache_path.read_text()) if cache_path.is_file() and not force else {}
    cached_files = cache.get("files", {})
    stale = [
        name
        for name in sources
        if force
        or cached_files.get(name, {}).get("key") != keys[name]
        or not all((out_dir / p).is_file() for p in cached_files[name]["artifacts"])
    ]
    for name in set(cached_files) - set(sources):  # a deleted source takes its artifacts with it
        for rel in cached_files.pop(name)["artifacts"]:
            (out_dir / rel).unlink(missing_ok=True)
    if stale:
        needed = set().union(*(_closure(name, sources, root) for name in stale))
        standard_input = {
            "language": "Solidity",
            "sources": {name: {"content": sources[name]} for name in sorted(needed)},
            "settings": {**SETTINGS, "outputSelection": {name: SETTINGS["outputSelection"]["*"] for name in stale}},
        }
        output = _run_solc(compiler, standard_input, root)
        for name in stale:
            written = _write_artifacts(name, output["contracts"].get(name, {}), out_dir)
            cached_files[name] = {"key": keys[name], "artifacts": written}
    atomic_write_text(cache_path, json.dumps({"compiler": compiler.version, "files": cached_files}, indent=1, sort_keys=True))
    return {
        Path(rel).stem: out_dir / rel for entry in cached_files.values() for rel in entry["artifacts"]
    }


def _run_solc(compiler: Compiler, standard_input: dict, root: Path) -> dict:
    include = [str(root), str(tools.node_modules())]
    try:
        output = solcx.compile_standard(
            standard_input,
            solc_binary=compiler.binary,
            base_path=str(root),
            allow_paths=include,
        )
    except SolcError as exc:
        raise CompileError(_solc_messages(exc)) from None
    return output


def _solc_messages(exc: SolcError) -> str:
    try:
        errors = json.loads(exc.stdout_data).get("errors", [])
    except (TypeError, ValueError):
        return str(exc.message if hasattr(exc, "message") else exc)
    lines = [e["formattedMessage"].strip() for e in errors if e.get("severity") == "error"]
    return "solc failed:\n" + "\n".join(lines) if lines else str(exc)


def _write_artifacts(source_name: str, contracts: dict, out_dir: Path) -> list[str]:
    written = []
    for contract_name, data in sorted(contracts.items()):
        evm = data["evm"]
        metadata = data.get("metadata") or "{}"
        artifact = {
            "abi": data["abi"],
            "bytecode": {
                "object": "0x" + evm["bytecode"]["object"],
                "linkReferences": evm["bytecode"].get("linkReferences", {}),
            },
            "deployedBytecode": {
                "object": "0x" + evm["deployedBytecode"]["object"],
                "linkReferences": evm["deployedBytecode"].get("linkReferences", {}),
                "immutableReferences": evm["deployedBytecode"].get("immutableReferences", {}),
            },
            "methodIdentifiers": evm.get("methodIdentifiers", {}),
            "rawMetadata": metadata,
            "metadata": json.loads(metadata),
        }
        rel = f"{Path(source_name).name}/{contract_name}.json"
        atomic_write_text(out_dir / rel, json.dumps(artifact, indent=2, sort_keys=True) + "\n")
        written.append(rel)
    return written


def load_artifact(name: str, out_dir: Path = OUT_DIR) -> dict:
    """The Foundry-shaped artifact of contract ``name`` (searches ``out/*/<name>.json``)."""
    _seed_from_wheel(out_dir)
    matches = sorted(out_dir.glob(f"*/{name}.json"))
    if not matches:
        raise UserError(f"no artifact for contract {name!r} in {out_dir}: run `pymargin compile` first")
    if len(matches) > 1:
        raise UserError(f"contract name {name!r} is ambiguous: {', '.join(str(m) for m in matches)}")
    return json.loads(matches[0].read_text())

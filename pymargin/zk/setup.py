"""Groth16 trusted setups: development setups made on this machine (cached) and the ceremony path.

* Development (``dev``): the toxic waste exists on this machine, so anyone who has it can forge
  proofs. Good for tests, demos and benchmarks, never for real funds. Every key folder says so
  in ``SETUP.txt`` and its ``setup.json`` carries ``"development": true``.
  - groth16py: single-party setup straight from the ``.r1cs`` (no Powers of Tau).
  - snarkjs: a local Powers of Tau (new, one contribution, prepare phase 2; cached per power
    under ``<build>/ptau``), then ``groth16 setup`` and one phase-2 contribution.
  - zkey: a snarkjs zkey written straight from toxic waste drawn here (:mod:`pymargin.zk.dev_zkey`;
    single-party like groth16py's, no Powers of Tau); both backends prove with it and groth16py
    loads it at disk speed. Chosen with ``PYMARGIN_DEV_SETUP=zkey`` (:func:`dev_setup`).
* Ceremony (``ceremony``): ``snarkjs groth16 setup`` over a Powers of Tau file from a public
  ceremony (e.g. a prepared ``powersOfTau28_hez_final_NN.ptau``), then one phase-2 contribution
  by this machine. A production deployment should also run a multi-party phase 2 on the zkey.

Keys live in ``<build>/keys/<circuit>-<circuit key>/<setup id>/`` and are reused while the circuit
is unchanged.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pymargin import tools
from pymargin.errors import UserError
from pymargin.fsutil import atomic_write_text
from pymargin.interrupts import guarded, register_temporary, temporary_dir, worker_pool
from pymargin.zk.circom import Circuit, build_root
from pymargin.zk.dev_zkey import write_dev_zkey
from pymargin.zk.proof import VerifyingKey
from pymargin.zk.zkey import write_fast_zkey

SNARKJS_TIMEOUT_S = 6 * 3600
DEV_WARNING = (
    "DEVELOPMENT TRUSTED SETUP made on this machine: its toxic waste was generated here, so whoever\n"
    "had access to this machine could forge proofs. For tests, demos and benchmarks only; never\n"
    "use these keys for real funds (use the ceremony path: a public Powers of Tau file).\n"
)


class SetupError(UserError):
    """A setup step failed (snarkjs error, Powers of Tau too small, unreadable key)."""


@dataclass(frozen=True)
class Keys:
    """A circuit's proving and verifying keys from one setup."""

    circuit: Circuit
    setup_id: str  # "dev-groth16py", "dev-snarkjs", "dev-zkey" or "ceremony-<ptau digest>"
    dir: Path
    development: bool

    @property
    def vk_path(self) -> Path:
        return self.dir / "verification_key.json"

    @property
    def zkey(self) -> Path:
        """snarkjs proving key (snarkjs and zkey setups)."""
        return self.dir / "circuit.zkey"

    @property
    def pk_bin(self) -> Path:
        """groth16py proving key (its own dev setup)."""
        return self.dir / "proving_key.bin"

    @property
    def fast_zkey(self) -> Path:
        """The groth16py key as a zkey that groth16py imports at disk speed (:mod:`pymargin.zk.zkey`)."""
        return self.dir / "fast.zkey"

    def verifying_key(self) -> VerifyingKey:
        return VerifyingKey.load(self.vk_path)


def snarkjs(*args: str, timeout_s: float = SNARKJS_TIMEOUT_S) -> str:
    """Run the pinned snarkjs CLI; return its stdout or raise SetupError with its message."""
    node, script = tools.node_script("snarkjs", "build/cli.cjs")
    cmd = [node, "--max-old-space-size=16384", script, *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise SetupError(f"snarkjs {args[0]} {args[1] if len(args) > 1 else ''} took longer than {timeout_s:.0f} s") from None
    text = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or "[ERROR]" in text:
        raise SetupError(f"snarkjs {' '.join(args[:2])} failed: {_last_line(text)}")
    return done.stdout


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line or "Error" in line]
    return (errors or lines or ["no output"])[-1].strip()


def ptau_power(circuit: Circuit) -> int:
    """Smallest Powers of Tau power 2^k that fits the circuit (constraints + public signals + 1)."""
    info = circuit.info
    return max(8, math.ceil(math.log2(info["constraints"] + info["outputs"] + info["public_inputs"] + 1)))


def dev_ptau(power: int) -> Path:
    """A prepared development Powers of Tau of size 2^power, made once and cached under <build>/ptau.

    Slow at large sizes (phase-2 preparation: ~69 s at 2^12, ~290 s at 2^14 on 2 cores).
    """
    folder = build_root() / "ptau"
    path = folder / f"dev-{power}.ptau"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / f".dev-{power}.lock"):
        if path.is_file():
            return path
        with temporary_dir(dir=folder, prefix=".ptau-") as tmp:
            p0, p1, final = (Path(tmp) / name for name in ("p0.ptau", "p1.ptau", "final.ptau"))
            snarkjs("powersoftau", "new", "bn128", str(power), str(p0))
            snarkjs("powersoftau", "contribute", str(p0), str(p1), "--name=pymargin development", f"-e={secrets.token_hex(32)}")
            snarkjs("powersoftau", "prepare", "phase2", str(p1), str(final))
            os.replace(final, path)
    return path


class _locked:
    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        self.handle = open(self.path, "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.handle.close()


def _key_dir(circuit: Circuit, setup_id: str) -> Path:
    return build_root() / "keys" / f"{circuit.name}-{circuit.key}" / setup_id


def _existing(circuit: Circuit, setup_id: str, development: bool, required: str) -> Keys | None:
    folder = _key_dir(circuit, setup_id)
    keys = Keys(circuit, setup_id, folder, development)
    return keys if (folder / required).is_file() and keys.vk_path.is_file() else None


def _cached_setup(circuit: Circuit, setup_id: str, development: bool, required: str, make: Callable[[Path], dict]) -> Keys:
    """The keys in the cache, or made once by ``make(work_dir)`` (which writes ``required`` and
    verification_key.json and returns metadata), under a lock, in a temporary folder renamed into place."""
    found = _existing(circuit, setup_id, development, required)
    if found:
        return found
    target = _key_dir(circuit, setup_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{setup_id}.lock"):
        found = _existing(circuit, setup_id, development, required)
        if found:
            return found
        work = register_temporary(Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{setup_id}-")))
        try:
            extra = make(work)
            meta = {"circuit": circuit.name, "circuit_key": circuit.key, "setup": setup_id, "development": development, **extra}
            atomic_write_text(work / "setup.json", json.dumps(meta, indent=1, sort_keys=True) + "\n")
            if development:
                atomic_write_text(work / "SETUP.txt", DEV_WARNING)
            os.replace(work, target)
            return Keys(circuit, setup_id, target, development)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def dev_setup_groth16py(circuit: Circuit) -> Keys:
    """Development keys from groth16py's single-party setup over the r1cs (cached). Under the CLI's
    interrupt guard the setup runs in a worker process (it holds this process for up to minutes)."""

    def make(work: Path) -> dict:
        if not guarded():
            return _groth16py_setup(str(circuit.r1cs), str(work))
        with worker_pool(1) as pool:
            return pool.submit(_groth16py_setup, str(circuit.r1cs), str(work)).result()

    return _cached_setup(circuit, "dev-groth16py", True, "proving_key.bin", make)


def dev_setup_zkey(circuit: Circuit) -> Keys:
    """Development keys as a snarkjs zkey written from toxic waste drawn here (:mod:`pymargin.zk.dev_zkey`),
    cached; its verifying key is snarkjs's export of the zkey."""

    def make(work: Path) -> dict:
        write_dev_zkey(circuit.r1cs, work / "circuit.zkey")
        snarkjs("zkey", "export", "verificationkey", str(work / "circuit.zkey"), str(work / "verification_key.json"))
        return {"tool": "pymargin dev_zkey (ffjavascript)"}

    return _cached_setup(circuit, "dev-zkey", True, "circuit.zkey", make)


DEV_SETUPS = ("groth16py", "snarkjs", "zkey")


def dev_setup(circuit: Circuit, backend: str) -> Keys:
    """The development keys a backend proves with: ``$PYMARGIN_DEV_SETUP`` if set (one of DEV_SETUPS), else
    the backend's own (groth16py: its single-party setup; snarkjs: over a local Powers of Tau)."""
    kind = os.environ.get("PYMARGIN_DEV_SETUP") or backend
    if kind == "zkey":
        return dev_setup_zkey(circuit)
    if kind == "groth16py":
        return dev_setup_groth16py(circuit)
    if kind == "snarkjs":
        return snarkjs_setup(circuit)
    raise UserError(f"PYMARGIN_DEV_SETUP={kind!r} is not a development setup: choose one of {', '.join(DEV_SETUPS)}")


def ensure_fast_zkey(keys: Keys) -> None:
    """Write (once) a groth16py development key as a fast-loading zkey beside it (:mod:`pymargin.zk.zkey`):
    a one-time inverse FFT of ~n·log2(n)/2 G1 multiplications (over an hour of CPU-shared time at
    n = 2^19 today), after which a fresh worker imports the key without point checks instead of
    spending ~46 CPU-s in ProvingKey.load (K = 6). Worth it for many workers or epochs, not one proof."""
    if keys.fast_zkey.is_file() or not keys.pk_bin.is_file():
        return
    with _locked(keys.dir.parent / ".dev-groth16py.lock"):
        if not keys.fast_zkey.is_file():
            write_fast_zkey(keys.pk_bin, keys.circuit.r1cs, keys.fast_zkey)


def _groth16py_setup(r1cs: str, work: str) -> dict:
    """groth16py's setup over ``r1cs``: proving_key.bin and verification_key.json into ``work``."""
    import groth16py

    pk, vk = groth16py.setup(r1cs)
    pk.save(str(Path(work) / "proving_key.bin"))
    atomic_write_text(Path(work) / "verification_key.json", vk.to_json())
    return {"tool": f"groth16py {getattr(groth16py, '__version__', '')}".strip()}


def snarkjs_setup(circuit: Circuit, ptau: Path | None = None) -> Keys:
    """snarkjs keys: over ``ptau`` (a ceremony's Powers of Tau) or, if None, a development ptau (cached)."""
    development = ptau is None
    if development:
        ptau = dev_ptau(ptau_power(circuit))
        setup_id = "dev-snarkjs"
    else:
        ptau = Path(ptau)
        if not ptau.is_file():
            raise SetupError(f"Powers of Tau file {ptau} not found")
        setup_id = "ceremony-" + _file_digest(ptau)[:12]

    def make(work: Path) -> dict:
        z0 = work / "circuit_0000.zkey"
        snarkjs("groth16", "setup", str(circuit.r1cs), str(ptau), str(z0))
        snarkjs("zkey", "contribute", str(z0), str(work / "circuit.zkey"), "--name=pymargin phase 2", f"-e={secrets.token_hex(32)}")
        z0.unlink()
        snarkjs("zkey", "export", "verificationkey", str(work / "circuit.zkey"), str(work / "verification_key.json"))
        return {"ptau": str(ptau), "tool": "snarkjs"}

    return _cached_setup(circuit, setup_id, development, "circuit.zkey", make)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

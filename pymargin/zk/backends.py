"""Prover backends behind one interface: ``setup(circuit, ptau)`` -> Keys, ``prove(keys, wtns)`` -> Proof.

* ``snarkjs`` (reference): the pinned snarkjs CLI (node). Dev setup from a local Powers of Tau.
* ``groth16py`` (fast, optional): arkworks in Rust through the ``groth16py`` wheel (GPL-3.0, the
  ``fast`` extra: ``pip install pymargin[fast]``). Its dev setup needs no Powers of Tau; with a
  ceremony ptau it imports the snarkjs zkey, so both backends then prove under the same key.

``PYMARGIN_DEV_SETUP=zkey`` gives both backends one development key instead: a snarkjs zkey written
straight from toxic waste drawn here (:func:`pymargin.zk.setup.dev_setup`), no Powers of Tau.

Both take a witness file computed by the circuit's own generator (:mod:`pymargin.zk.witness`) and
return a :class:`~pymargin.zk.proof.Proof` whose public signals are read from that witness.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Protocol

from pymargin.errors import UserError
from pymargin.interrupts import temporary_dir
from pymargin.zk import setup as setup_mod
from pymargin.zk.circom import Circuit
from pymargin.zk.proof import Proof, VerifyingKey
from pymargin.zk.wellformed import proof_defect
from pymargin.zk.witness import public_signals, read_wtns


class Backend(Protocol):
    name: str

    def setup(self, circuit: Circuit, ptau: Path | None = None) -> setup_mod.Keys:
        """Keys for ``circuit``: a cached development setup if ``ptau`` is None, else over the ceremony ptau."""

    def load(self, keys: setup_mod.Keys) -> float:
        """Make the proving key ready in this process; the seconds spent (0 if it already was)."""

    def prove(self, keys: setup_mod.Keys, wtns: Path) -> Proof:
        """A proof for the witness in ``wtns``."""


def _public(keys: setup_mod.Keys, wtns: Path) -> tuple[int, ...]:
    info = keys.circuit.info
    return tuple(public_signals(read_wtns(wtns), info["outputs"] + info["public_inputs"]))


class SnarkjsBackend:
    """The reference prover: ``snarkjs groth16 prove``."""

    name = "snarkjs"

    def setup(self, circuit: Circuit, ptau: Path | None = None) -> setup_mod.Keys:
        return setup_mod.dev_setup(circuit, self.name) if ptau is None else setup_mod.snarkjs_setup(circuit, ptau)

    def load(self, keys: setup_mod.Keys) -> float:
        """Nothing to load: every ``snarkjs groth16 prove`` reads the zkey itself (inside its prove time)."""
        return 0.0

    def prove(self, keys: setup_mod.Keys, wtns: Path) -> Proof:
        if not keys.zkey.is_file():
            raise UserError(f"the snarkjs backend needs a snarkjs zkey; {keys.dir} holds a {keys.setup_id} setup")
        with temporary_dir(prefix="pymargin-snarkjs-") as tmp:
            proof_path, public_path = Path(tmp) / "proof.json", Path(tmp) / "public.json"
            setup_mod.snarkjs("groth16", "prove", str(keys.zkey), str(wtns), str(proof_path), str(public_path))
            return Proof.from_snarkjs(json.loads(proof_path.read_text()), json.loads(public_path.read_text()))

    @staticmethod
    def verify(vk: VerifyingKey, proof: Proof) -> bool:
        """snarkjs's own ``groth16 verify`` of ``proof`` under ``vk`` (the reference verifier), for a
        well-formed proof only: snarkjs reduces coordinates mod q and does not check that B is in
        G2's subgroup, so this wrapper rejects a proof that is not well formed
        (:func:`~pymargin.zk.wellformed.proof_defect`) before calling snarkjs, as the EVM verifier does."""
        if proof_defect(proof, vk.n_public) is not None:
            return False
        with temporary_dir(prefix="pymargin-snarkjs-") as tmp:
            paths = [Path(tmp) / name for name in ("vk.json", "public.json", "proof.json")]
            for path, data in zip(paths, (vk.snarkjs_json(), [str(x) for x in proof.public], proof.snarkjs_json())):
                path.write_text(json.dumps(data))
            try:
                out = setup_mod.snarkjs("groth16", "verify", *(str(p) for p in paths))
            except setup_mod.SetupError as exc:
                if "Invalid proof" in str(exc):  # the pairing check failed; any other error is raised
                    return False
                raise
            return "OK" in out


KEYS_KEPT = 4  # proving keys one process keeps loaded (the oldest is dropped first)
_GROTH16PY_KEYS: dict[str, object] = {}  # proving keys loaded in this process, by file


def _groth16py_key_file(keys: setup_mod.Keys) -> tuple[Path, str]:
    """The key file groth16py proves with: the fast zkey of a development key, else its
    ``proving_key.bin``, else a snarkjs zkey (a ceremony's or a zkey development setup)."""
    if keys.fast_zkey.is_file():
        return keys.fast_zkey, "zkey"
    if keys.pk_bin.is_file():
        return keys.pk_bin, "bin"
    if keys.zkey.is_file():
        return keys.zkey, "zkey"
    raise UserError(f"no proving key in {keys.dir}")


class Groth16pyBackend:
    """The fast prover: groth16py (arkworks), GPL-3.0, optional (``pip install pymargin[fast]``)."""

    name = "groth16py"

    def __init__(self) -> None:
        try:
            import groth16py  # noqa: F401
        except ImportError:
            raise UserError("the groth16py backend needs the optional package: pip install 'pymargin[fast]' (GPL-3.0)") from None

    def setup(self, circuit: Circuit, ptau: Path | None = None) -> setup_mod.Keys:
        return setup_mod.dev_setup(circuit, self.name) if ptau is None else setup_mod.snarkjs_setup(circuit, ptau)

    def load(self, keys: setup_mod.Keys) -> float:
        """Load the key once per process and keep it: ``import_zkey`` of a zkey (the fast zkey of a
        development key, a zkey development setup or a ceremony's; no point checks, at disk speed), else ``ProvingKey.load`` of
        groth16py's own file (slow: it checks every point's subgroup)."""
        import groth16py

        path, kind = _groth16py_key_file(keys)
        if str(path) in _GROTH16PY_KEYS:
            return 0.0
        started = time.perf_counter()
        pk = groth16py.ProvingKey.load(str(path)) if kind == "bin" else groth16py.import_zkey(str(path))[0]
        if len(_GROTH16PY_KEYS) >= KEYS_KEPT:
            _GROTH16PY_KEYS.pop(next(iter(_GROTH16PY_KEYS)))
        _GROTH16PY_KEYS[str(path)] = pk
        return time.perf_counter() - started

    def prove(self, keys: setup_mod.Keys, wtns: Path) -> Proof:
        import groth16py

        self.load(keys)
        blob = groth16py.prove_wtns(_GROTH16PY_KEYS[str(_groth16py_key_file(keys)[0])], str(wtns))
        return Proof.from_eth_bytes(blob, list(_public(keys, wtns)))


BACKENDS = {"snarkjs": SnarkjsBackend, "groth16py": Groth16pyBackend}


def get_backend(name: str) -> Backend:
    """The backend called ``name`` ("snarkjs" or "groth16py")."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise UserError(f"unknown prover backend {name!r}: choose one of {', '.join(BACKENDS)}") from None


def default_backend_name() -> str:
    """groth16py when installed (faster), else snarkjs."""
    try:
        import groth16py  # noqa: F401
    except ImportError:
        return "snarkjs"
    return "groth16py"

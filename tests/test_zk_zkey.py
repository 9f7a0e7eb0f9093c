"""The fast-loading zkey of a groth16py development key (pymargin.zk.zkey) is the same key: groth16py
imports it and proves, and the proof verifies under the development verifying key with py-ecc and
snarkjs; the prover backend loads it instead of proving_key.bin when it is there (ensure_fast_zkey
writes it on request; this test writes it for the smallest circuit). A zkey whose H points are swapped
gives a proof that fails, so the check can fail."""

from __future__ import annotations

import shutil
import struct

import groth16py
import pytest

from pymargin.zk.backends import Groth16pyBackend, SnarkjsBackend, _groth16py_key_file, _public
from pymargin.zk.proof import Proof
from pymargin.zk.setup import Keys
from pymargin.zk.verify import verify
from pymargin.zk.witness import compute_witness
from pymargin.zk.zkey import write_fast_zkey
from zk_small import A, B, mulwad_circuit


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    circuit = mulwad_circuit()
    keys = Groth16pyBackend().setup(circuit)
    wtns = compute_witness(circuit, {"a": A, "b": B}, tmp_path_factory.mktemp("zkey") / "w.wtns")
    return keys, wtns


def _prove(zkey, keys, wtns) -> Proof:
    pk = groth16py.import_zkey(str(zkey))[0]
    return Proof.from_eth_bytes(groth16py.prove_wtns(pk, str(wtns)), list(_public(keys, wtns)))


def _swap_two_h_points(path) -> None:
    data = bytearray(path.read_bytes())
    offset = 12
    while True:  # find section 9 (H)
        kind, size = struct.unpack_from("<IQ", data, offset)
        offset += 12
        if kind == 9:
            break
        offset += size
    first, second = bytes(data[offset : offset + 64]), bytes(data[offset + 64 : offset + 128])
    assert first != second
    data[offset : offset + 128] = second + first
    path.write_bytes(bytes(data))


def test_fast_zkey_is_the_development_key(dev, tmp_path):
    keys, wtns = dev
    out, again = tmp_path / "fast.zkey", tmp_path / "again.zkey"
    write_fast_zkey(keys.pk_bin, keys.circuit.r1cs, out)
    write_fast_zkey(keys.pk_bin, keys.circuit.r1cs, again)
    assert out.read_bytes() == again.read_bytes()  # deterministic: the same key gives the same file
    proof = _prove(out, keys, wtns)
    vk = keys.verifying_key()
    assert verify(vk, proof)
    assert SnarkjsBackend.verify(vk, proof)
    _swap_two_h_points(out)
    assert not verify(vk, _prove(out, keys, wtns))


def test_backend_loads_the_fast_zkey(dev, tmp_path):
    dev_keys, wtns = dev
    folder = tmp_path / "keys"
    shutil.copytree(dev_keys.dir, folder)
    keys = Keys(dev_keys.circuit, dev_keys.setup_id, folder, True)
    write_fast_zkey(keys.pk_bin, keys.circuit.r1cs, keys.fast_zkey)
    backend = Groth16pyBackend()
    assert _groth16py_key_file(keys) == (keys.fast_zkey, "zkey")
    backend.load(keys)
    proof = backend.prove(keys, wtns)
    assert verify(keys.verifying_key(), proof)

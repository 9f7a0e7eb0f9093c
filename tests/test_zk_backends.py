"""Both prover backends, all three verifiers (py-ecc, snarkjs, on-chain), on one small circuit.

The snarkjs path runs in full (local Powers of Tau -> groth16 setup -> prove -> verify); the fast
backend uses its own development setup and, on the ceremony path, the snarkjs zkey. Every honest
proof must be accepted by all three verifiers and every tampered proof or public signal rejected
by all three.
"""

from __future__ import annotations

import json

import pytest

from pymargin.chain.tx import node_signer
from pymargin.fixedpoint import Rounding, smul_div
from pymargin.chain import solvency as onchain
from pymargin.zk import backends, setup
from pymargin.zk.field import FIELD_P, from_field, to_field
from pymargin.zk.proof import Proof, load_artifact, save_artifact
from pymargin.zk.verify import verify
from pymargin.zk.witness import compute_witness
from zk_small import A, B, mulwad_circuit


@pytest.fixture(scope="module")
def circuit():
    return mulwad_circuit()


@pytest.fixture(scope="module")
def wtns(circuit, tmp_path_factory):
    return compute_witness(circuit, {"a": to_field(A), "b": to_field(B)}, tmp_path_factory.mktemp("w") / "w.wtns")


def _tampered(proof: Proof) -> list[Proof]:
    """A wrong public output, a wrong public input, and a proof with A and C swapped."""
    out, a = proof.public
    return [
        Proof(proof.a, proof.b, proof.c, ((out + 1) % FIELD_P, a)),
        Proof(proof.a, proof.b, proof.c, (out, (a + 1) % FIELD_P)),
        Proof(proof.c, proof.b, proof.a, proof.public),
    ]


def _check_all_verifiers(chain, keys, proof):
    vk = keys.verifying_key()
    verifier, _ = onchain.deploy_verifier(chain, keys, node_signer(chain))
    assert verify(vk, proof)
    assert backends.SnarkjsBackend.verify(vk, proof)
    assert onchain.verify_onchain(verifier, proof)
    for bad in _tampered(proof):
        assert not verify(vk, bad)
        assert not backends.SnarkjsBackend.verify(vk, bad)
        assert not onchain.verify_onchain(verifier, bad)


def test_public_signals_are_the_exact_fixed_point_result(circuit, wtns):
    keys = setup.dev_setup_groth16py(circuit)
    proof = backends.Groth16pyBackend().prove(keys, wtns)
    assert [from_field(x) for x in proof.public] == [smul_div(A, B, 10**18, Rounding.Floor), A]


def test_fast_backend_dev_setup_agrees_on_three_verifiers(chain, circuit, wtns):
    keys = backends.Groth16pyBackend().setup(circuit)
    assert keys.development and "DEVELOPMENT" in (keys.dir / "SETUP.txt").read_text()
    proof = backends.Groth16pyBackend().prove(keys, wtns)
    _check_all_verifiers(chain, keys, proof)


def test_snarkjs_full_path_and_fast_backend_on_its_zkey(chain, circuit, wtns):
    ptau = setup.dev_ptau(setup.ptau_power(circuit))
    keys = backends.SnarkjsBackend().setup(circuit, ptau)  # the ceremony path, fed a local ptau
    assert not keys.development and keys.zkey.is_file()
    reference = backends.SnarkjsBackend().prove(keys, wtns)
    fast = backends.Groth16pyBackend().prove(keys, wtns)  # groth16py imports the snarkjs zkey
    assert fast.public == reference.public
    _check_all_verifiers(chain, keys, reference)
    assert verify(keys.verifying_key(), fast)
    assert backends.SnarkjsBackend.verify(keys.verifying_key(), fast)


def test_setup_is_cached_by_circuit(circuit):
    first = setup.dev_setup_groth16py(circuit)
    mtime = first.pk_bin.stat().st_mtime_ns
    again = setup.dev_setup_groth16py(circuit)
    assert again.dir == first.dir and again.pk_bin.stat().st_mtime_ns == mtime


def test_proof_artifact_round_trip(tmp_path, circuit, wtns):
    keys = setup.dev_setup_groth16py(circuit)
    proof = backends.Groth16pyBackend().prove(keys, wtns)
    path = tmp_path / "proof.json"
    save_artifact(path, proof, circuit.name, {"note": "x"})
    loaded, name, meta = load_artifact(path)
    assert (loaded, name, meta) == (proof, circuit.name, {"note": "x"})
    assert json.loads(path.read_text())["proof"]["protocol"] == "groth16"


def test_proof_from_a_forged_witness_fails_every_verifier(chain, circuit, wtns, tmp_path):
    """A prover who edits the witness (a larger quotient) still gets a 'proof' from groth16py, which
    does not check the constraints; no verifier accepts it."""
    from pymargin.zk.witness import read_wtns, write_wtns

    keys = setup.dev_setup_groth16py(circuit)
    witness = read_wtns(wtns)
    witness[1] = (witness[1] + 1) % FIELD_P  # the public output q
    forged_path = tmp_path / "forged.wtns"
    write_wtns(forged_path, witness)
    forged = backends.Groth16pyBackend().prove(keys, forged_path)
    assert forged.public[0] == (smul_div(A, B, 10**18, Rounding.Floor) + 1) % FIELD_P
    vk = keys.verifying_key()
    verifier, _ = onchain.deploy_verifier(chain, keys, node_signer(chain))
    assert not verify(vk, forged)
    assert not backends.SnarkjsBackend.verify(vk, forged)
    assert not onchain.verify_onchain(verifier, forged)

"""The development zkey written from known toxic waste (pymargin.zk.dev_zkey) is a Groth16 key both
provers use: snarkjs (`groth16 prove` with the zkey) and groth16py (`import_zkey`) prove with it, and
py-ecc, snarkjs and the EVM verifier accept both proofs under the verifying key snarkjs exports from it
and reject tampered ones. Its points are the scalars' multiples (checked against py-ecc), and a zkey
with two H points swapped proves nothing, so the proving checks can fail."""

from __future__ import annotations

import secrets

import groth16py
import pytest
from py_ecc.optimized_bn128 import G1, G2, multiply, normalize

from pymargin.chain import solvency as onchain
from pymargin.chain.tx import node_signer
from pymargin.errors import UserError
from pymargin.zk import backends, dev_zkey, setup
from pymargin.zk.field import FIELD_P, to_field
from pymargin.zk.proof import Proof
from pymargin.zk.verify import verify
from pymargin.zk.wellformed import BASE_FIELD_Q
from pymargin.zk.witness import compute_witness
from zk_small import A, B, mulwad_circuit
from test_zk_backends import _tampered
from test_zk_zkey import _swap_two_h_points

R_Q = (1 << 256) % BASE_FIELD_Q


@pytest.fixture(scope="module")
def keys():
    return setup.dev_setup_zkey(mulwad_circuit())


@pytest.fixture(scope="module")
def wtns(keys, tmp_path_factory):
    return compute_witness(keys.circuit, {"a": to_field(A), "b": to_field(B)}, tmp_path_factory.mktemp("w") / "w.wtns")


def _groth16py_proof(zkey, keys, wtns) -> Proof:
    pk = groth16py.import_zkey(str(zkey))[0]
    return Proof.from_eth_bytes(groth16py.prove_wtns(pk, str(wtns)), list(backends._public(keys, wtns)))


def test_both_provers_and_three_verifiers_agree_on_the_dev_zkey(chain, keys, wtns):
    assert keys.development and keys.setup_id == "dev-zkey" and "DEVELOPMENT" in (keys.dir / "SETUP.txt").read_text()
    vk = keys.verifying_key()
    verifier, _ = onchain.deploy_verifier(chain, keys, node_signer(chain))
    reference = backends.SnarkjsBackend().prove(keys, wtns)
    fast = _groth16py_proof(keys.zkey, keys, wtns)
    assert fast.public == reference.public
    for proof in (reference, fast):
        assert verify(vk, proof)
        assert backends.SnarkjsBackend.verify(vk, proof)
        assert onchain.verify_onchain(verifier, proof)
    for bad in _tampered(reference):
        assert not verify(vk, bad)
        assert not backends.SnarkjsBackend.verify(vk, bad)
        assert not onchain.verify_onchain(verifier, bad)


def test_a_zkey_with_two_h_points_swapped_gives_proofs_that_fail(keys, wtns, tmp_path):
    broken = tmp_path / "broken.zkey"
    broken.write_bytes(keys.zkey.read_bytes())
    _swap_two_h_points(broken)
    assert not verify(keys.verifying_key(), _groth16py_proof(broken, keys, wtns))


def _g1_bytes(s: int) -> bytes:
    if s == 0:
        return bytes(64)
    x, y = normalize(multiply(G1, s))
    return b"".join((v.n * R_Q % BASE_FIELD_Q).to_bytes(32, "little") for v in (x, y))


def _g2_bytes(s: int) -> bytes:
    if s == 0:
        return bytes(128)
    x, y = normalize(multiply(G2, s))
    return b"".join((c * R_Q % BASE_FIELD_Q).to_bytes(32, "little") for v in (x, y) for c in v.coeffs)


def test_node_multiples_are_py_eccs():
    scalars = [0, 1, 2, FIELD_P - 1, 1 << 253, (1 << 14) - 1, 1 << 14] + [secrets.randbelow(FIELD_P) for _ in range(5)]
    g1, g2 = dev_zkey.multiply_generators(scalars, scalars, workers=2)
    assert g1 == b"".join(_g1_bytes(s) for s in scalars)
    assert g2 == b"".join(_g2_bytes(s) for s in scalars)


def test_node_multiples_with_the_widest_window_are_py_eccs(monkeypatch):
    """The 16-bit comb window chosen for ~10^6 multiples per worker (K = 8): its G2 table's batch
    conversion once overran the wasm scratch memory ("memory access out of bounds")."""
    monkeypatch.setenv("PYMARGIN_FIXED_BASE_WINDOW", "16")
    scalars = [1, FIELD_P - 1, secrets.randbelow(FIELD_P)]
    g1, g2 = dev_zkey.multiply_generators(scalars, scalars, workers=1)
    assert g1 == b"".join(_g1_bytes(s) for s in scalars)
    assert g2 == b"".join(_g2_bytes(s) for s in scalars)


def test_lagrange_polynomials_at_tau_interpolate_over_the_domain():
    """Σ_k L_k(τ)·x_k^e = τ^e for e < size (the basis reproduces every polynomial of lower degree), on the
    n-domain and on the odd points of the 2n-domain together with the even ones."""
    tau, size = secrets.randbelow(FIELD_P), 16
    lag = dev_zkey.lagrange_at(tau, size, size)
    w = dev_zkey.root_of_unity(4)
    assert pow(w, 8, FIELD_P) == FIELD_P - 1
    for e in (0, 1, 7, 15):
        assert sum(l * pow(w, k * e, FIELD_P) for k, l in enumerate(lag)) % FIELD_P == pow(tau, e, FIELD_P)
    odd, even = dev_zkey.lagrange_at(tau, 2 * size, size, first=1, step=2), dev_zkey.lagrange_at(tau, 2 * size, size, step=2)
    assert (sum(odd) + sum(even)) % FIELD_P == 1


def test_the_dev_setup_is_chosen_by_environment(monkeypatch):
    circuit = mulwad_circuit()
    monkeypatch.setenv("PYMARGIN_DEV_SETUP", "zkey")
    keys = backends.Groth16pyBackend().setup(circuit)
    assert keys.setup_id == "dev-zkey" and backends._groth16py_key_file(keys) == (keys.zkey, "zkey")
    assert backends.SnarkjsBackend().setup(circuit).setup_id == "dev-zkey"
    monkeypatch.setenv("PYMARGIN_DEV_SETUP", "ptau")
    with pytest.raises(UserError, match="not a development setup"):
        backends.Groth16pyBackend().setup(circuit)


@pytest.mark.slow
def test_a_solvency_batch_proven_from_the_dev_zkey_by_both_provers_verifies_everywhere(chain, tmp_path):
    """SolvencyBatch(2, 4, 1) with a random book: the same checks as on the small circuit."""
    from pymargin.commit.commitment import commit_accounts
    from pymargin.zk import circuits, inputs
    from pymargin.zk.statement import Shape
    from zk_books import book

    shape = Shape(k=2, t=1, m=4)
    accounts, views = book(2026, 1 << shape.k)
    commitment = commit_accounts(accounts, views, None, 1, depth=shape.k + shape.t)
    statement = inputs.epoch_statement(commitment, None, shape, 31337, 0x1234, 0x5678, 1, len(views))
    batch = inputs.batch_inputs(commitment, None, statement)[0]
    keys = setup.dev_setup_zkey(circuits.solvency(shape.k, shape.m, shape.t))
    wtns = compute_witness(keys.circuit, batch.inputs, tmp_path / "w.wtns")
    vk = keys.verifying_key()
    verifier, _ = onchain.deploy_verifier(chain, keys, node_signer(chain))
    reference = backends.SnarkjsBackend().prove(keys, wtns)
    fast = _groth16py_proof(keys.zkey, keys, wtns)
    assert reference.public == fast.public == batch.public
    for proof in (reference, fast):
        assert verify(vk, proof) and backends.SnarkjsBackend.verify(vk, proof) and onchain.verify_onchain(verifier, proof)
    bad = Proof(reference.a, reference.b, reference.c, ((batch.public[0] + 1) % FIELD_P, *batch.public[1:]))
    assert not verify(vk, bad) and not backends.SnarkjsBackend.verify(vk, bad) and not onchain.verify_onchain(verifier, bad)

"""Groth16 proofs of PortfolioMarginBatch: one account over one underlying (default run) and two
accounts over two underlyings (slow), portfolio margins against public risk tables, proven with
groth16py (development setup) and accepted by py-ecc, snarkjs and the EVM verifier (revm); the
public signals are pymargin.zk.portfolio's (riskHash, accountsHash, Σ MM, Σ IM), the margins
riskbatch's. Every verifier rejects the proof
with a smaller Σ MM, with another book's tables, and a proof made from a witness edited to claim a
smaller MM (groth16py proves it without checking the constraints).
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from pymargin.chain import solvency as onchain
from pymargin.chain.fastevm import FastEVM
from pymargin.fixedpoint import WAD
from pymargin.riskarray import InstrumentKind as Kind
from pymargin.zk import backends, circuits, setup
from pymargin.zk import portfolio as zp
from pymargin.zk import verify as pyecc
from pymargin.zk.calldata import verify_proof_calldata
from pymargin.zk.field import FIELD_P
from pymargin.zk.witness import compute_witness, read_wtns, signal_indices, write_wtns
from test_risk_batch import IM_MULTIPLE, digits, rand_market, table

SHAPES = [  # (B, shape): the default run proves one account; the slow run two over two underlyings
    pytest.param((1, zp.PortfolioShape(u=1, k=2, p=2)), id="b1_u1"),
    pytest.param((2, zp.PortfolioShape(u=2, k=2, p=2)), id="b2_u2", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module", params=SHAPES)
def world(request, tmp_path_factory):
    b, shape = request.param
    rng = random.Random("portfolio-proof")
    states, series = rand_market(rng, underlyings=shape.u, series_per=shape.k)
    tables = zp.risk_tables(table(states, series), shape, IM_MULTIPLE)
    # series u·k: the perp of underlying u; u·k + 1: an option on it
    hedge = -1 if series[1][1] == Kind.Call else 1  # a long perp with a short call, or with a long put
    hedged = [(0, digits(rng, WAD, 40 * WAD)), (1, hedge * digits(rng, WAD, 40 * WAD))]
    naked = [(u * shape.k + 1, -digits(rng, WAD, 40 * WAD)) for u in range(shape.u)]  # short options, every underlying
    accounts = [hedged, naked][:b]
    salts = [rng.randrange(FIELD_P) for _ in range(b)]
    circuit = circuits.portfolio_batch(b, shape.u, shape.k, shape.p)
    keys = setup.dev_setup_groth16py(circuit)
    wtns = compute_witness(circuit, zp.batch_inputs(tables, salts, accounts), tmp_path_factory.mktemp("wtns") / "w.wtns")
    proof = backends.Groth16pyBackend().prove(keys, wtns)
    evm = FastEVM()
    verifier = evm.deploy(onchain.VERIFIER_CONTRACT, out_dir=onchain.verifier_artifacts(keys))
    return {"tables": tables, "accounts": accounts, "salts": salts, "keys": keys, "wtns": wtns, "proof": proof,
            "evm": evm, "verifier": verifier, "b": b, "shape": shape}


def _verdicts(world, proof) -> tuple[bool, bool, bool]:
    vk = world["keys"].verifying_key()
    out = world["evm"].call(world["verifier"].address, verify_proof_calldata(proof))
    return pyecc.verify(vk, proof), backends.SnarkjsBackend.verify(vk, proof), int.from_bytes(out, "big") == 1


def test_proof_is_accepted_and_public_signals_are_pythons(world):
    tables, salts, accounts = world["tables"], world["salts"], world["accounts"]
    public = zp.batch_public(tables, salts, accounts)
    assert world["proof"].public == public
    mm = [m for m, _ in zp.margins(tables, accounts)]
    assert public[2] == sum(mm) and all(m > 0 for m in mm)
    assert _verdicts(world, world["proof"]) == (True, True, True)


def test_every_verifier_rejects_a_smaller_margin_or_other_tables(world):
    proof, tables = world["proof"], world["tables"]
    risk, accounts_hash, total_mm, total_im = proof.public
    other = zp.risk_tables({**tables.series, 0: dataclasses.replace(tables.series[0], som_per_unit_wad=1)}, world["shape"], tables.multiple_wad)
    for public in ((risk, accounts_hash, total_mm - 1, total_im), (zp.risk_hash(other, world["b"]), accounts_hash, total_mm, total_im)):
        assert _verdicts(world, dataclasses.replace(proof, public=public)) == (False, False, False)


def test_a_proof_of_an_edited_witness_is_rejected_by_every_verifier(world, tmp_path):
    keys = world["keys"]
    witness = read_wtns(world["wtns"])
    names = signal_indices(keys.circuit)
    witness[names["main.totalMm"]] -= 1  # Σ MM one unit lower; nothing else changed
    forged_path = tmp_path / "forged.wtns"
    write_wtns(forged_path, witness)
    forged = backends.Groth16pyBackend().prove(keys, forged_path)
    assert forged.public[2] == world["proof"].public[2] - 1
    assert _verdicts(world, forged) == (False, False, False)

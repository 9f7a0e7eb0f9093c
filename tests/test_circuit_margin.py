"""AccountMargin against pymargin.margin on random and extreme accounts; PrivateMargin proofs.

AccountMargin's outputs (equity, requirement) must equal pymargin.margin.equity and
maintenance_margin / initial_margin exactly, including at the §3 bounds where the intermediates
reach 2^250; PrivateMargin proves equity >= IM (or MM) against the account's leaf hash only.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from pymargin import margin
from pymargin.commit.leaf import leaf_of
from pymargin.model import WAD, Account, MarketView, Position
from pymargin.zk import circuits, inputs
from pymargin.zk.backends import Groth16pyBackend, SnarkjsBackend
from pymargin.zk.field import from_field
from pymargin.zk.verify import verify
from pymargin.zk.witness import WitnessError, compute_witness, read_wtns
from zk_books import OWNERS, account, markets

M = 4
SECRET = b"\x07" * 32
MAX = 2**94 - 1


def _extreme(rng: random.Random) -> tuple[Account, dict[int, MarketView]]:
    """Every value at or near its bound (|size|, price < 2^94, |F|, |f| < 2^100, |cost| < 2^130, fractions = WAD)."""
    views = {j: MarketView(MAX - rng.randrange(3), rng.choice([1, -1]) * (2**100 - 1 - rng.randrange(3)), WAD, WAD) for j in range(M)}
    positions = {j: Position(j, rng.choice([1, -1]) * (MAX - rng.randrange(5)), rng.choice([1, -1]) * (2**130 - 1), rng.choice([1, -1]) * (2**100 - 1)) for j in range(M)}
    return Account(OWNERS[0], 0, rng.choice([1, -1]) * (2**128 - 1), positions), views


@pytest.fixture(scope="module")
def circuit():
    return circuits.account_margin(M)


@pytest.mark.parametrize("seed", range(6))
def test_account_margin_equals_python(circuit, tmp_path, seed):
    rng = random.Random(seed)
    acct, views = _extreme(rng) if seed < 2 else (None, markets(rng, M))
    if acct is None:
        acct = account(rng, OWNERS[seed], views, cushion=bool(seed % 2))
    leaf = leaf_of(acct, SECRET)
    positions = list(acct.positions.values())
    table = inputs.market_table(views, M)
    for initial in (False, True):
        w = read_wtns(compute_witness(circuit, inputs.account_margin_inputs(leaf, table, initial), tmp_path / "w.wtns"))
        equity, requirement = from_field(w[1]), from_field(w[2])
        assert equity == margin.equity(acct.collateral, positions, views)
        want = margin.initial_margin(positions, views) if initial else margin.maintenance_margin(positions, views)
        assert requirement == want


def test_market_id_outside_the_circuit_is_rejected(circuit, tmp_path):
    rng = random.Random(3)
    views = markets(rng, M)
    acct = account(rng, OWNERS[1], views)
    leaf = leaf_of(acct, SECRET)
    bad = inputs.account_margin_inputs(leaf, inputs.market_table(views, M), False)
    bad["slots"][0][0] = M  # a market the circuit has no view of
    with pytest.raises(WitnessError):
        compute_witness(circuit, bad, tmp_path / "w.wtns")


def _private_setup():
    circuit = circuits.private_margin(M)
    return circuit, Groth16pyBackend().setup(circuit)


def test_private_margin_proves_against_the_leaf_hash_only(tmp_path):
    circuit, keys = _private_setup()
    rng = random.Random(5)
    views = markets(rng, M)
    acct = next(a for a in (account(rng, OWNERS[i], views) for i in range(50)) if a.positions
                and margin.equity(a.collateral, list(a.positions.values()), views) >= margin.initial_margin(list(a.positions.values()), views))
    leaf = leaf_of(acct, SECRET)
    table = inputs.market_table(views, M)
    wtns = compute_witness(circuit, inputs.private_margin_inputs(leaf, table, True), tmp_path / "w.wtns")
    proof = Groth16pyBackend().prove(keys, wtns)
    assert proof.public == (inputs.private_margin_public_hash(leaf.hash(), table, True),)
    vk = keys.verifying_key()
    assert verify(vk, proof) and SnarkjsBackend.verify(vk, proof)
    other_leaf = dataclasses.replace(leaf, collateral=leaf.collateral + 1).hash()
    for public in (inputs.private_margin_public_hash(other_leaf, table, True), inputs.private_margin_public_hash(leaf.hash(), table, False)):
        forged = dataclasses.replace(proof, public=(public,))
        assert not verify(vk, forged) and not SnarkjsBackend.verify(vk, forged)


def test_private_margin_refuses_an_account_below_initial_margin(tmp_path):
    circuit, _ = _private_setup()
    rng = random.Random(6)
    views = markets(rng, M)
    acct = next(a for a in (account(rng, OWNERS[i], views, cushion=False) for i in range(50)) if a.positions)
    positions = list(acct.positions.values())
    assert margin.equity(acct.collateral, positions, views) < margin.initial_margin(positions, views)
    leaf = leaf_of(acct, SECRET)
    table = inputs.market_table(views, M)
    compute_witness(circuit, inputs.private_margin_inputs(leaf, table, False), tmp_path / "mm.wtns")  # meets MM exactly
    with pytest.raises(WitnessError):
        compute_witness(circuit, inputs.private_margin_inputs(leaf, table, True), tmp_path / "im.wtns")

"""SolvencyBatch end to end on a 13-account book (3 padding leaves, depth 4, two chained batches of 8):
the circuit's root and public hash equal Python's and the registry's, every proof verifies on py-ecc,
snarkjs and on-chain, the registry accepts the epoch and rejects bad ones, and bad witnesses or bad
public data cannot be proven or fail every verifier.
"""

from __future__ import annotations

import dataclasses

import pytest

from pymargin import margin
from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import ContractRevert, deploy_contract
from pymargin.chain.tx import node_signer
from pymargin.chain import commitments as commit_onchain
from pymargin.commit.commitment import commit_accounts
from pymargin.commit.tree import Node
from pymargin.model import MarketView
from pymargin.chain import solvency as onchain
from pymargin.zk import circuits, inputs
from pymargin.zk.backends import SnarkjsBackend
from pymargin.zk.field import FIELD_P
from pymargin.zk.r1cs import read_r1cs, unsatisfied
from pymargin.zk.solvency import EpochProof, prove_epoch, verify_epoch
from pymargin.zk.verify import verify
from pymargin.zk.wellformed import BASE_FIELD_Q
from pymargin.zk.witness import WitnessError, compute_witness, read_wtns, signal_indices
from zk_books import book

K, M, DEPTH, EPOCH = 3, 4, 4, 7
SECRET = bytes(range(32))


@pytest.fixture(scope="module")
def world(chain_session):
    """Hashers, verifier, engine views and registry deployed; the book committed and proven."""
    chain = chain_session
    snapshot = chain.snapshot()
    sender = node_signer(chain)
    compile_contracts()
    accounts, views = book(11, 13)
    commitment = commit_accounts(accounts, views, SECRET, EPOCH, depth=DEPTH)
    circuit = circuits.solvency(K, M, DEPTH - K)
    from pymargin.zk.backends import Groth16pyBackend

    keys = Groth16pyBackend().setup(circuit)
    verifier, _ = onchain.deploy_verifier(chain, keys, sender)
    hashers = commit_onchain.deploy_hashers(chain, sender)
    engine, _ = deploy_contract(chain, "TestEngineViews", sender=sender)
    engine.transact("setMarkets", [(v.price_wad, v.funding_index_wad, v.imf_wad, v.mmf_wad) for v in views.values()], sender=sender)
    engine.transact("setReserves", commitment.root.equity, sender=sender)
    registry = onchain.deploy_registry(chain, sender, verifier, engine.address, hashers, k=K, m=M, depth=DEPTH)
    ctx = inputs.EpochContext(EPOCH, chain.chain_id, int(registry.address, 16), DEPTH, inputs.market_table(views, M), commitment.root)
    epoch, keys = prove_epoch(commitment, SECRET, ctx, K, M, "groth16py", workers=2)
    yield dict(chain=chain, sender=sender, commitment=commitment, circuit=circuit, keys=keys, verifier=verifier,
               hashers=hashers, engine=engine, registry=registry, ctx=ctx, epoch=epoch, views=views)
    chain.revert(snapshot)


@pytest.fixture
def w(world):
    snapshot = world["chain"].snapshot()
    yield world
    world["chain"].revert(snapshot)


def _markets_arg(ctx):
    return [(v.price_wad, v.funding_index_wad, v.imf_wad, v.mmf_wad) for v in ctx.markets[:4]]


def test_public_hashes_agree_with_the_registry(w):
    ctx, registry, epoch = w["ctx"], w["registry"], w["epoch"]
    root = (ctx.root.hash, ctx.root.equity, ctx.root.mm)
    ctx_h = registry.call("contextHash", EPOCH, root, _markets_arg(ctx))
    assert ctx_h == inputs.context_hash(ctx)
    for i, proof in enumerate(epoch.proofs):
        assert registry.call("batchPublicHash", ctx_h, i, epoch.states[i], epoch.states[i + 1]) == proof.public[0]


def test_every_batch_verifies_on_three_verifiers(w, tmp_path):
    epoch, keys = w["epoch"], w["keys"]
    vk = keys.verifying_key()
    assert len(epoch.proofs) == 2 and verify_epoch(epoch, vk) == []
    for proof in epoch.proofs:
        assert SnarkjsBackend.verify(vk, proof)
        assert onchain.verify_onchain(w["verifier"], proof)
    epoch.save(tmp_path / "epoch.json")
    assert verify_epoch(EpochProof.load(tmp_path / "epoch.json"), vk) == []


def test_registry_accepts_the_epoch_and_users_check_inclusion(w):
    registry, epoch, commitment = w["registry"], w["epoch"], w["commitment"]
    receipt = onchain.post_epoch(registry, epoch, w["sender"])
    events = registry.decode_logs(receipt)
    assert events[0][0] == "EpochPosted" and events[0][1]["totalEquity"] == commitment.root.equity
    stored = registry.call("epochs", EPOCH)
    assert tuple(stored[:3]) == (commitment.root.hash, commitment.root.equity, commitment.root.mm)
    index = 5
    leaf = commitment.leaf(index, SECRET)
    node = commitment.tree.node(0, index)
    siblings = [commit_onchain.node_arg(n) for n in commitment.tree.siblings(index)]
    assert registry.call("verifyInclusionAt", EPOCH, commit_onchain.leaf_arg(leaf), node.equity, node.mm, index, siblings)
    assert not registry.call("verifyInclusionAt", EPOCH, commit_onchain.leaf_arg(leaf), node.equity, node.mm, index ^ 1, siblings)
    with pytest.raises(ContractRevert) as exc:  # a replay of the same epoch
        onchain.post_epoch(registry, epoch, w["sender"])
    assert exc.value.name == "EpochNotIncreasing"


def _post_expecting(w, epoch, name, args=None, registry=None):
    with pytest.raises(ContractRevert) as exc:
        onchain.post_epoch(registry or w["registry"], epoch, w["sender"])
    assert exc.value.name == name
    if args is not None:
        assert exc.value.args_ == args


def test_registry_rejects_bad_epochs(w):
    epoch, ctx = w["epoch"], w["ctx"]
    # the same proofs for another epoch number
    _post_expecting(w, dataclasses.replace(epoch, ctx=dataclasses.replace(ctx, epoch=EPOCH + 1)), "InvalidBatchProof", (0,))
    # totals that are not the sums
    bad_root = Node(ctx.root.hash, ctx.root.equity - 1, ctx.root.mm)
    _post_expecting(w, dataclasses.replace(epoch, ctx=dataclasses.replace(ctx, root=bad_root)), "InvalidBatchProof", (0,))
    # a missing batch, swapped chain states
    _post_expecting(w, dataclasses.replace(epoch, proofs=epoch.proofs[:1], states=epoch.states[:2]), "WrongBatchCount")
    swapped = (epoch.states[0], epoch.states[2], epoch.states[1])
    _post_expecting(w, dataclasses.replace(epoch, states=swapped), "InvalidBatchProof", (0,))
    # a snapshot price that is not the engine's
    views = list(ctx.markets)
    views[2] = dataclasses.replace(views[2], price_wad=views[2].price_wad + 1)
    _post_expecting(w, dataclasses.replace(epoch, ctx=dataclasses.replace(ctx, markets=tuple(views))), "PriceMismatch", (2,))
    # the engine's price moved: the snapshot matches it, the proofs do not
    w["engine"].transact("setMarkets", [(v.price_wad, v.funding_index_wad, v.imf_wad, v.mmf_wad) for v in views[:4]], sender=w["sender"])
    _post_expecting(w, dataclasses.replace(epoch, ctx=dataclasses.replace(ctx, markets=tuple(views))), "InvalidBatchProof", (0,))


def test_registry_rejects_reserves_below_liabilities(w):
    w["engine"].transact("setReserves", w["ctx"].root.equity - 1, sender=w["sender"])
    _post_expecting(w, w["epoch"], "InsufficientReserves", (w["ctx"].root.equity - 1, w["ctx"].root.equity))


def test_proof_replayed_on_another_registry_fails(w):
    other = onchain.deploy_registry(w["chain"], w["sender"], w["verifier"], w["engine"].address, w["hashers"], k=K, m=M, depth=DEPTH)
    _post_expecting(w, w["epoch"], "InvalidBatchProof", (0,), registry=other)


@pytest.mark.parametrize("change", ["epoch", "chain_id", "registry", "price", "funding", "totals"])
def test_bad_public_data_fails_all_three_verifiers(w, change):
    epoch, ctx = w["epoch"], w["ctx"]
    views = list(ctx.markets)
    bad = {
        "epoch": lambda: dataclasses.replace(ctx, epoch=ctx.epoch + 1),
        "chain_id": lambda: dataclasses.replace(ctx, chain_id=ctx.chain_id + 1),
        "registry": lambda: dataclasses.replace(ctx, registry=ctx.registry + 1),
        "price": lambda: dataclasses.replace(ctx, markets=tuple([dataclasses.replace(views[0], price_wad=views[0].price_wad * 2)] + views[1:])),
        "funding": lambda: dataclasses.replace(ctx, markets=tuple(views[:1] + [dataclasses.replace(views[1], funding_index_wad=views[1].funding_index_wad + 1)] + views[2:])),
        "totals": lambda: dataclasses.replace(ctx, root=Node(ctx.root.hash, ctx.root.equity + 1, ctx.root.mm)),
    }[change]()
    ctx_h = inputs.context_hash(bad)
    proof = epoch.proofs[0]
    forged = dataclasses.replace(proof, public=(inputs.batch_public_hash(ctx_h, 0, epoch.states[0], epoch.states[1]),))
    vk = w["keys"].verifying_key()
    assert not verify(vk, forged)
    assert not SnarkjsBackend.verify(vk, forged)
    assert not onchain.verify_onchain(w["verifier"], forged)



@pytest.mark.parametrize("coordinate", ["pi_a.x + q", "pi_c.y + q", "pi_a.y ≡ y + 2^256 (mod q)"])
def test_non_canonical_batch_proof_fails_all_three_verifiers_and_the_registry(w, coordinate):
    """A batch proof with a coordinate ≥ q (the last kind passed snarkjs's plain Solidity template):
    py-ecc, snarkjs, verify_epoch, the verifier contract and the registry all reject it."""
    epoch = w["epoch"]
    proof = epoch.proofs[1]
    (ax, ay), (cx, cy) = proof.a, proof.c
    bad = {
        "pi_a.x + q": dataclasses.replace(proof, a=(ax + BASE_FIELD_Q, ay)),
        "pi_c.y + q": dataclasses.replace(proof, c=(cx, cy + BASE_FIELD_Q)),
        "pi_a.y ≡ y + 2^256 (mod q)": dataclasses.replace(proof, a=(ax, (ay + 2**256) % BASE_FIELD_Q + BASE_FIELD_Q)),
    }[coordinate]
    vk = w["keys"].verifying_key()
    assert not verify(vk, bad)
    assert not SnarkjsBackend.verify(vk, bad)
    assert not onchain.verify_onchain(w["verifier"], bad)
    tampered = dataclasses.replace(epoch, proofs=(epoch.proofs[0], bad))
    name = coordinate.split()[0]
    assert verify_epoch(tampered, vk) == [f"batch 1: malformed proof: {name} is not below the base-field modulus q"]
    _post_expecting(w, tampered, "InvalidBatchProof", (1,))

# --- bad witnesses: the generator refuses them, and a forged assignment breaks the r1cs ---------

@pytest.fixture(scope="module")
def batch0(world, tmp_path_factory):
    batches = inputs.batch_inputs(world["commitment"], SECRET, world["ctx"], K)
    circuit = world["circuit"]
    path = compute_witness(circuit, batches[0].inputs, tmp_path_factory.mktemp("w") / "b0.wtns")
    return batches[0], read_wtns(path), read_r1cs(circuit.r1cs), signal_indices(circuit)


def _refused(circuit, inputs_, tmp_path):
    with pytest.raises(WitnessError):
        compute_witness(circuit, inputs_, tmp_path / "bad.wtns")


def test_under_margined_account_cannot_be_proven(world, tmp_path):
    accounts, views = book(11, 13)
    weak = next(a for a in accounts[3:] if a.positions)
    positions = list(weak.positions.values())
    weak.collateral -= margin.equity(weak.collateral, positions, views)  # equity 0 (committable), below mm
    assert margin.equity(weak.collateral, positions, views) < margin.maintenance_margin(positions, views)
    commitment = commit_accounts(accounts, views, SECRET, EPOCH, depth=DEPTH)
    ctx = dataclasses.replace(world["ctx"], root=commitment.root)
    index = commitment.accounts.index(weak) // (1 << K)
    batch = inputs.batch_inputs(commitment, SECRET, ctx, K)[index]
    _refused(world["circuit"], batch.inputs, tmp_path)


def test_forged_equity_quotient_breaks_the_r1cs(batch0):
    _, witness, system, names = batch0
    for i in (0, 3):
        q = names[f"main.margin[{i}].floorValue.out"]
        forged = list(witness)
        forged[q] = (forged[q] + 10**6) % FIELD_P  # claim more equity than the floor division gives
        assert unsatisfied(system, forged)


@pytest.mark.parametrize("case", ["negative_balance", "field_wrap", "leaf_not_in_root", "duplicate", "padding_then_account", "wrong_total", "first_batch_not_empty"])
def test_bad_witness_cannot_be_made(world, batch0, tmp_path, case):
    batch, _, _, _ = batch0
    bad = {k: (list(v) if isinstance(v, list) else v) for k, v in batch.inputs.items()}
    bad["slots"] = [[list(s) for s in leaf] for leaf in batch.inputs["slots"]]
    bad["siblings"] = [list(s) for s in batch.inputs["siblings"]]
    if case == "negative_balance":
        bad["collateral"][0] = FIELD_P - 10**30  # -1e12 quote units of collateral
    elif case == "field_wrap":
        bad["collateral"][0] = (bad["collateral"][0] + 2**200) % FIELD_P
    elif case == "leaf_not_in_root":
        bad["siblings"][0][0] = (bad["siblings"][0][0] + 1) % FIELD_P
    elif case == "duplicate":
        for key in ("idHash", "salt", "collateral", "slots"):
            bad[key][1] = bad[key][0]
    elif case == "padding_then_account":
        for key in ("idHash", "salt", "collateral"):
            bad[key][0] = 0
        bad["slots"][0] = [[0, 0, 0, 0]] * 4
    elif case == "wrong_total":
        bad["totalEquity"] += 1
    elif case == "first_batch_not_empty":
        bad["equityIn"] = 1
    _refused(world["circuit"], bad, tmp_path)

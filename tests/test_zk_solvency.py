"""SolvencyBatch soundness on a small book: 3 accounts on 3 of the circuit's 4 market slots, one
liquidatable (0 < equity < mm) and one with negative equity (bad debt), committed at depth 2 and
proven in two chained batches of 2 (the second holds a padding leaf).

The epoch proves and verifies on py-ecc (batched), snarkjs (each proof) and the EVM verifiers (batch
and single), and its totals equal
pymargin.batch on the same book. Then every attack of issue 10 that the circuit and the Python
verifier must stop: a partial chain with an edited K, a phantom market, an account left out, wrong
totals or aggregates, a tampered state chain, and bad witnesses.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from cli_support import run_cli
from output_rules import check_output
from pymargin.jsonvalues import hash_hex
from pymargin import batch, margin
from pymargin.chain import solvency as onchain
from pymargin.chain.compile import compile_contracts
from pymargin.chain.tx import node_signer
from pymargin.commit.commitment import commit_accounts
from pymargin.commit.tree import Node
from pymargin.errors import UserError
from pymargin.model import MarketView
from pymargin.zk import circuits, inputs
from pymargin.zk.backends import SnarkjsBackend
from pymargin.zk.field import FIELD_P
from pymargin.zk.r1cs import read_r1cs, unsatisfied
from pymargin.zk.solvency import EpochProof, prove_epoch, recorded_shape, verify_epoch
from pymargin.zk.statement import EMPTY_AGGREGATE, MarketAggregate, Shape, batch_public_signals, check_statement, context_hash
from pymargin.zk.verify import verify, verify_batch
from pymargin.zk.wellformed import BASE_FIELD_Q
from pymargin.zk.witness import WitnessError, compute_witness, read_wtns, signal_indices
from zk_books import book as random_book

SHAPE = Shape(k=1, t=1, m=4)
MARKET_COUNT = 3
CHECKPOINT = 7
CHAIN_ID, REGISTRY, ENGINE = 31337, 0xC0FFEE, 0xE9E
SECRET = bytes(range(32))


def stressed_book():
    """3 random accounts on 3 markets (seed 23: accounts 0 and 2 hold positions, account 1 none); account 0
    gets negative equity (−1414.2… quote), account 2 is liquidatable (equity = mm / 3 > 0)."""
    accounts, views = random_book(23, 3, MARKET_COUNT)
    for a in accounts:
        a.sub = 0  # cross-margin sub-accounts: a positions file allows several markets only there
    negative, weak = accounts[0], accounts[2]
    assert negative.positions and weak.positions and not accounts[1].positions
    negative.collateral -= margin.equity(negative.collateral, list(negative.positions.values()), views) + 1_414_213_562_373_095_048_801
    mm = margin.maintenance_margin(list(weak.positions.values()), views)
    weak.collateral += mm // 3 - margin.equity(weak.collateral, list(weak.positions.values()), views)
    return accounts, views


@pytest.fixture(scope="module")
def world(chain_session, tmp_path_factory):
    accounts, views = stressed_book()
    commitment = commit_accounts(accounts, views, SECRET, CHECKPOINT, depth=SHAPE.depth)
    statement = inputs.epoch_statement(commitment, SECRET, SHAPE, CHAIN_ID, REGISTRY, ENGINE, CHECKPOINT, MARKET_COUNT)
    circuit = circuits.solvency(SHAPE.k, SHAPE.m, SHAPE.t)
    epoch, keys = prove_epoch(commitment, SECRET, statement, "groth16py", workers=2)
    chain = chain_session
    compile_contracts()
    verifier, _ = onchain.deploy_verifier(chain, keys, node_signer(chain))
    batch_verifier, _ = onchain.deploy_batch_verifier(chain, keys, node_signer(chain))
    path = tmp_path_factory.mktemp("epoch") / "epoch.json"
    epoch.save(path)
    return dict(accounts=accounts, views=views, commitment=commitment, statement=statement, circuit=circuit,
                epoch=epoch, keys=keys, vk=keys.verifying_key(), verifier=verifier, batch_verifier=batch_verifier, path=path)


def _book(accounts, views):
    return batch.Book.from_accounts([(a.collateral, list(a.positions.values())) for a in accounts], views)


def test_stressed_book_proves_and_verifies_three_ways(world):
    epoch, vk = world["epoch"], world["vk"]
    assert len(epoch.proofs) == 2
    assert recorded_shape(world["keys"].vk_path) == SHAPE
    assert verify_epoch(EpochProof.load(world["path"]), vk, SHAPE) == []
    assert onchain.verify_batch_onchain(world["batch_verifier"], list(epoch.proofs))
    for i, proof in enumerate(epoch.proofs):
        assert proof.public == (context_hash(epoch.statement), i, epoch.states[i], epoch.states[i + 1])
        assert SnarkjsBackend.verify(vk, proof)
        assert onchain.verify_onchain(world["verifier"], proof)


def test_published_totals_equal_pymargin_batch(world):
    totals = world["statement"].totals
    figures = batch.solvency_figures(_book(world["accounts"], world["views"]))
    assert dataclasses.asdict(figures) == dataclasses.asdict(totals)
    assert totals.deficit_wad > 0 and totals.below_mm_count == 2 and totals.shortfall_wad > totals.deficit_wad
    assert world["statement"].root.equity == totals.liabilities_wad  # the tree sums max(equity, 0)


def test_aggregates_are_the_per_market_sums(world):
    aggregates = world["statement"].aggregates
    positions = [p for a in world["accounts"] for p in a.positions.values()]
    for j in range(MARKET_COUNT):
        mine = [p for p in positions if p.market_id == j]
        assert aggregates[j] == MarketAggregate(sum(max(p.size, 0) for p in mine), sum(max(-p.size, 0) for p in mine),
                                                sum(p.cost_basis for p in mine), sum(p.size * p.funding_index for p in mine))
    assert aggregates[MARKET_COUNT] == EMPTY_AGGREGATE
    assert world["statement"].totals.account_count == 3


# --- attack: a partial chain with an edited K ----------------------------------------------------

def _partial(epoch: EpochProof, k: int) -> EpochProof:
    """Batch 0 alone, its file claiming batches of 2^k leaves (the whole depth-2 tree for k = 2)."""
    statement = dataclasses.replace(epoch.statement, shape=Shape(k, SHAPE.depth - k, SHAPE.m))
    return dataclasses.replace(epoch, statement=statement, proofs=epoch.proofs[:1], states=epoch.states[:2])


def test_partial_chain_with_edited_k_is_rejected(world):
    partial = _partial(world["epoch"], 2)
    problems = verify_epoch(partial, world["vk"], SHAPE)
    assert problems == ["the file claims K=2, T=0, M=4; the verifying key's circuit is K=1, T=1, M=4"]
    # even a verifier that believed the file: the shape is in ctx, the proof does not match it
    assert verify_epoch(partial, world["vk"], partial.statement.shape) == ["batch 0: public signals are not (ctx of the statement, 0, state_0, state_1)"]


@pytest.mark.parametrize("k", [2, 9])
def test_cli_verify_rejects_an_edited_k_in_one_line(world, tmp_path, capsys, k):
    path = tmp_path / "partial.json"
    _partial(world["epoch"], k).save(path)
    code, out, err = run_cli(capsys, "verify", str(path), "--vk", str(world["keys"].vk_path))
    assert code == 1 and "Traceback" not in out + err
    assert f"the file claims K={k}" in out and "INVALID" in out
    code, out, _ = run_cli(capsys, "verify", str(world["path"]), "--vk", str(world["keys"].vk_path))
    assert code == 0 and "valid" in out


def test_cli_verify_needs_the_keys_setup_metadata(world, tmp_path, capsys):
    (tmp_path / "verification_key.json").write_text(world["keys"].vk_path.read_text())
    code, _, err = run_cli(capsys, "verify", str(world["path"]), "--vk", str(tmp_path / "verification_key.json"))
    assert code != 0 and "setup" in err and "Traceback" not in err


# --- attack: statement edits fail every verifier --------------------------------------------------

def _bad_statements(s):
    markets, aggs = list(s.markets), list(s.aggregates)
    t = s.totals
    return {
        "shape": dataclasses.replace(s, shape=Shape(2, 0, 4)),
        "chain_id": dataclasses.replace(s, chain_id=s.chain_id + 1),
        "registry": dataclasses.replace(s, registry=s.registry + 1),
        "engine": dataclasses.replace(s, engine=s.engine + 1),
        "checkpoint": dataclasses.replace(s, checkpoint_id=s.checkpoint_id + 1),
        "market_count": dataclasses.replace(s, market_count=4),
        "price": dataclasses.replace(s, markets=tuple([dataclasses.replace(markets[0], price_wad=markets[0].price_wad + 1)] + markets[1:])),
        "aggregate": dataclasses.replace(s, aggregates=tuple(aggs[:1] + [dataclasses.replace(aggs[1], cost_basis_wad=aggs[1].cost_basis_wad - 1)] + aggs[2:])),
        "deficit": dataclasses.replace(s, totals=dataclasses.replace(t, deficit_wad=t.deficit_wad - 1)),
        "account_count": dataclasses.replace(s, totals=dataclasses.replace(t, account_count=t.account_count + 1)),
        "root": dataclasses.replace(s, root=Node(s.root.hash + 1, s.root.equity, s.root.mm)),
    }


@pytest.mark.parametrize("change", ["shape", "chain_id", "registry", "engine", "checkpoint", "market_count", "price",
                                    "aggregate", "deficit", "account_count", "root"])
def test_any_statement_edit_fails_all_three_verifiers(world, change):
    """Batch 1's proof claimed for an edited statement fails alone and beside the honest batch 0 (batched)."""
    epoch = world["epoch"]
    bad = _bad_statements(epoch.statement)[change]
    forged = dataclasses.replace(epoch.proofs[1], public=batch_public_signals(context_hash(bad), 1, epoch.states[1], epoch.states[2]))
    vk = world["vk"]
    assert not verify(vk, forged)
    assert not SnarkjsBackend.verify(vk, forged)
    assert not onchain.verify_onchain(world["verifier"], forged)
    assert not verify_batch(vk, [epoch.proofs[0], forged])
    assert not onchain.verify_batch_onchain(world["batch_verifier"], [epoch.proofs[0], forged])


def test_inconsistent_statements_are_refused_before_any_pairing(world):
    s = world["statement"]
    views = list(s.markets)
    views[3] = MarketView(10**18, 0, 10**17, 5 * 10**16)  # a view past the market count
    assert check_statement(dataclasses.replace(s, markets=tuple(views)))
    assert check_statement(dataclasses.replace(s, totals=dataclasses.replace(s.totals, liabilities_wad=s.root.equity + 1)))
    assert check_statement(dataclasses.replace(s, market_count=5))
    assert check_statement(s) == []


@pytest.mark.parametrize("coordinate", ["pi_a.x + q", "pi_c.y + q", "pi_a.y ≡ y + 2^256 (mod q)"])
def test_non_canonical_batch_proof_fails_all_three_verifiers(world, coordinate):
    """A batch proof with a coordinate ≥ q (the last kind passed snarkjs's plain Solidity template):
    py-ecc, snarkjs, verify_epoch and the verifier contract all reject it (the registry's own test posts it)."""
    epoch = world["epoch"]
    proof = epoch.proofs[1]
    (ax, ay), (cx, cy) = proof.a, proof.c
    bad = {
        "pi_a.x + q": dataclasses.replace(proof, a=(ax + BASE_FIELD_Q, ay)),
        "pi_c.y + q": dataclasses.replace(proof, c=(cx, cy + BASE_FIELD_Q)),
        "pi_a.y ≡ y + 2^256 (mod q)": dataclasses.replace(proof, a=(ax, (ay + 2**256) % BASE_FIELD_Q + BASE_FIELD_Q)),
    }[coordinate]
    vk = world["vk"]
    assert not verify(vk, bad)
    assert not SnarkjsBackend.verify(vk, bad)
    assert not onchain.verify_onchain(world["verifier"], bad)
    assert not onchain.verify_batch_onchain(world["batch_verifier"], [epoch.proofs[0], bad])
    tampered = dataclasses.replace(epoch, proofs=(epoch.proofs[0], bad))
    name = coordinate.split()[0]
    assert verify_epoch(tampered, vk, SHAPE) == [f"batch 1: malformed proof: {name} is not below the base-field modulus q"]


def test_one_invalid_proof_fails_the_epochs_batched_check(world):
    """Batch 1's proof with batch 0's A (well formed, right public signals): verify_epoch's batched check, the
    EVM batch verifier and snarkjs (that proof) reject the epoch; the honest epoch passes all three."""
    epoch, vk = world["epoch"], world["vk"]
    bad = dataclasses.replace(epoch.proofs[1], a=epoch.proofs[0].a)
    tampered = dataclasses.replace(epoch, proofs=(epoch.proofs[0], bad))
    assert verify_epoch(tampered, vk, SHAPE) == ["the batched Groth16 pairing check of the 2 proofs fails"]
    assert not onchain.verify_batch_onchain(world["batch_verifier"], list(tampered.proofs))
    assert SnarkjsBackend.verify(vk, epoch.proofs[0]) and not SnarkjsBackend.verify(vk, bad)


# --- attack: tampered state chain ------------------------------------------------------------------

def test_tampered_state_chain_is_rejected(world):
    epoch, vk = world["epoch"], world["vk"]
    swapped = dataclasses.replace(epoch, states=(epoch.states[0], epoch.states[2], epoch.states[1]))
    assert verify_epoch(swapped, vk, SHAPE) == [f"batch {i}: public signals are not (ctx of the statement, {i}, state_{i}, state_{i + 1})" for i in (0, 1)]
    skipped = dataclasses.replace(epoch, states=(epoch.states[0], epoch.states[0], epoch.states[2]))
    assert len(verify_epoch(skipped, vk, SHAPE)) == 2
    assert verify_epoch(dataclasses.replace(epoch, proofs=epoch.proofs[:1], states=epoch.states[:2]), vk, SHAPE) == [
        "the chain has 1 proofs and 2 states; the circuit needs 2 and 3"]


# --- bad witnesses: the generator refuses them ----------------------------------------------------

@pytest.fixture(scope="module")
def batches(world):
    return inputs.batch_inputs(world["commitment"], SECRET, world["statement"])


def _copy(inputs_: dict) -> dict:
    return json.loads(json.dumps(inputs_))


def _refused(circuit, inputs_, tmp_path):
    with pytest.raises(WitnessError):
        compute_witness(circuit, inputs_, tmp_path / "bad.wtns")


def test_phantom_market_is_refused(world, tmp_path):
    accounts, views = stressed_book()
    views[MARKET_COUNT] = inputs.EMPTY_MARKET  # the zero view the old circuit priced a phantom market at
    holder = accounts[2]
    holder.positions[MARKET_COUNT] = dataclasses.replace(next(iter(holder.positions.values())), market_id=MARKET_COUNT)
    commitment = commit_accounts(accounts, views, SECRET, CHECKPOINT, depth=SHAPE.depth)
    with pytest.raises(UserError, match="engine's ids are 0..2"):
        inputs.epoch_statement(commitment, SECRET, SHAPE, CHAIN_ID, REGISTRY, ENGINE, CHECKPOINT, MARKET_COUNT)
    four = inputs.epoch_statement(commitment, SECRET, SHAPE, CHAIN_ID, REGISTRY, ENGINE, CHECKPOINT, 4)
    batch = inputs.batch_inputs(commitment, SECRET, four)[commitment.index_of(holder.account_id) >> SHAPE.k]
    compute_witness(world["circuit"], batch.inputs, tmp_path / "ok.wtns")  # an engine with 4 markets: fine
    bad = _copy(batch.inputs)
    bad["marketCount"] = MARKET_COUNT
    _refused(world["circuit"], bad, tmp_path)


@pytest.mark.parametrize("left_out", [1, 2])  # account 1 holds no position, account 2 does
def test_an_account_left_out_changes_count_and_aggregates(world, tmp_path, left_out):
    accounts, views = world["accounts"], world["views"]
    full = world["statement"]
    short = commit_accounts(accounts[:left_out] + accounts[left_out + 1:], views, SECRET, CHECKPOINT, depth=SHAPE.depth)
    honest = inputs.epoch_statement(short, SECRET, SHAPE, CHAIN_ID, REGISTRY, ENGINE, CHECKPOINT, MARKET_COUNT)
    assert honest.totals.account_count == full.totals.account_count - 1
    assert honest.totals.collateral_wad == full.totals.collateral_wad - accounts[left_out].collateral
    assert (honest.aggregates != full.aggregates) == bool(accounts[left_out].positions)
    lying = dataclasses.replace(honest, aggregates=full.aggregates,
                                totals=dataclasses.replace(honest.totals, account_count=full.totals.account_count,
                                                           collateral_wad=full.totals.collateral_wad))
    with pytest.raises(UserError, match="totals or aggregates"):
        inputs.batch_inputs(short, SECRET, lying)
    last = _copy(inputs.batch_inputs(short, SECRET, honest)[-1].inputs)
    last.update(inputs.statement_inputs(lying))
    _refused(world["circuit"], last, tmp_path)


@pytest.mark.parametrize("case", ["L", "deficit", "below", "shortfall", "mm", "im", "count", "collateral", "long", "short", "cost", "size_f"])
def test_wrong_totals_cannot_be_witnessed(world, batches, tmp_path, case):
    bad = _copy(batches[-1].inputs)
    figure = {"L": 0, "deficit": 1, "below": 2, "shortfall": 3, "mm": 4, "im": 5}
    column = {"long": 0, "short": 1, "cost": 2, "size_f": 3}
    if case in figure:
        bad["totalFig"][figure[case]] -= 1
    elif case == "count":
        bad["totalCount"] -= 1
    elif case == "collateral":
        bad["totalCollateral"] = (bad["totalCollateral"] + 1) % FIELD_P
    else:
        bad["totalAgg"][0][column[case]] = (bad["totalAgg"][0][column[case]] + 1) % FIELD_P
    _refused(world["circuit"], bad, tmp_path)


@pytest.mark.parametrize("case", ["field_wrap", "leaf_not_in_root", "padding_then_account",
                                  "first_batch_not_empty", "first_batch_padded", "liability_in_node"])
def test_bad_witness_cannot_be_made(world, batches, tmp_path, case):
    bad = _copy(batches[0].inputs)
    if case == "field_wrap":
        bad["collateral"][0] = (bad["collateral"][0] + 2**200) % FIELD_P
    elif case == "leaf_not_in_root":
        bad["siblings"][0][0] = (bad["siblings"][0][0] + 1) % FIELD_P
    elif case == "padding_then_account":
        bad["idHash"][0], bad["salt"][0], bad["collateral"][0] = 0, 0, 0
        bad["slots"][0] = [[0, 0, 0, 0]] * 4
    elif case == "first_batch_not_empty":
        bad["figIn"][1] = 1
    elif case == "first_batch_padded":
        bad["paddedIn"] = 1
    elif case == "liability_in_node":  # the sibling claims the negative-equity account's equity, not 0
        bad["siblings"][0][1] = (bad["siblings"][0][1] - 1) % FIELD_P
    _refused(world["circuit"], bad, tmp_path)


def test_forged_figures_break_the_r1cs(world, batches, tmp_path):
    circuit = world["circuit"]
    witness = read_wtns(compute_witness(circuit, batches[0].inputs, tmp_path / "b0.wtns"))
    system, names = read_r1cs(circuit.r1cs), signal_indices(circuit)
    for name in ("main.account[0].equity", "main.account[0].im", "main.account[0].below", "main.account[0].agg[1][2]",
                 "main.account[0].shortfall", "main.account[1].sizeF[0]"):  # signals the optimiser kept
        forged = list(witness)
        forged[names[name]] = (forged[names[name]] + 1) % FIELD_P
        assert unsatisfied(system, forged), name


def test_cli_prove_then_verify(world, tmp_path, capsys):
    accounts, views = world["accounts"], world["views"]
    book = {
        "markets": [{"id": str(j), "name": f"M{j}", "price_wad": str(v.price_wad), "funding_index_wad": str(v.funding_index_wad),
                     "imf_wad": str(v.imf_wad), "mmf_wad": str(v.mmf_wad)} for j, v in views.items()],
        "accounts": [{"owner": a.owner, "sub": str(a.sub), "collateral": str(a.collateral),
                      "positions": [{"market_id": str(p.market_id), "size": str(p.size), "cost_basis": str(p.cost_basis),
                                     "funding_index": str(p.funding_index)} for p in a.positions.values()]} for a in accounts],
    }
    (tmp_path / "book.json").write_text(json.dumps(book))
    (tmp_path / "secret.hex").write_text(SECRET.hex())
    out = tmp_path / "epoch.json"
    code, stdout, err = run_cli(capsys, "--json", "prove", str(tmp_path / "book.json"), "--epoch", str(CHECKPOINT), "--depth", str(SHAPE.depth),
                                "--batch-log2", str(SHAPE.k), "--markets", str(SHAPE.m), "--chain-id", str(CHAIN_ID),
                                "--registry", hex(REGISTRY), "--engine", hex(ENGINE), "--secret-file", str(tmp_path / "secret.hex"),
                                "--out", str(out), "--backend", "groth16py")
    assert code == 0, err
    proved = check_output("prove", stdout)
    assert proved["root"]["hash"] == hash_hex(world["statement"].root.hash) and proved["batch_count"] == str(2**SHAPE.t)
    assert EpochProof.load(out).statement == world["statement"]  # market count 3 from the file, totals from the leaves
    code, stdout, _ = run_cli(capsys, "verify", str(out), "--vk", str(world["keys"].vk_path))
    assert code == 0 and "valid" in stdout
    code, _, err = run_cli(capsys, "prove", str(tmp_path / "book.json"), "--epoch", "1", "--depth", "2", "--batch-log2", "3",
                           "--chain-id", "1", "--registry", "0x1", "--engine", "0x2", "--secret-file", str(tmp_path / "secret.hex"),
                           "--out", str(tmp_path / "no.json"))
    assert code != 0 and "--batch-log2 3 must be in 0..--depth 2" in err and "Traceback" not in err
    assert not (tmp_path / "no.json").exists()
    # an engine book (commit --engine, salt 0) is proven with --unsalted: its root is the salt-0 root
    unsalted = tmp_path / "unsalted.json"
    code, _, err = run_cli(capsys, "prove", str(tmp_path / "book.json"), "--unsalted", "--epoch", str(CHECKPOINT),
                           "--depth", str(SHAPE.depth), "--batch-log2", str(SHAPE.k), "--markets", str(SHAPE.m),
                           "--chain-id", str(CHAIN_ID), "--registry", hex(REGISTRY), "--engine", hex(ENGINE),
                           "--out", str(unsalted), "--backend", "groth16py")
    assert code == 0, err
    salt0 = commit_accounts(accounts, views, None, CHECKPOINT, SHAPE.depth).root
    assert EpochProof.load(unsalted).statement.root == salt0 != world["statement"].root
    code, stdout, _ = run_cli(capsys, "verify", str(unsalted), "--vk", str(world["keys"].vk_path))
    assert code == 0 and "valid" in stdout
    code, _, err = run_cli(capsys, "prove", str(tmp_path / "book.json"), "--unsalted", "--secret-file", str(tmp_path / "secret.hex"),
                           "--epoch", "1", "--depth", "2", "--chain-id", "1", "--registry", "0x1", "--engine", "0x2",
                           "--out", str(tmp_path / "no.json"))
    assert code != 0 and "not both" in err and not (tmp_path / "no.json").exists()


@pytest.mark.parametrize("seed", range(3))
def test_statement_totals_equal_pymargin_batch_on_random_books(seed):
    import random

    rng = random.Random(seed)
    accounts, views = random_book(100 + seed, 60)
    for a in accounts:  # full-precision cuts: some accounts stay healthy, some fall below mm, some below zero
        a.collateral -= rng.randrange(0, 3 * 10**22)
    commitment = commit_accounts(accounts, views, SECRET, 1)
    statement = inputs.epoch_statement(commitment, SECRET, Shape(2, commitment.tree.depth - 2, 4), CHAIN_ID, REGISTRY,
                                       ENGINE, 1, len(views))
    figures = batch.solvency_figures(_book(accounts, views))
    assert dataclasses.asdict(figures) == dataclasses.asdict(statement.totals)
    assert figures.deficit_wad > 0 and 0 < figures.below_mm_count < len(accounts) and statement.root.equity == figures.liabilities_wad

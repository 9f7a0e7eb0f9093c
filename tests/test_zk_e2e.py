"""End to end on the real contracts: MarginEngine → checkpoint → book read at the checkpoint block →
commit → prove SolvencyBatch → post to the SolvencyRegistry while trading and prices move on.

Six accounts in three markets: one liquidatable with positive equity, one under water (negative
equity), the rest healthy; the tree has depth 3 (K = 2, T = 1: two chained batches of four leaves).
The posted figures equal pymargin.batch on the same book; a user checks inclusion on-chain and with
`pymargin check-inclusion --rpc --registry`; the attacks the registry must stop — an account left
out, a registry with another K, proofs of an older checkpoint, a replay — fail with their errors.
The CLI path (`post-epoch`, `check-inclusion --rpc --registry`, `audit-epoch`) runs against a fresh
anvil node. Engine books are committed with salt 0, so the audit rebuilds the posted root.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from pymargin import batch
from pymargin.chain import commitments as commit_onchain
from pymargin.chain import solvency as onchain
from pymargin.chain import tx
from pymargin.chain.audit import audit_epoch
from pymargin.chain.checkpoints import book_at_checkpoint, checkpoint_data
from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import ContractRevert
from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine, mirror, order_signer
from pymargin.commit.commitment import commit_accounts
from pymargin.commit.leaf import PADDING_LEAF
from pymargin.commit.inclusion import proof_document
from pymargin.fixedpoint import WAD, Rounding, mul_div
from pymargin.zk import circuits
from pymargin.zk.backends import Groth16pyBackend
from pymargin.zk.inputs import epoch_statement
from pymargin.zk.solvency import EpochProof, prove_epoch
from pymargin.zk.statement import Shape
from pymargin.zk.wellformed import BASE_FIELD_Q
from cli_support import run_cli
from eth_utils import keccak
from output_rules import check_output
from pymargin.jsonvalues import hash_hex

SHAPE = Shape(k=2, t=1, m=4)
SECRET = None  # an engine book is committed with salt 0 (spec §6.2): anyone can rebuild its root
TOKEN = 10**6  # the test token has 6 decimals
ANVIL_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil's well-known account 1


@dataclasses.dataclass
class Venue:
    chain: object
    dep: object
    owner: object
    operator: object
    keeper: object
    users: list


def _set_prices(v: Venue, prices: dict[int, int]) -> None:
    """Oracle prices (WAD) of some markets, stamped with the latest block's time."""
    now = v.chain.w3.eth.get_block("latest")["timestamp"]
    for market_id, price in prices.items():
        aggregator = v.dep.aggregators.get(market_id)
        if aggregator is None:
            v.dep.oracles[market_id].transact("setPrice", price, now, sender=v.owner, gas=TX_GAS)
        else:
            decimals = aggregator.call("decimals")
            aggregator.transact("setRound", price // 10 ** (18 - decimals), now, sender=v.owner, gas=TX_GAS)


def _trade(v: Venue, market_id: int, taker: int, maker: int, size: int, price: int) -> None:
    """users[taker] buys ``size`` (WAD) from users[maker] at ``price``: two signed orders the operator matches."""
    t, m = v.users[taker], v.users[maker]
    fill = order_signer(v.dep).fill(market_id, t.address, 0, m.address, 0, size, price)
    v.dep.engine.transact("trade", *fill, sender=v.operator, gas=TX_GAS)


def _leveraged_size(collateral_tokens: int, leverage: int, price_wad: int) -> int:
    """Size (WAD base) whose notional is ``leverage`` × the collateral (Floor)."""
    return mul_div(collateral_tokens * (WAD // TOKEN) * leverage, WAD, price_wad, Rounding.Floor)


def open_venue(chain) -> Venue:
    """Engine with ETH, BTC, SOL; six accounts with leveraged positions, then prices moved so that
    users[1] is liquidatable (equity > 0) and users[3] under water (equity < 0); an insurance fund
    larger than that deficit."""
    signers = [tx.node_signer(chain, i) for i in range(9)]
    owner, operator, keeper, users = signers[0], signers[1], signers[2], signers[3:9]
    dep = deploy_engine(chain, owner, default_markets(), keepers=(keeper.address,), operators=(operator.address,))
    v = Venue(chain, dep, owner, operator, keeper, users)
    deposits = [90_000_123_457, 10_000_654_321, 80_000_500_001, 5_000_271_828, 20_000_314_159, 20_000_161_803]
    for user, amount in zip(users, deposits):
        dep.token.transact("mint", user.address, 10**12, sender=user, gas=TX_GAS)
        dep.token.transact("approve", dep.engine.address, 2**256 - 1, sender=user, gas=TX_GAS)
        dep.engine.transact("deposit", 0, amount, sender=user, gas=TX_GAS)
    # the venue's insurance fund: without it users[3]'s deficit would leave L above the vault (InsufficientReserves)
    dep.token.transact("mint", owner.address, 10**12, sender=owner, gas=TX_GAS)
    dep.token.transact("approve", dep.engine.address, 2**256 - 1, sender=owner, gas=TX_GAS)
    dep.engine.transact("depositInsurance", 4_000_111_111, sender=owner, gas=TX_GAS)
    eth, btc, sol = (spec.price_wad for spec in dep.specs)
    _trade(v, 0, 0, 1, _leveraged_size(deposits[1], 9, eth), eth)  # users[1] short ETH at 9x (IM 10%)
    _trade(v, 1, 2, 3, _leveraged_size(deposits[3], 19, btc), btc)  # users[3] short BTC at 19x (IM 5%)
    _trade(v, 2, 4, 5, _leveraged_size(deposits[5], 3, sol), sol)  # SOL at 3x (IM 20%)
    _trade(v, 0, 4, 2, 3_718_281_828_459_045_235, eth)  # a little more ETH between healthy accounts
    _set_prices(v, {0: eth * 1_073_05 // 1_000_00, 1: btc * 1_071_13 // 1_000_00, 2: sol * 97_31 // 100_00})
    return v


@pytest.fixture(scope="module")
def epoch1(chain_session):
    """Checkpoint 1 taken, the book read at its block and proven; afterwards trades, funding and
    prices moved on and checkpoint 2 was taken; the registry is deployed (nothing posted)."""
    chain = chain_session
    snapshot = chain.snapshot()
    compile_contracts()
    v = open_venue(chain)
    receipt = v.dep.engine.transact("checkpoint", sender=v.keeper, gas=TX_GAS)
    book = book_at_checkpoint(v.dep.engine, 1)
    cp, accounts, views = book.data, book.accounts, book.markets
    assert cp.block_number == receipt.blockNumber
    assert mirror(v.dep, block=cp.block_number).market_views() == views
    # trading, funding and prices go on while the operator commits and proves
    eth = cp.markets[0].price_wad
    _trade(v, 0, 2, 4, 1_414_213_562_373_095_048, eth)
    v.dep.engine.transact("setFundingRate", 0, 7 * 10**11, sender=v.keeper, gas=TX_GAS)
    _set_prices(v, {0: eth * 1_013 // 1_000, 1: cp.markets[1].price_wad * 995 // 1_000})
    v.dep.engine.transact("checkpoint", sender=v.keeper, gas=TX_GAS)

    keys = Groth16pyBackend().setup(circuits.solvency(SHAPE.k, SHAPE.m, SHAPE.t))
    verifier, _ = onchain.deploy_batch_verifier(chain, keys, v.owner)
    assert keys.vk_path.is_file()
    hashers = commit_onchain.deploy_hashers(chain, v.owner)
    registry = onchain.deploy_registry(chain, v.owner, verifier, v.dep.engine.address, hashers, SHAPE, operator=v.operator.address)
    registry.decoder.add(v.dep.engine.artifact["abi"])
    commitment = commit_accounts(accounts, views, SECRET, epoch=cp.id, depth=SHAPE.depth)
    statement = epoch_statement(commitment, SECRET, SHAPE, chain.chain_id, int(registry.address, 16),
                                int(v.dep.engine.address, 16), cp.id, len(cp.markets))
    epoch, keys = prove_epoch(commitment, SECRET, statement, "groth16py", workers=2)
    yield dict(v=v, cp=cp, accounts=accounts, views=views, commitment=commitment, statement=statement, epoch=epoch,
               keys=keys, verifier=verifier, hashers=hashers, registry=registry)
    chain.revert(snapshot)


@pytest.fixture
def e(epoch1):
    snapshot = epoch1["v"].chain.snapshot()
    yield epoch1
    epoch1["v"].chain.revert(snapshot)


def _rejects(registry, epoch, cp, sender, name, args=None):
    with pytest.raises(ContractRevert) as exc:
        onchain.post_epoch(registry, epoch, cp, sender)
    assert exc.value.name == name
    if args is not None:
        assert exc.value.args_ == args


def test_the_book_is_bound_to_the_engine(e):
    """The statement built from the committed book is the one the registry builds from the checkpoint."""
    s, cp = e["statement"], e["cp"]
    assert s == onchain.registry_statement(SHAPE, s.chain_id, s.registry, s.engine, cp, s.root, s.totals)
    ctx = e["registry"].call("contextHash", cp.to_abi(), (s.root.hash, s.root.equity, s.root.mm), onchain.totals_arg(s.totals))
    states, proofs = e["epoch"].states, e["epoch"].proofs
    assert e["registry"].call("batchPublicSignals", ctx, 0, list(states)) == [x for p in proofs for x in p.public]


def test_leaf_i_is_the_engines_account_i(e):
    """A user finds their leaf at their engine index: leaf i is accountAt(i) at the checkpoint's block, and
    the committed leaf hash at i is that account's; indices past accountCount hold padding."""
    engine, commitment, cp = e["v"].dep.engine, e["commitment"], e["cp"]
    count = engine.call("accountCount", block=cp.block_number)
    assert count == len(commitment.accounts) == cp.account_count
    for i in range(count):
        owner, sub = engine.call("accountAt", i, block=cp.block_number)
        assert commitment.accounts[i].account_id == f"{owner}:{sub}"
        assert commitment.tree.node(0, i).hash == commitment.leaf(i, SECRET).hash()
    assert commitment.tree.node(0, count).hash == PADDING_LEAF.hash()


def test_check_inclusion_refuses_a_leaf_not_at_the_engines_index(e):
    """check-inclusion --rpc on a SolvencyRegistry checks the proof's index against the engine: a book committed
    in another order (which the circuit does not see) is caught by the user whose index holds someone else."""
    from pymargin.cli.commit_cmds import _check_engine_index
    from pymargin.commit.inclusion import InclusionError, parse_proof

    commitment, registry, chain = e["commitment"], e["registry"], e["v"].chain
    proof = parse_proof(proof_document(commitment, 2, SECRET))
    _check_engine_index(chain, registry.address, proof)  # the honest index passes
    other = commitment.accounts[3]
    with pytest.raises(InclusionError, match=f"leaf 2 must be the engine's account 2, which is .*, not {other.account_id}"):
        _check_engine_index(chain, registry.address, dataclasses.replace(proof, owner=other.owner, sub=other.sub))
    with pytest.raises(InclusionError, match="past the engine's"):
        _check_engine_index(chain, registry.address, dataclasses.replace(proof, index=len(commitment.accounts)))


def test_epoch_with_liquidatable_and_underwater_accounts_posts(e):
    v, cp, s, registry = e["v"], e["cp"], e["statement"], e["registry"]
    figures_py = batch.solvency_figures(batch.Book.from_accounts([(a.collateral, a.positions.values()) for a in e["accounts"]], e["views"]))
    assert dataclasses.astuple(figures_py) == dataclasses.astuple(s.totals)
    assert s.totals.below_mm_count >= 2 and s.totals.deficit_wad > 0 and s.totals.shortfall_wad > s.totals.deficit_wad
    receipt = onchain.post_epoch(registry, e["epoch"], cp, v.operator)
    assert receipt.status == 1 and registry.call("lastEpoch") == 1
    figures = onchain.epoch_figures(registry, 1)
    assert figures.totals == s.totals and figures.root == s.root
    assert figures.reserves_wad == onchain.user_reserves_wad(cp) >= s.totals.liabilities_wad
    assert figures.checkpoint_block == cp.block_number and figures.insurance_fund_wad == cp.insurance_fund_wad
    # a user checks their account against the posted root: on-chain view and the CLI
    commitment = e["commitment"]
    index = commitment.index_of(e["accounts"][3].account_id)
    leaf, node = commitment.leaf(index, SECRET), commitment.tree.node(0, index)
    siblings = [commit_onchain.node_arg(n) for n in commitment.tree.siblings(index)]
    assert registry.call("verifyInclusionAt", 1, commit_onchain.leaf_arg(leaf), node.equity, node.mm, index, siblings)
    assert not registry.call("verifyInclusionAt", 1, commit_onchain.leaf_arg(leaf), node.equity + 1, node.mm, index, siblings)
    # anyone rebuilds the book from the engine at the checkpoint block: the same root as posted
    audit = audit_epoch(v.dep.engine, 1, figures.root.hash, depth=registry.call("treeDepth"))
    assert audit.ok and audit.root_hash == s.root.hash and audit.accounts == len(e["accounts"])
    # a replay of the same epoch
    _rejects(registry, e["epoch"], cp, v.operator, "EpochNotIncreasing", (1, 1))


def test_proofs_of_an_older_checkpoint_do_not_post_against_a_newer_one(e):
    v = e["v"]
    cp2 = checkpoint_data(v.dep.engine, 2)
    assert cp2.markets != e["cp"].markets and cp2.aggregates != e["cp"].aggregates
    moved = dataclasses.replace(e["epoch"], statement=dataclasses.replace(e["statement"], checkpoint_id=2))
    _rejects(e["registry"], moved, cp2, v.operator, "InvalidBatchProofs", ())
    # the old checkpoint's id with the new data (or the reverse): not the engine's
    _rejects(e["registry"], e["epoch"], dataclasses.replace(cp2, id=1), v.operator, "CheckpointDataMismatch", (1,))


def test_a_book_without_an_account_does_not_post(e):
    """Leaving out the under-water account lowers the deficit and the count: the proof is valid for that
    book, but the registry's statement carries the engine's account count and aggregates."""
    v, cp = e["v"], e["cp"]
    left_out = [a for a in e["accounts"] if a.account_id != e["accounts"][3].account_id]
    commitment = commit_accounts(left_out, e["views"], SECRET, epoch=cp.id, depth=SHAPE.depth)
    s = e["statement"]
    statement = epoch_statement(commitment, SECRET, SHAPE, s.chain_id, s.registry, s.engine, cp.id, len(cp.markets))
    assert statement.totals.deficit_wad < s.totals.deficit_wad
    epoch, _ = prove_epoch(commitment, SECRET, statement, "groth16py", workers=2)
    _rejects(e["registry"], epoch, cp, v.operator, "InvalidBatchProofs", ())
    # and an audit of the operator's book names the account
    audit = audit_epoch(v.dep.engine, cp.id, commitment.root.hash, (left_out, e["views"]), depth=SHAPE.depth)
    missing = e["accounts"][3].account_id
    assert f"account {missing}: in the engine, missing from the book" in audit.findings
    assert any(f.startswith("root: posted") for f in audit.findings)


@pytest.mark.parametrize("coordinate", ["pi_a.x + q", "pi_c.y + q", "pi_a.y ≡ y + 2^256 (mod q)"])
def test_non_canonical_batch_proof_is_rejected_by_the_registry(e, coordinate):
    """The issue's encodings (a coordinate ≥ q; the plain snarkjs template's malleable A.y) of a valid proof."""
    epoch = e["epoch"]
    proof = epoch.proofs[1]
    (ax, ay), (cx, cy) = proof.a, proof.c
    bad = {
        "pi_a.x + q": dataclasses.replace(proof, a=(ax + BASE_FIELD_Q, ay)),
        "pi_c.y + q": dataclasses.replace(proof, c=(cx, cy + BASE_FIELD_Q)),
        "pi_a.y ≡ y + 2^256 (mod q)": dataclasses.replace(proof, a=(ax, (ay + 2**256) % BASE_FIELD_Q + BASE_FIELD_Q)),
    }[coordinate]
    tampered = dataclasses.replace(epoch, proofs=(epoch.proofs[0], bad))
    _rejects(e["registry"], tampered, e["cp"], e["v"].operator, "InvalidBatchProofs", ())


def test_a_registry_with_another_batch_size_rejects_a_partial_chain(e):
    """Batch 0 alone, posted to a registry deployed with K = depth (one batch): the shape is in the hash."""
    v = e["v"]
    other = onchain.deploy_registry(v.chain, v.owner, e["verifier"], v.dep.engine.address, e["hashers"],
                                    Shape(k=SHAPE.depth, t=0, m=SHAPE.m), operator=v.operator.address)
    s = dataclasses.replace(e["statement"], shape=Shape(k=SHAPE.depth, t=0, m=SHAPE.m), registry=int(other.address, 16))
    partial = EpochProof(s, e["epoch"].states[:2], e["epoch"].proofs[:1], e["epoch"].circuit, e["epoch"].setup_id)
    _rejects(other, partial, e["cp"], v.operator, "InvalidBatchProofs", ())
    # a circuit with fewer market slots than the engine can ever have is refused at deployment
    with pytest.raises(ContractRevert) as exc:
        onchain.deploy_registry(v.chain, v.owner, e["verifier"], v.dep.engine.address, e["hashers"], Shape(k=2, t=1, m=3))
    assert (exc.value.name, exc.value.args_) == ("CircuitTooSmall", (3, v.dep.engine.call("MAX_MARKETS")))
    # and the full chain on a registry at another address
    same_shape = onchain.deploy_registry(v.chain, v.owner, e["verifier"], v.dep.engine.address, e["hashers"], SHAPE,
                                         operator=v.operator.address)
    _rejects(same_shape, e["epoch"], e["cp"], v.operator, "InvalidBatchProofs", ())


def test_cli_post_epoch_on_anvil(anvil_chain, tmp_path, capsys, monkeypatch):
    chain = anvil_chain
    compile_contracts()
    v = open_venue(chain)
    v.dep.engine.transact("checkpoint", sender=v.keeper, gas=TX_GAS)
    book = book_at_checkpoint(v.dep.engine, 1)
    cp = book.data
    keys = Groth16pyBackend().setup(circuits.solvency(SHAPE.k, SHAPE.m, SHAPE.t))
    verifier, _ = onchain.deploy_batch_verifier(chain, keys, v.owner)
    assert keys.vk_path.is_file()
    hashers = commit_onchain.deploy_hashers(chain, v.owner)
    registry = onchain.deploy_registry(chain, v.owner, verifier, v.dep.engine.address, hashers, SHAPE, operator=v.operator.address)
    commitment = commit_accounts(book.accounts, book.markets, SECRET, epoch=cp.id, depth=SHAPE.depth)
    statement = epoch_statement(commitment, SECRET, SHAPE, chain.chain_id, int(registry.address, 16),
                                int(v.dep.engine.address, 16), cp.id, len(cp.markets))
    _trade(v, 0, 2, 4, 1_414_213_562_373_095_048, cp.markets[0].price_wad)  # the book moves on
    epoch, _ = prove_epoch(commitment, SECRET, statement, "groth16py", workers=2)
    out = tmp_path / "epoch.json"
    epoch.save(out)
    # anyone verifies the file with py-ecc and with the registry's own batch verifier on the chain
    assert registry.call("verifier") == verifier.address
    code, _, err = run_cli(capsys, "verify", str(out), "--vk", str(keys.vk_path), "--rpc", chain.url, "--verifier", verifier.address)
    assert code == 0, err
    # a statement that is not the registry's (one account fewer than the engine has): refused before sending
    edited = json.loads(out.read_text())
    edited["statement"]["totals"]["account_count"] = str(statement.totals.account_count - 1)
    (tmp_path / "edited.json").write_text(json.dumps(edited))
    code, _, err = run_cli(capsys, "post-epoch", str(tmp_path / "edited.json"), "--rpc", chain.url, "--registry", registry.address)
    assert code != 0 and "account count" in err and "Traceback" not in err
    monkeypatch.delenv("PYMARGIN_PRIVATE_KEY", raising=False)
    code, _, err = run_cli(capsys, "post-epoch", str(out), "--rpc", chain.url, "--registry", registry.address)
    assert code != 0 and "NotOperator" in err and "Traceback" not in err  # anvil's account 0 is not the operator
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", ANVIL_KEY_1)
    code, stdout, err = run_cli(capsys, "--json", "post-epoch", str(out), "--rpc", chain.url, "--registry", registry.address,
                                "--batches-per-tx", "1")
    assert code == 0, err
    posted = check_output("post-epoch", stdout)
    assert posted["epoch"] == "1" and posted["totals"]["liabilities_wad"] == str(statement.totals.liabilities_wad)
    # in parts: beginEpoch with batch 0, continueEpoch with batch 1 (which records the epoch)
    parts = posted["transactions"]
    assert [(p["first_batch"], p["batch_count"]) for p in parts] == [("0", "1"), ("1", "1")]
    assert posted["tx_hash"] == parts[-1]["tx_hash"] and posted["resumed_from_batch"] == "0"
    assert int(posted["post_epoch_gas"]) == sum(int(p["tx_gas"]) for p in parts)
    code, stdout, err = run_cli(capsys, "--json", "verify", str(out), "--vk", str(keys.vk_path), "--rpc", chain.url, "--verifier", verifier.address)
    assert code == 0, err
    assert check_output("verify", stdout) == {"ok": True, "batch_count": str(len(epoch.proofs)), "problems": []}
    assert onchain.epoch_figures(registry, 1).totals == statement.totals
    # a user checks their own account against the posted root with the CLI
    index = commitment.index_of(commitment.accounts[2].account_id)
    doc = tmp_path / "inclusion.json"
    doc.write_text(json.dumps(proof_document(commitment, index, SECRET)))
    code, stdout, err = run_cli(capsys, "--json", "check-inclusion", str(doc), "--rpc", chain.url, "--registry", registry.address)
    assert code == 0, err
    assert check_output("check-inclusion", stdout)["checks"] == {"offline": "ok", "on_chain": "ok"}
    code, _, err = run_cli(capsys, "post-epoch", str(out), "--rpc", chain.url, "--registry", registry.address)
    assert code != 0 and "EpochNotIncreasing" in err and "Traceback" not in err
    # anyone audits the posted epoch against the engine
    code, stdout, err = run_cli(capsys, "--json", "audit-epoch", "--rpc", chain.url, "--registry", registry.address, "--epoch", "1")
    assert code == 0, err
    audit = check_output("audit-epoch", stdout)
    assert audit["root_hash"] == hash_hex(statement.root.hash) and audit["findings"] == []
    # what an auditor cites, from the registry: the post's transaction, the verifier and its code, the figures
    assert audit["posted"]["tx_hash"] == posted["tx_hash"] and audit["posted"]["verifier"] == verifier.address
    assert audit["posted"]["verifier_code_hash"] == "0x" + keccak(bytes(chain.w3.eth.get_code(verifier.address))).hex()
    assert audit["posted"]["circuit"] == f"solvency_k{SHAPE.k}_m{SHAPE.m}_t{SHAPE.t}"
    assert audit["posted"]["totals"] == audit["totals"] == posted["totals"]
    assert audit["checkpoint"]["block"] == str(cp.block_number) and audit["checkpoint"]["time_s"] == str(cp.timestamp)

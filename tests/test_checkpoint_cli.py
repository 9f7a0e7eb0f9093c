"""`pymargin commit --engine --checkpoint/--block` and `pymargin audit-epoch` on anvil: the book at a
checkpoint while trading goes on, and an operator that leaves an account out (docs/spec.md §5.11)."""

from __future__ import annotations

import json

import pytest

from cli_support import run_cli as run
from pymargin import margin
from pymargin.book import Book, book_from_json, save_book
from pymargin.chain.commitments import deploy_registry, post_root
from pymargin.chain.compile import load_artifact
from pymargin.chain.contracts import Contract
from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine, order_signer
from pymargin.chain.tx import node_signer
from pymargin.commit.commitment import commit_accounts
from pymargin.engine import CheckpointData, Engine
from pymargin.fixedpoint import WAD
from pymargin.jsonvalues import hash_hex

USD = 10**6


@pytest.fixture
def venue(anvil_chain, artifacts):
    """An engine with four accounts in three markets, checkpoint 1, then more trades and a price move."""
    owner, keeper, alice, bob, carol = (node_signer(anvil_chain, i) for i in range(5))
    dep = deploy_engine(anvil_chain, owner, default_markets(), keepers=(keeper.address,), operators=(owner.address,))
    e, orders = dep.engine, order_signer(dep)
    for who in (alice, bob, carol):
        dep.token.transact("mint", who.address, 10**12, sender=who, gas=TX_GAS)
        dep.token.transact("approve", e.address, 10**12, sender=who, gas=TX_GAS)
        e.transact("deposit", 0, 50_000 * USD + 7, sender=who, gas=TX_GAS)
    e.transact("deposit", 1, 3_000 * USD + 1, sender=carol, gas=TX_GAS)
    e.transact("setFundingRate", 0, 10**11 + 3, sender=keeper, gas=TX_GAS)
    for market_id, taker, maker, size, price in [
        (0, alice, bob, 2 * WAD + 718281828459045235, 2000),
        (1, bob, carol, WAD // 10 + 314159265358979, 30000),
        (2, carol, alice, 10 * WAD + 141421356237309504, 100),
    ]:
        e.transact("trade", *orders.fill(market_id, taker.address, 0, maker.address, 0, size, price * WAD),
                   sender=owner, gas=TX_GAS)
    e.transact("trade", *orders.fill(0, carol.address, 1, alice.address, 0, -(3 * WAD + 577215664901532860), 2000 * WAD),
               sender=owner, gas=TX_GAS)
    receipt = e.transact("checkpoint", sender=keeper, gas=TX_GAS)
    checkpoint_block = receipt.blockNumber
    # trading and prices go on after the checkpoint
    e.transact("trade", *orders.fill(0, bob.address, 0, alice.address, 0, WAD + 1, 2000 * WAD), sender=owner, gas=TX_GAS)
    dep.oracles[0].transact("setPrice", 2071 * WAD + 9, anvil_chain.w3.eth.get_block("latest")["timestamp"],
                            sender=owner, gas=TX_GAS)
    e.transact("deposit", 1, 5 * USD, sender=alice, gas=TX_GAS)
    return dep, checkpoint_block


@pytest.mark.anvil
def test_commit_at_a_checkpoint_reads_the_book_at_its_block_and_views(capsys, tmp_path, anvil_chain, venue):
    dep, block = venue
    url, address = anvil_chain.url, dep.engine.address
    code, out, err = run(capsys, "--json", "commit", "--rpc", url, "--engine", address, "--checkpoint", "1",
                         "--out", str(tmp_path / "c1"), "--json-proofs")
    assert code == 0, err
    result = json.loads(out)
    assert result["epoch"] == "1" and result["account_count"] == "4"
    # expected, independently: the engine's state at the checkpoint block, valued at the views the event recorded
    at_block = Engine.from_chain(dep.engine, block)
    (log,) = dep.engine.events.CheckpointTaken().get_logs(from_block=block, to_block=block)
    views = dict(enumerate(CheckpointData.from_abi(log["args"]["data"]).markets))
    for path in (tmp_path / "c1" / "proofs").iterdir():
        doc = json.loads(path.read_text())
        owner, sub = doc["account"]["owner"], int(doc["account"]["sub"])
        acc = next(a for a in at_block.accounts() if (a.owner, a.sub) == (owner, sub))
        assert int(doc["equity"]) == margin.equity(acc.collateral, list(acc.positions.values()), views)
        assert doc["account"]["salt"] == "0"  # an engine's public book
    now = Engine.from_chain(dep.engine)
    assert now.accounts() != at_block.accounts()  # the book moved on after the checkpoint
    book = book_from_json(json.loads((tmp_path / "c1" / "book.json").read_text()))
    assert book.accounts == at_block.accounts() and book.markets == views
    # --block N names the same checkpoint; a block out of range or without a checkpoint is one line
    code, out, err = run(capsys, "--json", "commit", "--rpc", url, "--engine", address, "--block", str(block),
                         "--out", str(tmp_path / "c2"))
    assert code == 0, err
    assert json.loads(out)["root"] == result["root"]
    head = anvil_chain.w3.eth.block_number
    for bad, message in ((head + 100, f"--block {head + 100} is out of range: the chain's blocks are 0..{head}"),
                         (block - 1, f"no checkpoint was taken in block {block - 1}")):
        code, _, err = run(capsys, "commit", "--rpc", url, "--engine", address, "--block", str(bad), "--out",
                           str(tmp_path / "bad"))
        assert code != 0 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "commit", "--rpc", url, "--engine", address, "--checkpoint", "2", "--out", str(tmp_path / "x"))
    assert code != 0 and "checkpoint 2 does not exist: the engine has checkpoints 1..1" in err
    code, _, err = run(capsys, "commit", "--rpc", url, "--engine", address, "--checkpoint", "1", "--epoch", "3",
                       "--out", str(tmp_path / "y"))
    assert code != 0 and "--epoch 3 differs from the checkpoint id 1" in err
    assert not (tmp_path / "bad").exists() and not (tmp_path / "x").exists()


@pytest.mark.anvil
def test_audit_epoch_passes_an_honest_book_and_names_a_left_out_account(capsys, tmp_path, anvil_chain, venue):
    dep, _ = venue
    url, address = anvil_chain.url, dep.engine.address
    honest_registry, dishonest_registry = (deploy_registry(anvil_chain, node_signer(anvil_chain, 0)).address
                                           for _ in range(2))
    code, _, err = run(capsys, "commit", "--rpc", url, "--engine", address, "--checkpoint", "1", "--out",
                       str(tmp_path / "c"), "--registry", honest_registry)  # commits and posts the root
    assert code == 0, err
    committed = json.loads((tmp_path / "c" / "root.json").read_text())
    root = committed["root"]["hash"]
    code, out, err = run(capsys, "--json", "audit-epoch", "--rpc", url, "--engine", address, "--epoch", "1",
                         "--registry", honest_registry, "--book", str(tmp_path / "c" / "book.json"))
    assert code == 0, out + err
    audit = json.loads(out)
    assert audit["ok"] is True and audit["root_hash"] == root and audit["posted"] is None  # a CommitmentRegistry: a root only
    # what an auditor cites: the checkpoint's block, time and transaction, the book's totals, the market snapshot
    (log,) = dep.engine.events.CheckpointTaken().get_logs(from_block=0, argument_filters={"id": 1})
    block = anvil_chain.w3.eth.get_block(log["blockNumber"])
    assert audit["checkpoint"]["block"] == str(log["blockNumber"])
    assert audit["checkpoint"]["time_s"] == str(block["timestamp"]) and audit["checkpoint"]["tx_hash"] == "0x" + bytes(log["transactionHash"]).hex()
    assert (audit["totals"]["liabilities_wad"], audit["totals"]["mm_wad"]) == (committed["root"]["equity"], committed["root"]["mm"])
    views = CheckpointData.from_abi(log["args"]["data"]).markets
    assert [m["price_wad"] for m in audit["markets"]] == [str(v.price_wad) for v in views]
    code, _, err = run(capsys, "audit-epoch", "--rpc", url, "--registry", honest_registry, "--epoch", "1")
    assert code != 0 and "has no engine(): give --engine ADDRESS" in err  # a CommitmentRegistry names no engine
    code, _, err = run(capsys, "audit-epoch", "--rpc", url, "--engine", address, "--registry", honest_registry, "--epoch", "2")
    assert code != 0 and "has no root for epoch 2" in err
    # attack: the operator commits and publishes the book without the account with the most equity
    honest = book_from_json(json.loads((tmp_path / "c" / "book.json").read_text()))
    left_out = max(honest.accounts, key=lambda a: margin.equity(a.collateral, list(a.positions.values()), honest.markets))
    partial = Book(honest.markets, {}, [a for a in honest.accounts if a is not left_out])
    save_book(partial, tmp_path / "partial.json")
    partial_root = commit_accounts(partial.accounts, partial.markets, None, 1).root
    assert partial_root.equity < int(json.loads((tmp_path / "c" / "root.json").read_text())["root"]["equity"])
    post_root(Contract(anvil_chain, "CommitmentRegistry", dishonest_registry, load_artifact("CommitmentRegistry")), 1,
              partial_root, node_signer(anvil_chain, 0))
    code, out, err = run(capsys, "--json", "audit-epoch", "--rpc", url, "--engine", address, "--epoch", "1",
                         "--registry", dishonest_registry, "--book", str(tmp_path / "partial.json"))
    assert code == 1
    findings = json.loads(out)["findings"]
    assert "operator's book: accountCount: checkpoint 4, book 3" in findings
    assert any(f.startswith("operator's book: collateralSumWad: checkpoint") for f in findings)
    assert f"account {left_out.account_id}: in the engine, missing from the book" in findings
    assert f"root: posted {hash_hex(partial_root.hash)}, rebuilt from the engine {root}" in findings
    code, out, _ = run(capsys, "--json", "audit-epoch", "--rpc", url, "--engine", address, "--epoch", "1",
                       "--root", hex(partial_root.hash))  # the root alone: the rebuilt one differs
    assert code == 1 and json.loads(out)["findings"] == [f"root: posted {hash_hex(partial_root.hash)}, rebuilt from the engine {root}"]
    code, _, err = run(capsys, "audit-epoch", "--rpc", url, "--engine", address, "--epoch", "9")
    assert code != 0 and "checkpoint 9 does not exist" in err and "Traceback" not in err


@pytest.mark.anvil
def test_a_state_change_later_in_the_checkpoint_block_makes_the_epoch_unprovable(capsys, tmp_path, anvil_chain, venue):
    """Checkpoint 2 and a deposit after it in the same block: the book at the end of the block is not
    the checkpoint's; commit refuses in one line and audit-epoch names the aggregate that moved."""
    dep, _ = venue
    w3, e = anvil_chain.w3, dep.engine
    keeper, alice = (node_signer(anvil_chain, i).address for i in (1, 2))
    w3.provider.make_request("evm_setAutomine", [False])
    try:
        hashes = [
            w3.eth.send_transaction({"from": keeper, "to": e.address, "gas": TX_GAS,
                                     "data": e.functions.checkpoint()._encode_transaction_data()}),
            w3.eth.send_transaction({"from": alice, "to": e.address, "gas": TX_GAS,
                                     "data": e.functions.deposit(0, 12_345)._encode_transaction_data()}),
        ]
        w3.provider.make_request("evm_mine", [])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
    first, second = (w3.eth.get_transaction_receipt(h) for h in hashes)
    assert first.status == second.status == 1 and first.blockNumber == second.blockNumber
    assert first.transactionIndex < second.transactionIndex
    url, address = anvil_chain.url, e.address
    code, _, err = run(capsys, "commit", "--rpc", url, "--engine", address, "--checkpoint", "2", "--out", str(tmp_path / "c"))
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert f"checkpoint 2: the engine's state changed later in block {first.blockNumber} (collateralSumWad:" in err
    assert "take a new checkpoint" in err and not (tmp_path / "c").exists()
    code, out, _ = run(capsys, "--json", "audit-epoch", "--rpc", url, "--engine", address, "--epoch", "2")
    assert code == 1
    (finding,) = json.loads(out)["findings"]
    assert finding.startswith(f"engine state at block {first.blockNumber}: collateralSumWad: checkpoint ")

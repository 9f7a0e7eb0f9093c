"""Plausible user mistakes give one line and a non-zero exit, never a traceback (issue 12, item 3), and
no transaction is sent that the chain would refuse or the sender cannot pay for.

Every test drives the real command line (in-process, as from a shell) against one anvil node holding a
MarginEngine and a CommitmentRegistry. "Nothing was sent" is checked on the chain: the block number and
the sender's nonce are unchanged.
"""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from eth_account import Account

from pymargin.chain import devnet, tx
from pymargin.chain.commitments import deploy_registry
from pymargin.chain.engine_devnet import default_markets, deploy_engine
from cli_support import run_cli

SECRET_HEX = "5b0c7e1f3a9d2846e1c0b7a5d3f29e8c4b1a6d0f7e3c9b2a5d8f1e4c7b0a3d69"
UNFUNDED_KEY = "0x" + "3e" * 32
BOOK = {
    "markets": [{"id": "0", "name": "ETH-PERP", "price_wad": "3141592653589793238462", "funding_index_wad": "0",
                 "imf_wad": "100000000000000000", "mmf_wad": "50000000000000000"}],
    "accounts": [
        {"owner": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "sub": "0", "collateral": "1718281828459045235360",
         "positions": [{"market_id": "0", "size": "-2718281828459045235", "cost_basis": "-8539734222673567065463",
                        "funding_index": "0"}]},
        {"owner": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359", "sub": "1", "collateral": "2236067977499789696409",
         "positions": [{"market_id": "0", "size": "1414213562373095048", "cost_basis": "4442882938158366247",
                        "funding_index": "0"}]},
    ],
}


@pytest.fixture(scope="module")
def world(artifacts):
    chain = devnet.start_anvil()
    owner = tx.node_signer(chain, 0)
    dep = deploy_engine(chain, owner, default_markets())
    registry = deploy_registry(chain, owner)
    yield {"chain": chain, "url": chain.url, "owner": owner, "engine": dep.engine.address, "registry": registry.address}
    chain.close()


def _one_line_error(code: int, out: str, err: str, *needles: str, exit_code: int = 2) -> None:
    assert code == exit_code, err
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pymargin: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


def _chain_state(world, address: str | None = None) -> tuple[int, int]:
    w3 = world["chain"].w3
    return w3.eth.block_number, w3.eth.get_transaction_count(address or world["owner"].address)


def _files(folder: Path, book: dict) -> tuple[Path, Path]:
    (folder / "book.json").write_text(json.dumps(book))
    (folder / "secret.hex").write_text(SECRET_HEX)
    return folder / "book.json", folder / "secret.hex"


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("form", ["json-string", "json-number", "csv"])
def test_a_5000_digit_number_in_a_positions_file(tmp_path, capsys, form):
    huge = "7" * 5000
    if form == "csv":
        book = tmp_path / "book.csv"
        book.write_text("record,owner,sub,collateral,market_id,name,price_wad,funding_index_wad,imf_wad,mmf_wad,size,cost_basis,funding_index\n"
                        "market,,,,0,ETH-PERP,3141592653589793238462,0,100000000000000000,50000000000000000,,,\n"
                        f"account,0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed,0,{huge},,,,,,,,,\n")
    else:
        text = json.dumps(BOOK).replace('"1718281828459045235360"', huge if form == "json-number" else f'"{huge}"')
        book = tmp_path / "book.json"
        book.write_text(text)
    (tmp_path / "secret.hex").write_text(SECRET_HEX)
    code, out, err = run_cli(capsys, "commit", str(book), "--epoch", "1", "--out", str(tmp_path / "c"),
                             "--secret-file", str(tmp_path / "secret.hex"))
    _one_line_error(code, out, err, str(book), "5000 digits")
    assert not (tmp_path / "c").exists()


def test_keystores_that_are_not_ones_and_a_wrong_password(world, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PYMARGIN_KEYSTORE_PASSWORD", "correct horse")
    real = Account.encrypt("0x" + "4d" * 32, "correct horse", kdf="scrypt", iterations=2)
    cases = {
        "object.json": ({"address": "ab"}, "is not an Ethereum JSON keystore"),
        "list.json": ([1, 2], "is not an Ethereum JSON keystore"),
        "text.json": ("not json", "malformed JSON at line 1 column 1"),
        "nokdf.json": ({**real, "crypto": {k: v for k, v in real["crypto"].items() if k != "kdfparams"}}, "not a usable Ethereum JSON keystore"),
        "badkdf.json": ({**real, "crypto": {**real["crypto"], "kdf": "rot13"}}, "not a usable Ethereum JSON keystore"),
    }
    before = _chain_state(world)
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        code, out, err = run_cli(capsys, "deploy-commitments", "--rpc", world["url"], "--keystore", str(path))
        _one_line_error(code, out, err, str(path), message)
    (tmp_path / "real.json").write_text(json.dumps(real))
    monkeypatch.setenv("PYMARGIN_KEYSTORE_PASSWORD", "wrong horse")
    code, out, err = run_cli(capsys, "deploy-commitments", "--rpc", world["url"], "--keystore", str(tmp_path / "real.json"))
    _one_line_error(code, out, err, "wrong password for keystore", "PYMARGIN_KEYSTORE_PASSWORD")
    assert _chain_state(world) == before


# ---------------------------------------------------------------- chain reads


def test_engine_that_is_not_one_and_address_without_code(world, tmp_path, capsys):
    for argv in (["margin"], ["crosscheck"], ["commit", "--out", str(tmp_path / "c"), "--epoch", "1"],
                 ["audit-epoch", "--epoch", "1", "--root", "0x1"]):
        code, out, err = run_cli(capsys, *argv, "--rpc", world["url"], "--engine", world["registry"])
        _one_line_error(code, out, err, world["registry"], "is not a MarginEngine of this version")
        code, out, err = run_cli(capsys, *argv, "--rpc", world["url"], "--engine", world["owner"].address)
        _one_line_error(code, out, err, f"no contract at {world['owner'].address} on chain 31337 (given as --engine)")
    assert not (tmp_path / "c").exists()
    code, out, _ = run_cli(capsys, "--json", "margin", "--rpc", world["url"], "--engine", world["engine"])
    assert code == 0 and json.loads(out)["accounts"] == []  # the real engine passes the check


def test_block_out_of_range(world, tmp_path, capsys):
    head = world["chain"].w3.eth.block_number
    for block in (head + 1_000_000, -3):
        for argv in (["margin"], ["crosscheck"], ["commit", "--out", str(tmp_path / "c")]):
            code, out, err = run_cli(capsys, *argv, "--rpc", world["url"], "--engine", world["engine"], "--block", str(block))
            _one_line_error(code, out, err, f"--block {block} is out of range: the chain's blocks are 0..")
    assert not (tmp_path / "c").exists()


def test_wrong_chain_id(world, tmp_path, capsys):
    config = tmp_path / "deploy.json"
    venue = json.loads((Path(__file__).parents[1] / "deployments" / "example.anvil.json").read_text())
    config.write_text(json.dumps(venue | {"chain_id": 11155111}))
    before = _chain_state(world)
    code, out, err = run_cli(capsys, "deploy", "--config", str(config), "--rpc", world["url"],
                             "--deployments", str(tmp_path / "deployments"))
    _one_line_error(code, out, err, "is chain 31337, but 11155111 was expected")
    assert _chain_state(world) == before and not (tmp_path / "deployments").exists()


# ---------------------------------------------------------------- writes


def test_commit_for_an_epoch_already_posted_sends_nothing_and_writes_nothing(world, tmp_path, capsys):
    book, secret = _files(tmp_path, BOOK)
    argv = ["commit", str(book), "--epoch", "4242", "--secret-file", str(secret), "--rpc", world["url"], "--registry", world["registry"]]
    code, _, err = run_cli(capsys, *argv, "--out", str(tmp_path / "first"))
    assert code == 0, err
    before = _chain_state(world)
    code, out, err = run_cli(capsys, *argv, "--out", str(tmp_path / "second"))
    _one_line_error(code, out, err, "refuses epoch 4242: EpochAlreadyPosted(4242,)", "nothing was sent, no files written")
    assert _chain_state(world) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.json", "first", "secret.hex"]


def test_a_transaction_the_engine_refuses_is_not_sent(world, capsys, monkeypatch):
    """The orders family: cancel-orders below a nonce that is not above the current minimum."""
    key = "0x" + "5c" * 32
    trader = Account.from_key(key).address
    world["chain"].w3.eth.send_transaction({"from": world["owner"].address, "to": trader, "value": 10**18})
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", key)
    argv = ["cancel-orders", "--rpc", world["url"], "--engine", world["engine"], "--below"]
    code, _, err = run_cli(capsys, *argv, "1000000000000000001")
    assert code == 0, err
    before = _chain_state(world, trader)
    code, out, err = run_cli(capsys, *argv, "7")
    _one_line_error(code, out, err, "NonceNotIncreasing(1000000000000000001, 7)", exit_code=1)
    assert _chain_state(world, trader) == before


def test_an_unfunded_account_sends_nothing(world, capsys, monkeypatch):
    unfunded = Account.from_key(UNFUNDED_KEY).address
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", UNFUNDED_KEY)
    before = _chain_state(world, unfunded)
    code, out, err = run_cli(capsys, "deploy-commitments", "--rpc", world["url"])
    _one_line_error(code, out, err, unfunded, "fund it with the chain's native token first")
    assert _chain_state(world, unfunded) == before


@pytest.mark.parametrize("gas", [None, 3_000_000])
def test_send_simulates_first_with_estimated_and_with_fixed_gas(world, gas):
    """The send layer itself: a reverting transaction raises the decoded custom error, marked simulated,
    and nothing is mined (with fixed gas there is no estimate, so eth_call is the simulation)."""
    from pymargin.chain.checkpoints import engine_at

    engine = engine_at(world["chain"], world["engine"])
    before = _chain_state(world)
    with pytest.raises(tx.ContractRevert) as caught:
        engine.transact("cancelOrdersBelow", 0, sender=world["owner"], gas=gas)
    assert (caught.value.name, caught.value.args_, caught.value.simulated) == ("NonceNotIncreasing", (0, 0), True)
    assert _chain_state(world) == before


# ---------------------------------------------------------------- devnet


def test_devnet_on_a_busy_port_prints_nothing_but_the_error(capsys):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, out, err = run_cli(capsys, "devnet", "--port", str(port))
    _one_line_error(code, out, err, f"port {port} on 127.0.0.1 is in use", "choose another --port")
    assert out == ""
    code, out, err = run_cli(capsys, "devnet", "--port", "70000")
    _one_line_error(code, out, err, "--port 70000 is not a TCP port")


# ---------------------------------------------------------------- proving


def test_prove_accounts_under_margin_and_a_refused_witness_names_the_accounts(world, tmp_path, capsys):
    """Accounts below maintenance margin and with negative equity are proven (they are what the statement
    counts); a witness the circuit refuses names the batch's accounts and circom's assertion, not the
    JavaScript line `throw new Error(err);`. The proof posted to or verified against an address that is
    not a SolvencyRegistry / verifier, or holds no code, is one line."""
    import dataclasses

    from pymargin.book import load_book
    from pymargin.commit.commitment import commit_accounts
    from pymargin.zk import circuits
    from pymargin.zk.inputs import batch_inputs, epoch_statement
    from pymargin.zk.prover_pool import prove_batch
    from pymargin.zk.setup import dev_setup_groth16py
    from pymargin.zk.solvency import _batch_accounts
    from pymargin.zk.statement import Shape
    from pymargin.zk.witness import WitnessError

    book = json.loads(json.dumps(BOOK))
    book["accounts"][0]["collateral"] = "-500718281828459045235"  # equity < 0: deficit
    book["accounts"][1]["collateral"] = "-4318281828459045235360"  # 0 < equity < mm: below maintenance
    path = tmp_path / "book.json"
    path.write_text(json.dumps(book))
    code, out, err = run_cli(capsys, "--json", "prove", str(path), "--unsalted", "--epoch", "1", "--depth", "2",
                             "--batch-log2", "2", "--chain-id", "31337", "--registry", "0xc0ffee", "--engine", "0xe9e",
                             "--out", str(tmp_path / "epoch.json"), "--backend", "groth16py")
    assert code == 0, err
    totals = json.loads(out)["totals"]
    assert int(totals["below_mm_count"]) == 2 and int(totals["deficit_wad"]) > 0 and int(totals["shortfall_wad"]) > 0
    epoch_file, vk = str(tmp_path / "epoch.json"), json.loads(out)["keys"] + "/verification_key.json"
    for address in (world["registry"], world["owner"].address):
        no_code = f"no contract at {address} on chain 31337 (given as "
        code, out, err = run_cli(capsys, "post-epoch", epoch_file, "--rpc", world["url"], "--registry", address)
        _one_line_error(code, out, err, *((f"--registry {address}", "is not a SolvencyRegistry of this version")
                                          if address == world["registry"] else (no_code + "--registry)",)))
        code, out, err = run_cli(capsys, "verify", epoch_file, "--vk", vk, "--rpc", world["url"], "--verifier", address)
        _one_line_error(code, out, err, *((f"--verifier {address}", "is not a Groth16")
                                          if address == world["registry"] else (no_code + "--verifier)",)))

    loaded = load_book(path)
    commitment = commit_accounts(loaded.accounts, loaded.markets, None, 1, 2)
    statement = epoch_statement(commitment, None, Shape(2, 0, 4), 31337, 0xC0FFEE, 0xE9E, 1, 1)
    batch = batch_inputs(commitment, None, statement)[0]
    forged = dict(batch.inputs, collateral=[c + (i == 1) for i, c in enumerate(batch.inputs["collateral"])])
    circuit = circuits.solvency(2, 4, 0)
    with pytest.raises(WitnessError) as caught:
        prove_batch(circuit, dev_setup_groth16py(circuit), "groth16py", dataclasses.replace(batch, inputs=forged),
                    str(tmp_path), _batch_accounts(commitment, 0, 2))
    message = str(caught.value)
    first, last = commitment.accounts[0].account_id, commitment.accounts[-1].account_id
    assert message.startswith(f"batch 0 (accounts {first} to {last}): ")
    assert re.search(r": the inputs do not satisfy the circuit: Assert Failed in template [A-Za-z]\w* line \d+$", message)
    assert "throw" not in message and "\n" not in message


def test_order_values_out_of_range(world, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", "0x" + "5c" * 32)
    argv = ["sign-order", "--rpc", world["url"], "--engine", world["engine"], "--market", "0", "--limit", "2718.281828459045235360"]
    out_file = str(tmp_path / "order.json")
    for size, message in (("1e999999", "is not a decimal number"), ("1e70", "must fit an int256"),
                          ("NaN", "is not a finite decimal number"), ("1.0000000000000000001", "has more than 18 decimals")):
        code, out, err = run_cli(capsys, *argv, "--size", size, "--out", out_file)
        _one_line_error(code, out, err, f"--size '{size}'", message)
    code, out, err = run_cli(capsys, *argv, "--size", "1.414213562373095048", "--nonce", "-1", "--out", out_file)
    assert code == 2 and "Traceback" not in err and "'--nonce': -1 is not in the range" in err
    code, out, err = run_cli(capsys, *argv, "--size", "1.414213562373095048", "--out", str(tmp_path / "missing" / "x" / "order.json"))
    assert code == 0, err  # a new folder is made
    (tmp_path / "file").write_text("")
    code, out, err = run_cli(capsys, *argv, "--size", "1.414213562373095048", "--out", str(tmp_path / "file" / "order.json"))
    _one_line_error(code, out, err, "is a file, not a folder")
    assert not (tmp_path / "order.json").exists()


def test_checkpoint_ids_that_do_not_exist(world, tmp_path, capsys):
    for checkpoint in ("-5", "7", str(2**256)):
        code, out, err = run_cli(capsys, "commit", "--rpc", world["url"], "--engine", world["engine"], "--checkpoint", checkpoint,
                                 "--out", str(tmp_path / "c"))
        _one_line_error(code, out, err, f"checkpoint {checkpoint} does not exist: the engine has no checkpoint yet")
        code, out, err = run_cli(capsys, "audit-epoch", "--rpc", world["url"], "--engine", world["engine"], "--epoch", checkpoint,
                                 "--root", "0x1")
        _one_line_error(code, out, err, f"checkpoint {checkpoint} does not exist")
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("manifest", [{"chain_id": 31337, "contracts": {"Engine": 5}}, [], {"contracts": {}, "calls": 3}])
def test_a_deployment_manifest_that_is_not_one(world, tmp_path, capsys, manifest):
    (tmp_path / "deployments").mkdir()
    (tmp_path / "deployments" / "31337.json").write_text(json.dumps(manifest))
    for argv in (["verify-deployment"], ["margin"]):
        code, out, err = run_cli(capsys, *argv, "--rpc", world["url"], "--deployments", str(tmp_path / "deployments"))
        _one_line_error(code, out, err, "31337.json is not a deployment manifest")

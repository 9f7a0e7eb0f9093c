"""Deploying from a config: manifest, bytecode verification, idempotent re-runs, chain-id guard,
signers, reverts decoded to custom errors — on the embedded devnet and on anvil."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eth_account import Account

from pymargin.chain import deploy, devnet, tx
from pymargin.chain.compile import compile_contracts
from pymargin.errors import UserError

FIXTURES = Path(__file__).parent / "fixtures" / "contracts"


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    shutil.copytree(FIXTURES, root / "contracts")
    compile_contracts(root / "contracts", root / "out")
    return root / "out"


def _config(chain_id: int) -> dict:
    return {
        "chain_id": chain_id,
        "contracts": [{"name": "Counter", "artifact": "Counter", "args": ["7", "{deployer}"]}],
        "calls": [{"contract": "Counter", "function": "add", "args": [3]}],
    }


def _run(chain, out_dir, tmp_path, signer=None):
    signer = signer or tx.node_signer(chain)
    return deploy.deploy_from_config(chain, signer, _config(chain.chain_id), deployments_dir=tmp_path, out_dir=out_dir)


def _deploy_manifest_verify(chain, out_dir, tmp_path):
    result = _run(chain, out_dir, tmp_path)
    assert result.deployed == ["Counter"] and result.calls_sent == 1
    counter = result.contracts["Counter"]
    assert counter.call("count") == 21 and counter.call("step") == 7

    manifest = json.loads((tmp_path / f"{chain.chain_id}.json").read_text())
    record = manifest["contracts"]["Counter"]
    assert record["address"] == counter.address
    assert record["deployer"] == tx.node_signer(chain).address
    assert record["compiler"].startswith("0.8.37+")
    assert record["block"] >= 1 and record["tx_hash"].startswith("0x")
    code = bytes(chain.w3.eth.get_code(counter.address))
    assert record["runtime_keccak"] == "0x" + deploy.keccak(code).hex()

    checks = deploy.verify_deployment(chain, tmp_path, out_dir)
    assert [(c.name, c.ok) for c in checks] == [("Counter", True)]

    again = _run(chain, out_dir, tmp_path)
    assert again.deployed == [] and again.reused == ["Counter"] and again.calls_sent == 0
    assert again.contracts["Counter"].address == counter.address
    assert counter.call("count") == 21, "the recorded call was not sent twice"


def test_deploy_manifest_verify_idempotent(chain, out_dir, tmp_path):
    _deploy_manifest_verify(chain, out_dir, tmp_path)


@pytest.mark.anvil
def test_deploy_manifest_verify_idempotent_on_anvil(anvil_chain, out_dir, tmp_path):
    _deploy_manifest_verify(anvil_chain, out_dir, tmp_path)


def test_verify_detects_different_code(chain, out_dir, tmp_path):
    _run(chain, out_dir, tmp_path)
    path = tmp_path / f"{chain.chain_id}.json"
    manifest = json.loads(path.read_text())
    other = deploy.deploy_from_config(
        chain, tx.node_signer(chain),
        {"chain_id": chain.chain_id, "contracts": [{"name": "X", "artifact": "Counter", "args": [1, "{deployer}"]}]},
        deployments_dir=tmp_path / "other", out_dir=out_dir,
    )
    manifest["contracts"]["Counter"]["address"] = other.contracts["X"].address  # code with another immutable
    path.write_text(json.dumps(manifest))
    (check,) = deploy.verify_deployment(chain, tmp_path, out_dir)
    assert not check.ok and "runtime_keccak" in check.reason
    manifest["contracts"]["Counter"]["address"] = "0x" + "11" * 20  # nothing there
    path.write_text(json.dumps(manifest))
    (check,) = deploy.verify_deployment(chain, tmp_path, out_dir)
    assert not check.ok and check.reason == "no code at this address"


def test_wrong_chain_id_sends_nothing(chain, out_dir, tmp_path):
    config = _config(chain.chain_id + 1)
    nonce = chain.w3.eth.get_transaction_count(chain.accounts[0])
    with pytest.raises(devnet.ChainError, match="nothing was sent"):
        deploy.deploy_from_config(chain, tx.node_signer(chain), config, deployments_dir=tmp_path, out_dir=out_dir)
    assert chain.w3.eth.get_transaction_count(chain.accounts[0]) == nonce
    assert not list(tmp_path.iterdir())


def test_revert_is_decoded_to_the_custom_error(chain, out_dir, tmp_path):
    counter = _run(chain, out_dir, tmp_path).contracts["Counter"]
    signer = tx.node_signer(chain)
    with pytest.raises(tx.ContractRevert) as err:
        counter.transact("add", 101, sender=signer)
    assert (err.value.name, err.value.args_) == ("TooBig", (101, 100))
    stranger = tx.node_signer(chain, 1)
    with pytest.raises(tx.ContractRevert) as err:
        counter.transact("add", 1, sender=stranger)
    assert (err.value.name, err.value.args_) == ("NotOwner", (stranger.address,))


def test_local_key_signer_and_unfunded_account(chain, out_dir, tmp_path):
    funded = Account.create()
    chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_transaction(
        {"from": chain.accounts[0], "to": funded.address, "value": 10**18, "gas": 21_000}))
    signer = tx.key_signer(funded.key.hex())
    result = _run(chain, out_dir, tmp_path, signer=signer)
    assert result.contracts["Counter"].call("owner") == funded.address

    broke = tx.key_signer(Account.create().key.hex())
    with pytest.raises(tx.SignerError, match="cannot pay for gas"):
        _run(chain, out_dir, tmp_path / "broke", signer=broke)


def test_keystore_signer(tmp_path, monkeypatch):
    account = Account.create()
    path = tmp_path / "key.json"
    path.write_text(json.dumps(Account.encrypt(account.key, "pw", iterations=2)))
    monkeypatch.setenv("PYMARGIN_KEYSTORE_PASSWORD", "pw")
    assert tx.keystore_signer(path).address == account.address
    monkeypatch.setenv("PYMARGIN_KEYSTORE_PASSWORD", "wrong")
    with pytest.raises(tx.SignerError, match="wrong password"):
        tx.keystore_signer(path)
    monkeypatch.delenv("PYMARGIN_KEYSTORE_PASSWORD")
    with pytest.raises(tx.SignerError, match="PYMARGIN_KEYSTORE_PASSWORD"):
        tx.keystore_signer(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "malformed JSON at line 1"),
        ("[]", "top level must be an object"),
        ('{"contracts": []}', "'chain_id' must be an integer"),
        ('{"chain_id": 1, "contracts": []}', "'contracts' must be a non-empty list"),
        ('{"chain_id": 1, "contracts": [{"name": "A"}]}', "contracts\\[0\\] needs string fields"),
    ],
)
def test_bad_config_is_named(tmp_path, text, message):
    path = tmp_path / "deploy.json"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        deploy.load_config(path)


def test_missing_config(tmp_path):
    with pytest.raises(UserError, match="not found"):
        deploy.load_config(tmp_path / "nope.json")

"""Deploying from a config: manifest, bytecode verification, idempotent re-runs, chain-id guard,
signers, reverts decoded to custom errors — on the embedded devnet and on anvil."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from eth_account import Account

from pymargin.chain import deploy, tx
from pymargin.chain.compile import compile_contracts

FIXTURES = Path(__file__).parent / "fixtures" / "contracts"


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("build")
    shutil.copytree(FIXTURES, root / "contracts")
    compile_contracts(root / "contracts", root / "out")
    return root / "out"


class _Run:
    """What a Counter deployment through a Deployer did (contracts by name, the deployer's tallies)."""

    def __init__(self, deployer, counter):
        self.contracts = {"Counter": counter}
        self.deployed, self.reused, self.calls_sent = deployer.deployed, deployer.reused, deployer.calls_sent


def _run(chain, out_dir, tmp_path, signer=None, name="Counter", step=7):
    """Deploy Counter(step, deployer) and call add(3) once, recorded in tmp_path/<chainId>.json."""
    signer = signer or tx.node_signer(chain)
    deployer = deploy.Deployer(chain, signer, tmp_path)
    counter = deployer.deploy(name, "Counter", step, signer.address, out_dir=out_dir)
    deployer.call(counter, "add", 3)
    return _Run(deployer, counter)


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

    other = _run(chain, out_dir, tmp_path, step=8)  # other init code: deployed anew, recorded in its place
    assert other.deployed == ["Counter"] and other.contracts["Counter"].address != counter.address


def test_deploy_manifest_verify_idempotent(chain, out_dir, tmp_path):
    _deploy_manifest_verify(chain, out_dir, tmp_path)


@pytest.mark.anvil
def test_deploy_manifest_verify_idempotent_on_anvil(anvil_chain, out_dir, tmp_path):
    _deploy_manifest_verify(anvil_chain, out_dir, tmp_path)


def test_verify_detects_different_code(chain, out_dir, tmp_path):
    _run(chain, out_dir, tmp_path)
    path = tmp_path / f"{chain.chain_id}.json"
    manifest = json.loads(path.read_text())
    other = _run(chain, out_dir, tmp_path / "other", step=1)
    manifest["contracts"]["Counter"]["address"] = other.contracts["Counter"].address  # code with another immutable
    path.write_text(json.dumps(manifest))
    (check,) = deploy.verify_deployment(chain, tmp_path, out_dir)
    assert not check.ok and "runtime_keccak" in check.reason
    manifest["contracts"]["Counter"]["address"] = "0x" + "11" * 20  # nothing there
    path.write_text(json.dumps(manifest))
    (check,) = deploy.verify_deployment(chain, tmp_path, out_dir)
    assert not check.ok and check.reason == "no code at this address"


def test_a_reverting_deployment_or_call_is_refused_before_it_is_sent(chain, out_dir, tmp_path):
    signer = tx.node_signer(chain)
    counter = _run(chain, out_dir, tmp_path).contracts["Counter"]
    deployer = deploy.Deployer(chain, signer, tmp_path)
    nonce = chain.w3.eth.get_transaction_count(signer.address)
    with pytest.raises(tx.ContractRevert) as err:
        deployer.call(counter, "add", 101, gas=200_000)  # explicit gas: no estimation, the eth_call catches it
    assert (err.value.name, err.value.args_) == ("TooBig", (101, 100))
    assert chain.w3.eth.get_transaction_count(signer.address) == nonce, "nothing was sent"


def test_a_reverting_constructor_is_refused_before_it_is_sent(chain, artifacts, tmp_path):
    signer = tx.node_signer(chain)
    deployer = deploy.Deployer(chain, signer, tmp_path)
    feed = deployer.deploy("Feed", "MockAggregatorV3", 8, "ETH / USD", 2_000_12345678)
    nonce = chain.w3.eth.get_transaction_count(signer.address)
    with pytest.raises(tx.ContractRevert) as err:
        deployer.deploy("Adapter", "ChainlinkAdapter", feed.address, 0, "0x" + "00" * 20, 0, gas=1_000_000)
    assert err.value.name == "ZeroMaxAnswerAge"
    assert chain.w3.eth.get_transaction_count(signer.address) == nonce, "nothing was sent"
    assert set(json.loads((tmp_path / f"{chain.chain_id}.json").read_text())["contracts"]) == {"Feed"}


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
    with pytest.raises(tx.SignerError, match="holds no ETH on chain .*nothing was sent"):
        deploy.require_funded(chain, broke)
    with pytest.raises(tx.SignerError, match="cannot pay for gas|fund it with the chain's native token"):
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

"""The venue deploy config (pymargin-deploy/1): schema checks that name the bad field, and `pymargin deploy`
and the commands driving a venue from the CLI on anvil — one-line refusals before anything is sent."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from cli_support import run_cli
from output_rules import check_output
from pymargin import tools
from pymargin.chain import devnet
from pymargin.chain.compile import load_artifact
from pymargin.chain.contracts import Contract
from pymargin.chain.full_set import SCHEMA_PATH, ConfigError, load_config, parse_config
from pymargin.fixedpoint import WAD

EXAMPLE = tools.REPO_ROOT / "deployments" / "example.anvil.json"
ALICE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil's test account 1


def _engine_only() -> dict:
    """The example config without the solvency contracts (no circuit keys: quick)."""
    config = json.loads(EXAMPLE.read_text())
    del config["solvency"]
    return config


def test_the_example_config_parses_exactly():
    spec = load_config(EXAMPLE)
    assert spec.chain_id == 31337 and spec.token_address is None and spec.token_decimals == 6
    assert [m.name for m in spec.markets] == ["ETH-PERP", "BTC-PERP", "SOL-PERP"]
    btc, sol = spec.markets[1], spec.markets[2]
    assert (btc.price_wad, btc.params.imf_wad, btc.params.mmf_wad) == (60_000 * WAD, WAD // 20, WAD // 40)
    assert (sol.chainlink_decimals, sol.price_wad, sol.params.imf_wad) == (8, 150 * WAD, WAD // 5)
    assert (spec.solvency.shape.k, spec.solvency.shape.t, spec.solvency.shape.m) == (2, 1, 4)
    assert spec.keepers == spec.operators == ("deployer",)


def test_the_documented_schema_is_the_packaged_one():
    assert (tools.REPO_ROOT / "docs" / "deploy.schema.json").read_bytes() == SCHEMA_PATH.read_bytes()


def test_decimals_are_exact_to_the_last_wei():
    config = _engine_only()
    config["markets"][0]["price"] = "2718.281828459045235360"  # 18 decimals
    config["markets"][0]["params"] = {"imf": "0.123456789012345678", "max_price_age_s": 77}
    spec = parse_config(config, EXAMPLE)
    assert spec.markets[0].price_wad == 2718_281828459045235360
    assert spec.markets[0].params.imf_wad == 123456789012345678 and spec.markets[0].params.max_price_age_s == 77


def _edit(path: list, value) -> dict:
    config = _engine_only()
    target = config
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return config


_DELETE = object()


@pytest.mark.parametrize("path, value, message", [
    (["format"], _DELETE, "top level: 'format' is a required property"),
    (["format"], "pymargin-deploy/2", "format: 'pymargin-deploy/1' was expected"),
    (["chain_id"], "31337", "chain_id: '31337' is not of type 'integer'"),
    (["token"], {"address": "0x12"}, "token.address: '0x12' does not match"),
    (["markets", 1, "price"], "60,000", "markets[1].price: '60,000' does not match"),
    (["markets", 2, "oracle"], {"kind": "mock_chainlink"}, "markets[2].oracle: 'decimals' is a required property"),
    (["markets", 2, "oracle"], {"kind": "pyth"}, "markets[2].oracle.kind: 'pyth' is not one of"),
    (["markets", 0, "oracle"], {"kind": "dev", "decimals": 8}, "markets[0].oracle: Additional properties are not allowed"),
    (["markets", 0, "oracle"], {"kind": "chainlink", "feed": "0x" + "ab" * 20}, "markets[0].oracle: 'max_answer_age_s' is a required property"),
    (["markets", 0, "params"], {"imf": "0.1234567890123456789"}, "markets[0].params.imf: '0.1234567890123456789' does not match"),
    (["markets", 0, "params"], {"imff": "0.1"}, "markets[0].params: Additional properties are not allowed ('imff' was unexpected)"),
    (["markets"], [{"name": f"M{i}", "price": "1", "oracle": {"kind": "dev"}} for i in range(5)], "markets: "),
    (["keepers"], ["me"], "keepers[0]: 'me' does not match"),
    (["solvency"], {"circuit_markets": 3}, "solvency.circuit_markets: 3 is less than the minimum of 4"),
    (["markets", 0, "price"], _DELETE, "markets[0].price: a dev oracle needs a first price"),
    (["markets", 1, "name"], "ETH-PERP", "markets: names must be distinct"),
])
def test_a_bad_config_is_one_line_naming_the_field(tmp_path, path, value, message):
    file = tmp_path / "deploy.json"
    file.write_text(json.dumps(_edit(path, value)))
    with pytest.raises(ConfigError) as err:
        load_config(file)
    assert str(err.value).startswith(f"{file}: ") and message in str(err.value) and "\n" not in str(err.value)


def test_a_chainlink_market_takes_no_price():
    config = _edit(["markets", 0, "oracle"], {"kind": "chainlink", "feed": "0x" + "ab" * 20, "max_answer_age_s": 3600})
    with pytest.raises(ConfigError, match=r"markets\[0\].price: a chainlink oracle reads its feed"):
        parse_config(config, EXAMPLE)
    del config["markets"][0]["price"]
    spec = parse_config(config, EXAMPLE)
    assert spec.markets[0].feed.lower() == "0x" + "ab" * 20 and spec.markets[0].price_wad == 0


# -- on anvil, through the CLI -------------------------------------------------------------------------------


@pytest.fixture
def venue_dir(tmp_path, monkeypatch, artifacts):
    """An anvil node, PYMARGIN_RPC_URL set to it, a working folder holding the engine-only config."""
    chain = devnet.start_anvil()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYMARGIN_RPC_URL", chain.url)
    monkeypatch.delenv("PYMARGIN_PRIVATE_KEY", raising=False)
    (tmp_path / "venue.json").write_text(json.dumps(_engine_only()))
    yield chain, tmp_path
    chain.close()


def _one_line_error(code: int, err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert code != 0 and len(lines) == 1 and lines[0].startswith("pymargin: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.anvil
def test_deploy_refuses_a_wrong_chain_and_an_unfunded_key_sending_nothing(venue_dir, capsys, monkeypatch):
    chain, folder = venue_dir
    config = _engine_only() | {"chain_id": 1}
    (folder / "mainnet.json").write_text(json.dumps(config))
    code, _, err = run_cli(capsys, "deploy", "--config", "mainnet.json")
    _one_line_error(code, err, "is chain 31337, but 1 was expected")
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", Account.create().key.hex())
    code, _, err = run_cli(capsys, "deploy", "--config", "venue.json")
    _one_line_error(code, err, "holds no ETH on chain 31337", "nothing was sent")
    assert chain.w3.eth.block_number == 0 and not (folder / "deployments" / "31337.json").exists()


@pytest.mark.anvil
def test_deploy_reuse_and_drive_the_venue(venue_dir, capsys, monkeypatch):
    chain, folder = venue_dir
    code, out, err = run_cli(capsys, "--json", "deploy", "--config", "venue.json")
    assert code == 0, err
    first = check_output("deploy", out)
    assert {c["status"] for c in first["contracts"]} == {"deployed"} and first["chain_id"] == "31337"
    assert [c["name"] for c in first["contracts"]] == ["Token", "MarginEngine", "Oracle:ETH-PERP", "Oracle:BTC-PERP",
                                                       "Aggregator:SOL-PERP", "Oracle:SOL-PERP"]
    code, out, _ = run_cli(capsys, "--json", "deploy", "--config", "venue.json")
    again = json.loads(out)
    assert code == 0 and {c["status"] for c in again["contracts"]} == {"reused"} and again["call_count"] == "0"
    assert again["engine"] == first["engine"]

    changed = _engine_only()
    changed["markets"][1]["params"] = {"imf": "0.06", "mmf": "0.025"}
    (folder / "changed.json").write_text(json.dumps(changed))
    code, _, err = run_cli(capsys, "-q", "deploy", "--config", "changed.json")
    _one_line_error(code, err, "market 1 of the recorded engine", "BTC-PERP")
    engine = Contract(chain, "MarginEngine", first["engine"], load_artifact("MarginEngine"))
    assert engine.call("marketCount") == 3

    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", ALICE_KEY)
    alice = Account.from_key(ALICE_KEY).address
    code, _, err = run_cli(capsys, "deposit", "12.3456789", "--mint")
    _one_line_error(code, err, "AMOUNT '12.3456789' has more than 6 decimals")
    code, out, err = run_cli(capsys, "--json", "deposit", "1234.567891", "--mint")
    assert code == 0 and check_output("deposit", out)["collateral_wad"] == str(1234_567891 * 10**12) and err == ""  # --json: quiet
    nonce = chain.w3.eth.get_transaction_count(alice)
    code, _, err = run_cli(capsys, "withdraw", "1234.567892")
    _one_line_error(code, err, "refuses withdraw", "InsufficientCollateral")
    assert chain.w3.eth.get_transaction_count(alice) == nonce, "a refused withdrawal was not sent"
    code, out, _ = run_cli(capsys, "--json", "withdraw", "234.5")
    assert code == 0 and check_output("withdraw", out)["collateral_wad"] == str(1000_067891 * 10**12)
    monkeypatch.delenv("PYMARGIN_PRIVATE_KEY")

    prices = folder / "prices.csv"
    for text, fragment in [("price\n1\n", "the first line must be the header 'market,price'"),
                           ("market,price\nDOGE-PERP,1\n", "unknown market 'DOGE-PERP'"),
                           ("market,price\nSOL-PERP,148.123456789\n", "has more than 8 decimals"),
                           ("market,price\n0,-5\n", "must be a non-negative number")]:
        prices.write_text(text)
        block = chain.w3.eth.block_number
        code, _, err = run_cli(capsys, "set-prices", "--file", "prices.csv")
        _one_line_error(code, err, fragment)
        assert chain.w3.eth.block_number == block, "a bad price file sent nothing"
    prices.write_text("market,price\n0,2012.718281828459045235\nSOL-PERP,148.12345678\n")
    code, out, err = run_cli(capsys, "--json", "set-prices", "--file", "prices.csv")
    assert code == 0 and check_output("set-prices", out)["update_count"] == "2"
    assert engine.call("marketView", 0)[0] == 2012_718281828459045235
    assert engine.call("marketView", 2)[0] == 148_12345678 * 10**10

    code, out, err = run_cli(capsys, "--json", "checkpoint")
    data = check_output("checkpoint", out)
    assert code == 0 and data["checkpoint_id"] == "1" and data["account_count"] == "1" and data["tx_hash"].startswith("0x")
    code, out, err = run_cli(capsys, "checkpoint")
    assert code == 0 and engine.call("checkpointCount") == 2 and "next: commit the book at it (`pymargin commit --checkpoint 2" in err


@pytest.mark.anvil
def test_an_existing_token_and_a_real_feed(venue_dir, capsys):
    """A second venue over the first one's token and SOL feed: no token deployed, a ChainlinkAdapter over
    the given feed with the config's staleness limit, and set-prices refuses a market on a feed it does
    not own."""
    chain, folder = venue_dir
    code, out, err = run_cli(capsys, "--json", "deploy", "--config", "venue.json")
    assert code == 0, err
    first = json.loads((folder / "deployments" / "31337.json").read_text())["contracts"]
    feed = first["Aggregator:SOL-PERP"]["address"]
    config = _engine_only()
    config["token"] = {"address": first["Token"]["address"]}
    config["markets"] = [{"name": "SOL-PERP", "oracle": {"kind": "chainlink", "feed": feed, "max_answer_age_s": 600}}]
    (folder / "second.json").write_text(json.dumps(config))
    code, out, err = run_cli(capsys, "--json", "deploy", "--config", "second.json", "--deployments", "second")
    assert code == 0, err
    data = json.loads(out)
    assert [c["name"] for c in data["contracts"]] == ["MarginEngine", "Oracle:SOL-PERP"] and data["token"] == first["Token"]["address"]
    adapter = Contract(chain, "ChainlinkAdapter", data["contracts"][1]["address"], load_artifact("ChainlinkAdapter"))
    assert (adapter.call("feed"), adapter.call("maxAnswerAgeS")) == (feed, 600)
    engine = Contract(chain, "MarginEngine", data["engine"], load_artifact("MarginEngine"))
    assert engine.call("marketView", 0)[0] == 150 * WAD
    (folder / "prices.csv").write_text("market,price\nSOL-PERP,151\n")
    code, _, err = run_cli(capsys, "set-prices", "--file", "prices.csv", "--deployments", "second")
    _one_line_error(code, err, "market SOL-PERP reads oracle", "not a devnet oracle recorded in the manifest")

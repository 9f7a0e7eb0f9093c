"""`pymargin sign-order`, `fill-orders` and `cancel-orders` against an engine deployed on anvil:
traders sign with their own keys, the operator fills, the owner cancels; mistakes are one line."""

from __future__ import annotations

import json

import pytest

from cli_support import run_cli
from pymargin.chain import tx
from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine
from pymargin.fixedpoint import WAD

USD = 10**6


@pytest.fixture
def deployed(anvil_chain, artifacts):
    chain = anvil_chain
    owner, op, u1, u2 = (tx.node_signer(chain, i) for i in (0, 1, 3, 4))
    dep = deploy_engine(chain, owner, default_markets(), operators=(op.address,))
    for user in (u1, u2):
        dep.token.transact("mint", user.address, 10**6 * USD, sender=user, gas=TX_GAS)
        dep.token.transact("approve", dep.engine.address, 2**256 - 1, sender=user, gas=TX_GAS)
        dep.engine.transact("deposit", 0, 10_000 * USD, sender=user, gas=TX_GAS)
    keys = {name: "0x" + tx.devnet_key(chain, i).hex() for name, i in (("op", 1), ("u1", 3), ("u2", 4))}
    return dep, keys, u1, u2


@pytest.mark.anvil
def test_sign_fill_cancel(capsys, tmp_path, monkeypatch, deployed):
    dep, keys, u1, u2 = deployed
    common = ("--rpc", dep.chain.url, "--engine", dep.engine.address)
    buy, sell = tmp_path / "buy.json", tmp_path / "sell.json"
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", keys["u1"])
    code, out, err = run_cli(capsys, "--json", "sign-order", *common, "--market", "0", "--size", "3.718281828459045235",
                             "--limit", "2001.5", "--out", str(buy))
    assert code == 0, err
    doc = json.loads(buy.read_text())
    assert doc["order"]["owner"] == u1.address and doc["order"]["size_wad"] == "3718281828459045235"
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", keys["u2"])
    assert run_cli(capsys, "sign-order", *common, "--market", "0", "--size", "-2", "--limit", "1999", "--out", str(sell))[0] == 0
    _to_order_v1(sell)  # an order file of the previous version still fills
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", keys["op"])
    code, out, err = run_cli(capsys, "--json", "fill-orders", *common, str(buy), str(sell), "--size", "1.25", "--price", "2000.25")
    assert code == 0, err
    filled = json.loads(out)["filled"]
    assert [f["filled_wad"] for f in filled] == [str(125 * WAD // 100)] * 2
    assert dep.engine.call("position", u1.address, 0, 0)[0] == 125 * WAD // 100
    # the maker's order has 0.75 left: a fill of 1 is refused by the engine (exit 1, one line)
    code, out, err = run_cli(capsys, "fill-orders", *common, str(buy), str(sell), "--size", "1", "--price", "2000")
    assert code == 1 and "OrderOverfill" in err and len(err.strip().splitlines()) == 1
    # only the owner cancels; then the order cannot fill
    code, out, err = run_cli(capsys, "cancel-orders", *common, str(buy))
    assert code == 1 and "NotOrderOwner" in err
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", keys["u1"])
    assert run_cli(capsys, "cancel-orders", *common, str(buy))[0] == 0
    assert run_cli(capsys, "--json", "cancel-orders", *common, "--below", "7")[0] == 0
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", keys["op"])
    code, out, err = run_cli(capsys, "fill-orders", *common, str(buy), str(sell), "--size", "0.5", "--price", "2000")
    assert code == 1 and "CancelledOrder" in err


def _to_order_v1(path) -> None:
    """Rewrite a pymargin-order/2 file as pymargin-order/1 wrote it (camelCase order keys, expiry a JSON number)."""
    doc = json.loads(path.read_text())
    o = doc["order"]
    doc["format"] = "pymargin-order/1"
    doc["order"] = {"owner": o["owner"], "sub": int(o["sub"]), "marketId": int(o["market_id"]), "sizeWad": o["size_wad"],
                    "limitPriceWad": o["limit_price_wad"], "maxFeeWad": o["max_fee_wad"], "nonce": o["nonce"], "expiry": int(o["expiry_s"])}
    path.write_text(json.dumps(doc))


@pytest.mark.anvil
def test_mistakes_are_one_line(capsys, tmp_path, monkeypatch, deployed):
    dep, keys, _, _ = deployed
    common = ("--rpc", dep.chain.url, "--engine", dep.engine.address)
    monkeypatch.setenv("PYMARGIN_PRIVATE_KEY", keys["u1"])
    out_file = tmp_path / "o.json"
    cases = [
        (("sign-order", *common, "--market", "0", "--size", "1e-19", "--limit", "1", "--out", str(out_file)), "more than 18 decimals"),
        (("sign-order", *common, "--market", "9", "--size", "1", "--limit", "1", "--out", str(out_file)), "--market 9"),
        (("sign-order", *common, "--market", "0", "--size", "one", "--limit", "1", "--out", str(out_file)), "not a decimal"),
        (("fill-orders", *common, str(tmp_path / "missing.json"), str(out_file), "--size", "1", "--price", "1"), "not found"),
        (("cancel-orders", *common), "one of the two"),
    ]
    for argv, message in cases:
        code, _, err = run_cli(capsys, *argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert not out_file.exists()
    other = tmp_path / "other.json"
    assert run_cli(capsys, "sign-order", *common, "--market", "0", "--size", "1", "--limit", "1", "--out", str(other))[0] == 0
    doc = json.loads(other.read_text())
    doc["chain_id"] = 1
    other.write_text(json.dumps(doc))
    code, _, err = run_cli(capsys, "fill-orders", *common, str(other), str(other), "--size", "1", "--price", "1")
    assert code == 2 and "signed for engine" in err

"""`pymargin margin` and `pymargin crosscheck` against an engine deployed on anvil."""

from __future__ import annotations

import json

import pytest

from pymargin.chain import tx
from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine, order_signer
from pymargin.cli import main
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
    fill = order_signer(dep).fill(0, u1.address, 0, u2.address, 0, 45 * WAD, 2000 * WAD)
    dep.engine.transact("trade", *fill, sender=op, gas=TX_GAS)
    dep.oracles[0].transact("setPrice", 1850 * WAD, chain.w3.eth.get_block("latest")["timestamp"], sender=owner, gas=TX_GAS)
    return dep, u1, u2


def _run(capsys, *argv):
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_margin_reports_every_account_like_the_contract(deployed, capsys):
    dep, u1, u2 = deployed
    code, out, _ = _run(capsys, "--json", "margin", "--rpc", dep.chain.url, "--engine", dep.engine.address)
    assert code == 0
    data = json.loads(out)
    assert [(a["owner"], a["sub"]) for a in data["accounts"]] == [(u1.address, "0"), (u2.address, "0")]
    for a in data["accounts"]:
        for view, key in (("equity", "equity_wad"), ("initialMargin", "initial_margin_wad"), ("maintenanceMargin", "maintenance_margin_wad"),
                          ("freeCollateral", "free_collateral_wad"), ("marginRatio", "margin_ratio_wad")):
            assert int(a[key]) == dep.engine.call(view, a["owner"], int(a["sub"]), block=int(data["block"]))
        assert a["liquidatable"] == dep.engine.call("isLiquidatable", a["owner"], int(a["sub"]))
    assert data["accounts"][0]["liquidatable"] is True  # 45 long at 2000 with 10k, price now 1850
    code, out, _ = _run(capsys, "margin", "--rpc", dep.chain.url, "--engine", dep.engine.address, "--account", f"{u2.address}:0")
    assert code == 0 and "no" in out and u1.address[:6] not in out and f"{u2.address[:6]}…{u2.address[-4:]}:0" in out


def test_crosscheck_agrees_and_bad_input_is_one_line(deployed, capsys):
    dep, u1, _ = deployed
    code, out, _ = _run(capsys, "--json", "crosscheck", "--rpc", dep.chain.url, "--engine", dep.engine.address)
    data = json.loads(out)
    assert code == 0 and data["mismatches"] == [] and data["view_count"] == str(2 * 10 + 3)
    code, _, err = _run(capsys, "margin", "--rpc", dep.chain.url, "--engine", dep.engine.address, "--account", "nobody:0")
    assert code == 2 and err.count("\n") == 1 and "expected OWNER:SUB" in err
    code, _, err = _run(capsys, "margin", "--rpc", dep.chain.url, "--engine", u1.address)
    assert code == 2 and "no contract at" in err

"""Loading the reference engine from a deployed contract, saving it to JSON and loading it back, and
exporting accounts and market views for commitments."""

from __future__ import annotations

import json

import pytest

from engine_support import DualEngine, deploy_batch, fund
from pymargin import margin
from pymargin.chain import tx
from pymargin.chain.engine_devnet import default_markets, deploy_engine
from pymargin.engine import Engine
from pymargin.engine.persist import to_json_dict
from pymargin.errors import Revert, UserError
from pymargin.fixedpoint import WAD
from pymargin.model import Account, MarketView

USD = 10**6


@pytest.fixture
def busy(chain, artifacts):
    """A deployment after deposits, fills in every market (signed orders, one resting partly filled and
    cancelled, a raised minimum nonce), funding and a price move."""
    owner, op, keeper, u1, u2, u3 = (tx.node_signer(chain, i) for i in range(6))
    dep = deploy_engine(chain, owner, default_markets(), keepers=(keeper.address,), operators=(op.address,))
    fund(dep, [u1, u2, u3], 10**9 * USD)
    d = DualEngine(dep, deploy_batch(chain, owner))
    for user in (u1, u2, u3):
        assert d.op("deposit", user, 0, 100_000 * USD).ok
    assert d.op("deposit", u3, 1, 5_000 * USD).ok
    assert d.op("setFundingRate", keeper, 0, 10**11 + 3).ok
    for market_id, price in ((0, 2000), (1, 30000), (2, 100)):
        assert d.fill(op, market_id, u1.address, 0, u2.address, 0, 3 * WAD + 17, price * WAD).ok
    assert d.fill(op, 2, u3.address, 1, u1.address, 0, -40 * WAD, 100 * WAD).ok
    o = d.orders  # orders that rest partly filled, one cancelled, a raised minimum nonce
    t, m = o.order(u1.address, 0, 0, 5 * WAD + 3, 2000 * WAD), o.order(u2.address, 0, 0, -7 * WAD, 2000 * WAD)
    assert d.op("trade", op, t, o.sign(t), m, o.sign(m), WAD + 1, 2000 * WAD).ok
    assert d.op("cancelOrder", u1, t).ok
    assert d.op("cancelOrdersBelow", u2, 10**9 + 7).ok
    d.set_price(0, 2051 * WAD + 3)
    assert d.op("accrueFunding", u1, 0, dt=777).ok
    return d


def _state_only(engine: Engine) -> dict:
    data = to_json_dict(engine)
    del data["oracles"], data["now"]
    return data


def test_from_chain_loads_every_stored_value(busy):
    loaded = Engine.from_chain(busy.contract)
    assert _state_only(loaded) == _state_only(busy.py)
    assert len(loaded.state.filled) == 10 and len(loaded.state.cancelled) == 1 and len(loaded.state.min_nonces) == 1
    assert (loaded.state.chain_id, loaded.state.address) == (busy.chain.w3.eth.chain_id, busy.contract.address)
    assert loaded.now == busy.chain.w3.eth.get_block("latest")["timestamp"]
    for market_id, oracle in enumerate(busy.dep.oracles):  # oracle snapshots: the feeds' current answers
        assert loaded.oracles[oracle.address].latest_price(loaded.now) == tuple(oracle.call("latestPrice"))
    busy.py.now = loaded.now
    for owner, sub in loaded.state.accounts:
        assert loaded.equity(owner, sub) == busy.py.equity(owner, sub) == busy.contract.call("equity", owner, sub)


def test_json_round_trip(busy, tmp_path):
    path = tmp_path / "engine.json"
    busy.py.save_json(path)
    loaded = Engine.load_json(path)
    assert to_json_dict(loaded) == to_json_dict(busy.py)
    for owner, sub in loaded.state.accounts:
        assert loaded.free_collateral(owner, sub) == busy.py.free_collateral(owner, sub)
    text = path.read_text()
    assert json.loads(text)["format"] == "pymargin-engine/2" and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        ("{not json", "malformed JSON at line 1"),
        ("[1, 2]", "the top level must be an object"),
        ('{"format": "other"}', "'format' must be 'pymargin-engine/2'"),
    ],
)
def test_load_json_errors_are_one_line(tmp_path, content, message):
    path = tmp_path / "engine.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UserError) as got:
        Engine.load_json(path)
    assert message in str(got.value) and "\n" not in str(got.value) and str(path) in str(got.value)


def test_load_json_names_a_missing_or_bad_field(busy, tmp_path):
    data = to_json_dict(busy.py)
    del data["markets"][0]["params"]["imf_wad"]
    path = tmp_path / "engine.json"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="missing field 'imf_wad'"):
        Engine.load_json(path)
    data = to_json_dict(busy.py)
    data["accounts"][0]["collateral"] = 1.5
    path.write_text(json.dumps(data))
    with pytest.raises(UserError, match="expected an integer or a decimal string, found 1.5"):
        Engine.load_json(path)


def test_exports_for_commitments(busy):
    engine = busy.py
    accounts = engine.accounts()
    views = engine.market_views()
    assert all(isinstance(a, Account) for a in accounts) and all(isinstance(v, MarketView) for v in views.values())
    assert [(a.owner, a.sub) for a in accounts] == [engine.account_at(i) for i in range(engine.account_count())]
    for market_id, view in views.items():
        assert tuple(busy.contract.call("marketView", market_id)) == (view.price_wad, view.funding_index_wad, view.imf_wad, view.mmf_wad)
    for a in accounts:
        positions = list(a.positions.values())
        assert margin.equity(a.collateral, positions, views) == busy.contract.call("equity", a.owner, a.sub)
        assert margin.maintenance_margin(positions, views) == busy.contract.call("maintenanceMargin", a.owner, a.sub)
    params = engine.model_params(2)
    assert (params.market_id, params.name, params.imf_wad) == (2, "SOL-PERP", WAD // 5)


def test_a_reverting_oracle_is_loaded_as_its_revert(busy, tmp_path):
    aggregator = busy.dep.aggregators[2]
    aggregator.transact("setRound", 2**255 - 1, busy.clock, sender=busy.dep.owner, gas=3_000_000)  # overflows the WAD scaling
    loaded = Engine.from_chain(busy.contract)
    with pytest.raises(tx.ContractRevert) as on_chain:
        busy.contract.call("marketView", 2)
    with pytest.raises(Revert) as in_python:
        loaded.market_view(2)
    assert (in_python.value.name, in_python.value.args_) == (on_chain.value.name, on_chain.value.args_) == ("MulDivOverflow", ())
    loaded.save_json(tmp_path / "e.json")
    with pytest.raises(Revert, match="MulDivOverflow"):
        Engine.load_json(tmp_path / "e.json").market_view(2)

"""The demo's option markets (pymargin.demo_options) on the embedded devnet, without the proof: a hedged
book (a collar: long perp, short call, long put) needs less margin than its positions apart, a naked call
exactly its own, on the contract and in the mirror; marks through expiry, settlement pays out and closes
every position and conserves value."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from pymargin.chain import tx
from pymargin.chain.engine_devnet import MarketSpec, default_params, deploy_engine
from pymargin.chain.deploy import Deployer
from pymargin.crosscheck import DualEngine, deploy_view_batch, fund
from pymargin.demo_options import HEDGED_SIZE_WAD, NAKED_SIZE_WAD, DemoOptions

PRICE = 2_012_345_678_901_234_567_890
HOUR = 3600


@pytest.fixture(scope="module")
def leg(chain_session, artifacts):
    """The options leg opened once for this module's tests (in this order: the last one runs to expiry)."""
    snapshot = chain_session.snapshot()
    yield _open(chain_session)
    chain_session.revert(snapshot)


def _open(chain) -> DemoOptions:
    owner = tx.node_signer(chain, 0)
    traders = [tx.key_signer(keccak(f"test-demo-options:{i}".encode())) for i in range(4)]
    for t in traders:
        tx.send(chain, owner, {"to": t.address, "value": 10**18}, gas=21_000)
    dep = deploy_engine(chain, owner, [MarketSpec("ETH-PERP", default_params(), PRICE)], keepers=(owner.address,),
                        operators=(owner.address,))
    fund(dep, traders, 10**12)
    dual = DualEngine(dep, deploy_view_batch(chain, owner), keys={t.address: t.private_key for t in traders})
    dual.set_price(0, PRICE)
    options = DemoOptions.deploy(dual, Deployer(chain, owner, None), owner, owner, traders)
    for t, tokens in zip(traders[1:], (7_777, 5_432, 9_876)):
        assert dual.op("deposit", t, 0, tokens * 10**6).ok
    options.open(PRICE, 4, 11, HOUR)  # expiry 2 hours − 10 minutes from now
    return options


def _by_role(options: DemoOptions) -> dict:
    return {options.role_of(r.owner): r for r in options.margins}


def test_hedged_book_needs_less_than_apart_and_chain_equals_mirror(leg):
    rows = _by_role(leg)
    assert set(rows) == {"hedged", "naked", "market maker"}
    assert all(r.mirror_equal for r in rows.values())
    assert not leg.view_mismatches and leg.views_compared > 20
    hedged, naked = rows["hedged"], rows["naked"]
    book = leg.venue.book
    perp_alone = book.call("maintenanceMargin", [leg.perp_series], [HEDGED_SIZE_WAD])
    call_alone = book.call("maintenanceMargin", [leg.series[0].series_id], [-HEDGED_SIZE_WAD])
    put_alone = book.call("maintenanceMargin", [leg.series[2].series_id], [HEDGED_SIZE_WAD])
    assert hedged.positions == ((leg.perp_series, HEDGED_SIZE_WAD), (leg.series[0].series_id, -HEDGED_SIZE_WAD),
                                (leg.series[2].series_id, HEDGED_SIZE_WAD))
    assert hedged.standalone_mm_wad == perp_alone + call_alone + put_alone
    assert 0 < hedged.portfolio_mm_wad < hedged.standalone_mm_wad, "the call and put offset the perp's worst scenarios"
    collar_without_put = book.call("maintenanceMargin", [leg.perp_series, leg.series[0].series_id], [HEDGED_SIZE_WAD, -HEDGED_SIZE_WAD])
    assert hedged.portfolio_mm_wad < collar_without_put, "the long put caps the loss of the fall scenarios"
    assert leg.venue.dual.contract.call("maintenanceMargin", hedged.owner, 0) == hedged.portfolio_mm_wad
    assert naked.positions == ((leg.series[1].series_id, -NAKED_SIZE_WAD),)
    assert naked.portfolio_mm_wad == naked.standalone_mm_wad > 0 and naked.saving_wad == 0


def test_marks_are_taken_at_fixed_times_to_expiry(leg):
    """Deterministic whatever the machine's speed: after the clock jumps ahead of wall time, listing (3 s),
    the perp's mark and the three options' marks land 1 s apart, so τ = 2 h − 10 min − 5 s, − 6 s, − 7 s."""
    book = leg.venue.py_book
    assert [s.expiry_s - book.series[s.series_id].marked_at for s in leg.series] == [2 * HOUR - 600 - k for k in (5, 6, 7)]


def test_margin_rows_catch_a_mirror_that_differs(leg):
    """The chain-vs-mirror flag can fail: one wei off in a mirrored risk array flips it."""
    s = leg.venue.py_book.series[leg.series[0].series_id]
    original, s.risk_array = s.risk_array, [v + 1 for v in s.risk_array]
    fresh = {leg.role_of(r.owner): r for r in leg.venue.margin_rows()}
    s.risk_array = original
    assert not fresh["hedged"].mirror_equal and not fresh["market maker"].mirror_equal and fresh["naked"].mirror_equal


def test_keeper_marks_until_expiry_then_settles_every_position(leg):
    dual, venue = leg.venue.dual, leg.venue
    before = venue.py.conserved_value_wad2()
    for step in range(3):
        dual.set_price(0, PRICE + (step + 1) * 37_123_456_789_012_345_678, dt=HOUR)
        leg.keeper_step()
    assert all(s.settled for s in leg.series) and leg.settlement_count == 6
    assert venue.holders() == [] and venue.options.call("optionSeries", leg.accounts["hedged"]) == []
    payoffs = [venue.book.call("series", s.series_id)[7] for s in leg.series]
    assert payoffs == [s.payoff_wad for s in leg.series] and payoffs[1] > 0  # the near-the-money call ends in the money
    assert venue.py.conserved_value_wad2() == before
    compared, mismatches = dual.check_all()
    assert not mismatches and compared > 50

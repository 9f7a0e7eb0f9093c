"""Directed scenarios for the margin engine, each run on the deployed contract AND the Python engine
(tests/engine_support.DualEngine: same outcome, same events, same views), with the expected values
derived independently here from exact rationals (fractions.Fraction) and the spec's formulas."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from engine_support import DualEngine, deploy_batch, err, fund, mirror_at_deploy, ok
from pymargin.chain import tx
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.engine_devnet import TX_GAS, MarketSpec, default_markets, default_params, deploy_engine
from pymargin.engine import Engine, errors as E
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD

ZERO = "0x0000000000000000000000000000000000000000"
USD = 10**6  # token units per USD (6 decimals)
SCALE = 10**12  # WAD per token unit


def floor(n: int, d: int) -> int:
    return math.floor(Fraction(n, d))


def ceil(n: int, d: int) -> int:
    return math.ceil(Fraction(n, d))


class System:
    """Three default markets, owner/operator/keeper, four funded users; deployed once per module."""

    def __init__(self, chain):
        self.chain = chain
        signers = [tx.node_signer(chain, i) for i in range(8)]
        self.owner, self.operator, self.keeper, self.u1, self.u2, self.u3, self.u4, self.stranger = signers
        self.dep = deploy_engine(chain, self.owner, default_markets(), keepers=(self.keeper.address,),
                                 operators=(self.operator.address,))
        fund(self.dep, [self.u1, self.u2, self.u3, self.u4], 10**9 * USD)
        self.batch = deploy_batch(chain, self.owner)


@pytest.fixture(scope="module")
def system(chain_session, artifacts):
    before = chain_session.snapshot()
    yield System(chain_session)
    chain_session.revert(before)


@pytest.fixture
def sys_(system, chain):
    """The system at its deployed state, with a fresh Python mirror; the chain reverts after the test."""
    return mirror_at_deploy(system)


def events_named(events, name):
    return [args for n, args in events if n == name]


def test_fills_open_increase_reduce_flip_close(sys_):
    s, d = sys_, sys_.d
    a, b = s.u1.address, s.u2.address
    ok(d.op("deposit", s.u1, 0, 100_000 * USD))
    ok(d.op("deposit", s.u2, 0, 100_000 * USD))
    taker_fee, maker_fee = 5 * 10**14, 2 * 10**14
    coll_a = coll_b = 100_000 * WAD
    size_a = cost_a = cost_b = fees = 0
    fills = [  # (taker size, price): open, increase, reduce, flip, close
        (3 * WAD + 7, 2000 * WAD + 3),
        (WAD + WAD // 2, 2010 * WAD + 11),
        (-2 * WAD - 1, 1990 * WAD + 1),
        (-5 * WAD, 2005 * WAD + 7),
    ]
    fills.append((None, 1999 * WAD + 5))  # close whatever is left
    for size, price in fills:
        if size is None:
            size = -size_a
        events = ok(d.fill(s.operator, 0, a, 0, b, 0, size, price))
        expected_realised = []
        for side, delta, old in (("a", size, size_a), ("b", -size, -size_a)):
            cost = cost_a if side == "a" else cost_b
            new = old + delta
            realised = 0
            if old == 0 or (old > 0) == (delta > 0):
                cost += ceil(delta * price, WAD)
            else:
                closed = -delta if (new == 0 or (new > 0) == (old > 0)) else old
                removed = ceil(cost * closed, old)
                realised = floor(closed * price, WAD) - removed
                cost -= removed
                if new != 0 and closed == old:
                    cost = ceil(new * price, WAD)
            fee = ceil(abs(delta) * price * (taker_fee if side == "a" else maker_fee), WAD * WAD)
            if side == "a":
                size_a, cost_a, coll_a = new, cost, coll_a + realised - fee
            else:
                cost_b, coll_b = cost, coll_b + realised - fee
            fees += fee
            expected_realised.append((realised, fee))
        updates = events_named(events, "PositionUpdated")
        assert [(u["realisedPnlWad"], u["feeWad"]) for u in updates] == expected_realised
        assert d.py.position(a, 0, 0)[:2] == (size_a, cost_a if size_a else 0)
        assert d.py.position(b, 0, 0)[:2] == (-size_a, cost_b if size_a else 0)
        assert (d.py.collateral(a, 0), d.py.collateral(b, 0)) == (coll_a, coll_b)
    assert size_a == 0 and d.py.state.accounts[(a, 0)].market_ids == []
    assert d.py.accrued_fees() == fees
    dust = 200_000 * WAD - coll_a - coll_b - fees  # realised PnL is zero-sum but for rounding, kept by the system
    assert 0 <= dust < 2 * 2 * len(fills)
    d.check_views()


def test_funding_accrues_per_second_and_settles_against_the_account(sys_):
    s, d = sys_, sys_.d
    a, b = s.u1.address, s.u2.address
    ok(d.op("deposit", s.u1, 0, 50_000 * USD))
    ok(d.op("deposit", s.u2, 0, 50_000 * USD))
    size = 3 * WAD + 1
    ok(d.fill(s.operator, 0, a, 0, b, 0, size, 2000 * WAD))
    for rate in (3 * 10**11 + 7, -(10**12)):
        ok(d.op("setFundingRate", s.keeper, 0, rate))
        f0 = d.py.state.markets[0].funding_index_wad
        events = ok(d.op("accrueFunding", s.u3, 0, dt=1234))
        (accrued,) = events_named(events, "FundingAccrued")
        delta = floor(rate * accrued["elapsedS"] * 2000 * WAD, WAD)
        assert accrued["elapsedS"] >= 1234 and accrued["indexDeltaWad"] == delta and accrued["fundingIndexWad"] == f0 + delta
        d.check_views()
        f_a, f_b = d.py.position(a, 0, 0)[2], d.py.position(b, 0, 0)[2]
        assert d.py.pending_funding(a, 0) == floor(-size * (f0 + delta - f_a), WAD)
        assert d.py.pending_funding(b, 0) == floor(size * (f0 + delta - f_b), WAD)
        ca, cb = d.py.collateral(a, 0), d.py.collateral(b, 0)
        events = ok(d.fill(s.operator, 0, a, 0, b, 0, WAD, 2000 * WAD))
        index = d.py.state.markets[0].funding_index_wad
        owed_a = ceil(size * (index - f_a), WAD)  # what a long owes rounds up, what it receives rounds down
        owed_b = ceil(-size * (index - f_b), WAD)
        settled = {(e["owner"], e["sub"]): e["amountWad"] for e in events_named(events, "FundingSettled")}
        assert settled == {(a, 0): -owed_a, (b, 0): -owed_b}
        assert -owed_a - owed_b <= 0  # funding never creates collateral
        fee_a, fee_b = ceil(2000 * WAD * 5 * 10**14, WAD), ceil(2000 * WAD * 2 * 10**14, WAD)
        assert (d.py.collateral(a, 0), d.py.collateral(b, 0)) == (ca - owed_a - fee_a, cb - owed_b - fee_b)
        size += WAD
    err(d.op("setFundingRate", s.keeper, 0, 10**12 + 1), "FundingRateOutOfBounds", 0, 10**12 + 1, 10**12)
    err(d.op("setFundingRate", s.stranger, 0, 1), "NotKeeper", s.stranger.address)


def test_liquidation_partial_penalty_split_then_bad_debt(sys_):
    s, d = sys_, sys_.d
    a, liq, b = s.u1.address, s.u2.address, s.u3.address
    ok(d.op("depositInsurance", s.u4, 10 * USD))
    ok(d.op("deposit", s.u1, 1, 5_000 * USD))
    ok(d.op("deposit", s.u2, 0, 100_000 * USD))
    ok(d.op("deposit", s.u3, 0, 100_000 * USD))
    ok(d.fill(s.operator, 0, a, 1, b, 0, 24 * WAD, 2000 * WAD))
    err(d.op("liquidate", s.u2, 0, a, 1, 0, 12 * WAD), "NotLiquidatable", a, 1, d.py.equity(a, 1), d.py.maintenance_margin(a, 1))
    d.set_price(0, 1880 * WAD)
    assert d.py.is_liquidatable(a, 1)
    tiny = d.op("liquidate", s.u2, 0, a, 1, 0, 10**12)
    assert tiny.error[0] == "LiquidationTooSmall"
    err(d.op("liquidate", s.u2, 0, a, 1, 0, 25 * WAD), "InvalidLiquidationSize", 25 * WAD, 24 * WAD)
    err(d.op("liquidate", s.u2, 0, a, 1, 0, -WAD), "InvalidLiquidationSize", -WAD, 24 * WAD)
    err(d.op("liquidate", s.u1, 1, a, 1, 0, WAD), "SelfLiquidation", a, 1)
    err(d.op("liquidate", s.u2, 5, a, 1, 0, WAD), "UnknownAccount", liq, 5)
    insurance0, coll_liq0 = d.py.insurance_fund(), d.py.collateral(liq, 0)
    events = ok(d.op("liquidate", s.u2, 0, a, 1, 0, 12 * WAD))
    (ev,) = events_named(events, "Liquidated")
    penalty = ceil(12 * WAD * 1880 * WAD * 2 * 10**16, WAD * WAD)
    to_insurance = floor(penalty * (WAD // 2), WAD)
    assert (ev["penaltyWad"], ev["insuranceWad"]) == (penalty, to_insurance)
    assert d.py.insurance_fund() == insurance0 + to_insurance
    realised_liq = events_named(events, "PositionUpdated")[1]["realisedPnlWad"]
    assert d.py.collateral(liq, 0) == coll_liq0 + realised_liq + penalty - to_insurance
    assert d.py.position(liq, 0, 0)[0] == 12 * WAD and d.py.position(a, 1, 0)[0] == 12 * WAD
    # a crash: the rest of the position is under water; closing it leaves a shortfall and no penalty
    d.set_price(0, 1500 * WAD)
    eq = d.py.equity(a, 1)
    assert eq < 0
    insurance = d.py.insurance_fund()
    events = ok(d.op("liquidate", s.u2, 0, a, 1, 0, 12 * WAD))
    (bad,) = events_named(events, "BadDebtSettled")
    (ev,) = events_named(events, "Liquidated")
    assert (ev["penaltyWad"], ev["insuranceWad"]) == (0, 0)  # capped at the equity left: none
    shortfall = -eq  # no funding here: equity = collateral + what closing at the oracle price realises
    assert bad["coveredWad"] == min(shortfall, insurance)
    assert bad["badDebtWad"] == shortfall - bad["coveredWad"] > 0
    assert d.py.bad_debt() == bad["badDebtWad"] and d.py.insurance_fund() == 0 and d.py.collateral(a, 1) == 0
    assert d.py.solvency_slack() >= 0
    d.check_views()


def test_pause_blocks_risk_but_not_exits(sys_):
    s, d = sys_, sys_.d
    a, b = s.u1.address, s.u2.address
    ok(d.op("deposit", s.u1, 0, 10_000 * USD))
    ok(d.op("deposit", s.u2, 0, 10_000 * USD))
    ok(d.fill(s.operator, 0, a, 0, b, 0, 2 * WAD, 2000 * WAD))
    err(d.op("pause", s.stranger), "OwnableUnauthorizedAccount", s.stranger.address)
    assert events_named(ok(d.op("pause", s.owner)), "Paused") == [{"account": s.owner.address}]
    err(d.op("pause", s.owner), "EnforcedPause")
    err(d.fill(s.operator, 0, a, 0, b, 0, WAD, 2000 * WAD), "EnforcedPause")  # b's short grows
    err(d.fill(s.operator, 0, a, 0, s.u3.address, 0, -WAD, 2000 * WAD), "EnforcedPause")  # u3 opens
    ok(d.fill(s.operator, 0, a, 0, b, 0, -WAD, 2000 * WAD))  # both reduce
    ok(d.op("withdraw", s.u1, 0, 1_000 * USD))
    ok(d.op("deposit", s.u1, 0, 1 * USD))
    ok(d.op("transferCollateral", s.u1, 0, 1, 10 * WAD))
    err(d.op("liquidate", s.u2, 0, a, 0, 0, WAD), "EnforcedPause")
    ok(d.op("unpause", s.owner))
    err(d.op("unpause", s.owner), "ExpectedPause")
    ok(d.fill(s.operator, 0, a, 0, b, 0, WAD, 2000 * WAD))
    d.check_views()


def test_roles_and_two_step_ownership(sys_):
    s, d = sys_, sys_.d
    new = s.u4
    err(d.op("setOperator", s.stranger, s.stranger.address, True), "OwnableUnauthorizedAccount", s.stranger.address)
    ok(d.op("transferOwnership", s.owner, new.address))
    assert d.py.owner() == s.owner.address and d.py.pending_owner() == new.address
    err(d.op("acceptOwnership", s.stranger), "OwnableUnauthorizedAccount", s.stranger.address)
    events = ok(d.op("acceptOwnership", new))
    assert events == [("OwnershipTransferred", {"previousOwner": s.owner.address, "newOwner": new.address})]
    err(d.op("setKeeper", s.owner, s.owner.address, True), "OwnableUnauthorizedAccount", s.owner.address)
    ok(d.op("setKeeper", new, s.stranger.address, True))
    ok(d.op("setOperator", new, s.operator.address, False))
    err(d.fill(s.operator, 0, s.u1.address, 0, s.u2.address, 0, WAD, 2000 * WAD), "NotOperator", s.operator.address)
    ok(d.op("setFundingRate", s.stranger, 1, -5))
    assert set(d.py.keepers()) == {s.keeper.address, s.stranger.address} and d.py.operators() == []
    ok(d.op("renounceOwnership", new))
    assert d.py.owner() == ZERO
    err(d.op("pause", new), "OwnableUnauthorizedAccount", new.address)
    d.check_views()


def test_oracle_checks_stale_bad_and_boundary_prices(sys_):
    s, d = sys_, sys_.d
    d.set_price(0, 2000 * WAD, dt=10**6)  # far ahead of the wall clock: every next block is exactly 1 s later
    d.set_price(0, 2000 * WAD, updated_at=d.clock + 2 - 3600)  # set at clock + 1; read at clock + 2
    ok(d.op("accrueFunding", s.u1, 0))  # exactly the max age: fresh
    err(d.op("accrueFunding", s.u1, 0), "StalePrice", 0, d.clock - 3601, d.clock)
    d.set_price(0, 2000 * WAD, updated_at=d.clock + 10**6)  # a future timestamp counts as fresh
    ok(d.op("accrueFunding", s.u1, 0))
    for bad in (0, -1, 2**94):
        d.set_price(0, bad)
        err(d.op("accrueFunding", s.u1, 0), "InvalidPrice", 0, bad)
    d.set_price(0, 2**94 - 1)
    ok(d.op("accrueFunding", s.u1, 0))
    d.set_price(2, -5 * WAD)  # through the Chainlink adapter, which refuses it first
    err(d.op("accrueFunding", s.u1, 2), "NonPositiveAnswer", -5 * 10**8)
    err(d.op("accrueFunding", s.u1, 3), "UnknownMarket", 3)
    d.check_views()


def test_account_limits_open_interest_and_bands(sys_):
    s, d = sys_, sys_.d
    a, b = s.u1.address, s.u2.address
    ok(d.op("deposit", s.u1, 0, 1_000_000 * USD))
    ok(d.op("deposit", s.u1, 1, 100_000 * USD))
    ok(d.op("deposit", s.u2, 0, 1_000_000 * USD))
    ok(d.fill(s.operator, 0, a, 1, b, 0, WAD, 2000 * WAD))
    err(d.fill(s.operator, 1, a, 1, b, 0, WAD, 30000 * WAD), "TooManyPositions", a, 1, 1)
    for market_id, price in ((1, 30000), (2, 100)):
        ok(d.fill(s.operator, market_id, a, 0, b, 0, WAD, price * WAD))
    err(d.fill(s.operator, 0, a, 0, a, 0, WAD, 2000 * WAD), "SelfTrade", a, 0)
    for size in (0, 2**94, -(2**94)):
        err(d.fill(s.operator, 0, a, 0, b, 0, size, 2000 * WAD), "SizeOutOfBounds", size)
    hi = 2000 * WAD * (WAD + 5 * 10**16) // WAD
    ok(d.fill(s.operator, 0, a, 0, b, 0, WAD, hi))  # exactly on the band edge
    err(d.fill(s.operator, 0, a, 0, b, 0, WAD, hi + 1), "PriceOutsideBand", 0, hi + 1, 2000 * WAD)
    err(d.fill(s.operator, 0, a, 0, b, 0, WAD, 0), "PriceOutsideBand", 0, 0, 2000 * WAD)
    oi = d.py.state.markets[0].open_interest
    assert oi == 2 * WAD  # longs: a's isolated 1 + a's cross 1
    ok(d.op("setMarketParams", s.owner, 0, tuple(default_params(max_open_interest=oi))))
    err(d.fill(s.operator, 0, a, 0, b, 0, 1, 2000 * WAD), "OpenInterestCap", 0, oi + 1, oi)
    ok(d.op("setMarketParams", s.owner, 0, tuple(default_params(max_open_interest=WAD))))
    ok(d.fill(s.operator, 0, a, 0, b, 0, -WAD, 2000 * WAD))  # reducing is allowed above the cap
    err(d.op("setMarketParams", s.owner, 0, tuple(default_params(mmf_wad=WAD // 10))), "InvalidMarketParams", "mmfWad")
    err(d.op("setMarketParams", s.owner, 0, tuple(default_params(price_band_wad=WAD))), "InvalidMarketParams", "priceBandWad")
    d.check_views()


def test_engine_holds_at_most_max_markets_and_a_cross_account_one_position_in_each(chain, artifacts):
    """MAX_MARKETS = MAX_POSITIONS = 4: a fifth market reverts TooManyMarkets, so a cross account can hold
    a position in every market (TooManyPositions is reachable only for isolated sub-accounts)."""
    owner, op, u1, u2 = (tx.node_signer(chain, i) for i in (0, 1, 3, 4))
    specs = [MarketSpec(f"M{i}", default_params(), (100 + i) * WAD) for i in range(4)]
    dep = deploy_engine(chain, owner, specs, operators=(op.address,))
    fund(dep, [u1, u2], 10**12 * USD)
    d = DualEngine(dep, deploy_batch(chain, owner))
    assert dep.engine.call("MAX_MARKETS") == 4
    err(d.op("addMarket", owner, dep.oracles[0].address, "M4", tuple(default_params())), "TooManyMarkets", 4, 4)
    ok(d.op("deposit", u1, 0, 10**6 * USD))
    ok(d.op("deposit", u2, 0, 10**6 * USD))
    for market_id in range(4):
        ok(d.fill(op, market_id, u1.address, 0, u2.address, 0, WAD, (100 + market_id) * WAD))
    ok(d.fill(op, 1, u1.address, 0, u2.address, 0, -WAD, 101 * WAD))  # close one
    ok(d.fill(op, 1, u1.address, 0, u2.address, 0, WAD, 101 * WAD))  # and reopen it
    assert d.py.state.accounts[(u1.address, 0)].market_ids == [0, 3, 2, 1]  # the contract's swap-and-pop order
    d.check_views()


def test_vault_converts_at_the_edge_and_keeps_unrealised_profit_in(sys_):
    s, d = sys_, sys_.d
    a, b = s.u1.address, s.u2.address
    token = s.dep.token
    before = token.call("balanceOf", a)
    events = ok(d.op("deposit", s.u1, 0, 1234567))
    assert events_named(events, "Deposited") == [{"owner": a, "sub": 0, "amountTokens": 1234567, "amountWad": 1234567 * SCALE}]
    assert token.call("balanceOf", a) == before - 1234567
    assert d.py.reserves_wad() == token.call("balanceOf", s.dep.engine.address) * SCALE
    err(d.op("deposit", s.u1, 0, 0), "ZeroAmount")
    err(d.op("deposit", s.u1, 0, 2**128), "AmountOutOfBounds", 2**128)
    err(d.op("withdraw", s.u1, 0, 1234568), "InsufficientCollateral", a, 0, 1234567 * SCALE, 1234568 * SCALE)
    err(d.op("withdraw", s.u3, 0, 1), "InsufficientCollateral", s.u3.address, 0, 0, SCALE)
    ok(d.op("deposit", s.u1, 0, 10_000 * USD - 1234567))
    ok(d.op("deposit", s.u2, 0, 10_000 * USD))
    ok(d.fill(s.operator, 0, a, 0, b, 0, 20 * WAD, 2000 * WAD))
    d.set_price(0, 2080 * WAD)
    coll = d.py.collateral(a, 0)
    assert d.py.equity(a, 0) > coll  # unrealised profit is in equity but cannot be withdrawn
    err(d.op("withdraw", s.u1, 0, coll // SCALE + 1), "InsufficientCollateral", a, 0, coll, (coll // SCALE + 1) * SCALE)
    im = d.py.initial_margin(a, 0)
    out = d.op("withdraw", s.u1, 0, coll // SCALE)
    assert out.error[0] == "InsufficientMargin" and out.error[1][3] == im
    free_tokens = d.py.free_collateral(a, 0) // SCALE
    ok(d.op("withdraw", s.u1, 0, free_tokens))
    ok(d.op("transferCollateral", s.u2, 0, 2, 5 * WAD))
    err(d.op("transferCollateral", s.u2, 2, 2, WAD), "SameSubAccount", 2)
    err(d.op("transferCollateral", s.u2, 2, 0, 5 * WAD + 1), "InsufficientCollateral", b, 2, 5 * WAD, 5 * WAD + 1)
    fees = d.py.accrued_fees()
    err(d.op("withdrawFees", s.owner, s.u4.address, fees // SCALE + 1), "InsufficientFees", fees, (fees // SCALE + 1) * SCALE)
    err(d.op("withdrawFees", s.owner, ZERO, 1), "ZeroAddress")
    ok(d.op("withdrawFees", s.owner, s.u4.address, fees // SCALE))
    assert d.py.solvency_slack() >= 0
    d.check_views()
    d.check_getters()


def test_constructor_checks_mirror(chain, artifacts):
    owner = tx.node_signer(chain, 0)
    token19, _ = deploy_contract(chain, "TestToken", "T", "T", 19, sender=owner, gas=TX_GAS)
    with pytest.raises(tx.ContractRevert) as chain_err:
        deploy_contract(chain, "MarginEngine", token19.address, owner.address, sender=owner, gas=6_000_000)
    with pytest.raises(Revert) as py_err:
        Engine(token19.address, 19, owner.address)
    assert (chain_err.value.name, chain_err.value.args_) == (py_err.value.name, py_err.value.args_) == ("UnsupportedDecimals", (19,))
    token6, _ = deploy_contract(chain, "TestToken", "T", "T", 6, sender=owner, gas=TX_GAS)
    with pytest.raises(tx.ContractRevert) as chain_err:
        deploy_contract(chain, "MarginEngine", token6.address, ZERO, sender=owner, gas=6_000_000)
    with pytest.raises(E.OwnableInvalidOwner) as py_err:
        Engine(token6.address, 6, ZERO)
    assert (chain_err.value.name, chain_err.value.args_) == (py_err.value.name, py_err.value.args_)


def test_bound_reverts(sys_):
    s, d = sys_, sys_.d
    a = s.u1.address
    ok(d.op("deposit", s.u1, 0, 10**6 * USD))
    big = 2**128 - 1  # within the amount bound, but the collateral would reach 2^128 WAD
    err(d.op("deposit", s.u1, 0, big), "CollateralOutOfBounds", a, 0, 10**6 * USD * SCALE + big * SCALE)
    err(d.op("liquidate", s.u1, 0, s.u2.address, 0, 0, WAD), "NoPosition", s.u2.address, 0, 0)
    # the funding index bound: the largest rate at the largest price for ~3 years clamps at 2^100 − 1
    ok(d.op("setFundingRate", s.keeper, 0, 10**12))
    last = d.py.state.markets[0].last_funding_time
    d.set_price(0, 2**94 - 1, dt=10**8)
    events = ok(d.op("accrueFunding", s.u2, 0))
    assert floor(10**12 * (d.clock - last) * (2**94 - 1), WAD) >= 2**100
    (acc,) = events_named(events, "FundingAccrued")
    assert (acc["indexDeltaWad"], acc["fundingIndexWad"]) == (2**100 - 1, 2**100 - 1)


def test_owner_adds_a_market_and_moves_its_oracle(sys_):
    """addMarket / setOracle on chain and mirror alike (the mirror's add_market once raised TypeError)."""
    s, d = sys_, sys_.d
    oracle, _ = deploy_contract(s.chain, "DevOracle", s.owner.address, 3_141_592_653_589_793_238_462, sender=s.owner, gas=TX_GAS)
    d.add_dev_oracle(oracle)
    params = default_params(imf_wad=123_456_789_012_345_678, mmf_wad=61_728_394_506_172_839)
    err(d.op("addMarket", s.owner, s.stranger.address, "NOCODE", tuple(params)), "InvalidMarketParams", "oracle")
    err(d.op("addMarket", s.stranger, oracle.address, "PI", tuple(params)), "OwnableUnauthorizedAccount", s.stranger.address)
    events = ok(d.op("addMarket", s.owner, oracle.address, "PI-PERP", tuple(params)))
    assert events[0] == ("MarketAdded", {"marketId": 3, "oracle": oracle.address, "name": "PI-PERP"})
    assert d.py.market_count() == 4 and d.py.market_state(3)[4] == d.clock
    ok(d.op("setOracle", s.owner, 0, oracle.address))
    assert d.py.market_view(0)[0] == 3_141_592_653_589_793_238_462
    d.check_views()

"""Attacks of issue 11 (items 2-5), each run on the deployed MarginEngine AND the Python mirror in
lockstep (tests/engine_support.DualEngine: same outcome, same revert, same events). Each test drives
the exploit as far as the engine lets it and measures what left the insurance fund or the vault; on
the engine before the fix each one extracted value (numbers in the test's docstring), now each is
refused or extracts nothing. Values carry full precision so every division leaves a remainder."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from engine_support import DualEngine, deploy_batch, err, fund, mirror_at_deploy, ok
from pymargin.chain import tx
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.engine_devnet import TX_GAS, EngineDeployment, default_markets, default_params, deploy_engine
from pymargin.fixedpoint import WAD

USD = 10**6  # token units per USD (6 decimals)
SCALE = 10**12  # WAD per token unit
ETH = 0  # market id: IM 10%, MM 5%, penalty 2% (half to insurance), band 5%, fees 5/2 bp


def ceil(n: int, d: int) -> int:
    return math.ceil(Fraction(n, d))


class System:
    """Default markets, owner/operator/keeper, five funded users; deployed once per module."""

    def __init__(self, chain):
        signers = [tx.node_signer(chain, i) for i in range(9)]
        self.owner, self.operator, self.keeper, self.u1, self.u2, self.u3, self.u4, self.u5, self.stranger = signers
        self.dep = deploy_engine(chain, self.owner, default_markets(), keepers=(self.keeper.address,),
                                 operators=(self.operator.address,))
        fund(self.dep, [self.u1, self.u2, self.u3, self.u4, self.u5], 10**9 * USD)
        self.batch = deploy_batch(chain, self.owner)


@pytest.fixture(scope="module")
def system(chain_session, artifacts):
    before = chain_session.snapshot()
    yield System(chain_session)
    chain_session.revert(before)


@pytest.fixture
def sys_(system, chain):
    return mirror_at_deploy(system)


def named(events, name):
    return [args for n, args in events if n == name]


def _leveraged_long(s, owner, sub):
    """(owner, sub) deposits 2,123.456789 USD and goes long 10.3718... ETH at 2,000.1234... (IM 10%)
    against u2's cross account; the insurance fund holds 10,000.000001 USD."""
    d = s.d
    ok(d.op("depositInsurance", s.u4, 10_000 * USD + 1))
    ok(d.op("deposit", s.u2, 0, 100_000 * USD))
    ok(d.op("deposit", owner, sub, 2_123_456_789))
    size = 10_371_828_182_845_904_523
    ok(d.fill(s.operator, ETH, owner.address, sub, s.u2.address, 0, size, 2_000_123_456_789_012_345_678))
    return size


def test_penalty_beyond_equity_is_capped_and_never_paid_by_insurance(sys_):
    """Before: the full 2% penalty (373.87) was taken from an account with 61.77 of equity left; the
    insurance fund paid 125.17 net of its own cut (the excess over the equity, less the cut)."""
    s, d = sys_, sys_.d
    a = s.u1.address
    size = _leveraged_long(s, s.u1, 1)
    ok(d.op("deposit", s.u3, 0, 50_000 * USD))
    d.set_price(ETH, 1_802_345_678_901_234_567_891)
    equity, mm = d.py.equity(a, 1), d.py.maintenance_margin(a, 1)
    assert 0 < equity < mm
    full = ceil(size * 1_802_345_678_901_234_567_891 * 2 * 10**16, WAD * WAD)
    assert full > equity  # the situation of the attack
    insurance0, bad0 = d.py.insurance_fund(), d.py.bad_debt()
    events = ok(d.op("liquidate", s.u3, 0, a, 1, ETH, size))
    (ev,) = named(events, "Liquidated")
    taken = insurance0 - d.py.insurance_fund() + d.py.bad_debt() - bad0
    assert taken <= 0, f"the insurance fund paid {taken / WAD} for a penalty (penalty {ev['penaltyWad'] / WAD}, equity {equity / WAD})"
    # the penalty is the equity left after the transfer: here the equity itself (at the oracle price, no
    # funding, the close realises exactly what equity counted, up to its one Floor)
    assert ev["penaltyWad"] in (equity, equity - 1) and ev["penaltyWad"] < full
    assert ev["penaltyWad"] * (WAD // 2) % WAD != 0  # a remainder: the insurance cut's Floor matters
    assert ev["insuranceWad"] == ev["penaltyWad"] * (WAD // 2) // WAD
    assert not named(events, "BadDebtSettled") and d.py.collateral(a, 1) in (0, 1)
    assert d.py.solvency_slack() >= 0
    d.check_views()


def test_owner_cannot_liquidate_its_own_sub_account(sys_):
    """Before: u1 liquidated its isolated sub-account 1 from its cross account 0 and kept the
    liquidator's share: u1's accounts together gained 125.17 while the insurance fund lost 125.17."""
    s, d = sys_, sys_.d
    a = s.u1.address
    size = _leveraged_long(s, s.u1, 1)
    ok(d.op("deposit", s.u1, 0, 50_000 * USD))
    d.set_price(ETH, 1_802_345_678_901_234_567_891)
    owner_before = d.py.equity(a, 0) + d.py.equity(a, 1)
    insurance0 = d.py.insurance_fund()
    out = d.op("liquidate", s.u1, 0, a, 1, ETH, size)
    if out.ok:
        gain = d.py.equity(a, 0) + d.py.equity(a, 1) - owner_before
        pytest.fail(f"self-liquidation went through: owner gained {gain / WAD}, insurance {(d.py.insurance_fund() - insurance0) / WAD}")
    err(out, "SelfLiquidation", a, 1)
    err(d.op("liquidate", s.u1, 2, a, 1, ETH, size), "SelfLiquidation", a, 1)  # any sub of the owner


def test_wash_close_across_own_sub_accounts_is_refused(sys_):
    """Before: 1,600 into each of two sub-accounts, a self-hedged pair between them, a 7.99% drop, then
    the losing long closed against the own short at the band's low edge: 3,200.000246 deposited,
    3,584.261595 withdrawn, the difference paid by the insurance fund."""
    s, d = sys_, sys_.d
    a = s.u1.address
    ok(d.op("depositInsurance", s.u4, 10_000 * USD + 1))
    ok(d.op("deposit", s.u1, 1, 1_600_000_123))
    ok(d.op("deposit", s.u1, 2, 1_600_000_123))
    size = 7_901_234_567_890_123_457
    out = d.fill(s.operator, ETH, a, 1, a, 2, size, 2_000 * WAD + 987_654_321)
    if out.ok:  # the hole: finish the attack and measure it
        d.set_price(ETH, 1_840_123_456_789_012_345_678)
        edge = d.py.market_view(ETH)[0] * 95 // 100 + 1
        ok(d.fill(s.operator, ETH, a, 1, a, 2, -size, edge))
        withdrawn = 0
        for sub in (1, 2):
            amount = d.py.collateral(a, sub) // SCALE
            if amount > 0:
                ok(d.op("withdraw", s.u1, sub, amount))
                withdrawn += amount
        pytest.fail(f"deposited {3_200_000_246 / USD}, withdrew {withdrawn / USD}")
    err(out, "SelfTrade", a, 1)


def test_wash_close_between_colluding_owners_cannot_leave_negative_equity(sys_):
    """Before: the same wash close between two colluding owners (u1 long, u5 short): the long's loss
    beyond its equity went to the insurance fund (10,000.000001 -> 9,595.01) and the two withdrew
    3,584.261595 for 3,200.000246 deposited."""
    s, d = sys_, sys_.d
    a, b = s.u1.address, s.u5.address
    ok(d.op("depositInsurance", s.u4, 10_000 * USD + 1))
    ok(d.op("deposit", s.u1, 1, 1_600_000_123))
    ok(d.op("deposit", s.u5, 1, 1_600_000_123))
    size = 7_901_234_567_890_123_457
    ok(d.fill(s.operator, ETH, a, 1, b, 1, size, 2_000 * WAD + 987_654_321))
    d.set_price(ETH, 1_840_123_456_789_012_345_678)
    edge = d.py.market_view(ETH)[0] * 95 // 100 + 1
    insurance0 = d.py.insurance_fund()
    out = d.fill(s.operator, ETH, a, 1, b, 1, -size, edge)
    if out.ok:
        withdrawn = 0
        for who, addr in ((s.u1, a), (s.u5, b)):
            amount = d.py.collateral(addr, 1) // SCALE
            if amount > 0:
                ok(d.op("withdraw", who, 1, amount))
                withdrawn += amount
        pytest.fail(f"deposited {3_200_000_246 / USD}, withdrew {withdrawn / USD}; insurance "
                    f"{insurance0 / WAD} -> {d.py.insurance_fund() / WAD}")
    assert out.error[0] == "NegativeEquity" and out.error[1:][0][:2] == (a, 1) and out.error[1][2] < 0
    # the same close at the oracle price leaves the long with its (small) equity: health kept, allowed
    assert d.py.equity(a, 1) > 0
    ok(d.fill(s.operator, ETH, a, 1, b, 1, -size, d.py.market_view(ETH)[0]))
    assert d.py.insurance_fund() == insurance0 and d.py.bad_debt() == 0
    assert d.py.solvency_slack() >= 0


def test_reducing_fill_below_initial_margin_must_not_lower_margin_health(sys_):
    """§5.3: a reduce-only fill that leaves the account below initial margin must keep
    equity/maintenance margin; at the band edge against it that ratio falls, at the oracle price it rises."""
    s, d = sys_, sys_.d
    a = s.u1.address
    size = _leveraged_long(s, s.u1, 1)
    d.set_price(ETH, 1_880_123_456_789_012_345_678)
    e0, mm0 = d.py.equity(a, 1), d.py.maintenance_margin(a, 1)
    assert 0 < e0 < mm0  # below maintenance: a reduce at the band edge lowers E/MM
    p = d.py.market_view(ETH)[0]
    half = size * 4 // 7
    out = d.fill(s.operator, ETH, a, 1, s.u2.address, 0, -half, p * 95 // 100 + 1)
    assert not out.ok, f"E/MM fell from {e0 / mm0:.4f} to {d.py.equity(a, 1) / d.py.maintenance_margin(a, 1):.4f}"
    name, args = out.error
    mm1 = ceil((size - half) * p * (WAD // 20), WAD * WAD)
    assert name == "MarginHealthDecreased" and args[:4] == (a, 1, e0, mm0) and args[5] == mm1
    assert 0 <= args[4] < ceil(e0 * mm1, mm0)
    events = ok(d.fill(s.operator, ETH, a, 1, s.u2.address, 0, -half, p))
    assert named(events, "Trade")
    assert Fraction(d.py.equity(a, 1), d.py.maintenance_margin(a, 1)) >= Fraction(e0, mm0)


def test_funding_cannot_brick_a_market(sys_):
    """Before: maxFundingRateWad = 1 (100% of the price per second) was accepted; at that rate the
    index passed 2^100 and accrual, trading, withdrawals and setFundingRate reverted for good."""
    s, d = sys_, sys_.d
    a = s.u1.address
    cap = 10**13
    ok(d.op("deposit", s.u1, 0, 100_000 * USD))
    ok(d.op("deposit", s.u2, 0, 100_000 * USD))
    ok(d.fill(s.operator, ETH, a, 0, s.u2.address, 0, 3_141_592_653_589_793_238, 2_000 * WAD))
    too_fast = d.op("setMarketParams", s.owner, ETH, tuple(default_params(max_funding_rate_wad=WAD)))
    if too_fast.ok:
        ok(d.op("setFundingRate", s.keeper, ETH, WAD))
        d.set_price(ETH, 2_000 * WAD, dt=2**32)
        stuck = [d.op(*op).error for op in (("withdraw", s.u1, 0, USD), ("accrueFunding", s.u3, ETH),
                                            ("setFundingRate", s.keeper, ETH, 0))]
        pytest.fail(f"a rate of 1 per second was accepted; {2**32} s later withdraw, accrual, rate change: {stuck}")
    err(too_fast, "InvalidMarketParams", "maxFundingRateWad")
    ok(d.op("setMarketParams", s.owner, ETH, tuple(default_params(max_funding_rate_wad=cap))))
    ok(d.op("setFundingRate", s.keeper, ETH, -cap))
    # the largest price at the largest rate for 80 days (a market worth 2·10^10 per unit): the index clamps
    last = d.py.state.markets[ETH].last_funding_time
    d.set_price(ETH, 2**94 - 1, dt=80 * 86400)
    events = ok(d.op("accrueFunding", s.u3, ETH))
    (acc,) = named(events, "FundingAccrued")
    assert -cap * (d.clock - last) * (2**94 - 1) // WAD < -(2**100)
    assert acc["fundingIndexWad"] == 1 - 2**100 and acc["indexDeltaWad"] == 1 - 2**100
    ok(d.op("setFundingRate", s.keeper, ETH, cap))  # still live: rate changes, accrual, withdrawals
    d.set_price(ETH, 2_000 * WAD)
    ok(d.op("accrueFunding", s.u3, ETH, dt=1234))
    assert d.py.market_state(ETH)[3] == 1 - 2**100 + cap * 1235 * 2_000
    ok(d.op("withdraw", s.u1, 0, USD))
    assert d.py.solvency_slack() >= 0
    d.check_views()


def test_settle_market_closes_positions_at_the_final_price(sys_):
    """The way out of a market whose oracle died: the owner settles it at a final price; trading and
    liquidation in it stop, anyone closes positions at that price, and collateral is withdrawable."""
    s, d = sys_, sys_.d
    a, b = s.u1.address, s.u2.address
    ok(d.op("deposit", s.u1, 0, 10_000 * USD + 7))
    ok(d.op("deposit", s.u2, 0, 10_000 * USD + 11))
    size = 2_718_281_828_459_045_235
    rate = -123_456_789_012  # shorts pay: a negative accrual, whose Floor differs from truncation
    ok(d.op("setFundingRate", s.keeper, ETH, rate))
    ok(d.fill(s.operator, ETH, a, 0, b, 0, size, 2_000_123_456_789_012_345_678))
    d.set_price(ETH, 0)  # the oracle dies: everything touching the market reverts
    err(d.op("withdraw", s.u1, 0, USD), "InvalidPrice", ETH, 0)
    err(d.op("settleMarket", s.stranger, ETH, 1_999 * WAD), "OwnableUnauthorizedAccount", s.stranger.address)
    err(d.op("settleMarket", s.owner, ETH, 0), "InvalidPrice", ETH, 0)
    err(d.op("closeSettledPosition", s.stranger, a, 0, ETH), "MarketNotSettled", ETH)
    final = 1_987_654_321_098_765_432_109
    events = ok(d.op("settleMarket", s.owner, ETH, final, dt=3_333))
    assert named(events, "MarketSettled") == [{"marketId": ETH, "priceWad": final}]
    (acc,) = named(events, "FundingAccrued")
    assert rate * acc["elapsedS"] * final % WAD != 0
    assert acc["priceWad"] == final and acc["indexDeltaWad"] == math.floor(Fraction(rate * acc["elapsedS"] * final, WAD))
    err(d.op("settleMarket", s.owner, ETH, final), "SettledMarket", ETH)
    err(d.fill(s.operator, ETH, a, 0, b, 0, -size, final), "SettledMarket", ETH)
    err(d.op("liquidate", s.u2, 0, a, 0, ETH, size), "SettledMarket", ETH)
    err(d.op("setFundingRate", s.keeper, ETH, 0), "SettledMarket", ETH)
    assert d.py.market_view(ETH)[0] == final  # the oracle is no longer read
    err(d.op("closeSettledPosition", s.stranger, s.u3.address, 0, ETH), "NoPosition", s.u3.address, 0, ETH)
    for owner in (a, b):
        events = ok(d.op("closeSettledPosition", s.stranger, owner, 0, ETH))
        (pu,) = named(events, "PositionUpdated")
        assert (pu["priceWad"], pu["sizeWad"], pu["feeWad"]) == (final, 0, 0)
    assert d.py.market_state(ETH)[5] == 0  # open interest
    for who, addr in ((s.u1, a), (s.u2, b)):
        ok(d.op("withdraw", who, 0, d.py.collateral(addr, 0) // SCALE))
    assert d.py.solvency_slack() >= 0
    d.check_views()


def test_fee_on_transfer_deposit_is_refused(chain, artifacts):
    """Before: a deposit of 1,000 in a token that burns 1% credited 1,000 while the vault received 990,
    so the last depositor's withdrawal came out of the others' money."""
    owner, user, other = (tx.node_signer(chain, i) for i in range(3))
    token, _ = deploy_contract(chain, "FeeOnTransferToken", 100, sender=owner, gas=TX_GAS)
    engine, _ = deploy_contract(chain, "MarginEngine", token.address, owner.address, sender=owner, gas=6_000_000)
    dep = EngineDeployment(chain, owner, engine, token)
    fund(dep, [user, other], 10**6 * USD)
    d = DualEngine(dep, deploy_batch(chain, owner))
    d.py.token_delivery = lambda amount: amount - amount * 100 // 10_000
    out = d.op("deposit", user, 0, 1_000 * USD + 3)
    if out.ok:
        short = d.py.collateral(user.address, 0) - engine.call("reservesWad")
        pytest.fail(f"credited {d.py.collateral(user.address, 0) / WAD}; the vault is short {short / WAD}")
    received = 1_000 * USD + 3 - (1_000 * USD + 3) * 100 // 10_000
    err(out, "ShortDelivery", 1_000 * USD + 3, received)
    err(d.op("depositInsurance", other, 7 * USD), "ShortDelivery", 7 * USD, 7 * USD * 99 // 100)
    assert engine.call("reservesWad") == 0
    d.check_views()

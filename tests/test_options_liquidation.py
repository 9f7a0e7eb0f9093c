"""Liquidation of option positions (spec §5.13 Liquidation, issue 15) on the embedded devnet against the
Python mirrors: an options-only account below maintenance margin is liquidated at the mark value and its
deficit stops growing; a liquidator gains at most the penalty; every revert is equal, error and
arguments, on the contract and the mirror, on random full-precision sizes, prices and vols."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from options_support import PERP_PRICE, WEEK_SERIES, System, deploy_once, ok, restored
from pymargin.fixedpoint import WAD



@pytest.fixture(scope="module")
def deployed(chain_session, artifacts):
    """The system deployed once per module (funded users, marked series), with its mirrors saved."""
    yield from deploy_once(chain_session, WEEK_SERIES)


@pytest.fixture
def system(deployed, chain_session):
    """The deployed system, chain and mirrors back at their saved state after the test."""
    yield from restored(deployed, chain_session)


def margins(s: System, user) -> tuple[int, int, int]:
    """(equity, IM, MM) of the user's cross account, equal on the contract and the mirror."""
    chain = tuple(s.engine.call("margins", user.address, 0))
    assert chain == tuple(s.d.py.margins(user.address, 0))
    return chain


def move_price(s: System, price: int, vol: int = 612_345_678_901_234_567) -> None:
    """The oracle at ``price``, every series marked at it and ``vol``."""
    s.d.set_price(0, price)
    s.mark_all(vol)


def write_calls_to_the_limit(s: System, writer, buyer, size: int) -> None:
    """``writer`` sells ``size`` calls to ``buyer`` at the mark value, then withdraws down to just above IM."""
    call = s.series["call"]
    ok(s.option_fill(call, buyer, writer, size, s.mark_value(call)))
    eq, im, _ = margins(s, writer)
    assert s.d.op("withdraw", writer, 0, (eq - im) // 10**12 - 1).ok


def test_options_only_account_is_liquidated_and_its_deficit_stops(system):
    """The hole of issue 15 closed: a short-call-only account goes below MM as the price rises; a third
    account liquidates the whole position at the mark value; the price keeps rising and the liquidated
    account's equity no longer moves (before the fix nothing could liquidate it and its deficit grew
    with every move, owed to the call's buyer)."""
    s = system
    writer, buyer, liquidator = s.users
    call = s.series["call"]
    size = 31_415_926_535_897_932_384
    write_calls_to_the_limit(s, writer, buyer, size)
    price = PERP_PRICE
    while True:
        price = price * 1_031_234_567_890_123_457 // WAD
        move_price(s, price)
        eq, _, mm = margins(s, writer)
        if eq < mm:
            break
    assert s.engine.call("isLiquidatable", writer.address, 0) and s.d.py.is_liquidatable(writer.address, 0)
    # the engine's own liquidation takes over perps only: nothing to take
    perp_liquidation = s.d.op("liquidate", liquidator, 0, writer.address, 0, 0, 10**18)
    assert perp_liquidation.error == ("NoPosition", (writer.address, 0, 0))
    before = s.conserved_wad2()
    insurance = s.d.py.insurance_fund()
    out = ok(s.op("options", "liquidate", liquidator, writer.address, call, -size))
    name, args = out.events[-1]
    assert name == "OptionLiquidated"
    value = s.mark_value(call)
    assert (args["sizeWad"], args["valueWad"]) == (-size, value)
    assert args["paidWad"] == -(-size * value // WAD) and args["receivedWad"] == size * value // WAD
    full = -(-size * s.py_book.series[call].price_wad * s.py.state.liquidation_penalty_wad // WAD**2)
    penalty = args["penaltyWad"]
    after = margins(s, writer)[0]  # no option left: its collateral
    assert penalty == min(full, max(after + penalty, 0)), "capped at the equity left after the transfer"
    assert args["insuranceWad"] == penalty * s.py.state.insurance_share_wad // WAD
    assert s.d.py.insurance_fund() == insurance + args["insuranceWad"]
    assert s.conserved_wad2() == before == s.py.conserved_value_wad2()
    assert s.py.option_series(writer.address) == [] and s.py.option_size(liquidator.address, call) == -size
    print({"equity before": eq, "mm": mm, "penalty": penalty, "equity after": after})
    for _ in range(2):
        price = price * 1_047_123_456_789_012_345 // WAD
        move_price(s, price)
        assert margins(s, writer)[0] == after, "the liquidated account's loss no longer grows"
    s.check_state()


def below_maintenance(s: System, writer, buyer, size: int, step: int = 1_031_234_567_890_123_457) -> int:
    """``writer`` writes ``size`` calls to the limit, the price rises by ``step`` until its equity < MM;
    returns the price."""
    write_calls_to_the_limit(s, writer, buyer, size)
    price = PERP_PRICE
    while margins(s, writer)[0] >= margins(s, writer)[2]:
        price = price * step // WAD
        move_price(s, price)
    return price


def test_liquidator_gains_at_most_the_penalty(system):
    """Wash between colluding owners: the liquidator's equity grows by the penalty less the insurance
    share (up to rounding, never more), the liquidated account loses the penalty (up to rounding), the
    insurance fund gains its share and pays nothing — also when the marks are an hour old and the
    oracle has moved 4 % since (value moves at the mark, as the engine values both accounts); a stale
    mark stops the liquidation."""
    s = system
    writer, buyer, liquidator = s.users
    call = s.series["call"]
    size = 27_182_818_284_590_452_353
    price = below_maintenance(s, writer, buyer, size)
    s.d.clock += 3600 - 3  # marks at their max age after the next operations
    s.d.set_price(0, price * 1_040_000_000_000_000_001 // WAD)
    e_w, e_l = margins(s, writer)[0], margins(s, liquidator)[0]
    insurance, fees, bad_debt = s.d.py.insurance_fund(), s.d.py.accrued_fees(), s.d.py.bad_debt()
    part = -(size * 3 // 4 + 123_456_789)
    out = s.op("options", "liquidate", liquidator, writer.address, call, part)
    if not out.ok:  # three quarters did not bring it back above MM: take it all
        assert out.error[0] == "LiquidationTooSmall"
        part = -size
        out = ok(s.op("options", "liquidate", liquidator, writer.address, call, part))
    args = out.events[-1][1]
    penalty, cut = args["penaltyWad"], args["insuranceWad"]
    assert 0 < cut < penalty
    gain = margins(s, liquidator)[0] - e_l
    assert penalty - cut - 2 <= gain <= penalty - cut
    assert -penalty - 2 <= margins(s, writer)[0] - e_w <= -penalty
    assert s.d.py.insurance_fund() == insurance + cut and s.d.py.bad_debt() == bad_debt
    assert s.d.py.accrued_fees() - fees == args["paidWad"] - args["receivedWad"] <= 1
    if part != -size:  # the rest, once the marks are stale: refused on both sides
        s.d.clock += 10
        s.d.set_price(0, price)
        err = s.op("options", "liquidate", liquidator, writer.address, call, -size - part).error
        assert err == ("StaleMark", (call, s.py_book.series[call].marked_at, s.d.clock)), err
    s.check_state()


def test_reverts_in_order_equal_on_contract_and_mirror(system):
    """Every check of liquidate (spec §5.13), error and arguments equal on both sides."""
    s = system
    writer, buyer, liquidator = s.users
    call, put, perp = s.series["call"], s.series["put"], s.series["perp"]
    size = 29_979_245_800_000_000_001
    w = writer.address

    def err(sender, owner, sid, sz):
        return s.op("options", "liquidate", sender, owner, sid, sz).error

    write_calls_to_the_limit(s, writer, buyer, size)
    eq, _, mm = margins(s, writer)
    assert err(liquidator, w, call, -size) == ("NotLiquidatable", (w, 0, *margins(s, writer)[::2]))
    assert eq >= mm
    price = PERP_PRICE
    while margins(s, writer)[0] >= margins(s, writer)[2]:
        price = price * 1_031_234_567_890_123_457 // WAD
        move_price(s, price)
    assert err(liquidator, w, 99, -size) == ("UnknownSeries", (99,))
    assert err(liquidator, w, perp, -size) == ("NotAnOption", (perp,))
    assert err(writer, w, call, -size) == ("SelfLiquidation", (w, 0))
    assert err(s.stranger, w, call, -size) == ("UnknownAccount", (s.stranger.address, 0))
    assert err(liquidator, w, put, -size) == ("NoPosition", (w, 0, put))
    for bad in (0, size, -size - 1):
        assert err(liquidator, w, call, bad) == ("InvalidLiquidationSize", (bad, -size))
    e = err(liquidator, w, call, -(10**15 + 1))
    assert e[0] == "LiquidationTooSmall" and e[1][:2] == (w, 0) and e[1][2] < e[1][3]
    assert s.d.op("pause", s.owner).ok
    assert err(liquidator, w, call, -size) == ("EnforcedPause", ())
    assert s.d.op("unpause", s.owner).ok
    # a liquidator without the margin for the calls it takes over
    assert s.d.op("withdraw", liquidator, 0, 19_990 * 10**6).ok
    e = err(liquidator, w, call, -size)
    assert e[0] == "InsufficientMargin" and e[1][:2] == (liquidator.address, 0) and e[1][2] < e[1][3]
    # the owner's parameters, within bounds
    def set_params(sender, penalty, share):
        return s.op("options", "setLiquidationParams", sender, penalty, share)

    assert set_params(liquidator, 10**16, 0).error == ("OwnableUnauthorizedAccount", (liquidator.address,))
    assert set_params(s.owner, WAD + 1, 0).error == ("InvalidLiquidationParams", (WAD + 1, 0))
    assert set_params(s.owner, 0, WAD + 1).error == ("InvalidLiquidationParams", (0, WAD + 1))
    assert ok(set_params(s.owner, WAD, WAD)).events == [
        ("LiquidationParamsSet", {"penaltyWad": WAD, "insuranceShareWad": WAD})]
    assert (s.options.call("liquidationPenaltyWad"), s.options.call("insuranceShareWad")) == (
        s.py.state.liquidation_penalty_wad, s.py.state.insurance_share_wad) == (WAD, WAD)
    # a liquidation takes at most the equity left: the whole of it at a 100 % penalty
    out = ok(s.op("options", "liquidate", buyer, w, call, -size))
    assert out.events[-1][1]["penaltyWad"] > 0 and margins(s, writer)[0] == 0
    # only the module credits the insurance fund; after expiry the series is not liquidated
    assert s.d.op("creditInsurance", writer, 10**18).error == ("NotOperator", (w,))
    s.d.clock = s.py_book.series[call].expiry
    s.d.set_price(0, price)
    expiry = s.py_book.series[call].expiry
    assert err(writer, buyer.address, call, size) == ("SeriesExpired", (call, expiry))
    s.check_state()


def test_random_liquidations_match_the_mirror(system):
    """Random writers, sizes, premiums, price moves, vols and liquidation sizes (valid and not): every
    liquidation equal on both sides, values, events and reverts, and value is conserved."""
    s = system
    rng = random.Random(20261202)
    seen: Counter = Counter()
    price = PERP_PRICE
    for _ in range(4):
        writer, buyer = rng.sample(s.users, 2)
        name = rng.choice(["call", "put"])
        sid = s.series[name]
        band = s.py.premium_band_wad * s.py_book.series[sid].price_wad // WAD
        premium = max(s.mark_value(sid) + rng.randrange(-band, band), 0)
        if s.option_fill(sid, buyer, writer, rng.randrange(10**18, 12 * 10**18), premium).ok:
            seen["write"] += 1
        eq, im, _ = margins(s, writer)
        if eq > im + 2 * 10**12:
            assert s.d.op("withdraw", writer, 0, rng.randrange(1, (eq - im) // 10**12)).ok
        move = rng.randrange(30_000_000_000_000_000, 150_000_000_000_000_000)
        price = price * (WAD + move if name == "call" else WAD - move) // WAD
        move_price(s, price, rng.randrange(WAD // 5, 2 * WAD))
        for _ in range(3):
            victim = writer if rng.random() < 0.7 else rng.choice(s.users)
            held = [(k, v) for k, v in s.py.state.sizes.items() if k[0] == victim.address]
            if not held:
                continue
            (_, sid), pos = rng.choice(held)
            r = rng.random()
            if r < 0.8:  # a part or the whole
                part = pos * rng.randrange(1, 101) // 100 or pos
            else:  # the wrong sign, or more than the position
                part = -pos if r < 0.9 else pos + (1 if pos > 0 else -1)
            liquidator = rng.choice([u for u in s.users if u is not victim] + [s.stranger])
            before = s.conserved_wad2()
            out = s.op("options", "liquidate", liquidator, victim.address, sid, part)
            assert s.conserved_wad2() == before == s.py.conserved_value_wad2()
            seen["liquidated" if out.ok else out.error[0]] += 1
    s.check_state()
    print(dict(seen))
    assert seen["liquidated"] and seen["NotLiquidatable"], dict(seen)

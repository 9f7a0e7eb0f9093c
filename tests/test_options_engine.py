"""Option markets in the engine (spec §5.13) on the embedded devnet against the Python mirrors:
premiums between cross accounts, portfolio margin in the engine's checks, expiry settlement, value
conservation; equal values, events and reverts on both sides."""

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


def test_option_trade_moves_the_premium_and_margins_by_portfolio(system):
    s = system
    a, b = s.users[0], s.users[1]
    call = s.series["call"]
    premium = s.mark_value(call) + 123_456_789_012_345
    size = 3_141_592_653_589_793_238
    before = s.conserved_wad2()
    out = ok(s.option_fill(call, a, b, size, premium))
    assert out.events[-1][0] == "OptionTraded"
    paid = -(-size * premium // WAD)
    assert s.d.py.collateral(a.address, 0) == 20_000 * WAD - paid
    assert s.d.py.collateral(b.address, 0) == 20_000 * WAD + size * premium // WAD
    assert s.conserved_wad2() == before == s.py.conserved_value_wad2()
    s.check_state()


def test_hedged_book_needs_less_margin_than_its_parts(system, tmp_path):
    """Long perp + short call: the engine's maintenance (portfolio margin) is below the perp's and the
    call's apart, equal on the contract, the mirror, pymargin.riskbatch and the portfolio circuit
    (PortfolioMarginAccount over the book's marked arrays), IM too."""
    from pymargin import riskbatch
    from pymargin.zk import circuits
    from pymargin.zk import portfolio as zp
    from pymargin.zk.field import from_field
    from pymargin.zk.witness import compute_witness, read_wtns

    s = system
    a, b, c = s.users
    size = 2_718_281_828_459_045_235
    assert s.d.fill(s.operator, 0, a.address, 0, c.address, 0, size, PERP_PRICE + 1_234_567_890_123).ok
    call = s.series["call"]
    ok(s.option_fill(call, b, a, size, s.mark_value(call) - 98_765_432_109_876))
    now = s.d.clock
    hedged = s.engine.call("maintenanceMargin", a.address, 0)
    assert hedged == s.d.py.maintenance_margin(a.address, 0)
    assert s.engine.call("initialMargin", a.address, 0) == -(-hedged * s.py_book.im_multiple_wad // WAD)
    perp_alone = s.book.call("maintenanceMargin", [s.series["perp"]], [size])
    call_alone = s.book.call("maintenanceMargin", [call], [-size])
    assert perp_alone == s.py_book.maintenance_margin(now, [s.series["perp"]], [size])
    assert call_alone == s.py_book.maintenance_margin(now, [call], [-size])
    assert 0 < hedged < perp_alone + call_alone
    series = riskbatch.series_from_risk_book(s.py_book, now)
    book = riskbatch.PortfolioBook.from_accounts([[(s.series["perp"], size), (call, -size)]], series)
    assert int(riskbatch.maintenance_margin(book)[0]) == hedged
    # the circuit over the same marked arrays (public tables) and positions: the same integers
    circuit = circuits.portfolio_account(2, 4, 6)
    tables = zp.risk_tables(series, zp.PortfolioShape(u=2, k=4, p=6), s.py_book.im_multiple_wad)
    books = {"hedged": [(s.series["perp"], size), (call, -size)], "perp": [(s.series["perp"], size)], "call": [(call, -size)]}
    in_circuit = {}
    for name, positions in books.items():
        witness = read_wtns(compute_witness(circuit, zp.account_inputs(tables, positions), tmp_path / f"{name}.wtns"))
        in_circuit[name] = from_field(witness[1]), from_field(witness[2])
    assert in_circuit["hedged"] == (hedged, s.engine.call("initialMargin", a.address, 0))
    assert (in_circuit["perp"][0], in_circuit["call"][0]) == (perp_alone, call_alone)
    s.check_state()


def _random_run(s: System, seed: int, steps: int) -> Counter:
    """Random option and perp fills, deposits, withdrawals, price and mark moves, pauses, perp and option
    liquidations and early settlements, then expiry: the book settles every option, every position is settled.
    Every step compared on both sides; options operations leave the conserved value unchanged."""
    rng = random.Random(seed)
    seen: Counter = Counter()
    users = s.users
    options = [s.series["call"], s.series["put"]]
    price = PERP_PRICE

    def record(name, outcome):
        seen[name if outcome.ok else outcome.error[0]] += 1

    def options_op(name, run):
        before = s.conserved_wad2()
        outcome = run()
        assert s.conserved_wad2() == before == s.py.conserved_value_wad2() or not outcome.ok
        record(name, outcome)

    for step in range(steps):
        kind = "pause" if step == 3 else rng.choices(
            ["option", "perp", "deposit", "withdraw", "price", "liquidate", "settle", "pause", "optionLiquidate"],
            [8, 3, 1, 2, 2, 1, 1, 1, 2])[0]
        taker, maker = rng.sample(users, 2) if rng.random() < 0.95 else (users[0], users[0])
        if kind == "option":
            sid = rng.choice(options)
            size = rng.choice([1, -1]) * rng.randrange(10**15, 8 * 10**18)
            band = s.py.premium_band_wad * s.py_book.series[sid].price_wad // WAD
            premium = max(s.mark_value(sid) + rng.randrange(-band - band // 4, band + band // 4), 0)
            options_op("optionTrade", lambda: s.option_fill(sid, taker, maker, size, premium))
        elif kind == "perp":
            size = rng.choice([1, -1]) * rng.randrange(10**15, 3 * 10**18)
            fill_price = price + rng.randrange(-price // 100, price // 100)
            record("perpTrade", s.d.fill(s.operator, 0, taker.address, 0, maker.address, 0, size, fill_price))
        elif kind == "deposit":
            record("deposit", s.d.op("deposit", taker, 0, rng.randrange(1, 5_000 * 10**6)))
        elif kind == "withdraw":
            record("withdraw", s.d.op("withdraw", taker, 0, rng.randrange(1, 20_000 * 10**6)))
        elif kind == "price":
            price = price * rng.randrange(900_000_000_000_000_000, 1_100_000_000_000_000_000) // WAD
            s.d.set_price(0, price)
            s.mark_all(rng.randrange(WAD // 5, 2 * WAD))
            seen["price"] += 1
        elif kind == "liquidate":
            held = s.d.py.position(maker.address, 0, 0)[0]
            part = held * rng.randrange(1, 100) // 100 if held else rng.randrange(1, WAD)
            record("liquidate", s.d.op("liquidate", taker, 0, maker.address, 0, 0, part))
        elif kind == "optionLiquidate":  # spec §5.13 Liquidation: a part, the whole, or a size of the wrong sign
            held = [(sid, size) for (a, sid), size in s.py.state.sizes.items() if a == maker.address]
            sid, pos = rng.choice(held) if held else (rng.choice(options), 10**18)
            part = rng.choice([pos * rng.randrange(1, 100) // 100 or pos, pos, -pos])
            options_op("optionLiquidate", lambda: s.op("options", "liquidate", taker, maker.address, sid, part))
        elif kind == "settle":
            options_op("settleEarly", lambda: s.op("options", "settle", taker, maker.address, rng.choice(options)))
        else:
            record("pause", s.d.op("pause", s.owner))
            options_op("optionTrade", lambda: s.option_fill(options[0], taker, maker, 10**17, s.mark_value(options[0])))
            assert s.d.op("unpause", s.owner).ok
        if step % 8 == 7:
            s.check_state()
    # expiry: a price as of expiry, the book settles each option once, every position is settled
    expiry = max(s.py_book.series[sid].expiry for sid in options)
    s.d.clock = expiry
    s.d.set_price(0, price * rng.randrange(800_000_000_000_000_000, 1_200_000_000_000_000_000) // WAD)
    s.mark_all()
    for sid in options:
        ok(s.op("book", "settle", s.stranger, sid))
    for owner in list({a for a, _ in s.py.state.sizes}):
        for sid in s.py.option_series(owner):
            options_op("settle", lambda: s.op("options", "settle", s.stranger, owner, sid))
    assert not s.py.state.sizes and s.py.state.settlement_dust_wad2 == 0
    assert all(s.options.call("openInterest", sid) == 0 for sid in options)
    s.check_state()
    return seen


def test_random_sequences_match_the_mirror(system):
    seen = _random_run(system, seed=20261201, steps=16)
    for required in ("optionTrade", "settle", "EnforcedPause"):
        assert seen[required], dict(seen)
    print(dict(seen))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences_match_the_mirror_long(system, seed):
    seen = _random_run(system, seed=seed, steps=150)
    assert seen["optionTrade"] and seen["settle"], dict(seen)


def test_only_the_module_moves_collateral_and_orders_do_not_cross_domains(system):
    """The trust promises of spec §5.13: adjustCollateral only from the module, the module set once,
    an order signed for the engine does not fill in the module, premiums stay within the band."""
    s = system
    a, b, _ = s.users
    for sender in (s.owner, s.operator, a):
        err = s.d.op("adjustCollateral", sender, a.address, 10**18, 0).error
        assert err == ("NotOperator", (sender.address,))
    assert s.d.op("setOptionsModule", s.owner, s.options.address).error == ("InvalidMarketParams", ("optionsModule",))
    call = s.series["call"]
    value = s.mark_value(call)
    t = s.d.orders.order(a.address, 0, call, 10**18, value)  # signed under the engine's domain
    m = s.orders.order(b.address, 0, call, -(10**18), value)
    out = s.op("options", "trade", s.operator, t, s.d.orders.sign(t), m, s.orders.sign(m), 10**18, value)
    assert out.error[0] == "InvalidSignature" and out.error[1][0] == a.address
    band = s.py.premium_band_wad * s.py_book.series[call].price_wad // WAD
    assert s.option_fill(call, a, b, 10**18, value + band + 1).error == ("PremiumOutsideBand", (call, value + band + 1, value))
    ok(s.option_fill(call, a, b, 10**18, value + band))
    t = s.orders.order(a.address, 1, call, 10**18, value)
    m = s.orders.order(b.address, 0, call, -(10**18), value)
    out = s.op("options", "trade", s.operator, t, s.orders.sign(t), m, s.orders.sign(m), 10**18, value)
    assert out.error == ("CrossAccountOnly", (1,))
    s.check_state()

"""The batch engine's portfolio margin (pymargin.riskbatch) equals, account by account, the exact
path ``risk.scenario.scenario_margin_wad`` (portfolio and per-position sums) and the mirror of
``RiskArrayBook.maintenanceMargin``/``initialMargin`` on random portfolios: full-precision sizes,
hedged, naked and mixed books, several chunks; out of bounds it returns the reference's revert."""

from __future__ import annotations

import random

import pytest

from pymargin import riskarray as ra
from pymargin import riskbatch, riskbook
from pymargin.errors import Panic, UserError
from pymargin.fixedpoint import WAD
from pymargin.risk import scenario

SEED = 20261201
Kind = ra.InstrumentKind
YEAR_S = 365 * 86_400
SOM_FRACTION = 123_456_789_012_345_679  # ~12.3 %
IM_MULTIPLE = 1_414_213_562_373_095_049


def digits(rng: random.Random, low: int, high: int) -> int:
    """A full-precision value in [low, high) (odd, so divisions leave a remainder)."""
    return rng.randrange(low, high) | 1


def rand_market(rng: random.Random, underlyings: int = 3, series_per: int = 7):
    """(states by name, series list of (name, kind, strike, tau)) with every kind on every underlying."""
    states, series = {}, []
    for u in range(underlyings):
        price = digits(rng, 10**19, 10**23)
        states[f"U{u}"] = scenario.UnderlyingWad(price, digits(rng, WAD // 20, 2 * WAD), digits(rng, WAD // 50, WAD // 2), digits(rng, 0, WAD // 2))
        series.append((f"U{u}", Kind.Perp, 0, 0))
        for _ in range(series_per - 1):
            kind = rng.choice((Kind.Call, Kind.Put))
            series.append((f"U{u}", kind, price * digits(rng, WAD // 2, 2 * WAD) // WAD, digits(rng, 86_400, YEAR_S)))
    return states, series


def table(states, series) -> dict[int, riskbatch.RiskSeries]:
    names = sorted(states)
    out = {}
    for sid, (name, kind, strike, tau) in enumerate(series):
        st = states[name]
        array = ra.risk_array(kind, strike, tau, st.price_wad, st.vol_wad, st.price_range_wad, st.vol_range_wad)
        out[sid] = riskbatch.RiskSeries(names.index(name), tuple(array), ra.short_option_minimum(kind, st.price_wad, SOM_FRACTION))
    return out


def rand_account(rng: random.Random, series) -> list[tuple[int, int]]:
    """Hedged (long perp, short call, same underlying), naked (short options only) or mixed, 0–6 positions."""
    style = rng.random()
    size = lambda: digits(rng, WAD // 1000, 50 * WAD)  # noqa: E731
    if style < 0.25:
        u = rng.choice([i for i, s in enumerate(series) if s[1] == Kind.Perp])
        calls = [i for i, s in enumerate(series) if s[0] == series[u][0] and s[1] == Kind.Call] or [u]
        return [(u, size()), (rng.choice(calls), -size())]
    if style < 0.45:
        options = [i for i, s in enumerate(series) if s[1] != Kind.Perp]
        return [(rng.choice(options), -size()) for _ in range(rng.randint(1, 4))]
    if style < 0.5:
        return []
    return [(rng.randrange(len(series)), rng.choice((1, -1)) * size()) for _ in range(rng.randint(1, 6))]


def test_batch_equals_the_exact_path_on_random_portfolios(monkeypatch):
    monkeypatch.setattr(riskbatch, "CHUNK", 37)  # several chunks, the last one partial
    rng = random.Random(f"{SEED}:exact")
    states, series = rand_market(rng)
    accounts = [rand_account(rng, series) for _ in range(300)]
    book = riskbatch.PortfolioBook.from_accounts(accounts, table(states, series))
    mm, alone = riskbatch.maintenance_margin(book), riskbatch.standalone_margin(book)
    im = riskbatch.initial_margin(book, IM_MULTIPLE)
    hedges = 0
    for i, positions in enumerate(accounts):
        if not positions:
            assert mm[i] == alone[i] == im[i] == 0
            continue
        instruments = [scenario.InstrumentWad(series[s][0], size, series[s][1], series[s][2], series[s][3]) for s, size in positions]
        exact = scenario.scenario_margin_wad(instruments, states, SOM_FRACTION)
        assert (mm[i], alone[i]) == (exact.maintenance_wad, exact.standalone_sum_wad), (i, positions)
        assert im[i] == -(-mm[i] * IM_MULTIPLE // WAD)
        hedges += mm[i] < alone[i]
    assert hedges > 30  # netting saves margin on many books, so the two sums are really compared


def test_batch_equals_the_risk_array_book_mirror():
    rng = random.Random(f"{SEED}:book")
    now = 1_900_000_000
    rb = riskbook.RiskArrayBook("owner", IM_MULTIPLE)
    rb.set_keeper("owner", "keeper", True)
    states, series = rand_market(rng, underlyings=2, series_per=5)
    for name in sorted(states):
        st = states[name]
        rb.add_underlying("owner", (lambda p=st.price_wad: (p, now)), st.price_range_wad, st.vol_range_wad, SOM_FRACTION, 3600, WAD // 50, 3 * WAD)
    for name, kind, strike, tau in series:
        sid = rb.add_series("owner", now, sorted(states).index(name), kind, strike, now + tau if tau else 0)
        rb.update_mark("keeper", now, sid, states[name].vol_wad)
    unmarked = rb.add_series("owner", now, 0, Kind.Call, states["U0"].price_wad, now + YEAR_S)
    accounts = [rand_account(rng, series) for _ in range(120)]
    book = riskbatch.PortfolioBook.from_accounts(accounts, riskbatch.series_from_risk_book(rb, now + 60))
    mm, im = riskbatch.maintenance_margin(book), riskbatch.initial_margin(book, rb.im_multiple_wad)
    for i, positions in enumerate(accounts):
        ids, sizes = [s for s, _ in positions], [z for _, z in positions]
        assert (mm[i], im[i]) == (rb.maintenance_margin(now + 60, ids, sizes), rb.initial_margin(now + 60, ids, sizes))
    # what the view refuses (a series never marked, a stale mark) has no row in the batch's table
    assert unmarked not in riskbatch.series_from_risk_book(rb, now + 60)
    assert riskbatch.series_from_risk_book(rb, now + 3601) == {}


def test_hedge_needs_less_than_its_legs_apart():
    rng = random.Random(f"{SEED}:hedge")
    states = {"U0": scenario.UnderlyingWad(3_141_592_653_589_793_238_462, 628_318_530_717_958_647, 271_828_182_845_904_523, 161_803_398_874_989_485)}
    series = [("U0", Kind.Perp, 0, 0), ("U0", Kind.Call, 3_300_000_000_000_000_000_001, 2_718_281)]
    size = digits(rng, WAD, 10 * WAD)
    book = riskbatch.PortfolioBook.from_accounts([[(0, size), (1, -size)], [(0, size)], [(1, -size)]], table(states, series))
    mm = riskbatch.maintenance_margin(book)
    assert 0 < mm[0] < mm[1] + mm[2]
    assert riskbatch.standalone_margin(book)[0] == mm[1] + mm[2]


def test_out_of_bounds_accounts_return_the_references_revert():
    rng = random.Random(f"{SEED}:bounds")
    states, series = rand_market(rng, underlyings=1, series_per=2)
    accounts = [[(0, 2**200), (1, -(2**200))], [(0, digits(rng, WAD, 2 * WAD))], [(1, -(2**93))]]
    book = riskbatch.PortfolioBook.from_accounts(accounts, table(states, series))
    mm = riskbatch.maintenance_margin(book)
    assert isinstance(mm[0], Panic) and mm[0].args_ == (0x11,)
    with pytest.raises(Panic):
        riskbatch.maintenance_margin_reference(book, 0)
    assert mm[1] == riskbatch.maintenance_margin_reference(book, 1) and isinstance(mm[2], int)
    with pytest.raises(ra.InitialMultipleBelowOne):
        riskbatch.initial_margin(book, WAD - 1)


def test_book_rejects_bad_tables():
    arrays = {0: riskbatch.RiskSeries(0, (0,) * 16, 0)}
    with pytest.raises(UserError, match="without a risk array"):
        riskbatch.PortfolioBook([[0, 5]], [[1, 1]], arrays)
    with pytest.raises(UserError, match="16 entries"):
        riskbatch.PortfolioBook([[0]], [[1]], {0: riskbatch.RiskSeries(0, (0,) * 15, 0)})

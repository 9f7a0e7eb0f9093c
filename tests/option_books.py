"""Random books with options for the solvency statement's tests (docs/spec.md §7.9): a risk-array book
mirror with one underlying (the oracle of engine markets 0 and 1, both mapped to its perp series) or
two (market u's oracle, its own perp), calls on each, a put on underlying 0 already settled, marks
fresh at the checkpoint; the options module's mirror holding
the accounts' option positions; and accounts mixing perp-only, hedged (long perp + short call), naked,
settled-option and mixed holders, at full precision (every division leaves a remainder).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from types import SimpleNamespace

from pymargin import margin
from pymargin.engine.options import OptionsEngine
from pymargin.fixedpoint import WAD
from pymargin.model import Account, MarketView, Position
from pymargin.riskarray import InstrumentKind as Kind
from pymargin.riskbook import RiskArrayBook
from zk_books import OWNERS
from zk_books import account as perp_account

OWNER, KEEPER = "0x" + "11" * 20, "0x" + "22" * 20
MODULE = "0x" + "33" * 20
IM_MULTIPLE = 1_333_333_333_333_333_337
START = 1_700_000_000
DAY = 86_400
NOW = START + 2 * DAY  # the checkpoint: after the put's expiry and settlement, marks fresh


def digits(rng: random.Random, low: int, high: int) -> int:
    """A full-precision integer in [low, high) that is not a multiple of 10^6."""
    while True:
        x = rng.randrange(low, high)
        if x % 10**6:
            return x


@dataclass
class OptionWorld:
    """A book of accounts with perps (``accounts``) and options (``options``: account id -> (series id, size)),
    the market views, the book and module mirrors at NOW, and the series ids by name."""

    accounts: list[Account]
    options: dict[str, list[tuple[int, int]]]
    markets: dict[int, MarketView]
    book: RiskArrayBook
    module: OptionsEngine
    series: dict[str, int]

    def engine_margins(self, account: Account) -> tuple[int, int, int]:
        """(E, MM, IM) as the engine's ``_margins`` computes them through the module mirror (spec §5.13)."""
        perps = list(account.positions.values())
        equity = margin.equity(account.collateral, perps, self.markets)
        holds, value, im, mm = self.module.portfolio_margin(account.owner, perps)
        if holds:
            return equity + value, mm, im
        return equity, margin.maintenance_margin(perps, self.markets), margin.initial_margin(perps, self.markets)


def _views(rng: random.Random) -> dict[int, MarketView]:
    return {j: MarketView(price_wad=digits(rng, 1_000 * WAD, 3_000 * WAD), funding_index_wad=digits(rng, -(10**19), 10**19),
                          imf_wad=WAD // 10 + rng.randrange(10**15), mmf_wad=WAD // 20 + rng.randrange(10**15))
            for j in range(2)}


def _book(rng: random.Random, views: dict[int, MarketView], underlyings: int) -> tuple[RiskArrayBook, dict[str, int]]:
    """Underlying u on market u's price (one underlying: both markets'): perps, calls call0 and call1 (30
    days; on underlying 1 when there are two), a put on underlying 0 expiring after a day, settled at a
    moved price; every live series marked at NOW."""
    clock = {"now": START}
    price = {u: views[u].price_wad for u in range(underlyings)}
    book = RiskArrayBook(OWNER, IM_MULTIPLE)
    book.set_keeper(OWNER, KEEPER, True)
    for u in range(underlyings):
        book.add_underlying(OWNER, lambda u=u: (price[u], clock["now"]), 159_154_943_091_895_335, WAD // 4, WAD // 100 + 7,
                            3600, WAD // 10, 3 * WAD)
    names = {}
    for u in range(underlyings):
        names[f"perp{u}"] = book.add_series(OWNER, START, u, Kind.Perp, 0, 0)
    names["perp1"] = names[f"perp{underlyings - 1}"]
    for j in range(2):
        u = min(j, underlyings - 1)
        names[f"call{j}"] = book.add_series(OWNER, START, u, Kind.Call, price[u] + digits(rng, WAD, 200 * WAD), START + 30 * DAY)
    names["put0"] = book.add_series(OWNER, START, 0, Kind.Put, price[0] + digits(rng, WAD, 100 * WAD), START + DAY)
    clock["now"] = START + DAY + 17
    price[0] -= digits(rng, WAD, 50 * WAD)
    book.settle(clock["now"], names["put0"])
    clock["now"] = NOW
    for sid in sorted(set(names.values()) - {names["put0"]}):
        book.update_mark(KEEPER, NOW, sid, 600_000_000_000_000_000 + rng.randrange(10**17))
    return book, names


def option_world(seed: int, n: int = 7, underlyings: int = 1) -> OptionWorld:
    """n accounts (n >= 5): perp-only, hedged, naked, a settled-put holder, a mixed holder, then random ones."""
    rng = random.Random(f"option-world:{seed}:{underlyings}")
    views = _views(rng)
    if underlyings == 1:  # two engine markets on one oracle
        views[1] = MarketView(views[0].price_wad, views[1].funding_index_wad, views[1].imf_wad, views[1].mmf_wad)
    book, s = _book(rng, views, underlyings)
    size = lambda: digits(rng, WAD // 3, 40 * WAD)  # noqa: E731
    hedge = size()
    kinds = [
        ({}, []),  # perp-only (random perps below)
        ({0: hedge}, [(s["call0"], -hedge)]),  # hedged: long perp 0, short call 0
        ({}, [(s["call1"], -size())]),  # naked short call
        ({1: -size()}, [(s["put0"], size())]),  # a settled put (long) and a short perp 1
        ({0: size(), 1: -size()}, [(s["call0"], size()), (s["call1"], -size())]),  # mixed, both underlyings
    ]
    while len(kinds) < n:
        kinds.append(rng.choice([({}, []), ({1: size()}, [(s["call1"], -size())]), ({}, [(s["put0"], -size())])]))
    accounts, options = [], {}
    module = OptionsEngine(SimpleNamespace(now=NOW), book, WAD // 50, OWNER, address=MODULE)
    module.state.perp_series = {0: s["perp0"], 1: s["perp1"]}
    for i, (perps, held) in enumerate(kinds[:n]):
        owner = OWNERS[i]
        if not perps and not held:
            acct = perp_account(rng, owner, views)
            acct.sub = 0
        else:
            positions = {j: Position(j, v, v * views[j].price_wad // WAD + digits(rng, -(10**20), 10**20),
                                     views[j].funding_index_wad - digits(rng, -(10**17), 10**17)) for j, v in perps.items()}
            acct = Account(owner=owner, sub=0, collateral=0, positions=positions)
        accounts.append(acct)
        if held:
            options[acct.account_id] = held
            module.state.series_ids[owner] = [sid for sid, _ in held]
            for sid, v in held:
                module.state.sizes[(owner, sid)] = v
    world = OptionWorld(accounts, options, views, book, module, s)
    for k, acct in enumerate(accounts):
        if acct.account_id in options:  # collateral to cover MM (the last holder: a third of it, liquidatable)
            acct.collateral = 0
            equity, mm, _ = world.engine_margins(acct)
            cushion = -(mm // 3) if k == 4 else digits(rng, 0, 10**22)
            acct.collateral = mm - equity + cushion
    return world

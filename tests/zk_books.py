"""Random books for the zk tests: accounts within the §3 bounds whose equity covers maintenance margin."""

from __future__ import annotations

import random
from collections.abc import Sequence

from pymargin import margin
from pymargin.model import WAD, Account, MarketView, Position



class _Owners(Sequence):
    """Owner i is the address i + 1 (as many as a book of up to 2^32 accounts needs, made on demand)."""

    def __len__(self) -> int:
        return 1 << 32

    def __getitem__(self, i: int) -> str:
        if not 0 <= i < len(self):
            raise IndexError(i)
        return f"0x{i + 1:040x}"


OWNERS = _Owners()


def markets(rng: random.Random, count: int = 4) -> dict[int, MarketView]:
    return {
        j: MarketView(
            price_wad=rng.randrange(1, 10**6) * WAD // 100,
            funding_index_wad=rng.randrange(-(10**4), 10**4) * WAD // 1000,
            imf_wad=WAD // 10,
            mmf_wad=WAD // 20,
        )
        for j in range(count)
    }


def account(rng: random.Random, owner: str, views: dict[int, MarketView], cushion: bool = True) -> Account:
    """An account with up to 4 positions; collateral set so equity >= maintenance margin (if cushion)."""
    chosen = rng.sample(sorted(views), rng.randrange(0, min(4, len(views)) + 1))
    positions = {}
    for j in chosen:
        size = rng.choice([1, -1]) * rng.randrange(1, 10**3) * WAD // rng.choice([1, 7, 1000])
        price = views[j].price_wad
        cost = size * price // WAD + rng.randrange(-(10**20), 10**20)
        positions[j] = Position(j, size, cost, views[j].funding_index_wad - rng.randrange(-(10**17), 10**17))
    acct = Account(owner=owner, sub=rng.randrange(0, 3), collateral=0, positions=positions)
    pos = list(positions.values())
    need = margin.maintenance_margin(pos, views) - margin.equity(0, pos, views)
    acct.collateral = max(need, 0) + (rng.randrange(0, 10**22) if cushion else 0)
    return acct


def book(seed: int, n: int, market_count: int = 4) -> tuple[list[Account], dict[int, MarketView]]:
    rng = random.Random(seed)
    views = markets(rng, market_count)
    return [account(rng, OWNERS[i], views) for i in range(n)], views


def zero_sum_book(seed: int, n: int, market_count: int = 4) -> tuple[list[Account], dict[int, MarketView]]:
    """n accounts whose positions net to zero in every market, as an engine's always do (Σ long = Σ short):
    random accounts and their mirrors (sizes and cost bases negated), each with collateral to cover its mm."""
    rng = random.Random(seed)
    views = markets(rng, market_count)
    accounts = []
    for i in range(n // 2):
        a = account(rng, OWNERS[2 * i], views)
        positions = {j: Position(j, -p.size, -p.cost_basis, p.funding_index) for j, p in a.positions.items()}
        mirror = Account(owner=OWNERS[2 * i + 1], sub=a.sub, collateral=0, positions=positions)
        pos = list(positions.values())
        need = margin.maintenance_margin(pos, views) - margin.equity(0, pos, views)
        mirror.collateral = max(need, 0) + rng.randrange(0, 10**22)
        accounts += [a, mirror]
    if n % 2:
        accounts.append(Account(owner=OWNERS[n], sub=0, collateral=rng.randrange(1, 10**22), positions={}))
    return accounts, views


def book_checkpoint(statement, block_number: int = 0):
    """The CheckpointData an engine holding exactly this statement's book would record (checkpoint id,
    markets, aggregates, count, Σ collateral; the vault holds L, no fees): for TestEngineCheckpoints.
    Postable only if the book nets to zero (the registry takes Σ short = Σ long): see zero_sum_book."""
    from pymargin.engine.checkpoint import CheckpointData, MarketAggregate

    n, t = statement.market_count, statement.totals
    aggregates = tuple(MarketAggregate(a.long_size_wad, a.cost_basis_wad, a.size_funding_wad2) for a in statement.aggregates[:n])
    return CheckpointData(statement.checkpoint_id, block_number, 0, statement.markets[:n], aggregates, t.account_count,
                          t.collateral_wad, t.liabilities_wad, 0, 0, 0)

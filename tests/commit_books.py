"""Random books for the commitment tests: accounts with 0-4 positions, values up to the §3 bounds,
equity >= 0 (collateral raised where needed)."""

from __future__ import annotations

import random

from eth_utils import to_checksum_address

from pymargin import margin
from pymargin.model import (
    COLLATERAL_BOUND,
    COST_BASIS_BOUND,
    FUNDING_INDEX_BOUND,
    PRICE_BOUND,
    SIZE_BOUND,
    WAD,
    Account,
    MarketView,
    Position,
)


def _magnitude(rng: random.Random, bound: int) -> int:
    """A value in [1, bound): log-uniform, sometimes right at the bound."""
    if rng.random() < 0.1:
        return bound - 1 - rng.randrange(3)
    return rng.randrange(1, 2 ** rng.randrange(1, bound.bit_length()))


def random_markets(rng: random.Random, count: int = 4, extreme: bool = False) -> dict[int, MarketView]:
    markets = {}
    for i in range(count):
        price = _magnitude(rng, PRICE_BOUND) if extreme else rng.randrange(10**15, 10**23)
        funding = rng.choice([-1, 1]) * (_magnitude(rng, FUNDING_INDEX_BOUND) if extreme else rng.randrange(10**20))
        mmf = rng.randrange(0, WAD // 5)
        markets[rng.randrange(2**20) if extreme else i] = MarketView(price, funding, mmf + rng.randrange(WAD // 5), mmf)
    return markets


def random_account(rng: random.Random, markets: dict[int, MarketView], extreme: bool = False) -> Account:
    owner = to_checksum_address("0x%040x" % rng.getrandbits(160))
    account = Account(owner, rng.choice([0, 0, 0, 1, 2, 2**63]))
    chosen = rng.sample(sorted(markets), rng.randint(0, min(4, len(markets)))) if account.sub == 0 else \
        rng.sample(sorted(markets), rng.randint(0, 1))
    for m in chosen:
        sign = rng.choice([-1, 1])
        if extreme:
            size = sign * _magnitude(rng, SIZE_BOUND)
            cost = rng.choice([-1, 1]) * _magnitude(rng, COST_BASIS_BOUND // 4)
            f = rng.choice([-1, 1]) * _magnitude(rng, FUNDING_INDEX_BOUND // 2)
        else:
            size = sign * rng.randrange(1, 10**21)
            cost = size * markets[m].price_wad // WAD + rng.randrange(-10**20, 10**20)
            f = markets[m].funding_index_wad - rng.randrange(10**18)
        account.positions[m] = Position(m, size, cost, f)
    positions = list(account.positions.values())
    deficit = -margin.equity(0, positions, markets)
    account.collateral = max(deficit, 0) + rng.randrange(10**24)
    if account.collateral >= COLLATERAL_BOUND:  # an extreme book can need more than collateral allows
        account.positions.clear()
        account.collateral = rng.randrange(COLLATERAL_BOUND)
    return account


def random_book(seed: int, accounts: int, extreme: bool = False) -> tuple[list[Account], dict[int, MarketView]]:
    rng = random.Random(seed)
    markets = random_markets(rng, 6 if extreme else 4, extreme)
    return [random_account(rng, markets, extreme) for _ in range(accounts)], markets


def fast_leaf_hasher(evm):
    """Deploy the leaf's hasher contracts/commit/Poseidon11.sol over its data contracts on ``evm`` (a FastEVM);
    the FastContract."""
    from pymargin.chain.commitments import LEAF_ARITY, wide_poseidon_constants

    data = [evm.deploy(name).address for name in wide_poseidon_constants(LEAF_ARITY)]
    return evm.deploy(f"Poseidon{LEAF_ARITY}", *data)

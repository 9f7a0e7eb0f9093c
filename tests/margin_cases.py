"""Random margin accounts for the parity tests (test helper, not a test module).

An account is ``(collateral, positions, markets)`` as :mod:`pymargin.margin` takes it. Values are
drawn in four regimes so every branch is reached: inside the bounds of spec §3, exactly at them,
a little outside (sums and products overflow int256/uint256), and over the whole int256/uint256
range (casts fail, everything overflows).
"""

from __future__ import annotations

import random

from pymargin.fixedpoint import INT256_MAX, INT256_MIN, UINT256_MAX, WAD
from pymargin.model import (
    COLLATERAL_BOUND,
    COST_BASIS_BOUND,
    FUNDING_INDEX_BOUND,
    PRICE_BOUND,
    SIZE_BOUND,
    MarketView,
    Position,
)

Account = tuple[int, list[Position], dict[int, MarketView]]
REGIMES = ("inside", "at_bounds", "outside", "anything")
N_MARKETS = 12


def _signed(rng: random.Random, bound: int, regime: str) -> int:
    """A signed value for a field bounded by |v| < bound, drawn in ``regime``."""
    sign = rng.choice((1, -1))
    if regime == "inside":
        k = rng.random()
        if k < 0.1:
            return 0
        if k < 0.3:
            return sign * rng.randrange(0, 10**6) * WAD // 1000  # human-sized amounts
        return sign * rng.getrandbits(rng.randrange(1, bound.bit_length()))  # any width below the bound
    if regime == "at_bounds":
        return sign * (bound - 1 - rng.choice((0, 0, 1, 2**20)))
    if regime == "outside":
        return sign * rng.getrandbits(rng.randrange(bound.bit_length(), 256))
    return rng.choice((INT256_MIN, INT256_MAX, rng.randrange(INT256_MIN, INT256_MAX + 1)))


def _unsigned(rng: random.Random, bound: int, regime: str) -> int:
    """An unsigned value for a field bounded by v < bound (or <= 1e18 for fractions), drawn in ``regime``."""
    if regime == "inside":
        return rng.choice((0, 1, rng.randrange(bound), rng.randrange(1, 10**6) * WAD // 100))
    if regime == "at_bounds":
        return bound - 1 - rng.choice((0, 0, 1, 2**20))
    if regime == "outside":
        return rng.getrandbits(rng.randrange(bound.bit_length(), 257))
    return rng.choice((0, UINT256_MAX, rng.getrandbits(256)))


def _fraction(rng: random.Random, regime: str) -> int:
    if regime == "inside":
        return rng.choice((0, WAD, rng.randrange(WAD + 1), rng.choice((5, 10, 20, 50, 100)) * WAD // 1000))
    if regime == "at_bounds":
        return WAD
    return _unsigned(rng, WAD + 1, regime)


def _regime(rng: random.Random, base: str) -> str:
    """The account's regime, with each field occasionally drawn from another one."""
    return base if rng.random() < 0.97 else rng.choice(REGIMES)


def random_account(rng: random.Random, regime: str | None = None, max_positions: int = 6) -> Account:
    """One account: collateral, 0..max_positions positions in distinct markets, and those markets' views."""
    regime = regime or rng.choices(REGIMES, weights=(50, 20, 20, 10))[0]
    n = rng.choice(range(0, max_positions + 1)) if rng.random() < 0.3 else min(4, max_positions)
    market_ids = rng.sample(range(N_MARKETS), min(n, N_MARKETS))
    positions, markets = [], {}
    for market_id in market_ids:
        markets[market_id] = MarketView(
            price_wad=_unsigned(rng, PRICE_BOUND, _regime(rng, regime)) or (1 if regime == "inside" else 0),
            funding_index_wad=_signed(rng, FUNDING_INDEX_BOUND, _regime(rng, regime)),
            imf_wad=_fraction(rng, _regime(rng, regime)),
            mmf_wad=_fraction(rng, _regime(rng, regime)),
        )
        positions.append(
            Position(
                market_id=market_id,
                size=_signed(rng, SIZE_BOUND, _regime(rng, regime)),
                cost_basis=_signed(rng, COST_BASIS_BOUND, _regime(rng, regime)),
                funding_index=_signed(rng, FUNDING_INDEX_BOUND, _regime(rng, regime)),
            )
        )
    collateral = _signed(rng, COLLATERAL_BOUND, _regime(rng, regime))
    if regime == "anything" and rng.random() < 0.3:  # a huge equity over a tiny margin: the ratio overflows
        collateral = rng.choice((INT256_MIN, INT256_MAX)) // rng.choice((1, 2, 1000))
    return collateral, positions, markets


def to_solidity(account: Account) -> tuple[int, list[tuple], list[tuple]]:
    """The account as MarginMath's arguments: collateral, PositionData[], MarketData[] (parallel)."""
    collateral, positions, markets = account
    pos = [(p.market_id, p.size, p.cost_basis, p.funding_index) for p in positions]
    mkt = [
        (m.price_wad, m.funding_index_wad, m.imf_wad, m.mmf_wad)
        for m in (markets[p.market_id] for p in positions)
    ]
    return collateral, pos, mkt

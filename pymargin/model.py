"""The margin book's data: markets, positions, accounts, and the bounds every value stays in.

Scales: every amount is an integer at WAD = 1e18 (sizes in base units, prices and collateral in
quote units, fractions as WAD fractions) unless its name says otherwise. The bounds below are
enforced by the contract (a value outside reverts) and let the circuit prove the same arithmetic
without field wrap-around (every intermediate stays below 2^250 < the BN254 scalar field).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WAD = 10**18

MAX_POSITIONS = 4  # open positions per account (cross or isolated); also the position slots of a leaf
MAX_MARKETS = 4  # markets an engine can ever have; the solvency circuit has a slot for each
SIZE_BOUND = 2**94  # |size| < 2^94 (1.98e10 base units)
PRICE_BOUND = 2**94  # 0 < price < 2^94 (1.98e10 quote units per base unit)
FUNDING_INDEX_BOUND = 2**100  # |cumulative funding index| < 2^100
COST_BASIS_BOUND = 2**130  # |cost basis| < 2^130
COLLATERAL_BOUND = 2**128  # |collateral| < 2^128
FRACTION_BOUND = WAD  # margin fractions, fees and penalties are at most 1 (= WAD)


@dataclass(frozen=True)
class MarketParams:
    """A perpetual market's risk and fee parameters (all fractions are WAD)."""

    market_id: int
    name: str
    imf_wad: int  # initial margin fraction
    mmf_wad: int  # maintenance margin fraction, mmf < imf
    taker_fee_wad: int
    maker_fee_wad: int
    liquidation_penalty_wad: int  # fraction of the liquidated notional charged to the liquidated account
    insurance_share_wad: int  # fraction of the penalty paid to the insurance fund (the rest to the liquidator)
    max_open_interest: int  # cap on total long size (= total short size), WAD base units
    max_price_age_s: int  # an oracle price older than this reverts StalePrice
    price_band_wad: int  # a fill must be within oracle * (1 ± band)
    max_funding_rate_wad: int  # |funding rate| cap, WAD fraction of the price per second


# A deploy config's name for each MarketParams field (docs/deploy.md): a decimal string converted to WAD
# exactly, except max_price_age_s (an integer number of seconds).
CONFIG_PARAM_FIELDS = {
    "imf": "imf_wad", "mmf": "mmf_wad", "taker_fee": "taker_fee_wad", "maker_fee": "maker_fee_wad",
    "liquidation_penalty": "liquidation_penalty_wad", "insurance_share": "insurance_share_wad",
    "max_open_interest": "max_open_interest", "max_price_age_s": "max_price_age_s", "price_band": "price_band_wad",
    "max_funding_rate": "max_funding_rate_wad",
}


def wad_decimal(value_wad: int) -> str:
    """A WAD integer as an exact decimal string ("0.05", "-1.5", "2000"): no exponent, no trailing zeros."""
    sign = "-" if value_wad < 0 else ""
    whole, frac = divmod(abs(value_wad), 10**18)
    return sign + f"{whole}.{frac:018d}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class MarketView:
    """What the margin formulas read of a market: oracle price, cumulative funding index, fractions."""

    price_wad: int  # oracle price, quote per base unit
    funding_index_wad: int  # cumulative funding per base unit, quote (longs pay when it rises)
    imf_wad: int
    mmf_wad: int


@dataclass
class Position:
    """A signed position in one market.

    ``cost_basis`` is the signed quote value paid to open it (long > 0, short < 0); the unrealised
    PnL is size * price - cost_basis. ``funding_index`` is the market's cumulative funding index
    when funding was last settled into collateral.
    """

    market_id: int
    size: int
    cost_basis: int
    funding_index: int


@dataclass
class Account:
    """An account: ``owner`` and sub-account id ``sub`` (0 = cross margin, >= 1 = isolated)."""

    owner: str
    sub: int = 0
    collateral: int = 0
    positions: dict[int, Position] = field(default_factory=dict)  # market_id -> Position, open ones only

    @property
    def account_id(self) -> str:
        """The account's id string, ``<owner>:<sub>``: what commitments hash."""
        return f"{self.owner}:{self.sub}"

    @property
    def is_isolated(self) -> bool:
        return self.sub != 0

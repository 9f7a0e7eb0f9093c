"""Price feeds as the Python engine sees them: mirrors of the devnet oracle and the Chainlink adapter.

A feed answers ``latest_price() -> (price_wad, updated_at)`` exactly as the contract's
``IPriceOracle.latestPrice()`` would, raising the same revert where the contract would revert. The
engine itself checks sign, bound and age (:meth:`pymargin.engine.Engine.market_view`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pymargin.errors import Revert
from pymargin.fixedpoint import Rounding, sdiv_rounded, smul_div


class PriceFeed(Protocol):
    """What the engine reads of an oracle."""

    def latest_price(self) -> tuple[int, int]:
        """(price_wad, updated_at): the price, WAD quote per base unit (signed as reported), and its time in seconds."""


@dataclass
class DevOracle:
    """Mirror of ``contracts/oracles/DevOracle.sol``: a settable price and timestamp (also a snapshot of any feed)."""

    price_wad: int
    updated_at: int

    def set_price(self, price_wad: int, updated_at: int) -> None:
        """Set the price (WAD) and the time it claims to be from."""
        self.price_wad = price_wad
        self.updated_at = updated_at

    def latest_price(self) -> tuple[int, int]:
        return self.price_wad, self.updated_at


def chainlink_price_wad(answer: int, decimals: int) -> int:
    """A Chainlink answer scaled to WAD: answer·10^(18−decimals) exact (MulDivOverflow outside int256),
    or ⌊answer / 10^(decimals−18)⌋ (signed Floor) for feeds with more than 18 decimals."""
    if decimals <= 18:
        return smul_div(answer, 10 ** (18 - decimals), 1, Rounding.Floor)
    return sdiv_rounded(answer, 10 ** (decimals - 18), Rounding.Floor)


@dataclass
class ChainlinkAdapter:
    """Mirror of ``contracts/oracles/ChainlinkAdapter.sol`` over its aggregator's latest round."""

    decimals: int
    answer: int
    updated_at: int

    def set_round(self, answer: int, updated_at: int) -> None:
        """The aggregator's next round: ``answer`` in feed decimals, reported at ``updated_at``."""
        self.answer = answer
        self.updated_at = updated_at

    def latest_price(self) -> tuple[int, int]:
        return chainlink_price_wad(self.answer, self.decimals), self.updated_at


@dataclass
class RevertingFeed:
    """A feed whose ``latestPrice()`` reverts (as found when loading from a chain)."""

    error: Revert

    def latest_price(self) -> tuple[int, int]:
        raise self.error

"""Price feeds as the Python engine sees them: mirrors of the devnet oracle and the Chainlink adapter.

A feed answers ``latest_price(now) -> (price_wad, updated_at)`` exactly as the contract's
``IPriceOracle.latestPrice()`` would in a block at ``now``, raising the same revert where the
contract would revert. The engine itself checks sign, bound and age
(:meth:`pymargin.engine.Engine.market_view`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pymargin.errors import Revert
from pymargin.fixedpoint import Rounding, sdiv_rounded, smul_div


class PriceFeed(Protocol):
    """What the engine reads of an oracle."""

    def latest_price(self, now: int) -> tuple[int, int]:
        """(price_wad, updated_at) at block time ``now``: the price, WAD quote per base unit (signed as
        reported), and its time in seconds."""


@dataclass
class DevOracle:
    """Mirror of ``contracts/oracles/DevOracle.sol``: a settable price and timestamp (also a snapshot of any feed)."""

    price_wad: int
    updated_at: int

    def set_price(self, price_wad: int, updated_at: int) -> None:
        """Set the price (WAD) and the time it claims to be from."""
        self.price_wad = price_wad
        self.updated_at = updated_at

    def latest_price(self, now: int) -> tuple[int, int]:
        return self.price_wad, self.updated_at


def chainlink_price_wad(answer: int, decimals: int) -> int:
    """A Chainlink answer scaled to WAD: answer·10^(18−decimals) exact (MulDivOverflow outside int256),
    or ⌊answer / 10^(decimals−18)⌋ (signed Floor) for feeds with more than 18 decimals."""
    if decimals <= 18:
        return smul_div(answer, 10 ** (18 - decimals), 1, Rounding.Floor)
    return sdiv_rounded(answer, 10 ** (decimals - 18), Rounding.Floor)


@dataclass
class SequencerFeed:
    """An L2 sequencer-uptime feed's latest round: ``status`` (0 up, 1 down) since ``started_at``."""

    status: int
    started_at: int


@dataclass
class ChainlinkAdapter:
    """Mirror of ``contracts/oracles/ChainlinkAdapter.sol`` over its aggregator's latest round (and
    the optional sequencer-uptime feed), with the adapter's immutable settings."""

    decimals: int
    answer: int
    updated_at: int
    max_answer_age_s: int
    round_id: int = 1
    answered_in_round: int = 1
    sequencer: SequencerFeed | None = None
    grace_period_s: int = 0

    def set_round(self, answer: int, updated_at: int) -> None:
        """The aggregator's next round: ``answer`` in feed decimals, reported (and answered) at ``updated_at``."""
        self.round_id += 1
        self.answered_in_round = self.round_id
        self.answer = answer
        self.updated_at = updated_at

    def latest_price(self, now: int) -> tuple[int, int]:
        """The contract's checks in its order (sequencer, answer, round, updatedAt, age), then the scaling."""
        if self.sequencer is not None:
            if self.sequencer.status != 0:
                raise SequencerDown(self.sequencer.status)
            if self.sequencer.started_at == 0 or now <= self.sequencer.started_at + self.grace_period_s:
                raise SequencerGracePeriod(self.sequencer.started_at, now)
        if self.answer <= 0:
            raise NonPositiveAnswer(self.answer)
        if self.answered_in_round < self.round_id:
            raise StaleRound(self.round_id, self.answered_in_round)
        if self.updated_at == 0 or self.updated_at > now:
            raise InvalidUpdatedAt(self.updated_at, now)
        if now - self.updated_at > self.max_answer_age_s:
            raise StaleAnswer(self.updated_at, now, self.max_answer_age_s)
        return chainlink_price_wad(self.answer, self.decimals), self.updated_at


class NonPositiveAnswer(Revert):
    """(answer): the feed's answer is ≤ 0."""


class StaleRound(Revert):
    """(round_id, answered_in_round): the answer was carried over from an earlier round."""


class InvalidUpdatedAt(Revert):
    """(updated_at, now): updatedAt is 0 or in the future."""


class StaleAnswer(Revert):
    """(updated_at, now, max_answer_age_s): the answer is older than the adapter accepts."""


class SequencerDown(Revert):
    """(status): the L2 sequencer-uptime feed reports the sequencer down."""


class SequencerGracePeriod(Revert):
    """(started_at, now): the sequencer restarted less than the grace period ago (or started_at is 0)."""


@dataclass
class RevertingFeed:
    """A feed whose ``latestPrice()`` reverts (as found when loading from a chain)."""

    error: Revert

    def latest_price(self, now: int) -> tuple[int, int]:
        raise self.error

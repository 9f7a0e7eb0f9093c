"""The on-chain book of risk arrays, mirrored: ``contracts/RiskArrayBook.sol`` in Python (spec §4.2).

State and every operation as the contract has them, reverts included. Time and oracle prices are
inputs: each operation takes ``now`` (the block timestamp) and an underlying's oracle is a callable
returning ``(price_wad, updated_at)`` as ``IPriceOracle.latestPrice`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from pymargin import riskarray as ra
from pymargin.engine.errors import OwnableUnauthorizedAccount
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD, Rounding, mul_wad

MAX_PRICE_WAD = 2**128
MAX_TAU_S = 10 * 365 * 86_400
MAX_VOL_WAD = 10 * WAD  # Black-76's domain
Oracle = Callable[[], tuple[int, int]]


class NotKeeper(Revert):
    """The sender is not a keeper."""


class UnknownUnderlying(Revert):
    """No underlying has this id."""


class UnknownSeries(Revert):
    """No series has this id."""


class InvalidUnderlying(Revert):
    """R > WAD, V ≥ WAD, som > WAD or maxPriceAgeS = 0."""


class InvalidSeries(Revert):
    """A perp with a strike or expiry, or an option outside 0 < K ≤ 2^128, now < expiry ≤ now + 10 years."""


class InvalidPrice(Revert):
    """The oracle price is ≤ 0 or above 2^128."""


class StalePrice(Revert):
    """The oracle price is older than the underlying's maxPriceAgeS."""


class SeriesExpired(Revert):
    """A mark update at or after the option's expiry."""


class NotExpired(Revert):
    """Settlement before expiry."""


class NotAnOption(Revert):
    """A perp cannot be settled."""


class AlreadySettled(Revert):
    """The option is settled already."""


class PriceBeforeExpiry(Revert):
    """The oracle price is from before expiry."""


class NotMarked(Revert):
    """The series has no risk array yet."""


class StaleMark(Revert):
    """The series' mark is older than its underlying's max_price_age_s."""


class VolOutOfBounds(Revert):
    """The posted implied vol is outside the underlying's [min_vol_wad, max_vol_wad]."""


@dataclass
class Underlying:
    oracle: Oracle
    price_range_wad: int
    vol_range_wad: int
    som_fraction_wad: int
    max_price_age_s: int
    min_vol_wad: int
    max_vol_wad: int


@dataclass
class Series:
    underlying_id: int
    kind: ra.InstrumentKind
    strike_wad: int
    expiry: int
    price_wad: int = 0
    vol_wad: int = 0
    marked_at: int = 0
    payoff_wad: int = 0
    settled: bool = False
    risk_array: list[int] = field(default_factory=lambda: [0] * ra.SCENARIO_COUNT)


class RiskArrayBook:
    """Reference of ``RiskArrayBook.sol``: the same state, operations, views and reverts."""

    def __init__(self, owner: str, im_multiple_wad: int):
        if im_multiple_wad < WAD:
            raise ra.InitialMultipleBelowOne(im_multiple_wad)
        self.owner = owner
        self.im_multiple_wad = im_multiple_wad
        self.keepers: set[str] = set()
        self.underlyings: list[Underlying] = []
        self.series: list[Series] = []
        self.settlement_price: dict[tuple[int, int], int] = {}  # (underlying id, expiry) -> price, fixed by the first settle

    def _only_owner(self, sender: str) -> None:
        if sender != self.owner:
            raise OwnableUnauthorizedAccount(sender)

    def set_keeper(self, sender: str, account: str, allowed: bool) -> None:
        self._only_owner(sender)
        (self.keepers.add if allowed else self.keepers.discard)(account)

    def add_underlying(
        self, sender: str, oracle: Oracle, price_range_wad: int, vol_range_wad: int, som_fraction_wad: int,
        max_price_age_s: int, min_vol_wad: int, max_vol_wad: int,
    ) -> int:
        """InvalidUnderlying unless R ≤ WAD, V < WAD, som ≤ WAD, max age > 0, min vol ≤ max vol and
        ⌊max vol·(WAD + V)/WAD⌋ ≤ 10 WAD."""
        self._only_owner(sender)
        if (
            price_range_wad > WAD or vol_range_wad >= WAD or som_fraction_wad > WAD or max_price_age_s == 0
            or min_vol_wad > max_vol_wad or max_vol_wad > MAX_VOL_WAD
            or mul_wad(max_vol_wad, WAD + vol_range_wad, Rounding.Floor) > MAX_VOL_WAD
        ):
            raise InvalidUnderlying()
        self.underlyings.append(
            Underlying(oracle, price_range_wad, vol_range_wad, som_fraction_wad, max_price_age_s, min_vol_wad, max_vol_wad)
        )
        return len(self.underlyings) - 1

    def add_series(self, sender: str, now: int, underlying_id: int, kind: ra.InstrumentKind, strike_wad: int, expiry: int) -> int:
        self._only_owner(sender)
        if underlying_id >= len(self.underlyings):
            raise UnknownUnderlying(underlying_id)
        kind = ra.InstrumentKind(kind)
        if kind == ra.InstrumentKind.Perp:
            valid = strike_wad == 0 and expiry == 0
        else:
            valid = 0 < strike_wad <= MAX_PRICE_WAD and now < expiry and expiry - now <= MAX_TAU_S
        if not valid:
            raise InvalidSeries()
        self.series.append(Series(underlying_id, kind, strike_wad, expiry))
        return len(self.series) - 1

    def _series_at(self, series_id: int) -> Series:
        if series_id >= len(self.series):
            raise UnknownSeries(series_id)
        return self.series[series_id]

    def _price(self, underlying_id: int, now: int) -> tuple[int, int]:
        price, updated_at = self.underlyings[underlying_id].oracle()
        if price <= 0 or price > MAX_PRICE_WAD:
            raise InvalidPrice(underlying_id, price)
        if now > updated_at and now - updated_at > self.underlyings[underlying_id].max_price_age_s:
            raise StalePrice(underlying_id, updated_at, now)
        return price, updated_at

    def update_mark(self, sender: str, now: int, series_id: int, vol_wad: int) -> list[int]:
        """Keeper: the risk array at the oracle price and ``vol_wad``, τ = expiry − now; stored and returned."""
        if sender not in self.keepers:
            raise NotKeeper(sender)
        s = self._series_at(series_id)
        option = s.kind != ra.InstrumentKind.Perp
        if option and now >= s.expiry:
            raise SeriesExpired(series_id, s.expiry)
        u = self.underlyings[s.underlying_id]
        if not u.min_vol_wad <= vol_wad <= u.max_vol_wad:
            raise VolOutOfBounds(series_id, vol_wad)
        price, _ = self._price(s.underlying_id, now)
        tau = s.expiry - now if option else 0
        s.risk_array = ra.risk_array(s.kind, s.strike_wad, tau, price, vol_wad, u.price_range_wad, u.vol_range_wad)
        s.price_wad, s.vol_wad, s.marked_at = price, vol_wad, now
        return s.risk_array

    def settle(self, now: int, series_id: int) -> int:
        """Anyone, at or after expiry: settle at the (underlying, expiry)'s settlement price, fixed by the
        first settle among its options at the oracle price (as of expiry or later); returns the payoff per long unit."""
        s = self._series_at(series_id)
        if s.kind == ra.InstrumentKind.Perp:
            raise NotAnOption(series_id)
        if s.settled:
            raise AlreadySettled(series_id)
        if now < s.expiry:
            raise NotExpired(series_id, s.expiry)
        price = self.settlement_price.get((s.underlying_id, s.expiry), 0)
        if price == 0:
            price, updated_at = self._price(s.underlying_id, now)
            if updated_at < s.expiry:
                raise PriceBeforeExpiry(series_id, updated_at, s.expiry)
            self.settlement_price[(s.underlying_id, s.expiry)] = price
        diff = price - s.strike_wad if s.kind == ra.InstrumentKind.Call else s.strike_wad - price
        s.settled, s.payoff_wad = True, max(diff, 0)
        return s.payoff_wad

    def _marked(self, series_id: int, now: int) -> Series:
        s = self._series_at(series_id)
        if s.marked_at == 0:
            raise NotMarked(series_id)
        if now - s.marked_at > self.underlyings[s.underlying_id].max_price_age_s:
            raise StaleMark(series_id, s.marked_at, now)
        return s

    def maintenance_margin(self, now: int, series_ids: list[int], sizes_wad: list[int]) -> int:
        """Σ over underlyings (first appearance order) of riskarray.maintenance_margin of their
        positions; every series marked within its underlying's max_price_age_s of ``now``."""
        if len(series_ids) != len(sizes_wad):
            raise ra.LengthMismatch()
        total = 0
        for i, sid in enumerate(series_ids):
            uid = self._marked(sid, now).underlying_id
            group = [j for j in range(len(series_ids)) if self._marked(series_ids[j], now).underlying_id == uid]
            if group[0] < i:
                continue
            u = self.underlyings[uid]
            members = [self.series[series_ids[j]] for j in group]
            total += ra.maintenance_margin(
                [sizes_wad[j] for j in group],
                [s.risk_array for s in members],
                [ra.short_option_minimum(s.kind, s.price_wad, u.som_fraction_wad) for s in members],
            )
        return total

    def initial_margin(self, now: int, series_ids: list[int], sizes_wad: list[int]) -> int:
        """⌈maintenance · im_multiple / WAD⌉."""
        return mul_wad(self.maintenance_margin(now, series_ids, sizes_wad), self.im_multiple_wad, Rounding.Ceil)

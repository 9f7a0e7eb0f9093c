"""The options module, mirrored: ``contracts/OptionsEngine.sol`` in Python, exact (spec §5.13).

Option series of a :class:`pymargin.riskbook.RiskArrayBook` traded between the cross accounts (sub 0)
of an :class:`pymargin.engine.core.Engine`: fills of two signed orders (the engine's ``Order``, this
module's EIP-712 domain, ``market_id`` = the series id) move the premium between the accounts; once
the book has settled a series, anyone settles a position for size × payoff; anyone with a cross account
liquidates an option position of an account below maintenance margin at the mark value. Same checks in the same
order, same errors and events; ``engine.now`` is the block time. An operation that raises leaves the
module and the engine exactly as they were and otherwise returns the module's events.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from eth_utils import to_checksum_address

from pymargin import black76
from pymargin import riskarray as ra
from pymargin.engine import errors as E
from pymargin.engine.core import Engine, Event, _increases_risk, _long_part, _order, _swap_pop
from pymargin.engine.options_checkpoint import OptionsCheckpointData, SeriesSnapshot, options_checkpoint_digest
from pymargin.engine.orders import Order, order_digest, recover_signer
from pymargin.errors import Revert
from pymargin.fixedpoint import WAD, Rounding, mul_div, mul_wad, round_div, sdiv_rounded
from pymargin.riskbook import RiskArrayBook, Series

DOMAIN_NAME = "pymargin OptionsEngine"
MAX_OPTION_POSITIONS = 4
SIZE_BOUND = 2**94
PREMIUM_BOUND = 2**94


class InvalidPerpSeries(Revert):
    """(market_id, series_id): the series is not a perp on the market's oracle, or the market is mapped."""


class UnmappedMarket(Revert):
    """(market_id): the engine market has no perp series in the book."""


class NotAnOption(Revert):
    """(series_id): a perp series cannot be traded here."""


class SeriesExpired(Revert):
    """(series_id, expiry): a fill at or after expiry."""


class NotMarked(Revert):
    """(series_id): the series has no mark yet."""


class NotSettled(Revert):
    """(series_id): the book has not settled the series."""


class CrossAccountOnly(Revert):
    """(sub): options live in cross accounts (sub 0) only."""


class NotKeeper(Revert):
    """(account): a checkpoint by neither an operator of the module nor a keeper of the book."""


class InvalidLiquidationParams(Revert):
    """(penalty_wad, insurance_share_wad): a liquidation fraction above WAD."""


class PremiumOutsideBand(Revert):
    """(series_id, premium_wad, value_wad): the premium is ≥ 2^94 or further than the band from the mark value."""


@dataclass
class OptionsState:
    """Everything the contract stores."""

    owner: str
    operators: set[str] = field(default_factory=set)
    perp_series: dict[int, int] = field(default_factory=dict)  # engine market id -> book perp series id
    series_ids: dict[str, list[int]] = field(default_factory=dict)  # owner -> open series, opening order
    sizes: dict[tuple[str, int], int] = field(default_factory=dict)  # (owner, series id) -> size (non-zero)
    open_interest: dict[int, int] = field(default_factory=dict)  # series id -> Σ max(size, 0)
    short_interest: dict[int, int] = field(default_factory=dict)  # series id -> Σ max(−size, 0)
    settlement_dust_wad2: int = 0
    filled: dict[bytes, int] = field(default_factory=dict)
    cancelled: set[bytes] = field(default_factory=set)
    min_nonces: dict[str, int] = field(default_factory=dict)
    checkpoints: list[tuple[bytes, int, int]] = field(default_factory=list)  # (digest, block number, open positions) of id = index + 1
    checkpoint_of_engine: dict[int, int] = field(default_factory=dict)  # engine checkpoint id -> options checkpoint id
    liquidation_penalty_wad: int = WAD // 50  # fraction of the underlying notional |size|·mark price
    insurance_share_wad: int = WAD // 2  # fraction of a liquidation penalty paid to the insurance fund


def _operation(fn: Callable[..., None]) -> Callable[..., list[Event]]:
    """Run as one transaction from ``sender``: the module's and the engine's state all or nothing."""

    @functools.wraps(fn)
    def run(self: "OptionsEngine", sender: str, *args: Any) -> list[Event]:
        saved = copy.deepcopy((self.state, self.engine.state))
        self._events, self.engine._events = [], []
        try:
            fn(self, to_checksum_address(sender), *args)
        except BaseException:
            self.state, self.engine.state = saved
            raise
        return self._events

    return run


def mark_value(s: Series) -> int:
    """A series' value per long unit: its payoff once settled, else Black-76 at its mark (price, vol,
    τ = expiry − marked_at, rate 0; Floor), 0 while unmarked (WAD quote)."""
    if s.settled:
        return s.payoff_wad
    if s.marked_at == 0:
        return 0
    kind = black76.OptionKind.Call if s.kind == ra.InstrumentKind.Call else black76.OptionKind.Put
    return black76.price(kind, s.price_wad, s.strike_wad, s.vol_wad, s.expiry - s.marked_at, 0)


class OptionsEngine:
    """Reference of ``OptionsEngine.sol`` over an engine mirror and a book mirror. A book underlying's
    oracle callable may carry an ``address`` attribute (the oracle contract's), read by ``map_perp``."""

    def __init__(self, engine: Engine, book: RiskArrayBook, premium_band_wad: int, owner: str, *, address: str):
        self.engine, self.book = engine, book
        self.premium_band_wad = premium_band_wad
        self.address = to_checksum_address(address)
        self.state = OptionsState(owner=to_checksum_address(owner))
        self._events: list[Event] = []

    def _emit(self, event: str, /, **args: Any) -> None:
        self._events.append((event, args))

    @property
    def last_events(self) -> list[Event]:
        """The module's events of the last operation (its return value, also for ``checkpoint``)."""
        return self._events

    @property
    def now(self) -> int:
        return self.engine.now

    # -- owner -------------------------------------------------------------------------------------

    def _only_owner(self, sender: str) -> None:
        if sender != self.state.owner:
            raise E.OwnableUnauthorizedAccount(sender)

    @_operation
    def set_operator(self, sender: str, account: str, allowed: bool) -> None:
        self._only_owner(sender)
        account = to_checksum_address(account)
        (self.state.operators.add if allowed else self.state.operators.discard)(account)
        self._emit("OperatorSet", account=account, allowed=allowed)

    @_operation
    def set_liquidation_params(self, sender: str, penalty_wad: int, share_wad: int) -> None:
        """Set the liquidation penalty fraction and the insurance share (each ≤ WAD, else
        InvalidLiquidationParams)."""
        self._only_owner(sender)
        if penalty_wad > WAD or share_wad > WAD:
            raise InvalidLiquidationParams(penalty_wad, share_wad)
        self.state.liquidation_penalty_wad, self.state.insurance_share_wad = penalty_wad, share_wad
        self._emit("LiquidationParamsSet", penaltyWad=penalty_wad, insuranceShareWad=share_wad)

    @_operation
    def map_perp(self, sender: str, market_id: int, series_id: int) -> None:
        """Map an engine market to the book's perp series on its oracle, once (InvalidPerpSeries)."""
        self._only_owner(sender)
        oracle = self.engine._market(market_id).oracle
        s = self.book._series_at(series_id)
        book_oracle = getattr(self.book.underlyings[s.underlying_id].oracle, "address", None)
        if (market_id in self.state.perp_series or s.kind != ra.InstrumentKind.Perp
                or book_oracle is None or to_checksum_address(book_oracle) != oracle):
            raise InvalidPerpSeries(market_id, series_id)
        self.state.perp_series[market_id] = series_id
        self._emit("PerpMapped", marketId=market_id, seriesId=series_id)

    # -- operator: fills -----------------------------------------------------------------------------

    @_operation
    def trade(self, sender: str, taker: Order, taker_sig: bytes, maker: Order, maker_sig: bytes, size_wad: int,
              premium_wad: int) -> None:
        """Operator: fill two signed orders in series ``taker.market_id`` at ``premium_wad`` per unit."""
        if sender not in self.state.operators:
            raise E.NotOperator(sender)
        taker, maker = _order(taker), _order(maker)
        series_id = taker.market_id
        s = self.book._series_at(series_id)
        if s.kind == ra.InstrumentKind.Perp:
            raise NotAnOption(series_id)
        if self.now >= s.expiry:
            raise SeriesExpired(series_id, s.expiry)
        if size_wad == 0 or not -SIZE_BOUND < size_wad < SIZE_BOUND:
            raise E.SizeOutOfBounds(size_wad)
        if taker.owner == maker.owner:
            raise E.SelfTrade(taker.owner, taker.sub)
        if maker.market_id != series_id:
            raise E.MarketMismatch(series_id, maker.market_id)
        for order in (taker, maker):
            if order.sub != 0:
                raise CrossAccountOnly(order.sub)
        self._check_order(taker, bytes(taker_sig), size_wad, premium_wad)
        self._check_order(maker, bytes(maker_sig), -size_wad, premium_wad)
        self._fill_both(series_id, s, taker.owner, maker.owner, size_wad, premium_wad)

    @_operation
    def cancel_order(self, sender: str, order: Order) -> None:
        order = _order(order)
        if sender != order.owner:
            raise E.NotOrderOwner(sender, order.owner)
        digest = self.order_digest(order)
        self.state.cancelled.add(digest)
        self._emit("OrderCancelled", digest=digest, owner=sender)

    @_operation
    def cancel_orders_below(self, sender: str, nonce: int) -> None:
        current = self.state.min_nonces.get(sender, 0)
        if nonce <= current:
            raise E.NonceNotIncreasing(current, nonce)
        self.state.min_nonces[sender] = nonce
        self._emit("MinNonceRaised", owner=sender, minNonce=nonce)

    # -- anyone: expiry ------------------------------------------------------------------------------

    @_operation
    def settle(self, sender: str, owner: str, series_id: int) -> None:
        """Settle owner's position in a settled series: the account gets ⌊size·payoff / WAD⌋ (signed
        Floor); the remainder joins the dust, whose whole WADs go to the engine's fees."""
        owner = to_checksum_address(owner)
        size = self.state.sizes.get((owner, series_id), 0)
        if size == 0:
            raise E.NoPosition(owner, 0, series_id)
        s = self.book._series_at(series_id)
        if not s.settled:
            raise NotSettled(series_id)
        x = size * s.payoff_wad
        amount = sdiv_rounded(x, WAD, Rounding.Floor)
        dust = self.state.settlement_dust_wad2 + (x - amount * WAD)
        self.state.settlement_dust_wad2 = dust % WAD
        self._set_size(owner, series_id, size, 0)
        self.engine._adjust_collateral(owner, amount, dust // WAD)
        self._emit("OptionSettled", owner=owner, seriesId=series_id, sizeWad=size, payoffWad=s.payoff_wad,
                   amountWad=amount, feeWad=dust // WAD)

    # -- keepers: checkpoint ----------------------------------------------------------------------------

    def checkpoint(self, sender: str) -> OptionsCheckpointData:
        """Operator of the module or keeper of the book: an engine checkpoint (from the module's address, which
        needs the engine's keeper role) and the options book recorded in the same transaction (digest and block
        stored, OptionsCheckpointTaken emitted); return the OptionsCheckpointData. All or nothing."""
        events = self._checkpoint(sender)
        return OptionsCheckpointData.from_abi(events[-1][1]["data"])

    @_operation
    def _checkpoint(self, sender: str) -> None:
        if sender not in self.state.operators and sender not in self.book.keepers:
            raise NotKeeper(sender)
        self.engine._checkpoint(self.address)
        engine_id = len(self.engine.state.checkpoints)
        perps = tuple(sorted(self.state.perp_series.items()))
        data = OptionsCheckpointData(engine_id, self.engine.block_number, self.now, self._series_snapshots(), perps,
                                     self.book.im_multiple_wad)
        self.state.checkpoints.append((options_checkpoint_digest(data), self.engine.block_number, self.open_position_count()))
        checkpoint_id = len(self.state.checkpoints)
        self.state.checkpoint_of_engine[engine_id] = checkpoint_id
        self._emit("OptionsCheckpointTaken", id=checkpoint_id, engineCheckpointId=engine_id, data=data.to_abi())

    def _series_snapshots(self) -> tuple[SeriesSnapshot, ...]:
        """Every series of the book by id, but the settled ones without positions."""
        out = []
        for sid, s in enumerate(self.book.series):
            long, short = self.open_interest(sid), self.short_interest(sid)
            if s.settled and long == 0 and short == 0:
                continue
            option = s.kind != ra.InstrumentKind.Perp
            som_fraction = self.book.underlyings[s.underlying_id].som_fraction_wad
            out.append(SeriesSnapshot(
                sid, s.underlying_id, ra.InstrumentKind(s.kind), s.strike_wad, s.expiry, s.price_wad, s.vol_wad,
                s.marked_at, tuple(s.risk_array), ra.short_option_minimum(s.kind, s.price_wad, som_fraction),
                mark_value(s) if option else 0, s.settled, long, short))
        return tuple(out)

    # -- anyone: liquidation -------------------------------------------------------------------------

    @_operation
    def liquidate(self, sender: str, owner: str, series_id: int, size_wad: int) -> None:
        """The sender's cross account takes over ``size_wad`` of owner's position (same sign, |size| ≤
        |position|) at the mark value while owner's equity < maintenance margin; owner pays the capped
        penalty (spec §5.13 Liquidation; the order of checks is the contract's)."""
        if self.engine.state.paused:
            raise E.EnforcedPause()
        s = self.book._series_at(series_id)
        if s.kind == ra.InstrumentKind.Perp:
            raise NotAnOption(series_id)
        if self.now >= s.expiry:
            raise SeriesExpired(series_id, s.expiry)
        owner = to_checksum_address(owner)
        if sender == owner:
            raise E.SelfLiquidation(owner, 0)
        if (sender, 0) not in self.engine.state.accounts:
            raise E.UnknownAccount(sender, 0)
        position_old = self.state.sizes.get((owner, series_id), 0)
        if position_old == 0:
            raise E.NoPosition(owner, 0, series_id)
        if size_wad == 0 or (size_wad > 0) != (position_old > 0) or abs(size_wad) > abs(position_old):
            raise E.InvalidLiquidationSize(size_wad, position_old)
        eq, mm = self._accrued_health(owner)
        if eq >= mm:
            raise E.NotLiquidatable(owner, 0, eq, mm)
        self._liquidate_transfer(sender, owner, series_id, s, position_old, size_wad)

    # -- views ---------------------------------------------------------------------------------------

    def perp_series(self, market_id: int) -> int:
        if market_id not in self.state.perp_series:
            raise UnmappedMarket(market_id)
        return self.state.perp_series[market_id]

    def option_series(self, owner: str) -> list[int]:
        return list(self.state.series_ids.get(to_checksum_address(owner), []))

    def option_size(self, owner: str, series_id: int) -> int:
        return self.state.sizes.get((to_checksum_address(owner), series_id), 0)

    def open_interest(self, series_id: int) -> int:
        return self.state.open_interest.get(series_id, 0)

    def short_interest(self, series_id: int) -> int:
        return self.state.short_interest.get(series_id, 0)

    def options_checkpoint_count(self) -> int:
        return len(self.state.checkpoints)

    def options_checkpoint_hash(self, checkpoint_id: int) -> bytes:
        """keccak256(abi.encode(data)) of options checkpoint ``checkpoint_id``; UnknownCheckpoint outside 1 .. count."""
        return self.state.checkpoints[self._checkpoint_index(checkpoint_id)][0]

    def options_checkpoint_block(self, checkpoint_id: int) -> int:
        return self.state.checkpoints[self._checkpoint_index(checkpoint_id)][1]

    def options_checkpoint_position_count(self, checkpoint_id: int) -> int:
        """Open option positions at options checkpoint ``checkpoint_id`` (0: a perp-only statement covers its book)."""
        return self.state.checkpoints[self._checkpoint_index(checkpoint_id)][2]

    def open_position_count(self) -> int:
        """Open option positions (owner, series) with a non-zero size."""
        return len(self.state.sizes)

    def options_checkpoint_of(self, engine_checkpoint_id: int) -> int:
        """The options checkpoint taken with engine checkpoint ``engine_checkpoint_id``; UnknownCheckpoint if none."""
        if engine_checkpoint_id not in self.state.checkpoint_of_engine:
            raise E.UnknownCheckpoint(engine_checkpoint_id)
        return self.state.checkpoint_of_engine[engine_checkpoint_id]

    def _checkpoint_index(self, checkpoint_id: int) -> int:
        if not 1 <= checkpoint_id <= len(self.state.checkpoints):
            raise E.UnknownCheckpoint(checkpoint_id)
        return checkpoint_id - 1

    def order_digest(self, order: Order) -> bytes:
        return order_digest(_order(order), self.engine.state.chain_id, self.address, name=DOMAIN_NAME)

    def portfolio_margin(self, owner: str, perps: list) -> tuple[bool, int, int, int]:
        """(holds options, ⌊Σ size·mark value / WAD⌋, ⌈MM·imMultiple / WAD⌉, MM) with MM the book's
        maintenance margin over the perps' series then the unsettled options (spec §5.13)."""
        ids = self.state.series_ids.get(owner, [])
        if not ids:
            return False, 0, 0, 0
        series_ids = [self.perp_series(p.market_id) for p in perps]
        sizes = [p.size for p in perps]
        value = 0
        for sid in ids:
            s = self.book._series_at(sid)
            size = self.state.sizes[(owner, sid)]
            value += size * mark_value(s)
            if not s.settled:
                series_ids.append(sid)
                sizes.append(size)
        mm = self.book.maintenance_margin(self.now, series_ids, sizes)
        im = mul_wad(mm, self.book.im_multiple_wad, Rounding.Ceil)
        return True, sdiv_rounded(value, WAD, Rounding.Floor), im, mm

    # -- internals (each mirrors the contract's function of the same name) -----------------------------

    def _fill_both(self, series_id: int, s: Series, taker: str, maker: str, size_wad: int, premium_wad: int) -> None:
        taker_old = self.state.sizes.get((taker, series_id), 0)
        maker_old = self.state.sizes.get((maker, series_id), 0)
        taker_up = _increases_risk(taker_old, taker_old + size_wad)
        maker_up = _increases_risk(maker_old, maker_old - size_wad)
        if (taker_up or maker_up) and self.engine.state.paused:
            raise E.EnforcedPause()
        self._check_band(series_id, s, premium_wad)
        taker_before = self._accrued_health(taker)
        maker_before = self._accrued_health(maker)
        self._set_size(taker, series_id, taker_old, taker_old + size_wad)
        self._set_size(maker, series_id, maker_old, maker_old - size_wad)
        notional = abs(size_wad) * premium_wad
        paid = round_div(notional, WAD, Rounding.Ceil)
        received = notional // WAD
        buyer, seller = (taker, maker) if size_wad > 0 else (maker, taker)
        self.engine._adjust_collateral(buyer, -paid, paid - received)
        self.engine._adjust_collateral(seller, received, 0)
        self._check_fill_health(taker, taker_up, taker_before)
        self._check_fill_health(maker, maker_up, maker_before)
        self._emit("OptionTraded", seriesId=series_id, takerOwner=taker, makerOwner=maker, sizeWad=size_wad,
                   premiumWad=premium_wad, paidWad=paid, receivedWad=received)

    def _liquidate_transfer(self, sender: str, owner: str, series_id: int, s: Series, position_old: int,
                            size_wad: int) -> None:
        """The transfer at the mark value, the capped penalty and the checks after it (see liquidate)."""
        liquidator_old = self.state.sizes.get((sender, series_id), 0)
        self._set_size(owner, series_id, position_old, position_old - size_wad)
        self._set_size(sender, series_id, liquidator_old, liquidator_old + size_wad)
        value = mark_value(s)
        paid = round_div(abs(size_wad) * value, WAD, Rounding.Ceil)
        received = abs(size_wad) * value // WAD
        buyer, seller = (sender, owner) if size_wad > 0 else (owner, sender)
        self.engine._adjust_collateral(buyer, -paid, paid - received)
        self.engine._adjust_collateral(seller, received, 0)
        penalty = mul_div(abs(size_wad) * s.price_wad, self.state.liquidation_penalty_wad, WAD * WAD, Rounding.Ceil)
        eq = self.engine.margins(owner, 0)[0]
        penalty = 0 if eq <= 0 else min(penalty, eq)
        insurance = mul_div(penalty, self.state.insurance_share_wad, WAD, Rounding.Floor)
        self.engine._adjust_collateral(owner, -penalty, 0)
        self.engine._adjust_collateral(sender, penalty - insurance, 0)
        self.engine._credit_insurance(insurance)
        if position_old != size_wad:
            eq, _, mm = self.engine.margins(owner, 0)
            if eq < mm:
                raise E.LiquidationTooSmall(owner, 0, eq, mm)
        self._require_initial_margin(sender)
        self._emit("OptionLiquidated", seriesId=series_id, owner=owner, liquidator=sender, sizeWad=size_wad,
                   valueWad=value, paidWad=paid, receivedWad=received, penaltyWad=penalty, insuranceWad=insurance)

    def _require_initial_margin(self, owner: str) -> None:
        self.engine._accrue_all(owner, 0)
        eq, im, _ = self.engine.margins(owner, 0)
        if eq < im:
            raise E.InsufficientMargin(owner, 0, eq, im)

    def _check_band(self, series_id: int, s: Series, premium_wad: int) -> None:
        if s.marked_at == 0:
            raise NotMarked(series_id)
        value = mark_value(s)
        if premium_wad >= PREMIUM_BOUND or abs(premium_wad - value) * WAD > self.premium_band_wad * s.price_wad:
            raise PremiumOutsideBand(series_id, premium_wad, value)

    def _accrued_health(self, owner: str) -> tuple[int, int]:
        self.engine._accrue_all(owner, 0)
        eq, _, mm = self.engine.margins(owner, 0)
        return eq, mm

    def _check_fill_health(self, owner: str, risk_grew: bool, before: tuple[int, int]) -> None:
        eq, im, mm = self.engine.margins(owner, 0)
        if eq >= im:
            return
        if risk_grew:
            raise E.InsufficientMargin(owner, 0, eq, im)
        if eq < 0:
            raise E.NegativeEquity(owner, 0, eq)
        eq0, mm0 = before
        if eq0 > 0 and (mm0 == 0 or eq < mul_div(eq0, mm, mm0, Rounding.Ceil)):
            raise E.MarginHealthDecreased(owner, 0, eq0, mm0, eq, mm)

    def _set_size(self, owner: str, series_id: int, old: int, new: int) -> None:
        """The one position write (opens, closes, keeps the series aggregates)."""
        ids = self.state.series_ids.setdefault(owner, [])
        if old == 0:
            if len(ids) >= MAX_OPTION_POSITIONS:
                raise E.TooManyPositions(owner, 0, MAX_OPTION_POSITIONS)
            ids.append(series_id)
        elif new == 0:
            _swap_pop(ids, series_id)
        if new == 0:
            self.state.sizes.pop((owner, series_id), None)
        else:
            self.state.sizes[(owner, series_id)] = new
        self._aggregate(series_id, old, new)

    def _aggregate(self, series_id: int, old: int, new: int) -> None:
        st = self.state
        st.open_interest[series_id] = self.open_interest(series_id) + _long_part(new) - _long_part(old)
        st.short_interest[series_id] = self.short_interest(series_id) + _long_part(-new) - _long_part(-old)

    def _check_order(self, order: Order, sig: bytes, fill_wad: int, price_wad: int) -> None:
        """The engine's order checks without the fee check; then its filled size grows by |fill|."""
        digest = self.order_digest(order)
        wallet = self.engine.wallets.get(order.owner)
        valid = bool(wallet(digest, sig)) if wallet is not None else recover_signer(digest, sig) == order.owner
        if not valid:
            raise E.InvalidSignature(order.owner, digest)
        if digest in self.state.cancelled:
            raise E.CancelledOrder(digest)
        floor_nonce = self.state.min_nonces.get(order.owner, 0)
        if order.nonce < floor_nonce:
            raise E.NonceTooLow(digest, order.nonce, floor_nonce)
        if self.now > order.expiry:
            raise E.OrderExpired(digest, order.expiry, self.now)
        if order.size_wad == 0 or (order.size_wad > 0) != (fill_wad > 0):
            raise E.WrongSide(digest, order.size_wad, fill_wad)
        fill, full = abs(fill_wad), abs(order.size_wad)
        filled = self.state.filled.get(digest, 0)
        if fill > full - filled:
            raise E.OrderOverfill(digest, filled, fill, full)
        if price_wad > order.limit_price_wad if order.size_wad > 0 else price_wad < order.limit_price_wad:
            raise E.LimitPriceExceeded(digest, price_wad, order.limit_price_wad)
        self.state.filled[digest] = filled + fill
        self._emit("OrderFilled", digest=digest, owner=order.owner, fillWad=fill, filledWad=filled + fill)

    def conserved_value_wad2(self) -> int:
        """Σ collateral·WAD + (fees + insurance − bad debt)·WAD + dust + Σ size·payoff over open positions
        in settled series (WAD²): what premiums, liquidations and settlements leave unchanged (spec §5.13)."""
        s = self.engine.state
        total = (s.collateral_sum_wad + s.accrued_fees + s.insurance_fund - s.bad_debt) * WAD
        total += self.state.settlement_dust_wad2
        for (_, sid), size in self.state.sizes.items():
            series = self.book.series[sid]
            if series.settled:
                total += size * series.payoff_wad
        return total


__all__ = ["OptionsEngine", "OptionsState", "mark_value", "DOMAIN_NAME"]

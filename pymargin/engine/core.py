"""The reference margin engine: ``contracts/MarginEngine.sol`` as a Python state machine, exact.

Same operations (snake_case twins), same order of checks, same custom errors with the same
arguments, same events; every formula comes from :mod:`pymargin.margin` and every division from
:mod:`pymargin.fixedpoint`. ``engine.now`` plays ``block.timestamp``: set it before each operation
and view. An operation that raises leaves the state exactly as it was (like a reverted
transaction) and otherwise returns its events, a list of ``(event name, {arg: value})``.

Units as in the contract: sizes WAD base units, prices WAD quote per base unit, collateral and
``*_wad`` amounts WAD quote, ``*_tokens`` amounts token units, fractions WAD, times seconds.
``engine.block_number`` plays ``block.number`` (read by ``checkpoint`` only).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

from eth_utils import to_checksum_address

from pymargin import margin
from pymargin.engine import errors as E
from pymargin.engine.checkpoint import CheckpointData, MarketAggregate, checkpoint_digest
from pymargin.engine.oracles import PriceFeed
from pymargin.engine.orders import DOMAIN_NAME, DOMAIN_VERSION, Order, order_digest, recover_signer
from pymargin.errors import ARITHMETIC_OVERFLOW, Panic, UserError
from pymargin.fixedpoint import WAD, Rounding, mul_div, smul_div
from pymargin.model import (
    COLLATERAL_BOUND,
    FUNDING_INDEX_BOUND,
    MAX_MARKETS,
    MAX_POSITIONS,
    PRICE_BOUND,
    SIZE_BOUND,
    Account,
    MarketParams,
    MarketView,
    Position,
)

WAD2 = WAD * WAD
MAX_FUNDING_RATE_WAD = 10**13  # cap on any market's max_funding_rate_wad (spec §5.4)
AMOUNT_BOUND = 2**128  # token and WAD amounts of one operation
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
INDEX_OUT_OF_BOUNDS_PANIC = 0x32
INT256_MAX = 2**255 - 1

Event = tuple[str, dict[str, Any]]


class RiskParams(NamedTuple):
    """The contract's ``MarketParams`` struct, field for field (all fractions WAD)."""

    imf_wad: int
    mmf_wad: int
    taker_fee_wad: int
    maker_fee_wad: int
    liquidation_penalty_wad: int
    insurance_share_wad: int
    max_open_interest: int
    max_price_age_s: int
    price_band_wad: int
    max_funding_rate_wad: int


RISK_PARAM_FIELDS = (
    "imfWad", "mmfWad", "takerFeeWad", "makerFeeWad", "liquidationPenaltyWad", "insuranceShareWad",
    "maxOpenInterest", "maxPriceAgeS", "priceBandWad", "maxFundingRateWad",
)  # the Solidity names, in order (InvalidMarketParams carries one of them)


@dataclass
class MarketState:
    """A market's stored state (``Market`` in the contract)."""

    oracle: str
    name: str
    params: RiskParams
    funding_rate_wad: int = 0
    funding_index_wad: int = 0
    last_funding_time: int = 0
    open_interest: int = 0  # Σ max(size, 0), the long-size aggregate
    cost_basis_sum_wad: int = 0  # Σ cost basis (spec §5.11)
    size_funding_sum_wad2: int = 0  # Σ size · f, exact (WAD²)
    settled: bool = False
    settlement_price_wad: int = 0


@dataclass
class AccountState:
    """An opened account: collateral (WAD) and open positions, ``market_ids`` in the contract's order."""

    collateral: int = 0
    market_ids: list[int] = field(default_factory=list)
    positions: dict[int, Position] = field(default_factory=dict)


@dataclass
class EngineState:
    """Everything the contract stores (plus its token balance), as plain data."""

    collateral_token: str
    collateral_scale: int  # WAD per token unit, 10^(18 − decimals)
    owner: str
    pending_owner: str = ZERO_ADDRESS
    paused: bool = False
    keepers: list[str] = field(default_factory=list)  # EnumerableSet order
    operators: list[str] = field(default_factory=list)
    markets: list[MarketState] = field(default_factory=list)
    accounts: dict[tuple[str, int], AccountState] = field(default_factory=dict)  # opening order
    insurance_fund: int = 0
    accrued_fees: int = 0
    bad_debt: int = 0
    reserves_tokens: int = 0  # the vault's collateral-token balance
    collateral_sum_wad: int = 0  # Σ collateral over every account (spec §5.11)
    checkpoints: list[tuple[bytes, int]] = field(default_factory=list)  # (digest, block number) of id = index + 1
    chain_id: int = 1  # EIP-712 domain: the chain id and the engine's address (verifyingContract)
    address: str = ZERO_ADDRESS
    filled: dict[bytes, int] = field(default_factory=dict)  # order digest -> |size| filled
    cancelled: set[bytes] = field(default_factory=set)  # cancelled order digests
    min_nonces: dict[str, int] = field(default_factory=dict)  # owner -> minNonce (absent: 0)
    options_module: str = ZERO_ADDRESS  # set once (spec §5.13); its mirror is Engine.option_modules[it]


def _operation(fn: Callable[..., None]) -> Callable[..., list[Event]]:
    """Run an operation as a transaction from ``sender``: all or nothing; return its events."""

    @functools.wraps(fn)
    def run(self: "Engine", sender: str, *args: Any) -> list[Event]:
        saved = copy.deepcopy(self.state)
        self._events = []
        try:
            fn(self, to_checksum_address(sender), *args)
        except BaseException:
            self.state = saved
            raise
        return self._events

    return run


def _address(value: str) -> str:
    return to_checksum_address(value)


def _increases_risk(old_size: int, new_size: int) -> bool:
    """A fill increases risk when |new| > |old| or the sign changes."""
    return abs(new_size) > abs(old_size) or (old_size > 0 > new_size) or (old_size < 0 < new_size)


def _open_cost(size: int, price_wad: int) -> int:
    """Cost of opening ``size`` at ``price``: ⌈size·price / WAD⌉ (signed Ceil)."""
    return smul_div(size, price_wad, WAD, Rounding.Ceil)


def _long_part(size: int) -> int:
    return size if size > 0 else 0


def _aggregate(m: MarketState) -> MarketAggregate:
    return MarketAggregate(m.open_interest, m.cost_basis_sum_wad, m.size_funding_sum_wad2)


class Engine:
    """The reference engine: ``state`` (what the contract stores), price ``oracles`` by address, ``now``,
    and ``wallets``: ERC-1271 contract wallets by address, each a callback ``(digest, signature) -> bool``
    playing the wallet's ``isValidSignature`` (an owner listed here is treated as a contract)."""

    def __init__(self, collateral_token: str, decimals: int, owner: str, *, now: int = 0, chain_id: int = 1,
                 address: str = ZERO_ADDRESS):
        """Mirror of the constructor: OwnableInvalidOwner on a zero owner, UnsupportedDecimals above 18.
        ``chain_id`` and ``address`` (the engine's own) form the EIP-712 domain of its orders."""
        owner = _address(owner)
        if owner == ZERO_ADDRESS:
            raise E.OwnableInvalidOwner(ZERO_ADDRESS)
        if decimals > 18:
            raise E.UnsupportedDecimals(decimals)
        self.state = EngineState(collateral_token=_address(collateral_token), collateral_scale=10 ** (18 - decimals),
                                 owner=owner, chain_id=chain_id, address=_address(address))
        self.oracles: dict[str, PriceFeed] = {}
        self.wallets: dict[str, Callable[[bytes, bytes], bool]] = {}
        self.now = now
        self.block_number = 0
        self.token_delivery: Callable[[int], int] = _full_delivery
        self.option_modules: dict[str, Any] = {}  # options-module mirrors by address (OptionsEngine)
        self._events: list[Event] = []

    @classmethod
    def from_state(cls, state: EngineState, oracles: dict[str, PriceFeed], now: int, block_number: int = 0) -> "Engine":
        """An engine over existing state (as loaded from a chain or a JSON file)."""
        engine = cls.__new__(cls)
        engine.state = state
        engine.oracles = {_address(a): feed for a, feed in oracles.items()}
        engine.wallets = {}
        engine.now = now
        engine.block_number = block_number
        engine.token_delivery = _full_delivery
        engine.option_modules = {}
        engine._events = []
        return engine

    @classmethod
    def from_chain(cls, contract: Any, block: Any = "latest") -> "Engine":
        """Load the state of a deployed MarginEngine (see :func:`pymargin.engine.persist.load_chain`)."""
        from pymargin.engine.persist import load_chain

        return load_chain(contract, block)

    @classmethod
    def load_json(cls, path: Any) -> "Engine":
        """Load an engine saved by :meth:`save_json` (UserError on a malformed file)."""
        from pymargin.engine.persist import load_json

        return load_json(path)

    def save_json(self, path: Any) -> None:
        """Save state, oracles and ``now`` to a JSON file, atomically."""
        from pymargin.engine.persist import save_json

        save_json(self, path)

    @property
    def last_events(self) -> list[Event]:
        """The events of the last operation (its return value, also for ``checkpoint``)."""
        return self._events

    def _emit(self, event: str, /, **args: Any) -> None:
        self._events.append((event, args))

    # -- owner ----------------------------------------------------------------------------------

    def _only_owner(self, sender: str) -> None:
        if sender != self.state.owner:
            raise E.OwnableUnauthorizedAccount(sender)

    @_operation
    def transfer_ownership(self, sender: str, new_owner: str) -> None:
        """Ownable2Step: start a transfer (the zero address cancels one)."""
        self._only_owner(sender)
        self.state.pending_owner = _address(new_owner)
        self._emit("OwnershipTransferStarted", previousOwner=self.state.owner, newOwner=self.state.pending_owner)

    @_operation
    def accept_ownership(self, sender: str) -> None:
        """Ownable2Step: the pending owner takes over."""
        if sender != self.state.pending_owner:
            raise E.OwnableUnauthorizedAccount(sender)
        self._transfer_ownership(sender)

    @_operation
    def renounce_ownership(self, sender: str) -> None:
        """Ownable: leave the engine without an owner (and no pending owner)."""
        self._only_owner(sender)
        self._transfer_ownership(ZERO_ADDRESS)

    def _transfer_ownership(self, new_owner: str) -> None:
        self.state.pending_owner = ZERO_ADDRESS
        old, self.state.owner = self.state.owner, new_owner
        self._emit("OwnershipTransferred", previousOwner=old, newOwner=new_owner)

    @_operation
    def add_market(self, sender: str, oracle: str, name: str, params: RiskParams) -> None:
        """Add a market; its id is ``market_count() - 1`` afterwards."""
        self._only_owner(sender)
        if len(self.state.markets) >= MAX_MARKETS:
            raise E.TooManyMarkets(len(self.state.markets), MAX_MARKETS)
        oracle = _address(oracle)
        params = RiskParams(*params)
        self._check_oracle(oracle)
        self._check_params(params)
        market_id = len(self.state.markets)
        self.state.markets.append(MarketState(oracle=oracle, name=name, params=params, last_funding_time=self.now))
        self._emit("MarketAdded", marketId=market_id, oracle=oracle, name=name)
        self._emit("MarketParamsSet", marketId=market_id, params=tuple(params))

    @_operation
    def set_market_params(self, sender: str, market_id: int, params: RiskParams) -> None:
        """Replace a market's parameters; the current rate must be within the new cap."""
        self._only_owner(sender)
        m = self._market(market_id)
        params = RiskParams(*params)
        self._check_params(params)
        self._check_rate(market_id, m.funding_rate_wad, params.max_funding_rate_wad)
        m.params = params
        self._emit("MarketParamsSet", marketId=market_id, params=tuple(params))

    @_operation
    def set_oracle(self, sender: str, market_id: int, oracle: str) -> None:
        """Replace a market's oracle."""
        self._only_owner(sender)
        m = self._market(market_id)
        oracle = _address(oracle)
        self._check_oracle(oracle)
        m.oracle = oracle
        self._emit("OracleSet", marketId=market_id, oracle=oracle)

    @_operation
    def set_keeper(self, sender: str, account: str, allowed: bool) -> None:
        """Grant or revoke the keeper role."""
        self._only_owner(sender)
        account = _address(account)
        _set_member(self.state.keepers, account, allowed)
        self._emit("KeeperSet", account=account, allowed=allowed)

    @_operation
    def set_operator(self, sender: str, account: str, allowed: bool) -> None:
        """Grant or revoke the operator role."""
        self._only_owner(sender)
        account = _address(account)
        _set_member(self.state.operators, account, allowed)
        self._emit("OperatorSet", account=account, allowed=allowed)

    @_operation
    def pause(self, sender: str) -> None:
        """Pause (EnforcedPause if already paused)."""
        self._only_owner(sender)
        if self.state.paused:
            raise E.EnforcedPause()
        self.state.paused = True
        self._emit("Paused", account=sender)

    @_operation
    def unpause(self, sender: str) -> None:
        """End a pause (ExpectedPause if not paused)."""
        self._only_owner(sender)
        if not self.state.paused:
            raise E.ExpectedPause()
        self.state.paused = False
        self._emit("Unpaused", account=sender)

    @_operation
    def withdraw_fees(self, sender: str, to: str, amount_tokens: int) -> None:
        """Send accrued fees (token units) to ``to``; at most owner_fees_wad() (fees first cover bad debt)."""
        self._only_owner(sender)
        to = _address(to)
        if to == ZERO_ADDRESS:
            raise E.ZeroAddress()
        amount_wad = self._to_wad(amount_tokens)
        owner_fees = self.owner_fees_wad()
        if amount_wad > owner_fees:
            raise E.InsufficientFees(owner_fees, amount_wad)
        self.state.accrued_fees -= amount_wad
        self._emit("FeesWithdrawn", to=to, amountTokens=amount_tokens, amountWad=amount_wad)
        self.state.reserves_tokens -= amount_tokens

    @_operation
    def settle_market(self, sender: str, market_id: int, price_wad: int) -> None:
        """Settle a market for good at ``price_wad``: accrue funding to now at that price, then freeze it."""
        self._only_owner(sender)
        m = self._market(market_id)
        if m.settled:
            raise E.SettledMarket(market_id)
        if not 0 < price_wad < PRICE_BOUND:
            raise E.InvalidPrice(market_id, price_wad)
        self._accrue_at(market_id, m, price_wad)
        m.settled, m.settlement_price_wad = True, price_wad
        self._emit("MarketSettled", marketId=market_id, priceWad=price_wad)

    @_operation
    def set_options_module(self, sender: str, module: str) -> None:
        """Set the options module, once; InvalidMarketParams("optionsModule") if one is set or ``module`` is
        not in ``option_modules`` (the contract: no code at the address)."""
        self._only_owner(sender)
        module = _address(module)
        if self.state.options_module != ZERO_ADDRESS or module not in self.option_modules:
            raise E.InvalidMarketParams("optionsModule")
        self.state.options_module = module

    @_operation
    def adjust_collateral(self, sender: str, owner: str, delta_wad: int, fee_wad: int) -> None:
        """Options module only (else NotOperator): collateral of (owner, 0) += delta, accrued fees += fee."""
        if sender != self.state.options_module:
            raise E.NotOperator(sender)
        self._adjust_collateral(_address(owner), delta_wad, fee_wad)

    def _adjust_collateral(self, owner: str, delta_wad: int, fee_wad: int) -> None:
        acc = self._open_account(owner, 0)
        self._set_collateral(owner, 0, acc, acc.collateral + delta_wad)
        self.state.accrued_fees += fee_wad

    @_operation
    def credit_insurance(self, sender: str, amount_wad: int) -> None:
        """Options module only (else NotOperator): insurance fund += the insurance share of an option
        liquidation's penalty, which the module has debited from the liquidated account."""
        if sender != self.state.options_module:
            raise E.NotOperator(sender)
        self._credit_insurance(amount_wad)

    def _credit_insurance(self, amount_wad: int) -> None:
        self.state.insurance_fund += amount_wad

    # -- keeper and anyone: funding ---------------------------------------------------------------

    @_operation
    def set_funding_rate(self, sender: str, market_id: int, rate_wad: int) -> None:
        """Keeper: accrue at the old rate, then set the rate (WAD of the price per second)."""
        if sender not in self.state.keepers:
            raise E.NotKeeper(sender)
        m = self._market(market_id)
        if m.settled:
            raise E.SettledMarket(market_id)
        self._check_rate(market_id, rate_wad, m.params.max_funding_rate_wad)
        self._accrue(market_id, m)
        m.funding_rate_wad = rate_wad
        self._emit("FundingRateSet", marketId=market_id, rateWad=rate_wad)

    @_operation
    def accrue_funding(self, sender: str, market_id: int) -> None:
        """Accrue the market's funding up to ``now`` (reads and checks the oracle even when Δt = 0)."""
        self._accrue(market_id, self._market(market_id))

    def checkpoint(self, sender: str) -> CheckpointData:
        """Keeper: accrue every market to ``now``, record the state at ``block_number`` (digest and block
        stored, CheckpointTaken emitted); return the CheckpointData. All or nothing, like an operation."""
        events = self._checkpoint(sender)
        return CheckpointData.from_abi(events[-1][1]["data"])

    @_operation
    def _checkpoint(self, sender: str) -> None:
        if sender not in self.state.keepers:
            raise E.NotKeeper(sender)
        s = self.state
        markets, aggregates = [], []
        for market_id, m in enumerate(s.markets):
            price = self._accrue(market_id, m)
            markets.append(MarketView(price, m.funding_index_wad, m.params.imf_wad, m.params.mmf_wad))
            aggregates.append(_aggregate(m))
        data = CheckpointData(
            id=len(s.checkpoints) + 1, block_number=self.block_number, timestamp=self.now, markets=tuple(markets),
            aggregates=tuple(aggregates), account_count=len(s.accounts), collateral_sum_wad=s.collateral_sum_wad,
            vault_balance_wad=self.reserves_wad(), accrued_fees_wad=s.accrued_fees, insurance_fund_wad=s.insurance_fund,
            bad_debt_wad=s.bad_debt,
        )
        s.checkpoints.append((checkpoint_digest(data), self.block_number))
        self._emit("CheckpointTaken", id=data.id, data=data.to_abi())

    # -- users: collateral ------------------------------------------------------------------------

    @_operation
    def deposit(self, sender: str, sub: int, amount_tokens: int) -> None:
        """Deposit token units into (sender, sub); collateral += tokens · scale (exact)."""
        amount_wad = self._to_wad(amount_tokens)
        acc = self._open_account(sender, sub)
        self._set_collateral(sender, sub, acc, acc.collateral + amount_wad)
        self._emit("Deposited", owner=sender, sub=sub, amountTokens=amount_tokens, amountWad=amount_wad)
        self._pull_tokens(amount_tokens)

    @_operation
    def withdraw(self, sender: str, sub: int, amount_tokens: int) -> None:
        """Withdraw token units: collateral ≥ amount, then equity ≥ IM after accruing the account's markets."""
        amount_wad = self._to_wad(amount_tokens)
        self._debit(sender, sub, amount_wad)
        self._require_initial_margin(sender, sub)
        self._emit("Withdrawn", owner=sender, sub=sub, amountTokens=amount_tokens, amountWad=amount_wad)
        self.state.reserves_tokens -= amount_tokens

    @_operation
    def transfer_collateral(self, sender: str, from_sub: int, to_sub: int, amount_wad: int) -> None:
        """Move WAD collateral between two of the sender's sub-accounts (withdrawal checks on the source)."""
        if from_sub == to_sub:
            raise E.SameSubAccount(from_sub)
        self._check_amount(amount_wad)
        self._debit(sender, from_sub, amount_wad)
        self._require_initial_margin(sender, from_sub)
        acc = self._open_account(sender, to_sub)
        self._set_collateral(sender, to_sub, acc, acc.collateral + amount_wad)
        self._emit("CollateralTransferred", owner=sender, fromSub=from_sub, toSub=to_sub, amountWad=amount_wad)

    @_operation
    def deposit_insurance(self, sender: str, amount_tokens: int) -> None:
        """Add token units to the insurance fund."""
        amount_wad = self._to_wad(amount_tokens)
        self.state.insurance_fund += amount_wad
        self._emit("InsuranceDeposited", **{"from": sender}, amountTokens=amount_tokens, amountWad=amount_wad)
        self._pull_tokens(amount_tokens)

    # -- operator: fills ----------------------------------------------------------------------------

    @_operation
    def trade(self, sender: str, taker: Order, taker_sig: bytes, maker: Order, maker_sig: bytes, size_wad: int,
              price_wad: int) -> None:
        """Operator: fill two signed orders; the taker's gets ``size_wad``, the maker's ``-size_wad``, at ``price_wad``."""
        if sender not in self.state.operators:
            raise E.NotOperator(sender)
        taker, maker = _order(taker), _order(maker)
        market_id = taker.market_id
        m = self._market(market_id)
        if m.settled:
            raise E.SettledMarket(market_id)
        if size_wad == 0 or not -SIZE_BOUND < size_wad < SIZE_BOUND:
            raise E.SizeOutOfBounds(size_wad)
        if taker.owner == maker.owner:
            raise E.SelfTrade(taker.owner, taker.sub)
        if maker.market_id != market_id:
            raise E.MarketMismatch(market_id, maker.market_id)
        self._check_order(taker, bytes(taker_sig), size_wad, price_wad, m.params.taker_fee_wad)
        self._check_order(maker, bytes(maker_sig), -size_wad, price_wad, m.params.maker_fee_wad)
        self._settle(market_id, m, taker.owner, taker.sub, maker.owner, maker.sub, size_wad, price_wad)

    @_operation
    def cancel_order(self, sender: str, order: Order) -> None:
        """Only the order's owner: mark its digest cancelled."""
        order = _order(order)
        if sender != order.owner:
            raise E.NotOrderOwner(sender, order.owner)
        digest = self.order_digest(order)
        self.state.cancelled.add(digest)
        self._emit("OrderCancelled", digest=digest, owner=sender)

    @_operation
    def cancel_orders_below(self, sender: str, nonce: int) -> None:
        """minNonce(sender) = ``nonce``, which must grow."""
        current = self.min_nonce(sender)
        if nonce <= current:
            raise E.NonceNotIncreasing(current, nonce)
        self.state.min_nonces[sender] = nonce
        self._emit("MinNonceRaised", owner=sender, minNonce=nonce)

    def _check_order(self, order: Order, sig: bytes, fill_wad: int, price_wad: int, fee_rate_wad: int) -> None:
        """One side's order checks, in the contract's order; then its filled size grows by |fill|."""
        digest = self.order_digest(order)
        if not self._valid_signature(order.owner, digest, sig):
            raise E.InvalidSignature(order.owner, digest)
        if digest in self.state.cancelled:
            raise E.CancelledOrder(digest)
        floor_nonce = self.min_nonce(order.owner)
        if order.nonce < floor_nonce:
            raise E.NonceTooLow(digest, order.nonce, floor_nonce)
        if self.now > order.expiry:
            raise E.OrderExpired(digest, order.expiry, self.now)
        if order.size_wad == 0 or (order.size_wad > 0) != (fill_wad > 0):
            raise E.WrongSide(digest, order.size_wad, fill_wad)
        fill, full = abs(fill_wad), abs(order.size_wad)
        filled = self.filled_size(digest)
        if fill > full - filled:
            raise E.OrderOverfill(digest, filled, fill, full)
        if price_wad > order.limit_price_wad if order.size_wad > 0 else price_wad < order.limit_price_wad:
            raise E.LimitPriceExceeded(digest, price_wad, order.limit_price_wad)
        if fee_rate_wad > order.max_fee_wad:
            raise E.FeeAboveMax(digest, fee_rate_wad, order.max_fee_wad)
        self.state.filled[digest] = filled + fill
        self._emit("OrderFilled", digest=digest, owner=order.owner, fillWad=fill, filledWad=filled + fill)

    def _valid_signature(self, owner: str, digest: bytes, sig: bytes) -> bool:
        """SignatureChecker.isValidSignatureNow: a contract wallet's ERC-1271 answer, else ECDSA recovery."""
        wallet = self.wallets.get(owner)
        if wallet is not None:
            return bool(wallet(digest, sig))
        return recover_signer(digest, sig) == owner

    def _settle(self, market_id: int, m: MarketState, taker_owner: str, taker_sub: int, maker_owner: str,
                maker_sub: int, size_wad: int, price_wad: int) -> None:
        taker_old = self._size(taker_owner, taker_sub, market_id)
        maker_old = self._size(maker_owner, maker_sub, market_id)
        taker_up = _increases_risk(taker_old, taker_old + size_wad)
        maker_up = _increases_risk(maker_old, maker_old - size_wad)
        if (taker_up or maker_up) and self.state.paused:
            raise E.EnforcedPause()
        oracle_price = self._accrue(market_id, m)
        self._check_band(market_id, m, price_wad, oracle_price)
        taker_before = self._accrued_health(taker_owner, taker_sub)
        maker_before = self._accrued_health(maker_owner, maker_sub)
        taker_new = self._fill(market_id, taker_owner, taker_sub, size_wad, price_wad, m.params.taker_fee_wad)
        maker_new = self._fill(market_id, maker_owner, maker_sub, -size_wad, price_wad, m.params.maker_fee_wad)
        self._update_open_interest(market_id, m, taker_old, taker_new, maker_old, maker_new)
        self._check_fill_health(taker_owner, taker_sub, taker_up, taker_before)
        self._check_fill_health(maker_owner, maker_sub, maker_up, maker_before)
        self._emit("Trade", marketId=market_id, takerOwner=taker_owner, takerSub=taker_sub, makerOwner=maker_owner,
                   makerSub=maker_sub, sizeWad=size_wad, priceWad=price_wad)

    # -- liquidation ----------------------------------------------------------------------------------

    @_operation
    def liquidate(self, sender: str, liquidator_sub: int, owner: str, sub: int, market_id: int, size_wad: int) -> None:
        """Take over ``size_wad`` of (owner, sub)'s position into (sender, liquidator_sub) at the oracle price."""
        if self.state.paused:
            raise E.EnforcedPause()
        m = self._market(market_id)
        if m.settled:
            raise E.SettledMarket(market_id)
        owner = _address(owner)
        if sender == owner:
            raise E.SelfLiquidation(owner, sub)
        if (sender, liquidator_sub) not in self.state.accounts:
            raise E.UnknownAccount(sender, liquidator_sub)
        position_old = self._size(owner, sub, market_id)
        if position_old == 0:
            raise E.NoPosition(owner, sub, market_id)
        if size_wad == 0 or (size_wad > 0) != (position_old > 0) or abs(size_wad) > abs(position_old):
            raise E.InvalidLiquidationSize(size_wad, position_old)
        self._accrue_all(owner, sub)
        if not self.is_liquidatable(owner, sub):
            raise E.NotLiquidatable(owner, sub, self.equity(owner, sub), self.maintenance_margin(owner, sub))
        price = self._oracle_price(market_id, m)
        liquidator_old = self._size(sender, liquidator_sub, market_id)
        position_new = self._fill(market_id, owner, sub, -size_wad, price, 0)
        liquidator_new = self._fill(market_id, sender, liquidator_sub, size_wad, price, 0)
        penalty = self._capped_penalty(owner, sub, abs(size_wad) * price, m.params.liquidation_penalty_wad)
        to_insurance = mul_div(penalty, m.params.insurance_share_wad, WAD, Rounding.Floor)
        acc = self.state.accounts[(owner, sub)]
        self._set_collateral(owner, sub, acc, acc.collateral - penalty)
        liq = self.state.accounts[(sender, liquidator_sub)]
        self._set_collateral(sender, liquidator_sub, liq, liq.collateral + penalty - to_insurance)
        self.state.insurance_fund += to_insurance
        self._update_open_interest(market_id, m, position_old, position_new, liquidator_old, liquidator_new)
        if position_new != 0 and self.is_liquidatable(owner, sub):
            raise E.LiquidationTooSmall(owner, sub, self.equity(owner, sub), self.maintenance_margin(owner, sub))
        self._settle_bad_debt(owner, sub)
        self._require_initial_margin(sender, liquidator_sub)
        self._emit("Liquidated", marketId=market_id, owner=owner, sub=sub, liquidator=sender,
                   liquidatorSub=liquidator_sub, sizeWad=size_wad, priceWad=price, penaltyWad=penalty,
                   insuranceWad=to_insurance)

    # -- anyone: closing positions in a settled market -----------------------------------------------

    @_operation
    def close_settled_position(self, sender: str, owner: str, sub: int, market_id: int) -> None:
        """Close (owner, sub)'s position in a settled market at the settlement price (no fee)."""
        m = self._market(market_id)
        if not m.settled:
            raise E.MarketNotSettled(market_id)
        owner = _address(owner)
        size_old = self._size(owner, sub, market_id)
        if size_old == 0:
            raise E.NoPosition(owner, sub, market_id)
        self._fill(market_id, owner, sub, -size_old, m.settlement_price_wad, 0)
        m.open_interest -= _long_part(size_old)
        self._settle_bad_debt(owner, sub)

    # -- views ------------------------------------------------------------------------------------------

    def owner(self) -> str:
        return self.state.owner

    def pending_owner(self) -> str:
        return self.state.pending_owner

    def paused(self) -> bool:
        return self.state.paused

    def options_module(self) -> str:
        return self.state.options_module

    def collateral_token(self) -> str:
        return self.state.collateral_token

    def collateral_scale(self) -> int:
        """WAD per token unit, 10^(18 − decimals)."""
        return self.state.collateral_scale

    def insurance_fund(self) -> int:
        return self.state.insurance_fund

    def accrued_fees(self) -> int:
        return self.state.accrued_fees

    def bad_debt(self) -> int:
        return self.state.bad_debt

    def reserves_wad(self) -> int:
        """The vault's token balance in WAD: tokens · scale."""
        return self.state.reserves_tokens * self.state.collateral_scale

    def owner_fees_wad(self) -> int:
        """Fees the owner may withdraw: accrued fees − bad debt, or 0 when bad debt is larger (WAD)."""
        return max(self.state.accrued_fees - self.state.bad_debt, 0)

    def aggregates(self) -> tuple[int, int, list[MarketAggregate]]:
        """(accounts ever opened, Σ collateral, per market (Σ long size, Σ cost basis, Σ size·f))."""
        return len(self.state.accounts), self.state.collateral_sum_wad, [_aggregate(m) for m in self.state.markets]

    def checkpoint_count(self) -> int:
        return len(self.state.checkpoints)

    def checkpoint_hash(self, checkpoint_id: int) -> bytes:
        """keccak256(abi.encode(data)) of checkpoint ``checkpoint_id``; UnknownCheckpoint outside 1 .. count."""
        return self.state.checkpoints[self._checkpoint_index(checkpoint_id)][0]

    def checkpoint_block(self, checkpoint_id: int) -> int:
        """The block number checkpoint ``checkpoint_id`` was taken in; UnknownCheckpoint outside 1 .. count."""
        return self.state.checkpoints[self._checkpoint_index(checkpoint_id)][1]

    def keepers(self) -> list[str]:
        return list(self.state.keepers)

    def operators(self) -> list[str]:
        return list(self.state.operators)

    def order_digest(self, order: Order) -> bytes:
        """The EIP-712 digest of ``order`` under this engine's domain."""
        return order_digest(_order(order), self.state.chain_id, self.state.address)

    def filled_size(self, digest: bytes) -> int:
        """|size| filled so far of the order with this digest."""
        return self.state.filled.get(bytes(digest), 0)

    def is_cancelled(self, digest: bytes) -> bool:
        return bytes(digest) in self.state.cancelled

    def min_nonce(self, owner: str) -> int:
        return self.state.min_nonces.get(_address(owner), 0)

    def eip712_domain(self) -> tuple[bytes, str, str, int, str, bytes, list[int]]:
        """ERC-5267: (fields 0x0f, name, version, chainId, verifyingContract, salt 0, no extensions)."""
        return b"\x0f", DOMAIN_NAME, DOMAIN_VERSION, self.state.chain_id, self.state.address, bytes(32), []

    def market_count(self) -> int:
        return len(self.state.markets)

    def market_view(self, market_id: int) -> tuple[int, int, int, int]:
        """(price_wad, funding_index_wad, imf_wad, mmf_wad) at ``now``; reverts on a bad or stale price."""
        m = self._market(market_id)
        return self._oracle_price(market_id, m), m.funding_index_wad, m.params.imf_wad, m.params.mmf_wad

    def market_settlement(self, market_id: int) -> tuple[bool, int]:
        """(settled, settlement_price_wad); (False, 0) while not settled."""
        m = self._market(market_id)
        return m.settled, m.settlement_price_wad

    def market_params(self, market_id: int) -> RiskParams:
        return self._market(market_id).params

    def market_state(self, market_id: int) -> tuple[str, str, int, int, int, int]:
        """(oracle, name, funding_rate_wad, funding_index_wad, last_funding_time, open_interest)."""
        m = self._market(market_id)
        return m.oracle, m.name, m.funding_rate_wad, m.funding_index_wad, m.last_funding_time, m.open_interest

    def account_count(self) -> int:
        return len(self.state.accounts)

    def account_at(self, index: int) -> tuple[str, int]:
        """The ``index``-th account opened; Panic(0x32) past the end."""
        if not 0 <= index < len(self.state.accounts):
            raise Panic(INDEX_OUT_OF_BOUNDS_PANIC)
        return list(self.state.accounts)[index]

    def account_state(self, owner: str, sub: int) -> tuple[bool, int, list[int], list[tuple[int, int, int]]]:
        """(exists, collateral_wad, market_ids, [(size, cost_basis, funding_index)]) in the account's order."""
        acc = self.state.accounts.get((_address(owner), sub))
        if acc is None:
            return False, 0, [], []
        positions = [(p.size, p.cost_basis, p.funding_index) for p in (acc.positions[i] for i in acc.market_ids)]
        return True, acc.collateral, list(acc.market_ids), positions

    def position(self, owner: str, sub: int, market_id: int) -> tuple[int, int, int]:
        """(size_wad, cost_basis_wad, funding_index_wad); zeros if none."""
        acc = self.state.accounts.get((_address(owner), sub))
        pos = acc.positions.get(market_id) if acc else None
        return (pos.size, pos.cost_basis, pos.funding_index) if pos else (0, 0, 0)

    def collateral(self, owner: str, sub: int) -> int:
        acc = self.state.accounts.get((_address(owner), sub))
        return acc.collateral if acc else 0

    def equity(self, owner: str, sub: int) -> int:
        """margin.equity at the checked prices and stored funding indices, plus the options' value for a
        cross account holding some (WAD, Floor; see ``_margins``)."""
        return self._margins(owner, sub)[0]

    def unrealised_pnl(self, owner: str, sub: int) -> int:
        _, ps, ms = self._account_data(owner, sub)
        return margin.unrealised_pnl(ps, ms)

    def pending_funding(self, owner: str, sub: int) -> int:
        _, ps, ms = self._account_data(owner, sub)
        return margin.pending_funding(ps, ms)

    def margins(self, owner: str, sub: int) -> tuple[int, int, int]:
        """(equity, initial margin, maintenance margin) in one view (``_margins``)."""
        return self._margins(owner, sub)

    def initial_margin(self, owner: str, sub: int) -> int:
        return self._margins(owner, sub)[1]

    def maintenance_margin(self, owner: str, sub: int) -> int:
        return self._margins(owner, sub)[2]

    def free_collateral(self, owner: str, sub: int) -> int:
        eq, im, _ = self._margins(owner, sub)
        return eq - im

    def margin_ratio(self, owner: str, sub: int) -> int:
        """⌊equity·WAD / MM⌋ (Floor), 2^255 − 1 when MM = 0."""
        eq, _, mm = self._margins(owner, sub)
        return INT256_MAX if mm == 0 else smul_div(eq, WAD, mm, Rounding.Floor)

    def is_liquidatable(self, owner: str, sub: int) -> bool:
        eq, _, mm = self._margins(owner, sub)
        return eq < mm

    def _margins(self, owner: str, sub: int) -> tuple[int, int, int]:
        """(equity, initial, maintenance margin): margin's over the perps, or for a cross account holding
        options (spec §5.13) equity + their value and the options module's portfolio margin."""
        c, ps, ms = self._account_data(owner, sub)
        eq = margin.equity(c, ps, ms)
        holds, value, im, mm = self._options(_address(owner), sub, ps)
        if holds:
            return eq + value, im, mm
        return eq, margin.initial_margin(ps, ms), margin.maintenance_margin(ps, ms)

    def _options(self, owner: str, sub: int, ps: list[Position]) -> tuple[bool, int, int, int]:
        if sub != 0 or self.state.options_module == ZERO_ADDRESS:
            return False, 0, 0, 0
        return self.option_modules[self.state.options_module].portfolio_margin(owner, ps)

    # -- exports -----------------------------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        """Every opened account as a :class:`pymargin.model.Account` (positions in the account's order)."""
        out = []
        for (owner, sub), acc in self.state.accounts.items():
            positions = {i: copy.copy(acc.positions[i]) for i in acc.market_ids}
            out.append(Account(owner=owner, sub=sub, collateral=acc.collateral, positions=positions))
        return out

    def market_views(self) -> dict[int, MarketView]:
        """{market_id: MarketView} at ``now``; raises the market's revert on a bad or stale price."""
        return {i: MarketView(*self.market_view(i)) for i in range(len(self.state.markets))}

    def model_params(self, market_id: int) -> MarketParams:
        """The market's parameters as a :class:`pymargin.model.MarketParams`."""
        m = self._market(market_id)
        return MarketParams(market_id, m.name, *m.params)

    def solvency_slack(self) -> int:
        """reserves·WAD − (Σ Q + (insurance + fees − bad debt)·WAD), WAD² (spec §5.6); never negative.

        Q(account) = collateral·WAD − Σ (cost_basis·WAD − size·funding_index) over positions in open
        markets + Σ (⌊size·q / WAD⌋ − cost_basis − ⌈size·(F − f) / WAD⌉)·WAD over positions in settled
        markets (q the settlement price, F the final index): exactly what closing them will credit.
        """
        liabilities = 0
        for acc in self.state.accounts.values():
            liabilities += acc.collateral * WAD
            for market_id, pos in acc.positions.items():
                m = self.state.markets[market_id]
                if m.settled:
                    owed = smul_div(pos.size, m.funding_index_wad - pos.funding_index, WAD, Rounding.Ceil)
                    close = smul_div(pos.size, m.settlement_price_wad, WAD, Rounding.Floor)
                    liabilities += (close - pos.cost_basis - owed) * WAD
                else:
                    liabilities -= pos.cost_basis * WAD - pos.size * pos.funding_index
        s = self.state
        liabilities += (s.insurance_fund + s.accrued_fees - s.bad_debt) * WAD
        return self.reserves_wad() * WAD - liabilities

    # -- internals (each mirrors the contract's function of the same name) ---------------------------------

    def _checkpoint_index(self, checkpoint_id: int) -> int:
        if not 1 <= checkpoint_id <= len(self.state.checkpoints):
            raise E.UnknownCheckpoint(checkpoint_id)
        return checkpoint_id - 1

    def _market(self, market_id: int) -> MarketState:
        if not 0 <= market_id < len(self.state.markets):
            raise E.UnknownMarket(market_id)
        return self.state.markets[market_id]

    def _feed(self, oracle: str) -> PriceFeed:
        feed = self.oracles.get(oracle)
        if feed is None:
            raise UserError(f"no price feed for oracle {oracle}: set engine.oracles[{oracle!r}]")
        return feed

    def _oracle_price(self, market_id: int, m: MarketState) -> int:
        if m.settled:
            return m.settlement_price_wad
        price, updated_at = self._feed(m.oracle).latest_price(self.now)
        if price <= 0 or price >= PRICE_BOUND:
            raise E.InvalidPrice(market_id, price)
        if self.now > updated_at and self.now - updated_at > m.params.max_price_age_s:
            raise E.StalePrice(market_id, updated_at, self.now)
        return price

    def _accrue(self, market_id: int, m: MarketState) -> int:
        price = self._oracle_price(market_id, m)
        if not m.settled:
            self._accrue_at(market_id, m, price)
        return price

    def _accrue_at(self, market_id: int, m: MarketState, price: int) -> None:
        """F += ⌊r·Δt·price / WAD⌋ (signed Floor), clamped to [−(2^100 − 1), 2^100 − 1]."""
        elapsed = self.now - m.last_funding_time
        if elapsed < 0:
            raise Panic(ARITHMETIC_OVERFLOW)
        if elapsed == 0:
            return
        rate, old = m.funding_rate_wad, m.funding_index_wad
        index = old + smul_div(rate, elapsed * price, WAD, Rounding.Floor)
        index = max(min(index, FUNDING_INDEX_BOUND - 1), 1 - FUNDING_INDEX_BOUND)
        m.funding_index_wad = index
        m.last_funding_time = self.now
        self._emit("FundingAccrued", marketId=market_id, rateWad=rate, elapsedS=elapsed, priceWad=price,
                   indexDeltaWad=index - old, fundingIndexWad=index)

    def _accrue_all(self, owner: str, sub: int) -> None:
        acc = self.state.accounts.get((owner, sub))
        for market_id in list(acc.market_ids) if acc else []:
            self._accrue(market_id, self.state.markets[market_id])

    def _settle_funding(self, owner: str, sub: int, market_id: int, acc: AccountState, index: int) -> None:
        """collateral −= ⌈size·(F − f) / WAD⌉ (signed Ceil), f = F."""
        pos = acc.positions.get(market_id)
        if pos is None or pos.funding_index == index:
            return
        owed = smul_div(pos.size, index - pos.funding_index, WAD, Rounding.Ceil)
        self._write_position(self.state.markets[market_id], pos, pos.size, pos.cost_basis, index)
        self._set_collateral(owner, sub, acc, acc.collateral - owed)
        self._emit("FundingSettled", owner=owner, sub=sub, marketId=market_id, amountWad=-owed)

    def _fill(self, market_id: int, owner: str, sub: int, delta: int, price: int, fee_rate_wad: int) -> int:
        acc = self._open_account(owner, sub)
        m = self.state.markets[market_id]
        self._settle_funding(owner, sub, market_id, acc, m.funding_index_wad)
        pos = acc.positions.get(market_id)
        old_size = pos.size if pos else 0
        new_size = old_size + delta
        if not -SIZE_BOUND < new_size < SIZE_BOUND:
            raise E.SizeOutOfBounds(new_size)
        cost = pos.cost_basis if pos else 0
        index = pos.funding_index if pos else 0
        realised = 0
        if old_size == 0:
            max_positions = MAX_POSITIONS if sub == 0 else 1
            if len(acc.market_ids) >= max_positions:
                raise E.TooManyPositions(owner, sub, max_positions)
            acc.market_ids.append(market_id)
            pos = acc.positions[market_id] = Position(market_id, 0, 0, 0)
            index = m.funding_index_wad
            cost = _open_cost(delta, price)
        elif (delta > 0) == (old_size > 0):
            cost += _open_cost(delta, price)
        else:  # reduce by `closed` (same sign as the position); a flip closes all and opens the rest
            closed = -delta if (new_size == 0 or (new_size > 0) == (old_size > 0)) else old_size
            removed = smul_div(cost, closed, old_size, Rounding.Ceil)
            realised = smul_div(closed, price, WAD, Rounding.Floor) - removed
            cost -= removed
            if new_size == 0:
                _swap_pop(acc.market_ids, market_id)
                index = 0
            elif closed == old_size:
                cost = _open_cost(new_size, price)
        # |cost| < 2^130 follows from the size and price bounds (as in the contract), unchecked
        self._write_position(m, pos, new_size, cost, index)
        if new_size == 0:
            del acc.positions[market_id]
        fee = mul_div(abs(delta) * price, fee_rate_wad, WAD2, Rounding.Ceil)
        self._set_collateral(owner, sub, acc, acc.collateral + realised - fee)
        self.state.accrued_fees += fee
        self._emit("PositionUpdated", owner=owner, sub=sub, marketId=market_id, sizeDeltaWad=delta, priceWad=price,
                   sizeWad=new_size, costBasisWad=cost, realisedPnlWad=realised, feeWad=fee)
        return new_size

    def _settle_bad_debt(self, owner: str, sub: int) -> None:
        acc = self.state.accounts[(owner, sub)]
        if acc.market_ids or acc.collateral >= 0:
            return
        if self._options(owner, sub, [])[0]:
            return
        shortfall = -acc.collateral
        covered = min(shortfall, self.state.insurance_fund)
        self.state.insurance_fund -= covered
        self.state.bad_debt += shortfall - covered
        self._set_collateral(owner, sub, acc, 0)
        self._emit("BadDebtSettled", owner=owner, sub=sub, coveredWad=covered, badDebtWad=shortfall - covered)

    def _update_open_interest(self, market_id: int, m: MarketState, a0: int, a1: int, b0: int, b1: int) -> None:
        before = m.open_interest
        after = before + _long_part(a1) + _long_part(b1) - _long_part(a0) - _long_part(b0)
        if after > before and after > m.params.max_open_interest:
            raise E.OpenInterestCap(market_id, after, m.params.max_open_interest)
        m.open_interest = after

    def _accrued_health(self, owner: str, sub: int) -> tuple[int, int]:
        """Accrue the account's markets, then (equity, maintenance margin)."""
        self._accrue_all(owner, sub)
        eq, _, mm = self._margins(owner, sub)
        return eq, mm

    def _check_fill_health(self, owner: str, sub: int, risk_grew: bool, before: tuple[int, int]) -> None:
        """The fill-health rule of spec §5.3 (see the contract's ``_checkFillHealth``)."""
        eq, im, mm = self._margins(owner, sub)
        if eq >= im:
            return
        if risk_grew:
            raise E.InsufficientMargin(owner, sub, eq, im)
        if eq < 0:
            raise E.NegativeEquity(owner, sub, eq)
        eq0, mm0 = before
        if eq0 > 0 and eq < mul_div(eq0, mm, mm0, Rounding.Ceil):
            raise E.MarginHealthDecreased(owner, sub, eq0, mm0, eq, mm)

    def _capped_penalty(self, owner: str, sub: int, notional: int, penalty_fraction_wad: int) -> int:
        """min(⌈notional·fraction / WAD²⌉, max(equity, 0)): equity after the position transfer."""
        full = mul_div(notional, penalty_fraction_wad, WAD2, Rounding.Ceil)
        eq = self.equity(owner, sub)
        return 0 if eq <= 0 else min(full, eq)

    def _pull_tokens(self, amount_tokens: int) -> None:
        """The vault pulls token units; ShortDelivery unless its balance grows by at least that."""
        received = self.token_delivery(amount_tokens)
        if received < amount_tokens:
            raise E.ShortDelivery(amount_tokens, received)
        self.state.reserves_tokens += received

    def _require_initial_margin(self, owner: str, sub: int) -> None:
        self._accrue_all(owner, sub)
        eq, im, _ = self._margins(owner, sub)
        if eq < im:
            raise E.InsufficientMargin(owner, sub, eq, im)

    def _account_data(self, owner: str, sub: int) -> tuple[int, list[Position], dict[int, MarketView]]:
        acc = self.state.accounts.get((_address(owner), sub))
        if acc is None:
            return 0, [], {}
        positions, views = [], {}
        for market_id in acc.market_ids:
            m = self.state.markets[market_id]
            positions.append(acc.positions[market_id])
            views[market_id] = MarketView(self._oracle_price(market_id, m), m.funding_index_wad, m.params.imf_wad,
                                          m.params.mmf_wad)
        return acc.collateral, positions, views

    def _size(self, owner: str, sub: int, market_id: int) -> int:
        return self.position(owner, sub, market_id)[0]

    def _open_account(self, owner: str, sub: int) -> AccountState:
        acc = self.state.accounts.get((owner, sub))
        if acc is None:
            acc = self.state.accounts[(owner, sub)] = AccountState()
            self._emit("AccountOpened", owner=owner, sub=sub)
        return acc

    def _set_collateral(self, owner: str, sub: int, acc: AccountState, value: int) -> None:
        if not -COLLATERAL_BOUND < value < COLLATERAL_BOUND:
            raise E.CollateralOutOfBounds(owner, sub, value)
        self.state.collateral_sum_wad += value - acc.collateral
        acc.collateral = value

    @staticmethod
    def _write_position(m: MarketState, pos: Position, size: int, cost_basis: int, funding_index: int) -> None:
        """Every position write: keeps the market's Σ cost basis and Σ size·f (open interest is Σ long size)."""
        m.cost_basis_sum_wad += cost_basis - pos.cost_basis
        m.size_funding_sum_wad2 += size * funding_index - pos.size * pos.funding_index
        pos.size, pos.cost_basis, pos.funding_index = size, cost_basis, funding_index

    def _debit(self, owner: str, sub: int, amount_wad: int) -> None:
        acc = self.state.accounts.get((owner, sub))
        c = acc.collateral if acc else 0
        if c < amount_wad:
            raise E.InsufficientCollateral(owner, sub, c, amount_wad)
        self._set_collateral(owner, sub, acc, c - amount_wad)

    def _to_wad(self, amount_tokens: int) -> int:
        self._check_amount(amount_tokens)
        return amount_tokens * self.state.collateral_scale

    @staticmethod
    def _check_amount(amount: int) -> None:
        if amount == 0:
            raise E.ZeroAmount()
        if amount >= AMOUNT_BOUND:
            raise E.AmountOutOfBounds(amount)

    @staticmethod
    def _check_rate(market_id: int, rate_wad: int, max_rate_wad: int) -> None:
        if rate_wad > max_rate_wad or rate_wad < -max_rate_wad:
            raise E.FundingRateOutOfBounds(market_id, rate_wad, max_rate_wad)

    @staticmethod
    def _check_band(market_id: int, m: MarketState, price_wad: int, oracle_price_wad: int) -> None:
        band = m.params.price_band_wad
        if (price_wad == 0 or price_wad >= PRICE_BOUND or price_wad * WAD < oracle_price_wad * (WAD - band)
                or price_wad * WAD > oracle_price_wad * (WAD + band)):
            raise E.PriceOutsideBand(market_id, price_wad, oracle_price_wad)

    def _check_oracle(self, oracle: str) -> None:
        if oracle not in self.oracles:  # the contract requires code at the address; here, a known feed
            raise E.InvalidMarketParams("oracle")

    @staticmethod
    def _check_params(p: RiskParams) -> None:
        checks = (
            p.imf_wad == 0 or p.imf_wad > WAD,
            p.mmf_wad == 0 or p.mmf_wad >= p.imf_wad,
            p.taker_fee_wad > WAD,
            p.maker_fee_wad > WAD,
            p.liquidation_penalty_wad > WAD,
            p.insurance_share_wad > WAD,
            p.max_open_interest >= SIZE_BOUND,
            p.max_price_age_s == 0,
            p.price_band_wad >= WAD,
            p.max_funding_rate_wad > MAX_FUNDING_RATE_WAD,
        )
        for name, failed in zip(RISK_PARAM_FIELDS, checks):
            if failed:
                raise E.InvalidMarketParams(name)


def _full_delivery(amount_tokens: int) -> int:
    """A standard ERC-20: a transfer of ``amount_tokens`` delivers all of it."""
    return amount_tokens


def _order(order: Order | tuple) -> Order:
    """An Order with a checksummed owner (from an Order or a plain tuple in the struct's field order)."""
    order = Order(*order)
    return order._replace(owner=_address(order.owner))


def _set_member(members: list[str], account: str, allowed: bool) -> None:
    """OpenZeppelin EnumerableSet add/remove, with its swap-and-pop order."""
    if allowed:
        if account not in members:
            members.append(account)
    elif account in members:
        _swap_pop(members, account)


def _swap_pop(items: list, value: Any) -> None:
    """Remove ``value`` as the contract does: move the last element into its slot, drop the last."""
    i = items.index(value)
    items[i] = items[-1]
    items.pop()


__all__ = ["Engine", "EngineState", "MarketState", "AccountState", "RiskParams", "Event"]

"""The margin engine's custom errors, named and shaped exactly as in ``contracts/MarginEngine.sol``.

Each is a :class:`pymargin.errors.Revert` whose ``name`` and ``args_`` equal the Solidity error's, so a
parity test compares them with a :class:`~pymargin.chain.tx.ContractRevert` directly. The
OpenZeppelin errors the engine inherits (``Ownable``, ``Pausable``) are mirrored here too; the
fixed-point errors (``MulDivOverflow`` ...) come from :mod:`pymargin.fixedpoint`.
"""

from __future__ import annotations

from pymargin.errors import Revert


class UnsupportedDecimals(Revert):
    """(decimals): the collateral token has more than 18 decimals (or a feed more than 36)."""


class NotKeeper(Revert):
    """(account): the caller lacks the keeper role."""


class NotOperator(Revert):
    """(account): the caller lacks the operator role."""


class ZeroAddress(Revert):
    """(): a recipient is the zero address."""


class UnknownMarket(Revert):
    """(market_id): no market with this id."""


class InvalidMarketParams(Revert):
    """(field): the named parameter (or "oracle") is out of range."""


class InvalidPrice(Revert):
    """(market_id, price_wad): the oracle price is not in (0, 2^94)."""


class StalePrice(Revert):
    """(market_id, updated_at, now_s): the oracle price is older than the market's max age."""


class FundingRateOutOfBounds(Revert):
    """(market_id, rate_wad, max_rate_wad): |rate| > max funding rate."""


class ZeroAmount(Revert):
    """(): an amount is zero."""


class AmountOutOfBounds(Revert):
    """(amount): an amount is ≥ 2^128."""


class CollateralOutOfBounds(Revert):
    """(owner, sub, collateral_wad): collateral would leave (-2^128, 2^128)."""


class SizeOutOfBounds(Revert):
    """(size_wad): a fill size is 0 or a size would leave (-2^94, 2^94)."""


class SelfTrade(Revert):
    """(owner, sub): taker and maker are the same account."""


class PriceOutsideBand(Revert):
    """(market_id, price_wad, oracle_price_wad): the fill price is outside oracle·(1 ± band) or (0, 2^94)."""


class TooManyPositions(Revert):
    """(owner, sub, max_positions): opening one more position than the account may hold."""


class OpenInterestCap(Revert):
    """(market_id, open_interest, max_open_interest): open interest would grow past its cap."""


class InsufficientMargin(Revert):
    """(owner, sub, equity_wad, initial_margin_wad): equity < initial margin after the operation."""


class InsufficientCollateral(Revert):
    """(owner, sub, collateral_wad, amount_wad): collateral < the amount taken out."""


class SameSubAccount(Revert):
    """(sub): a transfer to the sub-account it comes from."""


class UnknownAccount(Revert):
    """(owner, sub): the account was never opened."""


class NoPosition(Revert):
    """(owner, sub, market_id): no open position in the market."""


class InvalidLiquidationSize(Revert):
    """(size_wad, position_size_wad): 0, opposite sign, or larger than the position."""


class SelfLiquidation(Revert):
    """(owner, sub): an account cannot liquidate itself."""


class NotLiquidatable(Revert):
    """(owner, sub, equity_wad, maintenance_margin_wad): equity ≥ maintenance margin."""


class LiquidationTooSmall(Revert):
    """(owner, sub, equity_wad, maintenance_margin_wad): a partial liquidation left equity < MM."""


class InsufficientFees(Revert):
    """(accrued_fees_wad, amount_wad): withdrawing more fees than accrued."""


class MarketMismatch(Revert):
    """(taker_market_id, maker_market_id): the two orders are for different markets."""


class InvalidSignature(Revert):
    """(owner, digest): the signature is not the owner's (ECDSA for an EOA, ERC-1271 for a contract)."""


class CancelledOrder(Revert):
    """(digest): the owner cancelled this order."""


class NonceTooLow(Revert):
    """(digest, nonce, min_nonce): the order's nonce is below its owner's minNonce."""


class OrderExpired(Revert):
    """(digest, expiry, now_s): block.timestamp > the order's expiry."""


class WrongSide(Revert):
    """(digest, order_size_wad, fill_size_wad): the order's size is 0 or of the other sign than its side of the fill."""


class OrderOverfill(Revert):
    """(digest, filled_wad, fill_wad, order_size_wad): filled + |fill| would exceed the order's |size|."""


class LimitPriceExceeded(Revert):
    """(digest, price_wad, limit_price_wad): a buy above its limit or a sell below it."""


class FeeAboveMax(Revert):
    """(digest, fee_rate_wad, max_fee_wad): the market's fee rate for this side exceeds the order's cap."""


class NotOrderOwner(Revert):
    """(account, owner): only the order's owner may cancel it."""


class NonceNotIncreasing(Revert):
    """(min_nonce, nonce): cancelOrdersBelow must raise the caller's minNonce."""


# OpenZeppelin Ownable / Pausable, as inherited by the contract.
class OwnableUnauthorizedAccount(Revert):
    """(account): the caller is not the owner (or, for acceptOwnership, not the pending owner)."""


class OwnableInvalidOwner(Revert):
    """(owner): the zero address as initial owner."""


class EnforcedPause(Revert):
    """(): the operation increases risk while the engine is paused (or pause() when paused)."""


class ExpectedPause(Revert):
    """(): unpause() when not paused."""


class SettledMarket(Revert):
    """(market_id): the market is settled (no trading, liquidation, rate change or second settlement)."""


class MarketNotSettled(Revert):
    """(market_id): closing at the settlement price needs a settled market."""


class ShortDelivery(Revert):
    """(expected_tokens, received_tokens): the token delivered less than transferred (fee-on-transfer)."""


class NegativeEquity(Revert):
    """(owner, sub, equity_wad): a fill would leave the account with negative equity."""


class MarginHealthDecreased(Revert):
    """(owner, sub, equity_before, maintenance_before, equity_after, maintenance_after): a fill left the
    account below initial margin with a lower equity/maintenance ratio than before."""

"""Engine checkpoints: what ``MarginEngine.checkpoint()`` records (docs/spec.md §5.11).

:class:`CheckpointData` is the contract's struct of the same name, field for field; its digest is
``keccak256(abi.encode(data))``, the value the engine stores and the registry compares. The
market views are :class:`pymargin.model.MarketView` (the contract's ``MarketSnapshot``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from pymargin.model import Account, MarketView

MARKET_SNAPSHOT_ABI = "(uint256,int256,uint256,uint256)"
MARKET_AGGREGATE_ABI = "(uint256,int256,int256)"
CHECKPOINT_DATA_ABI = (
    f"(uint256,uint256,uint256,{MARKET_SNAPSHOT_ABI}[],{MARKET_AGGREGATE_ABI}[],uint256,int256,uint256,uint256,uint256,uint256)"
)


@dataclass(frozen=True)
class MarketAggregate:
    """Running sums over every account's position in one market (the contract's ``MarketAggregate``)."""

    long_size_wad: int  # Σ max(size, 0) = Σ max(−size, 0) (= open interest)
    cost_basis_wad: int  # Σ cost basis (signed)
    size_funding_wad2: int  # Σ size · f, f the position's funding index (exact product, WAD²)


@dataclass(frozen=True)
class CheckpointData:
    """The engine at the end of a checkpoint's block (the contract's ``CheckpointData``)."""

    id: int  # 1, 2, 3, ... (the epoch the registry posts against)
    block_number: int
    timestamp: int
    markets: tuple[MarketView, ...]  # every market, accrued to ``timestamp``
    aggregates: tuple[MarketAggregate, ...]  # one per market
    account_count: int  # accounts ever opened
    collateral_sum_wad: int  # Σ collateral (signed)
    vault_balance_wad: int  # collateral token balance · scale
    accrued_fees_wad: int
    insurance_fund_wad: int
    bad_debt_wad: int

    def to_abi(self) -> tuple:
        """The struct as nested tuples, in the ABI's field order (for eth-abi and web3)."""
        return (
            self.id, self.block_number, self.timestamp,
            tuple((v.price_wad, v.funding_index_wad, v.imf_wad, v.mmf_wad) for v in self.markets),
            tuple((a.long_size_wad, a.cost_basis_wad, a.size_funding_wad2) for a in self.aggregates),
            self.account_count, self.collateral_sum_wad, self.vault_balance_wad, self.accrued_fees_wad,
            self.insurance_fund_wad, self.bad_debt_wad,
        )

    @classmethod
    def from_abi(cls, value: Any) -> "CheckpointData":
        """The struct from its ABI value (a decoded tuple, or web3's dict of named fields)."""
        id_, block, timestamp, markets, aggregates, *rest = _fields(value)
        return cls(id_, block, timestamp, tuple(MarketView(*_fields(m)) for m in markets),
                   tuple(MarketAggregate(*_fields(a)) for a in aggregates), *rest)

    def owner_fees_wad(self) -> int:
        """Fees owed to the owner at the checkpoint: accruedFees − badDebt, or 0 (the engine's ownerFeesWad)."""
        return max(self.accrued_fees_wad - self.bad_debt_wad, 0)


def _fields(value: Any) -> tuple:
    """A struct's fields in order, from a tuple or a mapping of named fields (web3's AttributeDict)."""
    return tuple(value.values()) if isinstance(value, Mapping) else tuple(value)


def encode_checkpoint(data: CheckpointData) -> bytes:
    """abi.encode(data), as Solidity encodes the struct (one dynamic tuple)."""
    return abi_encode([CHECKPOINT_DATA_ABI], [data.to_abi()])


def decode_checkpoint(encoded: bytes) -> CheckpointData:
    """The inverse of :func:`encode_checkpoint`."""
    return CheckpointData.from_abi(abi_decode([CHECKPOINT_DATA_ABI], encoded)[0])


def checkpoint_digest(data: CheckpointData) -> bytes:
    """keccak256(abi.encode(data)): the hash ``checkpointHash(id)`` stores."""
    return keccak(encode_checkpoint(data))


def book_aggregates(accounts: Iterable[Account], market_count: int) -> tuple[int, int, tuple[MarketAggregate, ...]]:
    """(account count, Σ collateral, per market 0 .. market_count − 1 (Σ max(size, 0), Σ cost basis, Σ size·f))
    recomputed from a book's accounts: what the engine's running aggregates must equal (exact integers).
    A position in a market ≥ market_count raises ValueError."""
    count, collateral = 0, 0
    sums = [[0, 0, 0] for _ in range(market_count)]
    for account in accounts:
        count += 1
        collateral += account.collateral
        for pos in account.positions.values():
            if not 0 <= pos.market_id < market_count:
                raise ValueError(f"{account.account_id}: position in market {pos.market_id}, the engine has {market_count}")
            s = sums[pos.market_id]
            s[0] += max(pos.size, 0)
            s[1] += pos.cost_basis
            s[2] += pos.size * pos.funding_index
    return count, collateral, tuple(MarketAggregate(*s) for s in sums)


__all__ = [
    "CheckpointData", "MarketAggregate", "book_aggregates", "checkpoint_digest", "decode_checkpoint", "encode_checkpoint",
]

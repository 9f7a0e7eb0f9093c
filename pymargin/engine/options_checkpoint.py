"""Options checkpoints: what ``OptionsEngine.checkpoint()`` records (docs/spec.md §5.13 Checkpoint).

:class:`OptionsCheckpointData` is the contract's struct of the same name, field for field; its digest
is ``keccak256(abi.encode(data))``, the value ``optionsCheckpointHash(id)`` stores. It is taken in the
same transaction as the engine checkpoint ``engine_checkpoint_id`` (:mod:`pymargin.engine.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

from pymargin.riskarray import InstrumentKind

SERIES_SNAPSHOT_ABI = "(uint256,uint256,uint8,uint256,uint256,uint256,uint256,uint256,int256[16],uint256,uint256,bool,uint256,uint256)"
PERP_MAPPING_ABI = "(uint256,uint256)"
OPTIONS_CHECKPOINT_DATA_ABI = f"(uint256,uint256,uint256,{SERIES_SNAPSHOT_ABI}[],{PERP_MAPPING_ABI}[],uint256)"


@dataclass(frozen=True)
class SeriesSnapshot:
    """One series of the book at a checkpoint with the module's aggregates (the contract's ``SeriesSnapshot``)."""

    series_id: int
    underlying_id: int
    kind: InstrumentKind
    strike_wad: int
    expiry: int
    price_wad: int  # the mark: price, vol, time (0 until marked)
    vol_wad: int
    marked_at: int
    risk_array: tuple[int, ...]  # 16 scenario P&Ls per long unit (WAD)
    som_wad: int  # short-option minimum per short unit at the mark (Ceil); 0 for a perp
    value_wad: int  # per long unit: payoff once settled, else Black-76 at the mark (Floor); 0 for a perp
    settled: bool
    long_size_wad: int  # Σ max(size, 0) over the positions (openInterest)
    short_size_wad: int  # Σ max(−size, 0) over the positions (shortInterest)

    def to_abi(self) -> tuple:
        return (self.series_id, self.underlying_id, int(self.kind), self.strike_wad, self.expiry, self.price_wad,
                self.vol_wad, self.marked_at, tuple(self.risk_array), self.som_wad, self.value_wad, self.settled,
                self.long_size_wad, self.short_size_wad)

    @classmethod
    def from_abi(cls, value: Any) -> "SeriesSnapshot":
        f = list(_fields(value))
        f[2], f[8] = InstrumentKind(f[2]), tuple(f[8])
        return cls(*f)


@dataclass(frozen=True)
class OptionsCheckpointData:
    """The options book at an engine checkpoint (the contract's ``OptionsCheckpointData``)."""

    engine_checkpoint_id: int  # the engine checkpoint (epoch) taken in the same transaction
    block_number: int
    timestamp: int
    series: tuple[SeriesSnapshot, ...]  # every series of the book but the settled ones without positions, by id
    perps: tuple[tuple[int, int], ...]  # (engine market id, perp series id) of every mapped market, by market id
    im_multiple_wad: int

    def to_abi(self) -> tuple:
        """The struct as nested tuples, in the ABI's field order (for eth-abi and web3)."""
        return (self.engine_checkpoint_id, self.block_number, self.timestamp, tuple(s.to_abi() for s in self.series),
                tuple(tuple(p) for p in self.perps), self.im_multiple_wad)

    @classmethod
    def from_abi(cls, value: Any) -> "OptionsCheckpointData":
        """The struct from its ABI value (a decoded tuple, or web3's dict of named fields)."""
        engine_id, block, timestamp, series, perps, im_multiple = _fields(value)
        return cls(engine_id, block, timestamp, tuple(SeriesSnapshot.from_abi(s) for s in series),
                   tuple(tuple(_fields(p)) for p in perps), im_multiple)


def _fields(value: Any) -> tuple:
    """A struct's fields in order, from a tuple or a mapping of named fields (web3's AttributeDict)."""
    return tuple(value.values()) if isinstance(value, Mapping) else tuple(value)


def encode_options_checkpoint(data: OptionsCheckpointData) -> bytes:
    """abi.encode(data), as Solidity encodes the struct (one dynamic tuple)."""
    return abi_encode([OPTIONS_CHECKPOINT_DATA_ABI], [data.to_abi()])


def decode_options_checkpoint(encoded: bytes) -> OptionsCheckpointData:
    """The inverse of :func:`encode_options_checkpoint`."""
    return OptionsCheckpointData.from_abi(abi_decode([OPTIONS_CHECKPOINT_DATA_ABI], encoded)[0])


def options_checkpoint_digest(data: OptionsCheckpointData) -> bytes:
    """keccak256(abi.encode(data)): the hash ``optionsCheckpointHash(id)`` stores."""
    return keccak(encode_options_checkpoint(data))


def series_aggregates(positions: Iterable[tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """Series id -> (Σ max(size, 0), Σ max(−size, 0)) over ``(series id, size)`` positions: what the
    module's openInterest and shortInterest must equal (exact integers; series without positions absent)."""
    sums: dict[int, list[int]] = {}
    for series_id, size in positions:
        s = sums.setdefault(series_id, [0, 0])
        s[0] += max(size, 0)
        s[1] += max(-size, 0)
    return {sid: (long, short) for sid, (long, short) in sums.items()}


def aggregate_mismatches(data: OptionsCheckpointData, positions: Iterable[tuple[int, int]]) -> list[str]:
    """Each series aggregate of ``positions`` that differs from the checkpoint's, named as in the contract
    (``longSizeWad[series 3]: checkpoint X, book Y``); a position in a series the data leaves out is one too."""
    sums = series_aggregates(positions)
    out = []
    for snap in data.series:
        long, short = sums.pop(snap.series_id, (0, 0))
        for name, want, got in (("longSizeWad", snap.long_size_wad, long), ("shortSizeWad", snap.short_size_wad, short)):
            if want != got:
                out.append(f"{name}[series {snap.series_id}]: checkpoint {want}, book {got}")
    out += [f"series {sid}: positions in the book, not in the checkpoint" for sid in sorted(sums)]
    return out


__all__ = [
    "OptionsCheckpointData", "SeriesSnapshot", "aggregate_mismatches", "decode_options_checkpoint",
    "encode_options_checkpoint", "options_checkpoint_digest", "series_aggregates",
]

"""The leaf of an account (docs/spec.md §6.2): id hash, salt, collateral and four position slots.

    a_k = market_id * 2^95 + (size + 2^94)          b_k = (cost_basis + 2^130) * 2^101 + (funding_index + 2^100)
    leaf    = Poseidon_11(id_hash, salt, collateral + 2^128, a_0, b_0, a_1, b_1, a_2, b_2, a_3, b_3)

Signed values enter with an offset (x + bound). Occupied slots come first in increasing market id,
empty slots are (0, 0, 0, 0). An account holding options (a book with options, §6.2, §7.9) also commits
its option slots (row, size): its leaf is Poseidon_2(leaf, Poseidon_P(row·2^95 + size + 2^94 …)); a leaf
without an option keeps the hash above. Every value is checked against its bound, in the order the contract checks
them, raising the contract's custom error (:class:`CollateralOutOfBounds`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import sha3  # safe-pysha3: keccak256 in C, ~7x faster per call than eth_hash's pycryptodome backend

import numpy as np

from pymargin import batch, margin
from pymargin.commit.poseidon import poseidon
from pymargin.errors import Revert, UserError
from pymargin.model import (
    COLLATERAL_BOUND,
    COST_BASIS_BOUND,
    FUNDING_INDEX_BOUND,
    MAX_POSITIONS,
    SIZE_BOUND,
    Account,
    MarketView,
    Position,
)

ID_BITS = 248  # id_hash and salt are the top 248 bits of a keccak256
PUBLIC_SALT = 0  # the salt of every leaf of a book read from an engine (anyone can rebuild its root)
MARKET_ID_BOUND = 2**64
LEAF_SUM_BOUND = 2**140  # a leaf's liability max(equity, 0) and maintenance margin lie in [0, 2^140)
SECRET_BYTES = 32
LEAF_ARITY = 3 + 2 * MAX_POSITIONS  # the leaf's Poseidon inputs: id hash, salt, collateral, (a_k, b_k) per slot


class IdHashOutOfRange(Revert):
    """id_hash >= 2^248."""


class SaltOutOfRange(Revert):
    """salt >= 2^248."""


class CollateralOutOfBounds(Revert):
    """|collateral| >= 2^128."""


class MarketIdOutOfRange(Revert):
    """market_id >= 2^64."""


class SizeOutOfBounds(Revert):
    """|size| >= 2^94."""


class CostBasisOutOfBounds(Revert):
    """|cost_basis| >= 2^130."""


class FundingIndexOutOfBounds(Revert):
    """|funding_index| >= 2^100."""


def keccak(data: bytes) -> bytes:
    """keccak256(data) (Ethereum's Keccak, not NIST SHA3-256)."""
    return sha3.keccak_256(data).digest()


def account_id_hash(account_id: str) -> int:
    """uint256(keccak256(utf8(account_id))) >> 8: the top 248 bits of the id's keccak256."""
    return int.from_bytes(keccak(account_id.encode()), "big") >> (256 - ID_BITS)


def account_salt(secret: bytes, account_id: str) -> int:
    """uint256(keccak256(secret || utf8(account_id))) >> 8: the account's salt from the operator's 32-byte secret."""
    if len(secret) != SECRET_BYTES:
        raise UserError(f"the commitment secret must be {SECRET_BYTES} bytes, got {len(secret)}")
    return int.from_bytes(keccak(secret + account_id.encode()), "big") >> (256 - ID_BITS)


@dataclass(frozen=True)
class Slot:
    """One position slot; the empty slot is (0, 0, 0, 0)."""

    market_id: int = 0
    size: int = 0
    cost_basis: int = 0
    funding_index: int = 0

    def check(self) -> None:
        """Raise the contract's error for the first value outside its bound (market id, size, cost, funding index)."""
        if not 0 <= self.market_id < MARKET_ID_BOUND:
            raise MarketIdOutOfRange(self.market_id)
        if abs(self.size) >= SIZE_BOUND:
            raise SizeOutOfBounds(self.size)
        if abs(self.cost_basis) >= COST_BASIS_BOUND:
            raise CostBasisOutOfBounds(self.cost_basis)
        if abs(self.funding_index) >= FUNDING_INDEX_BOUND:
            raise FundingIndexOutOfBounds(self.funding_index)

    def packed(self) -> tuple[int, int]:
        """(a, b) = (market_id * 2^95 + size + 2^94, (cost_basis + 2^130) * 2^101 + funding_index + 2^100)."""
        a = self.market_id * 2 * SIZE_BOUND + (self.size + SIZE_BOUND)
        b = (self.cost_basis + COST_BASIS_BOUND) * 2 * FUNDING_INDEX_BOUND + (self.funding_index + FUNDING_INDEX_BOUND)
        return a, b


EMPTY_SLOT = Slot()


@dataclass(frozen=True)
class OptionSlot:
    """One option slot: the series' row in the epoch's option tables and the size (WAD, signed); empty: (0, 0)."""

    row: int = 0
    size: int = 0

    def check(self) -> None:
        """Raise the contract's error for a row outside [0, 2^64) or |size| >= 2^94."""
        if not 0 <= self.row < MARKET_ID_BOUND:
            raise MarketIdOutOfRange(self.row)
        if abs(self.size) >= SIZE_BOUND:
            raise SizeOutOfBounds(self.size)

    def packed(self) -> int:
        """row * 2^95 + size + 2^94 (as §7.8's positionsHash)."""
        return self.row * 2 * SIZE_BOUND + self.size + SIZE_BOUND


def options_leaf_hash(leaf_hash: int, options: Sequence[OptionSlot]) -> int:
    """The leaf of an account with option slots: ``leaf_hash`` when every size is 0, else
    Poseidon_2(leaf_hash, Poseidon_P(packed slots))."""
    if not any(o.size for o in options):
        return leaf_hash
    return poseidon([leaf_hash, poseidon([o.packed() for o in options])])


def _occupied(slot: Slot) -> bool:
    """slot != EMPTY_SLOT (any field non-zero), without building the dataclass's comparison tuples."""
    return bool(slot.market_id or slot.size or slot.cost_basis or slot.funding_index)


@dataclass(frozen=True)
class Leaf:
    """An account's committed data: the hash inputs of its leaf."""

    id_hash: int
    salt: int
    collateral: int
    slots: tuple[Slot, Slot, Slot, Slot]
    options: tuple[OptionSlot, ...] = ()  # P option slots in a book with options; () or all empty: none

    def check(self) -> None:
        """Raise the contract's error for the first value outside its bound (id hash, salt, collateral, slots 0..3,
        option slots)."""
        if not 0 <= self.id_hash < 2**ID_BITS:
            raise IdHashOutOfRange(self.id_hash)
        if not 0 <= self.salt < 2**ID_BITS:
            raise SaltOutOfRange(self.salt)
        if abs(self.collateral) >= COLLATERAL_BOUND:
            raise CollateralOutOfBounds(self.collateral)
        for slot in self.slots:
            slot.check()
        for option in self.options:
            option.check()

    @property
    def holds_options(self) -> bool:
        """Some option slot has a size other than 0."""
        return any(o.size for o in self.options)

    def hash_inputs(self) -> list[int]:
        """The 11 inputs of the leaf's Poseidon: id_hash, salt, collateral + 2^128, a_0, b_0, ..., a_3, b_3 (bounds
        not checked)."""
        return [self.id_hash, self.salt, self.collateral + COLLATERAL_BOUND, *(v for slot in self.slots for v in slot.packed())]

    def hash(self) -> int:
        """Poseidon_11(id_hash, salt, collateral + 2^128, a_0, b_0, ..., a_3, b_3) after checking every bound; with
        options, Poseidon_2 of that and the option slots' hash (:func:`options_leaf_hash`)."""
        self.check()
        return options_leaf_hash(poseidon(self.hash_inputs()), self.options)

    def positions(self) -> list[Position]:
        """The occupied slots as positions (size != 0), in slot order."""
        return [Position(s.market_id, s.size, s.cost_basis, s.funding_index) for s in self.slots if _occupied(s)]


PADDING_LEAF = Leaf(0, 0, 0, (EMPTY_SLOT,) * MAX_POSITIONS)


def leaf_hashes(leaves: Sequence[Leaf]) -> list[int]:
    """[leaf.hash() for leaf in leaves], computed in one batch (pymargin.commit.poseidon_opt): the bounds are checked
    leaf by leaf in order with the same errors, then all leaf hashes at once."""
    from pymargin.commit.poseidon_opt import poseidon_many  # numba takes ~1 s to import: only batches load it

    for leaf in leaves:
        leaf.check()
    inputs = b"".join(v.to_bytes(32, "big") for leaf in leaves for v in leaf.hash_inputs())
    out = poseidon_many(LEAF_ARITY, inputs, checked=True)  # id hash, salt < 2^248; collateral + 2^128 < 2^129; slots < 2^232
    return [options_leaf_hash(int.from_bytes(out[32 * k: 32 * k + 32], "big"), leaf.options) for k, leaf in enumerate(leaves)]


def slots_of(positions: list[Position], where: str = "account") -> tuple[Slot, Slot, Slot, Slot]:
    """The four slots of open positions: sorted by market id, then empty slots; UserError on > 4, size 0 or a repeated market."""
    if len(positions) > MAX_POSITIONS:
        raise UserError(f"{where}: {len(positions)} positions, a leaf holds at most {MAX_POSITIONS}")
    ordered = sorted(positions, key=lambda pos: pos.market_id)
    for prev, pos in zip(ordered, ordered[1:]):
        if prev.market_id == pos.market_id:
            raise UserError(f"{where}: two positions in market {pos.market_id}")
    for pos in ordered:
        if pos.size == 0:
            raise UserError(f"{where}: position in market {pos.market_id} has size 0 (only open positions are committed)")
    slots = [Slot(p.market_id, p.size, p.cost_basis, p.funding_index) for p in ordered]
    return tuple(slots + [EMPTY_SLOT] * (MAX_POSITIONS - len(slots)))  # type: ignore[return-value]


def leaf_of(account: Account, secret: bytes | None) -> Leaf:
    """The leaf of ``account``: id hash of ``owner:sub``, salt from ``secret`` (PUBLIC_SALT when None: a book
    read from an engine, whose state is public anyway, docs/spec.md §5.11), collateral, slots (bounds checked)."""
    account_id = account.account_id
    salt = PUBLIC_SALT if secret is None else account_salt(secret, account_id)
    leaf = Leaf(account_id_hash(account_id), salt, account.collateral,
                slots_of(list(account.positions.values()), account_id))
    if leaf.id_hash == 0:
        raise UserError(f"{account_id}: id hash is 0, which is reserved for padding leaves")
    return leaf


def _positions_at(leaf: Leaf, markets: Mapping[int, MarketView], where: str) -> list[Position]:
    """The leaf's positions; UserError naming the first market without a view in ``markets``."""
    positions = leaf.positions()
    missing = sorted({p.market_id for p in positions} - set(markets))
    if missing:
        raise UserError(f"{where}: no market view for market {missing[0]}")
    return positions


def leaf_margins(leaf: Leaf, markets: Mapping[int, MarketView], where: str = "account") -> tuple[int, int, int]:
    """(equity, maintenance margin, initial margin) of the leaf's account at ``markets`` (pymargin.margin:
    Floor / Ceil / Ceil); UserError if a market is unknown."""
    positions = _positions_at(leaf, markets, where)
    return (margin.equity(leaf.collateral, positions, markets), margin.maintenance_margin(positions, markets),
            margin.initial_margin(positions, markets))


def leaf_sums(leaf: Leaf, markets: Mapping[int, MarketView], where: str = "account") -> tuple[int, int]:
    """The leaf node's sums (liability max(equity, 0), maintenance margin) at ``markets``; an account
    with negative equity (bad debt) is committed with liability 0. UserError if either sum is >= 2^140
    or a market is unknown."""
    positions = _positions_at(leaf, markets, where)
    liability = max(margin.equity(leaf.collateral, positions, markets), 0)
    mm = margin.maintenance_margin(positions, markets)
    if liability >= LEAF_SUM_BOUND or mm >= LEAF_SUM_BOUND:
        raise UserError(f"{where}: liability {liability} or maintenance margin {mm} is not below 2^140")
    return liability, mm


def leaf_sums_many(leaves: Sequence[Leaf], markets: Mapping[int, MarketView], wheres: Sequence[str]) -> list[tuple[int, int]]:
    """[leaf_sums(leaf, markets, where) for ...], the margins computed at once by :mod:`pymargin.batch` (the same
    integers); the first leaf for which leaf_sums would raise raises the same error."""
    collateral, ids, size, cost, index = [], [], [], [], []
    for leaf in leaves:
        collateral.append(leaf.collateral)
        for slot in leaf.slots:
            ids.append(slot.market_id if _occupied(slot) else batch.EMPTY)
            size.append(slot.size)
            cost.append(slot.cost_basis)
            index.append(slot.funding_index)
    if set(ids) - {batch.EMPTY} - set(markets):
        return [leaf_sums(leaf, markets, where) for leaf, where in zip(leaves, wheres)]
    shape = (len(leaves), MAX_POSITIONS)
    grid = [np.array(column, dtype=object).reshape(shape) for column in (size, cost, index)]
    book = batch.Book(collateral, np.array(ids, dtype=np.int64).reshape(shape), *grid, markets)
    values = batch.formulas(book, ("equity", "maintenance_margin"))
    sums = []
    for k, (equity, mm) in enumerate(zip(values["equity"], values["maintenance_margin"])):
        if isinstance(equity, Revert) or isinstance(mm, Revert) or equity >= LEAF_SUM_BOUND or mm >= LEAF_SUM_BOUND:
            leaf_sums(leaves[k], markets, wheres[k])  # raises this leaf's error, as the leaf-by-leaf loop would
        sums.append((max(equity, 0), mm))
    return sums

"""The batch engine: the margin formulas of :mod:`pymargin.margin` for many accounts at once, exact.

A :class:`Book` holds N accounts × ``MAX_POSITIONS`` position slots and the market views. Every
formula (:func:`equity`, :func:`unrealised_pnl`, :func:`pending_funding`, :func:`initial_margin`,
:func:`maintenance_margin`, :func:`free_collateral`, :func:`margin_ratio`, :func:`is_liquidatable`,
or all eight at once with :func:`margins`) returns one value per account, equal to what
:mod:`pymargin.margin` returns for that account, bit for bit.

How, exactly: intermediates reach ~2^250, so neither int64 nor float64 holds them. Every value is
split into signed **limbs** of 28 bits in int64 numpy arrays (value = Σ limb_j · 2^(28·j); after
normalisation limbs 0..L-2 are in [0, 2^28) and the top limb carries the sign). Products are limb
convolutions (each partial product < 2^56, sums of at most 16 stay < 2^63), carries are propagated
with floor shifts, and floor division by WAD = 10^18 (WAD² = 10^36) is long division by 10^9 two
(four) times from the top limb down (remainder·2^28 + limb < 2^58). Ceil is −floor(−x). Only the
margin ratio, a division by a per-account divisor, is done on Python integers.

Accounts with a value outside the bounds of spec §3 (where the contract may revert) are computed
one by one by :mod:`pymargin.margin`; their entries are the value or the :class:`~pymargin.errors.Revert`
instance that account raises. Inside the bounds nothing overflows, so fast-path entries are values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Mapping

import numpy as np

from pymargin import margin
from pymargin.errors import Revert, UserError
from pymargin.fixedpoint import INT256_MAX, WAD
from pymargin.model import (
    COLLATERAL_BOUND,
    COST_BASIS_BOUND,
    FRACTION_BOUND,
    FUNDING_INDEX_BOUND,
    MAX_POSITIONS,
    PRICE_BOUND,
    SIZE_BOUND,
    MarketView,
    Position,
)

LIMB_BITS = 28
LIMB = 1 << LIMB_BITS
LIMB_MASK = LIMB - 1
PIECE_BITS = 2 * LIMB_BITS  # values are cut into 56-bit pieces on Python ints, then into two limbs each
PIECE_MASK = (1 << PIECE_BITS) - 1
DIGIT = 10**9  # WAD = DIGIT^2: floor(x / WAD) is two long divisions by DIGIT
EMPTY = -1  # market id of an empty position slot
FORMULAS = (
    "equity",
    "unrealised_pnl",
    "pending_funding",
    "initial_margin",
    "maintenance_margin",
    "free_collateral",
    "margin_ratio",
    "is_liquidatable",
)


CHUNK = 1 << 16  # accounts per evaluation chunk: keeps the limb arrays (≤ 12 × CHUNK × 4 int64) in cache


class Book:
    """N accounts with up to ``MAX_POSITIONS`` positions each, and the views of their markets.

    ``collateral[i]`` is account i's collateral; slot s of account i is a position in market
    ``market_id[i][s]`` (``EMPTY`` = no position) with ``size``, ``cost_basis`` and
    ``funding_index`` at ``[i][s]`` (ignored in empty slots). Values are int256 Python integers
    (nested lists, or numpy object arrays); ``markets`` maps each market id to its view.
    """

    def __init__(
        self,
        collateral: Iterable[int],
        market_id: Iterable[Iterable[int]],
        size: Iterable[Iterable[int]],
        cost_basis: Iterable[Iterable[int]],
        funding_index: Iterable[Iterable[int]],
        markets: Mapping[int, MarketView],
    ):
        self.collateral = np.array(collateral, dtype=object).reshape(-1)
        n = len(self.collateral)
        try:
            self.market_id = np.array(market_id, dtype=np.int64)
        except (ValueError, OverflowError) as exc:
            raise UserError(f"book market ids must be an N x slots table of int64 market ids: {exc}") from None
        if self.market_id.ndim != 2 or len(self.market_id) != n:
            raise UserError(f"book market ids must be a table of {n} rows (one per account) x slots")
        if self.market_id.shape[1] > MAX_POSITIONS:
            raise UserError(f"a book has at most {MAX_POSITIONS} position slots per account, got {self.market_id.shape[1]}")
        self.size = _object_grid(size, self.market_id.shape, "size")
        self.cost_basis = _object_grid(cost_basis, self.market_id.shape, "cost_basis")
        self.funding_index = _object_grid(funding_index, self.market_id.shape, "funding_index")
        self.markets = markets
        unknown = set(np.unique(self.market_id[self.market_id != EMPTY]).tolist()) - set(markets)
        if unknown:
            raise UserError(f"the book has positions in markets without a view: {sorted(unknown)[:5]}")

    @classmethod
    def from_accounts(
        cls, accounts: Iterable[tuple[int, Iterable[Position]]], markets: Mapping[int, MarketView]
    ) -> "Book":
        """A book from (collateral, positions) pairs, positions filling the slots in order."""
        collateral, ids, size, cost, index = [], [], [], [], []
        for coll, positions in accounts:
            positions = list(positions)
            if len(positions) > MAX_POSITIONS:
                raise UserError(f"an account has {len(positions)} positions, a book row holds {MAX_POSITIONS}")
            pad = MAX_POSITIONS - len(positions)
            collateral.append(coll)
            ids.append([p.market_id for p in positions] + [EMPTY] * pad)
            size.append([p.size for p in positions] + [0] * pad)
            cost.append([p.cost_basis for p in positions] + [0] * pad)
            index.append([p.funding_index for p in positions] + [0] * pad)
        return cls(collateral, np.array(ids, dtype=np.int64).reshape(-1, MAX_POSITIONS), size, cost, index, markets)

    def __len__(self) -> int:
        return len(self.collateral)

    def account(self, i: int) -> tuple[int, list[Position]]:
        """Account i as (collateral, positions), the arguments of the :mod:`pymargin.margin` formulas."""
        positions = [
            Position(int(m), self.size[i, s], self.cost_basis[i, s], self.funding_index[i, s])
            for s, m in enumerate(self.market_id[i])
            if m != EMPTY
        ]
        return self.collateral[i], positions


def _object_grid(values, shape: tuple[int, int], name: str) -> np.ndarray:
    try:
        grid = np.array(values, dtype=object).reshape(shape)
    except ValueError:
        raise UserError(f"book column {name} does not have the shape {shape} of market_id") from None
    return grid


# ---------------------------------------------------------------------------------- limbs


def _split(values: np.ndarray, pieces: int, bound: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Normalised limbs (2·pieces, *shape) of an object array, and the mask of |v| < bound.

    The value is cut into 56-bit pieces on Python ints (low pieces unsigned, the top piece the
    floor shift, signed) and each piece into two limbs. The bound (a power of two) is checked
    exactly from the pieces; a value outside it becomes 0 (its account takes the slow path).
    """
    low, rest = [], values
    for _ in range(pieces - 1):
        low.append((rest & PIECE_MASK).astype(np.int64))
        rest = rest >> PIECE_BITS
    top = rest.astype(np.float64)  # exact where it matters: |top| < 2^53 near the bounds below
    if bound is None:
        ok = np.ones(values.shape, dtype=bool)
    else:
        t = float(bound >> (PIECE_BITS * (pieces - 1)))
        low_nonzero = np.logical_or.reduce([p != 0 for p in low]) if low else np.zeros(values.shape, dtype=bool)
        ok = (top < t) & ((top > -t) | ((top == -t) & low_nonzero))
    out = np.empty((2 * pieces, *values.shape), dtype=np.int64)
    for k, piece in enumerate(low + [np.where(ok, top, 0).astype(np.int64)]):
        piece = np.where(ok, piece, 0)
        out[2 * k] = piece & LIMB_MASK
        out[2 * k + 1] = piece >> LIMB_BITS  # floor shift: the top piece keeps the sign
    return out, ok


def _to_ints(x: np.ndarray) -> list[int]:
    """Normalised limbs of values below 2^167 in magnitude -> Python ints (three 56-bit pieces)."""
    x = _resize(x, 6)
    p0 = (x[0] + (x[1] << LIMB_BITS)).tolist()
    p1 = (x[2] + (x[3] << LIMB_BITS)).tolist()
    p2 = (x[4] + (x[5] << LIMB_BITS)).tolist()  # signed
    return [(c << 112) | (b << 56) | a for a, b, c in zip(p0, p1, p2)]


def _normalise(x: np.ndarray) -> np.ndarray:
    """Propagate carries in place so limbs 0..L-2 are in [0, 2^28); the top limb keeps the sign."""
    for j in range(len(x) - 1):
        carry = x[j] >> LIMB_BITS
        x[j] &= LIMB_MASK
        x[j + 1] += carry
    return x


def _resize(x: np.ndarray, n: int) -> np.ndarray:
    """The same value in n normalised limbs (the value must fit them)."""
    if len(x) == n:
        return x
    if len(x) < n:
        return _normalise(np.concatenate([x, np.zeros((n - len(x), *x.shape[1:]), np.int64)]))
    top = x[-1].copy()
    for j in range(len(x) - 2, n - 2, -1):
        top = (top << LIMB_BITS) + x[j]
    return np.concatenate([x[: n - 1], top[None]])


def _mul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Product of two normalised limb arrays (same trailing shape), normalised."""
    out = np.zeros((len(x) + len(y), *x.shape[1:]), dtype=np.int64)
    for i in range(len(x)):
        for j in range(len(y)):
            out[i + j] += x[i] * y[j]
    return _normalise(out)


def _neg(x: np.ndarray) -> np.ndarray:
    return _normalise(-x)


def _add(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = max(len(x), len(y)) + 1
    return _normalise(_resize(x, n) + _resize(y, n))


def _sub(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    n = max(len(x), len(y)) + 1
    return _normalise(_resize(x, n) - _resize(y, n))


def _sum_slots(x: np.ndarray) -> np.ndarray:
    """Σ over the position slots (last axis); limbs < 2^28 summed over ≤ 4 slots cannot overflow."""
    total = np.zeros((len(x) + 1, *x.shape[1:-1]), np.int64)
    for s in range(x.shape[-1]):  # slot by slot: faster than a strided reduce over a short axis
        total[:-1] += x[..., s]
    return _normalise(total)


def _is_negative(x: np.ndarray) -> np.ndarray:
    return x[-1] < 0


def _floor_div_digit(x: np.ndarray) -> np.ndarray:
    """floor(x / 10^9) by long division from the top limb (remainder·2^28 + limb < 2^58)."""
    q = np.empty_like(x)
    q[-1] = np.floor_divide(x[-1], DIGIT)
    rem = x[-1] - q[-1] * DIGIT
    for j in range(len(x) - 2, -1, -1):
        cur = (rem << LIMB_BITS) + x[j]
        q[j] = cur // DIGIT  # cur >= 0
        rem = cur - q[j] * DIGIT
    return q


def _floor_div_wad_power(x: np.ndarray, power: int) -> np.ndarray:
    """floor(x / WAD^power): 2·power long divisions by 10^9 (nested floors by positive divisors compose)."""
    for _ in range(2 * power):
        x = _floor_div_digit(x)
    return x


def _ceil_div_wad_power(x: np.ndarray, power: int) -> np.ndarray:
    """ceil(x / WAD^power) = -floor(-x / WAD^power)."""
    return _neg(_floor_div_wad_power(_neg(x), power))


class _Chunk:
    """Accounts [start, stop) of a book as limb arrays, every slot with its market's view.

    ``fast[i]`` says every value of account start+i is inside the spec bounds; the other accounts'
    limbs are zeros (they are computed by pymargin.margin instead). Empty slots have size and cost 0.
    """

    def __init__(self, book: Book, start: int, stop: int, market_limbs: dict, market_ok: np.ndarray, market_ids: np.ndarray):
        ids = book.market_id[start:stop]
        empty = ids == EMPTY
        row = np.where(empty, len(market_ids), np.searchsorted(market_ids, ids))
        self.fast = market_ok[row].all(axis=1)

        def slot_column(values: np.ndarray, pieces: int, bound: int) -> np.ndarray:
            limbs, ok = _split(np.where(empty, 0, values[start:stop]), pieces, bound)
            self.fast &= ok.all(axis=1)
            return limbs

        self.size = slot_column(book.size, 2, SIZE_BOUND)
        self.cost_basis = slot_column(book.cost_basis, 3, COST_BASIS_BOUND)
        self.funding_index = slot_column(book.funding_index, 2, FUNDING_INDEX_BOUND)
        self.collateral, ok = _split(book.collateral[start:stop], 3, COLLATERAL_BOUND)
        self.fast &= ok
        self.price, self.market_funding_index, self.imf, self.mmf = (
            market_limbs[k][:, row] for k in ("price", "funding_index", "imf", "mmf")
        )


def _market_table(book: Book) -> tuple[dict, np.ndarray, np.ndarray]:
    """The views of the markets the book uses, as limbs; the last row (all zero) serves empty slots.

    Returns (limbs by field, in-bounds flag per row, the sorted market ids of the rows).
    """
    ids = np.unique(book.market_id[book.market_id != EMPTY])
    views = [book.markets[m] for m in ids.tolist()]
    ok = np.array(
        [
            0 <= v.price_wad < PRICE_BOUND
            and -FUNDING_INDEX_BOUND < v.funding_index_wad < FUNDING_INDEX_BOUND
            and 0 <= v.imf_wad <= FRACTION_BOUND
            and 0 <= v.mmf_wad <= FRACTION_BOUND
            for v in views
        ]
        + [True],
        dtype=bool,
    )
    fields = {
        "price": [v.price_wad for v in views],
        "funding_index": [v.funding_index_wad for v in views],
        "imf": [v.imf_wad for v in views],
        "mmf": [v.mmf_wad for v in views],
    }
    limbs = {}
    for name, values in fields.items():
        column = np.array([v if good else 0 for v, good in zip(values, ok)] + [0], dtype=object)
        limbs[name] = _split(column, 2, None)[0]
    return limbs, ok, ids


class _Evaluation:
    """The formulas over one chunk; limb intermediates are computed on first use and shared."""

    def __init__(self, chunk: _Chunk):
        self.c = chunk

    @cached_property
    def notional_value(self) -> np.ndarray:  # size·price per slot (8 limbs)
        return _mul(self.c.size, self.c.price)

    @cached_property
    def value_sum(self) -> np.ndarray:  # Σ size·price
        return _sum_slots(self.notional_value)

    @cached_property
    def funding_sum(self) -> np.ndarray:  # Σ size·(F − f)
        return _sum_slots(_mul(self.c.size, _sub(self.c.market_funding_index, self.c.funding_index)))

    @cached_property
    def cost_sum(self) -> np.ndarray:
        return _sum_slots(self.c.cost_basis)

    @cached_property
    def equity(self) -> np.ndarray:  # (collateral − Σ cost) + ⌊Σ size·(p − (F − f)) / WAD⌋
        return _add(_sub(self.c.collateral, self.cost_sum), _floor_div_wad_power(_sub(self.value_sum, self.funding_sum), 1))

    @cached_property
    def unrealised_pnl(self) -> np.ndarray:  # ⌊Σ size·p / WAD⌋ − Σ cost
        return _sub(_floor_div_wad_power(self.value_sum, 1), self.cost_sum)

    @cached_property
    def pending_funding(self) -> np.ndarray:  # ⌊−Σ size·(F − f) / WAD⌋
        return _floor_div_wad_power(_neg(self.funding_sum), 1)

    @cached_property
    def notional(self) -> np.ndarray:  # |size|·price = |size·price| per slot, as price ≥ 0
        v = self.notional_value
        return np.where(_is_negative(v), _neg(v), v)

    @cached_property
    def initial_margin(self) -> np.ndarray:  # ⌈Σ |size|·p·imf / WAD²⌉
        return _ceil_div_wad_power(_sum_slots(_mul(self.notional, self.c.imf)), 2)

    @cached_property
    def maintenance_margin(self) -> np.ndarray:  # ⌈Σ |size|·p·mmf / WAD²⌉
        return _ceil_div_wad_power(_sum_slots(_mul(self.notional, self.c.mmf)), 2)

    @cached_property
    def free_collateral(self) -> np.ndarray:
        return _sub(self.equity, self.initial_margin)

    def values(self, name: str) -> np.ndarray:
        """Formula ``name`` for every account of the chunk (meaningless where not ``fast``)."""
        if name == "is_liquidatable":
            return _is_negative(_sub(self.equity, self.maintenance_margin)).astype(object)
        if name == "margin_ratio":
            eq = self.ints("equity")
            mm = self.ints("maintenance_margin")
            no_mm = mm == 0
            ratio = np.floor_divide(eq * WAD, np.where(no_mm, 1, mm))  # Floor: Python's // on exact ints
            ratio[no_mm] = INT256_MAX
            return ratio
        return self.ints(name)

    def ints(self, name: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_ints", {})
        if name not in cache:
            cache[name] = np.empty(len(self.c.fast), dtype=object)
            cache[name][:] = _to_ints(getattr(self, name))
        return cache[name]


def _reference(book: Book, name: str, i: int):
    """Formula ``name`` of account i by pymargin.margin: its value, or the Revert it raises."""
    collateral, positions = book.account(i)
    fn = getattr(margin, name)
    try:
        if name in ("equity", "free_collateral", "margin_ratio", "is_liquidatable"):
            return fn(collateral, positions, book.markets)
        return fn(positions, book.markets)
    except Revert as exc:
        return exc


def _evaluate(book: Book, names: Iterable[str]) -> dict[str, np.ndarray]:
    names = list(names)
    n = len(book)
    out = {name: np.empty(n, dtype=object) for name in names}
    market_limbs, market_ok, market_ids = _market_table(book)
    slow: list[int] = []
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        chunk = _Chunk(book, start, stop, market_limbs, market_ok, market_ids)
        ev = _Evaluation(chunk)
        for name in names:
            out[name][start:stop] = ev.values(name)
        slow.extend((start + np.flatnonzero(~chunk.fast)).tolist())
    for i in slow:
        for name in names:
            out[name][i] = _reference(book, name, i)
    return out


@dataclass
class Margins:
    """All eight formulas for every account of a book: object arrays of ints (bools for
    ``is_liquidatable``), or the Revert an account outside the bounds raises."""

    equity: np.ndarray
    unrealised_pnl: np.ndarray
    pending_funding: np.ndarray
    initial_margin: np.ndarray
    maintenance_margin: np.ndarray
    free_collateral: np.ndarray
    margin_ratio: np.ndarray
    is_liquidatable: np.ndarray


def margins(book: Book) -> Margins:
    """All eight formulas for every account, sharing their intermediates."""
    return Margins(**_evaluate(book, FORMULAS))


def equity(book: Book) -> np.ndarray:
    """collateral − Σ cost + ⌊Σ size·(p − (F − f)) / WAD⌋ per account (WAD quote, Floor)."""
    return _evaluate(book, ["equity"])["equity"]


def unrealised_pnl(book: Book) -> np.ndarray:
    """⌊Σ size·p / WAD⌋ − Σ cost per account (WAD quote, Floor)."""
    return _evaluate(book, ["unrealised_pnl"])["unrealised_pnl"]


def pending_funding(book: Book) -> np.ndarray:
    """⌊−Σ size·(F − f) / WAD⌋ per account (WAD quote, Floor: owed rounds up)."""
    return _evaluate(book, ["pending_funding"])["pending_funding"]


def initial_margin(book: Book) -> np.ndarray:
    """⌈Σ |size|·p·imf / WAD²⌉ per account (WAD quote, Ceil)."""
    return _evaluate(book, ["initial_margin"])["initial_margin"]


def maintenance_margin(book: Book) -> np.ndarray:
    """⌈Σ |size|·p·mmf / WAD²⌉ per account (WAD quote, Ceil)."""
    return _evaluate(book, ["maintenance_margin"])["maintenance_margin"]


def free_collateral(book: Book) -> np.ndarray:
    """equity − initial_margin per account (WAD quote)."""
    return _evaluate(book, ["free_collateral"])["free_collateral"]


def margin_ratio(book: Book) -> np.ndarray:
    """⌊equity·WAD / maintenance_margin⌋ per account (WAD, Floor), INT256_MAX where MM = 0."""
    return _evaluate(book, ["margin_ratio"])["margin_ratio"]


def is_liquidatable(book: Book) -> np.ndarray:
    """equity < maintenance_margin per account."""
    return _evaluate(book, ["is_liquidatable"])["is_liquidatable"]

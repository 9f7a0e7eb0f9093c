"""The batch engine's portfolio margin: spec §4.1–4.2's requirement for many accounts at once, exact.

A :class:`PortfolioBook` holds N accounts × M position slots, each slot a size in a series, and per
series its underlying, its 16-scenario risk array and its short-option minimum per short unit (the
state of ``RiskArrayBook``: :func:`series_from_risk_book` reads it from the mirror).
:func:`maintenance_margin` returns per account what ``RiskArrayBook.maintenanceMargin`` (and
:mod:`pymargin.riskarray` applied per underlying) returns: Σ over underlyings of
max(0, max_s ⌈−Σ size·array[s] / WAD⌉, ⌈Σ_short |size|·som / WAD⌉), bit for bit.

How: numpy object arrays of Python ints (exact, vectorised over accounts), chunk by chunk. The
worst scenario of a position alone is size·min(array) (long) or size·max(array) (short), one
product; accounts holding an underlying in two slots or more take the products size·array[s] as
an (n, M, 16) array, their slots sorted by underlying (so an underlying's positions are a run: no
loop over underlyings or accounts) and each run's scenario sums a running sum. The order of
underlyings does not change the exact sum, so the result equals the contract's, which takes them
in order of first appearance.

Inside the bounds (|size| < 2^94, |array[s]| < 2^130, 0 ≤ som < 2^130, M < 2^30) no int256 sum
can overflow; an account with a value outside them is computed by :mod:`pymargin.riskarray` one
by one and its entry is the value or the :class:`~pymargin.errors.Revert` (``Panic(0x11)``) it raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from pymargin import riskarray as ra
from pymargin.batch import _in_bound, _object_grid
from pymargin.errors import Revert, UserError
from pymargin.fixedpoint import WAD, Rounding, mul_wad
from pymargin.model import SIZE_BOUND

EMPTY = -1  # series id of an empty slot
ARRAY_BOUND = 2**130  # |array[s]| and som per unit below this: no int256 overflow for M < 2^30
MAX_SLOTS = 2**30
CHUNK = 1 << 14  # accounts per chunk: the (n, M, 16) products of a chunk stay in memory


@dataclass(frozen=True)
class RiskSeries:
    """What the margin of a position in one series needs: its underlying, its risk array (16 WAD
    P&L per long unit) and its short-option minimum per short unit (WAD)."""

    underlying_id: int
    risk_array: tuple[int, ...]
    som_per_unit_wad: int


class PortfolioBook:
    """N accounts × M slots: slot m of account i holds ``size[i][m]`` (WAD, signed) of series
    ``series_id[i][m]`` (``EMPTY``: no position); ``series`` maps each series id to its
    :class:`RiskSeries`. A series may appear twice in an account: both slots count, as listed."""

    def __init__(self, series_id: Iterable[Iterable[int]], size: Iterable[Iterable[int]], series: Mapping[int, RiskSeries]):
        try:
            self.series_id = np.array(series_id, dtype=np.int64)
        except (ValueError, OverflowError) as exc:
            raise UserError(f"portfolio series ids must be an N x slots table of int64 ids: {exc}") from None
        if self.series_id.ndim != 2:
            raise UserError("portfolio series ids must be a table of N rows (one per account) x slots")
        if self.series_id.shape[1] >= MAX_SLOTS:
            raise UserError(f"a portfolio row holds fewer than 2^30 slots, got {self.series_id.shape[1]}")
        self.size = _object_grid(size, self.series_id.shape, "size")
        unknown = set(np.unique(self.series_id[self.series_id != EMPTY]).tolist()) - set(series)
        if unknown:
            raise UserError(f"the portfolio has positions in series without a risk array: {sorted(unknown)[:5]}")
        for sid in set(np.unique(self.series_id).tolist()) - {EMPTY}:
            if len(series[sid].risk_array) != ra.SCENARIO_COUNT:
                raise UserError(f"series {sid}: a risk array has {ra.SCENARIO_COUNT} entries, got {len(series[sid].risk_array)}")
        self.series = series

    @classmethod
    def from_accounts(cls, accounts: Iterable[Iterable[tuple[int, int]]], series: Mapping[int, RiskSeries]) -> "PortfolioBook":
        """A book from each account's (series id, size) positions, filling the slots in order."""
        accounts = [list(a) for a in accounts]
        width = max((len(a) for a in accounts), default=0)
        ids = [[sid for sid, _ in a] + [EMPTY] * (width - len(a)) for a in accounts]
        sizes = [[size for _, size in a] + [0] * (width - len(a)) for a in accounts]
        return cls(np.array(ids, dtype=np.int64).reshape(len(accounts), width), sizes, series)

    def __len__(self) -> int:
        return len(self.series_id)

    def account(self, i: int) -> tuple[list[int], list[int]]:
        """Account i as (series ids, sizes) of its filled slots, in slot order."""
        filled = [m for m, sid in enumerate(self.series_id[i].tolist()) if sid != EMPTY]
        return [int(self.series_id[i, m]) for m in filled], [self.size[i, m] for m in filled]


def series_from_risk_book(risk_book, now: int) -> dict[int, RiskSeries]:
    """Every series of a :class:`pymargin.riskbook.RiskArrayBook` that its margin view accepts at
    ``now`` (marked, mark not stale), with som = shortOptionMinimum(kind, marked P, somFraction)."""
    out = {}
    for sid, s in enumerate(risk_book.series):
        u = risk_book.underlyings[s.underlying_id]
        if s.marked_at == 0 or now - s.marked_at > u.max_price_age_s:
            continue
        som = ra.short_option_minimum(s.kind, s.price_wad, u.som_fraction_wad)
        out[sid] = RiskSeries(s.underlying_id, tuple(s.risk_array), som)
    return out


# ---------------------------------------------------------------------------------- evaluation


def _table(book: PortfolioBook):
    """Per used series (sorted ids) plus a last all-zero row for empty slots: underlying ids (int64),
    arrays (object, rows × 16), each array's min and max, som (object) and an in-bounds flag per row."""
    ids = np.unique(book.series_id[book.series_id != EMPTY])
    rows = [book.series[s] for s in ids.tolist()]
    underlying = np.array([r.underlying_id for r in rows] + [EMPTY], dtype=np.int64)
    arrays = np.array([list(r.risk_array) for r in rows] + [[0] * ra.SCENARIO_COUNT], dtype=object).reshape(-1, ra.SCENARIO_COUNT)
    lowest = np.array([min(r.risk_array) for r in rows] + [0], dtype=object)
    highest = np.array([max(r.risk_array) for r in rows] + [0], dtype=object)
    som = np.array([r.som_per_unit_wad for r in rows] + [0], dtype=object)
    ok = _in_bound(arrays, ARRAY_BOUND).all(axis=1) & _in_bound(som, ARRAY_BOUND, signed=False)
    return ids, underlying, arrays, lowest, highest, som, ok


def _ceil_wad(x: np.ndarray) -> np.ndarray:
    """⌈x / WAD⌉ elementwise (Ceil: −⌊−x / WAD⌋ on exact ints)."""
    return -np.floor_divide(-x, WAD)


def _evaluate(book: PortfolioBook, standalone: bool) -> np.ndarray:
    """Portfolio maintenance (or, with ``standalone``, Σ of each position margined alone) per account."""
    n = len(book)
    out = np.empty(n, dtype=object)
    ids, table_underlying, table_arrays, lowest, highest, table_som, table_ok = _table(book)
    slow: list[int] = []
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        sid = book.series_id[start:stop]
        empty = sid == EMPTY
        row = np.where(empty, len(ids), np.searchsorted(ids, sid))
        size = np.where(empty, 0, book.size[start:stop])
        fast = table_ok[row].all(axis=1) & _in_bound(size, SIZE_BOUND).all(axis=1)
        short_som = np.where(size < 0, -size, 0) * table_som[row]  # (n, M): |size|·som of short slots
        # a position alone: min_s size·array[s] = size·min(array) for a long, size·max(array) for a short
        alone = _requirement(size * np.where(size < 0, highest[row], lowest[row]), short_som)
        total = _sum_slots(alone)
        if not standalone:
            # an underlying held in two slots or more nets them: those accounts take the 16 scenario sums
            underlying = np.where(empty, EMPTY - np.arange(sid.shape[1]), table_underlying[row])  # empty slots: own groups
            ordered = np.sort(underlying, axis=1)
            netted = np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1))
            product = size[netted][:, :, None] * table_arrays[row[netted]]  # size·array[s], exact
            total[netted] = _portfolio(product, short_som[netted], underlying[netted])
        out[start:stop] = total
        slow.extend((start + np.flatnonzero(~fast)).tolist())
    reference = standalone_margin_reference if standalone else maintenance_margin_reference
    for i in slow:
        try:
            out[i] = reference(book, i)
        except Revert as exc:
            out[i] = exc
    return out


def _sum_slots(x: np.ndarray) -> np.ndarray:
    """Σ over the slots (columns) of an (n, M) object array."""
    total = np.zeros(x.shape[0], dtype=object)
    for m in range(x.shape[1]):
        total = total + x[:, m]
    return total


def _requirement(worst: np.ndarray, som: np.ndarray) -> np.ndarray:
    """max(0, −⌊worst / WAD⌋, ⌈som / WAD⌉) elementwise, with worst = min_s Σ size·array[s]: as Ceil is
    monotone, max_s ⌈−t_s / WAD⌉ = ⌈−min_s t_s / WAD⌉ = −⌊min_s t_s / WAD⌋ (one division)."""
    return np.maximum(np.maximum(-np.floor_divide(worst, WAD), 0), _ceil_wad(som))


def _portfolio(product: np.ndarray, short_som: np.ndarray, underlying: np.ndarray) -> np.ndarray:
    """Slots sorted by underlying within each account (a stable sort: groups become runs), a running
    sum per run, and each run's requirement added where the run ends."""
    n, slots = underlying.shape
    order = np.argsort(underlying, axis=1, kind="stable")
    underlying = np.take_along_axis(underlying, order, axis=1)
    product = np.take_along_axis(product, order[:, :, None], axis=1)
    short_som = np.take_along_axis(short_som, order, axis=1)
    total = np.zeros(n, dtype=object)
    for m in range(slots):
        if m == 0:
            run, som = product[:, 0], short_som[:, 0]
        else:
            same = underlying[:, m] == underlying[:, m - 1]
            run = np.where(same[:, None], run + product[:, m], product[:, m])
            som = np.where(same, som + short_som[:, m], short_som[:, m])
        ends = underlying[:, m] != underlying[:, m + 1] if m + 1 < slots else np.ones(n, dtype=bool)
        total = total + np.where(ends, _requirement(np.min(run, axis=1), som), 0)
    return total


def maintenance_margin(book: PortfolioBook) -> np.ndarray:
    """Per account: Σ over underlyings of RiskArrays.maintenanceMargin of its positions there
    (WAD quote, the scenario losses and the som rounded up, Ceil); a Revert out of bounds."""
    return _evaluate(book, standalone=False)


def initial_margin(book: PortfolioBook, im_multiple_wad: int) -> np.ndarray:
    """Per account ⌈maintenance · multiple / WAD⌉ (Ceil), as ``RiskArrayBook.initialMargin``;
    reverts InitialMultipleBelowOne(multiple) for a multiple below 1 WAD."""
    if im_multiple_wad < WAD:
        raise ra.InitialMultipleBelowOne(im_multiple_wad)
    mm = maintenance_margin(book)
    return np.array([v if isinstance(v, Revert) else mul_wad(v, im_multiple_wad, Rounding.Ceil) for v in mm.tolist()], dtype=object)


def standalone_margin(book: PortfolioBook) -> np.ndarray:
    """Per account Σ over its positions of each one's maintenance margined alone (Ceil each): the
    per-position requirement that portfolio margin is compared with."""
    return _evaluate(book, standalone=True)


def maintenance_margin_reference(book: PortfolioBook, i: int) -> int:
    """Account i by :func:`pymargin.riskarray.maintenance_margin`, underlying by underlying."""
    sids, sizes = book.account(i)
    total = 0
    for uid in dict.fromkeys(book.series[s].underlying_id for s in sids):
        group = [k for k, s in enumerate(sids) if book.series[s].underlying_id == uid]
        total += ra.maintenance_margin(
            [sizes[k] for k in group],
            [list(book.series[sids[k]].risk_array) for k in group],
            [book.series[sids[k]].som_per_unit_wad for k in group],
        )
    return total


def standalone_margin_reference(book: PortfolioBook, i: int) -> int:
    """Account i's positions margined one by one by :func:`pymargin.riskarray.maintenance_margin`, summed."""
    sids, sizes = book.account(i)
    return sum(
        ra.maintenance_margin([size], [list(book.series[s].risk_array)], [book.series[s].som_per_unit_wad])
        for s, size in zip(sids, sizes)
    )

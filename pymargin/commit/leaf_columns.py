"""Leaf records of many accounts at once, from columns: the fast path of a commitment's leaves.

The same 96-byte records (leaf hash, liability max(equity, 0), maintenance margin) as the reference path
(:func:`pymargin.commit.leaf.leaf_of`, :func:`~pymargin.commit.leaf.leaf_sums_many`,
:func:`~pymargin.commit.leaf.leaf_hashes`), bit for bit, without a Leaf or Slot object per account: the
accounts' values are gathered into flat columns once, screened against every bound in bulk (min / max over
a column), packed with numpy object arrays (exact Python ints), converted to 32-byte words with one C-level
``map`` per column and hashed in batches. Nothing is rounded but the margins, which :mod:`pymargin.batch`
computes (equity Floor, maintenance margin Ceil).

:func:`leaf_records` returns None when any account fails the screen (a bound, a missing market view, a
repeated market, a size 0, more than four positions, an id hash 0, a sum not below 2^140, a secret of the
wrong length): the caller then runs the reference path, which raises that account's error.
"""

from __future__ import annotations

from itertools import repeat
from typing import Mapping, Sequence

import numpy as np

from pymargin import batch
from pymargin.commit.leaf import (
    ID_BITS,
    LEAF_ARITY,
    LEAF_SUM_BOUND,
    PUBLIC_SALT,
    SECRET_BYTES,
    keccak,
)
from pymargin.model import COLLATERAL_BOUND, COST_BASIS_BOUND, FUNDING_INDEX_BOUND, MAX_POSITIONS, SIZE_BOUND, Account, MarketView

_SHIFT = 256 - ID_BITS
INT64_BOUND = 2**63  # pymargin.batch keys market views by int64 ids (the spec's bound, 2^64, is checked by the reference)


def _words(values) -> np.ndarray:
    """Non-negative ints < 2^256 as an (n, 32) uint8 array of 32-byte big-endian words."""
    data = b"".join(map(int.to_bytes, values, repeat(32), repeat("big")))
    return np.frombuffer(data, dtype=np.uint8).reshape(-1, 32)


def _inside(values: list[int], bound: int) -> bool:
    """Every value v has |v| < bound."""
    return not values or (-bound < min(values) and max(values) < bound)


def _salts(account_ids: list[str], secret: bytes | None) -> list[int]:
    """uint256(keccak256(secret || utf8(id))) >> 8 per account (PUBLIC_SALT each when ``secret`` is None)."""
    if secret is None:
        return [PUBLIC_SALT] * len(account_ids)
    return [int.from_bytes(keccak(secret + account_id.encode()), "big") >> _SHIFT for account_id in account_ids]


def leaf_records(accounts: Sequence[Account], id_hashes: Sequence[int], markets: Mapping[int, MarketView],
                 secret: bytes | None) -> bytes | None:
    """The 96-byte leaf records of ``accounts`` (whose id hashes are ``id_hashes``), in order, as the reference
    path computes them; None when an account fails the screen (the reference path then raises its error)."""
    from pymargin.commit.poseidon_opt import poseidon_many  # numba takes ~1 s to import: only batches load it

    n = len(accounts)
    if n == 0 or (secret is not None and len(secret) != SECRET_BYTES) or min(id_hashes) == 0:
        return None if n else b""
    collateral = [a.collateral for a in accounts]
    counts = [len(a.positions) for a in accounts]
    positions = [p for a in accounts for p in a.positions.values()]
    if max(counts) > MAX_POSITIONS or not _inside(collateral, COLLATERAL_BOUND):
        return None
    market_id, size = [p.market_id for p in positions], [p.size for p in positions]
    cost, funding = [p.cost_basis for p in positions], [p.funding_index for p in positions]
    if positions and (min(market_id) < 0 or max(market_id) >= INT64_BOUND or 0 in size or not _inside(size, SIZE_BOUND)
                 or not _inside(cost, COST_BASIS_BOUND) or not _inside(funding, FUNDING_INDEX_BOUND)
                 or not set(market_id) <= set(markets)):
        return None
    count = np.array(counts, dtype=np.int64)
    account_of = np.repeat(np.arange(n), count)  # per position
    ids = np.array(market_id, dtype=np.int64)
    order = np.lexsort((ids, account_of))  # each account's positions by market id, as slots_of orders them
    ids = ids[order]
    if np.any((ids[1:] == ids[:-1]) & (account_of[1:] == account_of[:-1])):
        return None  # a repeated market in an account
    slot_of = np.arange(len(positions)) - np.repeat(np.cumsum(count) - count, count)

    def grid(column, empty: int) -> np.ndarray:
        out = np.full((n, MAX_POSITIONS), empty, dtype=object)
        out[account_of, slot_of] = np.array(column, dtype=object)[order]
        return out

    sizes, costs, fundings = grid(size, 0), grid(cost, 0), grid(funding, 0)
    market_ids = np.full((n, MAX_POSITIONS), batch.EMPTY, dtype=np.int64)
    market_ids[account_of, slot_of] = ids
    book = batch.Book(collateral, market_ids, sizes, costs, fundings, markets)
    values = batch.formulas(book, ("equity", "maintenance_margin"))
    equity, mm = values["equity"].tolist(), values["maintenance_margin"].tolist()
    if not all(type(v) is int for v in equity) or not all(type(v) is int for v in mm):
        return None  # a market view outside its bounds: the formulas revert for this account
    liability = [v if v > 0 else 0 for v in equity]
    if max(liability) >= LEAF_SUM_BOUND or max(mm) >= LEAF_SUM_BOUND:
        return None

    # slots packed: a = market_id * 2^95 + size + 2^94, b = (cost + 2^130) * 2^101 + funding + 2^100 (empty: 0s)
    a = np.where(market_ids == batch.EMPTY, 0, market_ids).astype(object) * (2 * SIZE_BOUND) + (sizes + SIZE_BOUND)
    b = (costs + COST_BASIS_BOUND) * (2 * FUNDING_INDEX_BOUND) + (fundings + FUNDING_INDEX_BOUND)
    packed = np.stack([a, b], axis=2).reshape(n, 2 * MAX_POSITIONS)  # per account: a0 b0 a1 b1 a2 b2 a3 b3
    leaf_inputs = np.concatenate([_words(id_hashes), _words(_salts([a.account_id for a in accounts], secret)),
                                  _words([c + COLLATERAL_BOUND for c in collateral]),
                                  _words(packed.ravel().tolist()).reshape(n, 32 * 2 * MAX_POSITIONS)], axis=1)
    # every input is < p: id hash and salt < 2^248, collateral + 2^128 < 2^129, packed slot values < 2^232
    digests = np.frombuffer(poseidon_many(LEAF_ARITY, leaf_inputs.tobytes(), checked=True), dtype=np.uint8).reshape(n, 32)
    return np.concatenate([digests, _words(liability), _words(mm)], axis=1).tobytes()

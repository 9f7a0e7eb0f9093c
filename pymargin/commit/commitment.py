"""Commit to a book: every account's leaf, in the book's order, in one Merkle sum tree (docs/spec.md §6).

:func:`commit_accounts` takes the reference engine's state (a list of :class:`~pymargin.model.Account`
and ``{market_id: MarketView}``) or a loaded positions file, computes each account's leaf and its
liability max(equity, 0) and maintenance margin (``pymargin.margin``) at those market views, and builds
the tree. Leaf i is the book's account i: for a book read from an engine, the engine's account i
(creation order, ``accountAt(i)``), which is how a user finds their leaf. Accounts with negative equity
(bad debt) are committed like any other, with liability 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from pymargin.commit import leaf_columns
from pymargin.commit.leaf import Leaf, OptionSlot, account_id_hash, leaf_hashes, leaf_of, leaf_sums_many
from pymargin.commit.option_rows import OptionRows
from pymargin.commit.tree import PARALLEL_MIN_LEAVES, Node, SumTree
from pymargin.errors import UserError
from pymargin.interrupts import worker_pool
from pymargin.model import Account, MarketView

EPOCH_BOUND = 2**64


@dataclass
class Commitment:
    """A committed book: the epoch, the market views used, the accounts in leaf order, the tree."""

    epoch: int
    markets: dict[int, MarketView]
    accounts: list[Account]  # leaf i is accounts[i], the book's (the engine's) account i; ids unique
    tree: SumTree
    option_slots: dict[str, tuple[OptionSlot, ...]] = field(default_factory=dict)  # account id -> its P option slots (holders only)
    option_rows: OptionRows | None = None  # a book with options: the epoch's option tables, as inclusion proofs carry them
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False)  # account id -> leaf index

    @property
    def root(self) -> Node:
        return self.tree.root

    def index_of(self, account_id: str) -> int:
        """The leaf index of account ``owner:sub``; UserError if it is not in the book."""
        if not self._index:
            self._index.update((account.account_id, i) for i, account in enumerate(self.accounts))
        try:
            return self._index[account_id]
        except KeyError:
            raise UserError(f"account {account_id} is not in the committed book") from None

    def leaf(self, index: int, secret: bytes | None) -> Leaf:
        """The leaf data of account ``index`` (its salt recomputed from ``secret``; 0 when None), with its option
        slots in a book with options."""
        leaf = leaf_of(self.accounts[index], secret)
        options = self.option_slots.get(self.accounts[index].account_id)
        return leaf if options is None else replace(leaf, options=options)


def reference_leaf_records(accounts: Sequence[Account], markets: Mapping[int, MarketView], secret: bytes | None) -> bytes:
    """96-byte records (leaf hash, liability, mm) of ``accounts``, in order, through a Leaf per account (the
    reference path: each bound checked leaf by leaf, the first bad account's error raised); hashed in one batch."""
    leaves = [leaf_of(account, secret) for account in accounts]
    sums = leaf_sums_many(leaves, markets, [account.account_id for account in accounts])
    return b"".join(Node(digest, liability, mm).record() for digest, (liability, mm) in zip(leaf_hashes(leaves), sums))


def _leaf_records(keyed: Sequence[tuple[int, Account]], markets: Mapping[int, MarketView], secret: bytes | None) -> bytes:
    """The records of the (id hash, account) pairs ``keyed``, in order: the columnar fast path
    (pymargin.commit.leaf_columns), or the reference path when an account fails its screen (raising its error)."""
    accounts = [account for _, account in keyed]
    records = leaf_columns.leaf_records(accounts, [h for h, _ in keyed], markets, secret)
    return reference_leaf_records(accounts, markets, secret) if records is None else records


def commit_accounts(
    accounts: Sequence[Account],
    markets: Mapping[int, MarketView],
    secret: bytes | None,
    epoch: int,
    depth: int | None = None,
    workers: int = 1,
) -> Commitment:
    """Commit ``accounts`` at ``markets`` for ``epoch``: leaf i is ``accounts[i]``, padding after them.

    Raises UserError on a duplicate account, an account that breaks a bound, or a book larger
    than 2^depth. ``workers`` > 1 hashes in that many processes.
    """
    keyed = _keyed_in_order(accounts, epoch, workers)
    markets = dict(markets)
    records = _keyed_leaf_records(keyed, markets, secret, workers)
    return Commitment(epoch, markets, [a for _, a in keyed], SumTree(records, depth, workers))


def order_accounts(accounts: Sequence[Account], epoch: int, workers: int = 1) -> list[Account]:
    """``accounts`` in leaf order (the book's order); UserError on an epoch outside [0, 2^64) or a duplicate account."""
    return [a for _, a in _keyed_in_order(accounts, epoch, workers)]


def _keyed_in_order(accounts: Sequence[Account], epoch: int, workers: int) -> list[tuple[int, Account]]:
    """(id hash, account) pairs in the book's order (each hash computed once); the errors of :func:`order_accounts`."""
    if not 0 <= epoch < EPOCH_BOUND:
        raise UserError(f"epoch must be in [0, 2^64), got {epoch}")
    hashes = id_hashes(accounts, workers)
    if len(set(hashes)) < len(hashes):  # a set first: the scan below runs only to name the duplicate
        seen: dict[int, Account] = {}
        for h, a in zip(hashes, accounts):
            if h in seen:
                first = seen[h]
                what = "appears twice" if first.account_id == a.account_id else f"has the same id hash as {a.account_id}"
                raise UserError(f"account {first.account_id} {what}")
            seen[h] = a
    return list(zip(hashes, accounts))


_FORKED: tuple = ()  # the arguments of the running _fork_map, inherited by its forked workers instead of pickled


def fork_map(function, accounts: Sequence[Account], workers: int, *args) -> list:
    """[function(accounts[a:b], *args) for consecutive ranges a:b], in ``workers`` forked processes (4 ranges per
    worker). The workers inherit ``accounts`` and ``args`` through fork: only the ranges and results are pickled."""
    global _FORKED
    step = -(-len(accounts) // (4 * workers))
    bounds = [(i, min(i + step, len(accounts))) for i in range(0, len(accounts), step)]
    _FORKED = (function, accounts, args)
    try:
        with worker_pool(workers, "fork") as pool:
            return list(pool.map(_forked_range, bounds))
    finally:
        _FORKED = ()


def _forked_range(bounds: tuple[int, int]):
    function, accounts, args = _FORKED
    return function(accounts[bounds[0] : bounds[1]], *args)


def _id_hashes(accounts: Sequence[Account]) -> list[int]:
    return [account_id_hash(a.account_id) for a in accounts]


def id_hashes(accounts: Sequence[Account], workers: int = 1) -> list[int]:
    """The id hash of every account in order, computed in ``workers`` processes."""
    if workers <= 1 or len(accounts) < PARALLEL_MIN_LEAVES:
        return _id_hashes(accounts)
    return [h for part in fork_map(_id_hashes, accounts, workers) for h in part]


def _keyed_leaf_records(keyed: Sequence[tuple[int, Account]], markets: Mapping[int, MarketView], secret: bytes | None,
                        workers: int) -> bytes:
    if workers <= 1 or len(keyed) < PARALLEL_MIN_LEAVES:
        return _leaf_records(keyed, markets, secret)
    return b"".join(fork_map(_leaf_records, keyed, workers, markets, secret))


"""The fast commitment path (leaf records from columns, pymargin.commit.leaf_columns) against the reference path
(a Leaf per account, pymargin.commit.leaf): the same records and roots bit for bit on random full-precision books,
and the same error for every kind of bad account."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
from commit_books import random_book

from pymargin.commit import leaf_columns
from pymargin.commit.commitment import commit_accounts, reference_leaf_records
from pymargin.commit.leaf import account_id_hash
from pymargin.commit.poseidon import P
from pymargin.commit.poseidon_kernels import LIMBS, TILE, store_digests
from pymargin.commit.tree import SumTree
from pymargin.errors import Revert, UserError
from pymargin.model import (
    COLLATERAL_BOUND,
    COST_BASIS_BOUND,
    FUNDING_INDEX_BOUND,
    SIZE_BOUND,
    MarketView,
    Position,
)

SECRET = bytes(range(32))


def _book(seed: int, count: int):
    """A random book at full precision: normal and extreme values, accounts with 0-4 positions, values right at
    their bounds (|x| = bound - 1), negative collateral, cost bases and funding indices, and bad debt."""
    rng = random.Random(seed)
    accounts, markets = random_book(seed, count, extreme=seed % 2 == 1)
    for account in accounts:
        kind = rng.randrange(6)
        if kind == 0:  # under water: liability 0
            account.collateral -= rng.randrange(2 ** rng.randrange(1, 127))
            account.collateral = max(account.collateral, -COLLATERAL_BOUND + 1)
        elif kind == 1:  # values at their bounds, either sign
            account.collateral = rng.choice([-1, 1]) * (COLLATERAL_BOUND - 1)
            for m, pos in list(account.positions.items()):
                account.positions[m] = Position(m, rng.choice([-1, 1]) * (SIZE_BOUND - 1),
                                                rng.choice([-1, 1]) * (COST_BASIS_BOUND - 1),
                                                rng.choice([-1, 1]) * (FUNDING_INDEX_BOUND - 1))
        elif kind == 2:
            account.positions = dict(reversed(list(account.positions.items())))  # not in market order
    return accounts, markets


def _keyed(accounts):
    return sorted((account_id_hash(a.account_id), a) for a in accounts)


def _reference_or_error(accounts, markets, secret):
    try:
        return reference_leaf_records(accounts, markets, secret)
    except (UserError, Revert) as exc:
        return type(exc), str(exc)


@pytest.mark.parametrize("seed", range(4))
def test_fast_leaf_records_equal_the_reference_on_random_books(seed):
    accounts, markets = _book(seed, 150)
    keyed = _keyed(accounts)
    ordered = [a for _, a in keyed]
    for secret in (SECRET, None):
        reference = reference_leaf_records(ordered, markets, secret)
        fast = leaf_columns.leaf_records(ordered, [h for h, _ in keyed], markets, secret)
        assert fast == reference
    records = np.frombuffer(reference, dtype=">u4").reshape(-1, 3, 8)
    assert (records[:, 1] == 0).all(axis=1).any()  # some liability 0 (bad debt)
    assert max(len(a.positions) for a in accounts) == 4 and min(len(a.positions) for a in accounts) == 0


@pytest.mark.parametrize("depth", [None, 9])
def test_commitment_root_equals_the_reference_tree_with_padding(depth):
    accounts, markets = _book(7, 37)  # 37 leaves: padding at every level
    commitment = commit_accounts(accounts, markets, SECRET, 3, depth)
    reference = SumTree(reference_leaf_records(commitment.accounts, markets, SECRET), depth)
    assert commitment.tree.levels == reference.levels and commitment.root == reference.root


def _set_position(account, **values):
    m, pos = next(iter(account.positions.items()))
    account.positions[m] = Position(**{**pos.__dict__, **values})


BAD = {
    "size at the bound": lambda a, m: _set_position(a, size=-SIZE_BOUND),
    "size 0": lambda a, m: _set_position(a, size=0),
    "cost basis at the bound": lambda a, m: _set_position(a, cost_basis=COST_BASIS_BOUND),
    "funding index at the bound": lambda a, m: _set_position(a, funding_index=-FUNDING_INDEX_BOUND),
    "collateral at the bound": lambda a, m: setattr(a, "collateral", -COLLATERAL_BOUND),
    "collateral and liability over 2^140": lambda a, m: setattr(a, "collateral", 2**140 + 2**127),
    "market without a view": lambda a, m: a.positions.update({999: Position(999, 5, 7, 1)}),
    "market id 2^64": lambda a, m: a.positions.update({2**64: Position(2**64, 5, 7, 1)}),
    "two positions in one market": lambda a, m: a.positions.update({-1: Position(next(iter(a.positions)), 5, 7, 1)}),
    "five positions": lambda a, m: a.positions.update({k: Position(k, 5, 7, 1) for k in range(100, 105)}),
    "price view 2^200 (the margin overflows)": lambda a, m: m.update({k: MarketView(2**200, 0, 10**17, 5 * 10**16)
                                                                    for k in a.positions}),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_account_gets_the_reference_paths_error(kind):
    accounts, markets = _book(2, 30)
    accounts = [a for a in accounts if a.positions]
    markets = dict(markets)
    markets.update({k: MarketView(10**18, 0, 10**17, 5 * 10**16) for k in range(100, 105)})
    bad = copy.deepcopy(accounts[len(accounts) // 2])
    BAD[kind](bad, markets)
    accounts = [a for a in accounts if a.account_id != bad.account_id] + [bad]
    keyed = _keyed(accounts)
    ordered = [a for _, a in keyed]
    assert leaf_columns.leaf_records(ordered, [h for h, _ in keyed], markets, SECRET) is None
    expected = _reference_or_error(ordered, markets, SECRET)
    assert isinstance(expected, tuple), "the reference path must reject the bad account"
    with pytest.raises(expected[0]) as info:
        commit_accounts(accounts, markets, SECRET, 1)
    assert str(info.value) == expected[1]


def test_a_secret_of_the_wrong_length_is_rejected():
    accounts, markets = _book(3, 5)
    keyed = _keyed(accounts)
    assert leaf_columns.leaf_records([a for _, a in keyed], [h for h, _ in keyed], markets, SECRET[:31]) is None
    with pytest.raises(UserError, match="32 bytes"):
        commit_accounts(accounts, markets, SECRET[:31], 1)


def test_digests_equal_to_p_are_stored_as_zero():
    digest = np.zeros(LIMBS * TILE, dtype=np.uint64)
    values = [P, 0, P - 1, 2**253 + 12345]
    for i, value in enumerate(values):
        for k in range(LIMBS):
            digest[k * TILE + i] = (value >> (28 * k)) & (2**28 - 1)
    out = np.zeros(32 * (len(values) + 1), dtype=np.uint8)
    store_digests(digest, 1, len(values), out)
    stored = [int.from_bytes(out[32 * i: 32 * i + 32].tobytes(), "big") for i in range(len(values) + 1)]
    assert stored == [0, 0, 0, P - 1, 2**253 + 12345]

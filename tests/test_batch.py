"""The batch engine equals pymargin.margin on every account: values, and reverts outside the bounds."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from margin_cases import random_account

from pymargin import batch, margin
from pymargin.errors import Revert, UserError
from pymargin.model import (
    COLLATERAL_BOUND,
    COST_BASIS_BOUND,
    FUNDING_INDEX_BOUND,
    MAX_POSITIONS,
    PRICE_BOUND,
    SIZE_BOUND,
    WAD,
    MarketView,
    Position,
)

TAKES_COLLATERAL = {"equity", "free_collateral", "margin_ratio", "is_liquidatable"}


def reference(name, collateral, positions, markets):
    """pymargin.margin's answer for one account: ('value', v) or ('revert', name, args)."""
    fn = getattr(margin, name)
    try:
        return ("value", fn(collateral, positions, markets) if name in TAKES_COLLATERAL else fn(positions, markets))
    except Revert as exc:
        return ("revert", exc.name, exc.args_)


def batch_outcome(entry):
    if isinstance(entry, Revert):
        return ("revert", entry.name, entry.args_)
    assert type(entry) in (int, bool), type(entry)  # Python ints and bools, never numpy scalars
    return ("value", entry)


def merge(accounts):
    """Accounts with their own market views -> (collateral, positions) pairs over one market table."""
    pairs, markets = [], {}
    for k, (collateral, positions, views) in enumerate(accounts):
        offset = 100 * k
        pairs.append((collateral, [Position(p.market_id + offset, p.size, p.cost_basis, p.funding_index) for p in positions]))
        markets.update({m + offset: v for m, v in views.items()})
    return pairs, markets


def assert_equal_to_reference(pairs, markets, result: batch.Margins):
    mismatches = []
    for name in batch.FORMULAS:
        column = getattr(result, name)
        assert len(column) == len(pairs)
        for i, (collateral, positions) in enumerate(pairs):
            expected = reference(name, collateral, positions, markets)
            if batch_outcome(column[i]) != expected:
                mismatches.append((name, i, column[i], expected))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]}"


@pytest.fixture(params=[batch.CHUNK, 7], ids=["one-chunk", "chunks-of-7"])
def chunk(request, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", request.param)
    return request.param


def test_random_books_in_every_regime(chunk):
    rng = random.Random(99)
    pairs, markets = merge(random_account(rng, max_positions=MAX_POSITIONS) for _ in range(1500))
    result = batch.margins(batch.Book.from_accounts(pairs, markets))
    assert_equal_to_reference(pairs, markets, result)
    kinds = {batch_outcome(v)[0] for v in result.equity}
    assert kinds == {"value", "revert"}  # both paths were taken


def test_shared_markets_and_empty_slots():
    """Many accounts over a few shared markets, with empty slots in any position of the row."""
    rng = random.Random(3)
    markets = {
        m: MarketView(rng.randrange(1, PRICE_BOUND), rng.randrange(-2**99, 2**99), rng.randrange(WAD // 10, WAD), rng.randrange(0, WAD // 10))
        for m in (5, 17, 2**40, 12345)
    }
    ids, size, cost, index, collateral = [], [], [], [], []
    for _ in range(2000):
        row = [rng.choice([batch.EMPTY, *markets]) for _ in range(MAX_POSITIONS)]
        row = [m if m not in row[:s] else batch.EMPTY for s, m in enumerate(row)]  # one slot per market
        ids.append(row)
        size.append([rng.randrange(-SIZE_BOUND + 1, SIZE_BOUND) for _ in row])
        cost.append([rng.randrange(-COST_BASIS_BOUND + 1, COST_BASIS_BOUND) for _ in row])
        index.append([rng.randrange(-FUNDING_INDEX_BOUND + 1, FUNDING_INDEX_BOUND) for _ in row])
        collateral.append(rng.randrange(-COLLATERAL_BOUND + 1, COLLATERAL_BOUND))
    book = batch.Book(collateral, ids, size, cost, index, markets)
    pairs = [book.account(i) for i in range(len(book))]
    assert sum(len(p) for _, p in pairs) < 2000 * MAX_POSITIONS  # some slots are empty
    assert_equal_to_reference(pairs, markets, batch.margins(book))


def test_every_value_at_its_bound_takes_the_fast_path():
    """Each field at ±(bound − 1) (the largest in-bound magnitudes) in every sign combination: exact values, no slow path."""
    extremes = {
        "size": (SIZE_BOUND - 1, -(SIZE_BOUND - 1), 1, -1),
        "cost": (COST_BASIS_BOUND - 1, -(COST_BASIS_BOUND - 1)),
        "index": (FUNDING_INDEX_BOUND - 1, -(FUNDING_INDEX_BOUND - 1)),
        "market_index": (FUNDING_INDEX_BOUND - 1, -(FUNDING_INDEX_BOUND - 1)),
        "collateral": (COLLATERAL_BOUND - 1, -(COLLATERAL_BOUND - 1)),
    }
    pairs, markets = [], {}
    for k, (s, c, f, mf, coll) in enumerate(itertools.product(*extremes.values())):
        for slot in range(MAX_POSITIONS):
            markets[10 * k + slot] = MarketView(PRICE_BOUND - 1, mf, WAD, WAD - slot)
        pairs.append((coll, [Position(10 * k + slot, s, c, f) for slot in range(MAX_POSITIONS)]))
    book = batch.Book.from_accounts(pairs, markets)
    result = batch.margins(book)
    assert_equal_to_reference(pairs, markets, result)
    assert all(isinstance(v, int) for v in result.equity)  # inside the bounds nothing reverts


def test_values_just_outside_a_bound_take_the_slow_path():
    """|size| = 2^94 (one past the bound) is computed by pymargin.margin, with the same answer."""
    markets = {0: MarketView(PRICE_BOUND - 1, 0, WAD, WAD // 2)}
    pairs = [(0, [Position(0, sign * SIZE_BOUND, 0, 0)]) for sign in (1, -1)]
    pairs += [(-COLLATERAL_BOUND, []), (COLLATERAL_BOUND, [])]
    assert_equal_to_reference(pairs, markets, batch.margins(batch.Book.from_accounts(pairs, markets)))


def test_single_formulas_equal_margins():
    rng = random.Random(11)
    pairs, markets = merge(random_account(rng, max_positions=MAX_POSITIONS) for _ in range(300))
    book = batch.Book.from_accounts(pairs, markets)
    together = batch.margins(book)
    for name in batch.FORMULAS:
        alone = getattr(batch, name)(book)
        assert [batch_outcome(v) for v in alone] == [batch_outcome(v) for v in getattr(together, name)]


def test_empty_book():
    result = batch.margins(batch.Book.from_accounts([], {}))
    assert all(len(getattr(result, name)) == 0 for name in batch.FORMULAS)


def test_bad_books_are_user_errors():
    view = MarketView(WAD, 0, WAD // 10, WAD // 20)
    with pytest.raises(UserError, match="without a view"):
        batch.Book([0], [[7, -1, -1, -1]], [[1, 0, 0, 0]], [[0] * 4], [[0] * 4], {0: view})
    with pytest.raises(UserError, match="at most 4"):
        batch.Book([0], [[0] * 5], [[0] * 5], [[0] * 5], [[0] * 5], {0: view})
    with pytest.raises(UserError, match="shape"):
        batch.Book([0, 1], [[0, -1, -1, -1]] * 2, [[1, 0, 0]] * 2, [[0] * 4] * 2, [[0] * 4] * 2, {0: view})
    with pytest.raises(UserError, match="positions"):
        batch.Book.from_accounts([(0, [Position(0, 1, 0, 0)] * 5)], {0: view})


def test_results_are_python_ints_for_numpy_inputs():
    """Columns given as numpy object arrays work the same as lists."""
    markets = {1: MarketView(3 * WAD, WAD, WAD // 10, WAD // 20)}
    size = np.array([[2 * WAD, 0, 0, 0]], dtype=object)
    book = batch.Book(np.array([1000 * WAD], dtype=object), np.array([[1, -1, -1, -1]]), size, [[5 * WAD, 0, 0, 0]], [[0] * 4], markets)
    result = batch.margins(book)
    # 1000 − 5 + 2·(3 − 1) = 999; IM = ⌈2·3·0.1⌉ = 0.6; MM = 0.3
    assert result.equity[0] == 999 * WAD
    assert result.initial_margin[0] == 6 * WAD // 10
    assert result.margin_ratio[0] == 999 * WAD * WAD // (3 * WAD // 10)
    assert result.is_liquidatable[0] is False


def test_non_integer_values_are_user_errors():
    view = MarketView(WAD, 0, WAD // 10, WAD // 20)
    with pytest.raises(UserError, match="size holds"):
        batch.Book([0], [[0, -1, -1, -1]], [[1.5e18, 0, 0, 0]], [[0] * 4], [[0] * 4], {0: view})
    with pytest.raises(UserError, match="collateral holds"):
        batch.Book(["7"], [[0, -1, -1, -1]], [[1, 0, 0, 0]], [[0] * 4], [[0] * 4], {0: view})


def test_accounts_without_slots():
    """A book of zero slots per account: equity is the collateral, margins are 0."""
    book = batch.Book([5, -3], np.zeros((2, 0), dtype=np.int64), [[], []], [[], []], [[], []], {})
    result = batch.margins(book)
    assert list(result.equity) == [5, -3] and list(result.maintenance_margin) == [0, 0]
    assert list(result.margin_ratio) == [margin.INT256_MAX] * 2 and list(result.is_liquidatable) == [False, True]

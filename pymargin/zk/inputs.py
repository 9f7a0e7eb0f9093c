"""Circuit inputs for SolvencyBatch, AccountMargin and PrivateMargin (docs/spec.md §7).

Everything comes from a :class:`~pymargin.commit.commitment.Commitment` (leaves, tree, sums) built
from the engine's state; equity and margins come from :mod:`pymargin.margin` (through
``pymargin.commit.leaf.leaf_margins``), never recomputed here; the public hashes are
:mod:`pymargin.zk.statement`'s. Signed values are passed as field elements
(:func:`~pymargin.zk.field.to_field`); the circuit range-checks them.

The chain state between batches (internal to the circuit and this witness)::

    state = Poseidon_5(padded, Poseidon_6(L, deficit, belowMmCount, shortfall, Σmm, Σim),
                       accountCount, Σcollateral + 2^200, aggHash of the per-market sums so far)

with every sum over the leaves before the batch (all zero before batch 0). A book with options (spec
§7.9) also carries the per-row option sums: Poseidon_6(…, aggHash, seriesAggHash), and its accounts'
figures come from :func:`pymargin.zk.options.account_figures`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from pymargin.commit.commitment import Commitment
from pymargin.commit.leaf import PADDING_LEAF, Leaf, OptionSlot, leaf_margins
from pymargin.commit.poseidon import poseidon
from pymargin.errors import UserError
from pymargin.model import MarketView
from pymargin.zk.field import to_field
from pymargin.zk.options import OptionTables, account_figures
from pymargin.zk.statement import (
    EMPTY_AGGREGATE,
    EMPTY_SERIES_AGGREGATE,
    SUM_OFFSET,
    MarketAggregate,
    OptionsPart,
    SeriesAggregate,
    Shape,
    Statement,
    Totals,
    aggregates_hash,
    batch_public_signals,
    context_hash,
    markets_hash,
    series_aggregates_hash,
)

EMPTY_MARKET = MarketView(0, 0, 0, 0)
ZERO_TOTALS = Totals(0, 0, 0, 0, 0, 0, 0, 0)


def market_table(markets: Mapping[int, MarketView], m: int) -> tuple[MarketView, ...]:
    """The views of markets 0..m-1 (ids must be 0..count-1 with count <= m), padded with empty markets."""
    if any(not 0 <= j < m for j in markets):
        raise UserError(f"market ids must be 0..{m - 1} for a circuit with {m} markets, got {sorted(markets)}")
    return tuple(markets.get(j, EMPTY_MARKET) for j in range(m))


@dataclass(frozen=True)
class Sums:
    """Running sums over leaves: whether padding has begun (0 or 1), the figures of :class:`Totals` and the
    per-market sums."""

    padded: int
    totals: Totals
    aggregates: tuple[MarketAggregate, ...]
    series: tuple[SeriesAggregate, ...] | None = None  # per-row option sums, in a book with options


def zero_sums(m: int, rows: int | None = None) -> Sums:
    """The chain state before batch 0: all zero (with ``rows`` option rows in a book with options)."""
    return Sums(0, ZERO_TOTALS, (EMPTY_AGGREGATE,) * m, None if rows is None else (EMPTY_SERIES_AGGREGATE,) * rows)


def state_hash(sums: Sums) -> int:
    """Poseidon_5(padded, Poseidon_6(L, deficit, below, shortfall, Σmm, Σim), count, Σcollateral + 2^200, aggHash),
    with per-row option sums Poseidon_6(…, aggHash, seriesAggHash)."""
    t = sums.totals
    figures = poseidon([t.liabilities_wad, t.deficit_wad, t.below_mm_count, t.shortfall_wad, t.mm_wad, t.im_wad])
    parts = [sums.padded, figures, t.account_count, t.collateral_wad + SUM_OFFSET, aggregates_hash(sums.aggregates)]
    return poseidon(parts if sums.series is None else parts + [series_aggregates_hash(sums.series)])


def add_leaf(sums: Sums, leaf: Leaf, markets: Mapping[int, MarketView], market_count: int,
             tables: OptionTables | None = None) -> Sums:
    """``sums`` after one more leaf (a padding leaf only sets ``padded``). UserError if a
    position is in a market id >= ``market_count`` (the circuit cannot prove it). With option ``tables``
    the figures are the engine's over perps and options (:func:`pymargin.zk.options.account_figures`)."""
    if leaf == PADDING_LEAF:
        return replace(sums, padded=1)
    positions = leaf.positions()
    phantom = [p.market_id for p in positions if p.market_id >= market_count]
    if phantom:
        raise UserError(f"a position in market {phantom[0]}, but the engine has {market_count} market(s)")
    equity, mm, im = leaf_margins(leaf, markets) if tables is None else account_figures(tables, [leaf], markets)[0]
    t = sums.totals
    totals = Totals(
        t.liabilities_wad + max(equity, 0), t.deficit_wad + max(-equity, 0), t.below_mm_count + (equity < mm),
        t.shortfall_wad + max(mm - equity, 0), t.mm_wad + mm, t.im_wad + im, t.account_count + 1,
        t.collateral_wad + leaf.collateral,
    )
    aggregates = list(sums.aggregates)
    for p in positions:
        a = aggregates[p.market_id]
        aggregates[p.market_id] = MarketAggregate(
            a.long_size_wad + max(p.size, 0), a.short_size_wad + max(-p.size, 0),
            a.cost_basis_wad + p.cost_basis, a.size_funding_wad2 + p.size * p.funding_index,
        )
    series = sums.series
    if series is not None:
        series = list(series)
        for o in leaf.options:
            a = series[o.row]
            series[o.row] = SeriesAggregate(a.long_size_wad + max(o.size, 0), a.short_size_wad + max(-o.size, 0))
        series = tuple(series)
    return Sums(0, totals, tuple(aggregates), series)


def _leaves(commitment: Commitment, secret: bytes, start: int, stop: int) -> list[Leaf]:
    return [commitment.leaf(i, secret) if i < len(commitment.accounts) else PADDING_LEAF for i in range(start, stop)]


def book_sums(commitment: Commitment, secret: bytes, m: int, market_count: int, tables: OptionTables | None = None) -> Sums:
    """The sums over every account of the committed book (m market slots; a book with options: its ``tables``)."""
    markets = dict(enumerate(market_table(commitment.markets, m)))
    sums = zero_sums(m, None if tables is None else tables.shape.n)
    for leaf in _leaves(commitment, secret, 0, len(commitment.accounts)):
        sums = add_leaf(sums, leaf, markets, market_count, tables)
    return sums


CHAIN_ID_BOUND = 2**64  # EIP-2294's bound on chain ids; keeps the statement's binding inside the field


def epoch_statement(commitment: Commitment, secret: bytes, shape: Shape, chain_id: int, registry: int, engine: int,
                    checkpoint_id: int, market_count: int, tables: OptionTables | None = None) -> Statement:
    """The statement of the committed book for circuit ``shape``: the engine's ``market_count`` markets
    (the commitment's views, ids 0..market_count-1), the root, and totals and aggregates summed over the leaves;
    a book with options (committed by :func:`pymargin.zk.options.commit_option_book`) also its option ``tables``
    and per-row option sums."""
    if not 0 < chain_id < CHAIN_ID_BOUND:
        raise UserError(f"chain id {chain_id} must be in 1..2^64 - 1")
    for name, address in (("registry", registry), ("engine", engine)):
        if not 0 < address < 2**160:
            raise UserError(f"the {name} address {hex(address) if address >= 0 else address} is not a non-zero 20-byte address")
    if shape.depth != commitment.tree.depth or min(shape.k, shape.t) < 0:
        raise UserError(f"batches of 2^{shape.k} leaves in 2^{shape.t} batches do not make the committed tree of depth {commitment.tree.depth}")
    if not 0 <= market_count <= shape.m:
        raise UserError(f"the engine has {market_count} markets; the circuit has {shape.m} market slots")
    if any(not 0 <= j < market_count for j in commitment.markets):
        raise UserError(f"the book has views of markets {sorted(commitment.markets)}; the engine's ids are 0..{market_count - 1}")
    if tables is not None and len(tables.perp_series) != market_count:
        raise UserError(f"the option tables map {len(tables.perp_series)} markets to perp series; the engine has {market_count}")
    sums = book_sums(commitment, secret, shape.m, market_count, tables)
    options = None if tables is None else OptionsPart(tables, sums.series)
    return Statement(shape, chain_id, registry, engine, checkpoint_id, market_count,
                     market_table(commitment.markets, shape.m), sums.aggregates, commitment.root, sums.totals, options)


def _market_arrays(markets: Sequence[MarketView]) -> dict[str, list[int]]:
    return {
        "price": [v.price_wad for v in markets],
        "fundingIndex": [to_field(v.funding_index_wad) for v in markets],
        "imf": [v.imf_wad for v in markets],
        "mmf": [v.mmf_wad for v in markets],
    }


def _slots(leaf: Leaf) -> list[list[int]]:
    return [[s.market_id, to_field(s.size), to_field(s.cost_basis), to_field(s.funding_index)] for s in leaf.slots]


def _figures(t: Totals) -> list[int]:
    return [t.liabilities_wad, t.deficit_wad, t.below_mm_count, t.shortfall_wad, t.mm_wad, t.im_wad]


def _aggregate_rows(aggregates: Sequence[MarketAggregate]) -> list[list[int]]:
    return [[a.long_size_wad, a.short_size_wad, to_field(a.cost_basis_wad), to_field(a.size_funding_wad2)] for a in aggregates]


def _series_rows(series: Sequence[SeriesAggregate]) -> list[list[int]]:
    return [[a.long_size_wad, a.short_size_wad] for a in series]


def _sums_inputs(sums: Sums) -> dict:
    out = {"paddedIn": sums.padded, "figIn": _figures(sums.totals), "countIn": sums.totals.account_count,
           "collateralIn": to_field(sums.totals.collateral_wad), "aggIn": _aggregate_rows(sums.aggregates)}
    if sums.series is not None:
        out["seriesAggIn"] = _series_rows(sums.series)
    return out


def _option_table_inputs(tables: OptionTables, m: int) -> dict:
    risk = tables.risk
    return {"array": [[to_field(v) for v in row] for row in risk.array], "som": list(risk.som), "value": list(tables.value),
            "seriesKey": list(tables.series_key), "multiple": risk.multiple_wad, "perpRow": tables.perp_rows(m)}


def statement_inputs(s: Statement) -> dict:
    """The circuit inputs that carry the statement (the same in every batch)."""
    out = {
        "chainId": s.chain_id, "registry": s.registry, "engine": s.engine, "checkpointId": s.checkpoint_id,
        "marketCount": s.market_count, **_market_arrays(s.markets), "rootHash": s.root.hash,
        "totalFig": _figures(s.totals), "totalCount": s.totals.account_count,
        "totalCollateral": to_field(s.totals.collateral_wad), "totalAgg": _aggregate_rows(s.aggregates),
    }
    if s.options is not None:
        out.update(_option_table_inputs(s.options.tables, s.shape.m), totalSeriesAgg=_series_rows(s.options.aggregates))
    return out


def _option_slot_inputs(leaves: Sequence[Leaf], p: int) -> dict:
    """optionRow and optionSize of each leaf, padded with empty slots to p."""
    padded = [list(leaf.options) + [OptionSlot()] * (p - len(leaf.options)) for leaf in leaves]
    return {"optionRow": [[o.row for o in slots] for slots in padded],
            "optionSize": [[to_field(o.size) for o in slots] for slots in padded]}


@dataclass(frozen=True)
class BatchInput:
    """The inputs of batch ``index`` and the chain states around it."""

    index: int
    inputs: dict
    state_in: Sums
    state_out: Sums
    public: tuple[int, ...]  # the expected public signals (ctx, index, state_in, state_out)


def batch_inputs(commitment: Commitment, secret: bytes, statement: Statement) -> list[BatchInput]:
    """Inputs of every batch (2^k leaves each) of the committed book, in chain order. UserError if the
    statement is not the book's (root, shape, market views, totals and aggregates recomputed here)."""
    tree, shape = commitment.tree, statement.shape
    if shape.depth != tree.depth or min(shape.k, shape.t) < 0 or statement.root != tree.root:
        raise UserError("the statement's shape and root are not the committed tree's")
    if any(j >= statement.market_count or statement.markets[j] != view for j, view in commitment.markets.items()):
        raise UserError("the statement's market views are not the ones the book was committed at")
    size = 1 << shape.k
    ctx_h = context_hash(statement)
    markets = dict(enumerate(statement.markets))
    common = statement_inputs(statement)
    tables = None if statement.options is None else statement.options.tables
    state = zero_sums(shape.m, None if tables is None else tables.shape.n)
    out = []
    for index in range(1 << shape.t):
        leaves = _leaves(commitment, secret, index * size, (index + 1) * size)
        new_state = state
        for leaf in leaves:
            new_state = add_leaf(new_state, leaf, markets, statement.market_count, tables)
        siblings = tree.siblings(index * size)[shape.k:]
        inputs = {
            **common, "batchIndex": index, **_sums_inputs(state),
            "idHash": [leaf.id_hash for leaf in leaves],
            "salt": [leaf.salt for leaf in leaves],
            "collateral": [to_field(leaf.collateral) for leaf in leaves],
            "slots": [_slots(leaf) for leaf in leaves],
            "siblings": [[n.hash, n.equity, n.mm] for n in siblings],
            **({} if tables is None else _option_slot_inputs(leaves, tables.shape.p)),
        }
        public = batch_public_signals(ctx_h, index, state_hash(state), state_hash(new_state))
        out.append(BatchInput(index, inputs, state, new_state, public))
        state = new_state
    series = None if statement.options is None else statement.options.aggregates
    if (state.totals, state.aggregates, state.series) != (statement.totals, statement.aggregates, series):
        raise UserError("the statement's totals or aggregates are not the committed book's")
    return out


def account_margin_inputs(leaf: Leaf, markets: Sequence[MarketView], initial: bool) -> dict:
    """Inputs of AccountMargin for one leaf: the fraction is imf (initial) or mmf (maintenance)."""
    arrays = _market_arrays(markets)
    return {
        "collateral": to_field(leaf.collateral), "slots": _slots(leaf),
        "price": arrays["price"], "fundingIndex": arrays["fundingIndex"],
        "fraction": arrays["imf"] if initial else arrays["mmf"],
    }


def private_margin_public_hash(leaf_hash: int, markets: Sequence[MarketView], initial: bool) -> int:
    """PrivateMargin's public signal: Poseidon_3(leaf hash, marketsHash, 1 for initial / 0 for maintenance margin)."""
    return poseidon([leaf_hash, markets_hash(markets), int(initial)])


def private_margin_inputs(leaf: Leaf, markets: Sequence[MarketView], initial: bool) -> dict:
    """Inputs of PrivateMargin: the account's leaf data and the market views."""
    return {
        "idHash": leaf.id_hash, "salt": leaf.salt, "collateral": to_field(leaf.collateral), "slots": _slots(leaf),
        **_market_arrays(markets), "initial": int(initial),
    }

"""Books with options in the solvency statement (docs/spec.md §6.2, §7.9): the epoch's public option
tables, each account's figures as the engine computes them, and the commitment of such a book.

The tables are §7.8's (:func:`pymargin.zk.portfolio.risk_tables`: U underlyings × R rows, the IM
multiple) plus, per row, the series key (series id + 1; 0 for an unused row) and the value v per long
unit, and per market the row of its perp series. A settled series' row has array 0, som 0 and v = its
payoff; an unsettled one its marked array and som and v = the mark value (§5.13). An account holding
options has E = §4 equity + ⌊Σ size·v / WAD⌋ and the portfolio MM / IM of :mod:`pymargin.riskbatch`
over its perps (on their perp series) and its options; an account without keeps §4's figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from pymargin import margin, riskbatch
from pymargin.commit.commitment import Commitment, order_accounts
from pymargin.commit.leaf import LEAF_SUM_BOUND, Leaf, OptionSlot, leaf_hashes, leaf_of, leaf_sums
from pymargin.commit.option_rows import OptionRow, OptionRows
from pymargin.commit.poseidon import poseidon
from pymargin.commit.tree import Node, SumTree
from pymargin.engine.options import mark_value
from pymargin.engine.options_checkpoint import OptionsCheckpointData
from pymargin.errors import Revert, UserError
from pymargin.fixedpoint import WAD, Rounding, sdiv_rounded
from pymargin.model import Account, MarketView
from pymargin.riskarray import SCENARIO_COUNT, InstrumentKind
from pymargin.riskbatch import RiskSeries
from pymargin.zk import portfolio as zp
from pymargin.zk.statement import EMPTY_SERIES_AGGREGATE, SeriesAggregate

VALUE_BOUND = 2**130  # 0 <= v < 2^130 per long unit (the circuit's range check)
OptionPosition = tuple[int, int]  # (series id, size WAD)


@dataclass(frozen=True)
class OptionTables:
    """The epoch's public option tables: §7.8's risk tables (rows, som, multiple, row of each series id),
    the value per row, the series key per row and each market's perp series."""

    risk: zp.RiskTables
    value: tuple[int, ...]  # v per row (WAD quote per long unit)
    series_key: tuple[int, ...]  # series id + 1 per row, 0 for an unused row
    perp_series: tuple[int, ...]  # the perp series id of markets 0 .. market_count - 1

    @property
    def shape(self) -> zp.PortfolioShape:
        return self.risk.shape

    def perp_rows(self, m: int) -> list[int]:
        """The row of each market's perp series, for the circuit's m market slots (0 past the market count)."""
        rows = [self.risk.row_of[sid] for sid in self.perp_series]
        return rows + [0] * (m - len(rows))

    def series_of_row(self, row: int) -> int:
        """The series id in ``row``; UserError for an unused row."""
        if not 0 <= row < len(self.series_key) or self.series_key[row] == 0:
            raise UserError(f"row {row} of the option tables holds no series")
        return self.series_key[row] - 1


def option_tables(book, perp_series: Mapping[int, int], market_count: int, now: int, shape: zp.PortfolioShape) -> OptionTables:
    """The tables of a :class:`pymargin.riskbook.RiskArrayBook` at ``now``: every settled series (array 0,
    som 0, v = payoff) and every series its margin view accepts (marked and fresh: its array, som and mark
    value; v = 0 for a perp). ``perp_series`` maps engine markets to their perp series (the options module's
    ``mapPerp``); every market below ``market_count`` must be mapped. UserError when it does not fit ``shape``."""
    series = riskbatch.series_from_risk_book(book, now)
    for sid, s in enumerate(book.series):
        if s.settled:
            series[sid] = RiskSeries(s.underlying_id, (0,) * SCENARIO_COUNT, 0)
    unmapped = [j for j in range(market_count) if j not in perp_series]
    if unmapped:
        raise UserError(f"market {unmapped[0]} has no perp series: a book with options needs every market mapped")
    risk = zp.risk_tables(series, shape, book.im_multiple_wad)
    value, key = [0] * shape.n, [0] * shape.n
    for sid, row in risk.row_of.items():
        s = book.series[sid]
        value[row] = 0 if s.kind == InstrumentKind.Perp else mark_value(s)
        key[row] = sid + 1
        if not 0 <= value[row] < VALUE_BOUND:
            raise UserError(f"series {sid}: the circuit takes 0 <= v < 2^130, got {value[row]}")
    perps = tuple(perp_series[j] for j in range(market_count))
    missing = [sid for sid in perps if sid not in risk.row_of]
    if missing:
        raise UserError(f"perp series {missing[0]} is not marked and fresh at {now}")
    return OptionTables(risk, tuple(value), tuple(key), perps)


def option_tables_from_checkpoint(data: OptionsCheckpointData, market_count: int, shape: zp.PortfolioShape) -> OptionTables:
    """The tables of an epoch with options (docs/spec.md §7.9), from the options checkpoint taken with its engine
    checkpoint: one row per series of ``data`` (every series but the settled ones without positions; marks as
    recorded), a settled row with array 0, som 0 and v = its payoff, any other its recorded array, som and value;
    the data's perp mapping, which must map markets 0 .. market_count − 1 and no other; its IM multiple. What the
    SolvencyRegistry recomputes on-chain. UserError when it does not fit ``shape`` or the circuit's bounds."""
    series = {s.series_id: RiskSeries(s.underlying_id, (0,) * SCENARIO_COUNT if s.settled else tuple(s.risk_array),
                                      0 if s.settled else s.som_wad) for s in data.series}
    markets = [market for market, _ in data.perps]
    if markets != list(range(market_count)):
        raise UserError(f"the options checkpoint maps markets {markets} to perp series; a book with options needs "
                        f"every engine market 0..{market_count - 1} mapped")
    risk = zp.risk_tables(series, shape, data.im_multiple_wad)
    value, key = [0] * shape.n, [0] * shape.n
    for s in data.series:
        row = risk.row_of[s.series_id]
        value[row], key[row] = s.value_wad, s.series_id + 1
        if not 0 <= s.value_wad < VALUE_BOUND:
            raise UserError(f"series {s.series_id}: the circuit takes 0 <= v < 2^130, got {s.value_wad}")
    perps = tuple(sid for _, sid in data.perps)
    missing = [sid for sid in perps if sid not in risk.row_of]
    if missing:
        raise UserError(f"perp series {missing[0]} is not in the options checkpoint")
    return OptionTables(risk, tuple(value), tuple(key), perps)


def checkpoint_series_sums(data: OptionsCheckpointData, tables: OptionTables) -> tuple[SeriesAggregate, ...]:
    """Per row of ``tables``: the checkpoint's (longSizeWad, shortSizeWad) of the row's series, (0, 0) for an unused
    row — what an epoch's per-row option sums must equal."""
    sums = [EMPTY_SERIES_AGGREGATE] * tables.shape.n
    for s in data.series:
        sums[tables.risk.row_of[s.series_id]] = SeriesAggregate(s.long_size_wad, s.short_size_wad)
    return tuple(sums)


def inclusion_rows(tables: OptionTables) -> OptionRows:
    """The option tables as an inclusion proof carries them (every used row, the perp rows, P, R, the multiple)."""
    risk = tables.risk
    rows = {row: OptionRow(tables.series_key[row] - 1, tuple(risk.array[row]), risk.som[row], tables.value[row])
            for row in range(tables.shape.n) if tables.series_key[row]}
    perp_rows = {j: risk.row_of[sid] for j, sid in enumerate(tables.perp_series)}
    return OptionRows(tables.shape.p, tables.shape.k, risk.multiple_wad, rows, perp_rows)


def options_hash(tables: OptionTables, m: int) -> int:
    """Poseidon_3(riskHash, marksHash, perpHash) over the circuit's m market slots (docs/spec.md §7.9)."""
    marks = 0
    for key, v in zip(tables.series_key, tables.value):
        marks = poseidon([marks, key, v])
    perp = 0
    for row in tables.perp_rows(m):
        perp = poseidon([perp, row])
    return poseidon([zp.risk_hash(tables.risk, 0), marks, perp])


def option_slots(tables: OptionTables, positions: Sequence[OptionPosition], where: str = "account") -> tuple[OptionSlot, ...]:
    """The P option slots of (series id, size) positions: by increasing row, then empty slots; UserError on
    more than P, a size 0, a repeated series or a series without a row."""
    p = tables.shape.p
    if len(positions) > p:
        raise UserError(f"{where}: {len(positions)} option positions, a leaf holds {p}")
    rows = []
    for sid, size in positions:
        if sid not in tables.risk.row_of:
            raise UserError(f"{where}: series {sid} has no row in the option tables (not settled, or not marked and fresh)")
        if size == 0:
            raise UserError(f"{where}: option position in series {sid} has size 0")
        rows.append((tables.risk.row_of[sid], size))
    rows.sort()
    if any(a[0] == b[0] for a, b in zip(rows, rows[1:])):
        raise UserError(f"{where}: two option positions in one series")
    return tuple(OptionSlot(row, size) for row, size in rows) + (OptionSlot(),) * (p - len(rows))


def _portfolio(tables: OptionTables, leaf: Leaf) -> list[tuple[int, int]]:
    """The leaf's perps on their perp series, then its options: (series id, size) as the module lists them."""
    perps = [(tables.perp_series[p.market_id], p.size) for p in leaf.positions()]
    return perps + [(tables.series_of_row(o.row), o.size) for o in leaf.options if o.size]


def account_figures(tables: OptionTables, leaves: Sequence[Leaf], markets: Mapping[int, MarketView]) -> list[tuple[int, int, int]]:
    """(equity, maintenance margin, initial margin) of each leaf's account, as the engine's ``margins``: with
    options E = margin.equity + ⌊Σ size·v / WAD⌋ (signed Floor) and MM, IM of pymargin.riskbatch (Ceil) over
    :func:`_portfolio`; without, pymargin.margin's. UserError on a value outside the bounds."""
    missing = sorted({p.market_id for leaf in leaves for p in leaf.positions()} - set(markets))
    if missing:
        raise UserError(f"no market view for market {missing[0]}")
    holders = [leaf for leaf in leaves if leaf.holds_options]
    portfolio = {}
    if holders:
        book = riskbatch.PortfolioBook.from_accounts([_portfolio(tables, leaf) for leaf in holders], tables.risk.series)
        mm, im = riskbatch.maintenance_margin(book).tolist(), riskbatch.initial_margin(book, tables.risk.multiple_wad).tolist()
        portfolio = dict(zip(map(id, holders), zip(mm, im)))
    out = []
    for leaf in leaves:
        positions = leaf.positions()
        equity = margin.equity(leaf.collateral, positions, markets)
        if not leaf.holds_options:
            out.append((equity, margin.maintenance_margin(positions, markets), margin.initial_margin(positions, markets)))
            continue
        value = sum(o.size * tables.value[o.row] for o in leaf.options)
        mm, im = portfolio[id(leaf)]
        if isinstance(mm, Revert) or isinstance(im, Revert):
            raise UserError(f"the portfolio margin of a leaf reverts: {mm if isinstance(mm, Revert) else im}")
        out.append((equity + sdiv_rounded(value, WAD, Rounding.Floor), mm, im))
    return out


def commit_option_book(accounts: Sequence[Account], options: Mapping[str, Sequence[OptionPosition]], markets: Mapping[int, MarketView],
                       tables: OptionTables, secret: bytes | None, epoch: int, depth: int | None = None) -> Commitment:
    """Commit a book with options: ``options`` maps an account id (``owner:sub``) to its option positions;
    leaves as §6.2 (leaf' with option slots), sums (max(E, 0), MM) of :func:`account_figures`."""
    ordered = order_accounts(accounts, epoch)
    markets = dict(markets)
    slots = {aid: option_slots(tables, positions, aid) for aid, positions in options.items() if positions}
    unknown = sorted(set(slots) - {a.account_id for a in accounts})
    if unknown:
        raise UserError(f"option positions of {unknown[0]}, which is not in the book")
    leaves = [replace(leaf_of(a, secret), options=slots.get(a.account_id, ())) for a in ordered]
    records = b""
    for account, leaf, digest, (equity, mm, _) in zip(ordered, leaves, leaf_hashes(leaves), account_figures(tables, leaves, markets)):
        if not leaf.holds_options:
            leaf_sums(leaf, markets, account.account_id)  # the perp-only checks and errors
        if max(equity, 0) >= LEAF_SUM_BOUND or mm >= LEAF_SUM_BOUND:
            raise UserError(f"{account.account_id}: liability {max(equity, 0)} or maintenance margin {mm} is not below 2^140")
        records += Node(digest, max(equity, 0), mm).record()
    return Commitment(epoch, markets, ordered, SumTree(records, depth), option_slots=slots, option_rows=inclusion_rows(tables))

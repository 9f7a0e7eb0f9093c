"""The public statement of a solvency epoch: what one SolvencyBatch proof binds (docs/spec.md §7).

One definition shared by the circuit's witness (``pymargin.zk.inputs``), the Python verifier and
the SolvencyRegistry (which recomputes the same hashes on-chain with circomlibjs's Poseidon_4/5/6
contracts, so no hash here takes more than 6 inputs). Every value is a field element; a signed
value enters with the offset named beside it.

    shapeHash   = Poseidon_4(K, T, M, MAX_POSITIONS)
    metaHash    = Poseidon_6(shapeHash, chainId, registry, engine, checkpointId, marketCount)
    marketsHash = m_M,  m_0 = 0,  m_{j+1} = Poseidon_5(m_j, price_j, F_j + 2^100, imf_j, mmf_j)
    aggHash     = g_M,  g_0 = 0,  g_{j+1} = Poseidon_5(g_j, long_j, short_j, cost_j + 2^200, sizeF_j + 2^240)
    totalsHash  = Poseidon_4(Poseidon_6(L, deficit, belowMmCount, shortfall, Σmm, Σim),
                             accountCount, Σcollateral + 2^200, aggHash)
    ctx         = Poseidon_4(metaHash, marketsHash, rootHash, totalsHash)
    public_k    = (ctx, k, state_k, state_{k+1})      the public signals of batch k

Markets j ≥ marketCount (up to the circuit's M) are all zero, views and aggregates alike. The
root's sums are (L, Σmm): the tree sums each account's liability max(equity, 0) and its
maintenance margin. The chain states ``state_k`` are hashes the circuit computes from its witness;
the registry takes them as plain numbers, so verifying an epoch computes ctx once and no hash per
batch (:func:`pymargin.zk.verify.verify_batch`).

A book with options (spec §7.9) adds ``Statement.options``: the option tables (hashed into
optionsHash) and the per-row option sums (seriesAggHash); then totalsHash and ctx take one more input:

    seriesAggHash = a_N,  a_0 = 0,  a_{r+1} = Poseidon_3(a_r, long_r, short_r)
    totalsHash'   = Poseidon_5(Poseidon_6(figures), accountCount, Σcollateral + 2^200, aggHash, seriesAggHash)
    ctx'          = Poseidon_5(metaHash, marketsHash, rootHash, totalsHash', optionsHash)

Bounds that keep the offsets positive and every value below the field (spec §7.1): at most 2^32
accounts with 4 positions each, so |Σ cost| < 2^164, |Σ size·f| < 2^228, |Σ collateral| < 2^160.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pymargin.jsonvalues import address_hex, parse_int
from pymargin.commit.poseidon import poseidon
from pymargin.commit.tree import Node
from pymargin.model import FUNDING_INDEX_BOUND, MAX_POSITIONS, MarketView

if TYPE_CHECKING:
    from pymargin.zk.options import OptionTables

SUM_OFFSET = 2**200  # offset of the signed sums of cost basis and collateral
SIZE_FUNDING_OFFSET = 2**240  # offset of the signed sums of size·f (WAD², not divided)


@dataclass(frozen=True)
class Shape:
    """The circuit's shape: batches of 2^k leaves, 2^t batches (tree depth k + t), m market slots."""

    k: int
    t: int
    m: int

    @property
    def depth(self) -> int:
        return self.k + self.t


@dataclass(frozen=True)
class MarketAggregate:
    """Sums over every account's position in one market (the engine keeps the same sums)."""

    long_size_wad: int  # Σ max(size, 0)
    short_size_wad: int  # Σ max(−size, 0); the engine keeps it equal to long_size_wad
    cost_basis_wad: int  # Σ cost basis (signed)
    size_funding_wad2: int  # Σ size · f (signed, exact product of two WAD values)


EMPTY_AGGREGATE = MarketAggregate(0, 0, 0, 0)


@dataclass(frozen=True)
class Totals:
    """The figures an epoch publishes about the whole book (WAD quote unless a count)."""

    liabilities_wad: int  # L = Σ max(equity, 0)
    deficit_wad: int  # Σ max(−equity, 0): unsettled bad debt
    below_mm_count: int  # accounts with equity < maintenance margin
    shortfall_wad: int  # Σ max(mm − equity, 0)
    mm_wad: int  # Σ maintenance margin
    im_wad: int  # Σ initial margin
    account_count: int  # real (non-padding) leaves
    collateral_wad: int  # Σ collateral (signed)


@dataclass(frozen=True)
class SeriesAggregate:
    """Sums over every account's option slots on one row of the option tables."""

    long_size_wad: int  # Σ max(size, 0): the module's open interest of the series
    short_size_wad: int  # Σ max(−size, 0)


EMPTY_SERIES_AGGREGATE = SeriesAggregate(0, 0)


@dataclass(frozen=True)
class OptionsPart:
    """What a statement over a book with options adds: the public option tables and the per-row sums."""

    tables: "OptionTables"
    aggregates: tuple[SeriesAggregate, ...]  # one per row of the tables


@dataclass(frozen=True)
class Statement:
    """Everything ctx, the first public signal of every batch of an epoch, binds."""

    shape: Shape
    chain_id: int
    registry: int  # SolvencyRegistry address as an integer
    engine: int  # MarginEngine address as an integer
    checkpoint_id: int  # the engine checkpoint the book was taken at (= the epoch number)
    market_count: int  # engine markets at the checkpoint, ≤ shape.m
    markets: tuple[MarketView, ...]  # shape.m views, zero past market_count
    aggregates: tuple[MarketAggregate, ...]  # shape.m aggregates, zero past market_count
    root: Node  # (root hash, L, Σmm)
    totals: Totals
    options: OptionsPart | None = None  # a book with options (spec §7.9)


def shape_hash(shape: Shape) -> int:
    """Poseidon_4(K, T, M, MAX_POSITIONS)."""
    return poseidon([shape.k, shape.t, shape.m, MAX_POSITIONS])


def meta_hash(s: Statement) -> int:
    """Poseidon_6(shapeHash, chainId, registry, engine, checkpointId, marketCount)."""
    return poseidon([shape_hash(s.shape), s.chain_id, s.registry, s.engine, s.checkpoint_id, s.market_count])


def markets_hash(markets: tuple[MarketView, ...]) -> int:
    """m_M of the market views (Poseidon_5 chain; funding index offset by 2^100)."""
    acc = 0
    for v in markets:
        acc = poseidon([acc, v.price_wad, v.funding_index_wad + FUNDING_INDEX_BOUND, v.imf_wad, v.mmf_wad])
    return acc


def aggregates_hash(aggregates: tuple[MarketAggregate, ...]) -> int:
    """g_M of the market aggregates (Poseidon_5 chain; signed sums offset by 2^200 and 2^240)."""
    acc = 0
    for a in aggregates:
        acc = poseidon([acc, a.long_size_wad, a.short_size_wad, a.cost_basis_wad + SUM_OFFSET,
                        a.size_funding_wad2 + SIZE_FUNDING_OFFSET])
    return acc


def series_aggregates_hash(aggregates: tuple[SeriesAggregate, ...]) -> int:
    """a_N of the per-row option sums (Poseidon_3 chain)."""
    acc = 0
    for a in aggregates:
        acc = poseidon([acc, a.long_size_wad, a.short_size_wad])
    return acc


def totals_hash(totals: Totals, aggregates: tuple[MarketAggregate, ...], series: tuple[SeriesAggregate, ...] | None = None) -> int:
    """Poseidon_4(Poseidon_6(L, deficit, belowMmCount, shortfall, Σmm, Σim), accountCount, Σcollateral + 2^200, aggHash),
    or with per-row option sums ``series`` Poseidon_5(…, aggHash, seriesAggHash)."""
    t = totals
    figures = poseidon([t.liabilities_wad, t.deficit_wad, t.below_mm_count, t.shortfall_wad, t.mm_wad, t.im_wad])
    parts = [figures, t.account_count, t.collateral_wad + SUM_OFFSET, aggregates_hash(aggregates)]
    return poseidon(parts if series is None else parts + [series_aggregates_hash(series)])


def context_hash(s: Statement) -> int:
    """ctx = Poseidon_4(metaHash, marketsHash, rootHash, totalsHash), or with options
    Poseidon_5(metaHash, marketsHash, rootHash, totalsHash', optionsHash)."""
    if s.options is None:
        return poseidon([meta_hash(s), markets_hash(s.markets), s.root.hash, totals_hash(s.totals, s.aggregates)])
    from pymargin.zk.options import options_hash

    return poseidon([meta_hash(s), markets_hash(s.markets), s.root.hash, totals_hash(s.totals, s.aggregates, s.options.aggregates),
                     options_hash(s.options.tables, s.shape.m)])


def batch_public_signals(ctx: int, index: int, state_in: int, state_out: int) -> tuple[int, int, int, int]:
    """The public signals of batch k, in the circuit's order: (ctx, k, state_k, state_{k+1})."""
    return (ctx, index, state_in, state_out)


def check_statement(s: Statement) -> list[str]:
    """What makes a statement self-contradictory (empty: consistent): m views and aggregates, market count ≤ m,
    zeros past the market count, root sums = (L, Σmm)."""
    problems = []
    m = s.shape.m
    if len(s.markets) != m or len(s.aggregates) != m:
        problems.append(f"the statement has {len(s.markets)} market views and {len(s.aggregates)} aggregates; the circuit has {m} market slots")
    if not 0 <= s.market_count <= m:
        problems.append(f"market count {s.market_count} is not in 0..{m}")
    empty = MarketView(0, 0, 0, 0)
    if any(v != empty for v in s.markets[s.market_count:]) or any(a != EMPTY_AGGREGATE for a in s.aggregates[s.market_count:]):
        problems.append(f"market slots past the market count {s.market_count} are not all zero")
    if (s.root.equity, s.root.mm) != (s.totals.liabilities_wad, s.totals.mm_wad):
        problems.append(f"the root's sums ({s.root.equity}, {s.root.mm}) are not the statement's L and Σmm "
                        f"({s.totals.liabilities_wad}, {s.totals.mm_wad})")
    if s.options is not None and len(s.options.aggregates) != s.options.tables.shape.n:
        problems.append(f"the statement has {len(s.options.aggregates)} option-row sums; its tables have {s.options.tables.shape.n} rows")
    return problems


def statement_json(s: Statement) -> dict:
    """The statement as JSON (docs/output.md: integers as decimal strings, addresses 0x + 40 hex, the root hash 0x + 64 hex;
    a statement with options also ``options``: :func:`options_json`)."""
    t = s.totals
    out = {
        "shape": {"k": str(s.shape.k), "t": str(s.shape.t), "m": str(s.shape.m)},
        "chain_id": str(s.chain_id), "registry": address_hex(s.registry), "engine": address_hex(s.engine),
        "checkpoint_id": str(s.checkpoint_id), "market_count": str(s.market_count),
        "markets": [{"price_wad": str(v.price_wad), "funding_index_wad": str(v.funding_index_wad),
                     "imf_wad": str(v.imf_wad), "mmf_wad": str(v.mmf_wad)} for v in s.markets],
        "aggregates": [{"long_size_wad": str(a.long_size_wad), "short_size_wad": str(a.short_size_wad),
                        "cost_basis_wad": str(a.cost_basis_wad), "size_funding_wad2": str(a.size_funding_wad2)}
                       for a in s.aggregates],
        "root": s.root.to_json(),
        "totals": {"liabilities_wad": str(t.liabilities_wad), "deficit_wad": str(t.deficit_wad),
                   "below_mm_count": str(t.below_mm_count), "shortfall_wad": str(t.shortfall_wad),
                   "mm_wad": str(t.mm_wad), "im_wad": str(t.im_wad), "account_count": str(t.account_count),
                   "collateral_wad": str(t.collateral_wad)},
    }
    if s.options is not None:
        out["options"] = options_json(s.options)
    return out


def options_json(o: OptionsPart) -> dict:
    """The option tables and per-row sums as JSON: the shape (u, r, p), the IM multiple, each market's perp series id,
    and per row its series key (series id + 1; 0: unused), underlying id, array[16], som, value, long and short sums."""
    t = o.tables
    rows = []
    for r in range(t.shape.n):
        key = t.series_key[r]
        underlying = t.risk.series[key - 1].underlying_id if key else 0
        rows.append({"series_key": str(key), "underlying_id": str(underlying), "array": [str(x) for x in t.risk.array[r]],
                     "som_wad": str(t.risk.som[r]), "value_wad": str(t.value[r]),
                     "long_size_wad": str(o.aggregates[r].long_size_wad), "short_size_wad": str(o.aggregates[r].short_size_wad)})
    return {"shape": {"u": str(t.shape.u), "r": str(t.shape.k), "p": str(t.shape.p)}, "multiple_wad": str(t.risk.multiple_wad),
            "perp_series": [str(x) for x in t.perp_series], "rows": rows}


def options_from_json(data: dict) -> OptionsPart:
    """The inverse of :func:`options_json`; KeyError, TypeError or ValueError on a malformed document."""
    from pymargin.riskbatch import RiskSeries
    from pymargin.zk.options import OptionTables
    from pymargin.zk.portfolio import PortfolioShape, RiskTables

    sh = data["shape"]
    shape = PortfolioShape(int(sh["u"]), int(sh["r"]), int(sh["p"]))
    rows = data["rows"]
    if len(rows) != shape.n:
        raise ValueError(f"{len(rows)} option rows for a shape of {shape.n}")
    array = tuple(tuple(int(x) for x in row["array"]) for row in rows)
    if any(len(a) != 16 for a in array):
        raise ValueError("an option row's array does not have 16 entries")
    som = tuple(int(row["som_wad"]) for row in rows)
    key = tuple(int(row["series_key"]) for row in rows)
    used = [r for r in range(shape.n) if key[r]]
    row_of = {key[r] - 1: r for r in used}
    series = {key[r] - 1: RiskSeries(int(rows[r]["underlying_id"]), array[r], som[r]) for r in used}
    risk = RiskTables(shape, array, som, int(data["multiple_wad"]), row_of, series)
    tables = OptionTables(risk, tuple(int(row["value_wad"]) for row in rows), key, tuple(int(x) for x in data["perp_series"]))
    return OptionsPart(tables, tuple(SeriesAggregate(int(row["long_size_wad"]), int(row["short_size_wad"])) for row in rows))


def statement_from_json(data: dict) -> Statement:
    """The inverse of :func:`statement_json` (also of epoch files /2: JSON-number shape, decimal root hash);
    KeyError, TypeError or ValueError on a malformed document."""
    options = data.get("options")
    sh, t, r = data["shape"], data["totals"], data["root"]
    return Statement(
        Shape(int(sh["k"]), int(sh["t"]), int(sh["m"])),  # int() of a string or of a /2 file's JSON number
        int(data["chain_id"]), int(data["registry"], 16), int(data["engine"], 16),
        int(data["checkpoint_id"]), int(data["market_count"]),
        tuple(MarketView(int(v["price_wad"]), int(v["funding_index_wad"]), int(v["imf_wad"]), int(v["mmf_wad"]))
              for v in data["markets"]),
        tuple(MarketAggregate(int(a["long_size_wad"]), int(a["short_size_wad"]), int(a["cost_basis_wad"]),
                              int(a["size_funding_wad2"])) for a in data["aggregates"]),
        Node(parse_int(r["hash"]), int(r["equity"]), int(r["mm"])),
        Totals(*(int(t[f]) for f in ("liabilities_wad", "deficit_wad", "below_mm_count", "shortfall_wad",
                                      "mm_wad", "im_wad", "account_count", "collateral_wad"))),
        None if options is None else options_from_json(options),
    )

"""Inputs and public signals of ``circuits/portfolio.circom``: portfolio (risk-array) margin proven
in zero knowledge (docs/spec.md §7.8).

The circuit's public tables hold N = U·K series: underlying u owns rows u·K … u·K + K − 1, so the
per-underlying maximum needs no selection; a venue's series (:class:`pymargin.riskbatch.RiskSeries`)
are placed by :func:`risk_tables` (underlyings in increasing id, series in increasing id within
each, unused rows all zero). An account is P slots of (row, size); empty slots are (0, 0).
The circuit's MM and IM are :func:`pymargin.riskbatch.maintenance_margin` / ``initial_margin`` of
the same positions, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from pymargin import riskbatch
from pymargin.commit.poseidon import poseidon
from pymargin.errors import UserError
from pymargin.fixedpoint import WAD
from pymargin.riskarray import SCENARIO_COUNT
from pymargin.riskbatch import RiskSeries
from pymargin.zk.field import to_field

ARRAY_OFFSET = 2**130  # array entries are hashed as array[s] + 2^130 ∈ [0, 2^131)
SIZE_OFFSET = 2**94  # a slot is hashed as row·2^95 + size + 2^94
MULTIPLE_SPAN = 2**64  # the circuit takes WAD <= multiple < WAD + 2^64
Position = tuple[int, int]  # (series id, size WAD)


@dataclass(frozen=True)
class PortfolioShape:
    """U underlyings × K series each in the tables, P position slots per account."""

    u: int
    k: int
    p: int

    @property
    def n(self) -> int:
        return self.u * self.k


@dataclass(frozen=True)
class RiskTables:
    """The circuit's public tables: per row its risk array (16 WAD) and som per short unit (WAD),
    the IM multiple (WAD), and which row each venue series id occupies."""

    shape: PortfolioShape
    array: tuple[tuple[int, ...], ...]
    som: tuple[int, ...]
    multiple_wad: int
    row_of: Mapping[int, int]
    series: Mapping[int, RiskSeries]


def risk_tables(series: Mapping[int, RiskSeries], shape: PortfolioShape, multiple_wad: int) -> RiskTables:
    """Place ``series`` in the circuit's rows: underlying by increasing id gets block 0, 1, …; its
    series by increasing id fill the block's rows. UserError when they do not fit the shape or a
    value is outside the circuit's bounds (|array| <= 2^130, 0 <= som < 2^130, the multiple)."""
    if not WAD <= multiple_wad < WAD + MULTIPLE_SPAN:
        raise UserError(f"the IM multiple must be in [WAD, WAD + 2^64) for the circuit, got {multiple_wad}")
    underlyings = sorted({s.underlying_id for s in series.values()})
    if len(underlyings) > shape.u:
        raise UserError(f"{len(underlyings)} underlyings do not fit a circuit of {shape.u}")
    array = [[0] * SCENARIO_COUNT for _ in range(shape.n)]
    som = [0] * shape.n
    row_of = {}
    for block, uid in enumerate(underlyings):
        ids = sorted(sid for sid, s in series.items() if s.underlying_id == uid)
        if len(ids) > shape.k:
            raise UserError(f"underlying {uid} has {len(ids)} series, the circuit holds {shape.k} per underlying")
        for k, sid in enumerate(ids):
            row = block * shape.k + k
            s = series[sid]
            if len(s.risk_array) != SCENARIO_COUNT or not all(-ARRAY_OFFSET <= v <= ARRAY_OFFSET for v in s.risk_array):
                raise UserError(f"series {sid}: the circuit takes 16 array entries with |entry| <= 2^130")
            if not 0 <= s.som_per_unit_wad < ARRAY_OFFSET:
                raise UserError(f"series {sid}: the circuit takes 0 <= som < 2^130, got {s.som_per_unit_wad}")
            array[row] = list(s.risk_array)
            som[row] = s.som_per_unit_wad
            row_of[sid] = row
    return RiskTables(shape, tuple(map(tuple, array)), tuple(som), multiple_wad, row_of, dict(series))


def slots(tables: RiskTables, positions: Sequence[Position]) -> tuple[list[int], list[int]]:
    """An account's (rows, sizes), padded with empty slots (0, 0) to P; UserError if it has more
    than P positions, a series without a row or a size outside [−2^94, 2^94)."""
    if len(positions) > tables.shape.p:
        raise UserError(f"an account has {len(positions)} positions, the circuit holds {tables.shape.p}")
    rows, sizes = [], []
    for sid, size in positions:
        if sid not in tables.row_of:
            raise UserError(f"series {sid} has no row in the circuit's tables")
        if not -SIZE_OFFSET <= size < SIZE_OFFSET:
            raise UserError(f"size {size} is outside the circuit's [-2^94, 2^94)")
        rows.append(tables.row_of[sid])
        sizes.append(size)
    pad = tables.shape.p - len(rows)
    return rows + [0] * pad, sizes + [0] * pad


def _table_inputs(tables: RiskTables) -> dict:
    return {"array": [[to_field(v) for v in row] for row in tables.array], "som": list(tables.som), "multiple": tables.multiple_wad}


def account_inputs(tables: RiskTables, positions: Sequence[Position]) -> dict:
    """Inputs of PortfolioMarginAccount(U, K, P) for one account."""
    rows, sizes = slots(tables, positions)
    return {**_table_inputs(tables), "series": rows, "size": [to_field(v) for v in sizes]}


def margins(tables: RiskTables, accounts: Sequence[Sequence[Position]]) -> list[tuple[int, int]]:
    """(MM, IM) per account by :mod:`pymargin.riskbatch` (WAD, Ceil): what the circuit outputs."""
    book = riskbatch.PortfolioBook.from_accounts(accounts, tables.series)
    mm = riskbatch.maintenance_margin(book).tolist()
    im = riskbatch.initial_margin(book, tables.multiple_wad).tolist()
    return list(zip(mm, im))


def risk_hash(tables: RiskTables, b: int) -> int:
    """Poseidon_3(Poseidon_4(B, U, K, P), multiple, r_N), r_0 = 0, r_{j+1} = Poseidon_4(r_j, som_j,
    Poseidon_8(array_j[0..7] + 2^130), Poseidon_8(array_j[8..15] + 2^130))."""
    r = 0
    for row, som in zip(tables.array, tables.som):
        halves = [poseidon([v + ARRAY_OFFSET for v in row[h : h + 8]]) for h in (0, 8)]
        r = poseidon([r, som, *halves])
    shape = tables.shape
    return poseidon([poseidon([b, shape.u, shape.k, shape.p]), tables.multiple_wad, r])


def positions_hash(salt: int, rows: Sequence[int], sizes: Sequence[int]) -> int:
    """Poseidon_{1+P}(salt, row_p·2^95 + size_p + 2^94 for each slot)."""
    return poseidon([salt, *(row * 2**95 + size + SIZE_OFFSET for row, size in zip(rows, sizes))])


def batch_inputs(tables: RiskTables, salts: Sequence[int], accounts: Sequence[Sequence[Position]]) -> dict:
    """Inputs of PortfolioMarginBatch(B, U, K, P), B = len(accounts)."""
    if len(salts) != len(accounts):
        raise UserError(f"{len(salts)} salts for {len(accounts)} accounts")
    placed = [slots(tables, a) for a in accounts]
    return {**_table_inputs(tables), "salt": list(salts), "series": [rows for rows, _ in placed],
            "size": [[to_field(v) for v in sizes] for _, sizes in placed]}


def batch_public(tables: RiskTables, salts: Sequence[int], accounts: Sequence[Sequence[Position]]) -> tuple[int, int, int, int]:
    """The public signals of PortfolioMarginBatch: (riskHash, accountsHash, Σ MM, Σ IM), with
    accountsHash = c_B, c_0 = 0, c_{i+1} = Poseidon_4(c_i, positionsHash_i, MM_i, IM_i)."""
    figures = margins(tables, accounts)
    chain = 0
    for salt, positions, (mm, im) in zip(salts, accounts, figures):
        chain = poseidon([chain, positions_hash(salt, *slots(tables, positions)), mm, im])
    return risk_hash(tables, len(accounts)), chain, sum(mm for mm, _ in figures), sum(im for _, im in figures)

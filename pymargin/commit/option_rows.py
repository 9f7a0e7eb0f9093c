"""The option part of an options holder's inclusion proof (docs/spec.md §6.4): the rows of the epoch's public
option tables (§7.9) that the account's figures read, and those figures recomputed from them.

An options holder's figures are §7.9's: E = §4 equity + ⌊Σ size·v / WAD⌋ (signed Floor), MM = Σ over
underlyings of §4.1's maintenance margin of its perps (on their mapped perp series) and option slots (Ceil),
IM = ⌈MM · multiple / WAD⌉. A row r belongs to underlying ⌊r / R⌋ (R rows per underlying).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from pymargin import margin, riskarray
from pymargin.commit.leaf import Leaf
from pymargin.errors import UserError
from pymargin.fixedpoint import WAD, Rounding, mul_wad, sdiv_rounded
from pymargin.model import MarketView

SCENARIO_COUNT = 16
TABLE_BOUND = 2**130  # |array entry| <= 2^130, 0 <= som, v < 2^130 (the circuit's range checks, §7.8, §7.9)
MULTIPLE_SPAN = 2**64  # WAD <= multiple < WAD + 2^64
MAX_OPTION_SLOTS = 8  # P: circomlibjs's hasher generator takes 1 to 8 inputs (the on-chain Poseidon_P)


@dataclass(frozen=True)
class OptionRow:
    """One row of the option tables: its series, risk array (16 WAD P&L per long unit), som and value v (WAD per unit)."""

    series_id: int
    array: tuple[int, ...]
    som: int
    value: int


@dataclass(frozen=True)
class OptionRows:
    """Rows of the epoch's option tables: P option slots per leaf, R rows per underlying, the IM multiple (WAD),
    rows by index, and the row of each market's perp series."""

    slots: int
    rows_per_underlying: int
    multiple_wad: int
    rows: dict[int, OptionRow]
    perp_rows: dict[int, int]

    def excerpt(self, leaf: Leaf) -> OptionRows:
        """The rows ``leaf``'s figures read: its option slots' rows and its perp markets' perp rows."""
        markets = {p.market_id for p in leaf.positions()}
        perp_rows = {m: r for m, r in self.perp_rows.items() if m in markets}
        used = {o.row for o in leaf.options if o.size} | set(perp_rows.values())
        return OptionRows(self.slots, self.rows_per_underlying, self.multiple_wad,
                          {r: self.rows[r] for r in sorted(used) if r in self.rows}, perp_rows)


def option_figures(leaf: Leaf, rows: OptionRows, markets: Mapping[int, MarketView], where: str = "account") -> tuple[int, int, int]:
    """(E, MM, IM) of an options holder's leaf from ``rows`` (module docstring; E Floor, MM and IM Ceil);
    UserError naming the first market view, perp row or row missing."""
    positions = leaf.positions()
    missing = sorted({p.market_id for p in positions} - set(markets))
    if missing:
        raise UserError(f"{where}: no market view for market {missing[0]}")
    unmapped = sorted({p.market_id for p in positions} - set(rows.perp_rows))
    if unmapped:
        raise UserError(f"{where}: no perp row for market {unmapped[0]}")
    entries = [(rows.perp_rows[p.market_id], p.size) for p in positions] + [(o.row, o.size) for o in leaf.options if o.size]
    absent = sorted({row for row, _ in entries} - set(rows.rows))
    if absent:
        raise UserError(f"{where}: row {absent[0]} is not in the proof's option tables")
    value = sum(size * rows.rows[row].value for row, size in entries)  # a perp row's v is 0
    equity = margin.equity(leaf.collateral, positions, markets) + sdiv_rounded(value, WAD, Rounding.Floor)
    mm = 0
    for u in sorted({row // rows.rows_per_underlying for row, _ in entries}):
        mine = [(rows.rows[row], size) for row, size in entries if row // rows.rows_per_underlying == u]
        mm += riskarray.maintenance_margin([s for _, s in mine], [list(r.array) for r, _ in mine], [r.som for r, _ in mine])
    return equity, mm, mul_wad(mm, rows.multiple_wad, Rounding.Ceil)


def rows_json(rows: OptionRows) -> dict:
    """The ``option_tables`` object of a proof document (integers as decimal strings)."""
    return {"slots": str(rows.slots), "rows_per_underlying": str(rows.rows_per_underlying), "multiple_wad": str(rows.multiple_wad),
            "rows": {str(r): {"series_id": str(row.series_id), "array_wad": [str(a) for a in row.array], "som_wad": str(row.som),
                              "value_wad": str(row.value)} for r, row in sorted(rows.rows.items())},
            "perp_rows": {str(m): str(r) for m, r in sorted(rows.perp_rows.items())}}


def rows_from_json(obj: dict) -> OptionRows:
    """The inverse of :func:`rows_json` for a well-formed object (the proofs database's own; proof documents
    are parsed with their checks by :mod:`pymargin.commit.inclusion`)."""
    rows = {int(r): OptionRow(int(row["series_id"]), tuple(map(int, row["array_wad"])), int(row["som_wad"]), int(row["value_wad"]))
            for r, row in obj["rows"].items()}
    return OptionRows(int(obj["slots"]), int(obj["rows_per_underlying"]), int(obj["multiple_wad"]), rows,
                      {int(m): int(r) for m, r in obj["perp_rows"].items()})


def check_rows(rows: OptionRows) -> str | None:
    """The first way ``rows`` breaks the tables' bounds (P in 1..8, R >= 1, the multiple, |array| <= 2^130,
    0 <= som, v < 2^130, rows and perp rows in [0, 2^64)), as a reason; None if it keeps them."""
    if not 1 <= rows.slots <= MAX_OPTION_SLOTS:
        return f"option_tables.slots must be in 1..{MAX_OPTION_SLOTS}, got {rows.slots}"
    if not 1 <= rows.rows_per_underlying < 2**64:
        return f"option_tables.rows_per_underlying must be in [1, 2^64), got {rows.rows_per_underlying}"
    if not WAD <= rows.multiple_wad < WAD + MULTIPLE_SPAN:
        return f"option_tables.multiple_wad must be in [WAD, WAD + 2^64), got {rows.multiple_wad}"
    for r, row in rows.rows.items():
        at = f"option_tables.rows.{r}"
        if r >= 2**64:
            return f"{at}: a row must be below 2^64"
        if not 0 <= row.series_id < 2**64:
            return f"{at}.series_id must be in [0, 2^64), got {row.series_id}"
        if len(row.array) != SCENARIO_COUNT:
            return f"{at}.array_wad must hold {SCENARIO_COUNT} values, got {len(row.array)}"
        for a in row.array:
            if abs(a) > TABLE_BOUND:
                return f"{at}.array_wad: {a} is outside [-2^130, 2^130]"
        for key, v in (("som_wad", row.som), ("value_wad", row.value)):
            if not 0 <= v < TABLE_BOUND:
                return f"{at}.{key} must be in [0, 2^130), got {v}"
    for m, r in rows.perp_rows.items():
        if not 0 <= r < 2**64:
            return f"option_tables.perp_rows.{m} must be in [0, 2^64), got {r}"
    return None

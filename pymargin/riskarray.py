"""Risk arrays and portfolio margin (SPAN-style), mirroring ``contracts/RiskArrays.sol`` bit for bit.

A risk array is the P&L per long unit of an instrument (a perp, or a European call/put on the
perp's price) in each of the 16 scenarios of :data:`SCENARIOS` (docs/spec.md §4.1): price moves of
0, ±1/3, ±2/3, ±1 scanning range R, each with the implied vol up and down by V (relative), and two
extreme moves of ±3R (vol unchanged) counted at 35 %. A portfolio's maintenance margin is its
largest scenario loss −Σ size × array (rounded up), never below the short-option minimum.
"""

from __future__ import annotations

from enum import IntEnum

from pymargin import black76
from pymargin.black76 import MAX_PRICE_WAD, OptionKind
from pymargin.errors import Revert
from pymargin.fixedpoint import (
    WAD,
    Rounding,
    add_int256,
    add_uint256,
    mul_div,
    mul_int256,
    mul_uint256,
    mul_wad,
    round_div,
    smul_wad,
    sub_int256,
)

SCENARIO_COUNT = 16
# (price move in thirds of the scanning range, vol direction) per scenario, in array order
SCENARIOS: tuple[tuple[int, int], ...] = tuple(
    (move, vol) for move in (0, 1, -1, 2, -2, 3, -3) for vol in (1, -1)
) + ((9, 0), (-9, 0))
EXTREME_COVER_WAD = 35 * 10**16  # 35 % of an extreme move's P&L counts
MIN_PRICE_DIVISOR = 10**9  # a scenario price never falls below max(P / 1e9, 1 wei)


class InstrumentKind(IntEnum):
    """What a risk array prices; the values equal the Solidity enum's (``RiskArrays.InstrumentKind``)."""

    Perp = 0
    Call = 1
    Put = 2


class RiskArrayInputOutOfRange(Revert):
    """price is 0 or above 2^128, priceRange > WAD or volRange ≥ WAD."""


class LengthMismatch(Revert):
    """The sizes, arrays and short-option minimums of a portfolio have different lengths."""


class InitialMultipleBelowOne(Revert):
    """The initial-margin multiple is below 1 WAD."""


def scenario_price(price_wad: int, move_thirds: int, price_range_wad: int) -> int:
    """P·(1 + move·R/3), Floor, but at least max(⌊P/1e9⌋, 1)."""
    floor_price = max(price_wad // MIN_PRICE_DIVISOR, 1)
    factor = 3 * WAD + move_thirds * price_range_wad
    if factor <= 0:
        return floor_price
    return max(mul_div(price_wad, factor, 3 * WAD, Rounding.Floor), floor_price)


def scenario_vol(vol_wad: int, direction: int, vol_range_wad: int) -> int:
    """σ·(1 + direction·V), Floor (direction ∈ {1, −1, 0})."""
    if direction == 0:
        return vol_wad
    return mul_wad(vol_wad, WAD + direction * vol_range_wad, Rounding.Floor)


def _value_wad(kind: InstrumentKind, strike_wad: int, tau_s: int, price_wad: int, vol_wad: int) -> int:
    """Value of one long unit: the price for a perp, Black-76 (rate 0) for an option."""
    if kind == InstrumentKind.Perp:
        return price_wad
    option = OptionKind.Call if kind == InstrumentKind.Call else OptionKind.Put
    return black76.price(option, price_wad, strike_wad, vol_wad, tau_s, 0)


def risk_array(
    kind: InstrumentKind, strike_wad: int, tau_s: int, price_wad: int, vol_wad: int, price_range_wad: int, vol_range_wad: int
) -> list[int]:
    """P&L per long unit (WAD quote units) in each of the 16 scenarios, rounded down (Floor).

    array[s] = value(P_s, σ_s) − value(P, σ); the extreme rows are ⌊that · 0.35⌋ (signed Floor).
    Time is not decayed (τ is the time to expiry at the mark). Reverts RiskArrayInputOutOfRange,
    and Black-76's OptionInputOutOfRange for an option whose inputs leave its domain. This mirror
    prices every scenario with :func:`pymargin.black76.price`; the contract computes ln K, ln P_s and
    σ_s·√t once each, which gives the same integers (the parity test checks it).
    """
    kind = InstrumentKind(kind)
    if not (0 < price_wad <= MAX_PRICE_WAD and 0 <= price_range_wad <= WAD and 0 <= vol_range_wad < WAD):
        raise RiskArrayInputOutOfRange(price_wad, vol_wad, price_range_wad, vol_range_wad)
    base = _value_wad(kind, strike_wad, tau_s, price_wad, vol_wad)
    out = []
    for move, direction in SCENARIOS:
        p_s = scenario_price(price_wad, move, price_range_wad)
        v_s = scenario_vol(vol_wad, direction, vol_range_wad)
        pnl = _value_wad(kind, strike_wad, tau_s, p_s, v_s) - base
        out.append(pnl if direction != 0 else smul_wad(pnl, EXTREME_COVER_WAD, Rounding.Floor))
    return out


def short_option_minimum(kind: InstrumentKind, price_wad: int, som_fraction_wad: int) -> int:
    """The short-option minimum per short unit: ⌈P·fraction⌉ for an option, 0 for a perp."""
    if InstrumentKind(kind) == InstrumentKind.Perp:
        return 0
    return mul_wad(price_wad, som_fraction_wad, Rounding.Ceil)


def scenario_losses(sizes_wad: list[int], arrays: list[list[int]]) -> list[int]:
    """Loss of the portfolio in each scenario: ⌈−Σ size·array[s] / WAD⌉ (Ceil; the sum is exact, checked int256)."""
    if len(sizes_wad) != len(arrays):
        raise LengthMismatch()
    losses = []
    for s in range(SCENARIO_COUNT):
        total = 0
        for size, array in zip(sizes_wad, arrays):
            total = add_int256(total, mul_int256(size, array[s]))
        losses.append(round_div(sub_int256(0, total), WAD, Rounding.Ceil))
    return losses


def maintenance_margin(sizes_wad: list[int], arrays: list[list[int]], som_per_unit_wad: list[int]) -> int:
    """max(0, largest scenario loss, ⌈Σ_short |size|·som / WAD⌉) in WAD quote units (the sums checked: Panic(0x11))."""
    if len(som_per_unit_wad) != len(sizes_wad):
        raise LengthMismatch()
    scan = max(0, *scenario_losses(sizes_wad, arrays))
    som = 0
    for size, per_unit in zip(sizes_wad, som_per_unit_wad):
        if size < 0:
            som = add_uint256(som, mul_uint256(sub_int256(0, size), per_unit))
    return max(scan, round_div(som, WAD, Rounding.Ceil))


def initial_margin(sizes_wad: list[int], arrays: list[list[int]], som_per_unit_wad: list[int], im_multiple_wad: int) -> int:
    """⌈maintenance · multiple⌉; reverts InitialMultipleBelowOne(multiple) for a multiple below 1 WAD."""
    if im_multiple_wad < WAD:
        raise InitialMultipleBelowOne(im_multiple_wad)
    return mul_wad(maintenance_margin(sizes_wad, arrays, som_per_unit_wad), im_multiple_wad, Rounding.Ceil)

"""Margin formulas for one account at given market views: equity, PnL, funding, IM, MM (spec §4).

The Python mirror of ``contracts/MarginMath.sol``, bit for bit and revert for revert: every sum and
product is Solidity's checked arithmetic (:func:`~pymargin.fixedpoint.add_int256` ...), done in
the contract's order, so a value outside the bounds of spec §3 raises the same ``Panic(0x11)``,
``SafeCastOverflow`` or ``MulDivOverflow`` at the same step. Inside the bounds nothing overflows.

The same formulas, with the same names, are the contract's views (``MarginEngine.equity`` ...),
the batch engine's vectorised functions (:mod:`pymargin.batch`) and the circuit's templates. Each
rounds against the account: requirements round up (Ceil), values round down (Floor). Equity is
computed with ONE floor division over all positions (not as the sum of separately rounded parts),
so it exceeds collateral + unrealised_pnl + pending_funding by 0 or 1 unit.

``markets`` maps each position's ``market_id`` to its :class:`~pymargin.model.MarketView`; the
contract takes the same views as an array parallel to the positions.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from pymargin.fixedpoint import (
    INT256_MAX,
    WAD,
    Rounding,
    add_int256,
    add_uint256,
    div_rounded,
    mul_int256,
    mul_uint256,
    sdiv_rounded,
    smul_div,
    sub_int256,
    to_int256,
)
from pymargin.model import MarketView, Position

WAD2 = WAD * WAD


def equity(collateral: int, positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """collateral - Σ cost_basis + floor(Σ size * (price - (F - f)) / WAD); WAD quote, one Floor division.

    Steps (checked int256): per position price -> int256, F - f, price - that, size * that, value +
    that, cost + cost_basis; then (collateral - cost) + floor(value / WAD).
    """
    value = 0
    cost = 0
    for pos in positions:
        m = markets[pos.market_id]
        price = to_int256(m.price_wad)
        shift = sub_int256(price, sub_int256(m.funding_index_wad, pos.funding_index))
        value = add_int256(value, mul_int256(pos.size, shift))
        cost = add_int256(cost, pos.cost_basis)
    floored = sdiv_rounded(value, WAD, Rounding.Floor)
    return add_int256(sub_int256(collateral, cost), floored)


def unrealised_pnl(positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """floor(Σ size * price / WAD) - Σ cost_basis; WAD quote, Floor.

    Steps (checked int256): per position price -> int256, size * price, value + that, cost +
    cost_basis; then floor(value / WAD) - cost.
    """
    value = 0
    cost = 0
    for pos in positions:
        price = to_int256(markets[pos.market_id].price_wad)
        value = add_int256(value, mul_int256(pos.size, price))
        cost = add_int256(cost, pos.cost_basis)
    return sub_int256(sdiv_rounded(value, WAD, Rounding.Floor), cost)


def pending_funding(positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """floor(-Σ size * (F - f) / WAD): funding due (> 0) or owed (< 0) since the last settlement; Floor (owed rounds up).

    Steps (checked int256): per position F - f, size * that, owed + that; the result is
    -ceil(owed / WAD), which equals floor(-owed / WAD) and cannot overflow.
    """
    owed = 0
    for pos in positions:
        funding_move = sub_int256(markets[pos.market_id].funding_index_wad, pos.funding_index)
        owed = add_int256(owed, mul_int256(pos.size, funding_move))
    return -sdiv_rounded(owed, WAD, Rounding.Ceil)


def _requirement(positions: Iterable[Position], markets: Mapping[int, MarketView], initial: bool) -> int:
    """ceil(Σ (|size| * price) * fraction / WAD^2), fraction = imf or mmf; checked uint256 steps."""
    total = 0
    for pos in positions:
        m = markets[pos.market_id]
        notional = mul_uint256(abs(pos.size), m.price_wad)
        total = add_uint256(total, mul_uint256(notional, m.imf_wad if initial else m.mmf_wad))
    return div_rounded(total, WAD2, Rounding.Ceil)


def initial_margin(positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """ceil(Σ |size| * price * imf / WAD^2); WAD quote, Ceil (checked uint256: (|size| * price) * imf, then the sum)."""
    return _requirement(positions, markets, initial=True)


def maintenance_margin(positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """ceil(Σ |size| * price * mmf / WAD^2); WAD quote, Ceil (checked uint256: (|size| * price) * mmf, then the sum)."""
    return _requirement(positions, markets, initial=False)


def free_collateral(collateral: int, positions: list[Position], markets: Mapping[int, MarketView]) -> int:
    """equity - initial_margin (negative when the account is below initial margin); WAD quote.

    Equity first, then the margin, then the checked int256 difference.
    """
    eq = equity(collateral, positions, markets)
    return sub_int256(eq, initial_margin(positions, markets))


def margin_ratio(collateral: int, positions: list[Position], markets: Mapping[int, MarketView]) -> int:
    """floor(equity * WAD / maintenance_margin), WAD (1e18 = exactly at maintenance), Floor; INT256_MAX if MM = 0.

    Equity first (it raises even when MM = 0), then MM; MulDivOverflow if the ratio is outside int256.
    """
    eq = equity(collateral, positions, markets)
    mm = maintenance_margin(positions, markets)
    if mm == 0:
        return INT256_MAX
    return smul_div(eq, WAD, mm, Rounding.Floor)


def is_liquidatable(collateral: int, positions: list[Position], markets: Mapping[int, MarketView]) -> bool:
    """equity < maintenance_margin (equity first, then MM)."""
    eq = equity(collateral, positions, markets)
    return eq < maintenance_margin(positions, markets)

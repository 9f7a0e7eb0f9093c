"""Margin formulas for one account at given market views: equity, PnL, funding, IM, MM.

The same formulas, with the same names, are the contract's views (``MarginEngine.equity`` ...),
the batch engine's vectorised functions and the circuit's templates. Each rounds against the
account: requirements round up (Ceil), values round down (Floor). Equity is computed with ONE
floor division over all positions (not as the sum of separately rounded parts), so it can exceed
collateral + unrealised_pnl + pending_funding by at most (positions - 1) units.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from pymargin.fixedpoint import INT256_MAX, WAD, Rounding, div_rounded, sdiv_rounded, smul_div
from pymargin.model import MarketView, Position

WAD2 = WAD * WAD


def equity(collateral: int, positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """collateral - Σ cost_basis + floor(Σ size * (price - (F - f)) / WAD); WAD quote, Floor."""
    value = 0
    cost = 0
    for pos in positions:
        m = markets[pos.market_id]
        value += pos.size * (m.price_wad - (m.funding_index_wad - pos.funding_index))
        cost += pos.cost_basis
    return collateral - cost + sdiv_rounded(value, WAD, Rounding.Floor)


def unrealised_pnl(positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """floor(Σ size * price / WAD) - Σ cost_basis; WAD quote, Floor."""
    value = 0
    cost = 0
    for pos in positions:
        value += pos.size * markets[pos.market_id].price_wad
        cost += pos.cost_basis
    return sdiv_rounded(value, WAD, Rounding.Floor) - cost


def pending_funding(positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """floor(-Σ size * (F - f) / WAD): funding owed (< 0) or due (> 0) since the last settlement; Floor."""
    owed = 0
    for pos in positions:
        owed += pos.size * (markets[pos.market_id].funding_index_wad - pos.funding_index)
    return sdiv_rounded(-owed, WAD, Rounding.Floor)


def _requirement(positions: Iterable[Position], markets: Mapping[int, MarketView], initial: bool) -> int:
    total = 0
    for pos in positions:
        m = markets[pos.market_id]
        total += abs(pos.size) * m.price_wad * (m.imf_wad if initial else m.mmf_wad)
    return div_rounded(total, WAD2, Rounding.Ceil)


def initial_margin(positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """ceil(Σ |size| * price * imf / WAD^2); WAD quote, Ceil."""
    return _requirement(positions, markets, initial=True)


def maintenance_margin(positions: Iterable[Position], markets: Mapping[int, MarketView]) -> int:
    """ceil(Σ |size| * price * mmf / WAD^2); WAD quote, Ceil."""
    return _requirement(positions, markets, initial=False)


def free_collateral(collateral: int, positions: list[Position], markets: Mapping[int, MarketView]) -> int:
    """equity - initial_margin (negative when the account is below initial margin); WAD quote."""
    return equity(collateral, positions, markets) - initial_margin(positions, markets)


def margin_ratio(collateral: int, positions: list[Position], markets: Mapping[int, MarketView]) -> int:
    """floor(equity * WAD / maintenance_margin), WAD (1e18 = exactly at maintenance); INT256_MAX if MM = 0."""
    mm = maintenance_margin(positions, markets)
    if mm == 0:
        return INT256_MAX
    return smul_div(equity(collateral, positions, markets), WAD, mm, Rounding.Floor)


def is_liquidatable(collateral: int, positions: list[Position], markets: Mapping[int, MarketView]) -> bool:
    """equity < maintenance_margin."""
    return equity(collateral, positions, markets) < maintenance_margin(positions, markets)

"""Variation margin, margin calls and liquidation of one position over a daily price path.

Exact WAD integers throughout, with the engine's formulas (:mod:`pymargin.margin`: equity, initial
and maintenance margin) and its rounding rules (docs/spec.md §5): prices and sizes are converted
from floats with Floor (of their shortest decimal, exactly); the position opens at cost ⌈size·p0/WAD⌉ (signed
Ceil); each day the funding index moves by ⌊rate·p/WAD⌋ (signed Floor) and settling charges
⌈size·ΔF/WAD⌉ (signed Ceil); the variation margin ⌊size·p/WAD⌋ − cost moves into collateral and the
cost basis becomes ⌊size·p/WAD⌋ (equity is unchanged by the settlement).

Calls: when equity < maintenance margin a call for initial margin − equity is issued. The trader
pays it (a deposit) the next day if the remaining top-up budget covers it; a call that equity
recovery brings back above initial margin is cancelled. An unpaid call still below maintenance
after ``grace_days``, or equity ≤ 0 at any time, is liquidated: the position is closed at the
price, the penalty ⌈|size|·p·penalty/WAD²⌉ is charged, and negative collateral is bad debt
(collateral set to 0), as in §5.5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pymargin import margin
from pymargin.errors import UserError
from pymargin.fixedpoint import WAD, Rounding, div_rounded, sdiv_rounded
from pymargin.model import MarketParams, MarketView, Position
from pymargin.risk.wad import fraction_to_wad

MARKET_ID = 1


def to_wad(x: float) -> int:
    """A float amount (price, size, collateral) as WAD, Floor (of its shortest decimal, see risk.wad)."""
    return fraction_to_wad(x, Rounding.Floor, tick=1)


@dataclass
class MarginCallRun:
    """The day-by-day record and the totals of a margin-call simulation (amounts in WAD quote)."""

    rows: list = field(default_factory=list)
    calls: int = 0
    paid_wad: int = 0
    liquidated_on: str | None = None
    penalty_wad: int = 0
    bad_debt_wad: int = 0

    def summary(self) -> dict:
        return {
            "days": len(self.rows),
            "calls": self.calls,
            "paid": self.paid_wad / WAD,
            "paid_wad": self.paid_wad,
            "liquidated_on": self.liquidated_on,
            "penalty_wad": self.penalty_wad,
            "bad_debt_wad": self.bad_debt_wad,
            "final_collateral_wad": self.rows[-1]["collateral_wad"] if self.rows else 0,
        }


def simulate(
    dates: np.ndarray,
    prices: np.ndarray,
    size: float,
    collateral: float,
    params: MarketParams,
    topup_budget: float = 0.0,
    grace_days: int = 1,
    daily_funding: np.ndarray | None = None,
) -> MarginCallRun:
    """Open ``size`` at prices[0] with ``collateral``, then mark, settle, call and liquidate day by day."""
    if size == 0 or collateral < 0 or topup_budget < 0 or grace_days < 0:
        raise UserError("need a non-zero size, collateral >= 0, top-up budget >= 0 and grace_days >= 0")
    if len(prices) < 2 or np.any(np.asarray(prices) <= 0):
        raise UserError("the price path needs at least 2 positive prices")
    funding = np.zeros(len(prices)) if daily_funding is None else np.asarray(daily_funding, dtype=float)
    size_wad, p0 = to_wad(size), to_wad(float(prices[0]))
    pos = Position(MARKET_ID, size_wad, sdiv_rounded(size_wad * p0, WAD, Rounding.Ceil), 0)
    coll, budget, index = to_wad(collateral), to_wad(topup_budget), 0
    run = MarginCallRun()
    call_amount, call_day = 0, None
    for t in range(1, len(prices)):
        p = to_wad(float(prices[t]))
        index += sdiv_rounded(to_wad(float(funding[t])) * p, WAD, Rounding.Floor)
        view = {MARKET_ID: MarketView(p, index, params.imf_wad, params.mmf_wad)}
        funding_paid = sdiv_rounded(pos.size * (index - pos.funding_index), WAD, Rounding.Ceil)
        coll -= funding_paid
        value = sdiv_rounded(pos.size * p, WAD, Rounding.Floor)
        vm = value - pos.cost_basis
        coll += vm
        pos = Position(MARKET_ID, pos.size, value, index)
        event, paid = "", 0
        if call_day is not None and call_amount <= budget:
            coll += call_amount
            budget -= call_amount
            paid, event = call_amount, "paid"
            run.paid_wad += call_amount
            call_day = None
        eq = margin.equity(coll, [pos], view)
        mm = margin.maintenance_margin([pos], view)
        im = margin.initial_margin([pos], view)
        if call_day is not None and eq >= im:
            call_day, event = None, "call cancelled"
        if eq <= 0 or (call_day is not None and t - call_day >= grace_days and eq < mm):
            penalty = div_rounded(abs(pos.size) * p * params.liquidation_penalty_wad, WAD * WAD, Rounding.Ceil)
            coll -= penalty  # closing at p realises nothing more: the settlement already set cost = value
            run.penalty_wad, run.liquidated_on = penalty, str(dates[t])
            if coll < 0:
                run.bad_debt_wad, coll = -coll, 0
            run.rows.append(_row(dates[t], p, funding_paid, vm, coll, coll, 0, 0, 0, paid, "liquidated"))
            return run
        if call_day is None and eq < mm:
            call_amount, call_day, event = im - eq, t, "call"
            run.calls += 1
        run.rows.append(_row(dates[t], p, funding_paid, vm, coll, eq, mm, im, call_amount if event == "call" else 0, paid, event))
    return run


def _row(day, p, funding_paid, vm, coll, eq, mm, im, call, paid, event) -> dict:
    return {
        "date": str(day),
        "price_wad": p,
        "funding_paid_wad": funding_paid,
        "variation_margin_wad": vm,
        "collateral_wad": coll,
        "equity_wad": eq,
        "maintenance_margin_wad": mm,
        "initial_margin_wad": im,
        "call_wad": call,
        "paid_wad": paid,
        "event": event,
    }

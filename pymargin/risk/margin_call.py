"""Variation margin, margin calls and liquidation of one position over a daily price path, run on
the reference engine (:class:`pymargin.engine.Engine`, the contract's state machine in Python).

Set-up: a 6-decimal collateral token; one market with the given parameters on a devnet-style
oracle; the trader deposits ``collateral`` (Floor to token units at the vault edge) and buys
``size`` from a market maker at the first price (the engine charges the taker fee and requires
initial margin). A liquidator account stands by. Each following day the keeper's funding rate for
that day (the day's total rate / 86400 per second, Floor to WAD, clamped to the market's cap) is
set, time moves one day, the oracle posts the close, and funding is accrued.

Variation margin of a day = Δequity − deposits (the mark-to-market gain or loss, funding included;
the engine keeps it in equity rather than moving it into collateral). Calls: when equity <
maintenance margin a call for initial margin − equity is issued. The trader pays it the next day
(a deposit of ⌈call / token scale⌉ tokens) if the remaining top-up budget covers it; a call that
the price recovery brings back to initial margin is cancelled. An unpaid call still below
maintenance after ``grace_days``, or equity ≤ 0 at any time, is liquidated: the liquidator takes
over the whole position at the oracle price (engine rule §5.5: penalty, insurance share, bad debt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from eth_account import Account
from eth_utils import keccak

from pymargin.engine import DevOracle, Engine, EngineState, MarketState, OrderSigner, RiskParams
from pymargin.errors import Revert, UserError
from pymargin.fixedpoint import WAD, Rounding, div_rounded
from pymargin.model import MarketParams
from pymargin.risk.wad import fraction_to_wad

DECIMALS = 6
DAY_S = 86400
MARKET = 0
OWNER, KEEPER, OPERATOR, LIQUIDATOR, ORACLE, TOKEN = (f"0x{i:040x}" for i in range(1, 7))  # digits only: already checksummed
# The two sides of the opening fill sign real orders (spec §5.3) with keys that exist only in this
# simulation: keccak of a fixed label, so runs are deterministic.
TRADER_KEY, MAKER_KEY = (keccak(text=f"pymargin margin-call {who}") for who in ("trader", "maker"))
TRADER, MAKER = (Account.from_key(k).address for k in (TRADER_KEY, MAKER_KEY))


def to_wad(x: float) -> int:
    """A float amount (price, size, collateral) as WAD, Floor (of its shortest decimal, see risk.wad)."""
    return fraction_to_wad(x, Rounding.Floor, tick=1)


def risk_params(params: MarketParams) -> RiskParams:
    """The engine's parameter struct from a calibrated MarketParams (the same fields, minus id and name)."""
    return RiskParams(*(getattr(params, name) for name in RiskParams._fields))


@dataclass
class MarginCallRun:
    """The day-by-day record and the totals of a margin-call simulation (amounts in WAD quote)."""

    rows: list = field(default_factory=list)
    calls: int = 0
    paid_wad: int = 0
    liquidated_on: str | None = None
    penalty_wad: int = 0
    insurance_covered_wad: int = 0
    bad_debt_wad: int = 0

    def summary(self) -> dict:
        return {
            "day_count": len(self.rows),
            "call_count": self.calls,
            "paid_wad": self.paid_wad,
            "liquidated_on": self.liquidated_on,
            "penalty_wad": self.penalty_wad,
            "insurance_covered_wad": self.insurance_covered_wad,
            "bad_debt_wad": self.bad_debt_wad,
            "final_equity_wad": self.rows[-1]["equity_wad"] if self.rows else 0,
        }


def _unix(day) -> int:
    return int(np.datetime64(day, "s").astype(np.int64))


class _Book:
    """The engine with its one market, the oracle mirror and the actors' accounts."""

    def __init__(self, day, price_wad: int, params: MarketParams):
        now = _unix(day)
        self.oracle = DevOracle(price_wad, now)
        # the state of a freshly deployed engine after addMarket, setKeeper and setOperator
        state = EngineState(
            collateral_token=TOKEN,
            collateral_scale=10 ** (18 - DECIMALS),
            owner=OWNER,
            keepers=[KEEPER],
            operators=[OPERATOR],
            markets=[MarketState(oracle=ORACLE, name=params.name, params=risk_params(params), last_funding_time=now)],
        )
        self.engine = Engine.from_state(state, {ORACLE: self.oracle}, now)
        self.scale = self.engine.collateral_scale()
        self.cap = params.max_funding_rate_wad

    def advance(self, day, price_wad: int, daily_rate: float) -> None:
        rate = max(-self.cap, min(self.cap, fraction_to_wad(daily_rate / DAY_S, Rounding.Floor, tick=1)))
        self.engine.set_funding_rate(KEEPER, MARKET, rate)
        self.engine.now = _unix(day)
        self.oracle.set_price(price_wad, self.engine.now)
        self.engine.accrue_funding(KEEPER, MARKET)

    def views(self) -> tuple[int, int, int, int]:
        e = self.engine
        return e.collateral(TRADER, 0), e.equity(TRADER, 0), e.maintenance_margin(TRADER, 0), e.initial_margin(TRADER, 0)


def _engine_call(what: str, fn, *args):
    try:
        return fn(*args)
    except Revert as exc:
        raise UserError(f"{what} reverts in the engine: {exc}") from None


def simulate(
    dates: np.ndarray,
    prices: np.ndarray,
    size: float,
    collateral: float | None,
    params: MarketParams,
    topup_budget: float = 0.0,
    grace_days: int = 1,
    daily_funding: np.ndarray | None = None,
) -> MarginCallRun:
    """Open ``size`` at prices[0] with ``collateral`` on the engine, then mark, call and liquidate day by day.

    ``collateral`` None deposits just enough to open: ⌈(initial margin + taker fee + 1 wei of cost
    rounding) / token scale⌉ tokens.
    """
    if size == 0 or (collateral is not None and collateral <= 0) or topup_budget < 0 or grace_days < 0:
        raise UserError("need a non-zero size, collateral > 0, top-up budget >= 0 and grace_days >= 0")
    p = np.asarray(prices, dtype=float)
    if len(p) < 2 or np.any(p <= 0):
        raise UserError("the price path needs at least 2 positive prices")
    funding = np.zeros(len(p)) if daily_funding is None else np.asarray(daily_funding, dtype=float)
    size_wad, p0 = to_wad(size), to_wad(float(p[0]))
    book = _Book(dates[0], p0, params)
    e = book.engine
    notional_tokens = div_rounded(abs(size_wad) * p0, WAD * book.scale, Rounding.Ceil)
    if collateral is None:
        # + 2 wei: IM and fee are rounded separately, and the opening cost rounds up by up to 1 wei
        opening = div_rounded(abs(size_wad) * p0 * (params.imf_wad + params.taker_fee_wad), WAD * WAD, Rounding.Ceil) + 2
        deposit_tokens = div_rounded(opening, book.scale, Rounding.Ceil)
    else:
        deposit_tokens = div_rounded(to_wad(collateral), book.scale, Rounding.Floor)
    _engine_call("the trader's deposit", e.deposit, TRADER, 0, deposit_tokens)
    for actor in (MAKER, LIQUIDATOR):
        e.deposit(actor, 0, 20 * notional_tokens)
    signer = OrderSigner(e.state.chain_id, e.state.address, {TRADER: TRADER_KEY, MAKER: MAKER_KEY})
    _engine_call("the opening trade", e.trade, OPERATOR, *signer.fill(MARKET, TRADER, 0, MAKER, 0, size_wad, p0))
    budget = to_wad(topup_budget)
    run = MarginCallRun()
    _, prev_eq, _, _ = book.views()
    call_amount, call_day = 0, None
    for t in range(1, len(p)):
        _engine_call(f"day {dates[t]}", book.advance, dates[t], to_wad(float(p[t])), float(funding[t]))
        event, paid = "", 0
        if call_day is not None and call_amount <= budget:
            tokens = div_rounded(call_amount, book.scale, Rounding.Ceil)
            e.deposit(TRADER, 0, tokens)
            paid, event = tokens * book.scale, "paid"
            budget -= paid
            run.paid_wad += paid
            call_day = None
        coll, eq, mm, im = book.views()
        vm = eq - prev_eq - paid
        prev_eq = eq
        if call_day is not None and eq >= im:
            call_day, event = None, "call cancelled"
        if eq <= 0 or (call_day is not None and t - call_day >= grace_days and eq < mm):
            bad_before = e.bad_debt()
            events = _engine_call("the liquidation", e.liquidate, LIQUIDATOR, 0, TRADER, 0, MARKET, size_wad)
            run.liquidated_on = str(dates[t])
            for name, args in events:
                if name == "Liquidated":
                    run.penalty_wad = args["penaltyWad"]
                if name == "BadDebtSettled":
                    run.insurance_covered_wad = args["coveredWad"]
            run.bad_debt_wad = e.bad_debt() - bad_before
            coll, eq_after, _, _ = book.views()
            row = _row(dates[t], to_wad(float(p[t])), vm, coll, eq_after, mm, im, 0, paid, "liquidated")
            run.rows.append(row | {"equity_before_liquidation_wad": eq})
            return run
        if call_day is None and eq < mm:
            call_amount, call_day, event = im - eq, t, "call"
            run.calls += 1
        run.rows.append(_row(dates[t], to_wad(float(p[t])), vm, coll, eq, mm, im, call_amount if event == "call" else 0, paid, event))
    return run


def _row(day, price_wad, vm, coll, eq, mm, im, call, paid, event) -> dict:
    return {
        "date": str(day),
        "price_wad": price_wad,
        "variation_margin_wad": vm,
        "collateral_wad": coll,
        "equity_wad": eq,
        "maintenance_margin_wad": mm,
        "initial_margin_wad": im,
        "call_wad": call,
        "paid_wad": paid,
        "event": event,
    }

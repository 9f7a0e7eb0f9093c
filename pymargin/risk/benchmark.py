"""Initial margin benchmarking: one portfolio under every model, with the breach rate of each.

The portfolio holds fixed sizes of perps and of options rolled at constant moneyness and time to
expiry (each day a fresh option with strike = moneyness·P[t]); options are priced with Black-76
on the perp price at an implied-vol proxy, the annualised EWMA volatility of the underlying (no
implied-vol history ships with the data: stated). On each day t from ``window`` on, every model
sets a requirement from data up to day t, and the portfolio's loss over the next h days (the same
instruments revalued at P[t+h], σ[t+h], expiry - h) is compared with it. Models:

- ``fixed``: a flat fraction of each position's underlying notional |size|·P (long options: 0,
  their premium is paid in full);
- ``tiered``: the same with the fraction of the notional bracket the position falls in
  (:data:`TIERS`, illustrative brackets in the shape venues publish: larger positions pay more);
- ``var`` / ``es``: historical VaR / ES at (c, h) over the trailing window, by full revaluation of
  the portfolio in each window's relative price and vol moves;
- ``scenario``: the SPAN-style requirement of :mod:`~pymargin.risk.scenario` with each
  underlying's price range = its own trailing historical ES at (c, h), the larger side, and the
  given vol range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pymargin.errors import UserError
from pymargin.risk import backtest, measures, scenario, volatility

MODELS = ("fixed", "tiered", "var", "es", "scenario")

# (notional up to, initial margin fraction): illustrative leverage brackets in the shape of a major
# venue's published USDT-M tables (125x for small positions down to 1x); not any venue's live table.
TIERS = (
    (50_000.0, 0.008),
    (500_000.0, 0.01),
    (8_000_000.0, 0.02),
    (50_000_000.0, 0.05),
    (80_000_000.0, 0.10),
    (100_000_000.0, 0.20),
    (200_000_000.0, 0.25),
    (300_000_000.0, 1 / 3),
    (500_000_000.0, 0.50),
    (float("inf"), 1.0),
)


@dataclass(frozen=True)
class Holding:
    """``size`` base units of ``market``'s perp, or of a rolled call/put at ``moneyness``·price, ``expiry_days`` to expiry."""

    market: str
    size: float
    kind: str = "perp"
    moneyness: float = 1.0
    expiry_days: float = 30.0

    def instrument(self, price: float) -> scenario.Instrument:
        return scenario.Instrument(self.market, self.size, self.kind, self.moneyness * price if self.kind != "perp" else 0.0, self.expiry_days)


def tier_fraction(notional: float) -> float:
    """The initial margin fraction of the bracket ``notional`` falls in."""
    for limit, fraction in TIERS:
        if notional <= limit:
            return fraction
    return TIERS[-1][1]


def _notional_requirement(holdings, prices_t: dict, fraction) -> float:
    total = 0.0
    for hold in holdings:
        if hold.kind != "perp" and hold.size > 0:
            continue
        notional = abs(hold.size) * prices_t[hold.market]
        total += notional * fraction(notional)
    return total


def _value(holdings, prices: dict, vols: dict, age_days: float = 0.0, strikes: dict | None = None) -> np.ndarray:
    """Portfolio value at (arrays of) prices and vols; options keep the strikes set at inception, aged by age_days."""
    total = 0.0
    for i, hold in enumerate(holdings):
        ins = hold.instrument(1.0)
        if hold.kind != "perp":
            ins = scenario.Instrument(hold.market, hold.size, hold.kind, strikes[i], max(hold.expiry_days - age_days, 0.0))
        total = total + ins.value(prices[hold.market], vols[hold.market])
    return np.asarray(total)


@dataclass
class Benchmark:
    """Requirement paths of every model and their backtests against the portfolio's h-day losses."""

    dates: np.ndarray
    gross_notional: np.ndarray
    requirements: dict  # model -> array
    backtests: dict  # model -> Backtest (requirement and loss in quote units)
    today: dict  # model -> requirement on the last day

    def table(self) -> list[dict]:
        rows = []
        for model in self.requirements:
            s = self.backtests[model].summary()
            rows.append(
                {
                    "model": model,
                    "requirement_today": self.today[model],
                    "mean_requirement_pct_of_notional": 100.0 * float(np.mean(self.requirements[model] / self.gross_notional)),
                    "breach_count": s["breach_count"],
                    "day_count": s["day_count"],
                    "breach_rate": s["breach_rate"],
                    "kupiec_p_value": s["kupiec"]["p_value"],
                }
            )
        return rows


def run(
    dates: np.ndarray,
    prices: np.ndarray,
    markets: list[str],
    holdings: list[Holding],
    confidence: float = 0.99,
    horizon_days: int = 3,
    window: int = 500,
    fixed_fraction: float = 0.10,
    vol_range: float = 0.25,
) -> Benchmark:
    """Benchmark every model in :data:`MODELS` for ``holdings`` over aligned ``prices`` (days × markets)."""
    c, h = measures.check_confidence(confidence), measures.check_horizon(horizon_days)
    if not holdings:
        raise UserError("the portfolio has no positions")
    for hold in holdings:
        if hold.market not in markets:
            raise UserError(f"position in {hold.market!r}, which is not among the loaded markets {markets}")
    if not 0 < fixed_fraction <= 1:
        raise UserError(f"fixed fraction must be in (0, 1], got {fixed_fraction}")
    p = np.asarray(prices, dtype=float)
    n = len(p)
    if n - 1 - h < window:
        raise UserError(f"{n} days are too few for a {window}-day window and a {h}-day horizon")
    returns = p[1:] / p[:-1] - 1.0
    vol = np.column_stack([np.sqrt(volatility.ewma_variance(returns[:, j]) * 365.0)[:n] for j in range(p.shape[1])])
    col = {m: j for j, m in enumerate(markets)}
    ranges = {}
    for m in {hold.market for hold in holdings}:
        sides = [backtest.rolling_measure(p[:, col[m]], "historical", c, h, window, weights=[s]).es for s in (1.0, -1.0)]
        ranges[m] = np.minimum(np.maximum(*sides), 1.0)  # a loss fraction above 1 cannot happen to a price
    t_days = np.arange(window, n - h)
    req = {model: np.empty(len(t_days)) for model in MODELS}
    loss = np.empty(len(t_days))
    gross = np.empty(len(t_days))
    for k, t in enumerate(t_days):
        now_p = {m: p[t, col[m]] for m in markets}
        now_v = {m: vol[t, col[m]] for m in markets}
        strikes = {i: hold.moneyness * now_p[hold.market] for i, hold in enumerate(holdings)}
        v0 = float(_value(holdings, now_p, now_v, 0.0, strikes))
        later = _value(holdings, {m: p[t + h, col[m]] for m in markets}, {m: vol[t + h, col[m]] for m in markets}, h, strikes)
        loss[k] = v0 - float(later)
        gross[k] = sum(abs(hold.size) * now_p[hold.market] for hold in holdings)
        req["fixed"][k] = _notional_requirement(holdings, now_p, lambda _n: fixed_fraction)
        req["tiered"][k] = _notional_requirement(holdings, now_p, tier_fraction)
        s = slice(t - window, t - h + 1)
        scen_p = {m: now_p[m] * p[s.start + h : s.stop + h, col[m]] / p[s, col[m]] for m in markets}
        scen_v = {m: now_v[m] * vol[s.start + h : s.stop + h, col[m]] / vol[s, col[m]] for m in markets}
        pnl = _value(holdings, scen_p, scen_v, h, strikes) - v0
        hist = measures.historical(pnl, c, h)
        req["var"][k], req["es"][k] = hist.var, hist.es
        states = {m: scenario.Underlying(now_p[m], now_v[m], float(ranges[m][k]), vol_range) for m in ranges}
        req["scenario"][k] = scenario.scenario_margin([hold.instrument(now_p[hold.market]) for hold in holdings], states).requirement
    dates_t = np.asarray(dates)[t_days]
    backtests = {model: backtest.Backtest(model, h, c, dates_t, req[model], loss) for model in MODELS}
    return Benchmark(dates_t, gross, req, backtests, {model: float(req[model][-1]) for model in MODELS})

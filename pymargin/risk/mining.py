"""A Bitcoin miner's margin, its break-even price, and what a short perp hedge does to it.

No difficulty or fee history ships with the data, so network data are explicit inputs; the
defaults (:data:`EXAMPLE`) are round example values of the kind seen in spring 2025 — difficulty
1.2e14, subsidy 3.125 BTC (after the April 2024 halving), fees 0.03 BTC a block, an ASIC of
200 TH/s at 17.5 J/TH costing $4,000 over 3 years, power at $0.05/kWh, pool fee 2 % — stated,
not measured: pass your own.

    expected blocks per hash = 1 / (difficulty · 2^32)      (Bitcoin's proof-of-work target rule)
    BTC per day    = hashrate_H/s · 86400 / (difficulty · 2^32) · (subsidy + fees) · (1 − pool fee)
    hashprice      = USD per PH/s per day = 1e15 · 86400 / (difficulty · 2^32) · (subsidy + fees) · price
    cost per day   = power_kW · 24 · electricity + hardware cost / lifetime days
    margin per day = BTC per day · price − cost per day;   break-even price = cost per day / BTC per day

Hedge: over a horizon of D days the miner sells its production at each day's price; a short perp
of N BTC opened at the start gains −N·(P_D − P_0). Using every D-day window of the price history,
scaled to today's price (relative moves only), the module reports the variance of the D-day margin
for hedge ratios 0..1 (N = ratio · D · BTC per day), the minimum-variance N* = Cov(M, ΔP)/Var(ΔP),
and the collateral the hedge needs under the calibrated fractions: at least N·P·imf to open, and
N·P·(mmf + VaR_c of a short over D days) to ride out a c-quantile adverse move without liquidation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pymargin.errors import UserError
from pymargin.risk import measures

HASHES_PER_DIFFICULTY = 2**32
SECONDS_PER_DAY = 86400


@dataclass(frozen=True)
class Miner:
    """Network data (explicit inputs) and the miner's costs."""

    difficulty: float = 1.2e14
    subsidy_btc: float = 3.125
    fees_per_block_btc: float = 0.03
    pool_fee: float = 0.02
    hashrate_ths: float = 200.0
    efficiency_j_per_th: float = 17.5
    electricity_usd_per_kwh: float = 0.05
    hardware_cost_usd: float = 4000.0
    hardware_life_days: float = 3 * 365.0

    def checked(self) -> "Miner":
        for name, value in asdict(self).items():
            if value < 0 or (name in ("difficulty", "hashrate_ths", "hardware_life_days") and value <= 0):
                raise UserError(f"mining input {name} must be {'positive' if name in ('difficulty', 'hashrate_ths', 'hardware_life_days') else '>= 0'}, got {value}")
        if self.pool_fee >= 1:
            raise UserError(f"pool fee must be below 1, got {self.pool_fee}")
        return self

    @property
    def btc_per_day(self) -> float:
        """Expected BTC mined per day, net of the pool fee."""
        blocks = self.hashrate_ths * 1e12 * SECONDS_PER_DAY / (self.difficulty * HASHES_PER_DIFFICULTY)
        return blocks * (self.subsidy_btc + self.fees_per_block_btc) * (1.0 - self.pool_fee)

    @property
    def power_kw(self) -> float:
        return self.hashrate_ths * self.efficiency_j_per_th / 1000.0

    @property
    def cost_per_day(self) -> float:
        """Electricity plus straight-line hardware depreciation, USD per day."""
        return self.power_kw * 24.0 * self.electricity_usd_per_kwh + self.hardware_cost_usd / self.hardware_life_days

    @property
    def break_even_price(self) -> float:
        """The BTC price at which the daily margin is zero."""
        return self.cost_per_day / self.btc_per_day

    def margin_per_day(self, price: float) -> float:
        return self.btc_per_day * price - self.cost_per_day


def hashprice(price: float, difficulty: float, subsidy_btc: float, fees_per_block_btc: float) -> float:
    """USD earned per PH/s per day (before pool fees)."""
    return 1e15 * SECONDS_PER_DAY / (difficulty * HASHES_PER_DIFFICULTY) * (subsidy_btc + fees_per_block_btc) * price


def hedge_analysis(prices: np.ndarray, miner: Miner, horizon_days: int = 30, imf: float = 0.2, mmf: float = 0.1, confidence: float = 0.99, ratios=(0.0, 0.25, 0.5, 0.75, 1.0)) -> dict:
    """Variance of the D-day margin against hedge ratio, the minimum-variance hedge, and its collateral."""
    m = miner.checked()
    c = measures.check_confidence(confidence)
    p = np.asarray(prices, dtype=float)
    d = int(horizon_days)
    if not 1 <= d <= 365 or len(p) < d + 30:
        raise UserError(f"horizon must be 1..365 days and the history longer than horizon + 30 days ({len(p)} prices)")
    if not 0 < mmf < imf <= 1:
        raise UserError(f"need 0 < mmf < imf <= 1 (got imf {imf}, mmf {mmf})")
    p0 = float(p[-1])
    windows = np.lib.stride_tricks.sliding_window_view(p, d + 1)
    path = p0 * windows / windows[:, :1]  # each window rescaled to start at today's price
    margin = m.btc_per_day * path[:, 1:].sum(axis=1) - m.cost_per_day * d
    move = path[:, -1] - p0
    full = m.btc_per_day * d
    rows = []
    for ratio in ratios:
        hedged = margin - ratio * full * move
        rows.append({"hedge_ratio": float(ratio), "short_btc": ratio * full, "mean_margin": float(hedged.mean()), "std_margin": float(hedged.std()), "p1_margin": float(np.quantile(hedged, 0.01))})
    n_star = float(np.cov(margin, move)[0, 1] / np.var(move, ddof=1))
    short_var = measures.historical(-(path[:, -1] / p0 - 1.0), c, d).var
    return {
        "miner": asdict(m),
        "price": p0,
        "btc_per_day": m.btc_per_day,
        "cost_per_day": m.cost_per_day,
        "margin_per_day": m.margin_per_day(p0),
        "break_even_price": m.break_even_price,
        "hashprice_usd_per_ph_day": hashprice(p0, m.difficulty, m.subsidy_btc, m.fees_per_block_btc),
        "horizon_days": d,
        "window_count": int(len(margin)),
        "hedges": rows,
        "min_variance_short_btc": n_star,
        "min_variance_ratio": n_star / full,
        "variance_reduction_pct": 100.0 * (1.0 - np.var(margin - n_star * move) / np.var(margin)),
        "collateral": {
            "short_btc": n_star,
            "notional": n_star * p0,
            "initial_margin": n_star * p0 * imf,
            "short_var": short_var,
            "to_survive_var_move": n_star * p0 * (mmf + short_var),
        },
    }

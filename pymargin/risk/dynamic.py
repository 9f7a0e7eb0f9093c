"""Dynamic (volatility-scaled) initial margin fractions a keeper can post on-chain, and their backtest.

Rule (docs/spec.md §8.4): on day t the target is k·σ[t]·√h, where σ[t] is the EWMA volatility
forecast of daily returns (data up to day t) and k the filtered-historical multiplier of the
calibration period: the c-quantile (VaR) or tail mean (ES) of the overlapping h-day sums of
standardised returns r/σ, divided by √h. The target is turned into WAD (Ceil to a basis point),
clamped to [floor, cap]; it replaces the previous day's value only when they differ by at least
``deadband``, and then moves at most ``max_step`` towards the target — all in
WAD integers, so the on-chain check |new − old| ≤ max_step holds exactly. The maintenance fraction
posted with it is ⌈imf·mm_share⌉ (a basis point, at least 1 bp below imf).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from pymargin.errors import UserError
from pymargin.fixedpoint import WAD, Rounding
from pymargin.risk import measures, volatility
from pymargin.risk.wad import BASIS_POINT_WAD, fraction_to_wad


@dataclass(frozen=True)
class DynamicRule:
    """Parameters of the dynamic fraction; fractions of notional."""

    multiplier: float
    horizon_days: int = 3
    floor: float = 0.05
    cap: float = 0.5
    max_step: float = 0.01  # per daily update
    deadband: float = 0.0025  # no update while |target - current| < deadband (saves keeper transactions)
    lam: float = volatility.RISKMETRICS_LAMBDA
    mm_share: float = 2 / 3

    def checked(self) -> "DynamicRule":
        measures.check_horizon(self.horizon_days)
        if not 0.0 < self.floor <= self.cap <= 1.0:
            raise UserError(f"need 0 < floor <= cap <= 1 (floor {self.floor}, cap {self.cap})")
        if not 0.0 < self.max_step <= 1.0 or self.multiplier <= 0 or not 0.0 < self.mm_share < 1.0 or not 0.0 <= self.deadband <= self.max_step:
            raise UserError("max_step must be in (0, 1], multiplier > 0, mm_share in (0, 1), 0 <= deadband <= max_step")
        return self

    def as_dict(self) -> dict:
        return asdict(self)


def fhs_multiplier(daily: np.ndarray, confidence: float, horizon_days: int, statistic: str = "es", lam: float = volatility.RISKMETRICS_LAMBDA) -> float:
    """k such that k·σ·√h is the filtered-historical VaR/ES of the h-day loss (long or short, the larger)."""
    c, h = measures.check_confidence(confidence), measures.check_horizon(horizon_days)
    x = np.asarray(daily, dtype=float)
    sigma = np.sqrt(volatility.ewma_variance(x, lam))
    sums = np.convolve(x / sigma[:-1], np.ones(h), mode="valid")
    worst = max(getattr(measures.historical(sign * sums, c, h), statistic) for sign in (1.0, -1.0))
    return worst / math.sqrt(h)


def dynamic_fractions_wad(daily: np.ndarray, rule: DynamicRule, start_wad: int | None = None) -> np.ndarray:
    """imf in WAD for days 0..n (day t uses returns up to t-1), clamped and rate-limited as in the module doc."""
    r = rule.checked()
    sigma = np.sqrt(volatility.ewma_variance(np.asarray(daily, dtype=float), r.lam))
    floor_wad, cap_wad = fraction_to_wad(r.floor), fraction_to_wad(r.cap)
    step_wad, band_wad = fraction_to_wad(r.max_step, Rounding.Floor), fraction_to_wad(r.deadband)
    scale = r.multiplier * math.sqrt(r.horizon_days)
    out = np.empty(len(sigma), dtype=object)
    prev = start_wad
    for t, s in enumerate(sigma):
        target = min(max(fraction_to_wad(scale * float(s)), floor_wad), cap_wad)
        if prev is None:
            prev = target
        elif abs(target - prev) >= band_wad:
            prev = min(max(target, prev - step_wad), prev + step_wad)
        out[t] = prev
    return out


def maintenance_wad(imf_wad: int, mm_share: float) -> int:
    """⌈imf·mm_share⌉ to a basis point, kept at least 1 bp below imf."""
    return min(fraction_to_wad(imf_wad / WAD * mm_share), imf_wad - BASIS_POINT_WAD)


def keeper_updates(dates: np.ndarray, imf_wad: np.ndarray, mm_share: float) -> list[dict]:
    """The days the fraction changes: {date, imf_wad, mmf_wad}, what a keeper posts on-chain."""
    updates = []
    prev = None
    for day, value in zip(dates, imf_wad):
        if value != prev:
            updates.append({"date": str(day), "imf_wad": int(value), "mmf_wad": maintenance_wad(int(value), mm_share)})
            prev = value
    return updates


@dataclass
class Comparison:
    """Dynamic against static fractions over the same out-of-sample days, per side."""

    rule: DynamicRule
    static_wad: int
    dynamic_wad: np.ndarray  # per backtest day
    backtests: dict  # {"dynamic"|"static": {"long"|"short": Backtest}}
    updates: list

    def summary(self) -> dict:
        out = {"rule": self.rule.as_dict(), "static_imf_wad": self.static_wad, "keeper_update_count": len(self.updates)}
        for label, sides in self.backtests.items():
            out[label] = {side: bt.summary() for side, bt in sides.items()}
        return out


def compare_with_static(dates, prices, confidence: float, calibration_days: int, rule: DynamicRule, statistic: str = "es", static_wad: int | None = None) -> Comparison:
    """Calibrate k and a static fraction on the first ``calibration_days`` days, then backtest both on the rest.

    The static fraction (unless given) is the larger side's historical ``statistic`` over the
    calibration days at the rule's horizon, Ceil to a basis point. Breach tests use the expected
    rate 1 - confidence.
    """
    from pymargin.risk import backtest

    p = np.asarray(prices, dtype=float)
    h = rule.checked().horizon_days
    if not 60 <= calibration_days <= len(p) - h - 30:
        raise UserError(f"calibration_days must leave at least 30 test days: 60 <= {calibration_days} <= {len(p) - h - 30}")
    daily = p[1:] / p[:-1] - 1.0
    k = fhs_multiplier(daily[:calibration_days], confidence, h, statistic, rule.lam)
    rule = replace(rule, multiplier=k).checked()
    if static_wad is None:
        cal = p[: calibration_days + 1]
        worst = max(getattr(measures.measure(cal, "historical", confidence, h, weights=[s]), statistic) for s in (1.0, -1.0))
        static_wad = fraction_to_wad(worst)
    dyn = dynamic_fractions_wad(daily, rule)  # dyn[t]: fraction set on day t
    t = np.arange(calibration_days, len(p) - h)
    dyn_frac = np.array([int(v) for v in dyn[t]], dtype=float) / WAD
    backtests = {"dynamic": {}, "static": {}}
    for side, sign in (("long", 1.0), ("short", -1.0)):
        backtests["dynamic"][side] = backtest.backtest(f"dynamic {side}", dates, p, dyn_frac, t, h, confidence, [sign])
        backtests["static"][side] = backtest.backtest(f"static {side}", dates, p, static_wad / WAD, t, h, confidence, [sign])
    return Comparison(rule, static_wad, dyn[t], backtests, keeper_updates(np.asarray(dates)[t], dyn[t], rule.mm_share))

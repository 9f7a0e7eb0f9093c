"""Scenario (SPAN-style) portfolio margin for perpetuals and options, and the capital netting saves.

Each underlying has a price scanning range (a fraction of its price, e.g. its calibrated initial
margin fraction) and a volatility scanning range (a relative shift of the implied volatility).
The portfolio is revalued in the 16 scenarios of CME SPAN's risk array: price moves of 0, ±1/3,
±2/3 and ±3/3 of the range, each with the volatility up and down, plus two extreme moves of
±3 ranges (volatility unchanged) of which 35 % of the loss counts. A price cannot fall below zero:
a scenario price is ``price·max(1 + move·range, MIN_PRICE_FACTOR)`` (a range above 1/3 takes the
extreme down move to a price of ~0, a total loss for a long perp). Perpetuals are linear
(value size·P); options are priced with Black-76 on the perp price (rate 0, time to expiry not
decayed). The requirement of an underlying is its worst weighted loss (at least 0); the
portfolio requirement is the sum over underlyings (no credit between underlyings). Margining
every position alone the same way and adding up gives the gross requirement; the difference is
what netting within an underlying saves (what Derive's portfolio margin and SPAN give).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pymargin.errors import UserError
from pymargin.risk import options

EXTREME_MULTIPLE = 3.0
EXTREME_COVER = 0.35
MIN_PRICE_FACTOR = 1e-9  # a scenario price never falls below 1e-9 of today's (zero, but positive for Black-76)
DAYS_PER_YEAR = 365.0


def span_scenarios() -> list[tuple[float, int, float]]:
    """The 16 (price move in ranges, vol direction, weight) rows of the SPAN risk array."""
    rows = []
    for move in (0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0):
        rows += [(move, +1, 1.0), (move, -1, 1.0)]
    return rows + [(EXTREME_MULTIPLE, 0, EXTREME_COVER), (-EXTREME_MULTIPLE, 0, EXTREME_COVER)]


@dataclass(frozen=True)
class Instrument:
    """A position: ``size`` base units (signed) of a perp, or of a European call/put on the perp price."""

    underlying: str
    size: float
    kind: str = "perp"  # perp, call or put
    strike: float = 0.0
    expiry_days: float = 0.0

    def value(self, price, vol):
        """Mark value in quote units at perp price ``price`` and implied vol ``vol`` (arrays broadcast)."""
        if self.kind == "perp":
            return self.size * np.asarray(price, dtype=float)
        return self.size * options.black76(self.kind, price, self.strike, self.expiry_days / DAYS_PER_YEAR, vol)


@dataclass(frozen=True)
class Underlying:
    """Market state of one underlying: perp price, implied vol, and its scanning ranges."""

    price: float
    vol: float
    price_range: float  # fraction of the price in [0, 1], e.g. 0.2 = ±20 %
    vol_range: float = 0.25  # relative, e.g. 0.25 = vol × (1 ± 0.25)


@dataclass(frozen=True)
class ScenarioMargin:
    """The portfolio requirement, per-underlying detail, and the gross (position by position) requirement."""

    requirement: float
    by_underlying: dict  # name -> {"requirement", "worst_scenario", "losses"}
    standalone_sum: float

    @property
    def netting_saving(self) -> float:
        return self.standalone_sum - self.requirement

    def as_dict(self) -> dict:
        return {
            "requirement": self.requirement,
            "standalone_sum": self.standalone_sum,
            "netting_saving": self.netting_saving,
            "netting_saving_pct": 100.0 * self.netting_saving / self.standalone_sum if self.standalone_sum else 0.0,
            "by_underlying": self.by_underlying,
        }


def _check(instruments: list[Instrument], states: dict[str, Underlying]) -> None:
    if not instruments:
        raise UserError("the portfolio has no positions")
    for ins in instruments:
        if ins.underlying not in states:
            raise UserError(f"no market state for underlying {ins.underlying!r}")
        if ins.kind not in ("perp", *options.KINDS):
            raise UserError(f"instrument kind must be perp, call or put, got {ins.kind!r}")
        if ins.kind != "perp" and (ins.strike <= 0 or ins.expiry_days < 0):
            raise UserError("an option needs a positive strike and expiry_days >= 0")
    for name, st in states.items():
        if st.price <= 0 or st.vol < 0 or not 0 <= st.price_range <= 1 or not 0 <= st.vol_range < 1:
            raise UserError(f"underlying {name}: price > 0, vol >= 0, 0 <= price_range <= 1, 0 <= vol_range < 1 are required")


def scenario_losses(instruments: list[Instrument], state: Underlying) -> np.ndarray:
    """Weighted loss (quote units) of ``instruments`` (one underlying) in each SPAN scenario."""
    rows = np.array(span_scenarios())
    price = state.price * np.maximum(1.0 + rows[:, 0] * state.price_range, MIN_PRICE_FACTOR)
    vol = state.vol * (1.0 + rows[:, 1] * state.vol_range)
    now = sum(ins.value(state.price, state.vol) for ins in instruments)
    later = sum(ins.value(price, vol) for ins in instruments)
    return rows[:, 2] * (now - later)


def _requirement(instruments: list[Instrument], state: Underlying) -> tuple[float, int, np.ndarray]:
    losses = scenario_losses(instruments, state)
    worst = int(np.argmax(losses))
    return max(0.0, float(losses[worst])), worst, losses


def scenario_margin(instruments: list[Instrument], states: dict[str, Underlying]) -> ScenarioMargin:
    """SPAN-style requirement of the portfolio and of its positions margined one by one."""
    _check(instruments, states)
    by_underlying = {}
    for name in sorted({ins.underlying for ins in instruments}):
        group = [ins for ins in instruments if ins.underlying == name]
        req, worst, losses = _requirement(group, states[name])
        move, vol_dir, _ = span_scenarios()[worst]
        by_underlying[name] = {"requirement": req, "worst_scenario": {"price_move_ranges": move, "vol_direction": vol_dir}, "losses": losses.tolist()}
    standalone = sum(_requirement([ins], states[ins.underlying])[0] for ins in instruments)
    return ScenarioMargin(sum(v["requirement"] for v in by_underlying.values()), by_underlying, standalone)

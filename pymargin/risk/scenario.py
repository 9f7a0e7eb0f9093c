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

:func:`scenario_margin_wad` is the exact path: the same grid on WAD integers through
:mod:`pymargin.riskarray`, so its requirement equals the contract's (``RiskArrays.sol``) to the wei.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pymargin import riskarray
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


# ------------------------------------------------------------------ exact path (WAD integers)


@dataclass(frozen=True)
class InstrumentWad:
    """A position in WAD integers: ``size_wad`` (signed) of a perp, or of a call/put with
    ``strike_wad`` and ``tau_s`` seconds to expiry."""

    underlying: str
    size_wad: int
    kind: riskarray.InstrumentKind = riskarray.InstrumentKind.Perp
    strike_wad: int = 0
    tau_s: int = 0


@dataclass(frozen=True)
class UnderlyingWad:
    """Mark and scanning ranges of one underlying in WAD: price, implied vol, price range R, vol range V."""

    price_wad: int
    vol_wad: int
    price_range_wad: int
    vol_range_wad: int


@dataclass(frozen=True)
class ScenarioMarginWad:
    """Exact maintenance requirement (the sum over underlyings) and each underlying's."""

    maintenance_wad: int
    by_underlying_wad: dict  # name -> maintenance of that underlying's positions
    standalone_sum_wad: int  # every position margined alone, added up


def _maintenance_wad(group: list[InstrumentWad], state: UnderlyingWad, som_fraction_wad: int) -> int:
    arrays = [
        riskarray.risk_array(ins.kind, ins.strike_wad, ins.tau_s, state.price_wad, state.vol_wad, state.price_range_wad, state.vol_range_wad)
        for ins in group
    ]
    som = [riskarray.short_option_minimum(ins.kind, state.price_wad, som_fraction_wad) for ins in group]
    return riskarray.maintenance_margin([ins.size_wad for ins in group], arrays, som)


def scenario_margin_wad(instruments: list[InstrumentWad], states: dict[str, UnderlyingWad], som_fraction_wad: int) -> ScenarioMarginWad:
    """The exact SPAN requirement (spec §4.1): per underlying ``RiskArrays.maintenanceMargin`` of its
    positions' risk arrays, summed over underlyings (no credit between them), and the same for each
    position alone. Raises the contract's reverts (:mod:`pymargin.riskarray`)."""
    if not instruments:
        raise UserError("the portfolio has no positions")
    missing = sorted({ins.underlying for ins in instruments} - set(states))
    if missing:
        raise UserError(f"no market state for underlying {missing[0]!r}")
    by_underlying = {}
    for name in sorted({ins.underlying for ins in instruments}):
        group = [ins for ins in instruments if ins.underlying == name]
        by_underlying[name] = _maintenance_wad(group, states[name], som_fraction_wad)
    standalone = sum(_maintenance_wad([ins], states[ins.underlying], som_fraction_wad) for ins in instruments)
    return ScenarioMarginWad(sum(by_underlying.values()), by_underlying, standalone)

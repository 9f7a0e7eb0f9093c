"""Initial and maintenance margin fractions per market, from VaR/ES, as MarketParams in WAD.

The rule (docs/spec.md §8.2), per market, losses as fractions of notional, both sides (long and
short) measured and the larger taken:

    mm_base  = statistic(method, mm_confidence, mm_horizon_days)
    im_base  = statistic(method, im_confidence, im_horizon_days)
    funding(h) = h · q_c(|daily funding rate|)                  (0 when the market has no funding file)
    liquidity  = the add-on of the market's liquidity tier (median quote volume of the last 90 days)
    mmf = max(mm_floor, mm_base + funding(mm_horizon) + liquidity)
    imf = max(im_floor, im_base + funding(im_horizon) + liquidity, im_over_mm · mmf)

Both are rounded UP to a whole basis point (1e14 WAD) and capped at 1 (1e18); imf ≥ mmf + 1 bp.
The other MarketParams fields get the stated defaults in :class:`Settings` (the liquidation penalty
is half the maintenance fraction, Ceil to a basis point; max open interest is a share of the median
daily volume, in base units, Floor).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from pymargin.errors import UserError
from pymargin.fixedpoint import WAD, Rounding
from pymargin.model import MAX_MARKETS, MarketParams
from pymargin.risk import measures
from pymargin.risk.data import PriceSeries
from pymargin.risk.wad import BASIS_POINT_WAD, fraction_to_wad

SECONDS_PER_8H = 8 * 3600


@dataclass(frozen=True)
class LiquidityTier:
    """A market with median daily quote volume ≥ ``min_volume`` gets ``addon`` and an OI cap of ``oi_share`` of that volume."""

    tier: int
    min_volume: float
    addon: float
    oi_share: float


# Stated tiers (quote units per day): deep markets need no add-on; thin ones pay for the price
# impact of liquidating and get a tighter open-interest cap.
LIQUIDITY_TIERS = (
    LiquidityTier(1, 1e10, 0.000, 0.02),
    LiquidityTier(2, 1e9, 0.005, 0.02),
    LiquidityTier(3, 1e8, 0.015, 0.01),
    LiquidityTier(4, 0.0, 0.030, 0.005),
)


@dataclass(frozen=True)
class Settings:
    """Everything the calibration rule reads; the defaults are the documented house view."""

    method: str = "historical"
    statistic: str = "es"  # "var" or "es"
    mm_confidence: float = 0.99
    mm_horizon_days: int = 1
    im_confidence: float = 0.99
    im_horizon_days: int = 3
    mm_floor: float = 0.01
    im_floor: float = 0.02
    im_over_mm: float = 1.5
    lookback_days: int = 0  # 0 = the whole history
    volume_days: int = 90
    taker_fee: float = 0.0005
    maker_fee: float = 0.0002
    insurance_share: float = 0.5
    max_price_age_s: int = 3600
    price_band: float = 0.05
    max_funding_rate_per_8h: float = 0.003  # Binance USDT-M BTCUSDT clamp (hit in btcusdt_funding_8h.csv, Feb-Mar 2020)

    def checked(self) -> "Settings":
        """Self, after checking every field (UserError on the first bad one)."""
        measures.check_confidence(self.mm_confidence)
        measures.check_confidence(self.im_confidence)
        measures.check_horizon(self.mm_horizon_days)
        measures.check_horizon(self.im_horizon_days)
        if self.method not in measures.METHODS:
            raise UserError(f"unknown risk method {self.method!r}: use one of {', '.join(measures.METHODS)}")
        if self.statistic not in ("var", "es"):
            raise UserError(f"statistic must be var or es, got {self.statistic!r}")
        for name in ("mm_floor", "im_floor", "taker_fee", "maker_fee", "insurance_share", "price_band"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"{name} must be a fraction in [0, 1], got {getattr(self, name)}")
        if self.im_over_mm < 1.0:
            raise UserError(f"im_over_mm must be >= 1, got {self.im_over_mm}")
        if self.lookback_days < 0 or self.volume_days < 1:
            raise UserError("lookback_days must be >= 0 and volume_days >= 1")
        return self


@dataclass
class Calibration:
    """One market's calibrated parameters and the evidence behind them."""

    params: MarketParams
    tier: LiquidityTier
    mm_measure: dict  # {"long": Measure, "short": Measure}
    im_measure: dict
    funding_addon_mm: float
    funding_addon_im: float
    median_volume: float
    days: int
    first_day: str
    last_day: str
    evidence: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "params": asdict(self.params),
            "imf": self.params.imf_wad / WAD,
            "mmf": self.params.mmf_wad / WAD,
            "liquidity_tier": asdict(self.tier),
            "median_daily_volume_quote": self.median_volume,
            "mm_measure": {side: m.as_dict() for side, m in self.mm_measure.items()},
            "im_measure": {side: m.as_dict() for side, m in self.im_measure.items()},
            "funding_addon_mm": self.funding_addon_mm,
            "funding_addon_im": self.funding_addon_im,
            "day_count": self.days,
            "first_day": self.first_day,
            "last_day": self.last_day,
        }


def liquidity_tier(median_volume: float) -> LiquidityTier:
    """The first tier whose ``min_volume`` the median daily quote volume reaches (NaN → the last tier)."""
    for tier in LIQUIDITY_TIERS:
        if median_volume >= tier.min_volume:
            return tier
    return LIQUIDITY_TIERS[-1]


def funding_addon(daily_funding: np.ndarray | None, confidence: float, horizon_days: int) -> float:
    """h · (the c-quantile of |daily funding rate|): funding a position may pay while it is liquidated."""
    if daily_funding is None or len(daily_funding) == 0:
        return 0.0
    return horizon_days * float(np.quantile(np.abs(daily_funding), confidence, method="higher"))


def _both_sides(series: PriceSeries, settings: Settings, confidence: float, horizon: int) -> dict:
    return {side: measures.measure(series.close, settings.method, confidence, horizon, weights=[sign]) for side, sign in (("long", 1.0), ("short", -1.0))}


def _worst(sides: dict, statistic: str) -> float:
    return max(getattr(m, statistic) for m in sides.values())


def calibrate_market(series: PriceSeries, market_id: int, settings: Settings = Settings(), daily_funding: np.ndarray | None = None) -> Calibration:
    """Calibrate one market (see the module doc); ``daily_funding`` is its daily total funding rate, if known."""
    s = settings.checked()
    if s.lookback_days:
        series = series.last(s.lookback_days)
    if len(series) < 60:
        raise UserError(f"market {series.name}: {len(series)} days of prices; calibration needs at least 60")
    mm_sides = _both_sides(series, s, s.mm_confidence, s.mm_horizon_days)
    im_sides = _both_sides(series, s, s.im_confidence, s.im_horizon_days)
    f_mm = funding_addon(daily_funding, s.mm_confidence, s.mm_horizon_days)
    f_im = funding_addon(daily_funding, s.im_confidence, s.im_horizon_days)
    volume = series.volume_quote[-s.volume_days :]
    median_volume = float(np.median(volume)) if np.all(np.isfinite(volume)) else float("nan")
    tier = liquidity_tier(median_volume)

    mmf = max(s.mm_floor, _worst(mm_sides, s.statistic) + f_mm + tier.addon)
    imf = max(s.im_floor, _worst(im_sides, s.statistic) + f_im + tier.addon, s.im_over_mm * mmf)
    mmf_wad = min(fraction_to_wad(mmf), WAD - BASIS_POINT_WAD)
    imf_wad = min(max(fraction_to_wad(imf), mmf_wad + BASIS_POINT_WAD), WAD)
    price = float(series.close[-1])
    oi = tier.oi_share * median_volume / price if np.isfinite(median_volume) else 0.0
    params = MarketParams(
        market_id=market_id,
        name=series.name,
        imf_wad=imf_wad,
        mmf_wad=mmf_wad,
        taker_fee_wad=fraction_to_wad(s.taker_fee),
        maker_fee_wad=fraction_to_wad(s.maker_fee),
        liquidation_penalty_wad=fraction_to_wad(mmf_wad / WAD / 2.0),
        insurance_share_wad=fraction_to_wad(s.insurance_share, Rounding.Floor),
        max_open_interest=fraction_to_wad(oi, Rounding.Floor, tick=WAD),
        max_price_age_s=s.max_price_age_s,
        price_band_wad=fraction_to_wad(s.price_band, Rounding.Floor),
        max_funding_rate_wad=fraction_to_wad(s.max_funding_rate_per_8h / SECONDS_PER_8H, Rounding.Ceil, tick=1),
    )
    return Calibration(params, tier, mm_sides, im_sides, f_mm, f_im, median_volume, len(series), str(series.dates[0]), str(series.dates[-1]))


def market_config(calibrations: list[Calibration], settings: Settings) -> dict:
    """The calibration result: {"markets": [MarketParams as JSON integers], "settings", "evidence", "units"}."""
    return {
        "markets": [asdict(c.params) for c in calibrations],
        "settings": asdict(settings),
        "evidence": {c.params.name: c.as_dict() for c in calibrations},
        "units": "every *_wad field is a WAD integer (1e18 = 100 %); max_open_interest is WAD base units; requirements are rounded up to a basis point",
    }


RISK_PARAM_FIELDS = tuple(f for f in MarketParams.__dataclass_fields__ if f not in ("market_id", "name"))


def deploy_config(calibrations: list[Calibration], prices_wad: dict[str, int], chain_id: int = 31337, token_decimals: int = 6) -> dict:
    """A config for ``pymargin deploy`` (:mod:`pymargin.chain.deploy`): a test collateral token, the
    MarginEngine, one DevOracle per market at ``prices_wad[name]``, and ``addMarket`` with the
    calibrated parameters (the engine numbers markets 0, 1, ... in this order; at most MAX_MARKETS)."""
    contracts = [
        {"name": "Collateral", "artifact": "TestToken", "args": ["Test USD", "tUSD", token_decimals]},
        {"name": "Engine", "artifact": "MarginEngine", "args": ["{Collateral}", "{deployer}"]},
    ]
    if len(calibrations) > MAX_MARKETS:
        raise UserError(f"{len(calibrations)} markets: the engine holds at most {MAX_MARKETS} (docs/spec.md §5.1)")
    calls = []
    for c in sorted(calibrations, key=lambda c: c.params.market_id):
        if c.params.market_id != len(calls):
            raise UserError(f"market ids must be 0, 1, ... in order to match addMarket; got {c.params.market_id}")
        oracle = f"Oracle_{c.params.name}"
        contracts.append({"name": oracle, "artifact": "DevOracle", "args": ["{deployer}", prices_wad[c.params.name]]})
        calls.append({"contract": "Engine", "function": "addMarket", "args": [f"{{{oracle}}}", c.params.name, [getattr(c.params, f) for f in RISK_PARAM_FIELDS]]})
    return {"chain_id": chain_id, "contracts": contracts, "calls": calls}


def load_market_params(config: dict) -> list[MarketParams]:
    """MarketParams from a market config written by :func:`market_config`: integers as decimal strings
    (docs/output.md) or, as earlier versions wrote them, JSON numbers (UserError if malformed)."""
    try:
        return [MarketParams(**{k: v if k == "name" else _integer(v) for k, v in entry.items()}) for entry in config["markets"]]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"malformed market config: {exc}") from None


def _integer(value) -> int:
    """An integer field of a market config: a decimal string or a JSON integer (ValueError otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(value)


def with_overrides(settings: Settings, **overrides) -> Settings:
    """Settings with the non-None overrides applied."""
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None}).checked()

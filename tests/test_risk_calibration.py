"""Calibration rule → MarketParams in WAD: the rule's arithmetic, rounding up, floors, tiers, real data."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pytest
from scipy.stats import norm

from pymargin.errors import UserError
from pymargin.fixedpoint import WAD, Rounding
from pymargin.model import MarketParams
from pymargin.risk import calibration, data
from pymargin.risk.data import PriceSeries
from pymargin.risk.wad import fraction_to_wad


def test_fraction_to_wad_rounds_up_to_a_basis_point():
    assert fraction_to_wad(0.1) == 10**17  # 0.1 is read as 1/10, not the binary 0.1000...0555
    assert fraction_to_wad(0.12345) == 1235 * 10**14
    assert fraction_to_wad(0.12345, Rounding.Floor) == 1234 * 10**14
    assert fraction_to_wad(0.5, tick=1) == WAD // 2
    assert fraction_to_wad(-0.00012359, Rounding.Floor, tick=1) == -123590000000000
    with pytest.raises(UserError):
        fraction_to_wad(float("nan"))


def _series(returns: np.ndarray, volume: float = 2e10) -> PriceSeries:
    close = 100 * np.concatenate(([1.0], np.cumprod(1 + returns)))
    dates = np.datetime64("2020-01-01") + np.arange(len(close))
    return PriceSeries("syn", dates, close, np.full(len(close), volume))


def test_normal_rule_by_hand():
    rng = np.random.default_rng(4)
    r = 0.02 * rng.standard_normal(1000)
    s = calibration.Settings(method="normal", statistic="es", mm_floor=0.0, im_floor=0.0)
    cal = calibration.calibrate_market(_series(r), 7, s)
    sigma = math.sqrt(np.mean(r * r))
    es = lambda c, h: sigma * math.sqrt(h) * norm.pdf(norm.ppf(c)) / (1 - c)  # noqa: E731
    mmf = es(0.99, 1)  # tier 1 (volume 2e10): no liquidity add-on; no funding data
    imf = max(es(0.99, 3), 1.5 * mmf)
    assert cal.params.mmf_wad == math.ceil(mmf * 1e4) * 10**14
    assert cal.params.imf_wad == math.ceil(imf * 1e4) * 10**14
    assert cal.params.market_id == 7 and cal.tier.tier == 1


def test_floors_addons_and_other_params():
    r = 0.001 * np.sin(np.arange(400))  # very quiet market: the floors bind
    funding = np.full(400, 0.0003)
    cal = calibration.calibrate_market(_series(r, volume=5e8), 1, calibration.Settings(), funding)
    tier = calibration.liquidity_tier(5e8)
    assert tier.tier == 3
    p = cal.params
    assert cal.funding_addon_mm == pytest.approx(0.0003) and cal.funding_addon_im == pytest.approx(0.0009)
    base = max(cal.mm_measure["long"].es, cal.mm_measure["short"].es)
    assert p.mmf_wad == fraction_to_wad(max(0.01, base + 0.0003 + tier.addon)) > fraction_to_wad(0.01)
    assert p.imf_wad >= math.ceil(1.5 * p.mmf_wad / 10**14) * 10**14 and p.imf_wad > p.mmf_wad
    assert p.liquidation_penalty_wad == fraction_to_wad(p.mmf_wad / WAD / 2)
    assert p.max_funding_rate_wad == math.ceil(0.003 * WAD / 28800)
    last_price = 100 * np.prod(1 + r)
    assert p.max_open_interest == math.floor(tier.oi_share * 5e8 / last_price) * WAD
    for value in asdict(p).values():
        assert not isinstance(value, float)


def test_fractions_never_exceed_one():
    r = np.tile([3.0, -0.75], 100)  # absurdly volatile: a short loses 300 % in a day
    cal = calibration.calibrate_market(_series(r), 1)
    assert cal.params.imf_wad == WAD and cal.params.mmf_wad == WAD - 10**14


def test_real_markets_and_config_roundtrip():
    btc, eth = data.load_market("btc"), data.load_market("eth")
    cals = [calibration.calibrate_market(s, i, daily_funding=data.load_funding_daily(s.name)[1]) for i, s in enumerate((btc, eth), 1)]
    for c in cals:
        assert 0 < c.params.mmf_wad < c.params.imf_wad <= WAD
        worst = max(c.im_measure["long"].es, c.im_measure["short"].es)
        assert c.params.imf_wad / WAD >= worst  # requirements round up, never below the measure
    config = calibration.market_config(cals, calibration.Settings())
    params = calibration.load_market_params(config)
    assert params == [c.params for c in cals] and all(isinstance(p, MarketParams) for p in params)
    assert eth.name == "eth" and cals[1].params.imf_wad > cals[0].params.imf_wad  # ETH is the riskier market


@pytest.mark.parametrize("override, match", [({"mm_confidence": 1.5}, "confidence"), ({"method": "x"}, "unknown"), ({"im_over_mm": 0.5}, "im_over_mm")])
def test_bad_settings(override, match):
    with pytest.raises(UserError, match=match):
        calibration.with_overrides(calibration.Settings(), **override)

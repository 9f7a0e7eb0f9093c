"""Dynamic margin: bounds, rate limit and deadband hold exactly in WAD; the multiplier matches the normal law."""

from __future__ import annotations

import numpy as np
import pytest

from pymargin.errors import UserError
from pymargin.risk import data, dynamic
from pymargin.risk.wad import fraction_to_wad


def test_bounds_rate_limit_and_deadband_hold_exactly():
    btc = data.load_market("btc")
    rule = dynamic.DynamicRule(3.0, 3, floor=0.08, cap=0.3, max_step=0.01, deadband=0.003)
    path = dynamic.dynamic_fractions_wad(btc.returns(), rule)
    values = np.array([int(v) for v in path], dtype=object)
    steps = np.abs(np.diff(values))
    assert min(values) >= fraction_to_wad(0.08) and max(values) <= fraction_to_wad(0.3)
    assert max(steps) <= fraction_to_wad(0.01)
    assert all(s == 0 or s >= fraction_to_wad(0.003) for s in steps)
    assert min(values) == fraction_to_wad(0.08) and max(values) == fraction_to_wad(0.3)  # both bounds are reached on BTC
    assert all(v % 10**14 == 0 for v in values)


def test_constant_volatility_converges_to_k_sigma_sqrt_h():
    r = np.tile([0.02, -0.02], 400)  # EWMA sigma -> 2 %
    path = dynamic.dynamic_fractions_wad(r, dynamic.DynamicRule(2.0, 4, floor=0.01, cap=1.0, max_step=0.02, deadband=0.0))
    assert int(path[-1]) == fraction_to_wad(2.0 * 0.02 * 2)


def test_fhs_multiplier_of_iid_normal_is_the_normal_es_factor():
    # with a slow EWMA (about 500 effective days) the standardised residuals of iid normal returns are normal
    x = 0.01 * np.random.default_rng(2).standard_normal(30000)
    assert dynamic.fhs_multiplier(x, 0.99, 1, "es", lam=0.998) == pytest.approx(2.665, rel=0.04)
    assert dynamic.fhs_multiplier(x, 0.99, 1, "var", lam=0.998) == pytest.approx(2.326, rel=0.04)
    # RiskMetrics' fast decay adds estimation noise: fatter standardised tails, a larger multiplier
    assert dynamic.fhs_multiplier(x, 0.99, 1, "es") > dynamic.fhs_multiplier(x, 0.99, 1, "es", lam=0.998)


def test_keeper_updates_only_on_change_with_mmf_below_imf():
    updates = dynamic.keeper_updates(np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[D]"), [10**17, 10**17, 12 * 10**16], 2 / 3)
    assert [u["date"] for u in updates] == ["2024-01-01", "2024-01-03"]
    assert updates[0]["mmf_wad"] == 667 * 10**14 and all(u["mmf_wad"] < u["imf_wad"] for u in updates)


def test_compare_with_static_on_eth():
    eth = data.load_market("eth")
    comp = dynamic.compare_with_static(eth.dates, eth.close, 0.99, 1000, dynamic.DynamicRule(1.0))
    s = comp.summary()
    assert s["static"]["long"]["day_count"] == len(eth) - 1000 - 3
    assert s["static"]["long"]["mean_margin"] == pytest.approx(comp.static_wad / 1e18)
    assert comp.rule.multiplier > 2 and len(comp.updates) > 10


def test_bad_rules():
    with pytest.raises(UserError):
        dynamic.DynamicRule(1.0, floor=0.3, cap=0.2).checked()
    with pytest.raises(UserError):
        dynamic.DynamicRule(1.0, max_step=0.01, deadband=0.02).checked()

"""Black–Scholes / Black-76 against Hull's worked examples, parity and integration; SPAN-style scenario margin."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from pymargin.errors import UserError
from pymargin.risk import options, scenario


def test_black_scholes_hull_example():
    # Hull, Options, Futures and Other Derivatives: S0 = 42, K = 40, r = 10 %, sigma = 20 %, T = 0.5 -> c = 4.76, p = 0.81
    assert options.black_scholes("call", 42, 40, 0.5, 0.2, 0.1) == pytest.approx(4.76, abs=0.005)
    assert options.black_scholes("put", 42, 40, 0.5, 0.2, 0.1) == pytest.approx(0.81, abs=0.005)


def test_black76_hull_example():
    # Hull: European put futures option, F0 = K = 20, r = 9 %, sigma = 25 %, T = 4 months -> 1.12
    assert options.black76("put", 20, 20, 4 / 12, 0.25, 0.09) == pytest.approx(1.12, abs=0.005)


def test_put_call_parity():
    rng = np.random.default_rng(9)
    s, k = rng.uniform(10, 200, 50), rng.uniform(10, 200, 50)
    t, v, r, q = rng.uniform(0.01, 3, 50), rng.uniform(0.05, 1.5, 50), rng.uniform(-0.02, 0.1, 50), rng.uniform(0, 0.05, 50)
    c, p = options.black_scholes("call", s, k, t, v, r, q), options.black_scholes("put", s, k, t, v, r, q)
    assert c - p == pytest.approx(s * np.exp(-q * t) - k * np.exp(-r * t), rel=1e-9, abs=1e-9)
    c, p = options.black76("call", s, k, t, v, r), options.black76("put", s, k, t, v, r)
    assert c - p == pytest.approx(np.exp(-r * t) * (s - k), rel=1e-9, abs=1e-9)


def test_black_scholes_equals_integrated_lognormal_payoff():
    s, k, t, v, r = 100.0, 110.0, 0.75, 0.6, 0.03
    mean = math.log(s) + (r - 0.5 * v * v) * t
    sd = v * math.sqrt(t)
    expected, _ = integrate.quad(lambda x: max(math.exp(x) - k, 0.0) * stats.norm.pdf(x, mean, sd), math.log(k), mean + 12 * sd)
    assert options.black_scholes("call", s, k, t, v, r) == pytest.approx(math.exp(-r * t) * expected, rel=1e-7)


def test_expiry_and_zero_vol_are_intrinsic():
    assert options.black76("call", 120, 100, 0.0, 0.5) == 20.0
    assert options.black76("put", 120, 100, 1.0, 0.0, 0.05) == 0.0
    with pytest.raises(UserError):
        options.black76("straddle", 1, 1, 1, 1)


def _state(r=0.2):
    return {"btc": scenario.Underlying(50_000.0, 0.6, r, 0.25)}


def test_single_perp_requirement_is_the_extreme_move_by_hand():
    # a linear position loses r*N at a full-range move and 0.35 * 3r * N = 1.05 r N at the extreme move
    res = scenario.scenario_margin([scenario.Instrument("btc", 2.0)], _state(0.2))
    assert res.requirement == pytest.approx(1.05 * 0.2 * 100_000.0)
    assert res.by_underlying["btc"]["worst_scenario"]["price_move_ranges"] == -3.0


def test_offsetting_perps_net_to_zero():
    res = scenario.scenario_margin([scenario.Instrument("btc", 1.0), scenario.Instrument("btc", -1.0)], _state())
    assert res.requirement == pytest.approx(0.0, abs=1e-9)
    assert res.netting_saving == pytest.approx(2 * 1.05 * 0.2 * 50_000.0)


def test_covered_call_saves_margin_and_long_option_risks_at_most_its_premium():
    perp, call = scenario.Instrument("btc", 1.0), scenario.Instrument("btc", -1.0, "call", 55_000.0, 30)
    res = scenario.scenario_margin([perp, call], _state())
    assert 0 < res.requirement < res.standalone_sum
    long_put = scenario.Instrument("btc", 1.0, "put", 45_000.0, 30)
    premium = float(long_put.value(50_000.0, 0.6))
    assert 0 < scenario.scenario_margin([long_put], _state()).requirement <= premium


def test_scenario_input_checks():
    with pytest.raises(UserError, match="no market state"):
        scenario.scenario_margin([scenario.Instrument("eth", 1.0)], _state())
    with pytest.raises(UserError, match="price_range"):
        scenario.scenario_margin([scenario.Instrument("btc", 1.0)], _state(1.5))

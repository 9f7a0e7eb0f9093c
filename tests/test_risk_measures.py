"""VaR / ES against closed forms, published figures and independent numerical integration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from pymargin.errors import UserError
from pymargin.risk import measures, volatility


def test_normal_var_matches_hull_ten_day_example():
    # Hull, Options, Futures and Other Derivatives: $10m position, 2 % daily vol, 10-day 99 % VaR
    # = 2.33 * 200,000 * sqrt(10) = $1,473,621 (Hull rounds z to 2.33; the exact z is 2.3263478740).
    m = measures.normal(0.02, 0.99, 10)
    assert 10e6 * m.var == pytest.approx(1_473_621, rel=2e-3)
    assert 10e6 * m.var == pytest.approx(200_000 * math.sqrt(10) * 2.3263478740408408, rel=1e-12)


@pytest.mark.parametrize("c, factor", [(0.99, 2.665), (0.975, 2.338)])
def test_normal_es_published_multiples(c, factor):
    # ES of a standard normal: 2.665 at 99 %, 2.338 at 97.5 % (the FRTB ES 97.5 % ~ VaR 99 % fact).
    assert measures.normal(1.0, c).es == pytest.approx(factor, abs=5e-4)


def test_normal_with_drift_and_horizon():
    m = measures.normal(0.03, 0.95, 4, mu=0.001)
    assert m.var == pytest.approx(-0.004 + 0.06 * 1.6448536269514722, rel=1e-12)


@pytest.mark.parametrize("nu", [2.5, 4.0, 10.0])
@pytest.mark.parametrize("c", [0.95, 0.99])
def test_student_t_es_closed_form_matches_integration(nu, c):
    scale, h = 0.025, 3
    m = measures.student_t(scale, nu, c, h)
    s = scale * math.sqrt(h)
    q = stats.t.ppf(c, nu)
    tail, _ = integrate.quad(lambda x: x * stats.t.pdf(x, nu), q, np.inf)
    assert m.var == pytest.approx(s * q, rel=1e-12)
    assert m.es == pytest.approx(s * tail / (1 - c), rel=1e-7)


def test_student_t_quantile_table_value():
    # t table: the 0.99 quantile with 4 degrees of freedom is 3.747
    assert measures.student_t(1.0, 4.0, 0.99).var == pytest.approx(3.747, abs=5e-4)


def test_historical_order_statistic_rule():
    losses = np.arange(1.0, 101.0)  # 1..100
    m = measures.historical(-losses, 0.95)
    assert (m.var, m.es) == (96.0, 98.0)  # k = 5: the 5th largest, the mean of the 5 largest
    m = measures.historical(-np.arange(1.0, 501.0), 0.99)  # Hull's 500 scenarios: VaR = 5th worst
    assert m.var == 496.0 and m.es == 498.0


def test_horizon_pnl_of_a_portfolio():
    prices = np.array([[100.0, 10.0], [110.0, 9.0], [121.0, 9.9]])
    pnl = measures.horizon_pnl(prices, [2.0, -1.0], 2)
    assert pnl.tolist() == pytest.approx([2 * 0.21 - (-0.01)])
    assert measures.horizon_pnl(prices, [2.0, -1.0], 1).tolist() == pytest.approx([0.2 + 0.1, 0.2 - 0.1])


def test_historical_measure_on_prices_covers_both_sides():
    prices = np.array([100.0, 90.0, 99.0, 99.0, 89.1])  # returns -10 %, +10 %, 0, -10 %
    # long losses 0.1, -0.1, 0, 0.1; short losses -0.1, 0.1, 0, -0.1; k = ceil(4 * 0.4) = 2 at c = 0.6
    long, short = (measures.measure(prices, "historical", 0.6, 1, [w]) for w in (1.0, -1.0))
    assert (long.var, long.es) == pytest.approx((0.1, 0.1))
    assert (short.var, short.es) == pytest.approx((0.0, 0.05))


def test_fitted_student_t_recovers_its_law():
    rng = np.random.default_rng(7)
    x = 0.02 * rng.standard_t(4.0, size=20000)
    nu, scale = measures.fit_student_t(x)
    assert nu == pytest.approx(4.0, rel=0.1) and scale == pytest.approx(0.02, rel=0.05)


def test_filtered_historical_scales_with_current_volatility_and_matches_normal_for_iid_normal():
    rng = np.random.default_rng(1)
    x = 0.02 * rng.standard_normal(20000)
    sample = measures.filtered_sample(x, 1, "ewma")
    fhs = measures.historical(sample, 0.99)
    sigma_now = math.sqrt(volatility.ewma_variance(x)[-1])
    assert fhs.var == pytest.approx(sigma_now * 2.3263, rel=0.06)
    assert fhs.es == pytest.approx(sigma_now * 2.665, rel=0.06)
    # homogeneity: doubling every return doubles the measure
    twice = measures.historical(measures.filtered_sample(2 * x, 1, "ewma"), 0.99)
    assert twice.var == pytest.approx(2 * fhs.var, rel=1e-9)


@pytest.mark.parametrize("bad", [0.5, 1.0, 1.2, -0.1, "x"])
def test_bad_confidence_is_a_user_error(bad):
    with pytest.raises(UserError, match="confidence"):
        measures.normal(0.01, bad)


def test_bad_method_and_horizon():
    with pytest.raises(UserError, match="unknown risk method"):
        measures.measure(np.linspace(1, 2, 100), "montecarlo", 0.99)
    with pytest.raises(UserError, match="horizon"):
        measures.measure(np.linspace(1, 2, 100), "normal", 0.99, 0)

"""IM model benchmarking on real BTC/ETH data: each model's requirement follows its definition."""

from __future__ import annotations

import numpy as np
import pytest

from pymargin.errors import UserError
from pymargin.risk import benchmark, data, measures


@pytest.fixture(scope="module")
def aligned():
    dates, prices = data.align([data.load_market("btc"), data.load_market("eth")])
    return dates[-700:], prices[-700:]


def test_perp_portfolio_models(aligned):
    dates, prices = aligned
    holdings = [benchmark.Holding("btc", 2.0), benchmark.Holding("eth", -30.0)]
    result = benchmark.run(dates, prices, ["btc", "eth"], holdings, 0.99, 2, window=250, fixed_fraction=0.1)
    t = np.arange(250, len(prices) - 2)
    notional = 2.0 * prices[t, 0] + 30.0 * prices[t, 1]
    assert result.requirements["fixed"] == pytest.approx(0.1 * notional)
    tiered = [2 * p0 * benchmark.tier_fraction(2 * p0) + 30 * p1 * benchmark.tier_fraction(30 * p1) for p0, p1 in prices[t]]
    assert result.requirements["tiered"] == pytest.approx(tiered)
    # perps only: full revaluation = the historical measure of the weighted h-day P&L
    k = 100
    window_prices = prices[t[k] - 250 : t[k] + 1]
    weights = np.array([2.0, -30.0]) * prices[t[k]]
    m = measures.measure(window_prices, "historical", 0.99, 2, weights=weights)
    assert (result.requirements["var"][k], result.requirements["es"][k]) == pytest.approx((m.var, m.es), rel=1e-9)
    assert np.all(result.requirements["es"] >= result.requirements["var"])
    loss = -((prices[t + 2] / prices[t] - 1) * np.array([2.0, -30.0]) * prices[t]).sum(axis=1)
    assert result.backtests["var"].loss == pytest.approx(loss)
    rows = {row["model"]: row for row in result.table()}
    assert set(rows) == set(benchmark.MODELS)
    assert rows["fixed"]["mean_requirement_pct_of_notional"] == pytest.approx(10.0)


def test_covered_call_needs_less_than_the_perp_alone(aligned):
    dates, prices = aligned
    perp = [benchmark.Holding("btc", 1.0)]
    covered = perp + [benchmark.Holding("btc", -1.0, "call", 1.1, 30)]
    alone = benchmark.run(dates, prices, ["btc", "eth"], perp, 0.99, 3, window=250)
    both = benchmark.run(dates, prices, ["btc", "eth"], covered, 0.99, 3, window=250)
    # the short call gains when the price falls, so the loss-driven models ask for less: the
    # scenario grid on every day, VaR and ES on average (their tail samples mix vega and delta)
    assert np.all(both.requirements["scenario"] < alone.requirements["scenario"])
    for model in ("var", "es"):
        assert np.mean(both.requirements[model] / alone.requirements[model]) < 0.97, model
    # ... while the notional-based fixed model charges the short call's notional on top
    assert both.requirements["fixed"] == pytest.approx(2 * alone.requirements["fixed"])


def test_benchmark_input_checks(aligned):
    dates, prices = aligned
    with pytest.raises(UserError, match="not among"):
        benchmark.run(dates, prices, ["btc", "eth"], [benchmark.Holding("sol", 1.0)])

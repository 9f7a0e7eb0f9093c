"""Kupiec and Christoffersen against published tables and hand-computed sequences; rolling margins without look-ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pymargin.errors import UserError
from pymargin.risk import backtest, measures


@pytest.mark.parametrize(
    "n, accepted, rejected",
    [
        # Kupiec (1995) non-rejection regions at 95 %, p = 1 %, as tabulated in Jorion, Value at Risk, Table 6-3
        (255, [1, 6], [7]),  # the table gives only "N < 7" here
        (510, [2, 10], [1, 11]),
        (1000, [5, 16], [4, 17]),
    ],
)
def test_kupiec_matches_jorion_table(n, accepted, rejected):
    for x in accepted:
        assert not backtest.kupiec_pof(n, x, 0.01).rejected, (n, x)
    for x in rejected:
        assert backtest.kupiec_pof(n, x, 0.01).rejected, (n, x)


def test_kupiec_closed_form_with_no_breaches():
    # x = 0: LR = -2 n ln(1 - p)
    assert backtest.kupiec_pof(250, 0, 0.01).statistic == pytest.approx(-2 * 250 * math.log(0.99), rel=1e-12)
    assert backtest.kupiec_pof(100, 1, 0.01).statistic == pytest.approx(0.0, abs=1e-12)  # x/n = p


def test_christoffersen_no_clustering_gives_zero():
    hits = np.array([0, 0, 1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
    # pairs: n00 = 4, n01 = 2, n10 = 2, n11 = 1, so pi0 = pi1 = pi = 1/3
    assert backtest.transition_counts(hits) == (4, 2, 2, 1)
    assert backtest.christoffersen_independence(hits).statistic == pytest.approx(0.0, abs=1e-12)


def test_christoffersen_clustered_sequence_by_hand():
    hits = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    # n00 = 6, n01 = 0, n10 = 1, n11 = 2: pi = 2/9, pi0 = 0, pi1 = 2/3
    # LR = -2 [7 ln(7/9) + 2 ln(2/9)] + 2 [ln(1/3) + 2 ln(2/3)] = 5.7156...
    assert backtest.transition_counts(hits) == (6, 0, 1, 2)
    result = backtest.christoffersen_independence(hits)
    assert result.statistic == pytest.approx(5.715621, abs=1e-5)
    assert result.rejected


def test_conditional_coverage_is_the_sum():
    rng = np.random.default_rng(5)
    hits = rng.random(500) < 0.02
    cc = backtest.conditional_coverage(hits, 0.01)
    pof = backtest.kupiec_pof(500, int(hits.sum()), 0.01)
    ind = backtest.christoffersen_independence(hits)
    assert cc.statistic == pytest.approx(pof.statistic + ind.statistic) and cc.dof == 2


def _prices(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.cumprod(1 + 0.03 * rng.standard_t(4, n))


@pytest.mark.parametrize("method", measures.METHODS)
def test_rolling_margin_uses_no_future_data(method):
    p = _prices(700, 2)
    window, h = 200, 2
    base = backtest.rolling_measure(p, method, 0.99, h, window, refit_every=50)
    day = 450  # change every price after `day`: margins set on days <= day must not move
    changed = p.copy()
    changed[day + 1 :] *= np.linspace(0.5, 2.0, len(p) - day - 1)
    after = backtest.rolling_measure(changed, method, 0.99, h, window, refit_every=50)
    upto = base.t <= day
    assert np.allclose(base.var[upto], after.var[upto]) and np.allclose(base.es[upto], after.es[upto])
    assert not np.allclose(base.es[~upto], after.es[~upto])


@pytest.mark.parametrize("method", ["historical", "normal"])
def test_rolling_equals_the_one_shot_measure_on_each_window(method):
    p = _prices(400, 3)
    window, h = 120, 3
    r = backtest.rolling_measure(p, method, 0.975, h, window, weights=[-1.0])
    for k in (0, 57, len(r.t) - 1):
        t = r.t[k]
        m = measures.measure(p[t - window : t + 1], method, 0.975, h, weights=[-1.0])
        assert (r.var[k], r.es[k]) == pytest.approx((m.var, m.es), rel=1e-12)


def test_backtest_counts_breaches_of_a_static_margin():
    p = np.array([100, 100, 95, 95, 80, 80, 100, 100], dtype=float)  # daily returns 0, -5 %, 0, -15.8 %, 0, +25 %, 0
    t = np.arange(len(p) - 1)
    dates = np.arange("2024-01-01", "2024-01-09", dtype="datetime64[D]")
    bt = backtest.backtest("long 10 %", dates, p, 0.04, t, 1, 0.99)
    assert bt.hits.tolist() == [False, True, False, True, False, False, False]
    s = bt.summary()
    assert s["breach_count"] == 2 and s["breach_dates"] == ["2024-01-02", "2024-01-04"]
    short = backtest.backtest("short", dates, p, 0.04, t, 1, 0.99, weights=[-1.0])
    assert short.hits.tolist() == [False, False, False, False, False, True, False]


def test_rolling_rejects_short_history():
    with pytest.raises(UserError, match="too few"):
        backtest.rolling_measure(_prices(100, 1), "historical", 0.99, 1, 200)

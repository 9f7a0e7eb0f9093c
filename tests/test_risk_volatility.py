"""EWMA and GARCH(1,1): the recursion against its definition, and GARCH fitting on simulated data."""

from __future__ import annotations

import numpy as np
import pytest

from pymargin.risk import volatility


def _simulate_garch(params: volatility.Garch11, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    var = params.long_run_variance
    out = np.empty(n)
    for t in range(n):
        out[t] = np.sqrt(var) * rng.standard_normal()
        var = params.omega + params.alpha * out[t] ** 2 + params.beta * var
    return out


def test_ewma_follows_its_definition():
    rng = np.random.default_rng(3)
    r = 0.03 * rng.standard_normal(200)
    v = volatility.ewma_variance(r, 0.94, seed_var=4e-4)
    expected = [4e-4]
    for x in r:
        expected.append(0.94 * expected[-1] + 0.06 * x * x)
    assert v == pytest.approx(np.array(expected), rel=1e-12)
    assert len(v) == len(r) + 1


def test_garch_fit_recovers_simulated_parameters():
    true = volatility.Garch11(2e-5, 0.10, 0.85)
    r = _simulate_garch(true, 8000, seed=11)
    fit = volatility.fit_garch(r)
    assert fit.alpha == pytest.approx(0.10, abs=0.03)
    assert fit.beta == pytest.approx(0.85, abs=0.05)
    assert fit.long_run_variance == pytest.approx(true.long_run_variance, rel=0.25)
    assert volatility.garch_loglik(r, fit) >= volatility.garch_loglik(r, true) - 1e-6


def test_garch_needs_enough_data():
    from pymargin.errors import UserError

    with pytest.raises(UserError, match="at least 100"):
        volatility.fit_garch(np.ones(50) * 0.01)

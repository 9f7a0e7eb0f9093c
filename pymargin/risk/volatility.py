"""Conditional volatility of daily returns: EWMA (RiskMetrics) and GARCH(1,1).

Both are the recursion σ²[t] = ω + α·r[t-1]² + β·σ²[t-1] (EWMA: ω = 0, α = 1 - λ, β = λ), so
σ²[t] uses returns up to day t-1 only: it is the forecast for day t. Given n returns the result
has n + 1 entries; the last is the forecast for the next, unseen day. The recursion starts from the
mean square of the first ``SEED_DAYS`` returns (a stated, small look-ahead for those days only).
Returns are not demeaned: margin never credits drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pymargin.errors import UserError

RISKMETRICS_LAMBDA = 0.94  # J.P. Morgan RiskMetrics (1996) decay for daily data
SEED_DAYS = 30


@dataclass(frozen=True)
class Garch11:
    """GARCH(1,1) parameters of daily returns: σ²[t] = omega + alpha·r[t-1]² + beta·σ²[t-1]."""

    omega: float
    alpha: float
    beta: float

    @property
    def persistence(self) -> float:
        return self.alpha + self.beta

    @property
    def long_run_variance(self) -> float:
        """omega / (1 - alpha - beta), the unconditional daily variance."""
        return self.omega / (1.0 - self.persistence)


def _recursion(returns: np.ndarray, omega: float, alpha: float, beta: float, seed_var: float) -> np.ndarray:
    """σ² for days 0..n by the linear recursion (scipy.signal.lfilter), seeded with σ²[0] = seed_var."""
    from scipy.signal import lfilter

    r = np.asarray(returns, dtype=float)
    drive = omega + alpha * r * r
    tail, _ = lfilter([1.0], [1.0, -beta], drive, zi=[beta * seed_var])
    return np.concatenate(([seed_var], tail))


def seed_variance(returns: np.ndarray) -> float:
    """Mean square of the first SEED_DAYS returns (the recursion's starting variance)."""
    r = np.asarray(returns, dtype=float)[:SEED_DAYS]
    if len(r) == 0:
        raise UserError("volatility needs at least one return")
    return float(np.mean(r * r))


def ewma_variance(returns: np.ndarray, lam: float = RISKMETRICS_LAMBDA, seed_var: float | None = None) -> np.ndarray:
    """EWMA variance forecasts σ²[0..n]: σ²[t] = λ·σ²[t-1] + (1-λ)·r[t-1]²."""
    if not 0.0 < lam < 1.0:
        raise UserError(f"EWMA decay λ must be in (0, 1), got {lam}")
    seed = seed_variance(returns) if seed_var is None else seed_var
    return _recursion(returns, 0.0, 1.0 - lam, lam, seed)


def garch_variance(returns: np.ndarray, params: Garch11, seed_var: float | None = None) -> np.ndarray:
    """GARCH(1,1) variance forecasts σ²[0..n] with the given parameters."""
    seed = seed_variance(returns) if seed_var is None else seed_var
    return _recursion(returns, params.omega, params.alpha, params.beta, seed)


def _neg_loglik(theta: np.ndarray, r: np.ndarray, sample_var: float, seed: float) -> float:
    alpha, beta = theta
    if alpha + beta > 0.9999:
        return 1e300
    var = _recursion(r, sample_var * (1.0 - alpha - beta), alpha, beta, seed)[:-1]
    return 0.5 * float(np.sum(np.log(var) + r * r / var))


def fit_garch(returns: np.ndarray) -> Garch11:
    """Gaussian quasi-maximum-likelihood GARCH(1,1) with variance targeting (ω = s²·(1-α-β)).

    s² is the sample mean square of the returns; α and β are found by SLSQP from (0.05, 0.90)
    within α ∈ [1e-6, 0.5], β ∈ [0, 0.999], α + β ≤ 0.9999. Needs at least 100 returns.
    """
    from scipy.optimize import minimize

    r = np.asarray(returns, dtype=float)
    if len(r) < 100:
        raise UserError(f"GARCH(1,1) needs at least 100 returns, got {len(r)}")
    sample_var = float(np.mean(r * r))
    res = minimize(
        _neg_loglik,
        np.array((0.05, 0.90)),
        args=(r, sample_var, seed_variance(r)),
        method="SLSQP",
        bounds=[(1e-6, 0.5), (0.0, 0.999)],
        constraints=[{"type": "ineq", "fun": lambda theta: 0.9999 - theta[0] - theta[1]}],
    )
    alpha, beta = (float(x) for x in res.x)
    return Garch11(sample_var * (1.0 - alpha - beta), alpha, beta)


def garch_loglik(returns: np.ndarray, params: Garch11) -> float:
    """Gaussian log-likelihood of the returns under ``params`` (up to the constant -n/2·log 2π)."""
    r = np.asarray(returns, dtype=float)
    var = garch_variance(r, params)[:-1]
    return -0.5 * float(np.sum(np.log(var) + r * r / var))

"""Value at risk and expected shortfall of a position or portfolio over a margin period of risk.

Conventions (docs/spec.md §8.1):

- A portfolio is a vector of signed notional weights ``w`` over markets (long > 0, short < 0;
  ``w = [1]`` is a long of one unit of notional). Its P&L over ``h`` days from day t, holding the
  *sizes* fixed, is Σ_i w_i·(P_i[t+h]/P_i[t] - 1); the loss is minus that. Results are losses in
  the units of ``w`` (fractions of notional for a unit position), positive = a loss.
- VaR at confidence c is the loss exceeded with probability 1 - c; ES is the mean loss in that tail.
- **historical**: the h-day P&L of every overlapping window in the sample. With n samples and
  k = ⌈n·(1 - c)⌉, VaR is the k-th largest loss and ES the mean of the k largest (no interpolation).
- **normal** / **student-t**: daily P&L ~ location-scale law with mean μ (default 0: margin does
  not credit drift; fitted σ is the root mean square of daily P&L, the t is fitted by maximum
  likelihood with location 0), scaled to h days by the square-root-of-time rule (mean μ·h, scale ·√h).
  The Student-t law has ``nu`` degrees of freedom and scale ``s`` (std dev s·√(ν/(ν-2))).
- **filtered historical** (Barone-Adesi et al. 1999; Hull & White 1998): daily P&L divided by its
  EWMA or GARCH(1,1) volatility forecast gives standardised residuals; their overlapping h-day
  sums, times the volatility forecast for the next day, are the P&L samples of the historical rule.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from pymargin.errors import UserError
from pymargin.risk import volatility

METHODS = ("historical", "normal", "student-t", "fhs-ewma", "fhs-garch")


@dataclass(frozen=True)
class Measure:
    """VaR and ES of one portfolio: losses (positive) per unit of the weights."""

    method: str
    confidence: float
    horizon_days: int
    var: float
    es: float

    def as_dict(self) -> dict:
        return asdict(self)


def check_confidence(confidence: float) -> float:
    """The confidence level as a float in (0.5, 1); anything else is a UserError."""
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise UserError(f"confidence level {confidence!r} is not a number") from None
    if not 0.5 < c < 1.0:
        raise UserError(f"confidence level must be in (0.5, 1), e.g. 0.99; got {confidence}")
    return c


def check_horizon(horizon_days: int) -> int:
    """The margin period of risk in whole days, 1..60."""
    if int(horizon_days) != horizon_days or not 1 <= horizon_days <= 60:
        raise UserError(f"horizon must be a whole number of days in 1..60, got {horizon_days}")
    return int(horizon_days)


def as_matrix(prices: np.ndarray, weights) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(prices, dtype=float)
    p = p[:, None] if p.ndim == 1 else p
    w = np.ones(p.shape[1]) if weights is None else np.atleast_1d(np.asarray(weights, dtype=float))
    if w.shape != (p.shape[1],):
        raise UserError(f"{len(w)} weights for {p.shape[1]} markets")
    return p, w


def horizon_pnl(prices: np.ndarray, weights=None, horizon_days: int = 1) -> np.ndarray:
    """P&L per unit over every overlapping h-day window: Σ_i w_i·(P_i[t+h]/P_i[t] - 1), t = 0..n-h-1."""
    p, w = as_matrix(prices, weights)
    h = check_horizon(horizon_days)
    if len(p) <= h:
        raise UserError(f"{len(p)} prices cannot give a {h}-day return")
    return (p[h:] / p[:-h] - 1.0) @ w


def daily_pnl(prices: np.ndarray, weights=None) -> np.ndarray:
    """Daily P&L per unit, Σ_i w_i·r_i[t] (notional rebalanced daily): the series the models fit."""
    return horizon_pnl(prices, weights, 1)


def tail_count(n: int, confidence: float) -> int:
    """k = ⌈n·(1 - c)⌉ (at least 1): the number of samples in the loss tail."""
    return max(1, math.ceil(n * (1.0 - confidence) - 1e-9))


def historical_rows(pnl_rows: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Historical VaR and ES of each row of a (rows, n) P&L matrix (the k-th largest loss; mean of the k largest)."""
    losses = -np.asarray(pnl_rows, dtype=float)
    n = losses.shape[1]
    k = tail_count(n, confidence)
    top = -np.partition(-losses, k - 1, axis=1)[:, :k]  # the k largest losses, unordered
    return top.min(axis=1), top.mean(axis=1)


def historical(pnl: np.ndarray, confidence: float, horizon_days: int = 1) -> Measure:
    """Historical VaR and ES of P&L samples ``pnl`` (already over the horizon)."""
    c = check_confidence(confidence)
    x = np.asarray(pnl, dtype=float)
    if x.ndim != 1 or len(x) < 2:
        raise UserError("historical VaR needs at least 2 P&L samples")
    var, es = historical_rows(x[None, :], c)
    return Measure("historical", c, horizon_days, float(var[0]), float(es[0]))


def normal(sigma: float, confidence: float, horizon_days: int = 1, mu: float = 0.0) -> Measure:
    """Normal VaR = -μh + σ√h·z_c and ES = -μh + σ√h·φ(z_c)/(1 - c), z_c = Φ⁻¹(c)."""
    from scipy.stats import norm

    c, h = check_confidence(confidence), check_horizon(horizon_days)
    z = norm.ppf(c)
    scale = sigma * math.sqrt(h)
    return Measure("normal", c, h, float(-mu * h + scale * z), float(-mu * h + scale * norm.pdf(z) / (1.0 - c)))


def student_t(scale: float, nu: float, confidence: float, horizon_days: int = 1, mu: float = 0.0) -> Measure:
    """Student-t VaR = -μh + s√h·t_c and ES = -μh + s√h·f_ν(t_c)·(ν + t_c²)/((ν - 1)(1 - c)), t_c = T_ν⁻¹(c); ν > 1."""
    from scipy.stats import t as student

    c, h = check_confidence(confidence), check_horizon(horizon_days)
    if not nu > 1.0:
        raise UserError(f"Student-t ES needs more than 1 degree of freedom, got {nu}")
    q = student.ppf(c, nu)
    s = scale * math.sqrt(h)
    es = student.pdf(q, nu) * (nu + q * q) / ((nu - 1.0) * (1.0 - c))
    return Measure("student-t", c, h, float(-mu * h + s * q), float(-mu * h + s * es))


def fit_student_t(daily: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood (ν, scale) of a zero-location Student-t for daily P&L (scipy.stats.t.fit), ν clipped to ≥ 1.5."""
    from scipy.stats import t as student

    x = np.asarray(daily, dtype=float)
    if len(x) < 30:
        raise UserError(f"fitting a Student-t needs at least 30 daily returns, got {len(x)}")
    nu, _, scale = student.fit(x, floc=0.0)
    return max(float(nu), 1.5), float(scale)


def filtered_sample(daily: np.ndarray, horizon_days: int, filter_: str = "ewma") -> np.ndarray:
    """Filtered-historical h-day P&L samples: σ_next × overlapping h-sums of r[t]/σ[t]."""
    x = np.asarray(daily, dtype=float)
    h = check_horizon(horizon_days)
    if len(x) < max(h + 1, volatility.SEED_DAYS):
        raise UserError(f"filtered historical simulation needs at least {max(h + 1, volatility.SEED_DAYS)} daily returns")
    if filter_ == "ewma":
        var = volatility.ewma_variance(x)
    elif filter_ == "garch":
        var = volatility.garch_variance(x, volatility.fit_garch(x))
    else:
        raise UserError(f"unknown volatility filter {filter_!r}: use ewma or garch")
    sigma = np.sqrt(var)
    z = x / sigma[:-1]
    sums = np.convolve(z, np.ones(h), mode="valid")
    return sigma[-1] * sums


def measure(prices: np.ndarray, method: str, confidence: float, horizon_days: int = 1, weights=None) -> Measure:
    """VaR and ES of the portfolio ``weights`` over ``prices`` (days × markets) by ``method`` (see METHODS)."""
    c, h = check_confidence(confidence), check_horizon(horizon_days)
    if method == "historical":
        return historical(horizon_pnl(prices, weights, h), c, h)
    daily = daily_pnl(prices, weights)
    if method == "normal":
        return normal(float(np.sqrt(np.mean(daily * daily))), c, h)
    if method == "student-t":
        nu, scale = fit_student_t(daily)
        return student_t(scale, nu, c, h)
    if method in ("fhs-ewma", "fhs-garch"):
        m = historical(filtered_sample(daily, h, method[4:]), c, h)
        return Measure(method, c, h, m.var, m.es)
    raise UserError(f"unknown risk method {method!r}: use one of {', '.join(METHODS)}")

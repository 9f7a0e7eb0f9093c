"""European option prices: Black–Scholes–Merton (on spot) and Black-76 (on a forward or perp price).

Inputs are floats or numpy arrays (broadcast together); time ``t_years`` in years, rates and
volatility annualised, continuously compounded. At expiry (t = 0) or zero volatility the price is
the discounted intrinsic value of the forward. Prices are in the quote units of the underlying.

    d1 = (ln(F/K) + σ²t/2) / (σ√t),  d2 = d1 - σ√t,  F = S·e^((r-q)t) (BSM) or the quoted forward (Black-76)
    call = e^(-rt)·(F·N(d1) - K·N(d2)),  put = e^(-rt)·(K·N(-d2) - F·N(-d1))

:func:`black76_greeks` adds delta, gamma, vega and theta in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pymargin.errors import UserError

KINDS = ("call", "put")


def _check(kind: str, *positive) -> None:
    if kind not in KINDS:
        raise UserError(f"option kind must be call or put, got {kind!r}")
    for value in positive:
        if np.any(np.asarray(value) <= 0):
            raise UserError("option prices and strikes must be positive")


def black76(kind: str, forward, strike, t_years, vol, rate=0.0):
    """Black-76 price of a European ``kind`` option on a forward (or perpetual) price."""
    from scipy.special import ndtr

    _check(kind, forward, strike)
    f, k, t, v = (np.asarray(x, dtype=float) for x in (forward, strike, t_years, vol))
    if np.any(t < 0) or np.any(v < 0):
        raise UserError("time to expiry and volatility must be >= 0")
    discount = np.exp(-np.asarray(rate, dtype=float) * t)
    sd = v * np.sqrt(t)
    live = sd > 0
    safe = np.where(live, sd, 1.0)
    d1 = (np.log(f / k) + 0.5 * sd * sd) / safe
    d2 = d1 - sd
    if kind == "call":
        price = np.where(live, f * ndtr(d1) - k * ndtr(d2), np.maximum(f - k, 0.0))
    else:
        price = np.where(live, k * ndtr(-d2) - f * ndtr(-d1), np.maximum(k - f, 0.0))
    result = discount * price
    return float(result) if result.ndim == 0 else result


def black_scholes(kind: str, spot, strike, t_years, vol, rate=0.0, dividend=0.0):
    """Black–Scholes–Merton price of a European ``kind`` option on spot with dividend (or foreign) yield ``dividend``."""
    _check(kind, spot, strike)
    t = np.asarray(t_years, dtype=float)
    forward = np.asarray(spot, dtype=float) * np.exp((np.asarray(rate, dtype=float) - dividend) * t)
    return black76(kind, forward, strike, t, vol, rate)


@dataclass(frozen=True)
class Greeks:
    """A Black-76 price and its sensitivities (floats, or arrays when the inputs broadcast to arrays).

    delta = ∂V/∂F, gamma = ∂²V/∂F², vega = ∂V/∂σ (per 1.00 of volatility, i.e. 100 points),
    theta = −∂V/∂t_years (value change per year as time passes; divide by 365 for a day).
    """

    price: float | np.ndarray
    delta: float | np.ndarray
    gamma: float | np.ndarray
    vega: float | np.ndarray
    theta: float | np.ndarray


def black76_greeks(kind: str, forward, strike, t_years, vol, rate=0.0) -> Greeks:
    """Black-76 price, delta, gamma, vega and theta of a European ``kind`` option on a forward.

    With D = e^(-rt), s = σ√t and the d1 of the module docstring:
    delta = D·N(d1) (call), −D·N(−d1) (put); gamma = D·φ(d1)/(F·s); vega = D·F·φ(d1)·√t;
    theta = r·V − D·F·φ(d1)·σ/(2√t). At expiry or σ = 0: delta = ±D where in the money (0 out of
    it, ±D/2 at the money), gamma = vega = 0, theta = r·V.
    """
    from scipy.special import ndtr

    price = black76(kind, forward, strike, t_years, vol, rate)
    f, k, t, v, r = (np.asarray(x, dtype=float) for x in (forward, strike, t_years, vol, rate))
    discount = np.exp(-r * t)
    sd = v * np.sqrt(t)
    live = sd > 0
    safe_sd = np.where(live, sd, 1.0)
    d1 = (np.log(f / k) + 0.5 * sd * sd) / safe_sd
    pdf = np.exp(-0.5 * d1 * d1) / np.sqrt(2.0 * np.pi)
    moneyness = np.sign(f - k)  # expiry: 1 in the money for a call, 0.5 at the money
    if kind == "call":
        delta = np.where(live, discount * ndtr(d1), discount * (moneyness + 1.0) / 2.0)
    else:
        delta = np.where(live, -discount * ndtr(-d1), -discount * (1.0 - moneyness) / 2.0)
    gamma = np.where(live, discount * pdf / (f * safe_sd), 0.0)
    vega = np.where(live, discount * f * pdf * np.sqrt(t), 0.0)
    decay = np.where(live, discount * f * pdf * v / (2.0 * np.sqrt(np.where(live, t, 1.0))), 0.0)
    theta = r * np.asarray(price) - decay

    def out(x):
        x = np.asarray(x, dtype=float)
        return float(x) if x.ndim == 0 else x

    return Greeks(out(price), out(delta), out(gamma), out(vega), out(theta))

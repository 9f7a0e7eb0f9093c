"""European option prices: Black–Scholes–Merton (on spot) and Black-76 (on a forward or perp price).

Inputs are floats or numpy arrays (broadcast together); time ``t_years`` in years, rates and
volatility annualised, continuously compounded. At expiry (t = 0) or zero volatility the price is
the discounted intrinsic value of the forward. Prices are in the quote units of the underlying.

    d1 = (ln(F/K) + σ²t/2) / (σ√t),  d2 = d1 - σ√t,  F = S·e^((r-q)t) (BSM) or the quoted forward (Black-76)
    call = e^(-rt)·(F·N(d1) - K·N(d2)),  put = e^(-rt)·(K·N(-d2) - F·N(-d1))
"""

from __future__ import annotations

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

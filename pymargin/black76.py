"""Black-76 prices of European options in WAD, mirroring ``contracts/Black76.sol`` bit for bit.

    D = e^(−r·t),  s = σ·√t,  d1 = (ln F − ln K + s²/2) / s,  d2 = d1 − s
    call = D·(F·N(d1) − K·N(d2)),  put = D·(K·N(−d2) − F·N(−d1))

with t = τ / 365 days. Every step uses :mod:`pymargin.wadmath` and :mod:`pymargin.fixedpoint` with the
contract's roundings (docs/spec.md §2.2); the reverts are the contract's custom errors.
"""

from __future__ import annotations

from enum import IntEnum

from pymargin.errors import Revert
from pymargin.fixedpoint import WAD, Rounding, mul_div, mul_wad, round_div, sdiv_wad
from pymargin.wadmath import exp_wad, ln_wad, norm_cdf_wad, sqrt

YEAR_S = 365 * 86_400
MAX_PRICE_WAD = 2**128  # forward and strike ≤ 2^128 (3.4e20 quote units)
MAX_VOL_WAD = 10 * WAD  # 1,000 % a year
MAX_TAU_S = 10 * YEAR_S
MAX_RATE_WAD = WAD  # 100 % a year, continuously compounded


class OptionKind(IntEnum):
    """The kind of a European option; the values equal the Solidity enum's (``Black76.OptionKind``)."""

    Call = 0
    Put = 1


class OptionInputOutOfRange(Revert):
    """forward or strike is 0 or above 2^128, vol > 10 WAD, tau > 10 years or rate > 1 WAD."""


def check_domain(forward_wad: int, strike_wad: int, vol_wad: int, tau_s: int, rate_wad: int) -> None:
    """OptionInputOutOfRange(F, K, σ, τ, r) unless 0 < F, K ≤ 2^128, σ ≤ 10 WAD, τ ≤ 10 years, r ≤ 1 WAD."""
    if not (0 < forward_wad <= MAX_PRICE_WAD and 0 < strike_wad <= MAX_PRICE_WAD) or not (
        0 <= vol_wad <= MAX_VOL_WAD and 0 <= tau_s <= MAX_TAU_S and 0 <= rate_wad <= MAX_RATE_WAD
    ):
        raise OptionInputOutOfRange(forward_wad, strike_wad, vol_wad, tau_s, rate_wad)


def std_dev(vol_wad: int, tau_s: int) -> int:
    """s = σ·√(τ/YEAR) in WAD: ⌊√⌊σ²·τ/YEAR⌋⌋ (Floor twice)."""
    return sqrt(mul_div(vol_wad * vol_wad, tau_s, YEAR_S, Rounding.Floor), Rounding.Floor)


def undiscounted(kind: OptionKind, forward_wad: int, strike_wad: int, ln_ratio_wad: int, sd_wad: int) -> int:
    """The undiscounted price from ln_ratio = ln_wad(F) − ln_wad(K) and s = std_dev(σ, τ), Floor.

    s = 0: max(±(F − K), 0). Else d1 = ⌊(ln_ratio + ⌊⌊s²/WAD⌋/2⌋)·WAD/s⌋, d2 = d1 − s, and the Floor
    of the exact F·N(d1) − K·N(d2) (call) or K·(WAD − N(d2)) − F·(WAD − N(d1)) (put) over WAD, at least 0.
    """
    if sd_wad == 0:
        return max(forward_wad - strike_wad if kind == OptionKind.Call else strike_wad - forward_wad, 0)
    half_var = mul_wad(sd_wad, sd_wad, Rounding.Floor) // 2  # Floor
    d1 = sdiv_wad(ln_ratio_wad + half_var, sd_wad, Rounding.Floor)
    n1 = norm_cdf_wad(d1)
    n2 = norm_cdf_wad(d1 - sd_wad)
    if kind == OptionKind.Call:
        numerator = forward_wad * n1 - strike_wad * n2
    else:
        numerator = strike_wad * (WAD - n2) - forward_wad * (WAD - n1)
    return max(round_div(numerator, WAD, Rounding.Floor), 0)


def price(kind: OptionKind, forward_wad: int, strike_wad: int, vol_wad: int, tau_s: int, rate_wad: int) -> int:
    """Black-76 price (WAD quote units per unit of underlying), rounded down (Floor).

    D = e^(−⌈r·τ/YEAR⌉) (Floor); s = std_dev(σ, τ); price = ⌊D·undiscounted(F, K, ln F − ln K, s)⌋
    (the logarithms only when s > 0). Reverts OptionInputOutOfRange(F, K, σ, τ, r) outside the domain.
    """
    kind = OptionKind(kind)
    check_domain(forward_wad, strike_wad, vol_wad, tau_s, rate_wad)
    discount = exp_wad(-mul_div(rate_wad, tau_s, YEAR_S, Rounding.Ceil))
    sd = std_dev(vol_wad, tau_s)
    ln_ratio = ln_wad(forward_wad) - ln_wad(strike_wad) if sd else 0
    return mul_wad(discount, undiscounted(kind, forward_wad, strike_wad, ln_ratio, sd), Rounding.Floor)

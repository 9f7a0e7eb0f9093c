"""exp, ln, sqrt and the normal CDF on WAD integers, mirroring ``contracts/WadMath.sol`` bit for bit.

Every step is an integer operation with a named rounding, done in the same order as the contract,
so the results (and reverts) are identical (docs/spec.md §2.1). Internally the series run at
RAY = 10^27 and are cut to WAD at the end; the error against the exact function is stated and
tested in the spec (``tests/test_wadmath.py``).
"""

from __future__ import annotations

from math import isqrt

from pymargin.errors import Revert
from pymargin.fixedpoint import (
    INT256_MAX,
    INT256_MIN,
    UINT256_MAX,
    WAD,
    Rounding,
    mul_div,
    mul_uint256,
    round_div,
)

RAY = 10**27
WAD_TO_RAY = 10**9
LN2_RAY = 693_147_180_559_945_309_417_232_121  # ⌊ln 2 · 10^27⌋
HALF_LN2_RAY = LN2_RAY // 2
INV_SQRT_2PI_RAY = 398_942_280_401_432_677_939_946_059  # ⌊10^27 / √(2π)⌋
EXP_MAX_WAD = 135 * WAD  # e^135 · 10^18 < 2^256
EXP_MIN_WAD = -42 * WAD  # e^-42 · 10^18 < 1: the result is 0 below
NCDF_CUTOFF_WAD = 9 * WAD  # Φ(-9) < 1.2e-19: 0 below -9, WAD above 9
NCDF_SERIES_MAX_RAY = 3 * RAY  # the upper tail by the Taylor series below 3, the continued fraction above
NCDF_CF_TERMS = 60


class ExpOverflow(Revert):
    """expWad(x) for x > 135 WAD: the result would not fit uint256."""


class LnOfZero(Revert):
    """lnWad(0) is undefined."""


def _check_int(x: int) -> None:
    if not INT256_MIN <= x <= INT256_MAX:
        raise ValueError(f"{x} is not an int256")


def _check_uint(x: int) -> None:
    if not 0 <= x <= UINT256_MAX:
        raise ValueError(f"{x} is not a uint256")


def _exp_ray_parts(x_ray: int) -> tuple[int, int]:
    """(m_ray, k) with e^(x_ray / RAY) ≈ m_ray · 2^k / RAY; m_ray = e^r at RAY for |r| ≤ ln2/2.

    k = ⌊(x + ln2/2) / ln2⌋ (Floor), r = x − k·ln2; e^r by its Taylor series, each term
    term·r / (i·RAY) truncated toward zero (Solidity's ``/``), until a term is 0.
    """
    k = round_div(x_ray + HALF_LN2_RAY, LN2_RAY, Rounding.Floor)
    r = x_ray - k * LN2_RAY
    total = term = RAY
    i = 1
    while True:
        term = round_div(term * r, i * RAY, Rounding.Trunc)
        if term == 0:
            return total, k
        total += term
        i += 1


def exp_ray_nonpositive(x_ray: int) -> int:
    """e^(x_ray / RAY) at RAY for x_ray ≤ 0 (Floor of m_ray / 2^-k); used by the normal density."""
    m, k = _exp_ray_parts(x_ray)
    return m >> -k  # k ≤ 0 for x ≤ 0; m >> j = ⌊m / 2^j⌋ (Floor)


def exp_wad(x: int) -> int:
    """e^(x / WAD) in WAD (uint256), rounded down (Floor) from a RAY intermediate.

    0 for x < -42 WAD (below 1 wei); reverts ExpOverflow(x) for x > 135 WAD.
    """
    _check_int(x)
    if x > EXP_MAX_WAD:
        raise ExpOverflow(x)
    if x < EXP_MIN_WAD:
        return 0
    m, k = _exp_ray_parts(x * WAD_TO_RAY)
    if k >= 0:
        return mul_div(m, 2**k, WAD_TO_RAY, Rounding.Floor)
    return m // (WAD_TO_RAY << -k)  # Floor (both non-negative)


def ln_wad(x: int) -> int:
    """ln(x / WAD) in WAD (int256), rounded down (Floor) from a RAY intermediate; LnOfZero() for x = 0.

    x = m · 2^k with m ∈ [2^59, 2^60) (so m / WAD ∈ [0.576, 1.153)); ln m = 2·atanh(z),
    z = (m − 1)/(m + 1) (Trunc), by the series Σ z^(2n+1)/(2n+1) (terms Trunc) until a term is 0;
    ln x = k·ln2 + ln m.
    """
    _check_uint(x)
    if x == 0:
        raise LnOfZero()
    k = x.bit_length() - 1 - 59
    if k >= 0:
        m_ray = mul_div(x, WAD_TO_RAY, 2**k, Rounding.Floor)
    else:
        m_ray = x * WAD_TO_RAY << -k  # exact
    z = round_div((m_ray - RAY) * RAY, m_ray + RAY, Rounding.Trunc)
    z2 = z * z // RAY  # Floor (non-negative)
    total = 0
    term = z
    n = 1
    while term != 0:
        total += round_div(term, n, Rounding.Trunc)
        term = round_div(term * z2, RAY, Rounding.Trunc)
        n += 2
    return round_div(k * LN2_RAY + 2 * total, WAD_TO_RAY, Rounding.Floor)


def sqrt(n: int, rounding: Rounding) -> int:
    """√n of a uint256, rounded as named (Floor = Trunc, Ceil = Expand)."""
    _check_uint(n)
    s = isqrt(n)  # ⌊√n⌋; the contract runs Newton's method from above
    if rounding in (Rounding.Ceil, Rounding.Expand) and s * s != n:
        s += 1
    return s


def sqrt_wad(x: int, rounding: Rounding) -> int:
    """√(x / WAD) in WAD = √(x·WAD), rounded as named (Floor = Trunc, Ceil = Expand); Panic(0x11) if x·WAD > 2^256 − 1."""
    _check_uint(x)
    return sqrt(mul_uint256(x, WAD), rounding)


def upper_tail_ray(a_ray: int) -> int:
    """Q(a) = 1 − Φ(a) at RAY for 0 ≤ a < 9 (a at RAY), rounded down.

    φ(a) = e^(−a²/2)/√(2π) (Floor at each step). Below a = 3: Q = 1/2 − φ·Σ a^(2n+1)/(2n+1)!!
    (terms Floor, until a term is 0). From 3: Q = φ·R with Laplace's continued fraction
    R = 1/(a + 1/(a + 2/(a + … 60/a))) evaluated from the bottom (every division Floor).
    """
    a2 = a_ray * a_ray // RAY  # Floor
    phi = exp_ray_nonpositive(-(a2 // 2)) * INV_SQRT_2PI_RAY // RAY  # Floor
    if a_ray < NCDF_SERIES_MAX_RAY:
        total = term = a_ray
        n = 1
        while True:
            term = term * a2 // ((2 * n + 1) * RAY)
            if term == 0:
                break
            total += term
            n += 1
        return RAY // 2 - phi * total // RAY
    t = 0
    for j in range(NCDF_CF_TERMS, 0, -1):
        t = j * RAY * RAY // (a_ray + t)
    mills = RAY * RAY // (a_ray + t)
    return phi * mills // RAY


def norm_cdf_wad(x: int) -> int:
    """Φ(x / WAD), the standard normal CDF, in WAD (uint256).

    q = ⌊Q(|x|) / 10^9⌋ (Floor of the RAY upper tail); Φ(x) = q for x < 0 and WAD − q for x ≥ 0,
    so Φ(x) + Φ(−x) = WAD exactly. 0 for x ≤ −9 WAD, WAD for x ≥ 9 WAD.
    """
    _check_int(x)
    if x >= NCDF_CUTOFF_WAD:
        return WAD
    if x <= -NCDF_CUTOFF_WAD:
        return 0
    q = upper_tail_ray(abs(x) * WAD_TO_RAY) // WAD_TO_RAY
    return WAD - q if x >= 0 else q

"""Fixed-point arithmetic with Solidity's semantics, exact on Python integers.

Mirrors ``contracts/FixedPointMath.sol`` function for function (``mulDiv`` → :func:`mul_div`, ...).
Every division names its rounding: ``Floor`` (toward -inf), ``Ceil`` (toward +inf), ``Trunc``
(toward zero, Solidity's ``/``), ``Expand`` (away from zero). On unsigned values Floor = Trunc and
Ceil = Expand. Results outside the Solidity type raise the same custom error the contract reverts
with (:class:`MulDivOverflow`, :class:`DivisionByZero`, :class:`SafeCastOverflow`).

Python's ``//`` and ``%`` floor; Solidity's ``/`` and ``%`` truncate. Never use them on signed values
here: use :func:`sdiv`, :func:`smod` or a named rounding.
"""

from __future__ import annotations

from enum import IntEnum

from pymargin.errors import Revert

WAD = 10**18
UINT256_MAX = 2**256 - 1
INT256_MAX = 2**255 - 1
INT256_MIN = -(2**255)


class Rounding(IntEnum):
    """Rounding of a division; the values equal the Solidity enum's (``FixedPointMath.Rounding``)."""

    Floor = 0
    Ceil = 1
    Trunc = 2
    Expand = 3


class MulDivOverflow(Revert):
    """The exact result does not fit the result type."""


class DivisionByZero(Revert):
    """The divisor is zero."""


class SafeCastOverflow(Revert):
    """A checked cast was given a value outside the target type."""


def _div_rounded(n: int, d: int, rounding: Rounding) -> int:
    """n / d for d > 0, rounded as named (exact integers, any sign of n)."""
    q, r = divmod(n, d)  # floor quotient, 0 <= r < d
    if r == 0 or rounding == Rounding.Floor:
        return q
    if rounding == Rounding.Ceil:
        return q + 1
    if rounding == Rounding.Trunc:
        return q + 1 if n < 0 else q
    return q if n < 0 else q + 1  # Expand: away from zero


def div_rounded(x: int, d: int, rounding: Rounding) -> int:
    """x / d on uint256, rounded as named; reverts DivisionByZero if d = 0."""
    if d == 0:
        raise DivisionByZero()
    return _div_rounded(x, d, rounding)


def sdiv_rounded(x: int, d: int, rounding: Rounding) -> int:
    """x / d on int256, rounded as named; reverts DivisionByZero if d = 0, MulDivOverflow if the result is outside int256."""
    return smul_div(x, 1, d, rounding)


def mul_div(x: int, y: int, d: int, rounding: Rounding) -> int:
    """x * y / d on uint256 with a 512-bit intermediate, rounded as named; reverts if d = 0 or the result > 2^256-1."""
    if d == 0:
        raise DivisionByZero()
    q = _div_rounded(x * y, d, rounding)
    if q > UINT256_MAX:
        raise MulDivOverflow()
    return q


def smul_div(x: int, y: int, d: int, rounding: Rounding) -> int:
    """x * y / d on int256 (exact intermediate), rounded as named; reverts if d = 0 or the result is outside int256."""
    if d == 0:
        raise DivisionByZero()
    n = x * y
    q = _div_rounded(-n, -d, rounding) if d < 0 else _div_rounded(n, d, rounding)
    if not INT256_MIN <= q <= INT256_MAX:
        raise MulDivOverflow()
    return q


def sdiv(x: int, y: int) -> int:
    """Solidity's signed ``x / y``: truncates toward zero; Panic(0x12) on y = 0, Panic(0x11) on MIN / -1."""
    from pymargin.errors import ARITHMETIC_OVERFLOW, DIVISION_BY_ZERO_PANIC, Panic

    if y == 0:
        raise Panic(DIVISION_BY_ZERO_PANIC)
    if x == INT256_MIN and y == -1:
        raise Panic(ARITHMETIC_OVERFLOW)
    q = abs(x) // abs(y)
    return -q if (x < 0) != (y < 0) else q


def smod(x: int, y: int) -> int:
    """Solidity's signed ``x % y``: the sign of x; Panic(0x12) on y = 0."""
    from pymargin.errors import DIVISION_BY_ZERO_PANIC, Panic

    if y == 0:
        raise Panic(DIVISION_BY_ZERO_PANIC)
    r = abs(x) % abs(y)
    return -r if x < 0 else r

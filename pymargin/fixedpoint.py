"""Fixed-point arithmetic with Solidity's semantics, exact on Python integers.

Mirrors ``contracts/FixedPointMath.sol`` function for function (``mulDiv`` → :func:`mul_div`, ...),
reverts included (docs/spec.md §2). Every division names its rounding: ``Floor`` (toward -inf),
``Ceil`` (toward +inf), ``Trunc`` (toward zero, Solidity's ``/``), ``Expand`` (away from zero). On
unsigned values Floor = Trunc and Ceil = Expand. A result outside the Solidity type raises the
custom error the contract reverts with (:class:`MulDivOverflow`, :class:`DivisionByZero`,
:class:`SafeCastOverflow`); Solidity's own checked arithmetic (``+ - * / %`` on int256/uint256) is
mirrored by :func:`add_int256` ... :func:`mul_uint256`, :func:`sdiv`, :func:`smod`, which raise
``Panic(0x11)`` / ``Panic(0x12)``.

Arguments must be values of the Solidity parameter's type (uint256 or int256, as the contract's
ABI would accept); a value outside it raises ``ValueError``, as no contract call could carry it.

Python's ``//`` and ``%`` floor; Solidity's ``/`` and ``%`` truncate. Never use them on signed values
here: use :func:`sdiv`, :func:`smod` or a named rounding.
"""

from __future__ import annotations

from enum import IntEnum

from pymargin.errors import ARITHMETIC_OVERFLOW, DIVISION_BY_ZERO_PANIC, Panic, Revert

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


def _uint(*values: int) -> None:
    for v in values:
        if not 0 <= v <= UINT256_MAX:
            raise ValueError(f"{v} is not a uint256")


def _int(*values: int) -> None:
    for v in values:
        if not INT256_MIN <= v <= INT256_MAX:
            raise ValueError(f"{v} is not an int256")


def round_div(n: int, d: int, rounding: Rounding) -> int:
    """n / d for any integers n and d > 0 (no type bounds), rounded as named."""
    q, r = divmod(n, d)  # floor quotient, 0 <= r < d
    if r == 0 or rounding == Rounding.Floor:
        return q
    if rounding == Rounding.Ceil:
        return q + 1
    if rounding == Rounding.Trunc:
        return q + 1 if n < 0 else q
    if rounding == Rounding.Expand:
        return q if n < 0 else q + 1
    raise ValueError(f"{rounding!r} is not a Rounding")


def _checked_int256(q: int) -> int:
    if not INT256_MIN <= q <= INT256_MAX:
        raise MulDivOverflow()
    return q


# ---------------------------------------------------------------------------------- unsigned


def mul_div(x: int, y: int, d: int, rounding: Rounding) -> int:
    """x * y / d on uint256 with an exact (512-bit) intermediate, rounded as named.

    Raises DivisionByZero if d = 0, MulDivOverflow if the rounded result > 2^256 - 1.
    """
    _uint(x, y, d)
    if d == 0:
        raise DivisionByZero()
    q = round_div(x * y, d, rounding)
    if q > UINT256_MAX:
        raise MulDivOverflow()
    return q


def mul_wad(x: int, y: int, rounding: Rounding) -> int:
    """x * y / WAD on uint256 (a product of two WAD values), rounded as named; MulDivOverflow if > 2^256 - 1."""
    return mul_div(x, y, WAD, rounding)


def div_wad(x: int, y: int, rounding: Rounding) -> int:
    """x * WAD / y on uint256 (a quotient of two WAD values), rounded as named; DivisionByZero, MulDivOverflow."""
    return mul_div(x, WAD, y, rounding)


def div_rounded(x: int, d: int, rounding: Rounding) -> int:
    """x / d on uint256, rounded as named (never overflows); DivisionByZero if d = 0."""
    _uint(x, d)
    if d == 0:
        raise DivisionByZero()
    return round_div(x, d, rounding)


# ---------------------------------------------------------------------------------- signed


def smul_div(x: int, y: int, d: int, rounding: Rounding) -> int:
    """x * y / d on int256 with an exact intermediate, rounded as named.

    Raises DivisionByZero if d = 0, MulDivOverflow if the rounded result is outside int256.
    """
    _int(x, y, d)
    if d == 0:
        raise DivisionByZero()
    n = x * y
    return _checked_int256(round_div(-n, -d, rounding) if d < 0 else round_div(n, d, rounding))


def smul_wad(x: int, y: int, rounding: Rounding) -> int:
    """x * y / WAD on int256 (a product of two signed WAD values), rounded as named; MulDivOverflow."""
    return smul_div(x, y, WAD, rounding)


def sdiv_wad(x: int, y: int, rounding: Rounding) -> int:
    """x * WAD / y on int256 (a quotient of two signed WAD values), rounded as named; DivisionByZero, MulDivOverflow."""
    return smul_div(x, WAD, y, rounding)


def sdiv_rounded(x: int, d: int, rounding: Rounding) -> int:
    """x / d on int256, rounded as named; DivisionByZero if d = 0, MulDivOverflow for INT256_MIN / -1."""
    _int(x, d)
    if d == 0:
        raise DivisionByZero()
    return _checked_int256(round_div(-x, -d, rounding) if d < 0 else round_div(x, d, rounding))


def sdiv(x: int, y: int) -> int:
    """Solidity's signed ``x / y``: truncates toward zero; Panic(0x12) on y = 0, Panic(0x11) on INT256_MIN / -1."""
    _int(x, y)
    if y == 0:
        raise Panic(DIVISION_BY_ZERO_PANIC)
    if x == INT256_MIN and y == -1:
        raise Panic(ARITHMETIC_OVERFLOW)
    q = abs(x) // abs(y)
    return -q if (x < 0) != (y < 0) else q


def smod(x: int, y: int) -> int:
    """Solidity's signed ``x % y``: the remainder of :func:`sdiv`, with the sign of x; Panic(0x12) on y = 0."""
    _int(x, y)
    if y == 0:
        raise Panic(DIVISION_BY_ZERO_PANIC)
    r = abs(x) % abs(y)
    return -r if x < 0 else r


# ---------------------------------------------------------------------------------- casts


def to_int256(x: int) -> int:
    """uint256 -> int256; SafeCastOverflow if x > INT256_MAX."""
    _uint(x)
    if x > INT256_MAX:
        raise SafeCastOverflow()
    return x


def to_uint256(x: int) -> int:
    """int256 -> uint256; SafeCastOverflow if x < 0."""
    _int(x)
    if x < 0:
        raise SafeCastOverflow()
    return x


# ------------------------------------------------------------- Solidity's checked arithmetic


def _overflow_int256(r: int) -> int:
    if not INT256_MIN <= r <= INT256_MAX:
        raise Panic(ARITHMETIC_OVERFLOW)
    return r


def _overflow_uint256(r: int) -> int:
    if not 0 <= r <= UINT256_MAX:
        raise Panic(ARITHMETIC_OVERFLOW)
    return r


def add_int256(x: int, y: int) -> int:
    """Solidity's checked int256 ``x + y``; Panic(0x11) outside int256."""
    return _overflow_int256(x + y)


def sub_int256(x: int, y: int) -> int:
    """Solidity's checked int256 ``x - y``; Panic(0x11) outside int256."""
    return _overflow_int256(x - y)


def mul_int256(x: int, y: int) -> int:
    """Solidity's checked int256 ``x * y``; Panic(0x11) outside int256."""
    return _overflow_int256(x * y)


def add_uint256(x: int, y: int) -> int:
    """Solidity's checked uint256 ``x + y``; Panic(0x11) above 2^256 - 1."""
    return _overflow_uint256(x + y)


def mul_uint256(x: int, y: int) -> int:
    """Solidity's checked uint256 ``x * y``; Panic(0x11) above 2^256 - 1."""
    return _overflow_uint256(x * y)

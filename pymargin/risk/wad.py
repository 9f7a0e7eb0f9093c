"""Float fractions to the WAD integers the contract takes, with a named rounding.

A float is read as its shortest round-trip decimal (``repr``: 0.1 is exactly 1/10, not the binary
0.1000000000000000055...), converted exactly with :class:`fractions.Fraction`, and then rounded to a multiple of ``tick`` WAD units: requirements (margin fractions, fees, penalties)
round up (Ceil) so the contract never holds less than the analysis asked for.
"""

from __future__ import annotations

import math
from fractions import Fraction

from pymargin.errors import UserError
from pymargin.fixedpoint import WAD, Rounding

BASIS_POINT_WAD = 10**14  # 0.01 % of notional


def fraction_to_wad(x: float, rounding: Rounding = Rounding.Ceil, tick: int = BASIS_POINT_WAD) -> int:
    """x (a fraction, 1.0 = 100 %) as WAD, rounded to a multiple of ``tick`` (Ceil by default, Floor on request)."""
    if not math.isfinite(x):
        raise UserError(f"cannot turn {x} into a WAD fraction")
    if tick <= 0:
        raise UserError(f"tick must be a positive number of WAD units, got {tick}")
    units = Fraction(repr(float(x))) * WAD / tick
    if rounding == Rounding.Ceil:
        return math.ceil(units) * tick
    if rounding == Rounding.Floor:
        return math.floor(units) * tick
    raise UserError(f"fraction_to_wad rounds Ceil or Floor, not {rounding.name}")


def wad_to_fraction(x_wad: int) -> float:
    """A WAD integer as a float fraction (for reports and charts only)."""
    return x_wad / WAD

"""The BN254 scalar field that circuits compute in, and the signed encoding of integers in it.

A signed integer x with |x| < p/2 is the field element x mod p (negative values become p - |x|);
circuits range-check every such value so the encoding is unambiguous (docs/spec.md §7).
"""

from __future__ import annotations

from pymargin.errors import UserError

FIELD_P = 21888242871839275222246405745257275088548364400416034343698204186575808495617
HALF_P = FIELD_P // 2


def to_field(x: int) -> int:
    """The field element of a signed integer x (x mod p); raises if |x| >= p/2 (it would alias)."""
    if not -HALF_P <= x <= HALF_P:
        raise UserError(f"value {x} is outside the signed range of the BN254 scalar field")
    return x + FIELD_P if x < 0 else x


def from_field(v: int) -> int:
    """The signed integer of a field element: v if v <= p/2, else v - p."""
    if not 0 <= v < FIELD_P:
        raise UserError(f"{v} is not a BN254 scalar-field element")
    return v if v <= HALF_P else v - FIELD_P

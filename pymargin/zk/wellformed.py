"""Well-formed Groth16 proofs and keys on BN254: what every verifier checks before any pairing.

The three verifiers (py-ecc, snarkjs through pymargin's wrapper, the EVM verifier) accept a proof
only if it is well formed for the key, and then decide by the pairing check alone, so they agree
on every input (docs/spec.md §7.6). A proof for a key with n public signals is well formed iff
(checked in this order, A fully before B before C; the first failure is the reason given):

1. it has n public signals, each a canonical scalar-field element: 0 ≤ x < r;
2. its eight coordinates (Ethereum order: A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y)
   are canonical base-field elements: 0 ≤ v < q;
3. none of A, B, C is the point at infinity (encoded with all coordinates 0);
4. A and C lie on G1 (y² = x³ + 3), B on the twist (y² = x³ + 3/(9 + i));
5. B lies in the order-r subgroup (r·B = O; G1 has cofactor 1, so A and C always do).

A verifying key is well formed iff every point of it passes 2–5 (α, IC on G1; β, γ, δ on G2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.optimized_bn128 import b2, curve_order, is_on_curve, multiply

from pymargin.zk.field import FIELD_P

if TYPE_CHECKING:
    from pymargin.zk.proof import G1Point, G2Point, Proof, VerifyingKey

BASE_FIELD_Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583


def g1_defect(name: str, p: "G1Point") -> str | None:
    """Why ``p`` is not a finite G1 point with canonical coordinates, or None."""
    x, y = p
    for coord, v in (("x", x), ("y", y)):
        if not 0 <= v < BASE_FIELD_Q:
            return f"{name}.{coord} is not below the base-field modulus q"
    if x == 0 and y == 0:
        return f"{name} is the point at infinity"
    if (y * y - x * x * x - 3) % BASE_FIELD_Q:
        return f"{name} is not on the curve"
    return None


def g2_defect(name: str, p: "G2Point") -> str | None:
    """Why ``p`` is not a finite point of G2 (the order-r subgroup of the twist) with canonical coordinates, or None."""
    (x0, x1), (y0, y1) = p
    for coord, v in (("x.c1", x1), ("x.c0", x0), ("y.c1", y1), ("y.c0", y0)):
        if not 0 <= v < BASE_FIELD_Q:
            return f"{name}.{coord} is not below the base-field modulus q"
    if x0 == x1 == y0 == y1 == 0:
        return f"{name} is the point at infinity"
    point = (FQ2([x0, x1]), FQ2([y0, y1]), FQ2.one())
    if not is_on_curve(point, b2):
        return f"{name} is not on the twist curve"
    if multiply(point, curve_order)[2] != FQ2.zero():
        return f"{name} is not in the order-r subgroup of G2"
    return None


def proof_defect(proof: "Proof", n_public: int) -> str | None:
    """Why ``proof`` is not well formed for a key with ``n_public`` public signals (the first reason), or None."""
    if len(proof.public) != n_public:
        return f"{len(proof.public)} public signals, the key takes {n_public}"
    for i, x in enumerate(proof.public):
        if not 0 <= x < FIELD_P:
            return f"public signal {i} is not below the scalar-field modulus r"
    return g1_defect("pi_a", proof.a) or g2_defect("pi_b", proof.b) or g1_defect("pi_c", proof.c)


def key_defect(vk: "VerifyingKey") -> str | None:
    """Why ``vk`` is not well formed (the first reason), or None."""
    g1 = [("vk_alpha_1", vk.alpha)] + [(f"IC[{i}]", p) for i, p in enumerate(vk.ic)]
    g2 = [("vk_beta_2", vk.beta), ("vk_gamma_2", vk.gamma), ("vk_delta_2", vk.delta)]
    for name, p in g1:
        if why := g1_defect(name, p):
            return why
    for name, q in g2:
        if why := g2_defect(name, q):
            return why
    return None

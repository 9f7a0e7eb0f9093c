"""An independent Groth16 verifier on py-ecc: the pairing check of the proof against the key.

Accepts exactly when e(A, B) = e(α, β) · e(Σ public_i·IC_i + IC_0, γ) · e(C, δ), computed as one
product of four Miller loops and a single final exponentiation. Public signals must be canonical
field elements (< r), as the snarkjs Solidity verifier requires; points must lie on the curve
(G2 points also in the prime-order subgroup).
"""

from __future__ import annotations

from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import add, b, b2, curve_order, is_on_curve, multiply, neg
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, final_exponentiate, miller_loop, twist

from pymargin.zk.proof import G1Point, G2Point, Proof, VerifyingKey


def _g1(p: G1Point):
    return (FQ(p[0]), FQ(p[1]), FQ.one()) if p != (0, 0) else (FQ.one(), FQ.one(), FQ.zero())


def _g2(p: G2Point):
    if p == ((0, 0), (0, 0)):
        return (FQ2.one(), FQ2.one(), FQ2.zero())
    return (FQ2([p[0][0], p[0][1]]), FQ2([p[1][0], p[1][1]]), FQ2.one())


def _valid_g1(p) -> bool:
    return p[2] == FQ.zero() or is_on_curve(p, b)


def _valid_g2(p) -> bool:
    if p[2] == FQ2.zero():
        return True
    return is_on_curve(p, b2) and multiply(p, curve_order)[2] == FQ2.zero()


def verify(vk: VerifyingKey, proof: Proof) -> bool:
    """True iff ``proof`` is a valid Groth16 proof of ``proof.public`` under ``vk``."""
    if len(proof.public) != vk.n_public or any(not 0 <= x < curve_order for x in proof.public):
        return False
    a, c = _g1(proof.a), _g1(proof.c)
    b_point = _g2(proof.b)
    if not (_valid_g1(a) and _valid_g1(c) and _valid_g2(b_point)):
        return False
    vk_x = _g1(vk.ic[0])
    for x, ic in zip(proof.public, vk.ic[1:]):
        vk_x = add(vk_x, multiply(_g1(ic), x))
    pairs = [(b_point, neg(a)), (_g2(vk.beta), _g1(vk.alpha)), (_g2(vk.gamma), vk_x), (_g2(vk.delta), c)]
    product = FQ12.one()
    for q, p in pairs:
        if p[2] == FQ.zero() or q[2] == FQ2.zero():
            continue
        product *= miller_loop(twist(q), cast_point_to_fq12(p), final_exponentiate=False)
    return final_exponentiate(product) == FQ12.one()

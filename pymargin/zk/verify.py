"""An independent Groth16 verifier on py-ecc: the pairing check of the proof against the key.

Accepts exactly when the proof is well formed for the key (:mod:`pymargin.zk.wellformed`: public
signals < r, coordinates < q, no point at infinity, points on the curve, B in G2's subgroup;
checked before any pairing, as the EVM verifier does) and e(A, B) = e(α, β) · e(Σ public_i·IC_i +
IC_0, γ) · e(C, δ), computed as one product of four Miller loops and a single final exponentiation.
"""

from __future__ import annotations

from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import add, multiply, neg
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, final_exponentiate, miller_loop, twist

from pymargin.zk.proof import G1Point, G2Point, Proof, VerifyingKey
from pymargin.zk.wellformed import proof_defect


def _g1(p: G1Point):
    return (FQ(p[0]), FQ(p[1]), FQ.one())


def _g2(p: G2Point):
    return (FQ2([p[0][0], p[0][1]]), FQ2([p[1][0], p[1][1]]), FQ2.one())


def pairing_check(vk: VerifyingKey, proof: Proof) -> bool:
    """The Groth16 pairing equation for a well-formed ``proof`` (see :func:`verify`)."""
    vk_x = _g1(vk.ic[0])
    for x, ic in zip(proof.public, vk.ic[1:]):
        vk_x = add(vk_x, multiply(_g1(ic), x))
    pairs = [(_g2(proof.b), neg(_g1(proof.a))), (_g2(vk.beta), _g1(vk.alpha)), (_g2(vk.gamma), vk_x), (_g2(vk.delta), _g1(proof.c))]
    product = FQ12.one()
    for q, p in pairs:
        if p[2] != FQ.zero():  # Σ public_i·IC_i + IC_0 may be the point at infinity: e(O, γ) = 1
            product *= miller_loop(twist(q), cast_point_to_fq12(p), final_exponentiate=False)
    return final_exponentiate(product) == FQ12.one()


def verify(vk: VerifyingKey, proof: Proof) -> bool:
    """True iff ``proof`` is a well-formed, valid Groth16 proof of ``proof.public`` under ``vk``."""
    return proof_defect(proof, vk.n_public) is None and pairing_check(vk, proof)

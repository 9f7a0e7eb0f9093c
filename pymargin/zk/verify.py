"""An independent Groth16 verifier on py-ecc: one proof, or n proofs of one key in one pairing check.

:func:`verify` accepts exactly when the proof is well formed for the key (:mod:`pymargin.zk.wellformed`:
public signals < r, coordinates < q, no point at infinity, points on the curve, B in G2's subgroup;
checked before any pairing, as the EVM verifier does) and e(A, B) = e(α, β) · e(Σ public_i·IC_i +
IC_0, γ) · e(C, δ), computed as one product of four Miller loops and a single final exponentiation.

:func:`verify_batch` accepts n proofs exactly when every one is well formed and, with coefficients
r_i from a keccak hash of every proof and public signal (:func:`batch_coefficients`, r_0 = 1),

    Π_i e(r_i·A_i, B_i) · e(−(Σ r_i)·α, β) · e(−Σ_i r_i·vk_x_i, γ) · e(−Σ_i r_i·C_i, δ) = 1,

n + 3 Miller loops instead of 4n, where Σ_i r_i·vk_x_i = (Σ r_i)·IC_0 + Σ_j (Σ_i r_i·x_ij mod r)·IC_j is
one multi-scalar product over the key's IC points. Every scalar is reduced mod r (Floor). The
SolvencyRegistry's batch verifier (:mod:`pymargin.zk.solidity`) computes the same coefficients and
the same check (docs/spec.md §7.6).
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak
from py_ecc.fields import optimized_bn128_FQ as FQ
from py_ecc.fields import optimized_bn128_FQ2 as FQ2
from py_ecc.fields import optimized_bn128_FQ12 as FQ12
from py_ecc.optimized_bn128 import Z1, add, multiply, neg
from py_ecc.optimized_bn128.optimized_pairing import cast_point_to_fq12, final_exponentiate, miller_loop, twist

from pymargin.zk.field import FIELD_P
from pymargin.zk.proof import G1Point, G2Point, Proof, VerifyingKey
from pymargin.zk.wellformed import proof_defect

BATCH_ABI_TYPES = ["(uint256[2],uint256[2][2],uint256[2])[]", "uint256[]"]


def _g1(p: G1Point):
    return (FQ(p[0]), FQ(p[1]), FQ.one())


def _g2(p: G2Point):
    return (FQ2([p[0][0], p[0][1]]), FQ2([p[1][0], p[1][1]]), FQ2.one())


def _pairs_are_one(pairs: list) -> bool:
    """Π e(p, q) = 1 over (q ∈ G2, p ∈ G1) pairs: one Miller loop per pair, one final exponentiation."""
    product = FQ12.one()
    for q, p in pairs:
        if p[2] != FQ.zero():  # a sum of points may be the point at infinity: e(O, q) = 1
            product *= miller_loop(twist(q), cast_point_to_fq12(p), final_exponentiate=False)
    return final_exponentiate(product) == FQ12.one()


def pairing_check(vk: VerifyingKey, proof: Proof) -> bool:
    """The Groth16 pairing equation for a well-formed ``proof`` (see :func:`verify`)."""
    vk_x = _g1(vk.ic[0])
    for x, ic in zip(proof.public, vk.ic[1:]):
        vk_x = add(vk_x, multiply(_g1(ic), x))
    pairs = [(_g2(proof.b), neg(_g1(proof.a))), (_g2(vk.beta), _g1(vk.alpha)), (_g2(vk.gamma), vk_x), (_g2(vk.delta), _g1(proof.c))]
    return _pairs_are_one(pairs)


def verify(vk: VerifyingKey, proof: Proof) -> bool:
    """True iff ``proof`` is a well-formed, valid Groth16 proof of ``proof.public`` under ``vk``."""
    return proof_defect(proof, vk.n_public) is None and pairing_check(vk, proof)


def batch_seed(proofs: list[Proof]) -> bytes:
    """keccak256(abi.encode(proofs, publics)): every proof in the EVM's word order (b as [c1, c0]) and
    every public signal, proof by proof, as the batch verifier contract hashes its calldata."""
    words = [tuple(p.eth_words()) for p in proofs]
    return keccak(encode(BATCH_ABI_TYPES, [words, [x for p in proofs for x in p.public]]))


def batch_coefficients(proofs: list[Proof]) -> list[int]:
    """r_0 = 1, r_i = keccak256(abi.encode(seed, i)) mod r (Floor) for i ≥ 1, seed = :func:`batch_seed`:
    fixed by the proofs and public signals, so a prover cannot choose them."""
    seed = batch_seed(proofs)
    return [1] + [int.from_bytes(keccak(seed + i.to_bytes(32, "big")), "big") % FIELD_P for i in range(1, len(proofs))]


def batch_pairing_check(vk: VerifyingKey, proofs: list[Proof], coefficients: list[int]) -> bool:
    """The combined Groth16 equation of well-formed ``proofs`` with the given ``coefficients`` (see module)."""
    r_sum = sum(coefficients) % FIELD_P
    x_sums = [sum(r * p.public[j] for r, p in zip(coefficients, proofs)) % FIELD_P for j in range(vk.n_public)]
    vk_x = multiply(_g1(vk.ic[0]), r_sum)
    for x, ic in zip(x_sums, vk.ic[1:]):
        vk_x = add(vk_x, multiply(_g1(ic), x))
    c_sum = Z1
    for r, p in zip(coefficients, proofs):
        c_sum = add(c_sum, multiply(_g1(p.c), r))
    pairs = [(_g2(p.b), multiply(_g1(p.a), r)) for r, p in zip(coefficients, proofs)]
    pairs += [(_g2(vk.beta), neg(multiply(_g1(vk.alpha), r_sum))), (_g2(vk.gamma), neg(vk_x)), (_g2(vk.delta), neg(c_sum))]
    return _pairs_are_one(pairs)


def verify_batch(vk: VerifyingKey, proofs: list[Proof]) -> bool:
    """True iff ``proofs`` is not empty, every proof is well formed for ``vk`` and the combined check with
    :func:`batch_coefficients` holds (a batch with an invalid proof passes with probability about 1/r)."""
    if not proofs or any(proof_defect(p, vk.n_public) for p in proofs):
        return False
    return batch_pairing_check(vk, proofs, batch_coefficients(proofs))

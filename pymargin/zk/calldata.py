"""ABI calldata for Groth16 verifiers, encoded with eth-abi.

The snarkjs Solidity verifier takes ``verifyProof(uint[2] a, uint[2][2] b, uint[2] c, uint[n] pub)``
with b's coordinates in Ethereum's [c1, c0] order (:meth:`Proof.eth_words`).
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from pymargin.zk.proof import Proof


def verify_proof_signature(n_public: int) -> str:
    return f"verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[{n_public}])"


def verify_proof_calldata(proof: Proof) -> bytes:
    """Calldata of ``verifyProof(a, b, c, public)`` for the snarkjs verifier."""
    n = len(proof.public)
    a, b, c = proof.eth_words()
    types = ["uint256[2]", "uint256[2][2]", "uint256[2]", f"uint256[{n}]"]
    return function_signature_to_4byte_selector(verify_proof_signature(n)) + encode(types, [a, b, c, list(proof.public)])


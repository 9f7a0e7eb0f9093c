"""ABI calldata for Groth16 verifiers, encoded with eth-abi.

The snarkjs Solidity verifier takes ``verifyProof(uint[2] a, uint[2][2] b, uint[2] c, uint[n] pub)``
with b's coordinates in Ethereum's [c1, c0] order (:meth:`Proof.eth_words`); pymargin's batch
verifier takes ``verifyBatch((a, b, c)[] proofs, uint[] publics)`` with every proof's signals in turn.
"""

from __future__ import annotations

from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from pymargin.zk.proof import Proof
from pymargin.zk.verify import BATCH_ABI_TYPES


def verify_proof_signature(n_public: int) -> str:
    return f"verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[{n_public}])"


def verify_proof_calldata(proof: Proof) -> bytes:
    """Calldata of ``verifyProof(a, b, c, public)`` for the snarkjs verifier."""
    n = len(proof.public)
    a, b, c = proof.eth_words()
    types = ["uint256[2]", "uint256[2][2]", "uint256[2]", f"uint256[{n}]"]
    return function_signature_to_4byte_selector(verify_proof_signature(n)) + encode(types, [a, b, c, list(proof.public)])



VERIFY_BATCH_SIGNATURE = "verifyBatch((uint256[2],uint256[2][2],uint256[2])[],uint256[])"


def verify_batch_calldata(proofs: list[Proof]) -> bytes:
    """Calldata of ``verifyBatch(proofs, publics)`` for pymargin's batch verifier."""
    words = [tuple(p.eth_words()) for p in proofs]
    publics = [x for p in proofs for x in p.public]
    return function_signature_to_4byte_selector(VERIFY_BATCH_SIGNATURE) + encode(BATCH_ABI_TYPES, [words, publics])

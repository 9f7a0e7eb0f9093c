"""Groth16 verifiers on a chain: generate, compile and deploy a key's verifier; verify a proof there.

The verifier source is generated from the key (:mod:`pymargin.zk.solidity`) into
``<build>/verifiers/<circuit>-<key>-<setup>/src`` and compiled into the ``out`` folder beside it,
so generated code never lands in contracts/. Pairing transactions always carry explicit gas
(``VERIFY_GAS``): with too little gas the pairing precompile fails and the snarkjs verifier
returns false instead of reverting, so gas estimation cannot be trusted.
"""

from __future__ import annotations

from pathlib import Path

from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import Contract, deploy_contract
from pymargin.chain.devnet import Chain
from pymargin.chain.tx import Signer, send
from pymargin.zk.calldata import verify_proof_calldata
from pymargin.zk.circom import build_root
from pymargin.zk.proof import Proof
from pymargin.zk.setup import Keys
from pymargin.zk.solidity import write_verifier

VERIFIER_CONTRACT = "Groth16Verifier"
VERIFY_GAS = 500_000  # explicit gas for a verifyProof transaction (uses ~220k with one public signal)
DEPLOY_GAS = 2_000_000


def verifier_artifacts(keys: Keys) -> Path:
    """Compile the verifier of ``keys`` (generated once); return its artifacts folder."""
    folder = build_root() / "verifiers" / f"{keys.circuit.name}-{keys.circuit.key}-{keys.setup_id}"
    source = folder / "src" / f"{VERIFIER_CONTRACT}.sol"
    if not source.is_file():
        write_verifier(keys.verifying_key(), source.parent, VERIFIER_CONTRACT)
    compile_contracts(src_dir=folder / "src", out_dir=folder / "out", root=folder)
    return folder / "out"


def deploy_verifier(chain: Chain, keys: Keys, sender: Signer) -> tuple[Contract, int]:
    """Deploy the Groth16 verifier of ``keys``; return (contract, deployment gas used)."""
    contract, receipt = deploy_contract(chain, VERIFIER_CONTRACT, sender=sender, out_dir=verifier_artifacts(keys), gas=DEPLOY_GAS)
    return contract, receipt.gasUsed


def verify_onchain(verifier: Contract, proof: Proof) -> bool:
    """The deployed verifier's answer (an eth_call with explicit gas) for ``proof``."""
    a, b, c = proof.eth_words()
    fn = verifier.functions.verifyProof(a, b, c, list(proof.public))
    return bool(fn.call({"gas": VERIFY_GAS}))


def verify_gas(chain: Chain, verifier: Contract, proof: Proof, sender: Signer) -> int:
    """Gas used by a ``verifyProof`` transaction (the bare Groth16 cost, 21k intrinsic gas included)."""
    receipt = send(chain, sender, {"to": verifier.address, "data": verify_proof_calldata(proof)}, gas=VERIFY_GAS)
    return receipt.gasUsed

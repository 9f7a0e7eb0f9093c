"""Groth16 verifiers on a chain: generate, compile and deploy a key's verifier; verify a proof there.

The verifier source is generated from the key (:mod:`pymargin.zk.solidity`) into
``<build>/verifiers/<circuit>-<key>-<setup>/src`` and compiled into the ``out`` folder beside it,
so generated code never lands in contracts/. Pairing transactions always carry explicit gas
(``VERIFY_GAS``): with too little gas the pairing precompile fails and the snarkjs verifier
returns false instead of reverting, so gas estimation cannot be trusted.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import Contract, deploy_contract
from pymargin.chain.devnet import Chain
from pymargin.chain.tx import Signer, revert_data, send
from pymargin.zk.calldata import verify_proof_calldata
from pymargin.zk.circom import build_root
from pymargin.zk.proof import Proof
from pymargin.zk.setup import Keys
from pymargin.zk.solidity import write_verifier

if TYPE_CHECKING:
    from pymargin.zk.solvency import EpochProof

VERIFIER_CONTRACT = "Groth16Verifier"
VERIFY_GAS = 500_000  # explicit gas for a verifyProof transaction (uses ~220k with one public signal)
DEPLOY_GAS = 2_000_000


def verifier_artifacts(keys: Keys) -> Path:
    """Compile the verifier of ``keys`` (its source regenerated, rewritten only if it changed); return its artifacts folder."""
    folder = build_root() / "verifiers" / f"{keys.circuit.name}-{keys.circuit.key}-{keys.setup_id}"
    write_verifier(keys.verifying_key(), folder / "src", VERIFIER_CONTRACT)
    compile_contracts(src_dir=folder / "src", out_dir=folder / "out", root=folder)
    return folder / "out"


def deploy_verifier(chain: Chain, keys: Keys, sender: Signer) -> tuple[Contract, int]:
    """Deploy the Groth16 verifier of ``keys``; return (contract, deployment gas used)."""
    contract, receipt = deploy_contract(chain, VERIFIER_CONTRACT, sender=sender, out_dir=verifier_artifacts(keys), gas=DEPLOY_GAS)
    return contract, receipt.gasUsed


def verify_onchain(verifier: Contract, proof: Proof) -> bool:
    """The deployed verifier's answer (an eth_call with explicit gas) for ``proof``: true iff it returns
    the word 1; a revert (a public-signal count the verifier does not take: no such function) is false."""
    call = {"to": verifier.address, "data": verify_proof_calldata(proof), "gas": VERIFY_GAS}
    try:
        out = bytes(verifier.chain.w3.eth.call(call))
    except Exception as exc:
        if revert_data(exc) is None:
            raise
        return False
    return out == (1).to_bytes(32, "big")


def verify_gas(chain: Chain, verifier: Contract, proof: Proof, sender: Signer) -> int:
    """Gas used by a ``verifyProof`` transaction (the bare Groth16 cost, 21k intrinsic gas included)."""
    receipt = send(chain, sender, {"to": verifier.address, "data": verify_proof_calldata(proof)}, gas=VERIFY_GAS)
    return receipt.gasUsed


REGISTRY_CONTRACT = "SolvencyRegistry"
POST_GAS_PER_BATCH = 400_000  # verifyProof (~220k) + the batch public hash (Poseidon_4) + headroom
POST_GAS_BASE = 1_500_000  # engine views, market and context hashes, storage


def deploy_registry(chain: Chain, sender: Signer, verifier: Contract, engine: str, hashers: dict, *,
                    k: int, m: int, depth: int, operator: str | None = None) -> Contract:
    """Deploy a SolvencyRegistry for SolvencyBatch(k, m, depth - k) over ``engine`` (an address)."""
    registry, _ = deploy_contract(
        chain, REGISTRY_CONTRACT, hashers[4].address, hashers[5].address, hashers[6].address,
        verifier.address, engine, operator or sender.address, k, m, depth, sender=sender, gas=6_000_000,
    )
    return registry


def _market_args(epoch: "EpochProof") -> list[tuple]:
    from pymargin.zk.inputs import EMPTY_MARKET

    markets = list(epoch.ctx.markets)
    while markets and markets[-1] == EMPTY_MARKET:
        markets.pop()
    return [(v.price_wad, v.funding_index_wad, v.imf_wad, v.mmf_wad) for v in markets]


def post_epoch_args(epoch: "EpochProof", market_count: int | None = None) -> tuple:
    """Arguments of ``postEpoch``: epoch, root, the engine's ``market_count`` market views, states, proofs."""
    markets = [(v.price_wad, v.funding_index_wad, v.imf_wad, v.mmf_wad) for v in epoch.ctx.markets]
    markets = markets[:market_count] if market_count is not None else _market_args(epoch)
    root = epoch.ctx.root
    proofs = [tuple(p.eth_words()) for p in epoch.proofs]
    return (epoch.ctx.epoch, (root.hash, root.equity, root.mm), markets, list(epoch.states), proofs)


def post_epoch(registry: Contract, epoch: "EpochProof", sender: Signer, market_count: int | None = None):
    """Send ``postEpoch`` with explicit gas; return the receipt (ContractRevert on a rejection)."""
    gas = POST_GAS_BASE + POST_GAS_PER_BATCH * len(epoch.proofs)
    return registry.transact("postEpoch", *post_epoch_args(epoch, market_count), sender=sender, gas=gas)


def verifier_contract(chain: Chain, address: str) -> Contract:
    """A deployed snarkjs Groth16 verifier (one public signal) at ``address``."""
    abi = [{"type": "function", "name": "verifyProof", "stateMutability": "view", "outputs": [{"name": "", "type": "bool"}],
            "inputs": [{"name": "a", "type": "uint256[2]"}, {"name": "b", "type": "uint256[2][2]"},
                       {"name": "c", "type": "uint256[2]"}, {"name": "pub", "type": "uint256[1]"}]}]
    return Contract(chain, VERIFIER_CONTRACT, chain.w3.to_checksum_address(address), {"abi": abi})


def registry_contract(chain: Chain, address: str) -> Contract:
    """The SolvencyRegistry at ``address`` (ABI from the compiled artifact)."""
    from pymargin.chain.compile import load_artifact

    return Contract(chain, REGISTRY_CONTRACT, chain.w3.to_checksum_address(address), load_artifact(REGISTRY_CONTRACT))

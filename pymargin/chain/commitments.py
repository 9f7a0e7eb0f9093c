"""The commitment contracts on a chain: circomlibjs's Poseidon hashers, the CommitmentRegistry, and
argument encoding for ``leafHash``/``computeRoot``/``verifyInclusion``.

The hashers are the bytecode that circomlibjs (pinned in package.json) generates with
``poseidon_gencontract.createCode(n)``; :func:`hasher_artifact` writes it once as a Foundry-shaped
artifact ``out/circomlibjs/CircomlibPoseidon<n>.json`` so that every deploy path (``deploy_contract``,
the fast EVM, ``pymargin deploy``) treats it like a compiled contract.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pymargin import tools
from pymargin.chain.compile import OUT_DIR
from pymargin.chain.contracts import Contract, deploy_contract
from pymargin.chain.devnet import Chain
from pymargin.chain.tx import Signer
from pymargin.commit.leaf import Leaf
from pymargin.commit.tree import Node
from pymargin.fsutil import atomic_write_text

HASHER_ARITIES = (4, 5, 6)  # position slots, leaf, node
_INIT_PREFIX_BYTES = 12  # createCode's constructor: CODESIZE PUSH1 12 PUSH1 0 CODECOPY PUSH2 n PUSH1 0 RETURN
_GENERATE_JS = """
import { poseidonContract } from "circomlibjs";
const out = {};
for (const n of JSON.parse(process.argv[1])) {
  out[n] = { bytecode: poseidonContract.createCode(n), abi: poseidonContract.generateABI(n) };
}
process.stdout.write(JSON.stringify(out));
"""


def hasher_name(n_inputs: int) -> str:
    """Artifact name of the n-input hasher, e.g. CircomlibPoseidon6."""
    return f"CircomlibPoseidon{n_inputs}"


def hasher_artifact(n_inputs: int, out_dir: Path = OUT_DIR) -> Path:
    """Path of the n-input hasher's artifact, generated with node + circomlibjs if missing."""
    path = out_dir / "circomlibjs" / f"{hasher_name(n_inputs)}.json"
    if path.is_file():
        return path
    proc = subprocess.run(
        [tools.node(), "--input-type=module", "-e", _GENERATE_JS, json.dumps([n_inputs])],
        cwd=tools.node_modules().parent, capture_output=True, text=True, timeout=120,
    )
    if proc.returncode != 0:
        raise tools.ToolchainError(f"circomlibjs could not generate the Poseidon contract: {proc.stderr.strip()[-500:]}")
    generated = json.loads(proc.stdout)[str(n_inputs)]
    init_code = generated["bytecode"]
    artifact = {
        "abi": generated["abi"],
        "bytecode": {"object": init_code, "linkReferences": {}},
        "deployedBytecode": {"object": "0x" + init_code[2 + 2 * _INIT_PREFIX_BYTES :], "linkReferences": {}, "immutableReferences": {}},
        "methodIdentifiers": {},
        "generatedBy": "circomlibjs poseidon_gencontract.createCode(%d)" % n_inputs,
    }
    atomic_write_text(path, json.dumps(artifact, indent=1) + "\n")
    return path


POSEIDON8_CONSTANTS = "Poseidon8Constants"


def poseidon8_constants_artifact(out_dir: Path = OUT_DIR) -> Path:
    """The artifact of Poseidon8's data contract: runtime code 0x00 then circomlib's 639 round constants of width 9
    (circomlibjs ``poseidon_constants.json``, C[7]), written once."""
    path = out_dir / "circomlibjs" / f"{POSEIDON8_CONSTANTS}.json"
    if path.is_file():
        return path
    constants = json.loads((tools.node_modules() / "circomlibjs" / "src" / "poseidon_constants.json").read_text())
    words = [int(x, 16) for x in constants["C"][7]]
    runtime = b"\x00" + b"".join(w.to_bytes(32, "big") for w in words)
    init = bytes([0x61]) + len(runtime).to_bytes(2, "big") + bytes.fromhex("80600c6000396000f3")  # CODECOPY, RETURN
    artifact = {"abi": [], "bytecode": {"object": "0x" + (init + runtime).hex(), "linkReferences": {}},
                "deployedBytecode": {"object": "0x" + runtime.hex(), "linkReferences": {}, "immutableReferences": {}},
                "methodIdentifiers": {}, "generatedBy": "circomlibjs poseidon_constants.json, width 9"}
    atomic_write_text(path, json.dumps(artifact, indent=1) + "\n")
    return path


def deploy_poseidon8(chain: Chain, sender: Signer, out_dir: Path = OUT_DIR) -> Contract:
    """Deploy Poseidon8 (contracts/commit/Poseidon8.sol) over its constants' data contract."""
    poseidon8_constants_artifact(out_dir)
    data, _ = deploy_contract(chain, POSEIDON8_CONSTANTS, sender=sender, out_dir=out_dir)
    hasher, _ = deploy_contract(chain, "Poseidon8", data.address, sender=sender, out_dir=out_dir)
    return hasher


def deploy_hashers(chain: Chain, sender: Signer, out_dir: Path = OUT_DIR) -> dict[int, Contract]:
    """Deploy the 4-, 5- and 6-input hashers; {n_inputs: Contract}."""
    deployed = {}
    for n in HASHER_ARITIES:
        hasher_artifact(n, out_dir)
        deployed[n], _ = deploy_contract(chain, hasher_name(n), sender=sender, out_dir=out_dir)
    return deployed


def deploy_registry(chain: Chain, sender: Signer, owner: str | None = None, out_dir: Path = OUT_DIR) -> Contract:
    """Deploy the hashers and a CommitmentRegistry owned by ``owner`` (default: the sender)."""
    hashers = deploy_hashers(chain, sender, out_dir)
    registry, _ = deploy_contract(
        chain, "CommitmentRegistry", hashers[4].address, hashers[5].address, hashers[6].address,
        owner or sender.address, sender=sender, out_dir=out_dir,
    )
    return registry


def leaf_arg(leaf: Leaf) -> tuple:
    """The ABI value of ``InclusionVerifier.Leaf``."""
    slots = [(s.market_id, s.size, s.cost_basis, s.funding_index) for s in leaf.slots]
    return (leaf.id_hash, leaf.salt, leaf.collateral, slots)


def node_arg(node: Node) -> tuple:
    """The ABI value of ``InclusionVerifier.Node``."""
    return (node.hash, node.equity, node.mm)


def node_from_abi(value) -> Node:
    """A Node from a decoded ``InclusionVerifier.Node`` tuple."""
    return Node(*value)


def post_root(registry: Contract, epoch: int, root: Node, sender: Signer):
    """Send ``postRoot(epoch, root)``; returns the receipt (ContractRevert on EpochAlreadyPosted, ...)."""
    return registry.transact("postRoot", epoch, node_arg(root), sender=sender)


def simulate_post_root(registry: Contract, epoch: int, root: Node, sender: Signer) -> None:
    """Execute ``postRoot(epoch, root)`` with eth_call (nothing sent); ContractRevert if it would revert."""
    registry.simulate("postRoot", epoch, node_arg(root), sender=sender)

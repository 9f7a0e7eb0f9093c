"""The commitment contracts on a chain: circomlibjs's Poseidon hashers, the CommitmentRegistry, the
OptionsInclusionVerifier of options holders, and argument encoding for ``leafHash``/``computeRoot``/``verifyInclusion``.

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


POSEIDON8_CONSTANTS = ("Poseidon8Constants0", "Poseidon8Constants1")
POSEIDON8_FIRST_ROUNDS = 32  # partial rounds whose constants the first data contract holds


def poseidon8_constants_artifacts(out_dir: Path = OUT_DIR) -> None:
    """The artifacts of Poseidon8's two data contracts (runtime code 0x00, then words) from circomlibjs's
    ``poseidon_constants_opt.json`` at width 9: per partial round C_r then its 17 S_r (rounds 0 .. 31; rounds
    32 .. 62, then the full rounds' 72 constants in use order and 9 zeros); written once."""
    if all((out_dir / "circomlibjs" / f"{name}.json").is_file() for name in POSEIDON8_CONSTANTS):
        return
    opt = json.loads((tools.node_modules() / "circomlibjs" / "src" / "poseidon_constants_opt.json").read_text())
    c, s = [int(x, 16) for x in opt["C"][7]], [int(x, 16) for x in opt["S"][7]]
    rounds = [[c[45 + r]] + s[17 * r : 17 * r + 17] for r in range(63)]
    full = [c[:45] + c[108:] + [0] * 9]  # the full rounds' constants in use order; the last round adds none
    for name, part in zip(POSEIDON8_CONSTANTS, (rounds[:POSEIDON8_FIRST_ROUNDS], rounds[POSEIDON8_FIRST_ROUNDS:] + full)):
        runtime = b"\x00" + b"".join(w.to_bytes(32, "big") for words in part for w in words)
        init = bytes([0x61]) + len(runtime).to_bytes(2, "big") + bytes.fromhex("80600c6000396000f3")  # CODECOPY, RETURN
        artifact = {"abi": [], "bytecode": {"object": "0x" + (init + runtime).hex(), "linkReferences": {}},
                    "deployedBytecode": {"object": "0x" + runtime.hex(), "linkReferences": {}, "immutableReferences": {}},
                    "methodIdentifiers": {}, "generatedBy": "circomlibjs poseidon_constants_opt.json, width 9, partial rounds"}
        atomic_write_text(out_dir / "circomlibjs" / f"{name}.json", json.dumps(artifact, indent=1) + "\n")


def deploy_poseidon8(chain: Chain, sender: Signer, out_dir: Path = OUT_DIR) -> Contract:
    """Deploy Poseidon8 (contracts/commit/Poseidon8.sol) over its two constants' data contracts."""
    poseidon8_constants_artifacts(out_dir)
    data = [deploy_contract(chain, name, sender=sender, out_dir=out_dir)[0].address for name in POSEIDON8_CONSTANTS]
    hasher, _ = deploy_contract(chain, "Poseidon8", *data, sender=sender, out_dir=out_dir)
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


def deploy_options_verifier(chain: Chain, sender: Signer, registry: Contract, option_slots: int, out_dir: Path = OUT_DIR) -> Contract:
    """Deploy the 2- and P-input hashers (P = ``option_slots``, 1..8) and an OptionsInclusionVerifier of the roots
    posted in ``registry`` (a contract with InclusionVerifier's views), using the registry's own 4-, 5- and 6-input
    hashers (docs/spec.md §6.5)."""
    hashers = {n: registry.call(f"poseidon{n}") for n in HASHER_ARITIES}
    for n in sorted({2, option_slots} - set(hashers)):
        hasher_artifact(n, out_dir)
        hashers[n] = deploy_contract(chain, hasher_name(n), sender=sender, out_dir=out_dir)[0].address
    verifier, _ = deploy_contract(chain, "OptionsInclusionVerifier", hashers[4], hashers[5], hashers[6], hashers[2],
                                  hashers[option_slots], option_slots, registry.address, sender=sender, out_dir=out_dir)
    return verifier


def leaf_arg(leaf: Leaf) -> tuple:
    """The ABI value of ``InclusionVerifier.Leaf``."""
    slots = [(s.market_id, s.size, s.cost_basis, s.funding_index) for s in leaf.slots]
    return (leaf.id_hash, leaf.salt, leaf.collateral, slots)


def option_slots_arg(leaf: Leaf) -> list[tuple]:
    """The ABI value of ``OptionsInclusionVerifier.OptionSlot[]``: the leaf's P option slots."""
    return [(o.row, o.size) for o in leaf.options]


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

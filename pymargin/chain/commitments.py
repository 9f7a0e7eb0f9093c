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
from pymargin.commit.leaf import LEAF_ARITY, Leaf
from pymargin.commit.tree import Node
from pymargin.fsutil import atomic_write_text

HASHER_ARITIES = (4, 5, 6)  # circomlibjs's hashers the registries use: the statement's (4, 5, 6), the node (6)
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


FULL_ROUNDS = 8
MAX_DATA_WORDS = (24576 - 1) // 32  # a data contract: one 0x00 byte, then its words, under the EIP-170 limit


def _opt_constants(n_inputs: int) -> tuple[list[int], list[int], list[int]]:
    """circomlibjs's (C, S, P row by row) of the optimised Poseidon(n_inputs) (``poseidon_constants_opt.json``)."""
    opt = json.loads((tools.node_modules() / "circomlibjs" / "src" / "poseidon_constants_opt.json").read_text())
    return ([int(x, 16) for x in opt["C"][n_inputs - 1]], [int(x, 16) for x in opt["S"][n_inputs - 1]],
            [int(x, 16) for row in opt["P"][n_inputs - 1] for x in row])


def wide_poseidon_p_in_data(t: int) -> bool:
    """Whether the generated Poseidon of width t reads its pre-sparse matrix P from data rather than code: above
    width 9, both matrices as literals make the contract larger than EIP-170 allows (Poseidon11: 31,202 bytes)."""
    return t > 9


def wide_poseidon_parts(t: int, partial_rounds: int) -> list[int]:
    """Partial rounds whose constants each data contract of a generated Poseidon of width t holds: as even as
    possible, the earlier contracts taking one more; the last also holds the full rounds' constants (and P's
    t^2 entries, :func:`wide_poseidon_p_in_data`). scripts/gen_poseidon_contract.py lays the contract out the same way."""
    tail = t * FULL_ROUNDS + t + (t * t if wide_poseidon_p_in_data(t) else 0)
    count = 1
    while -(-partial_rounds // count) * 2 * t + tail > MAX_DATA_WORDS:
        count += 1
    size = -(-partial_rounds // count)
    return [min(size, partial_rounds - size * i) for i in range(count)]


def wide_poseidon_constants(n_inputs: int, out_dir: Path = OUT_DIR) -> list[str]:
    """The artifact names of the data contracts of contracts/commit/Poseidon<n>.sol (runtime code 0x00, then
    words), written once from circomlibjs's ``poseidon_constants_opt.json`` at width t = n + 1: per partial round
    C_r then its 2t - 1 S_r, split by :func:`wide_poseidon_parts`; the last contract then holds the full rounds'
    constants in use order and t zeros (then P row by row, :func:`wide_poseidon_p_in_data`)."""
    t = n_inputs + 1
    c, s, pre_sparse = _opt_constants(n_inputs)
    partial, first = len(c) - t * FULL_ROUNDS, (FULL_ROUNDS // 2 + 1) * t  # constants before the partial rounds
    rounds = [[c[first + r]] + s[(2 * t - 1) * r: (2 * t - 1) * (r + 1)] for r in range(partial)]
    full = c[:first] + c[first + partial:] + [0] * t  # the full rounds' constants in use order; the last round adds none
    parts, start = [], 0
    for count in wide_poseidon_parts(t, partial):
        parts.append(rounds[start: start + count])
        start += count
    parts[-1] = parts[-1] + [full] + ([pre_sparse] if wide_poseidon_p_in_data(t) else [])
    names = [f"Poseidon{n_inputs}Constants{i}" for i in range(len(parts))]
    for name, part in zip(names, parts):
        path = out_dir / "circomlibjs" / f"{name}.json"
        if path.is_file():
            continue
        runtime = b"\x00" + b"".join(w.to_bytes(32, "big") for words in part for w in words)
        init = bytes([0x61]) + len(runtime).to_bytes(2, "big") + bytes.fromhex("80600c6000396000f3")  # CODECOPY, RETURN
        artifact = {"abi": [], "bytecode": {"object": "0x" + (init + runtime).hex(), "linkReferences": {}},
                    "deployedBytecode": {"object": "0x" + runtime.hex(), "linkReferences": {}, "immutableReferences": {}},
                    "methodIdentifiers": {}, "generatedBy": f"circomlibjs poseidon_constants_opt.json, width {t}, partial rounds"}
        atomic_write_text(path, json.dumps(artifact, indent=1) + "\n")
    return names


def deploy_wide_poseidon(chain: Chain, sender: Signer, n_inputs: int, out_dir: Path = OUT_DIR) -> Contract:
    """Deploy contracts/commit/Poseidon<n>.sol (n = 8 or 11) over its constants' data contracts."""
    data = [deploy_contract(chain, name, sender=sender, out_dir=out_dir)[0].address
            for name in wide_poseidon_constants(n_inputs, out_dir)]
    hasher, _ = deploy_contract(chain, f"Poseidon{n_inputs}", *data, sender=sender, out_dir=out_dir)
    return hasher


def deploy_hashers(chain: Chain, sender: Signer, out_dir: Path = OUT_DIR) -> dict[int, Contract]:
    """Deploy circomlibjs's 4-, 5- and 6-input hashers and the leaf's Poseidon11; {n_inputs: Contract}."""
    deployed = {}
    for n in HASHER_ARITIES:
        hasher_artifact(n, out_dir)
        deployed[n], _ = deploy_contract(chain, hasher_name(n), sender=sender, out_dir=out_dir)
    deployed[LEAF_ARITY] = deploy_wide_poseidon(chain, sender, LEAF_ARITY, out_dir)
    return deployed


def deploy_registry(chain: Chain, sender: Signer, owner: str | None = None, out_dir: Path = OUT_DIR) -> Contract:
    """Deploy the node's and the leaf's hashers (6 and 11 inputs) and a CommitmentRegistry owned by ``owner``
    (default: the sender)."""
    hasher_artifact(6, out_dir)
    node_hasher, _ = deploy_contract(chain, hasher_name(6), sender=sender, out_dir=out_dir)
    leaf_hasher = deploy_wide_poseidon(chain, sender, LEAF_ARITY, out_dir)
    registry, _ = deploy_contract(chain, "CommitmentRegistry", node_hasher.address, leaf_hasher.address,
                                  owner or sender.address, sender=sender, out_dir=out_dir)
    return registry


def deploy_options_verifier(chain: Chain, sender: Signer, registry: Contract, option_slots: int, out_dir: Path = OUT_DIR) -> Contract:
    """Deploy the 2- and P-input hashers (P = ``option_slots``, 1..8) and an OptionsInclusionVerifier of the roots
    posted in ``registry`` (a contract with InclusionVerifier's views), using the registry's own node and leaf
    hashers (6 and 11 inputs; docs/spec.md §6.5)."""
    hashers = {6: registry.call("poseidon6"), LEAF_ARITY: registry.call(f"poseidon{LEAF_ARITY}")}
    for n in sorted({2, option_slots} - set(hashers)):
        hasher_artifact(n, out_dir)
        hashers[n] = deploy_contract(chain, hasher_name(n), sender=sender, out_dir=out_dir)[0].address
    verifier, _ = deploy_contract(chain, "OptionsInclusionVerifier", hashers[6], hashers[LEAF_ARITY], hashers[2],
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

"""Benchmark: gas of the on-chain inclusion check (CommitmentRegistry) by tree depth, on anvil.

    .venv/bin/python benchmarks/tree_gas.py --depths 10,20,24,32 --out benchmarks/tree_gas_results.md
    .venv/bin/python benchmarks/tree_gas.py --depths 10,20,32 --options 4 --out benchmarks/tree_gas_results.md

Gas is eth_estimateGas of a call (21,000 intrinsic gas included), the figure a transaction that
verifies inclusion would pay; the views themselves are free to call. A depth-d check runs d
Poseidon_6 hashes (circomlibjs's generated contract) and one Poseidon_11 (contracts/commit/Poseidon11.sol). With
``--options P``: an options holder's check (OptionsInclusionVerifier, docs/spec.md §6.5) of a leaf with
four perp slots and P option slots occupied: also one Poseidon_P and one Poseidon_2.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import replace
from pathlib import Path

from eth_utils import to_checksum_address

from pymargin.chain import devnet
from pymargin.chain.compile import compile_contracts
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.tx import node_signer
from pymargin.chain import commitments as onchain
from pymargin.commit.commitment import commit_accounts
from pymargin.commit.leaf import OptionSlot
from pymargin.commit.tree import Node, SumTree
from pymargin.model import WAD, Account, MarketView, Position

SECRET = bytes(32)


def _book():
    markets = {i: MarketView(3000 * WAD, 0, WAD // 10, WAD // 20) for i in range(4)}
    rng = random.Random(1)
    accounts = []
    for k in range(8):
        owner = "0x%040x" % rng.getrandbits(160)
        positions = {m: Position(m, (m + 1) * WAD, 3000 * (m + 1) * WAD, 0) for m in range(4)}  # 4 full slots
        accounts.append(Account(to_checksum_address(owner), 0, 10**24 + k, positions))
    return accounts, markets


def _with_options(c, index: int, slots: int):
    """The options holder's leaf (``slots`` option slots, all occupied) at ``index`` and the tree with its leaf' there."""
    leaf = replace(c.leaf(index, SECRET), options=tuple(OptionSlot(row, (row + 1) * WAD + 7) for row in range(slots)))
    node = c.tree.node(0, index)
    records = b"".join((Node(leaf.hash(), node.equity, node.mm) if i == index else c.tree.node(0, i)).record() for i in range(len(c.accounts)))
    return leaf, SumTree(records, c.tree.depth)


def _options_rows(chain, sender, registry, accounts, markets, depths: list[int], slots: int) -> list[str]:
    """Markdown rows of an options holder's check at each depth."""
    verifier = onchain.deploy_options_verifier(chain, sender, registry, slots)
    rows = []
    for epoch, depth in enumerate(depths, start=100):
        leaf, tree = _with_options(commit_accounts(accounts, markets, SECRET, epoch, depth), 3, slots)
        onchain.post_root(registry, epoch, tree.root, sender)
        node = tree.node(0, 3)
        args = (onchain.leaf_arg(leaf), onchain.option_slots_arg(leaf), node.equity, node.mm, 3, [onchain.node_arg(s) for s in tree.siblings(3)])
        assert verifier.call("verifyInclusionAt", epoch, *args) is True
        rows.append((depth, verifier.functions.verifyInclusionAt(epoch, *args).estimate_gas()))
        print(depth, rows[-1][1], flush=True)
    leaf_gas = verifier.functions.optionsLeafHash(onchain.leaf_arg(leaf), onchain.option_slots_arg(leaf)).estimate_gas()
    deploy = chain.w3.eth.estimate_gas({"data": json.loads(onchain.hasher_artifact(2).read_text())["bytecode"]["object"]})
    lines = [f"| depth | OptionsInclusionVerifier.verifyInclusionAt(epoch, ...), P = {slots}, all slots occupied |", "|---|---|"]
    lines += [f"| {d} | {g:,} |" for d, g in rows]
    return lines + ["", f"optionsLeafHash (4 perp slots, {slots} option slots): {leaf_gas:,} gas. Deploying Poseidon_2: {deploy:,} gas."]


def _leaf_hasher_deploy_gas(chain, sender) -> int:
    """Gas used deploying the leaf's Poseidon11 and its data contracts (from the receipts)."""
    data, used = [], 0
    for name in onchain.wide_poseidon_constants(onchain.LEAF_ARITY):
        contract, receipt = deploy_contract(chain, name, sender=sender)
        data.append(contract.address)
        used += receipt.gasUsed
    return used + deploy_contract(chain, f"Poseidon{onchain.LEAF_ARITY}", *data, sender=sender)[1].gasUsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", default="10,20,24,32")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--options", type=int, default=None, help="measure an options holder's check with P option slots instead")
    args = parser.parse_args()
    compile_contracts()
    accounts, markets = _book()
    rows = []
    with devnet.start_anvil() as chain:
        sender = node_signer(chain)
        registry = onchain.deploy_registry(chain, sender)
        if args.options:
            lines = [f"\n### {time.strftime('%Y-%m-%d %H:%M')} UTC, anvil, an options holder, eth_estimateGas (21,000 intrinsic included)\n",
                     f"Command: `.venv/bin/python benchmarks/tree_gas.py --depths {args.depths} --options {args.options}`\n"]
            lines += _options_rows(chain, sender, registry, accounts, markets, [int(d) for d in args.depths.split(",")], args.options)
            print("\n".join(lines))
            if args.out:
                with open(args.out, "a") as handle:
                    handle.write("\n".join(lines) + "\n")
            return
        deploy_gas = {6: chain.w3.eth.estimate_gas({"data": json.loads(onchain.hasher_artifact(6).read_text())["bytecode"]["object"]}),
                      onchain.LEAF_ARITY: _leaf_hasher_deploy_gas(chain, sender)}
        for epoch, depth in enumerate(int(d) for d in args.depths.split(",")):
            c = commit_accounts(accounts, markets, SECRET, epoch, depth)
            onchain.post_root(registry, epoch, c.root, sender)
            leaf = c.leaf(3, SECRET)
            node = c.tree.node(0, 3)
            sib = [onchain.node_arg(s) for s in c.tree.siblings(3)]
            leaf_args = (onchain.leaf_arg(leaf), node.equity, node.mm, 3, sib)
            assert registry.call("verifyInclusionAt", epoch, *leaf_args) is True
            gas_at = registry.functions.verifyInclusionAt(epoch, *leaf_args).estimate_gas()
            gas_view = registry.functions.verifyInclusion(c.root.hash, *leaf_args).estimate_gas()
            rows.append((depth, gas_view, gas_at))
            print(depth, gas_view, gas_at, flush=True)
        leaf_gas = registry.functions.leafHash(onchain.leaf_arg(c.leaf(0, SECRET))).estimate_gas()
    lines = [f"\n### {time.strftime('%Y-%m-%d %H:%M')} UTC, anvil, eth_estimateGas (21,000 intrinsic included)\n",
             f"Command: `.venv/bin/python benchmarks/tree_gas.py --depths {args.depths}`\n",
             "| depth | verifyInclusion(rootHash, ...) | verifyInclusionAt(epoch, ...) (+ root SLOADs) |", "|---|---|---|"]
    lines += [f"| {d} | {a:,} | {b:,} |" for d, a, b in rows]
    lines += ["", f"leafHash (4 occupied slots): {leaf_gas:,} gas. Deploying the hashers: "
              + ", ".join(f"Poseidon_{n} {g:,}" for n, g in deploy_gas.items()) + " gas (Poseidon_11: its data contracts included)."]
    print("\n".join(lines))
    if args.out:
        with open(args.out, "a") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""SolvencyRegistry.postEpoch gas per epoch and per batch (docs/spec.md §7.5).

Usage (from the checkout; writes benchmarks/registry_gas.md and prints it):

    .venv/bin/python benchmarks/registry_gas.py --k 2 --t 0 1 2

For each T: a random zero-sum book of 2^(K+T) − 1 accounts (tests/zk_books.py, 4 markets) committed at depth
K + T, proven with groth16py in 2^T batches of SolvencyBatch(K, 4, T), and posted on the embedded
devnet (py-evm; gas is the same on anvil) to a SolvencyRegistry with the real Groth16 verifier. The
engine is TestEngineCheckpoints holding the checkpoint whose aggregates are the book's (the
registry's work does not depend on which engine stores the hash: one external call and one SLOAD).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from zk_books import book_checkpoint, zero_sum_book  # noqa: E402

from pymargin.chain import commitments as commit_onchain  # noqa: E402
from pymargin.chain import devnet  # noqa: E402
from pymargin.chain import solvency as onchain  # noqa: E402
from pymargin.chain.compile import compile_contracts  # noqa: E402
from pymargin.chain.contracts import deploy_contract  # noqa: E402
from pymargin.chain.tx import node_signer  # noqa: E402
from pymargin.commit.commitment import commit_accounts  # noqa: E402
from pymargin.zk import circuits  # noqa: E402
from pymargin.zk.backends import get_backend  # noqa: E402
from pymargin.zk.inputs import epoch_statement  # noqa: E402
from pymargin.zk.solvency import prove_epoch  # noqa: E402
from pymargin.zk.statement import Shape  # noqa: E402

M = 4
SECRET = b"\x05" * 32


def post_gas(chain, k: int, t: int) -> dict:
    """Prove and post one epoch of SolvencyBatch(k, M, t); return its figures."""
    shape = Shape(k, t, M)
    accounts, views = zero_sum_book(17 + t, (1 << shape.depth) - 1)
    sender = node_signer(chain)
    keys = get_backend("groth16py").setup(circuits.solvency(k, M, t))
    verifier, _ = onchain.deploy_verifier(chain, keys, sender)
    hashers = commit_onchain.deploy_hashers(chain, sender)
    engine, _ = deploy_contract(chain, "TestEngineCheckpoints", M, sender=sender)
    registry = onchain.deploy_registry(chain, sender, verifier, engine.address, hashers, shape)
    commitment = commit_accounts(accounts, views, SECRET, 1, depth=shape.depth)
    statement = epoch_statement(commitment, SECRET, shape, chain.chain_id, int(registry.address, 16), int(engine.address, 16), 1, M)
    checkpoint = book_checkpoint(statement, chain.w3.eth.block_number)
    engine.transact("record", checkpoint.to_abi(), sender=sender)
    epoch, _ = prove_epoch(commitment, SECRET, statement, "groth16py", workers=2)
    receipt = onchain.post_epoch(registry, epoch, checkpoint, sender)
    return {"k": k, "t": t, "batches": 1 << t, "accounts": len(accounts), "gas": receipt.gasUsed,
            "verify_gas": onchain.verify_gas(chain, verifier, epoch.proofs[0], sender)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--t", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "registry_gas.md")
    args = parser.parse_args()
    compile_contracts()
    chain = devnet.embedded()
    try:
        rows = [post_gas(chain, args.k, t) for t in args.t]
    finally:
        chain.close()
    lines = [
        "# SolvencyRegistry.postEpoch gas", "",
        f"`{' '.join(['.venv/bin/python', 'benchmarks/registry_gas.py', *sys.argv[1:]])}` — embedded devnet (py-evm),",
        f"M = {M} market slots, real Groth16 verifier (groth16py development keys), transaction gas incl. 21,000.", "",
        "| K | T | batches | accounts | postEpoch gas | per batch (whole tx / batches) | bare verifyProof tx |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['k']} | {r['t']} | {r['batches']} | {r['accounts']} | {r['gas']:,} | {r['gas'] // r['batches']:,} | {r['verify_gas']:,} |")
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        per_batch = (b["gas"] - a["gas"]) // (b["batches"] - a["batches"])
        base = a["gas"] - per_batch * a["batches"]
        lines += ["", f"Fit: postEpoch ≈ {base:,} + {per_batch:,} × batches (the fixed part: checkpoint hash and",
                  "call, 2·M Poseidon_5 and 4 more hashes for the statement, range checks, storing the figures;",
                  "per batch: one Poseidon_4 for pub_k and the pairing check)."]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

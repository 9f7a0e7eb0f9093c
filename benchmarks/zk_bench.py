"""Solvency-proof figures: constraints per account, proving time and memory vs batch size, py-ecc
verification time, verification gas (bare verifyProof and the whole postEpoch), accounts per second.

Usage (from the checkout, writes benchmarks/zk_results.json and prints a table):

    .venv/bin/python benchmarks/zk_bench.py --sizes 2 3 4 5 6 --book 1024 --batch-log2 6 --workers 2

* sizes: SolvencyBatch(K, 4, 0) for each K (2^K accounts, 4 markets, one batch = the whole tree):
  constraints, witness (node) and proof (groth16py; snarkjs for K <= --snarkjs-max) seconds and
  peak memory (a fresh process per proof), py-ecc verification seconds.
* book: a random book of N accounts (up to 4 positions each, 4 markets; tests/zk_books.py),
  committed at depth ceil(log2 N), proven in batches of 2^batch-log2 with --workers processes,
  posted to a SolvencyRegistry on anvil (checkpoint recorded in TestEngineCheckpoints), gas recorded.
All keys are development setups (groth16py single-party; snarkjs with a local ptau).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import pymargin  # noqa: E402
from pymargin.zk import circuits, inputs  # noqa: E402
from pymargin.zk.statement import Shape  # noqa: E402


def _prove_in_fresh_process(args):
    backend_name, circuit, keys, wtns = args
    from pymargin.zk.backends import get_backend

    started = time.perf_counter()
    proof = get_backend(backend_name).prove(keys, Path(wtns))
    seconds = time.perf_counter() - started
    rss_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return proof, seconds, rss_kb


def _one_batch_inputs(k: int):
    from zk_books import book

    from pymargin.commit.commitment import commit_accounts

    accounts, views = book(1000 + k, 1 << k)
    commitment = commit_accounts(accounts, views, b"\x01" * 32, 1, depth=max(k, 1))
    statement = inputs.epoch_statement(commitment, b"\x01" * 32, Shape(commitment.tree.depth, 0, 4), 31337, 0x1234, 0x5678, 1, len(views))
    return inputs.batch_inputs(commitment, b"\x01" * 32, statement)[0]


def bench_size(k: int, snarkjs_max: int) -> dict:
    from pymargin.zk.backends import get_backend
    from pymargin.zk.verify import verify
    from pymargin.zk.witness import compute_witness

    t0 = time.perf_counter()
    circuit = circuits.solvency(k, 4, 0)
    compile_s = time.perf_counter() - t0
    row = {"k": k, "accounts": 1 << k, "constraints": circuit.info["constraints"], "compile_s": round(compile_s, 2)}
    batch = _one_batch_inputs(k)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        wtns = compute_witness(circuit, batch.inputs, Path(tmp) / "w.wtns")
        row["witness_s"] = round(time.perf_counter() - t0, 2)
        ctx = multiprocessing.get_context("spawn")
        for name in ("groth16py", "snarkjs"):
            if name == "snarkjs" and k > snarkjs_max:
                continue
            t0 = time.perf_counter()
            keys = get_backend(name).setup(circuit)
            row[f"{name}_setup_s"] = round(time.perf_counter() - t0, 2)
            with ctx.Pool(1) as pool:
                proof, seconds, rss = pool.apply(_prove_in_fresh_process, ((name, circuit, keys, str(wtns)),))
            row[f"{name}_prove_s"] = round(seconds, 2)
            row[f"{name}_peak_rss_mb"] = round(rss / 1024, 1)
            vk = keys.verifying_key()
            t0 = time.perf_counter()
            assert verify(vk, proof) and proof.public == batch.public
            row["pyecc_verify_s"] = round(time.perf_counter() - t0, 3)
    return row


def bench_book(n: int, k: int, workers: int) -> dict:
    from zk_books import book_checkpoint, zero_sum_book

    from pymargin.chain import devnet
    from pymargin.chain.compile import compile_contracts
    from pymargin.chain.contracts import deploy_contract
    from pymargin.chain.tx import node_signer
    from pymargin.chain import commitments as commit_onchain
    from pymargin.commit.commitment import commit_accounts
    from pymargin.chain import solvency as onchain
    from pymargin.zk.backends import get_backend
    from pymargin.zk.solvency import prove_epoch

    depth = max(k, (n - 1).bit_length())
    accounts, views = zero_sum_book(7, n)
    secret = b"\x02" * 32
    row = {"book_accounts": n, "batch_accounts": 1 << k, "depth": depth, "workers": workers}
    t0 = time.perf_counter()
    commitment = commit_accounts(accounts, views, secret, 1, depth=depth)
    row["commit_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    circuit = circuits.solvency(k, 4, depth - k)
    keys = get_backend("groth16py").setup(circuit)
    row["compile_and_setup_s"] = round(time.perf_counter() - t0, 2)
    row["constraints_per_batch"] = circuit.info["constraints"]
    compile_contracts()
    chain = devnet.start_anvil()
    try:
        sender = node_signer(chain)
        verifier, deploy_gas = onchain.deploy_verifier(chain, keys, sender)
        hashers = commit_onchain.deploy_hashers(chain, sender)
        engine, _ = deploy_contract(chain, "TestEngineCheckpoints", 4, sender=sender)
        batch_verifier, _ = onchain.deploy_batch_verifier(chain, keys, sender)
        registry = onchain.deploy_registry(chain, sender, batch_verifier, engine.address, hashers, Shape(k, depth - k, 4))
        statement = inputs.epoch_statement(commitment, secret, Shape(k, depth - k, 4), chain.chain_id, int(registry.address, 16),
                                           int(engine.address, 16), 1, len(views))
        checkpoint = book_checkpoint(statement, chain.w3.eth.block_number)
        engine.transact("record", checkpoint.to_abi(), sender=sender)
        t0 = time.perf_counter()
        epoch, _ = prove_epoch(commitment, secret, statement, "groth16py", workers=workers)
        prove_s = time.perf_counter() - t0
        row["prove_s"] = round(prove_s, 1)
        row["accounts_per_s"] = round(n / prove_s, 2)
        row["verifier_deploy_gas"] = deploy_gas
        row["bare_verifyProof_tx_gas"] = onchain.verify_gas(chain, verifier, epoch.proofs[0], sender)
        receipt = onchain.post_epoch(registry, epoch, checkpoint, sender)
        row["postEpoch_gas"] = receipt.gasUsed
        row["batches"] = len(epoch.proofs)
        row["postEpoch_gas_per_batch"] = round(receipt.gasUsed / len(epoch.proofs))
    finally:
        chain.close()
    return row


def bench_constraints(ks: list[int]) -> dict:
    """Constraints of SolvencyBatch(K, 4, 1) for each K of the pymargin on the import path, and the
    slope between the two largest K: constraints per account (its leaf, figures and share of nodes)."""
    rows = [{"k": k, "accounts": 1 << k, "constraints": circuits.solvency(k, 4, 1).info["constraints"]} for k in ks]
    a, b = rows[-2], rows[-1]
    return {"circuit": "SolvencyBatch(K, 4, 1)", "package": str(Path(pymargin.__file__).parent), "rows": rows,
            "per_account": round((b["constraints"] - a["constraints"]) / (b["accounts"] - a["accounts"]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[2, 3, 4, 5, 6])
    parser.add_argument("--snarkjs-max", type=int, default=4, help="largest K proven with snarkjs too (its dev ptau grows)")
    parser.add_argument("--book", type=int, default=0, help="accounts of the end-to-end book (0: skip)")
    parser.add_argument("--batch-log2", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "zk_results.json")
    parser.add_argument("--constraints", type=int, nargs="*", default=[], help="K values: constraints of SolvencyBatch(K, 4, 1) (two or more)")
    parser.add_argument("--label", default="current", help="key under which --constraints is recorded (e.g. before / after)")
    args = parser.parse_args()
    results = {"sizes": [], "book": None}
    if args.out.is_file():
        results.update(json.loads(args.out.read_text()))  # other scripts' keys are kept
    results["machine"] = {"cpus": multiprocessing.cpu_count(), "python": platform.python_version()}
    if args.constraints:
        results.setdefault("constraints_by_statement", {})[args.label] = bench_constraints(args.constraints)
        print(json.dumps(results["constraints_by_statement"][args.label]), flush=True)
    for k in args.sizes:
        row = bench_size(k, args.snarkjs_max)
        results["sizes"] = [r for r in results["sizes"] if r["k"] != k] + [row]
        print(json.dumps(row), flush=True)
    sizes = sorted(results["sizes"], key=lambda r: r["k"])
    if len(sizes) >= 2:
        a, b = sizes[-2], sizes[-1]
        results["constraints_per_account"] = round((b["constraints"] - a["constraints"]) / (b["accounts"] - a["accounts"]))
    if args.book:
        results["book"] = bench_book(args.book, args.batch_log2, args.workers)
        print(json.dumps(results["book"]), flush=True)
    results["command"] = " ".join(sys.argv)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

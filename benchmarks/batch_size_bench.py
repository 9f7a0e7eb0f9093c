"""Proving cost vs batch size: groth16py and snarkjs side by side on the same SolvencyBatch(K, 4, T) circuit.

Usage (from the checkout; adds rows to "batch_sizes" in benchmarks/zk_results.json):

    .venv/bin/python benchmarks/batch_size_bench.py --sizes 6 8 --levels 4 --snarkjs-max -1
    .venv/bin/python benchmarks/batch_size_bench.py --sizes 1 --levels 1 --snarkjs-max 1
    nice -n 5 .venv/bin/python benchmarks/batch_size_bench.py --sizes 6 8 --levels 8 --side-by-side

For each K: one batch of 2^K random accounts; its witness (the circuit's generator, node), then for each
backend one proof in a fresh process: key load seconds apart from proof seconds, wall and CPU
(user + system, all threads and child processes), peak resident memory, and the load average at the
end. CPU seconds are what a core spends, so they hold on a shared machine where wall times stretch:
accounts per CPU-second = accounts per second per core. snarkjs needs a Powers of Tau covering the
circuit (a development ptau is made once per power: slow above 2^15), so it runs for K <= --snarkjs-max.
``--side-by-side``: both backends prove with one development zkey (``PYMARGIN_DEV_SETUP=zkey``, no ptau)
at every K; rows go to "batch_sizes_side_by_side". For K >= 8 compile with groth16py's native circom crates (same r1cs and witness):

    PYMARGIN_CIRCOM=groth16py nice -n 5 .venv/bin/python benchmarks/batch_size_bench.py --sizes 8 --levels 8 --side-by-side
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pymargin.zk import circuits, inputs  # noqa: E402
from pymargin.zk.statement import Shape  # noqa: E402

MARKETS = 4


def _cpu_s() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _prove_in_fresh_process(args):
    """(proof, key load wall s, key load CPU s, prove wall s, prove CPU s, peak RSS bytes) in this new process."""
    backend_name, keys, wtns = args
    from pymargin.zk.backends import get_backend

    backend = get_backend(backend_name)
    wall, cpu = time.perf_counter(), _cpu_s()
    backend.load(keys)
    load_wall, load_cpu = time.perf_counter() - wall, _cpu_s() - cpu
    wall, cpu = time.perf_counter(), _cpu_s()
    proof = backend.prove(keys, Path(wtns))
    prove_wall, prove_cpu = time.perf_counter() - wall, _cpu_s() - cpu
    return proof, load_wall, load_cpu, prove_wall, prove_cpu, max(_own_peak_rss(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)


def _own_peak_rss() -> int:
    """This process's peak resident bytes (VmHWM). Not RUSAGE_SELF's ru_maxrss: Linux carries the parent's
    peak into a process started by vfork + exec (as multiprocessing's spawn does), so a worker started after
    a large setup in the parent reported the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _one_batch(k: int, t: int):
    from zk_books import book

    from pymargin.commit.commitment import commit_accounts

    accounts, views = book(1000 + k, 1 << k)
    commitment = commit_accounts(accounts, views, None, 1, depth=k + t)
    statement = inputs.epoch_statement(commitment, None, Shape(k, t, MARKETS), 31337, 0x1234, 0x5678, 1, len(views))
    return inputs.batch_inputs(commitment, None, statement)[0]


def bench(k: int, t: int, snarkjs_max: int, fast_zkey: bool) -> dict:
    from pymargin.zk.backends import get_backend
    from pymargin.zk.setup import ensure_fast_zkey
    from pymargin.zk.verify import verify
    from pymargin.zk.witness import compute_witness

    circuit = circuits.solvency(k, MARKETS, t)
    row = {"k": k, "t": t, "account_count": 1 << k, "constraints": circuit.info["constraints"]}
    batch = _one_batch(k, t)
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), _cpu_s()
        wtns = compute_witness(circuit, batch.inputs, Path(tmp) / "w.wtns")
        row["witness_s"], row["witness_cpu_s"] = round(time.perf_counter() - wall, 2), round(_cpu_s() - cpu, 2)
        for name in ("groth16py", "snarkjs"):
            if name == "snarkjs" and k > snarkjs_max:
                continue
            wall, cpu = time.perf_counter(), _cpu_s()
            keys = get_backend(name).setup(circuit)
            if fast_zkey and name == "groth16py":
                ensure_fast_zkey(keys)
            row[f"{name}_setup_s"], row[f"{name}_setup_cpu_s"] = round(time.perf_counter() - wall, 2), round(_cpu_s() - cpu, 2)
            with multiprocessing.get_context("spawn").Pool(1) as pool:
                proof, load_s, load_cpu, prove_s, prove_cpu, rss = pool.apply(_prove_in_fresh_process, ((name, keys, str(wtns)),))
            row |= {f"{name}_key_load_s": round(load_s, 2), f"{name}_key_load_cpu_s": round(load_cpu, 2),
                    f"{name}_prove_s": round(prove_s, 2), f"{name}_prove_cpu_s": round(prove_cpu, 2),
                    f"{name}_peak_rss_bytes": str(rss), f"{name}_bytes_per_constraint": round(rss / row["constraints"]),
                    f"{name}_accounts_per_cpu_s": round(row["account_count"] / (row["witness_cpu_s"] + prove_cpu), 3),
                    f"{name}_load_avg": round(os.getloadavg()[0], 1)}
            assert verify(keys.verifying_key(), proof) and proof.public == batch.public
            print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", required=True, help="K values (2^K accounts per batch)")
    parser.add_argument("--levels", type=int, default=0, help="T: tree levels above the batch (the circuit's hash path)")
    parser.add_argument("--snarkjs-max", type=int, default=-1, help="largest K proven with snarkjs too")
    parser.add_argument("--fast-zkey", action="store_true", help="prove from the fast zkey (written once first: a slow inverse FFT)")
    parser.add_argument("--side-by-side", action="store_true", help="both backends on one development zkey at every K")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "zk_results.json")
    args = parser.parse_args()
    key = "batch_sizes"
    if args.side_by_side:
        os.environ["PYMARGIN_DEV_SETUP"] = "zkey"  # inherited by the proving processes
        args.snarkjs_max, key = max(args.sizes), "batch_sizes_side_by_side"
    for k in args.sizes:
        row = bench(k, args.levels, args.snarkjs_max, args.fast_zkey)
        compiler = os.environ.get("PYMARGIN_CIRCOM")
        row["command"] = (f"PYMARGIN_CIRCOM={compiler} " if compiler else "") + "benchmarks/batch_size_bench.py " + " ".join(sys.argv[1:])
        results = json.loads(args.out.read_text()) if args.out.is_file() else {}
        rows = [r for r in results.get(key, []) if (r["k"], r["t"]) != (k, args.levels)] + [row]
        results[key] = sorted(rows, key=lambda r: (r["k"], r["t"]))
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""groth16py at a batch size whose development zkey does not fit memory: its own setup and one proof in one process.

Usage (from the checkout; adds a row to "batch_sizes_groth16py_warm" in benchmarks/zk_results.json):

    PYMARGIN_CIRCOM=groth16py nice -n 5 .venv/bin/python benchmarks/large_k_bench.py --k 10 --levels 8

``batch_size_bench.py --side-by-side`` writes one development zkey for both provers; its Python stage
held ~6.9 GB at K = 8 and would need ~4× that at K = 10. Here groth16py's single-party setup (Rust)
makes the key in this process and proves with it without reloading (a warm worker: no key load), so the
figures are the proof's CPU seconds and the process's resident memory with the key held. No snarkjs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from batch_size_bench import MARKETS, _cpu_s, _one_batch, _own_peak_rss  # noqa: E402

from pymargin.zk import circuits  # noqa: E402
from pymargin.zk.proof import Proof, VerifyingKey  # noqa: E402
from pymargin.zk.verify import verify  # noqa: E402
from pymargin.zk.witness import compute_witness, public_signals, read_wtns  # noqa: E402


def _rss() -> int:
    """This process's resident bytes now (VmRSS)."""
    return next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmRSS:"))


def bench(k: int, t: int) -> dict:
    import groth16py

    circuit = circuits.solvency(k, MARKETS, t)
    row = {"k": k, "t": t, "account_count": 1 << k, "constraints": circuit.info["constraints"]}
    batch = _one_batch(k, t)
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = time.perf_counter(), _cpu_s()
        wtns = compute_witness(circuit, batch.inputs, Path(tmp) / "w.wtns")
        row["witness_s"], row["witness_cpu_s"] = round(time.perf_counter() - wall, 2), round(_cpu_s() - cpu, 2)
        wall, cpu = time.perf_counter(), _cpu_s()
        pk, vk = groth16py.setup(str(circuit.r1cs))
        row["setup_s"], row["setup_cpu_s"] = round(time.perf_counter() - wall, 2), round(_cpu_s() - cpu, 2)
        row["setup_peak_rss_bytes"], row["key_held_rss_bytes"] = str(_own_peak_rss()), str(_rss())
        wall, cpu = time.perf_counter(), _cpu_s()
        blob = groth16py.prove_wtns(pk, str(wtns))
        row["prove_s"], row["prove_cpu_s"] = round(time.perf_counter() - wall, 2), round(_cpu_s() - cpu, 2)
        row["peak_rss_bytes"] = str(_own_peak_rss())
        info = circuit.info
        proof = Proof.from_eth_bytes(blob, public_signals(read_wtns(wtns), info["outputs"] + info["public_inputs"]))
        assert verify(VerifyingKey.from_snarkjs(json.loads(vk.to_json())), proof) and proof.public == batch.public
    row["accounts_per_cpu_s"] = round(row["account_count"] / (row["witness_cpu_s"] + row["prove_cpu_s"]), 3)
    row["load_avg"] = round(os.getloadavg()[0], 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, required=True, help="K (2^K accounts per batch)")
    parser.add_argument("--levels", type=int, default=8, help="T: tree levels above the batch")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "zk_results.json")
    args = parser.parse_args()
    row = bench(args.k, args.levels)
    compiler = os.environ.get("PYMARGIN_CIRCOM")
    row["command"] = (f"PYMARGIN_CIRCOM={compiler} " if compiler else "") + "benchmarks/large_k_bench.py " + " ".join(sys.argv[1:])
    print(json.dumps(row), flush=True)
    results = json.loads(args.out.read_text())
    rows = [r for r in results.get("batch_sizes_groth16py_warm", []) if (r["k"], r["t"]) != (args.k, args.levels)]
    results["batch_sizes_groth16py_warm"] = sorted(rows + [row], key=lambda r: (r["k"], r["t"]))
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

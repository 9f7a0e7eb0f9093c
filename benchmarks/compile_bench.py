"""Compile cost of SolvencyBatch(K, 4, T) with circom2 (WebAssembly) or groth16py's native circom crates.

Usage (from the checkout; adds rows to "circuit_compile" in benchmarks/zk_results.json):

    PYMARGIN_ZK_BUILD=/tmp/cb nice -n 5 .venv/bin/python benchmarks/compile_bench.py --sizes 6 7 --levels 8 --compiler circom2
    PYMARGIN_ZK_BUILD=/tmp/cb nice -n 5 .venv/bin/python benchmarks/compile_bench.py --sizes 6 8 10 --levels 8 --compiler groth16py

One compile per K into the build folder (an already cached circuit is not timed: point PYMARGIN_ZK_BUILD
at an empty folder). CPU seconds are the compiler's (user + system of the child processes, all threads),
peak RSS the largest child's; wall seconds stretch with the load average recorded beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

from pymargin.zk import circuits
from pymargin.zk.circom import build_root

ROOT = Path(__file__).resolve().parent.parent
MARKETS = 4


def bench(k: int, t: int) -> dict:
    """One compile of SolvencyBatch(k, 4, t): constraints, wall and CPU seconds, peak RSS bytes."""
    name = f"solvency_k{k}_m{MARKETS}_t{t}"
    if any((build_root() / "circuits").glob(f"{name}-*/main.r1cs")):
        sys.exit(f"{name} is already compiled under {build_root()}: use an empty PYMARGIN_ZK_BUILD")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    circuit = circuits.solvency(k, MARKETS, t)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"k": k, "t": t, "compiler": os.environ.get("PYMARGIN_CIRCOM") or "circom2", "constraints": circuit.info["constraints"],
            "compile_s": round(wall, 1), "compile_cpu_s": round(cpu, 1), "peak_rss_bytes": str(after.ru_maxrss * 1024),
            "load_avg": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", required=True, help="K values (2^K accounts per batch)")
    parser.add_argument("--levels", type=int, default=8, help="T: tree levels above the batch")
    parser.add_argument("--compiler", choices=("circom2", "groth16py"), default="circom2")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "zk_results.json")
    args = parser.parse_args()
    os.environ["PYMARGIN_CIRCOM"] = args.compiler
    for k in args.sizes:
        row = bench(k, args.levels)
        row["command"] = "benchmarks/compile_bench.py " + " ".join(sys.argv[1:])
        print(json.dumps(row), flush=True)
        results = json.loads(args.out.read_text())
        rows = [r for r in results.get("circuit_compile", []) if (r["k"], r["t"], r["compiler"]) != (k, args.levels, args.compiler)]
        results["circuit_compile"] = sorted(rows + [row], key=lambda r: (r["compiler"], r["k"], r["t"]))
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Proving key load time of a fresh process: groth16py's own key file against a zkey of the same circuit.

Usage (from the checkout; sets "key_load_s" in benchmarks/zk_results.json):

    nice -n 5 .venv/bin/python benchmarks/key_load_bench.py --k 6 --levels 8

Makes (cached) the groth16py development key and the development zkey (pymargin.zk.dev_zkey) of
SolvencyBatch(K, 4, T), then in a fresh process each: ``ProvingKey.load(proving_key.bin)`` ("before":
checks every point) and ``import_zkey(circuit.zkey)`` ("after": no checks). The two keys come from
different toxic waste but have the same sizes. Reports wall and CPU seconds and the load average.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load(args) -> tuple[float, float]:
    kind, path = args
    import groth16py

    wall, cpu = time.perf_counter(), time.process_time()
    groth16py.ProvingKey.load(path) if kind == "bin" else groth16py.import_zkey(path)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    from pymargin.zk import circuits
    from pymargin.zk.setup import dev_setup_groth16py, dev_setup_zkey

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--levels", type=int, default=8)
    parser.add_argument("--after-only", action="store_true", help="measure only the zkey; keep the recorded before_* figures")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "zk_results.json")
    args = parser.parse_args()
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    circuit = circuits.solvency(args.k, 4, args.levels)
    keys_zkey = dev_setup_zkey(circuit).zkey
    loads = [("after", "zkey", keys_zkey)]
    if args.after_only:
        old = results.get("key_load_s", {})
        row = {key: value for key, value in old.items() if key.startswith("before")}
        row |= {"before_circuit": old.get("before_circuit", old.get("circuit")), "before_command": old.get("before_command", old.get("command"))}
    else:
        keys_bin = dev_setup_groth16py(circuit).pk_bin
        row = {"before_circuit": circuit.name, "before_bytes": str(keys_bin.stat().st_size)}
        loads.insert(0, ("before", "bin", keys_bin))
    row |= {"after_circuit": circuit.name, "after_constraints": circuit.info["constraints"], "after_bytes": str(keys_zkey.stat().st_size)}
    ctx = multiprocessing.get_context("spawn")
    for name, kind, path in loads:
        with ctx.Pool(1) as pool:
            wall, cpu = pool.apply(_load, ((kind, str(path)),))
        row |= {f"{name}_s": round(wall, 2), f"{name}_cpu_s": round(cpu, 2), f"{name}_load_avg": round(os.getloadavg()[0], 1)}
        print(json.dumps(row), flush=True)
    row["command"] = "benchmarks/key_load_bench.py " + " ".join(sys.argv[1:])
    results["key_load_s"] = row
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

"""Proving key load time of a fresh process: groth16py's own key file against the fast zkey.

Usage (from the checkout; sets "key_load_s" in benchmarks/zk_results.json):

    .venv/bin/python benchmarks/key_load_bench.py --k 6 --levels 6

Makes the development keys of SolvencyBatch(K, 4, T) if needed (and the fast zkey: one inverse FFT,
slow), then in a fresh process each: ``ProvingKey.load(proving_key.bin)`` (checks every point) and
``import_zkey(fast.zkey)`` (no checks). Reports wall and CPU seconds and the load average.
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
    from pymargin.zk.backends import Groth16pyBackend
    from pymargin.zk.setup import ensure_fast_zkey

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--levels", type=int, default=6)
    parser.add_argument("--keys", type=Path, default=None,
                        help="an existing development key folder (proving_key.bin and fast.zkey) instead of --k/--levels")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "zk_results.json")
    args = parser.parse_args()
    if args.keys is None:
        circuit = circuits.solvency(args.k, 4, args.levels)
        keys = Groth16pyBackend().setup(circuit)
        ensure_fast_zkey(keys)
        folder = keys.dir
        row = {"circuit": circuit.name, "constraints": circuit.info["constraints"]}
    else:
        folder = args.keys
        row = {"circuit": json.loads((folder / "setup.json").read_text())["circuit"]}
    keys_bin, keys_zkey = folder / "proving_key.bin", folder / "fast.zkey"
    row |= {"proving_key_bin_bytes": str(keys_bin.stat().st_size), "fast_zkey_bytes": str(keys_zkey.stat().st_size)}
    ctx = multiprocessing.get_context("spawn")
    for name, kind, path in (("before", "bin", keys_bin), ("after", "zkey", keys_zkey)):
        with ctx.Pool(1) as pool:
            wall, cpu = pool.apply(_load, ((kind, str(path)),))
        row |= {f"{name}_s": round(wall, 2), f"{name}_cpu_s": round(cpu, 2), f"{name}_load_avg": round(os.getloadavg()[0], 1)}
        print(json.dumps(row), flush=True)
    row["command"] = "benchmarks/key_load_bench.py " + " ".join(sys.argv[1:])
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    results["key_load_s"] = row
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

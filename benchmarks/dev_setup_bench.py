"""Development setup time: groth16py's single-party setup against the zkey written from known toxic waste.

Usage (from the checkout; sets "dev_setup_s" in benchmarks/zk_results.json, a row per K):

    nice -n 5 .venv/bin/python benchmarks/dev_setup_bench.py --sizes 2 6 --levels 8

For each K: SolvencyBatch(K, 4, T) compiled (cached), then each setup in a fresh process writing into
an empty key cache (the circuit's build folder linked in), so nothing is reused; wall and CPU seconds
(user + system of the process and every child: groth16py's threads, node's workers) and the load
average at the end. The keys made are then moved into the real cache if it has none for that setup.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUPS = {"groth16py": "dev_setup_groth16py", "zkey": "dev_setup_zkey"}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_setup(circuit, setup: str) -> dict:
    """Wall s, CPU s and load average of one setup of ``circuit`` in a fresh process and key cache."""
    from pymargin.zk.circom import build_root

    with tempfile.TemporaryDirectory(dir=build_root(), prefix=".bench-") as tmp:
        (Path(tmp) / "circuits").mkdir()
        (Path(tmp) / "circuits" / circuit.dir.name).symlink_to(circuit.dir)
        code = (f"from pymargin.zk.circom import Circuit; from pymargin.zk import setup; from pathlib import Path; "
                f"print(setup.{SETUPS[setup]}(Circuit({circuit.name!r}, {circuit.key!r}, Path({tmp!r}) / 'circuits' / {circuit.dir.name!r})).dir)")
        env = os.environ | {"PYMARGIN_ZK_BUILD": tmp, "PYTHONPATH": str(ROOT)}
        wall, cpu = time.perf_counter(), _children_cpu_s()
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        wall, cpu = time.perf_counter() - wall, _children_cpu_s() - cpu
        if done.returncode != 0:
            raise SystemExit(f"{setup} setup failed: {done.stderr.strip().splitlines()[-1:]}")
        made = Path(done.stdout.strip())
        target = build_root() / "keys" / made.parent.name / made.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(made), str(target))
    return {f"{setup}_s": round(wall, 2), f"{setup}_cpu_s": round(cpu, 2), f"{setup}_load_avg": round(os.getloadavg()[0], 1)}


def main() -> None:
    from pymargin.zk import circuits

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", required=True, help="K values (2^K accounts per batch)")
    parser.add_argument("--levels", type=int, default=8, help="T: tree levels above the batch")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "zk_results.json")
    args = parser.parse_args()
    for k in args.sizes:
        circuit = circuits.solvency(k, 4, args.levels)
        row = {"k": k, "t": args.levels, "constraints": circuit.info["constraints"]}
        for setup in args.setups:
            row |= time_setup(circuit, setup)
            print(json.dumps(row), flush=True)
        row["command"] = "benchmarks/dev_setup_bench.py " + " ".join(sys.argv[1:])
        results = json.loads(args.out.read_text()) if args.out.is_file() else {}
        rows = [r for r in results.get("dev_setup_s", []) if (r["k"], r["t"]) != (k, args.levels)] + [row]
        results["dev_setup_s"] = sorted(rows, key=lambda r: (r["k"], r["t"]))
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

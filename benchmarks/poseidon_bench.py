"""Benchmark: Poseidon hashes per second per arity, pymargin (light-poseidon, native) against
circomlibjs (node, WebAssembly field arithmetic) measured in the same run.

    .venv/bin/python benchmarks/poseidon_bench.py --count 20000 --out benchmarks/poseidon_results.md

pymargin's figure includes what a caller pays: range checks and int <-> bytes conversions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import time
from pathlib import Path

from pymargin import tools
from pymargin.commit.poseidon import P, poseidon

ARITIES = (1, 2, 4, 5, 6)
_NODE = """
import { buildPoseidon } from "circomlibjs";
const poseidon = await buildPoseidon();
const [arities, count] = JSON.parse(process.argv[1]);
const out = {};
for (const n of arities) {
  const xs = Array.from({length: n}, (_, i) => BigInt(i) * 7919n + 123456789123456789123456789n);
  const t = performance.now();
  for (let i = 0; i < count; i++) { xs[0] = BigInt(i); poseidon.F.toObject(poseidon(xs)); }
  out[n] = count / ((performance.now() - t) / 1000);
}
process.stdout.write(JSON.stringify(out));
"""


def pymargin_rate(arity: int, count: int) -> float:
    rng = random.Random(arity)
    inputs = [[rng.randrange(P) for _ in range(arity)] for _ in range(256)]
    started = time.perf_counter()
    for i in range(count):
        poseidon(inputs[i & 255])
    return count / (time.perf_counter() - started)


def circomlibjs_rates(count: int) -> dict[int, float]:
    proc = subprocess.run([tools.node(), "--input-type=module", "-e", _NODE, json.dumps([ARITIES, count])],
                          cwd=tools.node_modules().parent, capture_output=True, text=True, check=True)
    return {int(k): v for k, v in json.loads(proc.stdout).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    ours = {n: pymargin_rate(n, args.count) for n in ARITIES}
    theirs = circomlibjs_rates(args.count)
    lines = [f"\n### {time.strftime('%Y-%m-%d %H:%M')} UTC, {args.count:,} hashes per arity, one core, load avg {load:.2f}\n",
             f"Command: `.venv/bin/python benchmarks/poseidon_bench.py --count {args.count}`\n",
             "| inputs | pymargin (light-poseidon) hashes/s | circomlibjs hashes/s | ratio |", "|---|---|---|---|"]
    lines += [f"| {n} | {ours[n]:,.0f} | {theirs[n]:,.0f} | {ours[n] / theirs[n]:.2f}x |" for n in ARITIES]
    print("\n".join(lines))
    if args.out:
        with open(args.out, "a") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark: Poseidon hashes per second per arity: pymargin's scalar hasher (light-poseidon, native, one call
per hash), its batched hasher (poseidon_opt: optimised partial rounds, numba, one call per batch), and
circomlibjs (node, WebAssembly field arithmetic), measured in the same run on one core.

    .venv/bin/python benchmarks/poseidon_bench.py --count 20000 --out benchmarks/poseidon_results.md

pymargin's figures include what a caller pays: range checks and int <-> bytes conversions. Both Python
rates are also given per CPU second (process time), which a loaded machine distorts less than wall time.
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
from pymargin.commit.poseidon_opt import poseidon_many

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


def pymargin_rate(arity: int, count: int) -> tuple[float, float]:
    """(hashes per wall second, hashes per CPU second) of the scalar hasher, one call per hash."""
    rng = random.Random(arity)
    inputs = [[rng.randrange(P) for _ in range(arity)] for _ in range(256)]
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        poseidon(inputs[i & 255])
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def batched_rates(arity: int, count: int) -> tuple[float, float]:
    """(hashes per wall second, hashes per CPU second) of poseidon_many over ``count`` random inputs, kernels warm."""
    rng = random.Random(arity)
    data = b"".join(rng.randrange(P).to_bytes(32, "big") for _ in range(arity * count))
    poseidon_many(arity, data[: 32 * arity])
    wall, cpu = time.perf_counter(), time.process_time()
    poseidon_many(arity, data)
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


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
    batched = {n: batched_rates(n, args.count) for n in ARITIES}
    theirs = circomlibjs_rates(args.count)
    lines = [f"\n### {time.strftime('%Y-%m-%d %H:%M')} UTC, {args.count:,} hashes per arity, one core, load avg {load:.2f}\n",
             f"Command: `.venv/bin/python benchmarks/poseidon_bench.py --count {args.count}`\n",
             "| inputs | light-poseidon hashes/s (per CPU s) | poseidon_opt hashes/s (per CPU s) | circomlibjs hashes/s "
             "| poseidon_opt / light-poseidon per CPU s |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {ours[n][0]:,.0f} ({ours[n][1]:,.0f}) | {batched[n][0]:,.0f} ({batched[n][1]:,.0f}) | {theirs[n]:,.0f} | "
              f"{batched[n][1] / ours[n][1]:.2f}x |" for n in ARITIES]
    print("\n".join(lines))
    if args.out:
        with open(args.out, "a") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

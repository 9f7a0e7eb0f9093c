"""Benchmark: committing a book of 2^k accounts (leaf hashing + Merkle sum tree), time and memory.

Each size runs in a fresh process so its peak memory is its own. Per size it reports the wall time and
the CPU time (main process + workers: user + sys) of ``commit_accounts`` — id hashes, sort, leaves (margin +
one Poseidon_11 per account) and the tree (one Poseidon_6 per inner node that is not all padding) —
and the peak resident memory of the main process and of the worker processes.

    .venv/bin/python benchmarks/tree_bench.py --sizes 10,16,20 --workers 2 --out benchmarks/tree_results.md

Accounts: 1-4 positions each (uniform) in 4 markets, random signed sizes, cost bases at the oracle
price, ample collateral.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

SECRET = bytes(range(32))


def make_book(count: int, seed: int = 1):
    from eth_utils import to_checksum_address

    from pymargin.model import WAD, Account, MarketView, Position

    rng = random.Random(seed)
    markets = {i: MarketView(rng.randrange(10**18, 10**23), rng.randrange(-10**20, 10**20), WAD // 10, WAD // 20)
               for i in range(4)}
    accounts = []
    for _ in range(count):
        account = Account(to_checksum_address("0x%040x" % rng.getrandbits(160)), 0, rng.randrange(10**24, 10**26))
        for m in rng.sample(range(4), rng.randint(1, 4)):
            size = rng.choice([-1, 1]) * rng.randrange(1, 10**21)
            view = markets[m]
            account.positions[m] = Position(m, size, (size * view.price_wad) // WAD, view.funding_index_wad)
        accounts.append(account)
    return accounts, markets


def one(log2: int, workers: int) -> dict:
    from pymargin.commit.commitment import commit_accounts
    from pymargin.commit.poseidon_opt import poseidon_many

    for arity in (6, 11):  # load the compiled kernels (numba's cache) before timing
        poseidon_many(arity, bytes(32 * arity))
    count = 2**log2
    started = time.perf_counter()
    accounts, markets = make_book(count)
    generated = time.perf_counter() - started
    cpu_before = sum(getattr(resource.getrusage(resource.RUSAGE_SELF), f) for f in ("ru_utime", "ru_stime"))
    started = time.perf_counter()
    tree = commit_accounts(accounts, markets, SECRET, 1, log2, workers).tree
    commit_s = time.perf_counter() - started
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    cpu = sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
              for f in ("ru_utime", "ru_stime")) - cpu_before
    return {"log2": log2, "accounts": count, "workers": workers, "positions": sum(len(a.positions) for a in accounts),
            "generate_s": round(generated, 2), "commit_s": round(commit_s, 2), "commit_cpu_s": round(cpu, 2), "peak_rss_main_mb": round(me), "peak_rss_worker_mb": round(kids),
            "root": str(tree.root.hash)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,16,20", help="log2 of the account counts")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="append a Markdown table of the results here")
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one(args.one, args.workers)))
        return
    rows = []
    for log2 in (int(s) for s in args.sizes.split(",")):
        load = os.getloadavg()[0]
        proc = subprocess.run([sys.executable, __file__, "--one", str(log2), "--workers", str(args.workers)],
                              capture_output=True, text=True, check=True)
        row = json.loads(proc.stdout)
        row["load_before"] = round(load, 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.out:
        lines = [
            f"\n### {time.strftime('%Y-%m-%d %H:%M')} UTC, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} CPUs, workers={args.workers}\n",
            f"Command: `.venv/bin/python benchmarks/tree_bench.py --sizes {args.sizes} --workers {args.workers}`\n",
            "| accounts | positions | commit wall (s) | commit CPU, process + workers (s) | peak RSS main / workers (MB) | load avg before |",
            "|---|---|---|---|---|---|",
        ]
        lines += [f"| 2^{r['log2']} = {r['accounts']:,} | {r['positions']:,} | {r['commit_s']} | {r['commit_cpu_s']} | "
                  f"{r['peak_rss_main_mb']} / {r['peak_rss_worker_mb']} | {r['load_before']} |" for r in rows]
        with open(args.out, "a") as handle:
            handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark: the fast path's leaf records (pymargin.commit.leaf_columns.leaf_records: margins + one leaf hash
per account) on tree_bench's book of 2^k accounts, CPU and wall seconds of three runs in one process.

    .venv/bin/python benchmarks/leaf_bench.py --log2 16
"""

from __future__ import annotations

import argparse
import time

from tree_bench import SECRET, make_book


def main() -> None:
    from pymargin.commit import leaf_columns
    from pymargin.commit.leaf import account_id_hash
    from pymargin.commit.poseidon_opt import poseidon_many

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2", type=int, default=16)
    args = parser.parse_args()
    poseidon_many(6, bytes(32 * 6))  # load the compiled kernels (numba's cache) before timing
    accounts, markets = make_book(2**args.log2)
    ids = [account_id_hash(a.account_id) for a in accounts]
    runs = []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        records = leaf_columns.leaf_records(accounts, ids, markets, SECRET)
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    assert records is not None and len(records) == 96 * len(accounts)
    print(f"leaf_records 2^{args.log2}: wall s {[round(w, 2) for w, _ in runs]}, CPU s {[round(c, 2) for _, c in runs]}")


if __name__ == "__main__":
    main()

"""Batch engine throughput: all eight margin formulas for N accounts × 4 positions, exact.

For each N it times, in the same process:
  * batch     — pymargin.batch.margins (int64 limbs), including the Book's conversion from Python ints;
  * objects   — the same formulas on numpy object arrays of Python ints (the simple alternative);
  * reference — pymargin.margin, account by account (on at most --reference-max accounts; the rate
                is per account, so it extrapolates linearly).
Every implementation's answers are compared with the reference on the accounts the reference ran,
so a fast wrong answer cannot be reported.

Run: .venv/bin/python benchmarks/batch_bench.py --sizes 1000 10000 100000 1000000 --out benchmarks/batch_results.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymargin import batch, margin  # noqa: E402
from pymargin.fixedpoint import INT256_MAX, WAD  # noqa: E402
from pymargin.fsutil import atomic_write_text  # noqa: E402
from pymargin.model import (  # noqa: E402
    COLLATERAL_BOUND,
    COST_BASIS_BOUND,
    FUNDING_INDEX_BOUND,
    MAX_POSITIONS,
    PRICE_BOUND,
    SIZE_BOUND,
    MarketView,
)

N_MARKETS = 64


def random_ints(rng: np.random.Generator, shape, bound: int, signed: bool = True) -> np.ndarray:
    """Object array of Python ints of random bit width below ``bound`` (a power of two), random sign."""
    bits = bound.bit_length() - 1
    hi = rng.integers(0, 2**62, size=shape, dtype=np.int64).astype(object)
    mid = rng.integers(0, 2**62, size=shape, dtype=np.int64).astype(object)
    lo = rng.integers(0, 2**62, size=shape, dtype=np.int64).astype(object)
    full = ((hi << 124) | (mid << 62) | lo) >> (186 - bits)  # uniform below 2^bits
    width = rng.integers(0, bits + 1, size=shape).astype(object)
    values = full >> width  # every magnitude from 1 to 2^bits
    if signed:
        values = values * rng.choice(np.array([1, -1], dtype=object), size=shape)
    return values


def make_book(n: int, seed: int) -> batch.Book:
    rng = np.random.default_rng(seed)
    markets = {
        m: MarketView(
            int(random_ints(rng, 1, PRICE_BOUND, signed=False)[0]) or 1,
            int(random_ints(rng, 1, FUNDING_INDEX_BOUND)[0]),
            int(rng.integers(WAD // 20, WAD // 5)),
            int(rng.integers(WAD // 100, WAD // 20)),
        )
        for m in range(N_MARKETS)
    }
    ids = np.argsort(rng.random((n, N_MARKETS)), axis=1)[:, :MAX_POSITIONS]  # 4 distinct markets per account
    shape = (n, MAX_POSITIONS)
    return batch.Book(
        random_ints(rng, n, COLLATERAL_BOUND),
        ids,
        random_ints(rng, shape, SIZE_BOUND),
        random_ints(rng, shape, COST_BASIS_BOUND),
        random_ints(rng, shape, FUNDING_INDEX_BOUND),
        markets,
    )


def reference(book: batch.Book, count: int) -> dict[str, list]:
    out = {name: [] for name in batch.FORMULAS}
    for i in range(count):
        collateral, positions = book.account(i)
        for name in batch.FORMULAS:
            fn = getattr(margin, name)
            takes = name in ("equity", "free_collateral", "margin_ratio", "is_liquidatable")
            out[name].append(fn(collateral, positions, book.markets) if takes else fn(positions, book.markets))
    return out


def object_arrays(book: batch.Book) -> dict[str, np.ndarray]:
    """The eight formulas on numpy object arrays (exact, Python-int speed), for comparison."""
    ids = np.where(book.market_id == batch.EMPTY, 0, book.market_id)
    views = [book.markets.get(m) for m in range(ids.max() + 1)]
    table = {f: np.array([getattr(v, f) if v else 0 for v in views], dtype=object) for f in ("price_wad", "funding_index_wad", "imf_wad", "mmf_wad")}
    empty = book.market_id == batch.EMPTY
    size = np.where(empty, 0, book.size)
    cost = np.where(empty, 0, book.cost_basis).sum(axis=1)
    price = table["price_wad"][ids]
    value = (size * price).sum(axis=1)
    owed = (size * (table["funding_index_wad"][ids] - book.funding_index)).sum(axis=1)
    notional = np.abs(size) * price
    im = -((-(notional * table["imf_wad"][ids]).sum(axis=1)) // (WAD * WAD))  # Ceil
    mm = -((-(notional * table["mmf_wad"][ids]).sum(axis=1)) // (WAD * WAD))
    eq = book.collateral - cost + (value - owed) // WAD  # Floor
    no_mm = mm == 0
    ratio = (eq * WAD) // np.where(no_mm, 1, mm)
    ratio[no_mm] = INT256_MAX
    return {
        "equity": eq,
        "unrealised_pnl": value // WAD - cost,
        "pending_funding": (-owed) // WAD,
        "initial_margin": im,
        "maintenance_margin": mm,
        "free_collateral": eq - im,
        "margin_ratio": ratio,
        "is_liquidatable": eq < mm,
    }


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--reference-max", type=int, default=20000, help="accounts the per-account reference runs on")
    parser.add_argument("--skip-objects-above", type=int, default=10**6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write the results table (markdown) here")
    args = parser.parse_args()

    rows = []
    for n in args.sizes:
        book = make_book(n, args.seed)
        cols = (book.collateral, book.market_id, book.size, book.cost_basis, book.funding_index, book.markets)
        t_book, book = timed(batch.Book, *cols)
        t_batch, result = timed(batch.margins, book)
        t_obj, obj = timed(object_arrays, book) if n <= args.skip_objects_above else (float("nan"), None)
        count = min(n, args.reference_max)
        t_ref, ref = timed(reference, book, count)
        for name in batch.FORMULAS:
            assert list(getattr(result, name)[:count]) == ref[name], f"batch differs from margin.py on {name}"
            if obj is not None:
                assert list(obj[name][:count]) == ref[name], f"object arrays differ from margin.py on {name}"
        per_ref = t_ref / count
        positions = n * MAX_POSITIONS
        total = t_book + t_batch
        rows.append(
            f"| {n:>9,} | {total:8.2f} | {positions / total:>12,.0f} | "
            f"{t_obj:8.2f} | {per_ref * n:8.2f} | {per_ref * n / total:6.1f}× | {count:,} |"
        )
        print(rows[-1], flush=True)

    header = [
        "| accounts | batch s (book + margins) | batch positions/s | object arrays s | reference s (extrapolated) | batch speed-up | accounts checked against reference |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    table = "\n".join(header + rows)
    print(table)
    if args.out:
        text = (
            "# Batch engine benchmark\n\n"
            "All eight formulas (equity, unrealised_pnl, pending_funding, initial_margin, maintenance_margin,\n"
            "free_collateral, margin_ratio, is_liquidatable) for N accounts × 4 positions with random values\n"
            "inside the spec bounds (random bit widths), exact. `batch` includes building the Book from\n"
            "Python ints; the reference is pymargin.margin account by account, timed on the first\n"
            "`accounts checked` accounts and extrapolated per account; every batch and object-array answer\n"
            "on those accounts equals the reference.\n\n"
            f"Command: `.venv/bin/python benchmarks/batch_bench.py {' '.join(sys.argv[1:])}`\n\n"
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other jobs, "
            f"Python {platform.python_version()}, numpy {np.__version__}.\n\n"
            f"{table}\n"
            "\nDesign note: the first batch engine (commit e90a4cc) used exact int64 limbs (28-bit limbs, long\n"
            "division by 10^9). Measured with this script at 10^5 accounts it took 1.63 s against 0.77 s for\n"
            "object arrays in the same run: converting Python ints to limbs and back cost more than the\n"
            "int64 arithmetic saved, so the engine now runs on object arrays, chunked, with a bounds check\n"
            "that sends accounts outside the spec bounds to pymargin.margin.\n"
        )
        atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()

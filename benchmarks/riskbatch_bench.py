"""Batch portfolio margin throughput: pymargin.riskbatch.maintenance_margin for N accounts, exact.

A market of 8 underlyings × 8 series (a perp and 7 calls/puts, risk arrays by pymargin.riskarray
from full-precision marks); each account holds 4 positions of random series with full-precision,
mixed-sign sizes. It times building the PortfolioBook plus the margin, and the reference
(pymargin.riskarray.maintenance_margin underlying by underlying, account by account) on at most
--reference-max accounts, extrapolated per account. Every batch answer on those accounts equals
the reference's, so a fast wrong answer cannot be reported.

Run: .venv/bin/python benchmarks/riskbatch_bench.py --sizes 1000 10000 100000 --out benchmarks/riskbatch_results.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymargin import riskarray as ra  # noqa: E402
from pymargin import riskbatch  # noqa: E402
from pymargin.fixedpoint import WAD  # noqa: E402
from pymargin.fsutil import atomic_write_text  # noqa: E402

UNDERLYINGS, SERIES_PER, POSITIONS = 8, 8, 4
SOM_FRACTION = 123_456_789_012_345_679


def make_series(rng: random.Random) -> dict[int, riskbatch.RiskSeries]:
    out = {}
    for u in range(UNDERLYINGS):
        price = rng.randrange(10**19, 10**23) | 1
        vol, price_range, vol_range = rng.randrange(WAD // 20, 2 * WAD) | 1, rng.randrange(WAD // 50, WAD // 2) | 1, rng.randrange(0, WAD // 2) | 1
        for k in range(SERIES_PER):
            kind = ra.InstrumentKind.Perp if k == 0 else rng.choice((ra.InstrumentKind.Call, ra.InstrumentKind.Put))
            strike = 0 if k == 0 else price * (rng.randrange(WAD // 2, 2 * WAD) | 1) // WAD
            tau = 0 if k == 0 else rng.randrange(86_400, 365 * 86_400)
            array = ra.risk_array(kind, strike, tau, price, vol, price_range, vol_range)
            out[len(out)] = riskbatch.RiskSeries(u, tuple(array), ra.short_option_minimum(kind, price, SOM_FRACTION))
    return out


def make_columns(n: int, seed: int):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, UNDERLYINGS * SERIES_PER, size=(n, POSITIONS))
    hi = rng.integers(WAD // 7000, 50 * WAD // 7, size=(n, POSITIONS), dtype=np.int64).astype(object)
    sizes = (hi * 7 + 1) * rng.choice(np.array([1, -1], dtype=object), size=(n, POSITIONS))  # odd, full precision
    return ids, sizes


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--reference-max", type=int, default=5000, help="accounts the per-account reference runs on")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="write the results table (markdown) here")
    args = parser.parse_args()

    series = make_series(random.Random(args.seed))
    rows = []
    for n in args.sizes:
        ids, sizes = make_columns(n, args.seed)
        t_book, book = timed(riskbatch.PortfolioBook, ids, sizes, series)
        t_mm, mm = timed(riskbatch.maintenance_margin, book)
        count = min(n, args.reference_max)
        t_ref, ref = timed(lambda: [riskbatch.maintenance_margin_reference(book, i) for i in range(count)])
        assert mm[:count].tolist() == ref, "batch differs from pymargin.riskarray"
        total = t_book + t_mm
        per_ref = t_ref / count
        rows.append(f"| {n:>9,} | {total:8.2f} | {n / total:>10,.0f} | {per_ref * n:8.2f} | {count / t_ref:>10,.0f} | {per_ref * n / total:6.1f}× | {count:,} |")
        print(rows[-1], flush=True)

    header = [
        "| accounts | batch s (book + margin) | batch accounts/s | reference s (extrapolated) | reference accounts/s | speed-up | accounts checked |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    table = "\n".join(header + rows)
    print(table)
    if args.out:
        text = (
            "# Batch portfolio margin benchmark\n\n"
            f"pymargin.riskbatch.maintenance_margin (spec §4.1–4.2: per underlying the largest of 16 scenario\n"
            f"losses and the short-option minimum, summed) for N accounts × {POSITIONS} positions drawn from\n"
            f"{UNDERLYINGS} underlyings × {SERIES_PER} series (perps, calls, puts; full-precision mixed-sign sizes),\n"
            "exact. `batch` includes building the PortfolioBook; the reference is pymargin.riskarray\n"
            "account by account, timed on the first `accounts checked` accounts and extrapolated; every\n"
            "batch answer on those accounts equals the reference.\n\n"
            f"Command: `.venv/bin/python benchmarks/riskbatch_bench.py {' '.join(sys.argv[1:])}`\n\n"
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other jobs, "
            f"Python {platform.python_version()}, numpy {np.__version__}.\n\n"
            f"{table}\n"
        )
        atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()

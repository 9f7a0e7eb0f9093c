"""Constraints per account of the solvency statement over books with options (docs/spec.md §7.9).

SolvencyBatch(K, M, T, U, R, P) is compiled for K = k and k + 1 (circom --O2, the project's flags) and
the slope (C(k + 1) − C(k)) / 2^k is the constraints per account; the same for the perp-only circuit
SolvencyBatch(K, M, T) (P = 0) beside it, and the fixed part C(k) − 2^k·slope of both. S = 16 scenarios.

    .venv/bin/python benchmarks/solvency_options_constraints.py --markets 4 --underlyings 1 --rows 8 \\
        --slots 4 --out benchmarks/zk_results.json

``--out`` sets the key ``solvency_options_constraints_per_account`` of that JSON file and keeps every other key.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pymargin.fsutil import atomic_write_text
from pymargin.zk import circuits


def _slope(count, k: int) -> dict:
    low, high = count(k), count(k + 1)
    per_account = (high - low) >> k
    return {"constraints": {f"k{k}": low, f"k{k + 1}": high}, "per_account": per_account, "fixed": low - (per_account << k)}


def measure(m: int, t: int, u: int, r: int, p: int, k: int) -> dict:
    """Per-account and fixed constraints of SolvencyBatch with options (U, R, P) and without (P = 0)."""
    options = _slope(lambda kk: circuits.solvency_options(kk, m, t, u, r, p).info["constraints"], k)
    perps = _slope(lambda kk: circuits.solvency(kk, m, t).info["constraints"], k)
    return {"shape": {"markets": m, "t": t, "underlyings": u, "rows_per_underlying": r, "option_slots": p, "scenarios": 16},
            "with_options": options, "perp_only": perps,
            "options_part_per_account": options["per_account"] - perps["per_account"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=4, help="market slots (M)")
    parser.add_argument("--t", type=int, default=1, help="tree levels above a batch (T)")
    parser.add_argument("--underlyings", type=int, default=1, help="underlyings (U)")
    parser.add_argument("--rows", type=int, default=8, help="option-table rows per underlying (R)")
    parser.add_argument("--slots", type=int, default=4, help="option slots per account (P)")
    parser.add_argument("--k", type=int, default=1, help="the slope is measured from K = k to k + 1")
    parser.add_argument("--out", type=Path, help="JSON file whose key solvency_options_constraints_per_account is set")
    args = parser.parse_args(argv)
    result = measure(args.markets, args.t, args.underlyings, args.rows, args.slots, args.k)
    print(json.dumps(result, indent=2))
    if args.out:
        data = json.loads(args.out.read_text()) if args.out.exists() else {}
        data["solvency_options_constraints_per_account"] = {
            "command": "benchmarks/solvency_options_constraints.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "result": result,
        }
        atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

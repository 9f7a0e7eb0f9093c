"""Constraints of portfolio (risk-array) margin in circuits/portfolio.circom, per account and by part.

Each part is compiled alone as the main component (circom --O2, the project's flags) and its r1cs
counted; the whole per-account template PortfolioMargin(U, K, P) is compiled too, and the batch's
per-account slope is PortfolioMarginBatch(2, …) − PortfolioMarginBatch(1, …) (margin plus the
account's two hashes). S = 16 scenarios throughout.

    .venv/bin/python benchmarks/portfolio_constraints.py --series 8 --slots 4 --underlyings 1 2 \
        --out benchmarks/zk_results.json

``--out`` sets the key ``portfolio_constraints_per_account`` of that JSON file and keeps every other key.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pymargin.fsutil import atomic_write_text
from pymargin.zk.circom import compile_circuit
from pymargin.zk.circuits import HEADER

WAD = 10**18


def _count(name: str, main: str) -> int:
    source = HEADER.format(file="portfolio.circom") + f"component main = {main};\n"
    return compile_circuit(f"bench_portfolio_{name}", source).info["constraints"]


def measure(u: int, k: int, p: int) -> dict:
    """Constraints of each part of one account's margin (U underlyings × K series, P slots) and the whole."""
    n = u * k
    n_t = 224 + p.bit_length()
    n_im = n_t + 6 + u.bit_length()
    parts = {
        "size_range_checks": p * _count("size_range", "SignedRangeCheck(94)"),
        "selection": _count(f"net_n{n}_p{p}", f"NetSizes({n}, {p})"),
        "scenario_products": u * _count(f"losses_k{k}", f"ScenarioLosses({k})"),
        "short_option_minimum": u * _count(f"som_k{k}", f"ShortOptionMinimum({k})"),
        "comparisons": u * _count(f"max_{n_t}", f"MaxOf(18, {n_t})"),
        "division": u * _count(f"ceil_{n_t}", f"DivRounded(1, {n_t}, {WAD})"),
        "initial_margin": _count(f"im_{n_im}", f"MulDivRounded(1, {n_im}, {WAD})"),
    }
    parts["selection"] -= parts["size_range_checks"]
    whole = _count(f"margin_u{u}_k{k}_p{p}", f"PortfolioMargin({u}, {k}, {p})")
    batch = [_count(f"batch_b{b}_u{u}_k{k}_p{p}", f"PortfolioMarginBatch({b}, {u}, {k}, {p})") for b in (1, 2)]
    return {
        "shape": {"underlyings": u, "series_per_underlying": k, "slots": p, "scenarios": 16},
        "parts": parts,
        "parts_sum": sum(parts.values()),
        "portfolio_margin": whole,
        "batch_per_account": batch[1] - batch[0],
        "batch_fixed": 2 * batch[0] - batch[1],
        "tables_range_check": _count(f"tables_n{n}", f"RiskTablesRangeCheck({n})"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=8, help="series per underlying (K)")
    parser.add_argument("--slots", type=int, default=4, help="position slots per account (P)")
    parser.add_argument("--underlyings", type=int, nargs="+", default=[1, 2], help="U values to measure")
    parser.add_argument("--out", type=Path, help="JSON file whose key portfolio_constraints_per_account is set")
    args = parser.parse_args(argv)
    results = [measure(u, args.series, args.slots) for u in args.underlyings]
    print(json.dumps(results, indent=2))
    if args.out:
        data = json.loads(args.out.read_text()) if args.out.exists() else {}
        data["portfolio_constraints_per_account"] = {
            "command": "benchmarks/portfolio_constraints.py " + " ".join(argv if argv is not None else sys.argv[1:]),
            "results": results,
        }
        atomic_write_text(args.out, json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

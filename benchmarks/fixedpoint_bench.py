"""Calls per second of the parity harnesses: fast EVM (pyrevm) vs embedded devnet (py-evm) vs Python.

For FixedPointMath.mulDiv, sMulDiv and MarginMath.equity (4 positions), in one process: calls/s on
the fast EVM (ABI encoding and decoding included), on the embedded devnet through web3 eth_call,
and of the Python mirror. Also the fast EVM's memory growth per call with and without renewal.

Run: .venv/bin/python benchmarks/fixedpoint_bench.py --out benchmarks/fixedpoint_results.md
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pymargin import fixedpoint as fp  # noqa: E402
from pymargin import margin  # noqa: E402
from pymargin.chain import devnet  # noqa: E402
from pymargin.chain.compile import compile_contracts  # noqa: E402
from pymargin.chain.contracts import deploy_contract  # noqa: E402
from pymargin.chain.fastevm import FastEVM  # noqa: E402
from pymargin.chain.tx import node_signer  # noqa: E402
from pymargin.fsutil import atomic_write_text  # noqa: E402
from pymargin.model import MarketView, Position  # noqa: E402

WAD = 10**18
POSITIONS = [(m, (m + 1) * WAD, 1000 * WAD * (m + 1), 0) for m in range(4)]
MARKETS = [(3000 * WAD, WAD // 7, WAD // 10, WAD // 20)] * 4
PY_POSITIONS = [Position(*p) for p in POSITIONS]
PY_MARKETS = {m: MarketView(*MARKETS[m]) for m in range(4)}
CASES = {
    "mulDiv": (lambda i: (2**200 + i, 3**100, 7**50, fp.Rounding.Ceil), fp.mul_div),
    "sMulDiv": (lambda i: (-(2**200) - i, 3**100, 7**50, fp.Rounding.Floor), fp.smul_div),
    "equity (4 positions)": (lambda i: (10**21 + i, POSITIONS, MARKETS), None),
}


def rate(fn, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


def rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20000, help="fast EVM and Python calls per function")
    parser.add_argument("--devnet-calls", type=int, default=200)
    parser.add_argument("--memory-calls", type=int, default=200000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    compile_contracts()

    evm = FastEVM()
    fast = {"fp": evm.deploy("FixedPointMathHarness"), "mm": evm.deploy("MarginMathHarness")}
    chain = devnet.embedded()
    signer = node_signer(chain)
    slow = {
        "fp": deploy_contract(chain, "FixedPointMathHarness", sender=signer)[0],
        "mm": deploy_contract(chain, "MarginMathHarness", sender=signer)[0],
    }
    rows = []
    for name, (make_args, py) in CASES.items():
        contract = "mm" if name.startswith("equity") else "fp"
        fn = name.split(" ")[0]
        fast_rate = rate(lambda i: fast[contract].call(fn, *make_args(i)), args.calls)
        devnet_rate = rate(lambda i: slow[contract].call(fn, *make_args(i)), args.devnet_calls)
        if py is None:
            py_rate = rate(lambda i: margin.equity(10**21 + i, PY_POSITIONS, PY_MARKETS), args.calls)
        else:
            py_rate = rate(lambda i: py(*make_args(i)), args.calls)
        rows.append(f"| {name} | {fast_rate:,.0f} | {devnet_rate:,.0f} | {fast_rate / devnet_rate:,.0f}× | {py_rate:,.0f} |")
        print(rows[-1], flush=True)
    chain.close()

    memory = []
    for label, per_evm in (("renewed every 20,000 calls", 20_000), ("never renewed", 10**12)):
        evm = FastEVM(calls_per_evm=per_evm)
        contract = evm.deploy("FixedPointMathHarness")
        before = rss_kb()
        for i in range(args.memory_calls):
            contract.call("mulDiv", 2**200 + i, 3, 5, 0)
        grown = rss_kb() - before  # peak RSS grows only: run the renewed case first
        memory.append(f"| {label} | {args.memory_calls:,} | {grown / 1024:,.1f} MB | {grown * 1024 / args.memory_calls:,.0f} B |")
        print(memory[-1], flush=True)

    text = "\n".join(
        [
            "# Parity harness throughput",
            "",
            "Calls per second, ABI encoding and decoding included, one process (fast EVM = pyrevm 0.3.7,",
            "devnet = embedded eth-tester/py-evm through web3 `eth_call`, Python = the pymargin mirror).",
            "",
            f"Command: `.venv/bin/python benchmarks/fixedpoint_bench.py {' '.join(sys.argv[1:])}`",
            "",
            f"Machine: {platform.machine()}, 2 cores shared with other jobs, Python {platform.python_version()}.",
            "",
            "| function | fast EVM calls/s | devnet calls/s | fast / devnet | Python calls/s |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            "Fast EVM memory (peak RSS growth of the process):",
            "",
            "| EVM | calls | growth | per call |",
            "|---|---:|---:|---:|",
            *memory,
            "",
        ]
    )
    print(text)
    if args.out:
        atomic_write_text(args.out, text)


if __name__ == "__main__":
    main()

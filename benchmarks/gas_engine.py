"""Gas of every MarginEngine operation, as a markdown table (benchmarks/gas_engine.md).

Each figure is the ``gasUsed`` of one transaction receipt on a fresh deployment of the three
default markets (pymargin.chain.engine_devnet.default_markets), compared with an ERC-20
``transfer`` of the collateral token measured in the same run. Every measured transaction runs in
a new second (so funding accrues in it, as it would on a live chain); then gas is identical on the
embedded devnet and anvil (both run cancun) and the chain only changes the wall time.

    .venv/bin/python benchmarks/gas_engine.py            # embedded devnet
    .venv/bin/python benchmarks/gas_engine.py --anvil    # anvil
    git show <rev>:benchmarks/gas_engine.md > /tmp/before.md
    .venv/bin/python benchmarks/gas_engine.py --before /tmp/before.md --before-label <rev>   # with a "before" column
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from pymargin.chain import devnet, tx
from pymargin.chain.compile import SOLC_VERSION, compile_contracts
from pymargin.chain.engine_devnet import TX_GAS, default_markets, deploy_engine, min_next_timestamp, set_next_timestamp
from pymargin.fixedpoint import WAD
from pymargin.fsutil import atomic_write_text

USD = 10**6
RESULTS = Path(__file__).with_suffix(".md")


def measure(chain) -> list[tuple[str, str, int]]:
    """Run the scenario; return (operation, what the case exercises, gas used)."""
    s = [tx.node_signer(chain, i) for i in range(7)]
    owner, op, keeper, u1, u2, u3, u4 = s
    dep = deploy_engine(chain, owner, default_markets(), keepers=(keeper.address,), operators=(op.address,))
    engine, token = dep.engine, dep.token
    rows: list[tuple[str, str, int]] = []

    def run(name: str, case: str, contract, fn: str, *args, sender) -> None:
        set_next_timestamp(chain, min_next_timestamp(chain) + 1)  # a new second: same work on both chains
        receipt = contract.transact(fn, *args, sender=sender, gas=TX_GAS)
        rows.append((name, case, receipt.gasUsed))

    def later(seconds: int) -> None:
        _, t = set_next_timestamp(chain, min_next_timestamp(chain) + seconds)
        for oracle in dep.oracles[:2]:  # keep the devnet prices fresh
            price, _ = oracle.call("latestPrice")
            oracle.transact("setPrice", price, t, sender=owner, gas=TX_GAS)
        if 2 in dep.aggregators:
            _, answer, _, _, _ = dep.aggregators[2].call("latestRoundData")
            dep.aggregators[2].transact("setRound", answer, t, sender=owner, gas=TX_GAS)

    for user in (u1, u2, u3, u4):
        token.transact("mint", user.address, 10**9 * USD, sender=user, gas=TX_GAS)
        token.transact("approve", engine.address, 2**256 - 1, sender=user, gas=TX_GAS)
    run("ERC-20 transfer (baseline)", "collateral token, to a fresh holder", token, "transfer", owner.address, USD, sender=u4)
    run("deposit", "new account", engine, "deposit", 0, 100_000 * USD, sender=u1)
    run("deposit", "existing account", engine, "deposit", 0, 1_000 * USD, sender=u1)
    for user in (u2, u3):
        engine.transact("deposit", 0, 100_000 * USD, sender=user, gas=TX_GAS)
    engine.transact("deposit", 1, 10_000 * USD, sender=u3, gas=TX_GAS)
    a, b, c = u1.address, u2.address, u3.address
    run("trade", "open (both sides new positions)", engine, "trade", 0, a, 0, b, 0, 5 * WAD, 2000 * WAD, sender=op)
    run("trade", "increase (both sides)", engine, "trade", 0, a, 0, b, 0, 2 * WAD, 2001 * WAD, sender=op)
    run("trade", "reduce (both sides)", engine, "trade", 0, a, 0, b, 0, -3 * WAD, 2002 * WAD, sender=op)
    run("trade", "flip (both sides)", engine, "trade", 0, a, 0, b, 0, -8 * WAD, 1999 * WAD, sender=op)
    run("trade", "close (both sides)", engine, "trade", 0, a, 0, b, 0, 4 * WAD, 2000 * WAD, sender=op)
    engine.transact("trade", 1, a, 0, b, 0, WAD // 10, 30000 * WAD, sender=op, gas=TX_GAS)
    engine.transact("trade", 2, a, 0, b, 0, 10 * WAD, 100 * WAD, sender=op, gas=TX_GAS)
    run("trade", "open a 3rd market (margin check over 3)", engine, "trade", 0, a, 0, b, 0, WAD, 2000 * WAD, sender=op)
    run("setFundingRate", "keeper, accrues first", engine, "setFundingRate", 0, 10**11, sender=keeper)
    later(600)
    run("accrueFunding", "600 s elapsed", engine, "accrueFunding", 0, sender=u4)
    run("accrueFunding", "1 s after the last accrual", engine, "accrueFunding", 0, sender=u4)
    later(600)
    run("trade", "increase 600 s later: funding settled, margin checks accrue 3 markets", engine, "trade", 0, a, 0, b, 0, WAD, 2000 * WAD, sender=op)
    run("withdraw", "no positions", engine, "withdraw", 0, 1_000 * USD, sender=u3)
    run("withdraw", "3 positions (accrues, margin check)", engine, "withdraw", 0, 1_000 * USD, sender=u1)
    run("transferCollateral", "cross → new isolated sub-account", engine, "transferCollateral", 0, 2, 1_000 * WAD, sender=u1)
    run("depositInsurance", "", engine, "depositInsurance", 100 * USD, sender=u4)
    engine.transact("trade", 0, c, 1, b, 0, 49 * WAD, 2000 * WAD, sender=op, gas=TX_GAS)  # isolated, near IM
    for price in (1880, 1700):
        set_next_timestamp(chain, min_next_timestamp(chain) + 1)
        dep.oracles[0].transact("setPrice", price * WAD, min_next_timestamp(chain), sender=owner, gas=TX_GAS)
        size = 25 * WAD if price == 1880 else 24 * WAD
        case = "partial, liquidator has a position" if price == 1880 else "rest, shortfall to insurance and bad debt"
        run("liquidate", case, engine, "liquidate", 0, c, 1, 0, size, sender=u1)
    fees = engine.call("accruedFees") // 10**12
    run("withdrawFees", "owner", engine, "withdrawFees", owner.address, fees, sender=owner)
    run("pause", "owner", engine, "pause", sender=owner)
    run("unpause", "owner", engine, "unpause", sender=owner)
    assert engine.call("badDebt") > 0, "the bad-debt case did not leave bad debt"
    return rows


def read_table(path: Path) -> dict[tuple[str, str], int]:
    """{(operation, case): gas} from a table this script wrote (its first three columns)."""
    out = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[2].replace(",", "").isdigit():
            out[(cells[0], cells[1])] = int(cells[2].replace(",", ""))
    return out


def table(rows: list[tuple[str, str, int]], before: dict[tuple[str, str], int] | None = None, label: str = "") -> str:
    baseline = rows[0][2]
    if before is None:
        lines = ["| operation | case | gas | × ERC-20 transfer |", "|---|---|---:|---:|"]
        lines += [f"| {name} | {case} | {gas:,} | {gas / baseline:.2f} |" for name, case, gas in rows]
        return "\n".join(lines)
    lines = [f"| operation | case | gas | × ERC-20 transfer | before ({label}) | change |", "|---|---|---:|---:|---:|---:|"]
    for name, case, gas in rows:
        old = before.get((name, case))
        then = "—" if old is None else f"{old:,}"
        change = "—" if old is None else f"{gas - old:+,}"
        lines.append(f"| {name} | {case} | {gas:,} | {gas / baseline:.2f} | {then} | {change} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="measure on anvil instead of the embedded devnet")
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not rewrite {RESULTS.name}")
    parser.add_argument("--before", type=Path, help="an earlier table of this script: add its gas as a 'before' column")
    parser.add_argument("--before-label", default="earlier", help="what the 'before' column was measured on")
    args = parser.parse_args()
    before = read_table(args.before) if args.before else None
    compile_contracts()
    started = time.perf_counter()
    with (devnet.start_anvil() if args.anvil else devnet.embedded()) as chain:
        rows = measure(chain)
    elapsed = time.perf_counter() - started
    command = "benchmarks/gas_engine.py" + (" --anvil" if args.anvil else "")
    if args.before:
        command += f" --before <the table at {args.before_label}> --before-label {args.before_label}"
    text = (
        f"# MarginEngine gas per operation\n\n"
        f"Command: `.venv/bin/python {command}` ({'anvil' if args.anvil else 'embedded devnet'}, "
        f"{elapsed:.1f} s wall). solc {SOLC_VERSION}, optimizer 200 runs, viaIR, evm cancun; "
        f"Python {platform.python_version()}. Gas is the receipt's `gasUsed` (21,000 intrinsic included); "
        f"every measured transaction runs in a new second, so touched markets accrue funding; the figures are "
        f"identical on the embedded devnet and anvil.\n\n{table(rows, before, args.before_label)}\n"
    )
    print(text)
    if not args.no_write:
        atomic_write_text(RESULTS, text)


if __name__ == "__main__":
    main()

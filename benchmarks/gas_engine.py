"""Gas of every MarginEngine operation, as a markdown table (benchmarks/gas_engine.md).

Each figure is the ``gasUsed`` of one transaction receipt on a fresh deployment of the three
default markets (pymargin.chain.engine_devnet.default_markets), compared with an ERC-20
``transfer`` of the collateral token measured in the same run. Every measured transaction runs in
a new second (so funding accrues in it, as it would on a live chain); then gas is identical on the
embedded devnet and anvil (both run cancun) and the chain only changes the wall time.

    .venv/bin/python benchmarks/gas_engine.py            # embedded devnet
    .venv/bin/python benchmarks/gas_engine.py --anvil    # anvil
    .venv/bin/python benchmarks/gas_engine.py --before OLD.md   # add OLD.md's gas as a "before" column

Every fill is a ``trade`` of two EIP-712 orders signed by their owners with the devnet accounts'
keys (fresh orders of exactly the fill's size unless the case says otherwise).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from pymargin.chain import devnet, tx
from pymargin.chain.compile import SOLC_VERSION, compile_contracts
from pymargin.chain.engine_devnet import (
    TX_GAS, default_markets, deploy_engine, min_next_timestamp, order_signer, set_next_timestamp,
)
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
    orders = order_signer(dep)
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
    run("trade", "open (both sides new positions)", engine, "trade", *orders.fill(0, a, 0, b, 0, 5 * WAD, 2000 * WAD), sender=op)
    run("trade", "increase (both sides)", engine, "trade", *orders.fill(0, a, 0, b, 0, 2 * WAD, 2001 * WAD), sender=op)
    run("trade", "reduce (both sides)", engine, "trade", *orders.fill(0, a, 0, b, 0, -3 * WAD, 2002 * WAD), sender=op)
    run("trade", "flip (both sides)", engine, "trade", *orders.fill(0, a, 0, b, 0, -8 * WAD, 1999 * WAD), sender=op)
    run("trade", "close (both sides)", engine, "trade", *orders.fill(0, a, 0, b, 0, 4 * WAD, 2000 * WAD), sender=op)
    engine.transact("trade", *orders.fill(1, a, 0, b, 0, WAD // 10, 30000 * WAD), sender=op, gas=TX_GAS)
    engine.transact("trade", *orders.fill(2, a, 0, b, 0, 10 * WAD, 100 * WAD), sender=op, gas=TX_GAS)
    run("trade", "open a 3rd market (margin check over 3)", engine, "trade", *orders.fill(0, a, 0, b, 0, WAD, 2000 * WAD), sender=op)
    taker, maker = orders.order(a, 0, 0, 3 * WAD, 2000 * WAD), orders.order(b, 0, 0, -3 * WAD, 2000 * WAD)
    signed = (taker, orders.sign(taker), maker, orders.sign(maker))
    run("trade", "partial fill of two new orders (increase)", engine, "trade", *signed, WAD, 2000 * WAD, sender=op)
    run("trade", "next partial fill of the same orders (increase)", engine, "trade", *signed, WAD, 2000 * WAD, sender=op)
    run("cancelOrder", "owner", engine, "cancelOrder", taker, sender=u1)
    run("setFundingRate", "keeper, accrues first", engine, "setFundingRate", 0, 10**11, sender=keeper)
    later(600)
    run("accrueFunding", "600 s elapsed", engine, "accrueFunding", 0, sender=u4)
    run("accrueFunding", "1 s after the last accrual", engine, "accrueFunding", 0, sender=u4)
    later(600)
    run("trade", "increase 600 s later: funding settled, margin checks accrue 3 markets", engine, "trade", *orders.fill(0, a, 0, b, 0, WAD, 2000 * WAD), sender=op)
    run("withdraw", "no positions", engine, "withdraw", 0, 1_000 * USD, sender=u3)
    run("withdraw", "3 positions (accrues, margin check)", engine, "withdraw", 0, 1_000 * USD, sender=u1)
    run("transferCollateral", "cross → new isolated sub-account", engine, "transferCollateral", 0, 2, 1_000 * WAD, sender=u1)
    run("depositInsurance", "", engine, "depositInsurance", 100 * USD, sender=u4)
    engine.transact("trade", *orders.fill(0, c, 1, b, 0, 49 * WAD, 2000 * WAD), sender=op, gas=TX_GAS)  # isolated, near IM
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
    run("cancelOrdersBelow", "owner, first raise", engine, "cancelOrdersBelow", 10**6, sender=u2)
    assert engine.call("badDebt") > 0, "the bad-debt case did not leave bad debt"
    return rows


def table(rows: list[tuple[str, str, int]], before: dict[tuple[str, str], int] | None = None) -> str:
    """The markdown table; with ``before`` ((operation, case) → gas), a before column and the change."""
    baseline = rows[0][2]
    if before is None:
        lines = ["| operation | case | gas | × ERC-20 transfer |", "|---|---|---:|---:|"]
        lines += [f"| {name} | {case} | {gas:,} | {gas / baseline:.2f} |" for name, case, gas in rows]
        return "\n".join(lines)
    lines = ["| operation | case | gas before | gas | change | × ERC-20 transfer |", "|---|---|---:|---:|---:|---:|"]
    for name, case, gas in rows:
        old = before.get((name, case))
        was, change = (f"{old:,}", f"{gas - old:+,}") if old is not None else ("–", "new")
        lines.append(f"| {name} | {case} | {was} | {gas:,} | {change} | {gas / baseline:.2f} |")
    return "\n".join(lines)


def read_table(path: Path) -> dict[tuple[str, str], int]:
    """(operation, case) → gas from a table written by this script (its "gas" column)."""
    rows = [line.strip("|").split("|") for line in path.read_text().splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in rows[0]]
    column = header.index("gas")
    return {(r[0].strip(), r[1].strip()): int(r[column].strip().replace(",", "")) for r in rows[1:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="measure on anvil instead of the embedded devnet")
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not rewrite {RESULTS.name}")
    parser.add_argument("--before", type=Path, help="a table written by this script on another version: shown as 'gas before'")
    parser.add_argument("--before-label", default="", help="what the --before table measured (printed with it)")
    args = parser.parse_args()
    before = read_table(args.before) if args.before else None
    compile_contracts()
    started = time.perf_counter()
    with (devnet.start_anvil() if args.anvil else devnet.embedded()) as chain:
        rows = measure(chain)
    elapsed = time.perf_counter() - started
    command = "benchmarks/gas_engine.py" + (" --anvil" if args.anvil else "")
    text = (
        f"# MarginEngine gas per operation\n\n"
        f"Command: `.venv/bin/python {command}` ({'anvil' if args.anvil else 'embedded devnet'}, "
        f"{elapsed:.1f} s wall). solc {SOLC_VERSION}, optimizer 200 runs, viaIR, evm cancun; "
        f"Python {platform.python_version()}. Gas is the receipt's `gasUsed` (21,000 intrinsic included); "
        f"every measured transaction runs in a new second, so touched markets accrue funding; the figures are "
        f"identical on the embedded devnet and anvil."
        + (f" 'gas before': {args.before_label or args.before}." if before else "")
        + f"\n\n{table(rows, before)}\n"
    )
    print(text)
    if not args.no_write:
        atomic_write_text(RESULTS, text)


if __name__ == "__main__":
    main()

"""Gas of every MarginEngine operation, as a markdown table (benchmarks/gas_engine.md).

Each figure is the ``gasUsed`` of one transaction receipt on a fresh deployment of the three
default markets (pymargin.chain.engine_devnet.default_markets), compared with an ERC-20
``transfer`` of the collateral token measured in the same run. Every measured transaction runs in
a new second (so funding accrues in it, as it would on a live chain); then gas is identical on the
embedded devnet and anvil (both run cancun) and the chain only changes the wall time.

    .venv/bin/python benchmarks/gas_engine.py            # embedded devnet
    .venv/bin/python benchmarks/gas_engine.py --anvil    # anvil
    .venv/bin/python benchmarks/gas_engine.py --before db3581f   # add the gas recorded at a git commit

``--before REV`` reads the table of ``benchmarks/gas_engine.md`` at git revision REV (``git show``)
and adds its gas and the difference as columns, matched by (operation, case).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
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
    fees = engine.call("ownerFeesWad") // 10**12  # before the bad debt below, which fees must cover first
    run("withdrawFees", "owner", engine, "withdrawFees", owner.address, fees, sender=owner)
    engine.transact("trade", 0, c, 1, b, 0, 49 * WAD, 2000 * WAD, sender=op, gas=TX_GAS)  # isolated, near IM
    for price in (1880, 1700):
        set_next_timestamp(chain, min_next_timestamp(chain) + 1)
        dep.oracles[0].transact("setPrice", price * WAD, min_next_timestamp(chain), sender=owner, gas=TX_GAS)
        size = 25 * WAD if price == 1880 else 24 * WAD
        case = "partial, liquidator has a position" if price == 1880 else "rest, shortfall to insurance and bad debt"
        run("liquidate", case, engine, "liquidate", 0, c, 1, 0, size, sender=u1)
    run("checkpoint", "keeper, 3 markets (accrues each, stores the digest, emits the data)", engine, "checkpoint",
        sender=keeper)
    run("pause", "owner", engine, "pause", sender=owner)
    run("unpause", "owner", engine, "unpause", sender=owner)
    assert engine.call("badDebt") > 0, "the bad-debt case did not leave bad debt"
    return rows


def table(rows: list[tuple[str, str, int]], before: dict[tuple[str, str], int] | None = None,
          rev: str = "") -> str:
    """The markdown table; with ``before`` two more columns: the gas at ``rev`` and the difference."""
    baseline = rows[0][2]
    head = "| operation | case | gas | × ERC-20 transfer |"
    rule = "|---|---|---:|---:|"
    if before is not None:
        head += f" gas at {rev} | added |"
        rule += "---:|---:|"
    lines = [head, rule]
    for name, case, gas in rows:
        line = f"| {name} | {case} | {gas:,} | {gas / baseline:.2f} |"
        if before is not None:
            old = before.get((name, case))
            line += f" {old:,} | {gas - old:+,} |" if old is not None else " — | new |"
        lines.append(line)
    return "\n".join(lines)


def recorded_gas(rev: str) -> dict[tuple[str, str], int]:
    """{(operation, case): gas} from benchmarks/gas_engine.md as recorded at git revision ``rev``."""
    text = subprocess.run(["git", "show", f"{rev}:benchmarks/gas_engine.md"], check=True, capture_output=True,
                          text=True, cwd=Path(__file__).parent).stdout
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[2].replace(",", "").isdigit():
            out[(cells[0], cells[1])] = int(cells[2].replace(",", ""))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="measure on anvil instead of the embedded devnet")
    parser.add_argument("--no-write", action="store_true", help=f"print only; do not rewrite {RESULTS.name}")
    parser.add_argument("--before", metavar="REV", default=None, help="add the gas recorded at git revision REV")
    args = parser.parse_args()
    before = recorded_gas(args.before) if args.before else None
    compile_contracts()
    started = time.perf_counter()
    with (devnet.start_anvil() if args.anvil else devnet.embedded()) as chain:
        rows = measure(chain)
    elapsed = time.perf_counter() - started
    command = "benchmarks/gas_engine.py" + (" --anvil" if args.anvil else "") + (f" --before {args.before}" if args.before else "")
    text = (
        f"# MarginEngine gas per operation\n\n"
        f"Command: `.venv/bin/python {command}` ({'anvil' if args.anvil else 'embedded devnet'}, "
        f"{elapsed:.1f} s wall). solc {SOLC_VERSION}, optimizer 200 runs, viaIR, evm cancun; "
        f"Python {platform.python_version()}. Gas is the receipt's `gasUsed` (21,000 intrinsic included); "
        f"every measured transaction runs in a new second, so touched markets accrue funding; the figures are "
        f"identical on the embedded devnet and anvil."
        + (f" `gas at {args.before}` is the figure recorded at that commit, `added` the difference "
           f"(what the running aggregates and checkpoint bookkeeping of spec §5.11 cost)." if before else "")
        + f"\n\n{table(rows, before, args.before or '')}\n"
    )
    print(text)
    if not args.no_write:
        atomic_write_text(RESULTS, text)


if __name__ == "__main__":
    main()

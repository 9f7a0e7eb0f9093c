"""Gas of the option math and the risk arrays, as a markdown table (benchmarks/options_gas.md).

Each figure is the ``gasUsed`` of one transaction receipt (21,000 intrinsic and calldata included)
on the embedded devnet, calling the test harnesses (``OptionMathHarness``, ``RiskArraysHarness``):
the functions are ``internal`` library code, so a caller pays the same minus the intrinsic cost
and the ABI copying. ``markUpdate`` models a mark update: one risk array recomputed and stored.

    .venv/bin/python benchmarks/options_gas.py               # every table
    .venv/bin/python benchmarks/options_gas.py --checkpoint  # only OptionsEngine.checkpoint()'s, kept in place
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

from pymargin import riskarray as ra
from pymargin.black76 import OptionKind
from pymargin.chain import devnet, tx
from pymargin.chain.compile import SOLC_VERSION, compile_contracts
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.engine_devnet import set_next_timestamp
from pymargin.fixedpoint import WAD
from pymargin.fsutil import atomic_write_text

RESULTS = Path(__file__).with_suffix(".md")
GAS = 30_000_000
PRICE = 3_141_592_653_589_793_238_462
VOL = 628_318_530_717_958_647
STRIKE = 3_456_789_012_345_678_901_234
TAU = 30 * 86_400
RANGE, VOL_RANGE = 159_154_943_091_895_335, WAD // 4


def measure(chain) -> list[tuple[str, str, int]]:
    sender = tx.node_signer(chain)
    om, _ = deploy_contract(chain, "OptionMathHarness", sender=sender)
    rh, _ = deploy_contract(chain, "RiskArraysHarness", sender=sender)
    rows = []

    def run(contract, fn, case, *args):
        rows.append((fn, case, contract.transact(fn, *args, sender=sender, gas=GAS).gasUsed))

    run(om, "expWad", "x = −1.234… (a discount)", -1_234_567_890_123_456_789)
    run(om, "lnWad", "x = 3,141.59…", PRICE)
    run(om, "sqrtWad", "x = 0.0821… (30 days in years), Floor", 82_191_780_821_917_808, 0)
    run(om, "normCdfWad", "x = 0.5772… (series)", 577_215_664_901_532_860)
    run(om, "normCdfWad", "x = −4.6692… (continued fraction)", -4_669_201_609_102_990_671)
    run(om, "black76Price", "call, 30 days, 62.8 % vol, rate 0", OptionKind.Call, PRICE, STRIKE, VOL, TAU, 0)
    run(om, "black76Price", "put, 30 days, 62.8 % vol, rate 5 %", OptionKind.Put, PRICE, STRIKE, VOL, TAU, 5 * 10**16)
    args = (PRICE, VOL, RANGE, VOL_RANGE)
    run(rh, "markUpdate", "perp: 16 scenarios, first store", 1, ra.InstrumentKind.Perp, 0, 0, *args)
    run(rh, "markUpdate", "call: 17 Black-76 prices, first store", 2, ra.InstrumentKind.Call, STRIKE, TAU, *args)
    run(rh, "markUpdate", "call: 17 Black-76 prices, update (new price)", 2, ra.InstrumentKind.Call, STRIKE, TAU, PRICE + 10**18, VOL, RANGE, VOL_RANGE)
    perp = ra.risk_array(ra.InstrumentKind.Perp, 0, 0, *args)
    call = ra.risk_array(ra.InstrumentKind.Call, STRIKE, TAU, *args)
    som = ra.short_option_minimum(ra.InstrumentKind.Call, PRICE, WAD // 100)
    size = 2_718_281_828_459_045_235
    run(rh, "maintenanceMargin", "2 positions (perp + short call)", [size, -size], [perp, call], [0, som])
    n = 10
    run(rh, "maintenanceMargin", f"{n} positions", [size * (-1) ** i for i in range(n)], [perp, call] * (n // 2), [0, som] * (n // 2))
    rows += measure_book(chain, sender)
    return rows


def measure_book(chain, owner) -> list[tuple[str, str, int]]:
    """The RiskArrayBook: a keeper's mark update reads the oracle, recomputes and stores the array."""
    keeper = tx.node_signer(chain, 1)
    book, _ = deploy_contract(chain, "RiskArrayBook", owner.address, 5 * WAD // 4, sender=owner, gas=GAS)
    oracle, _ = deploy_contract(chain, "DevOracle", owner.address, PRICE, sender=owner, gas=GAS)
    book.transact("setKeeper", keeper.address, True, sender=owner, gas=GAS)
    book.transact("addUnderlying", oracle.address, RANGE, VOL_RANGE, WAD // 100, 3600, WAD // 10, 3 * WAD, sender=owner, gas=GAS)
    expiry = chain.w3.eth.get_block("latest")["timestamp"] + 30 * 86_400
    book.transact("addSeries", 0, ra.InstrumentKind.Perp, 0, 0, sender=owner, gas=GAS)
    book.transact("addSeries", 0, ra.InstrumentKind.Call, STRIKE, expiry, sender=owner, gas=GAS)
    book.transact("addSeries", 0, ra.InstrumentKind.Put, STRIKE, expiry, sender=owner, gas=GAS)
    rows = []

    def run(fn, case, *args, sender):
        rows.append((f"RiskArrayBook.{fn}", case, book.transact(fn, *args, sender=sender, gas=GAS).gasUsed))

    run("updateMark", "perp, first mark", 0, VOL, sender=keeper)
    run("updateMark", "30-day call, first mark", 1, VOL, sender=keeper)
    oracle.transact("setPrice", PRICE + 10**18, chain.w3.eth.get_block("latest")["timestamp"] + 1, sender=owner, gas=GAS)
    run("updateMark", "30-day call, next mark (new price)", 1, VOL + 10**15, sender=keeper)
    size = 2_718_281_828_459_045_235
    run("maintenanceMargin", "perp + short call (as a transaction)", [0, 1], [size, -size], sender=owner)
    set_next_timestamp(chain, expiry + 60)
    oracle.transact("setPrice", PRICE + 10**18, expiry + 60, sender=owner, gas=GAS)
    run("settle", "call, first of its expiry (reads the oracle, fixes the price)", 1, sender=owner)
    run("settle", "put, same expiry (the fixed price)", 2, sender=owner)
    return rows


def measure_engine(chain) -> list[tuple[str, str, int]]:
    """Options in the engine (spec §5.13), through the lockstep driver of tests/options_support.py: every
    measured transaction was first run on the Python mirrors with the same outcome and events."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from options_support import PERP_PRICE, Kind, System

    s = System(chain)
    s.setup_market([("call", Kind.Call, 2_901_234_567_890_123_456_789, 7 * 86_400 + 1234),
                    ("put", Kind.Put, 2_503_141_592_653_589_793_238, 7 * 86_400 + 1234)])
    a, b, c = s.users
    for user in s.users:
        s.d.op("deposit", user, 0, 20_000 * 10**6)
    rows = []

    def row(fn, case, outcome):
        assert outcome.ok, outcome.error
        rows.append((fn, case, outcome.gas_used))

    size = 2_718_281_828_459_045_235
    row("MarginEngine.trade", "perp fill, neither side holds options (one portfolioMargin call each, empty)",
        s.d.fill(s.operator, 0, a.address, 0, c.address, 0, size, PERP_PRICE + 1_234_567_890_123))
    call, put = s.series["call"], s.series["put"]
    row("OptionsEngine.trade", "short call against a long perp (seller) / new buyer: PM before and after, both sides",
        s.option_fill(call, b, a, size, s.mark_value(call)))
    row("OptionsEngine.trade", "second series (put), both sides already hold the call",
        s.option_fill(put, a, b, size // 3, s.mark_value(put)))
    row("MarginEngine.trade", "perp fill, taker holds 2 options (portfolio margin in the health checks)",
        s.d.fill(s.operator, 0, a.address, 0, c.address, 0, -size // 7, PERP_PRICE))
    row("MarginEngine.withdraw", "cross account with perp + 2 options (PM initial-margin check)",
        s.d.op("withdraw", a, 0, 1_000 * 10**6))
    expiry = s.py_book.series[call].expiry
    s.d.clock = expiry
    s.d.set_price(0, 3_001_234_567_890_123_456_789)
    s.mark_all()
    s.op("book", "settle", s.stranger, call)
    s.op("book", "settle", s.stranger, put)
    row("OptionsEngine.settle", "long call in the money (payout, dust kept)", s.op("options", "settle", s.stranger, b.address, call))
    row("OptionsEngine.settle", "short call (pays the Ceil)", s.op("options", "settle", s.stranger, a.address, call))
    return rows


CHECKPOINT_HEADING = "## `OptionsEngine.checkpoint()` by the book's size"


def measure_checkpoint(chain) -> list[tuple[int, int]]:
    """(option series in the book, gasUsed of OptionsEngine.checkpoint()) for 0, 4 and 16 marked options
    besides the perp, through the lockstep driver (the mirror's data and hash equal the contract's)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from options_support import Kind, System, ok

    s = System(chain)
    s.setup_market([])
    rows = []
    now = s.d.clock
    for target in (0, 4, 16):
        while len(s.py_book.series) - 1 < target:
            i = len(s.py_book.series)
            kind = Kind.Call if i % 2 else Kind.Put
            ok(s.op("book", "addSeries", s.owner, 0, kind, 2_718_281_828_459_045_235_360 + i * 97_531_086_420_135_792_468,
                    now + 30 * 86_400 + i * 3_607))
            ok(s.op("book", "updateMark", s.keeper, i, 612_345_678_901_234_567 + i * 10**15))
        rows.append((target, ok(s.op("options", "checkpoint", s.keeper)).gas_used))
    return rows


def checkpoint_section(rows: list[tuple[int, int]], wall: float) -> list[str]:
    return [
        CHECKPOINT_HEADING,
        "",
        f"Command: `.venv/bin/python benchmarks/options_gas.py --checkpoint` (embedded devnet, {wall:.1f} s wall). "
        "One engine market and its perp series, plus n option series (calls and puts, 30 days out, marked); "
        "each row is the receipt's `gasUsed` of `OptionsEngine.checkpoint()` (spec §5.13 Checkpoint): the "
        "engine's `checkpoint()` in the same transaction, then per series the book's `series(id)` (26 words), "
        "the two aggregates, the underlying's som fraction and a Black-76 mark value per option, the keccak of "
        "the encoded data, 3 stored words and the event. The cost does not depend on the number of positions.",
        "",
        "| option series (+ 1 perp) | gas |",
        "|---:|---:|",
        *[f"| {n} | {gas:,} |" for n, gas in rows],
    ]


def measure_liquidation(chain) -> list[tuple[str, str, int]]:
    """Option liquidation (spec §5.13 Liquidation) on a fresh deployment through the lockstep driver: two
    accounts write calls to a third and withdraw down to initial margin, the price rises until both are
    below maintenance, the buyer takes over part of one position and the whole of the other."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from options_support import PERP_PRICE, Kind, System

    s = System(chain)
    s.setup_market([("call", Kind.Call, 2_901_234_567_890_123_456_789, 7 * 86_400 + 1234)])
    a, b, c = s.users
    for user in s.users:
        s.d.op("deposit", user, 0, 20_000 * 10**6)
    call, size = s.series["call"], 31_415_926_535_897_932_384
    for writer in (a, c):
        assert s.option_fill(call, b, writer, size, s.mark_value(call)).ok
        eq, im, _ = s.d.py.margins(writer.address, 0)
        assert s.d.op("withdraw", writer, 0, (eq - im) // 10**12 - 1).ok
    price = PERP_PRICE
    while not (s.d.py.is_liquidatable(a.address, 0) and s.d.py.is_liquidatable(c.address, 0)):
        price = price * 1_031_234_567_890_123_457 // WAD
        s.d.set_price(0, price)
        s.mark_all()
    rows = []
    cases = ((a, -size * 3 // 5, "60 % of a short call, options-only account (PM before, after the transfer, "
                                  "after the penalty; liquidator IM)"),
             (c, -size, "a whole short-call position, options-only account"))
    for writer, part, case in cases:
        outcome = s.op("options", "liquidate", b, writer.address, call, part)
        assert outcome.ok, outcome.error
        rows.append(("OptionsEngine.liquidate", case, outcome.gas_used))
    return rows


def main(argv: list[str]) -> None:

    compile_contracts()
    chain = devnet.embedded()
    start = time.perf_counter()
    if argv == ["--checkpoint"]:
        section = checkpoint_section(measure_checkpoint(chain), time.perf_counter() - start)
        head = RESULTS.read_text().split("\n" + CHECKPOINT_HEADING)[0].rstrip("\n")
        atomic_write_text(RESULTS, head + "\n\n" + "\n".join(section) + "\n")
        print("\n".join(section))
        return
    rows = measure(chain)
    rows += measure_engine(chain)
    rows += measure_liquidation(chain)
    wall = time.perf_counter() - start
    start = time.perf_counter()
    section = checkpoint_section(measure_checkpoint(devnet.embedded()), time.perf_counter() - start)
    lines = [
        "# Option math and risk arrays: gas",
        "",
        f"Command: `.venv/bin/python benchmarks/options_gas.py` (embedded devnet, {wall:.1f} s wall). "
        f"solc {SOLC_VERSION}, evm cancun; Python {platform.python_version()}. Gas is the receipt's `gasUsed` "
        "(21,000 intrinsic and calldata included) of a transaction to the test harness; the library "
        "functions are `internal`, so an engine calling them pays the same minus the intrinsic cost and "
        "the ABI copying. Inputs: spec §4.1's worked example (docs/risk.md). The `MarginEngine.*` and "
        "`OptionsEngine.*` rows (spec §5.13) run through the lockstep driver of tests/options_support.py: the "
        "Python mirrors ran each first with the same outcome and events (their accounting equal to the wei).",
        "",
        "| function | case | gas |",
        "|---|---|---:|",
    ]
    lines += [f"| `{fn}` | {case} | {gas:,} |" for fn, case, gas in rows]
    lines += ["", *section]
    atomic_write_text(RESULTS, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1:])

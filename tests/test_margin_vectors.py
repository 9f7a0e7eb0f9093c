"""tests/vectors/margin.json run against every implementation of the margin formulas.

The Solidity library (MarginMath through its harness on the fast EVM), the Python reference
(pymargin.margin) and the batch engine (pymargin.batch) must each give every expected value and
revert. The expectations come from exact rationals in tests/vectors/generate.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_fixedpoint_vectors import outcome

from pymargin import batch, margin
from pymargin.chain.fastevm import FastEVM
from pymargin.errors import Revert
from pymargin.model import MarketView, Position

VECTORS = json.loads((Path(__file__).resolve().parent / "vectors" / "margin.json").read_text())["vectors"]
PYTHON_NAMES = {
    "equity": "equity",
    "unrealisedPnl": "unrealised_pnl",
    "pendingFunding": "pending_funding",
    "initialMargin": "initial_margin",
    "maintenanceMargin": "maintenance_margin",
    "freeCollateral": "free_collateral",
    "marginRatio": "margin_ratio",
    "isLiquidatable": "is_liquidatable",
}
TAKES_COLLATERAL = {"equity", "freeCollateral", "marginRatio", "isLiquidatable"}


def account(vector: dict, market_offset: int = 0) -> tuple[int, list[Position], dict[int, MarketView]]:
    """(collateral, positions, markets) of a vector; market ids are market_offset + slot."""
    acc = vector["account"]
    positions, markets = [], {}
    for slot, p in enumerate(acc["positions"]):
        v = {k: int(x) for k, x in p.items()}
        market_id = market_offset + slot
        positions.append(Position(market_id, v["size"], v["cost"], v["index"]))
        markets[market_id] = MarketView(v["price"], v["market_index"], v["imf"], v["mmf"])
    return int(acc["collateral"]), positions, markets


def expected(e: dict) -> tuple:
    if "error" in e:
        return ("revert", e["error"], tuple(int(a) for a in e["args"]))
    value = e["value"]
    return ("value", value == "true") if value in ("true", "false") else ("value", int(value))


def solidity_impl():
    harness = FastEVM().deploy("MarginMathHarness")

    def run(name, i):
        collateral, positions, markets = account(VECTORS[i])
        pos = [(p.market_id, p.size, p.cost_basis, p.funding_index) for p in positions]
        mkt = [(m.price_wad, m.funding_index_wad, m.imf_wad, m.mmf_wad) for m in (markets[p.market_id] for p in positions)]
        args = (collateral, pos, mkt) if name in TAKES_COLLATERAL else (pos, mkt)
        return outcome(harness.call, name, *args)

    return run


def python_impl():
    def run(name, i):
        collateral, positions, markets = account(VECTORS[i])
        fn = getattr(margin, PYTHON_NAMES[name])
        return outcome(fn, collateral, positions, markets) if name in TAKES_COLLATERAL else outcome(fn, positions, markets)

    return run


def batch_impl():
    """All vectors in one book (market ids offset per account), evaluated once."""
    pairs, markets = [], {}
    for i, vector in enumerate(VECTORS):
        collateral, positions, views = account(vector, market_offset=10 * i)
        pairs.append((collateral, positions))
        markets.update(views)
    result = batch.margins(batch.Book.from_accounts(pairs, markets))

    def run(name, i):
        entry = getattr(result, PYTHON_NAMES[name])[i]
        return ("revert", entry.name, entry.args_) if isinstance(entry, Revert) else ("value", entry)

    return run


@pytest.fixture(scope="module", params=["solidity", "python", "batch"])
def implementation(request):
    if request.param == "solidity":
        request.getfixturevalue("artifacts")
    return {"solidity": solidity_impl, "python": python_impl, "batch": batch_impl}[request.param]()


@pytest.mark.parametrize("name", list(PYTHON_NAMES))
def test_vectors(implementation, name):
    cases = [(i, expected(v["expect"][name])) for i, v in enumerate(VECTORS) if name in v["expect"]]
    assert len(cases) >= 50
    wrong = [(VECTORS[i]["note"], exp, got) for i, exp in cases if (got := implementation(name, i)) != exp]
    assert not wrong, f"{len(wrong)} of {len(cases)} vectors differ, first: {wrong[:3]}"

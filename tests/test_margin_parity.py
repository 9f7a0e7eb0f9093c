"""Randomised parity of MarginMath.sol (through its harness, on the fast EVM) and pymargin.margin.

``CASES`` seeded random accounts (0..6 positions) in four regimes — inside the spec bounds, at them,
outside them, anywhere in int256/uint256 — run through every formula. Values AND reverts (name and
args: Panic(0x11), SafeCastOverflow, MulDivOverflow) must be equal.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from margin_cases import random_account, to_solidity
from test_fixedpoint_parity import outcome, outcome_kind

from pymargin import margin
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.fastevm import FastEVM
from pymargin.chain.tx import node_signer
from pymargin.errors import Revert

CASES = 10_000
SEED = 4242

# Solidity name -> (Python mirror, takes collateral, outcomes the draws must reach)
FUNCTIONS = {
    "equity": (margin.equity, True, {"value", "Panic(17,)", "SafeCastOverflow"}),
    "unrealisedPnl": (margin.unrealised_pnl, False, {"value", "Panic(17,)", "SafeCastOverflow"}),
    "pendingFunding": (margin.pending_funding, False, {"value", "Panic(17,)"}),
    "initialMargin": (margin.initial_margin, False, {"value", "Panic(17,)"}),
    "maintenanceMargin": (margin.maintenance_margin, False, {"value", "Panic(17,)"}),
    "freeCollateral": (margin.free_collateral, True, {"value", "Panic(17,)", "SafeCastOverflow"}),
    "marginRatio": (margin.margin_ratio, True, {"value", "Panic(17,)", "SafeCastOverflow", "MulDivOverflow"}),
    "isLiquidatable": (margin.is_liquidatable, True, {"value", "Panic(17,)", "SafeCastOverflow"}),
}


@pytest.fixture(scope="module")
def accounts():
    rng = random.Random(SEED)
    return [random_account(rng) for _ in range(CASES)]


@pytest.fixture(scope="module")
def harness(artifacts):
    return FastEVM().deploy("MarginMathHarness")


def call_python(name, account):
    fn, takes_collateral, _ = FUNCTIONS[name]
    collateral, positions, markets = account
    return fn(collateral, positions, markets) if takes_collateral else fn(positions, markets)


def call_contract(contract, name, account):
    collateral, positions, markets = to_solidity(account)
    args = (collateral, positions, markets) if FUNCTIONS[name][1] else (positions, markets)
    return contract.call(name, *args)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_parity_with_solidity(harness, accounts, name):
    mismatches = []
    seen = Counter()
    for account in accounts:
        expected = outcome(call_contract, harness, name, account)
        got = outcome(call_python, name, account)
        seen[outcome_kind(expected)] += 1
        if got != expected:
            mismatches.append((account, expected, got))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:2]}"
    assert FUNCTIONS[name][2] <= set(seen), f"outcomes reached: {dict(seen)}"
    assert seen["value"] >= CASES // 2  # most draws are valid accounts


def test_margin_ratio_is_max_without_maintenance_margin(harness, accounts):
    """MM = 0 (no positions, zero sizes or zero mmf) gives INT256_MAX on both sides, reached by the draws."""
    empty = [a for a in accounts if outcome(call_python, "maintenanceMargin", a) == ("value", 0)]
    ok = [a for a in empty if outcome(call_python, "equity", a)[0] == "value"]
    assert len(ok) > 100
    for account in ok[:200]:
        assert call_contract(harness, "marginRatio", account) == margin.INT256_MAX


def test_fast_evm_matches_embedded_devnet(chain, harness, accounts):
    """The fast EVM (revm) and the embedded devnet (py-evm) agree on a sample of accounts."""
    contract, _ = deploy_contract(chain, "MarginMathHarness", sender=node_signer(chain))
    for name in FUNCTIONS:
        for account in accounts[:: CASES // 20]:
            assert outcome(call_contract, harness, name, account) == outcome(call_contract, contract, name, account)


def test_equity_exceeds_the_sum_of_its_parts_by_at_most_one_unit(accounts):
    """spec §4: equity − (collateral + unrealised_pnl + pending_funding) ∈ {0, 1}, both reached."""
    gaps = set()
    for collateral, positions, markets in accounts:
        try:
            parts = collateral + margin.unrealised_pnl(positions, markets) + margin.pending_funding(positions, markets)
            gaps.add(margin.equity(collateral, positions, markets) - parts)
        except Revert:
            continue
    assert gaps == {0, 1}

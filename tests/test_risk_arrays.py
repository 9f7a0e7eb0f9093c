"""RiskArrays.sol against pymargin.riskarray (bit for bit, reverts included, on the fast EVM), the
exact path of pymargin.risk.scenario against both, and the hedge acceptance: a long perp hedged with
a short call needs less margin than the two apart, with equal integers everywhere (spec §4.1)."""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

import pytest

from pymargin import riskarray as ra
from pymargin.black76 import MAX_TAU_S, YEAR_S
from pymargin.chain.fastevm import FastEVM
from pymargin.chain.tx import ContractRevert
from pymargin.errors import Revert
from pymargin.fixedpoint import INT256_MAX, INT256_MIN, WAD
from pymargin.risk import scenario

SEED = 20261202
Kind = ra.InstrumentKind


def outcome(fn, *args):
    try:
        value = fn(*args)
        return ("value", list(value) if isinstance(value, (list, tuple)) else value)
    except (Revert, ContractRevert) as exc:
        return ("revert", exc.name, tuple(exc.args_))


def digits(rng: random.Random, low: int, high: int) -> int:
    """A full-precision value in [low, high) (odd, so never round)."""
    return rng.randrange(low, high) | 1


def rand_series(rng: random.Random) -> tuple:
    """(kind, strike, tau, price, vol, priceRange, volRange): mostly valid, some outside a domain."""
    kind = rng.choice(list(Kind))
    price = digits(rng, 10**12, 10**24)
    strike = max(price * digits(rng, WAD // 2, 2 * WAD) // WAD, 1)
    tau = digits(rng, 0, 2 * YEAR_S)
    vol = digits(rng, WAD // 50, 3 * WAD)
    price_range = digits(rng, WAD // 100, WAD // 2) if rng.random() < 0.8 else digits(rng, WAD // 2, WAD)
    vol_range = digits(rng, 0, WAD // 2)
    k = rng.random()
    if k < 0.03:
        price = rng.choice((0, 2**128 + 1))
    elif k < 0.06:
        price_range, vol_range = rng.choice(((WAD + 1, vol_range), (price_range, WAD)))
    elif k < 0.09 and kind != Kind.Perp:
        tau, vol = rng.choice(((MAX_TAU_S + 1, vol), (tau, 9 * WAD)))  # Black-76's domain (9·1.5 > 10)
        vol_range = WAD // 2 if vol == 9 * WAD else vol_range
    return kind, strike, tau, price, vol, price_range, vol_range


@pytest.fixture(scope="module")
def harness(artifacts):
    return FastEVM().deploy("RiskArraysHarness")


def test_risk_array_parity(harness):
    rng = random.Random(f"{SEED}:arrays")
    seen = Counter()
    for _ in range(400):
        args = rand_series(rng)
        expected = outcome(harness.call, "riskArray", *args)
        seen[expected[0] if expected[0] == "value" else expected[1]] += 1
        assert outcome(ra.risk_array, *args) == expected, args
    assert {"value", "RiskArrayInputOutOfRange", "OptionInputOutOfRange"} <= set(seen), dict(seen)


def rand_portfolio(rng: random.Random):
    """(sizes, arrays, som per unit): real arrays of one underlying, sometimes values that overflow."""
    price = digits(rng, 10**18, 10**23)
    vol, price_range, vol_range = digits(rng, WAD // 10, 2 * WAD), digits(rng, WAD // 20, WAD // 3), WAD // 4
    n = rng.randrange(0, 6)
    sizes, arrays, som = [], [], []
    for _ in range(n):
        kind = rng.choice(list(Kind))
        strike = price * digits(rng, WAD // 2, 2 * WAD) // WAD
        arrays.append(ra.risk_array(kind, strike, digits(rng, 3600, YEAR_S), price, vol, price_range, vol_range))
        sizes.append(digits(rng, 10**15, 10**22) * rng.choice((1, -1)))
        som.append(ra.short_option_minimum(kind, price, digits(rng, 0, WAD // 10)))
    k = rng.random()
    if k < 0.04 and n:
        sizes[0] = rng.choice((INT256_MIN, INT256_MAX))  # Panic(0x11) in the products
    elif k < 0.07:
        som.append(0)  # LengthMismatch
    return sizes, arrays, som


def test_portfolio_margin_parity(harness):
    rng = random.Random(f"{SEED}:portfolios")
    seen = Counter()
    for _ in range(250):
        sizes, arrays, som = rand_portfolio(rng)
        multiple = digits(rng, WAD, 2 * WAD) if rng.random() < 0.9 else WAD - 1
        for fn, py, args in (
            ("scenarioLosses", ra.scenario_losses, (sizes, arrays)),
            ("maintenanceMargin", ra.maintenance_margin, (sizes, arrays, som)),
            ("initialMargin", ra.initial_margin, (sizes, arrays, som, multiple)),
        ):
            expected = outcome(harness.call, fn, *args)
            seen[expected[0] if expected[0] == "value" else expected[1]] += 1
            assert outcome(py, *args) == expected, (fn, args)
    assert {"value", "Panic", "LengthMismatch", "InitialMultipleBelowOne"} <= set(seen), dict(seen)


# ------------------------------------------------------------------ the hedge, everywhere

# The worked example of docs/risk.md ("Portfolio margin, worked"): ETH at 3,141.592653589793238462,
# implied vol 62.831853071795864769 %, scanning range 15.915494309189533576 % of the price, vol range
# 25 %, a 30-day call struck at 3,456.789012345678901234, short-option minimum 1 % of the price.
PRICE = 3_141_592_653_589_793_238_462
VOL = 628_318_530_717_958_647
PRICE_RANGE = 159_154_943_091_895_335
VOL_RANGE = WAD // 4
STRIKE = 3_456_789_012_345_678_901_234
TAU = 30 * 86_400
SOM_FRACTION = WAD // 100
SIZE = 2_718_281_828_459_045_235  # e units long the perp, e calls short


def _example_legs():
    perp = ra.risk_array(Kind.Perp, 0, 0, PRICE, VOL, PRICE_RANGE, VOL_RANGE)
    call = ra.risk_array(Kind.Call, STRIKE, TAU, PRICE, VOL, PRICE_RANGE, VOL_RANGE)
    return perp, call, ra.short_option_minimum(Kind.Call, PRICE, SOM_FRACTION)


def example_figures() -> dict[str, int]:
    """Maintenance (WAD) of the perp alone, the short call alone, their sum, and the hedged book."""
    perp, call, som = _example_legs()
    perp_alone = ra.maintenance_margin([SIZE], [perp], [0])
    call_alone = ra.maintenance_margin([-SIZE], [call], [som])
    hedged = ra.maintenance_margin([SIZE, -SIZE], [perp, call], [0, som])
    return {"perp_alone": perp_alone, "call_alone": call_alone, "apart": perp_alone + call_alone, "hedged": hedged}


def test_hedge_needs_less_margin_on_contract_mirror_and_exact_path(harness):
    perp, call, som = _example_legs()
    assert list(harness.call("riskArray", Kind.Perp, 0, 0, PRICE, VOL, PRICE_RANGE, VOL_RANGE)) == perp
    assert list(harness.call("riskArray", Kind.Call, STRIKE, TAU, PRICE, VOL, PRICE_RANGE, VOL_RANGE)) == call
    assert harness.call("shortOptionMinimum", Kind.Call, PRICE, SOM_FRACTION) == som
    figures = example_figures()
    on_chain = {
        "perp_alone": harness.call("maintenanceMargin", [SIZE], [perp], [0]),
        "call_alone": harness.call("maintenanceMargin", [-SIZE], [call], [som]),
        "hedged": harness.call("maintenanceMargin", [SIZE, -SIZE], [perp, call], [0, som]),
    }
    state = {"eth": scenario.UnderlyingWad(PRICE, VOL, PRICE_RANGE, VOL_RANGE)}
    legs = [
        scenario.InstrumentWad("eth", SIZE),
        scenario.InstrumentWad("eth", -SIZE, Kind.Call, STRIKE, TAU),
    ]
    exact = scenario.scenario_margin_wad(legs, state, SOM_FRACTION)
    assert on_chain["hedged"] == figures["hedged"] == exact.maintenance_wad
    assert on_chain["perp_alone"] + on_chain["call_alone"] == figures["apart"] == exact.standalone_sum_wad
    assert figures["hedged"] < figures["apart"]
    # The requirement is a scenario loss, not the floor: the short-option minimum does not decide it.
    assert figures["hedged"] > SIZE * som // WAD


def test_exact_path_matches_the_float_scenario_margin():
    """The WAD path and the float path of risk.scenario agree (the same grid, no rounding in floats)."""
    rng = random.Random(f"{SEED}:float")
    for _ in range(20):
        price, vol = digits(rng, 10**20, 10**23), digits(rng, WAD // 10, 2 * WAD)
        price_range, vol_range = digits(rng, WAD // 20, WAD // 2), digits(rng, WAD // 20, WAD // 2)
        strike, days = price * digits(rng, WAD * 8 // 10, WAD * 12 // 10) // WAD, rng.randrange(1, 120)
        sizes = [digits(rng, WAD, 10 * WAD) * rng.choice((1, -1)) for _ in range(3)]
        kinds = [Kind.Perp, Kind.Call, Kind.Put]
        exact = scenario.scenario_margin_wad(
            [scenario.InstrumentWad("x", s, k, strike, days * 86_400) for s, k in zip(sizes, kinds)],
            {"x": scenario.UnderlyingWad(price, vol, price_range, vol_range)},
            0,
        )
        names = ["perp", "call", "put"]
        floats = scenario.scenario_margin(
            [scenario.Instrument("x", s / WAD, n, strike / WAD, days) for s, n in zip(sizes, names)],
            {"x": scenario.Underlying(price / WAD, vol / WAD, price_range / WAD, vol_range / WAD)},
        )
        assert exact.maintenance_wad / WAD == pytest.approx(floats.requirement, rel=1e-9, abs=1e-6)
        assert exact.standalone_sum_wad / WAD == pytest.approx(floats.standalone_sum, rel=1e-9, abs=1e-6)


def test_worked_example_in_docs_matches():
    """docs/risk.md's worked example shows these figures (to 6 decimals, truncated)."""
    text = (Path(__file__).parents[1] / "docs" / "risk.md").read_text()
    section = text.split("## Portfolio margin, worked example", 1)[1].split("\n## ", 1)[0]
    shown = {m[1]: m[2] for m in re.finditer(r"^\| `(\w+)` \| ([\d,]+\.\d{6}) \|", section, re.M)}
    expected = {k: f"{v // WAD:,}.{v % WAD // 10**12:06d}" for k, v in example_figures().items()}
    assert shown == expected

"""Portfolio (risk-array) margin in circuits/portfolio.circom against pymargin.riskbatch and
pymargin.riskarray, and its soundness.

Parity: PortfolioMarginAccount's (MM, IM) equal riskbatch's (and riskarray's per underlying,
summed) on random full-precision hedged, naked and mixed books over two underlyings, and on books
whose sizes, arrays and som sit at the circuit's bounds. The acceptance case: a long perp hedged
by a short call needs less margin in the circuit than the two apart, the same integers as the
mirror and the batch engine. Soundness: inputs outside the bounds have no witness; a witness that
claims a smaller maximum (every wire of the gadget recomputed for it), puts a slot on another
series, or edits MM, IM, a scenario loss or a net size breaks a constraint of the r1cs.
"""

from __future__ import annotations

import random

import pytest

from pymargin import riskarray as ra
from pymargin import riskbatch
from pymargin.fixedpoint import WAD
from pymargin.zk import circuits
from pymargin.zk import portfolio as zp
from pymargin.zk.circom import compile_circuit
from pymargin.zk.field import FIELD_P, from_field, to_field
from pymargin.zk.r1cs import read_r1cs, unsatisfied
from pymargin.zk.witness import WitnessError, compute_witness, read_wtns, signal_indices
from test_risk_arrays import PRICE, PRICE_RANGE, SIZE, STRIKE, TAU, VOL, VOL_RANGE, example_figures
from test_risk_arrays import SOM_FRACTION as EXAMPLE_SOM_FRACTION
from test_risk_batch import IM_MULTIPLE, digits, rand_account, rand_market, table

SHAPE = zp.PortfolioShape(u=2, k=4, p=6)  # rand_market(underlyings=2, series_per=4); rand_account: <= 6 positions
Kind = ra.InstrumentKind


@pytest.fixture(scope="module")
def account_circuit():
    circuit = circuits.portfolio_account(SHAPE.u, SHAPE.k, SHAPE.p)
    return circuit, read_r1cs(circuit.r1cs), signal_indices(circuit)


def _circuit_margins(circuit, tables, positions, path) -> tuple[int, int, list[int]]:
    witness = read_wtns(compute_witness(circuit, zp.account_inputs(tables, positions), path))
    return from_field(witness[1]), from_field(witness[2]), witness


def _reference(tables, positions) -> int:
    """riskarray.maintenance_margin per underlying, summed (RiskArrayBook's rule)."""
    return riskbatch.maintenance_margin_reference(riskbatch.PortfolioBook.from_accounts([positions], tables.series), 0)


@pytest.mark.parametrize("seed", range(3))
def test_circuit_equals_riskbatch_on_random_books(account_circuit, tmp_path, seed):
    circuit, system, _ = account_circuit
    rng = random.Random(f"portfolio-circuit:{seed}")
    states, series = rand_market(rng, underlyings=SHAPE.u, series_per=SHAPE.k)
    tables = zp.risk_tables(table(states, series), SHAPE, digits(rng, WAD, 3 * WAD))
    options = [i for i, s in enumerate(series) if s[1] != Kind.Perp]
    option = options[0]  # a long perp hedged by this short call, or by this long put
    perp = next(i for i, s in enumerate(series) if s[0] == series[option][0] and s[1] == Kind.Perp)
    hedge_sign = -1 if series[option][1] == Kind.Call else 1
    hedged = [(perp, digits(rng, WAD, 50 * WAD)), (option, hedge_sign * digits(rng, WAD, 50 * WAD))]
    naked = [(sid, -digits(rng, WAD // 1000, 50 * WAD)) for sid in rng.sample(options, 3)]
    accounts = [hedged, naked, []] + [rand_account(rng, series) for _ in range(6)]
    expected = zp.margins(tables, accounts)
    for i, positions in enumerate(accounts):
        mm, im, witness = _circuit_margins(circuit, tables, positions, tmp_path / f"{i}.wtns")
        assert (mm, im) == expected[i] and mm == _reference(tables, positions), positions
        if i == 0:
            assert unsatisfied(system, witness) == []
    assert sum(mm for mm, _ in expected) > 0


def _extreme_tables(rng: random.Random) -> zp.RiskTables:
    """Arrays at ±(2^130 − a few), som just below 2^130, on every row, the multiple at its top."""
    series = {}
    for sid in range(SHAPE.n):
        array = tuple(rng.choice((1, -1)) * (2**130 - 1 - 2 * rng.randrange(4)) for _ in range(ra.SCENARIO_COUNT))
        series[sid] = riskbatch.RiskSeries(sid // SHAPE.k, array, 2**130 - 1 - 2 * rng.randrange(4))
    return zp.risk_tables(series, SHAPE, WAD + 2**64 - 1)


@pytest.mark.parametrize("seed", range(2))
def test_circuit_equals_riskbatch_at_the_bounds(account_circuit, tmp_path, seed):
    """Six slots of |size| ≈ 2^94 in one underlying (|t_s| ≈ 6·2^224) or spread; all short; mixed."""
    circuit, _, _ = account_circuit
    rng = random.Random(f"portfolio-bounds:{seed}")
    tables = _extreme_tables(rng)
    big = lambda sign: sign * (2**94 - 1 - 2 * rng.randrange(8))  # noqa: E731
    books = [
        [(rng.randrange(SHAPE.k), big(rng.choice((1, -1)))) for _ in range(SHAPE.p)],  # one underlying, six slots
        [(rng.randrange(SHAPE.n), big(-1)) for _ in range(SHAPE.p)],  # all short: the som term at its top
        [(sid, big(1)) for sid in range(SHAPE.p)],  # both underlyings, all long
        [(0, big(1)), (0, big(-1)), (1, -(2**94))],  # a series in two slots; the one extra value −2^94
    ]
    for i, positions in enumerate(books):
        mm, im, _ = _circuit_margins(circuit, tables, positions, tmp_path / f"{i}.wtns")
        assert [(mm, im)] == zp.margins(tables, [positions]) and mm == _reference(tables, positions), i
        assert mm > 2**160


def test_hedge_needs_less_margin_in_the_circuit(account_circuit, tmp_path):
    """docs/risk.md's worked example: e units long the perp, e calls short; circuit = riskarray = riskbatch."""
    circuit, _, _ = account_circuit
    perp = ra.risk_array(Kind.Perp, 0, 0, PRICE, VOL, PRICE_RANGE, VOL_RANGE)
    call = ra.risk_array(Kind.Call, STRIKE, TAU, PRICE, VOL, PRICE_RANGE, VOL_RANGE)
    som = ra.short_option_minimum(Kind.Call, PRICE, EXAMPLE_SOM_FRACTION)
    series = {0: riskbatch.RiskSeries(0, tuple(perp), 0), 1: riskbatch.RiskSeries(0, tuple(call), som)}
    tables = zp.risk_tables(series, SHAPE, IM_MULTIPLE)
    figures = example_figures()
    books = {"perp_alone": [(0, SIZE)], "call_alone": [(1, -SIZE)], "hedged": [(0, SIZE), (1, -SIZE)]}
    got = {}
    for name, positions in books.items():
        mm, im, _ = _circuit_margins(circuit, tables, positions, tmp_path / f"{name}.wtns")
        assert [(mm, im)] == zp.margins(tables, [positions])
        assert im == ra.initial_margin([s for _, s in positions], [series[i].risk_array for i, _ in positions],
                                       [series[i].som_per_unit_wad for i, _ in positions], IM_MULTIPLE)
        got[name] = mm
    assert got == {k: figures[k] for k in got}
    assert got["hedged"] < got["perp_alone"] + got["call_alone"]


@pytest.mark.parametrize("case", ["size_2^94", "size_below_-2^94", "series_N", "multiple_below_one", "multiple_too_big",
                                  "array_2^130+1", "array_below_-2^130", "som_2^130", "som_negative"])
def test_inputs_outside_the_bounds_have_no_witness(account_circuit, tmp_path, case):
    circuit, _, _ = account_circuit
    rng = random.Random(7)
    states, series = rand_market(rng, underlyings=SHAPE.u, series_per=SHAPE.k)
    tables = zp.risk_tables(table(states, series), SHAPE, IM_MULTIPLE)
    good = zp.account_inputs(tables, [(0, 5 * WAD + 1), (2, -(3 * WAD + 7))])
    compute_witness(circuit, good, tmp_path / "ok.wtns")
    bad = {k: [list(r) if isinstance(r, list) else r for r in v] if isinstance(v, list) else v for k, v in good.items()}
    if case == "size_2^94":
        bad["size"][0] = 2**94
    elif case == "size_below_-2^94":
        bad["size"][0] = to_field(-(2**94) - 1)
    elif case == "series_N":
        bad["series"][0] = SHAPE.n
    elif case == "multiple_below_one":
        bad["multiple"] = WAD - 1
    elif case == "multiple_too_big":
        bad["multiple"] = WAD + 2**64
    elif case == "array_2^130+1":
        bad["array"][3][5] = 2**130 + 1
    elif case == "array_below_-2^130":
        bad["array"][3][5] = to_field(-(2**130) - 1)
    elif case == "som_2^130":
        bad["som"][2] = 2**130
    else:
        bad["som"][2] = to_field(-1)
    with pytest.raises(WitnessError):
        compute_witness(circuit, bad, tmp_path / "bad.wtns")


def test_forged_signals_break_the_r1cs(account_circuit, tmp_path):
    """Editing MM, IM, an underlying's maximum, a scenario product or a slot's selector alone breaks a constraint."""
    circuit, system, names = account_circuit
    rng = random.Random(11)
    states, series = rand_market(rng, underlyings=SHAPE.u, series_per=SHAPE.k)
    tables = zp.risk_tables(table(states, series), SHAPE, IM_MULTIPLE)
    _, _, witness = _circuit_margins(circuit, tables, [(1, 7 * WAD + 3), (2, -(4 * WAD + 9)), (5, -(WAD + 1))], tmp_path / "w.wtns")
    kept = [n for n in ("main.mm", "main.im", "main.margin.under[0].worst.out", "main.margin.under[1].worst.out",
                        "main.margin.under[0].ceil.out", "main.margin.under[0].losses.product[1][3]",
                        "main.margin.sizes.netTerm[0][1]", "main.margin.sizes.shortTerm[1][2]",
                        "main.margin.sizes.select[0].e[1]", "main.margin.sizes.select[0].e[0]") if n in names]
    assert len(kept) >= 6, kept
    for name in kept:
        for delta in (1, -1):
            forged = list(witness)
            forged[names[name]] = (forged[names[name]] + delta) % FIELD_P
            assert unsatisfied(system, forged), (name, delta)


# ------------------------------------------------------------------ the maximum, attacked in full

MAX_BITS = 224 + SHAPE.p.bit_length()  # portfolioLossBits(P) for P = 6: 227
MAX_MAIN = f"""pragma circom 2.1.6;
include "portfolio.circom";
component main = MaxOf(18, {MAX_BITS});
"""


def _max_witness(witness: list[int], names: dict[str, int], values: list[int], out: int) -> list[int]:
    """MaxOf's every wire for the claim ``out``: the output, each range check's bits of out − in[i]
    (the low 228 bits of its field element) and the product chain."""
    w = list(witness)
    w[names["main.out"]] = out % FIELD_P
    chain = 1
    for i, v in enumerate(values):
        diff = (out - v) % FIELD_P
        for b in range(MAX_BITS + 1):
            key = f"main.above[{i}].bits.out[{b}]"
            if key in names:
                w[names[key]] = (diff >> b) & 1
        chain = chain * diff % FIELD_P
        if f"main.chain[{i}]" in names:
            w[names[f"main.chain[{i}]"]] = chain
    return w


def test_a_smaller_maximum_has_no_witness(tmp_path):
    """The claim that the worst loss is a smaller candidate (the second largest, 0, the max − 1),
    with every wire of MaxOf recomputed for it, breaks a constraint; the honest claim rebuilt by the
    same code satisfies every one."""
    circuit = compile_circuit("test_maxof", MAX_MAIN)
    system, names = read_r1cs(circuit.r1cs), signal_indices(circuit)
    rng = random.Random(13)
    bound = 2**MAX_BITS
    values = [0] + [rng.randrange(-bound + 1, bound) | 1 for _ in range(16)] + [rng.randrange(bound)]
    witness = read_wtns(compute_witness(circuit, {"in": [to_field(v) for v in values]}, tmp_path / "w.wtns"))
    top = max(values)
    assert from_field(witness[1]) == top
    assert unsatisfied(system, _max_witness(witness, names, values, top)) == []
    for claim in (sorted(values)[-2], 0, top - 1, min(values)):
        assert unsatisfied(system, _max_witness(witness, names, values, claim)), claim

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
import re

import pytest

from pymargin import riskarray as ra
from pymargin import riskbatch
from pymargin.errors import UserError
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


# ------------------------------------------------------------------ a smaller MM, the whole account

N_T = MAX_BITS  # portfolioLossBits(P)
N_IM = N_T + 6 + SHAPE.u.bit_length()  # PortfolioMargin's IM numerator bits


def _set(w: list[int], names: dict[str, int], name: str, value: int) -> None:
    if name in names:
        w[names[name]] = value % FIELD_P


def _bits(w: list[int], names: dict[str, int], prefix: str, value: int, n: int) -> None:
    """Num2Bits(n) at ``prefix``: the low n bits of value's field element."""
    v = value % FIELD_P
    for b in range(n):
        _set(w, names, f"{prefix}.bits.out[{b}]", (v >> b) & 1)


def _ceil_wad(w: list[int], names: dict[str, int], prefix: str, x: int, n_in: int) -> int:
    """Every wire of DivRounded(Ceil, n_in, WAD) at ``prefix`` for the numerator x; returns ⌈x / WAD⌉."""
    q = -(-x // WAD)
    t = q * WAD - x  # σ·r with σ = −1 (Ceil)
    lo, hi, odd = t % 2**18, t >> 18, 5**18  # LessThanConst(WAD): WAD = 2^18 · 5^18
    n_q = n_in - 58
    for name, value in (("in", x), ("out", q), ("div.in", x), ("div.out", q), ("div.r", -t), ("div.t", t), ("div.tRange.in", t),
                        ("div.tRange.lo", lo), ("div.tRange.hi", hi), ("qRange.in", q), ("qRange.neg", int(q < 0))):
        _set(w, names, f"{prefix}.{name}", value)
    _bits(w, names, f"{prefix}.div.tRange.low", lo, 18)
    _bits(w, names, f"{prefix}.div.tRange.high", hi, 42)
    _bits(w, names, f"{prefix}.div.tRange.top", odd - 1 - hi, 42)
    _bits(w, names, f"{prefix}.qRange", q + 2**n_q, n_q + 1)
    return q


def _candidates(tables: zp.RiskTables, positions) -> list[list[int]]:
    """Per underlying: 0, the 16 losses −Σ size·array[s] (WAD²) and Σ_short |size|·som."""
    rows, sizes = zp.slots(tables, positions)
    out = []
    for u in range(SHAPE.u):
        mine = [(r, z) for r, z in zip(rows, sizes) if r // SHAPE.k == u]
        losses = [-sum(z * tables.array[r][s] for r, z in mine) for s in range(ra.SCENARIO_COUNT)]
        out.append([0, *losses, sum(-z * tables.som[r] for r, z in mine if z < 0)])
    return out


def _account_witness(witness, names, candidates, claims, multiple) -> tuple[list[int], int]:
    """The account's witness with each underlying's maximum claimed to be ``claims[u]``: MaxOf's bits
    and chain, both Ceil divisions, MM and IM recomputed from it; returns (witness, MM)."""
    w = list(witness)
    mm = 0
    for u, (values, m) in enumerate(zip(candidates, claims)):
        prefix = f"main.margin.under[{u}]"
        _set(w, names, f"{prefix}.worst.out", m)
        chain = 1
        for i, c in enumerate(values):
            _bits(w, names, f"{prefix}.worst.above[{i}]", m - c, N_T + 1)
            chain = chain * (m - c) % FIELD_P
            _set(w, names, f"{prefix}.worst.chain[{i}]", chain)
        mm_u = _ceil_wad(w, names, f"{prefix}.ceil", m, N_T)
        _set(w, names, f"{prefix}.mm", mm_u)
        mm += mm_u
    im = _ceil_wad(w, names, "main.margin.initial.div", mm * multiple, N_IM)
    for name, value in (("main.mm", mm), ("main.margin.mm", mm), ("main.im", im), ("main.margin.im", im),
                        ("main.margin.initial.out", im), ("main.margin.initial.a", mm)):
        _set(w, names, name, value)
    return w, mm


def test_an_account_claiming_a_smaller_margin_has_no_witness(account_circuit, tmp_path):
    """The whole account's witness rebuilt for a smaller maximum in one underlying (the second largest
    candidate, 0, the maximum − WAD): MM and IM fall, every dependent wire is consistent, and a
    constraint still breaks (the range check of max − claim). The same rebuild with the true maxima
    satisfies the r1cs, so nothing but the claim is wrong."""
    circuit, system, names = account_circuit
    rng = random.Random(17)
    states, series = rand_market(rng, underlyings=SHAPE.u, series_per=SHAPE.k)
    tables = zp.risk_tables(table(states, series), SHAPE, IM_MULTIPLE)
    positions = [(1, -(9 * WAD + 1)), (2, -(4 * WAD + 3)), (0, 3 * WAD + 7), (5, -(6 * WAD + 5)), (4, 2 * WAD + 9)]
    mm, _, witness = _circuit_margins(circuit, tables, positions, tmp_path / "w.wtns")
    candidates = _candidates(tables, positions)
    honest, honest_mm = _account_witness(witness, names, candidates, [max(c) for c in candidates], IM_MULTIPLE)
    assert honest_mm == mm and unsatisfied(system, honest) == []
    top = max(candidates[0])
    second = sorted(set(candidates[0]))[-2]
    for claim in (second, 0, top - WAD):
        forged, forged_mm = _account_witness(witness, names, candidates, [claim, max(candidates[1])], IM_MULTIPLE)
        assert from_field(forged[1]) == forged_mm < mm  # the public MM output is the smaller claim's
        broken = unsatisfied(system, forged)
        assert broken, claim
        if claim == second:  # a real candidate: only the range check of top − claim (negative) breaks
            assert len(broken) == 1


def _slots_witness(witness, names, tables: zp.RiskTables, rows: list[int], sizes: list[int]) -> tuple[list[int], int]:
    """The account's witness with slot p's one-hot selector on rows[p] (the true series or not): the
    selections, net and short sizes, scenario products and losses, then every wire from the maxima
    on (:func:`_account_witness`); returns (witness, MM)."""
    w = list(witness)
    n = SHAPE.n
    net, short = [0] * n, [0] * n
    for p, (row, size) in enumerate(zip(rows, sizes)):
        short_size = max(-size, 0)
        _set(w, names, f"main.margin.sizes.shortSize[{p}]", short_size)
        for j in range(n):
            e = int(j == row)
            _set(w, names, f"main.margin.sizes.select[{p}].e[{j}]", e)
            _set(w, names, f"main.margin.sizes.netTerm[{p}][{j}]", e * size)
            _set(w, names, f"main.margin.sizes.shortTerm[{p}][{j}]", e * short_size)
        net[row] += size
        short[row] += short_size
    candidates = []
    for u in range(SHAPE.u):
        prefix = f"main.margin.under[{u}].losses"
        losses = []
        for s in range(ra.SCENARIO_COUNT):
            for k in range(SHAPE.k):
                _set(w, names, f"{prefix}.product[{k}][{s}]", net[u * SHAPE.k + k] * tables.array[u * SHAPE.k + k][s])
            losses.append(-sum(net[u * SHAPE.k + k] * tables.array[u * SHAPE.k + k][s] for k in range(SHAPE.k)))
            _set(w, names, f"{prefix}.loss[{s}]", losses[-1])
        som = 0
        for k in range(SHAPE.k):
            _set(w, names, f"main.margin.under[{u}].minimum.term[{k}]", short[u * SHAPE.k + k] * tables.som[u * SHAPE.k + k])
            som += short[u * SHAPE.k + k] * tables.som[u * SHAPE.k + k]
        _set(w, names, f"main.margin.under[{u}].minimum.out", som)
        candidates.append([0, *losses, som])
    for j in range(n):
        _set(w, names, f"main.margin.sizes.net[{j}]", net[j])
        _set(w, names, f"main.margin.sizes.short[{j}]", short[j])
    return _account_witness(w, names, candidates, [max(c) for c in candidates], tables.multiple_wad)


def test_a_slot_moved_to_a_cheaper_series_has_no_witness(account_circuit, tmp_path):
    """A hedged account that books its short call as another series (netting, products, maxima, MM and
    IM all recomputed for the swap, the slot's series input unchanged) gets a smaller MM, and a
    constraint of that slot's one-hot breaks (--O2 folds Σ e = 1 and Σ j·e = series into the
    selector's last entries, so each broken constraint holds the series input). The same rebuild
    with the true series satisfies the r1cs."""
    circuit, system, names = account_circuit
    rng = random.Random(19)
    states, series = rand_market(rng, underlyings=SHAPE.u, series_per=SHAPE.k)
    tables = zp.risk_tables(table(states, series), SHAPE, IM_MULTIPLE)
    positions = [(0, 5 * WAD + 1), (1, -(5 * WAD + 3)), (3, -(2 * WAD + 7)), (6, 4 * WAD + 9)]
    mm, _, witness = _circuit_margins(circuit, tables, positions, tmp_path / "w.wtns")
    rows, sizes = zp.slots(tables, positions)
    series_wire = names["main.series[1]"]  # the moved slot's series input, which --O2 folds into its selector
    honest, honest_mm = _slots_witness(witness, names, tables, rows, sizes)
    assert honest_mm == mm and unsatisfied(system, honest) == []
    cheaper = []
    for target in range(SHAPE.n):
        if target == rows[1]:
            continue
        moved = rows[:1] + [target] + rows[2:]
        forged, forged_mm = _slots_witness(witness, names, tables, moved, sizes)
        if forged_mm < mm:
            cheaper.append(target)
            assert from_field(forged[1]) == forged_mm
            broken = unsatisfied(system, forged)
            assert broken and all(any(series_wire in part for part in system.constraints[i]) for i in broken), target
    assert cheaper


def _series(underlying: int, som: int = 1) -> riskbatch.RiskSeries:
    return riskbatch.RiskSeries(underlying, tuple(range(-8, 8)), som)


@pytest.mark.parametrize("series, positions, multiple, message", [
    ({0: _series(0), 1: _series(1), 2: _series(2)}, [], IM_MULTIPLE, "3 underlyings do not fit a circuit of 2"),
    ({i: _series(0) for i in range(5)}, [], IM_MULTIPLE, "underlying 0 has 5 series, the circuit holds 4"),
    ({0: riskbatch.RiskSeries(0, (2**130 + 1,) * 16, 0)}, [], IM_MULTIPLE, "series 0: the circuit takes 16 array entries"),
    ({0: _series(0, 2**130)}, [], IM_MULTIPLE, "series 0: the circuit takes 0 <= som < 2^130"),
    ({0: _series(0)}, [], WAD - 1, "the IM multiple must be in [WAD, WAD + 2^64)"),
    ({0: _series(0)}, [(0, 1)] * 7, IM_MULTIPLE, "an account has 7 positions, the circuit holds 6"),
    ({0: _series(0)}, [(9, 1)], IM_MULTIPLE, "series 9 has no row"),
    ({0: _series(0)}, [(0, 2**94)], IM_MULTIPLE, "outside the circuit's [-2^94, 2^94)"),
])
def test_books_outside_the_circuit_are_refused_in_one_line(series, positions, multiple, message):
    with pytest.raises(UserError, match=re.escape(message)) as caught:
        zp.account_inputs(zp.risk_tables(series, SHAPE, multiple), positions)
    assert "\n" not in str(caught.value)

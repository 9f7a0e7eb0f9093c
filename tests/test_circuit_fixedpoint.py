"""Fixed-point gadgets (circuits/fixedpoint.circom) against pymargin.fixedpoint, and their soundness.

Values: each rounding of DivRounded equals sdiv_rounded on random and edge-case numerators.
Soundness: a cheating prover's witness (another quotient with the remainder adjusted, a remainder
out of range, a numerator past the stated bound) breaks a constraint of the r1cs.
"""

from __future__ import annotations

import random

import pytest

from pymargin.fixedpoint import WAD, Rounding, sdiv_rounded
from pymargin.zk.circom import compile_circuit
from pymargin.zk.field import FIELD_P, from_field, to_field
from pymargin.zk.r1cs import read_r1cs, unsatisfied
from pymargin.zk.witness import WitnessError, compute_witness, read_wtns, signal_indices

N = 24
N_BITS = 198  # the equity numerator's bound (docs/spec.md §7)
MAIN = f"""pragma circom 2.1.6;
include "fixedpoint.circom";
template Divs(n) {{
    signal input x[n];
    signal output q[n][4];
    component range[n];
    component div[n][4];
    for (var i = 0; i < n; i++) {{
        range[i] = SignedRangeCheck({N_BITS - 1});
        range[i].in <== x[i];
        for (var r = 0; r < 4; r++) {{
            div[i][r] = DivRounded(r, {N_BITS}, {WAD});
            div[i][r].in <== x[i];
            q[i][r] <== div[i][r].out;
        }}
    }}
}}
component main = Divs({N});
"""
LT_MAIN = """pragma circom 2.1.6;
include "fixedpoint.circom";
template Lt() {
    signal input a;
    signal input b;
    signal output out;
    component lt = SignedLessThan(128);
    lt.a <== a;
    lt.b <== b;
    out <== lt.out;
}
component main = Lt();
"""


@pytest.fixture(scope="module")
def divs():
    circuit = compile_circuit("test_divs", MAIN)
    return circuit, read_r1cs(circuit.r1cs), signal_indices(circuit)


def _values(seed: int) -> list[int]:
    rng = random.Random(seed)
    edge = [0, 1, -1, WAD, -WAD, WAD - 1, -(WAD - 1), WAD + 1, -(WAD + 1), 2 ** (N_BITS - 1) - 1, -(2 ** (N_BITS - 1))]
    rand = [rng.choice([1, -1]) * rng.randrange(2 ** rng.randrange(1, N_BITS - 1)) for _ in range(N - len(edge))]
    return edge + rand if seed == 0 else [rng.choice([1, -1]) * rng.randrange(2 ** (N_BITS - 1)) for _ in range(N)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_div_rounded_equals_python(divs, tmp_path, seed):
    circuit, system, _ = divs
    xs = _values(seed)
    witness = read_wtns(compute_witness(circuit, {"x": [to_field(x) for x in xs]}, tmp_path / "w.wtns"))
    assert unsatisfied(system, witness) == []
    outs = [from_field(v) for v in witness[1 : 1 + 4 * N]]
    for i, x in enumerate(xs):
        assert outs[4 * i : 4 * i + 4] == [sdiv_rounded(x, WAD, r) for r in Rounding], x


def _tamper(witness: list[int], index: int, delta: int) -> list[int]:
    bad = list(witness)
    bad[index] = (bad[index] + delta) % FIELD_P
    return bad


@pytest.mark.parametrize("rounding", list(Rounding))
def test_other_quotient_breaks_a_constraint(divs, tmp_path, rounding):
    """q ± 1 (the remainder follows, being r = x - q·d) must leave sigma·r outside [0, d)."""
    circuit, system, names = divs
    xs = _values(0)
    witness = read_wtns(compute_witness(circuit, {"x": [to_field(x) for x in xs]}, tmp_path / "w.wtns"))
    for i in (0, 3, 5, 7, 11):  # 0, WAD, WAD - 1, WAD + 1, random
        q_index = names[f"main.q[{i}][{int(rounding)}]"]  # = div.out (merged by --O2)
        for delta in (1, -1):
            assert unsatisfied(system, _tamper(witness, q_index, delta)), (xs[i], rounding, delta)


def test_remainder_bits_cannot_be_forged(divs, tmp_path):
    circuit, system, names = divs
    witness = read_wtns(compute_witness(circuit, {"x": [to_field(3 * WAD + 5)] * N}, tmp_path / "w.wtns"))
    bit = names["main.div[0][0].div.tRange.low.bits.out[0]"]
    assert unsatisfied(system, _tamper(witness, bit, 1))


@pytest.mark.parametrize("x", [2 ** (N_BITS - 1), -(2 ** (N_BITS - 1)) - 1, FIELD_P - 1 - 2**200, (FIELD_P + 1) // 2])
def test_value_past_the_bound_or_wrapping_the_field_is_rejected(divs, tmp_path, x):
    circuit, _, _ = divs
    with pytest.raises(WitnessError):
        compute_witness(circuit, {"x": [x % FIELD_P] + [0] * (N - 1)}, tmp_path / "w.wtns")


def test_signed_less_than(tmp_path):
    circuit = compile_circuit("test_lt", LT_MAIN)
    rng = random.Random(7)
    pairs = [(0, 0), (-1, 0), (0, -1), (-(2**128), 2**128 - 1), (2**128 - 1, -(2**128))]
    pairs += [(rng.randrange(-(2**128), 2**128), rng.randrange(-(2**128), 2**128)) for _ in range(5)]
    for a, b in pairs:
        w = read_wtns(compute_witness(circuit, {"a": to_field(a), "b": to_field(b)}, tmp_path / "w.wtns"))
        assert w[1] == int(a < b), (a, b)

"""Fixed-point gadgets (circuits/fixedpoint.circom) against pymargin.fixedpoint, and their soundness.

Values: each rounding of DivRounded equals sdiv_rounded on random and edge-case numerators;
LessThanConst(bound) accepts exactly [0, bound) for bounds 2^a * odd.
Soundness: a cheating prover's witness (another quotient with the remainder adjusted, a remainder
out of range, a numerator past the stated bound) breaks a constraint of the r1cs. For
DivRoundedUnbounded the attack is shown to pass without the caller's bound on the quotient and to
fail with it (the bounds AccountMargins and SolvencyBatch rely on).
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


LTC_BOUNDS = [WAD, WAD**2, 12, 7, 8]
LTC_MAIN = """pragma circom 2.1.6;
include "fixedpoint.circom";
template Lts() {
    signal input x[%d];
%s}
component main = Lts();
""" % (len(LTC_BOUNDS), "".join(f"    component c{i} = LessThanConst({b});\n    c{i}.in <== x[{i}];\n" for i, b in enumerate(LTC_BOUNDS)))


@pytest.fixture(scope="module")
def ltc():
    return compile_circuit("test_less_than_const", LTC_MAIN)


def test_less_than_const_accepts_exactly_below_the_bound(ltc, tmp_path):
    rng = random.Random(11)
    for trial in range(4):
        below = [b - 1 if trial == 0 else rng.randrange(b) for b in LTC_BOUNDS]
        assert read_wtns(compute_witness(ltc, {"x": below}, tmp_path / "w.wtns"))
    for i, b in enumerate(LTC_BOUNDS):
        for x in (b, b + rng.randrange(1, b + 1), rng.randrange(b, 2 ** (b.bit_length() + 3)), FIELD_P - 1):
            with pytest.raises(WitnessError):
                compute_witness(ltc, {"x": [0] * i + [x] + [0] * (len(LTC_BOUNDS) - i - 1)}, tmp_path / "w.wtns")


def test_less_than_const_decomposition_cannot_be_shifted(ltc, tmp_path):
    """x = lo + 2^a·hi: moving 2^a from hi into lo (lo ≥ 2^a) or past the bound breaks a constraint."""
    x = 3 * 2**18 + 12345  # hi = 3, lo = 12345 for WAD = 2^18 * 5^18
    witness = read_wtns(compute_witness(ltc, {"x": [x, 0, 0, 0, 0]}, tmp_path / "w.wtns"))
    system, names = read_r1cs(ltc.r1cs), signal_indices(ltc)
    shifted = list(witness)
    _set_bits(shifted, names, "main.c0.low", 12345 + 2**18, 18)  # lo = 12345 + 2^18 has no 18-bit decomposition
    _set_bits(shifted, names, "main.c0.high", 2, 42)
    _set_bits(shifted, names, "main.c0.top", 5**18 - 1 - 2, 42)
    assert unsatisfied(system, shifted)


DIV_CASES = {  # (rounding, nIn, d, the caller's bound on the quotient as in AccountMargins / SolvencyBatch)
    "floor_equity": (0, 198, WAD, "component b = SignedRangeCheck(140);\n    b.in <== c - s + div.out;"),
    "ceil_requirement": (1, 250, WAD**2, "component b = RangeCheck(131);\n    b.in <== div.out;"),
}
DIV_MAIN = """pragma circom 2.1.6;
include "fixedpoint.circom";
template D() {{
    signal input x;
    signal input c;
    signal input s;
    signal output q;
    component div = DivRoundedUnbounded({rounding}, {n_in}, {d});
    div.in <== x;
    q <== div.out;
    {bound}
}}
component main = D();
"""


def _set_bits(witness: list[int], names: dict[str, int], prefix: str, value: int, n: int) -> None:
    """Num2Bits(n) at ``prefix``: its bits are the low n bits of value mod p (unsatisfiable if value ≥ 2^n)."""
    v = value % FIELD_P
    for i in range(n):
        if f"{prefix}.bits.out[{i}]" in names:
            witness[names[f"{prefix}.bits.out[{i}]"]] = (v >> i) & 1


def _division_witness(witness: list[int], names: dict[str, int], x: int, c: int, s: int, rounding: int, d: int,
                      t: int, bounded: bool) -> list[int]:
    """The assignment with remainder σ·r = t ∈ [0, d) and the quotient it forces in the field:
    q = (x − r) / d mod p (every kept wire of the test circuit set from it)."""
    r = t if rounding == 0 else -t
    q = (x - r) * pow(d, -1, FIELD_P) % FIELD_P
    a = (d & -d).bit_length() - 1
    o = d >> a
    lo, hi = t % 2**a, t >> a
    n = (o - 1).bit_length()
    w = list(witness)
    values = {"main.q": q, "main.div.out": q, "main.div.r": r % FIELD_P, "main.div.t": t, "main.div.tRange.in": t,
              "main.div.tRange.lo": lo, "main.div.tRange.hi": hi}
    for name, v in values.items():
        if name in names:
            w[names[name]] = v
    _set_bits(w, names, "main.div.tRange.low", lo, a)
    _set_bits(w, names, "main.div.tRange.high", hi, n)
    _set_bits(w, names, "main.div.tRange.top", o - 1 - hi, n)
    if bounded:
        _set_bits(w, names, "main.b", c - s + q + 2**140 if rounding == 0 else q, 141 if rounding == 0 else 131)
    return w


@pytest.mark.parametrize("case", sorted(DIV_CASES))
@pytest.mark.parametrize("bounded", [False, True])
def test_unbounded_quotient_needs_the_callers_bound(tmp_path, case, bounded):
    """Any remainder t ∈ [0, d) with q = (x − σt)/d mod p satisfies DivRoundedUnbounded alone (the hole);
    the caller's bound (equity's sign check, the requirement's RangeCheck(131)) rejects every such q
    but the true one. A control rebuilds the honest witness with the same code and satisfies both."""
    rounding, n_in, d, bound = DIV_CASES[case]
    circuit = compile_circuit(f"test_div_{case}_{int(bounded)}", DIV_MAIN.format(
        rounding=rounding, n_in=n_in, d=d, bound=bound if bounded else ""))
    system, names = read_r1cs(circuit.r1cs), signal_indices(circuit)
    rng = random.Random(sorted(DIV_CASES).index(case) + 31)
    c, s = rng.randrange(-(2**127), 2**127), rng.randrange(-(2**131), 2**131)  # collateral, Σ cost
    # an equity numerator |Σ size·(p − F + f)| < 2^197, or a requirement numerator Σ|size|·p·fraction < 2^250
    x = rng.choice([1, -1]) * rng.randrange(2**197) if rounding == 0 else rng.randrange(2**249, 2**250)
    inputs = {"x": to_field(x), "c": to_field(c), "s": to_field(s)}
    witness = read_wtns(compute_witness(circuit, inputs, tmp_path / "w.wtns"))
    true_t = (x - sdiv_rounded(x, d, Rounding(rounding)) * d) * (1 if rounding == 0 else -1)
    assert unsatisfied(system, _division_witness(witness, names, x, c, s, rounding, d, true_t, bounded)) == []
    for t in (0, d - 1, rng.randrange(d), (true_t + 1) % d):
        if t == true_t:
            continue
        broken = unsatisfied(system, _division_witness(witness, names, x, c, s, rounding, d, t, bounded))
        assert bool(broken) == bounded, (case, t)

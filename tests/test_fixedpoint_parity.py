"""Randomised parity of FixedPointMath.sol (through its harness, on the fast EVM) and pymargin.fixedpoint.

Every function is driven with ``CASES`` seeded random argument tuples over the whole uint256/int256
range: edge values (0, ±1, WAD, type min/max, powers of two ± 1), random widths, and products placed
just below and just above the overflow threshold. Values AND reverts (error name and args) must be
equal. A smaller sample shows the fast EVM answers exactly as the embedded devnet does.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from pymargin import fixedpoint as fp
from pymargin.chain.contracts import deploy_contract
from pymargin.chain.fastevm import FastEVM
from pymargin.chain.tx import ContractRevert, node_signer
from pymargin.errors import Revert
from pymargin.fixedpoint import INT256_MAX, INT256_MIN, UINT256_MAX, WAD, Rounding

CASES = 10_000
SEED = 20261121

UINT_EDGES = sorted(
    {0, 1, 2, 3, WAD - 1, WAD, WAD + 1, 10**36, UINT256_MAX, UINT256_MAX - 1, INT256_MAX, INT256_MAX + 1}
    | {2**k + e for k in (64, 94, 127, 128, 130, 192, 254, 255) for e in (-1, 0, 1)}
)
INT_EDGES = sorted(
    {v for u in UINT_EDGES if u <= INT256_MAX for v in (u, -u)} | {INT256_MIN, INT256_MIN + 1}
)


def rand_uint(rng: random.Random) -> int:
    """A uint256: an edge value, a full-width random value, or a random value of random bit width."""
    k = rng.random()
    if k < 0.2:
        return rng.choice(UINT_EDGES)
    if k < 0.4:
        return rng.getrandbits(256)
    return rng.getrandbits(rng.randrange(1, 257))


def rand_int(rng: random.Random) -> int:
    """An int256, drawn like :func:`rand_uint` with a random sign."""
    if rng.random() < 0.2:
        return rng.choice(INT_EDGES)
    v = rng.getrandbits(rng.choice((255, rng.randrange(1, 256))))
    return -v - rng.randrange(2) if rng.random() < 0.5 else v  # includes INT256_MIN


def near_quotient(rng: random.Random, limit: int, signed: bool, y_fixed: int | None = None, d_fixed: int | None = None):
    """(x, y, d) with x*y/d within a few units of ±limit: the last results that fit and the first that do not.

    ``y_fixed`` / ``d_fixed`` pin the multiplier or divisor (WAD for the WAD functions); the free
    operand among y (or x) is solved for the target and nudged by a few units.
    """
    bound = INT256_MAX if signed else UINT256_MAX
    while True:
        d = d_fixed or rng.getrandbits(rng.randrange(1, 256)) or 1
        target = limit + rng.randrange(-3, 4)
        if y_fixed is None:
            x = rng.getrandbits(rng.randrange(1, 256)) or 1
            y = (target * d) // x + rng.randrange(-2, 3)
        else:
            y = y_fixed
            x = (target * d) // y + rng.randrange(-2, 3)
        if not (0 <= x <= bound and 0 <= y <= bound and d <= bound):
            continue
        if not signed:
            return x, y, d
        sx, sy, sd = (rng.choice((1, -1)) for _ in range(3))
        return sx * x, sy * y, sd * d


def _rounding(rng):
    return rng.choice(list(Rounding))


def _mul_div_args(rng, signed):
    k = rng.random()
    if k < 0.3:
        return (*near_quotient(rng, 2**255 if signed else UINT256_MAX, signed), _rounding(rng))
    draw = rand_int if signed else rand_uint
    if k < 0.4:  # y = d*q: d divides x*y exactly, so every rounding gives x*q
        x, d = draw(rng), draw(rng) >> rng.randrange(0, 256) or 1
        q = draw(rng) >> rng.randrange(0, 256)
        y = d * q
        if (INT256_MIN if signed else 0) <= y <= (INT256_MAX if signed else UINT256_MAX):
            return x, y, d, _rounding(rng)
    return draw(rng), draw(rng), draw(rng), _rounding(rng)


def _mul_wad_args(rng, signed):
    """x*y/WAD: random operands, or a product near the overflow limit."""
    draw = rand_int if signed else rand_uint
    if rng.random() < 0.3:
        x, y, _ = near_quotient(rng, 2**255 if signed else UINT256_MAX, signed, d_fixed=WAD)
        return x, y, _rounding(rng)
    return draw(rng), draw(rng), _rounding(rng)


def _div_wad_args(rng, signed):
    """x*WAD/y: random operands, small divisors, or a quotient near the overflow limit."""
    draw = rand_int if signed else rand_uint
    k = rng.random()
    if k < 0.3:
        x, _, y = near_quotient(rng, 2**255 if signed else UINT256_MAX, signed, y_fixed=WAD)
        return x, y, _rounding(rng)
    if k < 0.4:
        return draw(rng), rng.choice((0, 1, 2, 3, WAD)) * rng.choice((1, -1) if signed else (1,)), _rounding(rng)
    return draw(rng), draw(rng), _rounding(rng)


def _div_args(rng, draw):
    x, d = draw(rng), draw(rng)
    if rng.random() < 0.3:
        d = rng.choice((0, 1, -1, 2, -2, 3, WAD) if draw is rand_int else (0, 1, 2, 3, WAD))
    return x, d, _rounding(rng)


# name -> (Python mirror, harness function, argument generator)
FUNCTIONS = {
    "mulDiv": (fp.mul_div, lambda rng: _mul_div_args(rng, signed=False)),
    "sMulDiv": (fp.smul_div, lambda rng: _mul_div_args(rng, signed=True)),
    "mulWad": (fp.mul_wad, lambda rng: _mul_wad_args(rng, signed=False)),
    "sMulWad": (fp.smul_wad, lambda rng: _mul_wad_args(rng, signed=True)),
    "divWad": (fp.div_wad, lambda rng: _div_wad_args(rng, signed=False)),
    "sDivWad": (fp.sdiv_wad, lambda rng: _div_wad_args(rng, signed=True)),
    "divRounded": (fp.div_rounded, lambda rng: _div_args(rng, rand_uint)),
    "sDivRounded": (fp.sdiv_rounded, lambda rng: _div_args(rng, rand_int)),
    "sdiv": (fp.sdiv, lambda rng: _div_args(rng, rand_int)[:2]),
    "smod": (fp.smod, lambda rng: _div_args(rng, rand_int)[:2]),
    "toInt256": (fp.to_int256, lambda rng: (rand_uint(rng),)),
    "toUint256": (fp.to_uint256, lambda rng: (rand_int(rng),)),
}

# Outcomes each function must show in its CASES draws (so the generator demonstrably reaches every branch).
EXPECTED_OUTCOMES = {
    "mulDiv": {"value", "DivisionByZero", "MulDivOverflow"},
    "sMulDiv": {"value", "DivisionByZero", "MulDivOverflow"},
    "mulWad": {"value", "MulDivOverflow"},
    "sMulWad": {"value", "MulDivOverflow"},
    "divWad": {"value", "DivisionByZero", "MulDivOverflow"},
    "sDivWad": {"value", "DivisionByZero", "MulDivOverflow"},
    "divRounded": {"value", "DivisionByZero"},
    "sDivRounded": {"value", "DivisionByZero", "MulDivOverflow"},
    "sdiv": {"value", "Panic(18,)", "Panic(17,)"},
    "smod": {"value", "Panic(18,)"},
    "toInt256": {"value", "SafeCastOverflow"},
    "toUint256": {"value", "SafeCastOverflow"},
}


def outcome(fn, *args):
    """('value', v) or ('revert', name, args) of calling fn: the same shape for Python and the EVM."""
    try:
        return ("value", fn(*args))
    except (Revert, ContractRevert) as exc:
        return ("revert", exc.name, tuple(exc.args_))


def outcome_kind(out) -> str:
    if out[0] == "value":
        return "value"
    return out[1] + (f"{out[2]}" if out[2] else "")


def cases(name: str, n: int, seed: int = SEED, edges: bool = True) -> list[tuple]:
    """n argument tuples for ``name``: the edge grid (if ``edges``) followed by seeded random draws."""
    rng = random.Random(f"{seed}:{name}")
    gen = FUNCTIONS[name][1]
    edge_cases = _edge_grid(name) if edges else []
    return edge_cases + [gen(rng) for _ in range(n - len(edge_cases))]


def _edge_grid(name: str) -> list[tuple]:
    """Every combination of a few edge values for the two leading operands (a deterministic core)."""
    py, gen = FUNCTIONS[name]
    arity = len(gen(random.Random(0)))
    signed = name[0] == "s" or name == "toUint256"
    edges = [0, 1, -1, 2, WAD, INT256_MAX, INT256_MIN, -WAD] if signed else [0, 1, 2, WAD, INT256_MAX + 1, UINT256_MAX]
    if arity == 1:
        return [(e,) for e in edges]
    if arity == 2:
        return [(a, b) for a in edges for b in edges]
    if arity == 3:
        return [(a, b, r) for a in edges for b in edges for r in Rounding]
    return [(a, b, c, r) for a in edges for b in edges for c in edges[:4] for r in (Rounding.Floor, Rounding.Ceil)]


@pytest.fixture(scope="module")
def harness(artifacts):
    return FastEVM().deploy("FixedPointMathHarness")


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_parity_with_solidity(harness, name):
    py = FUNCTIONS[name][0]
    mismatches = []
    seen = Counter()
    for args in cases(name, CASES):
        expected = outcome(harness.call, name, *args)
        got = outcome(py, *args)
        seen[outcome_kind(expected)] += 1
        if got != expected:
            mismatches.append((args, expected, got))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[:3]}"
    assert EXPECTED_OUTCOMES[name] <= set(seen), f"outcomes reached: {dict(seen)}"


def test_fast_evm_matches_embedded_devnet(chain, harness):
    """The fast EVM (revm) and the embedded devnet (py-evm) give the same values and reverts."""
    contract, _ = deploy_contract(chain, "FixedPointMathHarness", sender=node_signer(chain))
    for name in FUNCTIONS:
        for args in cases(name, 24, seed=7, edges=False):
            on_chain = outcome(contract.call, name, *args)
            assert outcome(harness.call, name, *args) == on_chain, (name, args)
